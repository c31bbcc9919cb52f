"""The checker against hostile or broken input (issue 8): each case a scenario, as in test_checker.py.

A scenario runs `kata` in its own copy of the kata (checker_sandbox.Sandbox) and returns what a test
checks. The scenarios of the selected tests start at once on a few threads; each test waits for its own.
Every case here failed before its fix: a pass that was not earned, a process left running, a crash.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest
from checker_sandbox import FAKE_TRAIN, FAKE_TRAIN_FILE, Sandbox, Scenarios

from checker import manifest
from checker.project import ROOT
from checker.stages import all_stages

scenario = Scenarios(timeout=180)
started_scenarios, run = scenario.fixtures()
uses = scenario.uses


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
    assert done.stdout.startswith("Part I: the core\n>  1  One-hot encoding    not started\n"), done.stdout
    assert_stage_1_not_passed(done, refused)


@scenario
def pytest_ini_with_a_plugin(box):
    box.write("pytest.ini", "[pytest]\naddopts = -p fakepasses\n")
    box.write("fakepasses.py", FAKE_PASSES)
    return box.kata(), box.kata("solution", "1")


@uses("pytest_ini_with_a_plugin")
def test_a_pytest_ini_or_plugin_of_the_learners_is_not_loaded(run):
    _, (done, refused) = run
    assert done.stdout.startswith("Part I: the core\n>  1  One-hot encoding    not started\n"), done.stdout
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
    assert done.stdout.startswith("Part I: the core\n>  1  One-hot encoding    could not run\n"), done.stdout
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
    assert set(manifest.plumbing()) <= set(manifest.covered_files())
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
    assert "  1  One-hot encoding    passed\n>  2  ReLU                not started\n" in done.stdout, done.stdout
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
    from checker.results import StageResult
    from checker.runner import _EventLog

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


# 3. State problems never crash a command -------------------------------------------------------

def hint_next_line(stage: int) -> str:
    return "kata hint {0} --all (hint levels cannot be remembered now, see the warning, so kata hint {0} would " \
           "show this one again)\n".format(stage)


@scenario
def kata_folder_is_a_file(box):
    box.write(".kata", "not a folder")
    return box.kata(), box.kata("hint"), box.kata("list")


@uses("kata_folder_is_a_file")
def test_a_kata_file_instead_of_the_folder_is_a_warning_and_every_command_works(run):
    _, (status, hint, listing) = run
    warning = ("Warning: your progress could not be saved (.kata is a file, not a folder), so first passes and hint "
               "levels are not remembered; the report itself is right. To fix it: rename or delete the file .kata "
               "(the kata keeps its notes in a folder of that name).\n")
    assert (status.returncode, status.stderr) == (1, warning)
    assert status.stdout.startswith("Part I: the core\n>  1  One-hot encoding    not started\n")
    assert (hint.returncode, hint.stderr) == (0, warning)
    assert hint.stdout.startswith("Stage 1 (One-hot encoding), hint 1 of 3:")
    assert hint.stdout.endswith(hint_next_line(1))
    assert (listing.returncode, listing.stderr) == (0, warning)
    assert "internal error" not in status.stderr + hint.stderr + listing.stderr


@scenario
def progress_file_is_a_folder(box):
    (box.path / ".kata" / "progress.json").mkdir(parents=True)
    return box.kata("hint", "2"), box.kata("list")


@uses("progress_file_is_a_folder")
def test_a_progress_folder_instead_of_the_file_is_a_warning(run):
    _, (hint, listing) = run
    warning = ("Warning: your progress could not be saved (.kata/progress.json is a folder), so first passes and "
               "hint levels are not remembered; the report itself is right. To fix it: delete the folder "
               ".kata/progress.json.\n")
    assert (hint.returncode, hint.stderr) == (0, warning)
    assert hint.stdout.endswith(hint_next_line(2))
    assert (listing.returncode, listing.stderr) == (0, warning)


def test_a_read_only_kata_folder_is_a_warning_and_hints_say_why_they_do_not_advance(monkeypatch, capsys, tmp_path):
    import errno
    import pathlib

    from checker import cli, progress

    def read_only(*args, **kwargs):
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(progress, "kata_dir", lambda root=None: tmp_path / ".kata")
    (tmp_path / ".kata").mkdir()
    monkeypatch.setattr(pathlib.Path, "write_text", read_only)
    monkeypatch.setattr(pathlib.Path, "unlink", read_only)  # the clean-up fails as well
    monkeypatch.setattr(progress, "_warned", set())
    assert cli.main(["hint", "3"]) == 0
    out, err = capsys.readouterr()
    assert out.endswith(hint_next_line(3))
    assert err == (f"Warning: your progress could not be saved ({tmp_path / '.kata'} is on a read-only disk), so "
                   "first passes and hint levels are not remembered; the report itself is right. To keep progress, "
                   "work in a copy of the kata on a writable disk.\n")


SLOW_FAKE_TRAIN = FAKE_TRAIN.replace('    print(f"fake training', '    import time\n    time.sleep(8)\n'
                                     '    print(f"fake training')


@scenario
def three_first_completions_at_once(box):
    box.solve(*(stage.id for stage in all_stages()))
    box.stand_in(FAKE_TRAIN_FILE, SLOW_FAKE_TRAIN)
    processes = [box.start() for _ in range(3)]
    return [p.communicate(timeout=170)[0] for p in processes], [p.returncode for p in processes]


@uses("three_first_completions_at_once")
def test_of_three_kata_commands_at_the_first_completion_one_trains(run):
    _, (outputs, codes) = run
    assert codes == [0, 0, 0]
    assert sum("fake training: 6 epochs" in out for out in outputs) == 1, outputs
    assert sum(out.endswith("\nA training run is already under way: another kata command started it. When it "
                            "ends, kata shows its result.\n") for out in outputs) == 2, outputs


# 4. No internal errors for user mistakes -------------------------------------------------------

def main_says(capsys, *argv) -> tuple[int, str, str]:
    from checker import cli

    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("argv, message", [
    (["train", "--seed", "-1"], "Error: argument --seed: a seed is a whole number of at least 0, got -1. "
                                "See: kata train --help\n"),
    (["train", "--solutions", "--out", ""], "Error: argument --out: the folder is empty: name one, e.g. runs/mine, "
                                            "or leave the option out. See: kata train --help\n"),
    (["predict", "--index", "0", "--run", ""], "Error: argument --run: the folder is empty: name one, e.g. "
                                               "runs/mine, or leave the option out. See: kata predict --help\n"),
    (["check", "sofmax"], "Error: there is no stage 'sofmax'. Did you mean softmax? The stages are: "
                          f"{', '.join(f'{s.number} {s.id}' for s in all_stages())}. Name one by "
                          "number or name, e.g. kata check 3 or kata check softmax.\n"),
])
def test_option_mistakes_are_usage_errors_with_one_line(capsys, argv, message):
    assert main_says(capsys, *argv) == (2, "", message)


def test_a_test_image_out_of_range_is_a_usage_error(monkeypatch, tmp_path, capsys):
    import numpy as np

    from checker import runs
    from training_helpers import use_tiny_dataset

    use_tiny_dataset(monkeypatch)
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    np.savez(run_dir / runs.WEIGHTS_FILE, W1=np.zeros((784, 4), np.float32), b1=np.zeros(4, np.float32),
             W2=np.zeros((4, 10), np.float32), b2=np.zeros(10, np.float32))
    code, out, err = main_says(capsys, "predict", "--index", "10000", "--run", str(run_dir))
    assert (code, out) == (2, "")
    assert err == ("Error: there is no test image 10000: the test set has 200, numbered 0 to 199. "
                   "Choose one in that range.\n")


def png_header(path: Path, width: int, height: int) -> Path:
    """A PNG that declares width x height pixels (PIL reads the size without decoding anything)."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
                     + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b""))
    return path


@pytest.mark.parametrize("side", [20000, 9000])
def test_a_huge_picture_states_the_size_limit(tmp_path, side):
    from checker import images
    from checker.errors import KataError

    path = png_header(tmp_path / "huge.png", side, side)
    with pytest.raises(KataError) as error:
        images.read_image(path)
    message = str(error.value)
    assert "64 million pixels" in message and "(e.g. 8000x8000). Scale it down" in message, message


@scenario
def reset_with_a_backups_file(box):
    box.edit("relu", "# Your code here: replace the raise below.", "# my attempt")
    mine = box.read("exercises/relu.py")
    box.write(".kata/backups", "not a folder")
    return box.kata("reset", "relu", "--yes"), mine, box.read("exercises/relu.py")


@uses("reset_with_a_backups_file")
def test_reset_says_why_it_cannot_back_up_and_changes_nothing(run):
    _, (done, mine, after) = run
    assert (done.returncode, done.stdout) == (1, "")
    assert done.stderr == ("Error: cannot save your version of exercises/relu.py to .kata/backups/ (backups is a "
                           "file, not a folder), so nothing was changed. Rename or delete the file .kata/backups, "
                           "then run: kata reset relu --yes\n")
    assert after == mine


def test_reset_into_a_read_only_exercises_folder_keeps_the_learners_file(monkeypatch, tmp_path, capsys):
    import errno
    import pathlib

    from checker import backups, progress

    from checker.commands import reset

    box = Sandbox(tmp_path)
    box.edit("relu", "# Your code here: replace the raise below.", "# my attempt")
    mine = box.read("exercises/relu.py")
    monkeypatch.setattr(reset, "ROOT", box.path)
    monkeypatch.setattr(progress, "kata_dir", lambda root=None: box.path / ".kata")
    real_replace_file = backups.replace_file

    def replace_file(path, data):
        if pathlib.Path(path).parent.name == "exercises":
            raise OSError(errno.EROFS, "Read-only file system")
        return real_replace_file(path, data)

    monkeypatch.setattr(backups, "replace_file", replace_file)
    monkeypatch.chdir(box.path)
    code, out, err = main_says(capsys, "reset", "relu", "--yes")
    (backup,) = (box.path / ".kata" / "backups").iterdir()
    assert (code, out) == (1, "")
    assert re.fullmatch(r"Error: cannot write \S*exercises/relu\.py \(the disk is read-only\): your version is still "
                        rf"there; a copy is in \S*\.kata/backups/{backup.name}\. Make exercises/ writable, then run: "
                        r"kata reset relu --yes\n", err), err
    assert box.read("exercises/relu.py") == mine == backup.read_text()


@scenario
def output_that_cannot_be_written(box):
    results = {}
    with open("/dev/full", "w") as full:
        for args in (("check", "1"), ()):
            done = subprocess.run(box.command(*args), cwd=box.path, env=box.env(), stdout=full, text=True,
                                  stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, timeout=120)
            results["full " + " ".join(args)] = (done.returncode, done.stderr)
    for args in (("check", "1"), ("list",)):
        reader, writer = os.pipe()
        os.close(reader)  # `kata | head -1`, the reader gone
        done = subprocess.run(box.command(*args), cwd=box.path, env=box.env(), stdout=writer, text=True,
                              stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, timeout=120)
        os.close(writer)
        results["pipe " + " ".join(args)] = (done.returncode, done.stderr)
    done = subprocess.run(box.command("list"), cwd=box.path, env=box.env(), stdout=subprocess.DEVNULL, text=True,
                          stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, timeout=120,
                          preexec_fn=lambda: os.close(1))  # stdout closed
    results["closed"] = (done.returncode, done.stderr)
    return results


@uses("output_that_cannot_be_written")
def test_a_full_disk_or_a_closed_output_is_one_line_not_an_internal_error(run):
    _, results = run
    full = ("Error: no space left to write to (No space left on device): the disk, or the device the output goes "
            "to, is full. Free some space or send the output elsewhere, then run the command again.\n")
    assert results == {"full check 1": (1, full), "full ": (1, full), "pipe check 1": (1, ""), "pipe list": (1, ""),
                       "closed": (0, "")}  # kata list, its output closed: the run itself still works


def test_data_folders_that_are_links_to_nowhere_or_hold_folders_are_named(tmp_path):
    from checker.data import DataError, load_dataset

    loop = tmp_path / "loop"
    loop.symlink_to(loop)
    with pytest.raises(DataError, match=r"loop is a symbolic link that leads nowhere \(to a missing folder, or in a "
                                        r"loop: .*\)\. Point --data-dir at the real folder"):
        load_dataset(loop)
    (tmp_path / "data" / "train-images-idx3-ubyte.gz").mkdir(parents=True)
    with pytest.raises(DataError, match=r"train-images-idx3-ubyte\.gz is a folder, not a file: the data folder "
                                        r"must hold the IDX files themselves"):
        load_dataset(tmp_path / "data")


def test_a_nan_loss_at_a_huge_learning_rate_suggests_a_sensible_one():
    from checker import training

    message = training.diverged_message(3, 1, float("nan"), training.TrainConfig(lr=1e30))
    assert "(--lr 1e+30; try --lr 0.8)" in message
    assert "(--lr 2; try --lr 0.5)" in training.diverged_message(3, 1, float("nan"), training.TrainConfig(lr=2.0))


def test_a_stop_while_the_run_is_saved_keeps_what_was_saved_marked_interrupted(monkeypatch, tmp_path, capsys):
    from checker import plots
    from training_helpers import only_run_dir, run_command, use_tiny_dataset

    use_tiny_dataset(monkeypatch)

    def second_ctrl_c(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(plots, "plot_loss", second_ctrl_c)
    assert run_command("train", "--solutions", "--out", str(tmp_path), "--epochs", "1", "--hidden", "16") == 130
    run_dir = only_run_dir(tmp_path)
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["finished"] is False and summary["stopped"] == "interrupted"
    assert {"metrics.csv", "config.json", "weights.npz"} <= set(os.listdir(run_dir))
    assert "Stopped while saving the run: kept config.json, metrics.csv, weights.npz in " in capsys.readouterr().out


# 5. A run that diverged is not a success -------------------------------------------------------

def test_a_run_that_did_not_learn_fails_is_marked_and_predict_skips_it(monkeypatch, tmp_path):
    from checker import runs
    from checker.errors import KataError
    from training_helpers import only_run_dir, run_command, use_tiny_dataset

    use_tiny_dataset(monkeypatch)
    with pytest.raises(KataError) as error:
        run_command("train", "--solutions", "--out", str(tmp_path), "--lr", "1000", "--epochs", "1", "--hidden", "16")
    assert re.match(r"the run did not learn: its (validation accuracy|training loss) ended at .*\. The likely cause is a learning rate too high for this network \(--lr 1000\); try "
                    r"--lr 0\.8\. The run is kept in .*; kata predict skips it unless named with --run\.",
                    str(error.value)), str(error.value)
    run_dir = only_run_dir(tmp_path)
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["learned"] is False and summary["message"].startswith("the run did not learn")
    with pytest.raises(KataError, match="there is no trained network"):
        runs.newest_usable(tmp_path)
    assert runs.load_network(run_dir)["W1"].shape == (784, 16)  # named explicitly, it loads


def test_a_loss_that_ends_above_its_start_is_not_learning():
    from checker import training

    history = training.History(iterations_per_epoch=2, batch_loss=[2.3, 2.5, 2.6, 2.7])
    history.epochs.append(training.EpochRow(1, 4, 2.65, 0.5, 2.6, 0.55, 1.0))
    assert training.did_not_learn(history, training.TrainConfig(lr=3.0)) == (
        "the run did not learn: its training loss ended at 2.65, above where it started (2.3). The likely cause is "
        "a learning rate too high for this network (--lr 3); try --lr 0.75.")
    history.epochs[-1] = training.EpochRow(1, 4, 0.4, 0.9, 0.4, 0.9, 1.0)
    assert training.did_not_learn(history, training.TrainConfig(lr=3.0)) is None
    history.epochs[-1] = training.EpochRow(1, 4, 2.2, 0.1, 2.2, 0.0982, 1.0)  # the run: 9.82%
    assert training.did_not_learn(history, training.TrainConfig(lr=1000.0)) == (
        "the run did not learn: its validation accuracy ended at 9.8%, about what guessing gets (10%). The likely "
        "cause is a learning rate too high for this network (--lr 1000); try --lr 0.8.")


# 6. Training keeps its speed on a busy machine (speed itself lives in bench/, never in a test) ----

def test_kata_train_runs_on_the_chosen_number_of_blas_threads(monkeypatch, tmp_path):
    """The cores free when training starts (a quiet stand-in machine: all of them; a busy one: one),
    and KATA_BLAS_THREADS over both (checker/threads.py; test_threads.py holds the choice itself)."""
    threadpoolctl = pytest.importorskip("threadpoolctl")
    from checker import threads, training
    from training_helpers import run_command, use_tiny_dataset

    use_tiny_dataset(monkeypatch)
    seen = []
    real_train = training.train

    def train(*args, **kwargs):
        seen.append({info["num_threads"] for info in threadpoolctl.threadpool_info() if info["user_api"] == "blas"})
        return real_train(*args, **kwargs)

    monkeypatch.setattr(training, "train", train)
    monkeypatch.setattr(threads, "usable_cores", lambda: 2)
    monkeypatch.setattr(threads, "machine_cpus", lambda: 2)

    def machine(others):  # a 2-core machine where other programs keep `others` cores busy, besides this process
        monkeypatch.setattr(threads, "machine_times",
                            lambda: (time.perf_counter() * others + time.process_time(), time.perf_counter() * 2))

    for others in (0.0, 2.0):
        machine(others)
        run_command("train", "--solutions", "--out", str(tmp_path), "--epochs", "1", "--hidden", "16")
    monkeypatch.setenv("KATA_BLAS_THREADS", "2")
    machine(2.0)
    run_command("train", "--solutions", "--out", str(tmp_path), "--epochs", "1", "--hidden", "16")
    assert seen in ([{2}, {1}, {2}], [set(), set(), set()])  # set(): NumPy without a BLAS threadpoolctl knows


def test_the_benchs_busy_loops_end_with_it_even_on_ctrl_c():
    import sys

    sys.path.insert(0, str(ROOT / "bench"))
    import bench

    def children() -> set[int]:  # this process's live children (an earlier test may have left some of its own)
        found = set()
        for entry in Path("/proc").iterdir():
            try:
                if entry.name.isdigit() and alive(int(entry.name)) and \
                        f"{os.getpid()}" == (entry / "stat").read_text().rsplit(")", 1)[1].split()[1]:
                    found.add(int(entry.name))
            except OSError:
                continue
        return found

    before = children()
    with pytest.raises(KeyboardInterrupt), bench.busy_loops(2):
        loops = children() - before
        assert len(loops) == 2
        raise KeyboardInterrupt
    assert not any(alive(pid) for pid in loops)  # busy_loops waited for them: no delay needed
