"""A learner's copy of the kata in a temporary folder, and `kata` run in it as a learner would."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from checker.project import ROOT

from checker.stages import all_stages, find_stage
from checker.stubgen import stub_for

ESCAPE = re.compile(r"\x1b\[[0-9;]*m")
# Settings of the developer's shell that would change what `kata` does or prints.
_UNSET = ("NO_COLOR", "COLUMNS", "PYTEST_ADDOPTS", "TERM")

# Stands in for checker/training_run.py: the interface the first-time training of `kata` relies on.
FAKE_TRAIN_FILE = "checker/training_run.py"
FAKE_TRAIN = '''\
"""A stand-in for checker/training_run.py in the checker's tests."""
import json

from checker.project import ROOT


def train_and_save(config, *, stages_known_to_pass=False, **options):
    print(f"fake training: {config.epochs} epochs")
    run_dir = ROOT / "runs" / "20250101-120000-train"
    run_dir.mkdir(parents=True)
    summary = {"test_accuracy": 0.9812, "impl": "exercises", "run_dir": str(run_dir),
               "plots": ["loss.png", "confusion.png"]}
    (run_dir / "summary.json").write_text(json.dumps(summary))
    return 0
'''


class Sandbox:
    """checker/, solutions/, tests/, pyproject.toml and freshly generated stubs in exercises/."""

    def __init__(self, path: Path):
        self.path = path
        ignore = shutil.ignore_patterns("__pycache__", ".hypothesis", ".pytest_cache")
        for folder in ("checker", "solutions", "tests"):
            shutil.copytree(ROOT / folder, path / folder, ignore=ignore)
        shutil.copy2(ROOT / "pyproject.toml", path / "pyproject.toml")
        (path / "exercises").mkdir()
        shutil.copy2(ROOT / "exercises" / "__init__.py", path / "exercises" / "__init__.py")
        for stage in all_stages():
            (path / stage.exercise).write_text(stub_for(stage, ROOT), encoding="utf-8")

    def solve(self, *stages) -> None:
        """Copy the reference solution of each stage into exercises/, as a learner who solved it."""
        for name in stages:
            stage = find_stage(name)
            shutil.copy2(ROOT / stage.solution, self.path / stage.exercise)

    def edit(self, stage_name, old: str, new: str) -> None:
        """Replace text in the learner's file of a stage (it must be there)."""
        path = self.path / find_stage(stage_name).exercise
        text = path.read_text(encoding="utf-8")
        assert old in text, f"{old!r} is not in {path}"
        path.write_text(text.replace(old, new, 1), encoding="utf-8")

    def stand_in(self, relative: str, text: str) -> None:
        """Replace a file of the box's checker/ with a stand-in (FAKE_TRAIN) and write the box's manifest again,
        as a maintainer would: every file of checker/ is in the manifest (checker/manifest.py), and a stage
        whose files differ from it does not run."""
        from checker import manifest

        self.write(relative, text)
        (self.path / manifest.MANIFEST).write_text(manifest.manifest_text(self.path), encoding="utf-8")

    def read(self, relative: str) -> str:
        return (self.path / relative).read_text(encoding="utf-8")

    def write(self, relative: str, text: str) -> None:
        target = self.path / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")

    def env(self, **overrides) -> dict:
        env = {k: v for k, v in os.environ.items() if not k.startswith("KATA_") and k not in _UNSET}
        env.update(overrides)
        return env

    def command(self, *args) -> list[str]:
        return [sys.executable, "-m", "checker", *args]

    def kata(self, *args, env: dict | None = None, timeout: float = 60) -> subprocess.CompletedProcess:
        """`kata ARGS` with output piped, stdin not a terminal."""
        return subprocess.run(self.command(*args), cwd=self.path, env=self.env(**(env or {})), text=True,
                              capture_output=True, stdin=subprocess.DEVNULL, timeout=timeout)

    def start(self, *args, env: dict | None = None) -> subprocess.Popen:
        """`kata ARGS` in the background (for watch, Ctrl-C)."""
        return subprocess.Popen(self.command(*args), cwd=self.path, env=self.env(**(env or {})), text=True,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)

    def in_terminal(self, *args, env: dict | None = None, answer: str = "", timeout: float = 60) -> tuple[int, str]:
        """`kata ARGS` on a pseudo-terminal (stdin, stdout and stderr); returns (exit code, output)."""
        import pty
        import select

        controller, terminal = pty.openpty()
        process = subprocess.Popen(self.command(*args), cwd=self.path, env=self.env(**(env or {})),
                                   stdin=terminal, stdout=terminal, stderr=terminal)
        os.close(terminal)
        if answer:
            os.write(controller, answer.encode())
        output = b""
        try:
            while True:
                ready, _, _ = select.select([controller], [], [], timeout)
                if not ready:
                    process.kill()
                    raise TimeoutError(f"kata {' '.join(args)} did not finish:\n{output.decode(errors='replace')}")
                try:
                    chunk = os.read(controller, 65536)
                except OSError:  # the terminal closed: the process ended
                    break
                if not chunk:
                    break
                output += chunk
        finally:
            os.close(controller)
        return process.wait(timeout=timeout), output.decode("utf-8", "replace").replace("\r\n", "\n")


def plain(text: str) -> str:
    return ESCAPE.sub("", text)


class Scenarios:
    """Learner scenarios run in sandboxes, started together at the beginning of a test module.

        scenario = Scenarios(timeout=120)
        started_scenarios, run = scenario.fixtures()   # module attributes, so pytest finds them

        @scenario
        def three_stages(box): ...                     # function(sandbox) -> its outputs

        @scenario.uses("three_stages")
        def test_...(run): box, outputs = run

    Only the scenarios that the selected tests use are started, three at a time, in the order they
    are defined (the first tests wait the least).
    """

    def __init__(self, timeout: float):
        self.registry = {}
        self.timeout = timeout

    def __call__(self, function):
        """Register a scenario: function(sandbox) -> its outputs."""
        self.registry[function.__name__] = function
        return function

    def uses(self, *names):
        """The test gets `run` = (sandbox, outputs) of the named scenario (one test per name)."""
        return pytest.mark.parametrize("run", names, indirect=True)

    def fixtures(self):
        registry, timeout = self.registry, self.timeout

        @pytest.fixture(scope="module")
        def started_scenarios(request, tmp_path_factory):
            needed = {item.callspec.params["run"] for item in request.session.items
                      if "run" in getattr(getattr(item, "callspec", None), "params", {})}
            pool = ThreadPoolExecutor(max_workers=3)
            started = {}
            for name in registry:
                if name in needed:
                    box = Sandbox(tmp_path_factory.mktemp(name))
                    started[name] = (box, pool.submit(registry[name], box))
            yield started
            pool.shutdown(wait=True, cancel_futures=True)

        @pytest.fixture
        def run(request, started_scenarios):
            box, future = started_scenarios[request.param]
            return box, future.result(timeout=timeout)

        return started_scenarios, run
