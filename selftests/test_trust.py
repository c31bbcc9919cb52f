"""A verdict no stray file can fake, and no bad input that ends in "internal error" (issue 18).

Each case is a scenario, as in test_hostile.py: `kata` run in its own copy of the kata
(checker_sandbox.Sandbox) as a learner would, as a subprocess; the scenarios of the selected tests start
at once on a few threads and each test waits for its own. Every attack of section 1 passed all 14
stages on untouched stubs before its fix (and does again when the fix is undone: the comment above each
says which fix).
"""

from __future__ import annotations

import json
import os
import site
import subprocess
import sys
from pathlib import Path

import pytest
from checker_sandbox import Sandbox, Scenarios

from checker import manifest, runner, sandbox
from checker.stages import all_stages

scenario = Scenarios(timeout=240)
started_scenarios, run = scenario.fixtures()
uses = scenario.uses

UNTOUCHED = "Part I: the core\n>  1  One-hot encoding    not started\n"

# Run in the test process, it makes every test pass without running it, and leaves a mark.
FAKE_PASSES = '''\
import os as _os
if _os.environ.get("KATA_RESULTS"):  # the test process
    with open({mark!r}, "a") as _f:
        _f.write(__name__ + "\\n")
    import _pytest.python
    _pytest.python.Function.runtest = lambda self: None
'''
# The first lines of a module that stands in for an installed one (pytest.py, numpy.py): the real one
# is imported in its place, then the rest of the file runs.
SHADOW = '''\
import importlib as _importlib, os as _os, sys as _sys
_here = _os.path.dirname(_os.path.abspath(__file__))
_sys.path[:] = [p for p in _sys.path if _os.path.abspath(p or ".") != _here]
del _sys.modules[__name__]
_sys.modules[__name__] = _importlib.import_module(__name__)
'''


def attack_ran(box: Sandbox) -> list[str]:
    """The modules of an attack that ran in the test process (their marks)."""
    mark = box.path / "attack-ran.txt"
    return mark.read_text().split() if mark.exists() else []


def fake_passes(box: Sandbox) -> str:
    return FAKE_PASSES.format(mark=str(box.path / "attack-ran.txt"))


def assert_untouched_stubs_do_not_pass(done):
    assert done.returncode == 1, done.stdout + done.stderr
    assert done.stdout.startswith(UNTOUCHED), done.stdout
    assert "passed" not in done.stdout.split("\n\n")[0], done.stdout


# 1. Stages passed that were never solved ------------------------------------------------------

# The fix: the runner no longer puts the kata's root on the test process's PYTHONPATH (a finder serves the
# kata's packages instead), so Python's start-up does not import a sitecustomize.py found there.
@scenario
def sitecustomize_at_the_root(box):
    box.write("sitecustomize.py", fake_passes(box))
    return box.kata("--no-train"), attack_ran(box)


@uses("sitecustomize_at_the_root")
def test_a_sitecustomize_py_at_the_root_does_not_run_in_the_test_process(run):
    _, (done, ran) = run
    assert_untouched_stubs_do_not_pass(done)
    assert ran == []


# The fix: the test process is `python -I` and the runner drops PYTHONPATH from its environment.
@scenario
def pythonpath_of_the_learner(box):
    box.write("mine/sitecustomize.py", fake_passes(box))
    return box.kata("--no-train", env={"PYTHONPATH": str(box.path / "mine")}), attack_ran(box)


@uses("pythonpath_of_the_learner")
def test_the_learners_pythonpath_does_not_reach_the_test_process(run):
    _, (done, ran) = run
    assert_untouched_stubs_do_not_pass(done)
    assert ran == []


# The fix: `python -I` (the current folder is not on sys.path) and pytest, hypothesis and NumPy imported
# from the environment before the kata's finder serves anything from its folder.
@scenario
def pytest_py_at_the_root(box):
    box.write("pytest.py", SHADOW + fake_passes(box))
    return box.kata("--no-train"), attack_ran(box)


@uses("pytest_py_at_the_root")
def test_a_pytest_py_at_the_root_does_not_stand_in_for_pytest(run):
    _, (done, ran) = run
    assert_untouched_stubs_do_not_pass(done)
    assert ran == []


@scenario
def numpy_py_at_the_root(box):
    box.write("numpy.py", SHADOW + fake_passes(box))
    return box.kata("--no-train"), attack_ran(box)


@uses("numpy_py_at_the_root")
def test_a_numpy_py_at_the_root_does_not_stand_in_for_numpy(run):
    _, (done, ran) = run
    assert_untouched_stubs_do_not_pass(done)
    assert ran == []


# The fix: user site-packages are off in the test process (-I). In a virtual environment Python reads
# none anyway, so there the attack cannot work, fix or not, and the test says so by skipping.
@scenario
def usercustomize_in_a_user_site(box):
    user_site = subprocess.run([sys.executable, "-c", "import site; print(site.getusersitepackages())"],
                               env={**box.env(), "PYTHONUSERBASE": str(box.path / "userbase")},
                               capture_output=True, text=True).stdout.strip()
    box.write(str(Path(user_site).relative_to(box.path) / "usercustomize.py"), fake_passes(box))
    mark = str(box.path / "attack-ran.txt")
    box.write(str(Path(user_site).relative_to(box.path) / "fake.pth"),
              f"import os; open({mark!r}, 'a').write('pth\\n') if os.environ.get('KATA_RESULTS') else None\n")
    return box.kata("--no-train", env={"PYTHONUSERBASE": str(box.path / "userbase")}), attack_ran(box)


@pytest.mark.skipif(not site.ENABLE_USER_SITE, reason="this Python (a virtual environment) reads no user "
                                                      "site-packages, so usercustomize.py cannot run here")
@uses("usercustomize_in_a_user_site")
def test_a_usercustomize_py_or_pth_file_in_the_user_site_does_not_run_in_the_test_process(run):
    _, (done, ran) = run
    assert_untouched_stubs_do_not_pass(done)
    assert ran == []


# The fix: checker/__main__.py starts again isolated before importing anything but os and sys, so that
# `python -m checker` (the current folder first on sys.path) never imports a module of the learner's
# folder into the kata itself.
SHADOWED_DIFFLIB = SHADOW + '''
with open({mark!r}, "a") as _f:
    _f.write(__name__ + "\\n")
from checker import results as _results
_results.StageResult.passed = property(lambda self: True)
'''


@scenario
def difflib_py_at_the_root(box):
    box.write("difflib.py", SHADOWED_DIFFLIB.format(mark=str(box.path / "attack-ran.txt")))
    return box.kata("--no-train"), attack_ran(box)


@uses("difflib_py_at_the_root")
def test_python_m_checker_does_not_import_a_module_of_the_learners_folder(run):
    _, (done, ran) = run
    assert_untouched_stubs_do_not_pass(done)
    assert ran == []


# The fix: the manifest covers the registry and the code that runs and judges the suites
# (checker/manifest.py's PLUMBING), not only the suites and the test process's helpers.
@scenario
def stages_pointed_at_another_suite(box):
    box.solve("one_hot")
    registry = box.read("checker/stages.toml")
    for suite in ("tests/test_relu.py", "tests/test_softmax.py", "tests/test_cross_entropy.py"):
        registry = registry.replace(f'tests = "{suite}"', 'tests = "tests/test_one_hot.py"')
    box.write("checker/stages.toml", registry)
    return box.kata("--no-train"), box.kata("status", "--json")


@uses("stages_pointed_at_another_suite")
def test_stages_pointed_at_another_suite_pass_nothing_and_integrity_says_so(run):
    _, (done, status) = run
    assert done.returncode == 1
    assert ("Stage 1 (One-hot encoding): checker/stages.toml (part of the kata's test machinery) differs from the "
            "kata's copy, so no results count. The tests are not yours to change: restore the file with git "
            "checkout checker/stages.toml\n") in done.stdout
    assert done.stderr == ("\nError: checker/stages.toml differs from the kata's copy (the kata's tests, or the code "
                           "that runs and judges them), so no stage counts as passed, whatever the report above "
                           "says. Restore it with: git checkout -- checker/stages.toml\n")
    document = json.loads(status.stdout)
    assert status.returncode == 1
    assert document["integrity"] == {"checked": True, "ok": False, "modified": ["checker/stages.toml"]}
    assert document["stages_passed"] == 0


@scenario
def runner_that_passes_everything(box):
    box.write("checker/runner.py", box.read("checker/runner.py")
              + "\nStageResult.passed = property(lambda self: True)  # every stage passes\n")
    return box.kata("--no-train"), box.kata("status", "--json"), box.kata()


@uses("runner_that_passes_everything")
def test_a_runner_patched_to_pass_every_stage_is_named_and_counts_for_nothing(run):
    box, (done, status, again) = run
    # What the learner sees: the patched runner's report, then the line that says it does not count.
    assert done.returncode == 1, done.stdout
    assert done.stderr == ("\nError: checker/runner.py differs from the kata's copy (the kata's tests, or the code "
                           "that runs and judges them), so no stage counts as passed, whatever the report above "
                           "says. Restore it with: git checkout -- checker/runner.py\n")
    assert again.returncode == 1 and "training" not in again.stdout.lower()  # no first training either
    assert not (box.path / "runs").exists()
    # What a teacher sees: the integrity verdict names the file, and the exit code is not 0.
    assert status.returncode == 1
    assert json.loads(status.stdout)["integrity"] == {"checked": True, "ok": False, "modified": ["checker/runner.py"]}


def test_every_module_of_the_kata_the_test_process_imports_is_in_the_manifest(monkeypatch, tmp_path):
    """PLUMBING names every file of checker/ that runs in the test process: one added to the plumbing later
    without its line in PLUMBING fails here."""
    listing = tmp_path / "modules.txt"
    dump = (f"code = pytest.main(args)\nopen({str(listing)!r}, 'w').write('\\n'.join(sorted(_sys.modules)))\n"
            "_sys.exit(code)")
    monkeypatch.setattr(sandbox, "BOOTSTRAP", sandbox.BOOTSTRAP.replace("_sys.exit(pytest.main(args))", dump))
    assert runner.run_stages(all_stages()[:2], impl="solutions").all_passed
    loaded = [name for name in listing.read_text().split() if name == "checker" or name.startswith("checker.")]
    files = {"checker/__init__.py" if name == "checker" else name.replace(".", "/") + ".py" for name in loaded}
    assert {"checker/results_plugin.py", "checker/teach.py"} <= files
    assert files <= set(manifest.PLUMBING), sorted(files - set(manifest.PLUMBING))
    assert {"checker/stages.toml", "tests/conftest.py", "checker/runner.py", "checker/sandbox.py",
            "checker/results.py", "checker/project.py", "checker/status_json.py"} <= set(manifest.PLUMBING)
