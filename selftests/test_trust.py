"""A verdict no stray file can fake, and no bad input that ends in "internal error" (issue 18).

Each case is a scenario, as in test_hostile.py: `kata` run in its own copy of the kata
(checker_sandbox.Sandbox) as a learner would, as a subprocess; the scenarios of the selected tests start
at once on a few threads and each test waits for its own. Every attack of section 1 passed all 14
stages on untouched stubs before its fix (and does again when the fix is undone: the comment above each
says which fix).
"""

from __future__ import annotations

import site
import subprocess
import sys
from pathlib import Path

import pytest
from checker_sandbox import Sandbox, Scenarios


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
