"""Stage verdicts remembered between runs, so that `kata` answers at once after an edit: a stage is run
again only when something it depends on changed since its last verdict.

What a stage's verdict depends on, by content hash (its fingerprint): the learner's files it imports
(the stage's module in exercises/, the modules its suite reaches through `learner_function`, and what
those import from the package, found by reading their import statements; a file that imports
dynamically makes every exercise file count), its suite, the kata's checker and test plumbing
(every file of checker/, tests/conftest.py), the limits (KATA_TIMEOUT, KATA_MEMORY_MB), and the
versions of Python, NumPy, pytest and hypothesis (and solutions/, should the learner's code import it).

Only verdicts a run reached on its own are kept (every test reported, or a failure that teaches):
a stage stopped by its time limit, a crash or a problem of the kata's files is always run again,
since a busy machine or a restored file may change it. The verdicts live in .kata/verdicts.json,
each signed (HMAC-SHA256) with a key of this clone's .kata/verdicts.key: a verdict that was edited,
or copied from another clone, is ignored and the stage runs. `kata check`, `kata --all` and
`kata status --json` (what grading and the teacher's report read) run every suite afresh.

    run_stages(stages, cached=True, **options)   runner.run_stages, reusing the fresh verdicts
"""

from __future__ import annotations

import ast
import hashlib
import hmac
import json
import os
import platform
import re
import secrets
from functools import lru_cache
from pathlib import Path

from . import runner
from .project import ROOT
from .results import RunResult, StageResult, TestResult
from .stages import Stage

VERSION = 1
STORE = Path(".kata", "verdicts.json")
KEY = Path(".kata", "verdicts.key")
_LEARNER_MODULE = re.compile(r"""learner_function\(\s*["'](\w+)["']""")
_DYNAMIC = re.compile(r"\b(importlib|__import__|exec|eval|runpy)\b")


def run_stages(stages, *, cached: bool = True, impl: str = "exercises", root: Path = ROOT,
               stop_after_failing_stage: bool = True, **options) -> RunResult:
    """The results of `stages` as runner.run_stages gives them; with cached (and the learner's code,
    nothing shown while it runs), a stage whose fingerprint matches its last kept verdict is not run
    again. Whatever runs, its verdicts are kept for next time."""
    stages, root = list(stages), Path(root)
    if impl != "exercises":
        return runner.run_stages(stages, impl=impl, root=root, stop_after_failing_stage=stop_after_failing_stage,
                                 **options)
    store = Store(root)
    prints = {stage.id: fingerprint(stage, root) for stage in stages}
    reusable = {} if not cached or options.get("show_output") else {
        stage.id: result for stage in stages if (result := store.get(stage, prints[stage.id])) is not None}
    to_run = []
    for stage in stages:
        if stage.id in reusable:
            if stop_after_failing_stage and not reusable[stage.id].passed:
                break  # the first stage that does not pass: what follows is locked
            continue
        to_run.append(stage)
    ran = runner.run_stages(to_run, impl=impl, root=root, stop_after_failing_stage=stop_after_failing_stage,
                            **options) if to_run else RunResult([])
    fresh = {result.stage.id: result for result in ran.stages}
    for result in ran.stages:
        store.put(result, prints[result.stage.id])
    store.save()
    merged, blocked = [], False
    for stage in stages:
        result = reusable.get(stage.id) or fresh.get(stage.id) or StageResult(stage)
        if blocked:
            result = StageResult(stage)  # locked: an earlier stage does not pass
        merged.append(result)
        blocked = blocked or (stop_after_failing_stage and not result.passed)
    return RunResult(merged, output=ran.output)


# --- what a verdict depends on ---------------------------------------------------------------------

def fingerprint(stage: Stage, root: Path = ROOT) -> str:
    """The hash of everything the stage's verdict depends on (see the module's docstring)."""
    digest = hashlib.sha256(_kata_fingerprint(Path(root)).encode())
    for relative in [stage.tests, *sorted(learner_files(stage, root))]:
        digest.update(relative.encode() + b"\0" + _content(Path(root) / relative) + b"\0")
    return digest.hexdigest()


def learner_files(stage: Stage, root: Path = ROOT) -> set[str]:
    """The files of exercises/ the stage's verdict depends on (relative paths)."""
    root = Path(root)
    modules = {stage.module}
    try:
        modules |= set(_LEARNER_MODULE.findall((root / stage.tests).read_text(encoding="utf-8", errors="replace")))
    except OSError:
        pass
    files = {"exercises/__init__.py"}
    pending = sorted(modules)
    while pending:
        module = pending.pop()
        relative = f"exercises/{module}.py"
        if relative in files:
            continue
        files.add(relative)
        imported = _imports(root / relative)
        if imported is None:  # a dynamic import: anything in the package may count
            return files | {f"exercises/{path.name}" for path in (root / "exercises").glob("*.py")}
        pending += sorted(imported - {m for m in modules})
        modules |= imported
    return files


def _imports(path: Path) -> set[str] | None:
    """The modules of the exercises package that the file imports; None when it may import any."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return set()
    if _DYNAMIC.search(text):
        return None
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError):
        return set()  # it cannot run at all: its own text decides the verdict
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            package = node.module or ""
            if node.level == 1 or package.split(".")[0] == "exercises":
                within = package.removeprefix("exercises").lstrip(".") if node.level == 0 else package
                found |= {within.split(".")[0]} if within else {alias.name for alias in node.names}
        elif isinstance(node, ast.Import):
            found |= {alias.name.split(".")[1] for alias in node.names
                      if alias.name.startswith("exercises.") and alias.name.count(".") >= 1}
    return {name for name in found if name}


def _kata_fingerprint(root: Path) -> str:
    """What every verdict depends on: the checker, the suites' plumbing, the limits, the versions."""
    digest = hashlib.sha256(f"verdicts {VERSION}; Python {platform.python_version()}; {_versions()}".encode())
    for name in ("KATA_TIMEOUT", "KATA_MEMORY_MB"):
        digest.update(f"{name}={os.environ.get(name, '')};".encode())
    files = sorted(path for folder in ("checker", "solutions") for path in (root / folder).rglob("*")
                   if path.is_file() and "__pycache__" not in path.parts)
    for path in [*files, root / "tests" / "conftest.py"]:
        digest.update(path.relative_to(root).as_posix().encode() + b"\0" + _content(path) + b"\0")
    return digest.hexdigest()


@lru_cache(maxsize=None)
def _versions() -> str:
    from importlib.metadata import PackageNotFoundError, version

    found = []
    for package in ("numpy", "pytest", "hypothesis"):
        try:
            found.append(f"{package} {version(package)}")
        except PackageNotFoundError:
            found.append(f"{package} none")
    return ", ".join(found)


def _content(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError:
        return b"(missing)"


# --- the store -------------------------------------------------------------------------------------

def keepable(result: StageResult) -> bool:
    """A verdict the stage reached on its own: no time limit, crash or kata problem stopped it."""
    return result.ran and result.problem is None and not result.kata_fault and bool(result.expected)


class Store:
    """.kata/verdicts.json: {stage id: {"fingerprint", "result", "signature"}}. Unreadable, unsigned
    or from another version: empty. When it cannot be written, nothing is remembered (the report is
    right either way)."""

    def __init__(self, root: Path):
        self.path, self.key_path = Path(root) / STORE, Path(root) / KEY
        self.key = self._key()
        self.entries: dict = {}
        self.changed = False
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            if isinstance(data, dict) and data.get("version") == VERSION and isinstance(data.get("stages"), dict):
                self.entries = data["stages"]
        except (OSError, ValueError, RecursionError):
            pass

    def _key(self) -> bytes | None:
        try:
            key = self.key_path.read_bytes()
            if len(key) == 32:
                return key
        except OSError:
            pass
        try:
            self.key_path.parent.mkdir(parents=True, exist_ok=True)
            key = secrets.token_bytes(32)
            descriptor = os.open(self.key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(descriptor, "wb") as file:
                file.write(key)
            return key
        except OSError:
            return None

    def _sign(self, stage_id: str, fingerprint_: str, result: dict) -> str:
        text = json.dumps([stage_id, fingerprint_, result], sort_keys=True)
        return hmac.new(self.key, text.encode(), hashlib.sha256).hexdigest()

    def get(self, stage: Stage, fingerprint_: str) -> StageResult | None:
        entry = self.entries.get(stage.id)
        if self.key is None or not isinstance(entry, dict) or entry.get("fingerprint") != fingerprint_:
            return None
        result = entry.get("result")
        if not isinstance(result, dict) or not hmac.compare_digest(
                str(entry.get("signature", "")), self._sign(stage.id, fingerprint_, result)):
            return None
        try:
            return StageResult(stage, ran=True, expected=list(result["expected"]),
                               tests=[TestResult(*test) for test in result["tests"]])
        except (KeyError, TypeError, ValueError):
            return None

    def put(self, result: StageResult, fingerprint_: str) -> None:
        if self.key is None or not result.ran:
            return
        if not keepable(result):
            self.changed |= self.entries.pop(result.stage.id, None) is not None
            return
        saved = {"expected": list(result.expected),
                 "tests": [[t.name, t.task, t.outcome, t.kind, t.message] for t in result.tests]}
        self.entries[result.stage.id] = {"fingerprint": fingerprint_, "result": saved,
                                         "signature": self._sign(result.stage.id, fingerprint_, saved)}
        self.changed = True

    def save(self) -> None:
        if not self.changed or self.key is None:
            return
        temporary = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        try:
            temporary.write_text(json.dumps({"version": VERSION, "stages": self.entries}) + "\n", encoding="utf-8")
            os.replace(temporary, self.path)
        except OSError:
            try:
                temporary.unlink()
            except OSError:
                pass
