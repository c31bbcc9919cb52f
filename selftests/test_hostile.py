"""The checker against hostile or broken input (issue 8): each case a scenario, as in test_checker.py.

A scenario runs `kata` in its own copy of the kata (checker_sandbox.Sandbox) and returns what a test
checks. The scenarios of the selected tests start at once on a few threads; each test waits for its own.
Every case here failed before its fix: a pass that was not earned, a process left running, a crash.
"""

from __future__ import annotations

import json
import os
import signal
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from checker_sandbox import Sandbox

from checker import manifest
from checker.stages import ROOT, all_stages

SCENARIOS = {}


def scenario(function):
    SCENARIOS[function.__name__] = function
    return function


def uses(*names):
    return pytest.mark.parametrize("run", names, indirect=True)


@pytest.fixture(scope="module")
def started_scenarios(request, tmp_path_factory):
    needed = {item.callspec.params["run"] for item in request.session.items
              if "run" in getattr(getattr(item, "callspec", None), "params", {})}
    pool = ThreadPoolExecutor(max_workers=3)
    started = {}
    for name in SCENARIOS:
        if name in needed:
            box = Sandbox(tmp_path_factory.mktemp(name))
            started[name] = (box, pool.submit(SCENARIOS[name], box))
    yield started
    pool.shutdown(wait=True, cancel_futures=True)


@pytest.fixture
def run(request, started_scenarios):
    box, future = started_scenarios[request.param]
    return box, future.result(timeout=180)


def assert_stage_1_not_passed(done, refused):
    """The untouched stub of stage 1 is reported as such, and its solution stays hidden."""
    assert done.returncode == 1, done.stdout + done.stderr
    assert not done.stdout.startswith("Stage 1 (One-hot encoding) passed!"), done.stdout
    assert "  1  One-hot encoding    passed" not in done.stdout, done.stdout
    assert refused.returncode == 1 and "does not pass yet, so its solution stays hidden" in refused.stderr


# 2. A pass is a pass ---------------------------------------------------------------------------

FAKE_PASSES = """\
import pytest


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items):
    for item in items:
        item.runtest = lambda: None
"""


@scenario
def conftest_in_the_repo_root(box):
    box.write("conftest.py", FAKE_PASSES)
    return box.kata(), box.kata("solution", "1")


@uses("conftest_in_the_repo_root")
def test_a_conftest_py_of_the_learners_is_not_loaded(run):
    _, (done, refused) = run
    assert done.stdout.startswith("> 1  One-hot encoding    not started\n"), done.stdout
    assert_stage_1_not_passed(done, refused)


@scenario
def pytest_ini_with_a_plugin(box):
    box.write("pytest.ini", "[pytest]\naddopts = -p fakepasses\n")
    box.write("fakepasses.py", FAKE_PASSES)
    return box.kata(), box.kata("solution", "1")


@uses("pytest_ini_with_a_plugin")
def test_a_pytest_ini_or_plugin_of_the_learners_is_not_loaded(run):
    _, (done, refused) = run
    assert done.stdout.startswith("> 1  One-hot encoding    not started\n"), done.stdout
    assert_stage_1_not_passed(done, refused)


@scenario
def rewritten_tests(box):
    box.write("tests/test_one_hot.py", "def test_one_hot_passes():\n    pass\n")
    suite = box.kata(), box.kata("solution", "1")
    (box.path / "tests/test_one_hot.py").write_bytes((ROOT / "tests/test_one_hot.py").read_bytes())
    box.write("tests/conftest.py", box.read("tests/conftest.py") + "\n" + FAKE_PASSES.replace("import pytest\n", ""))
    return suite, (box.kata(), box.kata("solution", "1"))


@uses("rewritten_tests")
def test_an_edited_suite_is_named_with_how_to_restore_it_and_does_not_count(run):
    _, ((done, refused), _) = run
    assert_stage_1_not_passed(done, refused)
    assert done.stdout.startswith("> 1  One-hot encoding    could not run\n"), done.stdout
    assert ("Stage 1 (One-hot encoding): tests/test_one_hot.py differs from the kata's copy, so its results do "
            "not count. The tests are not yours to change: restore the file with git checkout "
            "tests/test_one_hot.py\n") in done.stdout


@uses("rewritten_tests")
def test_edited_test_plumbing_is_named_and_nothing_counts(run):
    _, (_, (done, refused)) = run
    assert_stage_1_not_passed(done, refused)
    assert ("Stage 1 (One-hot encoding): tests/conftest.py (part of the kata's test machinery) differs from the "
            "kata's copy, so no results count. The tests are not yours to change: restore the file with "
            "git checkout tests/conftest.py\n") in done.stdout


FORGE_RESULTS = '''\
    import json, os
    path = os.environ["KATA_RESULTS"]
    with open(path, encoding="utf-8") as f:
        events = [json.loads(line[line.index("{"):]) for line in f if "{" in line]
    files = next(e["files"] for e in events if e.get("event") == "collected")
    seq = max(e.get("seq", 0) for e in events)
    with open(path, "a", encoding="utf-8") as f:
        for file, tests in files.items():
            for test in tests:
                for event in ({"event": "start", "file": file, "test": test},
                              {"event": "result", "file": file, "test": test, "task": None,
                               "outcome": "passed", "kind": "", "message": ""}):
                    seq += 1
                    f.write(json.dumps({"seq": seq, **event}) + "\\n")
        f.write(json.dumps({"seq": seq + 1, "event": "finished", "exitstatus": 0}) + "\\n")
    os._exit(0)'''


@scenario
def forged_results(box):
    box.edit("one_hot", "    # Your code here: replace the raise below.", FORGE_RESULTS)
    return box.kata(), box.kata("solution", "1")


@uses("forged_results")
def test_passed_lines_written_by_the_learners_code_do_not_count(run):
    _, (done, refused) = run
    assert_stage_1_not_passed(done, refused)
    assert ("Stage 1 (One-hot encoding): stopped abruptly while testing one_hot(): the test process ended with "
            "exit code 0. Does the code call os._exit()?\n") in done.stdout


def test_the_manifest_covers_every_suite_and_the_plumbing_and_is_up_to_date():
    assert [s.tests for s in all_stages()] == manifest.covered_files()[:len(all_stages())]
    assert set(manifest.PLUMBING) <= set(manifest.covered_files())
    committed = (ROOT / manifest.MANIFEST).read_text(encoding="utf-8") if (ROOT / manifest.MANIFEST).is_file() else ""
    assert committed == manifest.manifest_text(), (
        f"{manifest.MANIFEST} is out of date: a suite or the test plumbing changed ("
        f"{', '.join(manifest.differing(manifest.covered_files())) or 'files added or removed'}). "
        f"If the change is intended, write it again with: {manifest.REGENERATE} (and commit it)")


def test_the_manifest_names_a_changed_file_and_ignores_line_endings(tmp_path):
    box = Sandbox(tmp_path)
    assert manifest.differing(manifest.covered_files(), box.path) == {}
    path = box.path / "tests/test_relu.py"
    path.write_bytes(path.read_bytes().replace(b"\n", b"\r\n"))
    assert manifest.differing(manifest.covered_files(), box.path) == {}
    box.write("tests/test_relu.py", box.read("tests/test_relu.py") + "\ndef test_relu_extra():\n    pass\n")
    (box.path / "tests/test_init.py").unlink()
    assert manifest.differing(manifest.covered_files(), box.path) == {
        "tests/test_relu.py": "changed", "tests/test_init.py": "missing"}


# 1. Nothing the learner's code starts outlives a run -------------------------------------------

DAEMONS = '''\
import os as _os
import subprocess as _subprocess
import sys as _sys
import time as _time

if _os.environ.get("KATA_IMPL"):  # in the test process, not when the scenario imports nothing
    _log = _os.path.join(_os.getcwd(), "daemons.txt")
    # a double-forked daemon in its own session
    if _os.fork() == 0:
        _os.setsid()
        if _os.fork() == 0:
            with open(_log, "a") as _f:
                _f.write(f"{_os.getpid()}\\n")
            _time.sleep(300)
            _os._exit(0)
        _os._exit(0)
    # a process in a new session, with none of the kata's environment
    _p = _subprocess.Popen([_sys.executable, "-c", "import time; time.sleep(300)"], start_new_session=True,
                           env={"PATH": _os.environ.get("PATH", "")})
    with open(_log, "a") as _f:
        _f.write(f"{_p.pid}\\n")
'''


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


@scenario
def daemons_at_import(box):
    box.solve("one_hot")
    box.edit("one_hot", "import numpy as np", "import numpy as np\n" + DAEMONS)
    done = box.kata()
    time.sleep(0.5)  # let init reap what was killed
    pids = [int(line) for line in box.read("daemons.txt").split()]
    survivors = [pid for pid in pids if alive(pid)]
    for pid in survivors:  # never leave them running, whatever the test says
        os.kill(pid, signal.SIGKILL)
    return done, pids, survivors


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")
@uses("daemons_at_import")
def test_processes_the_learners_code_starts_are_ended_after_the_run(run):
    _, (done, pids, survivors) = run
    assert done.returncode == 1 and "  1  One-hot encoding    passed\n" in done.stdout, done.stdout
    assert len(pids) >= 2
    assert survivors == []


@scenario
def thread_left_running(box):
    box.solve("one_hot")
    box.edit("one_hot", "import numpy as np", "import threading\nimport time\nimport numpy as np\n\n"
             "threading.Thread(target=lambda: time.sleep(300)).start()\n")
    return box.kata(env={"KATA_TIMEOUT": "12"})


@uses("thread_left_running")
def test_a_thread_left_running_does_not_stall_the_run_or_blame_a_stage(run):
    _, done = run
    assert (done.returncode, done.stderr) == (1, "")
    assert "  1  One-hot encoding    passed\n> 2  ReLU                not started\n" in done.stdout, done.stdout
    assert "stopped after" not in done.stdout and "endless loop" not in done.stdout


@scenario
def signal_to_the_checker(box):
    box.solve("one_hot")
    box.edit("relu", "# Your code here: replace the raise below.",
             "import os, signal\n    os.kill(os.getppid(), signal.SIGTERM)")
    (box.path / "tmp").mkdir()
    done = box.kata(env={"TMPDIR": str(box.path / "tmp")})
    return done, sorted(p.name for p in (box.path / "tmp").iterdir())


@uses("signal_to_the_checker")
def test_a_sigterm_from_the_learners_code_is_reported_and_cleaned_up(run):
    _, (done, left) = run
    assert done.returncode == 143, done
    assert done.stderr == ("\nStopped: the kata received SIGTERM while testing relu() of Stage 2 (ReLU). If your "
                           "code sends signals (os.kill), remove that call: a kata function returns its result.\n")
    assert left == []


def test_a_test_counts_only_when_seen_to_start_and_finish_once_and_all_collected_report():
    from checker.runner import StageResult, _EventLog

    stage = all_stages()[0]
    file = stage.tests
    events = _EventLog()
    result = lambda test: {"event": "result", "file": file, "test": test, "outcome": "passed"}  # noqa: E731
    for event in ({"event": "collected", "files": {file: ["test_one_hot_a", "test_one_hot_b"]}},
                  result("test_one_hot_b"),  # never started
                  {"event": "start", "file": file, "test": "test_one_hot_a"}, result("test_one_hot_a"),
                  result("test_one_hot_a"),  # twice
                  {"event": "finished"}):
        events.add(event)
    stage_result = StageResult(stage)
    events.fill(stage_result, 0, 30)
    assert [t.name for t in stage_result.tests] == ["test_one_hot_a"]
    assert not stage_result.passed
    events.add({"event": "start", "file": file, "test": "test_one_hot_b"})
    events.add(result("test_one_hot_b"))
    events.fill(stage_result, 0, 30)
    assert stage_result.passed
