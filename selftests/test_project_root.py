"""`kata` works on the clone it is run in, whichever clone (or regular install) the command came from:
the kata's root is found from the current folder, as git finds its repository (checker/project.py)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from checker_sandbox import Sandbox, plain

from checker.project import ROOT, display_path, find_root


def kata_from(checker_parent: Path, cwd: Path, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    """`kata ARGS` as its console script runs it when the kata was installed from checker_parent
    (editable: that folder's checker is imported, whatever the current folder)."""
    script = (f"import sys; sys.path.insert(0, {str(checker_parent)!r}); sys.argv[0] = 'kata'; "
              "from checker.cli import main; sys.exit(main())")
    environment = {k: v for k, v in os.environ.items() if not k.startswith("KATA_") and k != "PYTHONPATH"}
    return subprocess.run([sys.executable, "-c", script, *args], cwd=cwd, env={**environment, **(env or {})},
                          capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL)


@pytest.fixture(scope="module")
def two_clones(tmp_path_factory):
    """Clone A, where nothing is solved, and clone B, where stages 1 and 2 are."""
    a = Sandbox(tmp_path_factory.mktemp("clone-a"))
    b = Sandbox(tmp_path_factory.mktemp("clone-b"))
    b.solve("one_hot", "relu")
    return a, b


def test_kata_installed_from_one_clone_works_on_the_clone_it_is_run_in(two_clones):
    a, b = two_clones
    done = kata_from(a.path, b.path)
    assert done.returncode == 1, done.stderr
    report = plain(done.stdout)
    assert "   1  One-hot encoding    passed" in report and "   2  ReLU                passed" in report
    assert "Next: open exercises/softmax.py" in report
    in_a = plain(kata_from(a.path, a.path).stdout)
    assert "Next: open exercises/one_hot.py" in in_a


def test_kata_finds_the_clone_from_a_folder_inside_it(two_clones):
    a, b = two_clones
    done = kata_from(a.path, b.path / "exercises", "list")
    assert done.returncode == 0, done.stderr
    listed = {line.split()[1]: line for line in done.stdout.splitlines() if line[:3].strip().isdigit()}
    assert "one_hot.py" in listed["one_hot"] and listed["one_hot"].endswith("passed"), done.stdout  # from exercises/
    assert listed["softmax"].endswith("current"), done.stdout


def test_the_clone_handed_over_to_uses_its_own_checker(two_clones, tmp_path):
    """Its checker, not only its exercises: a message changed in clone C's checker shows."""
    a, _ = two_clones
    c = Sandbox(tmp_path / "c")
    registry = c.path / "checker" / "stages.toml"
    registry.write_text(registry.read_text(encoding="utf-8").replace('title = "ReLU"', 'title = "Rectifier"', 1),
                        encoding="utf-8")
    listed = kata_from(a.path, c.path, "list").stdout
    assert "Rectifier" in listed and "  ReLU  " not in listed


def test_outside_every_clone_kata_says_so_in_one_line(two_clones, tmp_path):
    a, _ = two_clones
    done = kata_from(a.path, tmp_path)
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr.count("\n") == 1 and done.stderr.startswith(f"Error: {tmp_path} is not inside a clone of mnist-kata")
    assert "git clone" in done.stderr
    helped = kata_from(a.path, tmp_path, "--help")  # help needs no clone
    assert helped.returncode == 0 and "kata COMMAND --help" in helped.stdout


def test_a_regular_install_works_on_the_clone_it_is_run_in(two_clones, tmp_path):
    """pip install . (not editable) installs the checker alone; run in a clone, it hands over to it."""
    _, b = two_clones
    target = tmp_path / "site"
    built = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps",
                            "--target", str(target), str(ROOT)], capture_output=True, text=True, timeout=600)
    assert built.returncode == 0, built.stdout[-2000:] + built.stderr[-2000:]
    assert (target / "checker" / "stages.toml").is_file() and (target / "checker" / "assets" / "page.js").is_file()
    assert not (target / "exercises").exists() and not (target / "solutions").exists(), \
        "only the checker is installed: the exercises are the clone's"
    done = kata_from(target, b.path)
    assert done.returncode == 1, done.stderr
    assert "Next: open exercises/softmax.py" in plain(done.stdout)
    shutil.rmtree(target / "build", ignore_errors=True)


def test_find_root_walks_up_and_stops_outside(tmp_path):
    assert find_root(ROOT / "exercises") == ROOT
    assert find_root(tmp_path) is None


def test_paths_are_shown_from_where_the_learner_stands(monkeypatch, tmp_path):
    monkeypatch.chdir(ROOT)
    assert display_path("exercises/relu.py") == "exercises/relu.py"
    monkeypatch.chdir(ROOT / "exercises")
    assert display_path("exercises/relu.py") == "relu.py"
    assert display_path("runs/x", folder=True) == "../runs/x/"
    monkeypatch.chdir(tmp_path)
    assert display_path("exercises/relu.py") == str(ROOT / "exercises" / "relu.py")
    assert display_path(tmp_path / "out") == "out"
