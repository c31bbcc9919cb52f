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
# (checker/manifest.py's plumbing(): every Python file of checker/), not only the suites and the test process's helpers.
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


@scenario
def report_that_passes_everything(box):
    """Not a module that judges anything: the text report. But it runs in kata's process, where it can."""
    box.write("checker/status_text.py", box.read("checker/status_text.py")
              + "\nfrom .results import StageResult as _S\n_S.passed = property(lambda self: True)\n")
    return box.kata("--no-train"), box.kata("status", "--json")


@uses("report_that_passes_everything")
def test_any_file_of_the_checker_patched_to_pass_every_stage_is_named(run):
    _, (done, status) = run
    assert done.returncode == 1
    assert done.stderr.startswith("\nError: checker/status_text.py differs from the kata's copy"), done.stderr
    assert status.returncode == 1
    assert json.loads(status.stdout)["integrity"]["modified"] == ["checker/status_text.py"]


def test_every_module_of_the_kata_the_test_process_imports_is_in_the_manifest(monkeypatch, tmp_path):
    """The manifest covers every file of the kata that runs in the test process (should plumbing() ever be
    narrowed again, a module left out fails here)."""
    listing = tmp_path / "modules.txt"
    dump = (f"code = pytest.main(args)\nopen({str(listing)!r}, 'w').write('\\n'.join(sorted(_sys.modules)))\n"
            "_sys.exit(code)")
    monkeypatch.setattr(sandbox, "BOOTSTRAP", sandbox.BOOTSTRAP.replace("_sys.exit(pytest.main(args))", dump))
    assert runner.run_stages(all_stages()[:2], impl="solutions").all_passed
    loaded = [name for name in listing.read_text().split() if name == "checker" or name.startswith("checker.")]
    files = {"checker/__init__.py" if name == "checker" else name.replace(".", "/") + ".py" for name in loaded}
    assert {"checker/results_plugin.py", "checker/teach.py"} <= files
    assert files <= set(manifest.plumbing()), sorted(files - set(manifest.plumbing()))
    assert {"checker/stages.toml", "tests/conftest.py", "checker/runner.py", "checker/sandbox.py",
            "checker/results.py", "checker/project.py", "checker/status_json.py", "checker/status_text.py",
            "checker/commands/status.py"} <= set(manifest.plumbing())


# 2. Files of the person who runs the kata -------------------------------------------------------

@pytest.fixture(scope="module")
def dataset():
    from training_helpers import tiny_dataset

    return tiny_dataset()


@pytest.fixture(scope="module")
def good_run(dataset, tmp_path_factory):
    """A finished run as kata train leaves it (tiny data), in runs/ of its own kata root; older than any run
    a test adds next to it."""
    import numpy as np

    from checker import training
    from checker import runs as run_files

    config = training.TrainConfig(hidden=16, epochs=2, batch_size=32)
    result = training.train(training.load_parts("solutions", config), dataset, config)
    run_dir = tmp_path_factory.mktemp("kata") / "runs" / "20250101-120000-exercises"
    run_dir.mkdir(parents=True)
    np.savez(run_dir / run_files.WEIGHTS_FILE, **result.params)
    run_files.write_json(run_dir / run_files.CONFIG_FILE, {"hidden": 16, "impl": "exercises", "model": "mlp",
                                                           "layer_sizes": [784, 16, 10]})
    run_files.write_json(run_dir / run_files.SUMMARY_FILE, {
        "test_accuracy": 0.9, "validation_accuracy": 0.9, "impl": "exercises", "run_dir": str(run_dir),
        "plots": ["loss.png"], "finished": True, "stopped": None})
    from PIL import Image

    Image.new("L", (8, 8), 255).save(run_dir / "loss.png")
    os.utime(run_dir / run_files.SUMMARY_FILE, (1e9, 1e9))
    return run_dir


def copy_of(run_dir: Path, into: Path, name: str = "20990101-000000-exercises") -> Path:
    import shutil

    copy = into / name
    shutil.copytree(run_dir, copy)
    return copy


def edit_json(path: Path, **changes) -> None:
    value = json.loads(path.read_text())
    path.write_text(json.dumps({**value, **changes}))


def edit_weights(run_dir: Path, **arrays) -> None:
    import numpy as np

    from checker import runs as run_files

    path = run_dir / run_files.WEIGHTS_FILE
    with np.load(path) as saved:
        params = dict(saved)
    params.update(arrays)
    np.savez(path, **params)


def page_of(run_dir: Path, dataset) -> str:
    from checker.page import write_page

    return write_page(run_dir, dataset).path.read_text(encoding="utf-8")


def test_a_page_embeds_only_png_figures_of_the_run_folder(good_run, dataset, tmp_path):
    import base64

    from PIL import Image

    run_dir = copy_of(good_run, tmp_path)
    secret = tmp_path / "secret.png"  # a PNG outside the folder, and a local file that is not a figure
    Image.new("L", (8, 8), 7).save(secret)
    hostname = Path("/etc/hostname") if Path("/etc/hostname").is_file() else secret
    (run_dir / "outside.png").symlink_to(secret)
    os.mkfifo(run_dir / "fifo.png")  # read, it would block the page for ever
    edit_json(run_dir / "summary.json", plots=["/etc/passwd", "../../../../../../../../etc/hostname",
                                               f"../{secret.name}", "outside.png", "fifo.png", "loss.png"])
    page = page_of(run_dir, dataset)
    embedded = [base64.b64decode(data) for data in __import__("re").findall(r'data:image/png;base64,([^"]+)"', page)]
    assert embedded == [(run_dir / "loss.png").read_bytes()]
    for leaked in (Path("/etc/passwd"), hostname, secret):
        if leaked.is_file():
            assert base64.b64encode(leaked.read_bytes()).decode() not in page
    edit_json(run_dir / "summary.json", plots=5)  # not a list: the folder's own PNG files, still only them
    assert page_of(run_dir, dataset).count("data:image/png;base64,") == 1


# 3. No internal errors for anything a user can do -----------------------------------------------

def main_says(capsys, *argv) -> tuple[int, str, str]:
    from checker import cli

    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def breakages():
    """name -> what it does to a copy of a finished run (its folder), and the note's reason."""
    import numpy as np

    return {
        "truncated weights": (lambda d: (d / "weights.npz").write_bytes((d / "weights.npz").read_bytes()[:100]),
                              "its weights.npz cannot be read (BadZipFile: File is not a zip file): the run was cut "
                              "short (a full disk?) or the file was changed."),
        "empty weights": (lambda d: (d / "weights.npz").write_bytes(b""),
                          "its weights.npz cannot be read (it is empty): the run was cut short (a full disk?) or "
                          "the file was changed."),
        "no summary": (lambda d: (d / "summary.json").unlink(),
                       "it has no summary.json: the run never finished (it was stopped, or the disk was full)."),
        "summary a list": (lambda d: (d / "summary.json").write_text("[1, 2]"),
                           "its summary.json is not the summary of a run (unreadable, too large, or not a JSON "
                           "object)."),
        "saving not finished": (lambda d: edit_json(d / "summary.json", finished=False, stopped="incomplete"),
                                "it could not be finished: it stopped while the run was being saved."),
        "b1 of shape (5,)": (lambda d: edit_weights(d, b1=np.zeros(5, np.float32)),
                             "its weights.npz is not a network the kata can run: b1 has shape (5,), not (16,): one "
                             "bias per unit of W1."),
        "a scalar W1": (lambda d: edit_weights(d, W1=np.float32(1)),
                        "its weights.npz is not a network the kata can run: layer 1 is neither a dense layer nor a "
                        "convolution (W1 has shape ())."),
        "a string W2": (lambda d: edit_weights(d, W2=np.array(["a", "b"])),
                        "its weights.npz is not a network the kata can run: W2 holds <U1 values, not numbers."),
        "an extra W3": (lambda d: edit_weights(d, W3=np.zeros((10, 10), np.float32)),
                        "its weights.npz is not a network the kata can run: it does not hold the weights W1, b1, ... "
                        "of every layer (missing: b3)."),
    }


@pytest.mark.parametrize("breakage", list(breakages()))
def test_a_newer_run_that_cannot_read_digits_is_skipped_with_a_note_and_named_it_is_one_error(
        breakage, good_run, dataset, tmp_path, monkeypatch, capsys):
    from checker import runs as run_files
    from training_helpers import use_tiny_dataset

    use_tiny_dataset(monkeypatch, dataset)
    folder = tmp_path / "runs"
    copy_of(good_run, folder, good_run.name)
    broken = copy_of(good_run, folder)
    damage, why = breakages()[breakage]
    damage(broken)
    monkeypatch.setattr(run_files, "runs_folder", lambda root=None: folder)
    monkeypatch.chdir(tmp_path)
    note = f"skipped runs/{broken.name}/: {why}"
    code, out, err = main_says(capsys, "predict", "--index", "0")
    assert (code, err) == (0, ""), err
    assert out.startswith(f"Note:    {note}\nNetwork: runs/{good_run.name}/ (MLP 784-16-10"), out
    code, out, err = main_says(capsys, "report")
    assert (code, err) == (0, "")
    assert out.startswith(f"Note: {note}\nWeb page: runs/{good_run.name}/report.html"), out
    # Named with --run, the damaged run is one error that says what is wrong, never an internal error.
    code, out, err = main_says(capsys, "predict", "--index", "0", "--run", str(broken))
    if "weights" in breakage or "W" in breakage or "b1" in breakage:
        assert code == 1 and err.startswith(f"Error: runs/{broken.name}/weights.npz ") and err.count("\n") == 1, err
        assert err.endswith("Train again (kata train), or name another run.\n")
    else:  # a summary that is missing or wrong does not stop the network it names from reading a digit
        assert (code, err) == (0, "") and "Prediction: " in out
    code, out, err = main_says(capsys, "report", str(broken))
    assert "internal error" not in err and code in (0, 1), err


def test_the_newest_usable_run_skips_experiments_without_a_note(good_run, tmp_path):
    from checker import runs as run_files

    folder = tmp_path / "runs"
    copy_of(good_run, folder, good_run.name)
    experiment = folder / "20990101-000000-experiment-depth"
    experiment.mkdir()
    (experiment / "config.json").write_text("{}")
    notes: list[str] = []
    assert run_files.newest_usable(folder, notes).dir.name == good_run.name
    assert notes == []


def test_a_run_being_saved_is_marked_incomplete_until_its_summary_is_written(monkeypatch, tmp_path, dataset):
    """kill -9 or a full disk while the figures are drawn: the folder says the run was not finished."""
    from checker import plots
    from checker import runs as run_files
    from training_helpers import only_run_dir, run_command, use_tiny_dataset

    use_tiny_dataset(monkeypatch, dataset)
    seen = {}

    def killed(*args, **kwargs):  # what the folder holds when the process dies here
        seen.update(json.loads((only_run_dir(tmp_path) / run_files.SUMMARY_FILE).read_text()))
        raise SystemExit(137)

    monkeypatch.setattr(plots, "plot_loss", killed)
    with pytest.raises(SystemExit):
        run_command("train", "--solutions", "--out", str(tmp_path), "--epochs", "1", "--hidden", "8")
    assert seen["stopped"] == "incomplete" and seen["finished"] is False
    assert run_files.Run.load(only_run_dir(tmp_path)).unusable_because() == (
        "it could not be finished: it stopped while the run was being saved")


@pytest.mark.parametrize("file, text", [
    ("summary.json", "[1, 2]"),
    ("summary.json", '{"run_dir": 5, "test_accuracy": 0.9, "impl": "exercises", "plots": 5}'),
    ("summary.json", '{"test_accuracy": "x", "impl": "exercises"}'),
    ("config.json", "{}"),
    ("config.json", '{"l2": "x", "model": [1], "depth": "x", "optimizer": 3}'),
    ("config.json", '{"layer_sizes": 5, "impl": "exercises"}'),
    ("config.json", "[]"),
])
def test_hand_edited_run_files_do_not_stop_the_report_of_every_stage_passing(file, text, good_run, tmp_path):
    """What kata, kata --no-train and kata status --json do after every suite passed, on a kata whose newest
    learner run (an MLP, and a CNN for the closing comparison) has the file hand-edited."""
    from checker import status_json
    from checker.progress import Progress
    from checker.results import RunResult, StageResult, TestResult
    from checker.schema_check import problems
    from checker.status_text import render_status
    from checker.term import Style

    for name, model in (("20990101-000000-exercises", "mlp"), ("20990102-000000-exercises", "cnn")):
        run_dir = copy_of(good_run, tmp_path / "runs", name)
        edit_json(run_dir / "config.json", model=model)
        (run_dir / file).write_text(text)
    passed = RunResult([StageResult(stage, ran=True, expected=["test_x"], tests=[TestResult("test_x", None, "passed")])
                        for stage in all_stages()])
    report = render_status(passed, Progress(tmp_path / ".kata" / "progress.json"), Style(enabled=False), [], root=tmp_path)
    assert f"All {len(all_stages())} stages pass" in report
    document = status_json.status_document(passed, root=tmp_path)
    assert problems(json.loads(status_json.render(document)), status_json.schema()) == []


@pytest.mark.parametrize("name, command", [("KATA_TIMEOUT", ["check", "1"]), ("KATA_MEMORY_MB", ["check", "1"]),
                                           ("KATA_WATCH_INTERVAL", ["watch"])])
@pytest.mark.parametrize("value, why", [("inf", "is not a positive number"), ("nan", "is not a positive number"),
                                        ("-1", "is not a positive number"), ("x", "is not a positive number"),
                                        ("1e300", "is more than"), ("1e-300", "is less than")])
def test_settings_in_the_environment_that_no_run_can_use_are_one_error(name, command, value, why, monkeypatch, capsys):
    monkeypatch.setenv(name, value)
    code, out, err = main_says(capsys, *command)
    assert code == 1 and err.startswith(f"Error: {name}={value!r} {why}") and err.count("\n") == 1, err
    assert f"e.g. {name}=" in err and "internal error" not in err


@pytest.mark.parametrize("argv, says", [
    (["train", "--solutions", "--hidden", "1000000000"],
     "Error: a network of 1 hidden layer of 1,000,000,000 units, in batches of 64, needs at least 10.9 TB of memory "
     "to train (795,000,000,010 weights and 1,000,000,010 activations per image), and this machine has "),
    (["train", "--hidden", "1000000000"], "Error: a network of 1 hidden layer of 1,000,000,000 units"),
    (["train", "--solutions", "--depth", "1000000"], "Error: a network of 1,000,000 hidden layers of 384 units"),
    (["train", "--solutions", "--model", "cnn", "--filters", "100000000"],
     "Error: a CNN with filters 100000000 and a dense layer of 128, in batches of 64, needs at least "),
    (["experiment", "depth", "--solutions", "--depths", "1000000"],
     "Error: a network of 1,000,000 hidden layers of 64 units, in batches of 64, needs at least "),
])
def test_a_network_that_cannot_fit_in_memory_is_refused_with_the_estimate(argv, says, monkeypatch, capsys, dataset):
    from training_helpers import all_stages_pass, use_tiny_dataset

    use_tiny_dataset(monkeypatch, dataset)
    all_stages_pass(monkeypatch)  # the learner's own code: refused before a stage is asked, or a weight drawn
    monkeypatch.setattr("checker.learner_code.stage_passes", lambda module, impl="exercises": True)

    def never(*args, **kwargs):  # without the check, training would try to allocate terabytes here
        raise AssertionError("a weight was drawn")

    monkeypatch.setattr("checker.training.initial_params", never)
    monkeypatch.setattr("checker.training.train", never)
    code, out, err = main_says(capsys, *argv)
    assert code == 2 and err.startswith(says) and err.count("\n") == 1, err
    assert err.endswith(" (or --batch-size).\n") and "MemoryError" not in err


def test_the_memory_check_counts_a_batch_no_larger_than_the_training_set(dataset):
    from checker import estimate, training

    huge_batch = training.TrainConfig(batch_size=10**9)
    estimate.check_memory(huge_batch, dataset, available=2**30)  # one batch of the 640 images: it fits
    with pytest.raises(Exception, match=r"needs at least 4\.3 GB of memory .* and this machine has 1\.1 GB"):
        estimate.check_memory(training.TrainConfig(hidden=400_000), dataset, available=2**30)


def test_absurd_epochs_are_a_usage_error(capsys):
    code, out, err = main_says(capsys, "train", "--solutions", "--epochs", "1000000000")
    assert (code, out) == (2, "")
    assert err == ("Error: argument --epochs: expected at most 10,000 epochs (passes over the training set), got "
                   "1,000,000,000. See: kata train --help\n")


@scenario
def reset_what_is_not_a_file(box):
    """kata reset on an exercise that is a folder, a FIFO, or a symbolic link to a file elsewhere."""
    elsewhere = box.path.parent / f"{box.path.name}-elsewhere.txt"  # stands for ~/.bashrc or /etc/passwd
    elsewhere.write_text("someone else's file\n")
    (box.path / "exercises/relu.py").unlink()
    box.write("exercises/relu.py/my_notes.txt", "my work\n")
    (box.path / "exercises/softmax.py").unlink()
    os.mkfifo(box.path / "exercises/softmax.py")
    (box.path / "exercises/init.py").unlink()
    (box.path / "exercises/init.py").symlink_to(elsewhere)
    done = {stage: box.kata("reset", stage, "--yes", timeout=60) for stage in ("relu", "softmax", "init")}
    backups = {path.name: path.read_text() for path in (box.path / ".kata/backups").glob("*")}
    return done, elsewhere.read_text(), backups


@uses("reset_what_is_not_a_file")
def test_reset_never_replaces_a_folder_reads_a_fifo_or_writes_through_a_link(run):
    box, (done, elsewhere, backups) = run
    relu, softmax, init = done["relu"], done["softmax"], done["init"]
    assert (relu.returncode, relu.stdout) == (1, "")
    assert relu.stderr == ("Error: exercises/relu.py is a folder, not a file, so nothing was changed (the kata never "
                           "replaces a folder: it may hold your work). Move it elsewhere or rename it, then run: kata "
                           "reset relu --yes\n")
    assert box.read("exercises/relu.py/my_notes.txt") == "my work\n"
    assert (softmax.returncode, softmax.stdout) == (1, "")
    assert softmax.stderr == ("Error: exercises/softmax.py is not a regular file (a FIFO, socket or device), so nothing "
                              "was changed. Delete it (rm exercises/softmax.py), then run: kata reset softmax --yes\n")
    assert init.returncode == 0 and "exercises/init.py was a symbolic link (to " in init.stdout, init.stdout
    assert elsewhere == "someone else's file\n"  # what the link pointed at is untouched ...
    assert not (box.path / "exercises/init.py").is_symlink()  # ... the stub is a file of its own
    assert box.read("exercises/init.py").startswith('"""Stage 6')
    assert list(backups.values()) == ["someone else's file\n"]  # and what the link showed is backed up


def test_files_the_kata_writes_in_a_run_folder_replace_links_never_write_through_them(good_run, dataset, tmp_path):
    from checker import runs as run_files
    from checker.page import write_page

    run_dir = copy_of(good_run, tmp_path / "runs")
    elsewhere = tmp_path / "bashrc"
    elsewhere.write_text("export PATH\n")
    for name in ("report.html", "summary.json"):
        (run_dir / name).unlink(missing_ok=True)
        (run_dir / name).symlink_to(elsewhere)
    write_page(run_dir, dataset)
    run_files.write_json(run_dir / "summary.json", {"test_accuracy": 0.5})
    assert elsewhere.read_text() == "export PATH\n"
    assert not (run_dir / "report.html").is_symlink() and "<html" in (run_dir / "report.html").read_text()
    assert json.loads((run_dir / "summary.json").read_text()) == {"test_accuracy": 0.5}


@pytest.mark.parametrize("make", ["fifo", "/dev/zero"])
def test_kata_predict_never_reads_a_fifo_or_a_device(make, good_run, tmp_path, capsys):
    path = tmp_path / "digit.png"
    if make == "fifo":
        os.mkfifo(path)  # read, it would wait for a writer for ever
    else:
        path = Path(make)
    code, out, err = main_says(capsys, "predict", str(path), "--run", str(good_run))
    assert (code, out) == (1, "")
    assert err == (f"Error: {path} is not a file (a FIFO, socket or device), so it is not read. Give the path of a "
                   "picture of one digit, e.g. kata predict my_digit.png\n")


def test_many_skipped_runs_make_three_notes_and_a_count(good_run, tmp_path, monkeypatch):
    from checker import runs as run_files

    monkeypatch.chdir(tmp_path)
    folder = tmp_path / "runs"
    copy_of(good_run, folder, good_run.name)
    for day in range(1, 6):
        (copy_of(good_run, folder, f"209901{day:02d}-000000-exercises") / "weights.npz").write_bytes(b"")
    failed = copy_of(good_run, folder, "20990201-000000-exercises")  # announced by kata train: no note
    edit_json(failed / "summary.json", learned=False)
    notes: list[str] = []
    assert run_files.newest_usable(folder, notes).dir.name == good_run.name
    assert [note.split(":")[0] for note in notes] == [
        "skipped runs/20990105-000000-exercises/", "skipped runs/20990104-000000-exercises/",
        "skipped runs/20990103-000000-exercises/", "skipped 2 more runs that cannot read digits either."]


@scenario
def the_run_ended_by_the_learners_code(box):
    box.solve("one_hot")
    outputs = {}
    for name, code in (("keyboard_interrupt", "raise KeyboardInterrupt"),
                       ("exit", "import pytest\n    pytest.exit('done here')"),
                       ("memory", "hog = []\n    while True:\n        hog.append(np.ones(10**6))")):
        box.write("exercises/relu.py", box.read("exercises/relu.py").split("\n# -- attack --")[0])
        stub = box.read("exercises/relu.py")
        box.edit("relu", "    # Your code here: replace the raise below.", f"    {code}  # -- attack --")
        outputs[name] = box.kata("--no-train", env={"KATA_MEMORY_MB": "600"})
        box.write("exercises/relu.py", stub)
    return outputs


@uses("the_run_ended_by_the_learners_code")
@pytest.mark.parametrize("kind, says", [
    ("keyboard_interrupt", "Stage 2 (ReLU): stopped while testing relu(): the code raised KeyboardInterrupt (what "
                           "Ctrl-C raises), which ends the whole test run. Remove that raise: a kata function returns "
                           "its result.\n"),
    ("exit", "Stage 2 (ReLU): stopped while testing relu(): the code called pytest.exit() (done here), which ends the "
             "whole test run. Remove that call: a kata function returns its result.\n"),
    # Out of memory, each test fails with its MemoryError, or pytest itself breaks down while it reports one
    # (the memory is still taken): which one depends on the few MB left, so either says so.
    ("memory", ("Stage 2 (ReLU): stopped while testing relu(): the test process ran out of memory (its limit is 600 "
                "MB, KATA_MEMORY_MB). The tests use small arrays: does relu() build something much bigger, or keep "
                "every array it makes?\n",
                "in relu: MemoryError")),
])
def test_code_that_ends_the_test_run_is_named_with_what_it_did(run, kind, says):
    _, outputs = run
    done = outputs[kind]
    assert done.returncode == 1 and done.stderr == "", done.stderr
    assert any(text in done.stdout for text in ((says,) if isinstance(says, str) else says)), done.stdout
    assert "Next: fix relu() in exercises/relu.py" in done.stdout
    assert kind == "keyboard_interrupt" or "KeyboardInterrupt" not in done.stdout


def test_pytest_breaking_down_out_of_memory_is_named_for_the_function_under_test():
    from checker.results import StageResult
    from checker.runner import _EventLog

    stage = all_stages()[1]
    events = _EventLog()
    for event in ({"event": "collected", "files": {stage.tests: ["test_relu_a"]}},
                  {"event": "start", "file": stage.tests, "test": "test_relu_a"},
                  {"event": "interrupted", "kind": "internal_error", "message": "MemoryError"},
                  {"event": "finished", "exitstatus": 3}):
        events.add(event)
    result = StageResult(stage)
    events.fill(result, 3, 30)
    assert result.problem_task == "relu"
    assert result.problem.startswith("stopped while testing relu(): the test process ran out of memory (its limit is ")


def test_a_time_limit_after_running_out_of_memory_blames_what_ran_out():
    from checker.results import StageResult
    from checker.runner import _EventLog

    stage = next(s for s in all_stages() if s.module == "conv")
    file = stage.tests
    events = _EventLog()
    for event in ({"event": "collected", "files": {file: ["test_conv2d_forward_a", "test_conv2d_backward_b"]}},
                  {"event": "start", "file": file, "test": "test_conv2d_forward_a"},
                  {"event": "result", "file": file, "test": "test_conv2d_forward_a", "task": "conv2d_forward",
                   "outcome": "failed", "kind": "error", "message": "exercises/conv.py line 9 in _bomb: MemoryError"},
                  {"event": "start", "file": file, "test": "test_conv2d_backward_b"}):
        events.add(event)
    events.timed_out = file
    result = StageResult(stage)
    events.fill(result, -9, 30)
    assert result.problem_task == "conv2d_forward"
    assert result.problem == (
        "stopped after 30 s while testing conv2d_backward(), after conv2d_forward() ran out of memory (MemoryError): "
        "the memory it took was not given back, so what came after it crawled. Fix conv2d_forward() first: the tests "
        "use small arrays; is something much bigger being built?")


# 4. Advice that is true -------------------------------------------------------------------------

@pytest.mark.parametrize("options, cause", [
    (["--lr", "1e-300"], "The likely cause is a learning rate too small to move the weights (--lr 1e-300): the "
                         "training loss went from "),
    (["--dropout", "0.99999999"], "The likely cause is --dropout 0.99999999: "),
    (["--l2", "1e300"], "The likely cause is --l2 1e+300 with --lr 0.8: the penalty's step multiplies every weight by "
                        "1 - lr * l2 = -8e+299 at each update, so the weights grow until they overflow; try --l2 "
                        "0.0001"),
    (["--l2", "1"], "The likely cause is --l2 1, a penalty so heavy that it pulls every weight towards 0 faster than "
                    "the data can move it; try --l2 0.0001."),
    (["--lr", "1000"], "a learning rate too high for this network (--lr 1000); try --lr 0.8"),
])
def test_a_run_that_fails_is_told_the_cause_from_what_was_set(options, cause, monkeypatch, tmp_path, dataset):
    from checker.errors import KataError
    from training_helpers import run_command, use_tiny_dataset

    use_tiny_dataset(monkeypatch, dataset)
    with pytest.raises(KataError) as error:
        run_command("train", "--solutions", "--out", str(tmp_path), "--epochs", "2", "--hidden", "16", *options)
    message = str(error.value)
    assert cause in message, message
    if options[0] != "--lr":
        assert "learning rate too high" not in message and "too small" not in message, message


def test_did_not_learn_names_dropout_penalty_or_a_loss_that_did_not_move():
    from checker import training

    history = training.History(iterations_per_epoch=2, batch_loss=[2.3, 2.31, 2.3, 2.3])
    history.epochs.append(training.EpochRow(1, 4, 2.3, 0.1, 2.3, 0.1, 1.0))
    said = lambda **options: training.did_not_learn(history, training.TrainConfig(**options))  # noqa: E731
    assert "--dropout 0.95: it drops 95% of the hidden units" in said(dropout=0.95)
    assert "--l2 0.5, a penalty so heavy" in said(l2=0.5)
    assert "too small to move the weights (--lr 1e-05): the training loss went from 2.3 to 2.3; try --lr 0.001 " \
           "(the default with --optimizer adam)" in said(lr=1e-5, optimizer="adam")
    assert "a learning rate too high for this network (--lr 0.8)" in said()  # the default lr, and nothing moved


KILLS_KATA = '''\
import os as _os, signal as _signal, time as _time
if _os.environ.get("KATA_IMPL"):  # in the test process: a daemon, then SIGKILL to the kata command
    if _os.fork() == 0:
        _os.setsid()
        if _os.fork() == 0:
            with open({log!r}, "a") as _f:
                _f.write(f"{{_os.getpid()}}\\n")
            _time.sleep(300)
            _os._exit(0)
        _os._exit(0)
    _time.sleep(0.5)
    _os.kill(_os.getppid(), _signal.SIGKILL)
'''


@scenario
def code_that_kills_kata(box):
    from test_hostile import alive

    box.solve("one_hot")
    box.edit("one_hot", "import numpy as np", "import numpy as np\n" + KILLS_KATA.format(log=str(box.path / "daemons.txt")))
    done = box.kata("--no-train")
    import time

    time.sleep(0.5)
    pids = [int(line) for line in box.read("daemons.txt").split()]
    survivors = [pid for pid in pids if alive(pid)]
    for pid in survivors:  # never leave them running, whatever the test says
        os.kill(pid, 9)
    return done, pids, survivors


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the supervisor needs Linux's prctl()")
@uses("code_that_kills_kata")
def test_a_daemon_outlives_no_kata_command_killed_with_sigkill(run):
    _, (done, pids, survivors) = run
    assert done.returncode == 128 + 9
    assert done.stderr.endswith("Stopped: the kata command was killed (SIGKILL); the processes it had started are "
                                "ended. If your code kills processes (os.kill), remove that call: a kata function "
                                "returns its result.\n"), done.stderr
    assert pids and survivors == []


# The process that judges the verdicts ------------------------------------------------------------------

FORGING_SITECUSTOMIZE = '''\
import importlib.abc, sys


class Forge(importlib.abc.MetaPathFinder):  # every stage result says "passed"
    def find_spec(self, name, path=None, target=None):
        if name != "checker.results":
            return None
        for finder in sys.meta_path:
            spec = None if finder is self else getattr(finder, "find_spec", lambda *a: None)(name, path, target)
            if spec is not None:
                break
        else:
            return None
        real = spec.loader.exec_module

        def exec_module(module):
            real(module)
            module.StageResult.passed = property(lambda self: True)

        spec.loader.exec_module = exec_module
        return spec


sys.meta_path.insert(0, Forge())
'''


def test_a_sitecustomize_on_pythonpath_does_not_reach_the_kata_command_that_judges(tmp_path):
    """The `kata` script installed from this very clone runs without -I; with PYTHONPATH=. a root
    sitecustomize.py starts in it. The command starts again isolated before it imports its checker."""
    box = Sandbox(tmp_path)
    box.write("sitecustomize.py", FORGING_SITECUSTOMIZE)
    as_the_script = [sys.executable, "-c", "import sys; from checker.cli import main; sys.exit(main())"]
    for args in (["--no-train"], ["grade", "1"], ["status", "--json"]):
        done = subprocess.run(as_the_script + args, cwd=box.path, env=box.env(PYTHONPATH=str(box.path)), text=True,
                              capture_output=True, stdin=subprocess.DEVNULL, timeout=180)
        assert done.returncode == 1, (args, done.stdout[-600:], done.stderr[-600:])
        assert "All 14 stages pass" not in done.stdout and "passes:" not in done.stdout, (args, done.stdout[-600:])
        if args[0] == "status":
            assert json.loads(done.stdout)["stages_passed"] == 0


def test_kata_check_and_grade_refuse_to_run_with_a_changed_checker(tmp_path):
    box = Sandbox(tmp_path)
    box.solve("one_hot")
    results = box.path / "checker" / "results.py"
    results.write_text(results.read_text() + "\n# changed\n")
    for args in (("check", "1"), ("grade", "1"), ("check",)):
        done = box.kata(*args)
        assert (done.returncode, done.stdout) == (1, ""), (args, done.stdout)
        assert done.stderr == ("Error: checker/results.py differs from the kata's copy (the kata's tests, or the code "
                               "that runs and judges them), so no stage can count as passed and none was run. "
                               "Restore it with: git checkout -- checker/results.py\n"), done.stderr
