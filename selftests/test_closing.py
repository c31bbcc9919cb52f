"""The end of the curriculum as a learner meets it with `kata`, in a sandbox, as a subprocess.

The first time stages 13 and 14 pass, kata trains the CNN (the real kata train on the real MNIST,
linked into the sandbox). With a loop maxpool (selftests/loop_versions.py, correct and slow) the
run is far over 10 minutes on any machine: a note naming maxpool, exit 0, remembered until exercises/pool.py
changes. No time is asserted: the numbers in the lines are left open. Then the status once a CNN run
of the learner's code exists, and the stage-13 note.
"""

from __future__ import annotations

import json
import os
import re

from checker_sandbox import Scenarios

from checker import cli, closing
from checker.status_text import CONV_BEFORE_THE_CNN
from checker.project import ROOT
from checker.stages import all_stages, find_stage
from loop_versions import LOOP_VERSIONS
from mutants import swap_function

scenario = Scenarios(timeout=900)
started_scenarios, run = scenario.fixtures()
uses = scenario.uses

STAGES = len(all_stages())
KATA_TIMEOUT = 400  # fourteen suites, MNIST loaded and a batch timed, on a shared machine
NUMBER = r"[\d.,]+(?:e-?\d+)?"
DURATION = rf"{NUMBER} (?:minutes|hours)"  # of the run with a loop maxpool: over 10 minutes on any machine


def learner_run(box, name: str, config: dict, accuracy: float, plots=(), mtime: int = 0) -> None:
    """runs/<name> of the learner's code, as kata train leaves it (config.json and summary.json)."""
    run_dir = box.path / "runs" / name
    run_dir.mkdir(parents=True)
    (run_dir / "config.json").write_text(json.dumps({"model": "mlp", "l2": 0.0, "dropout": 0.0, "optimizer": "sgd",
                                                     "depth": 1, **config}))
    (run_dir / "summary.json").write_text(json.dumps({
        "impl": "exercises", "test_accuracy": accuracy, "validation_accuracy": accuracy,
        "run_dir": str(run_dir), "plots": list(plots)}))
    for plot in plots:
        (run_dir / plot).write_bytes(b"")
    os.utime(run_dir / "summary.json", (mtime, mtime))  # the newest by modification time is the last run


def every_stage_solved(box) -> None:
    box.solve(*(stage.id for stage in all_stages()))
    learner_run(box, "20250101-100000-exercises", {}, 0.981, ["loss.png"], mtime=1_700_000_000)  # Part I trained


# A loop maxpool: the first CNN training is too long ---------------------------------------------


def every_stage_solved_with_a_loop_maxpool(box):
    """Every stage passes, maxpool as a loop version (slow), and MNIST at hand for training."""
    every_stage_solved(box)
    for version in LOOP_VERSIONS["pool"]:
        swap_function(box.path / "exercises", version)
    (box.path / "data").symlink_to(ROOT / "data", target_is_directory=True)


@scenario
def cnn_too_long(box):
    every_stage_solved_with_a_loop_maxpool(box)
    first = box.kata(timeout=KATA_TIMEOUT)
    again = box.kata(timeout=KATA_TIMEOUT)
    pool = box.path / find_stage("pool").exercise
    pool.write_text(pool.read_text() + "\n# faster tomorrow\n")
    changed = box.kata(timeout=KATA_TIMEOUT)
    train = box.kata("train", "--model", "cnn", timeout=KATA_TIMEOUT)
    return first, again, changed, train


TIMED = re.compile(rf"One batch of 64 takes about {NUMBER} s with your functions \(forward and backward"
                   rf"(?:, timed on 4 images)?\), of which conv2d {NUMBER} s and maxpool {NUMBER} s: this run should "
                   rf"take about {DURATION}\.\n")
MAXPOOL_ADVICE = (rf"Your maxpool makes it long: {NUMBER} s of the {NUMBER} s a batch takes \(\d+%\), {NUMBER} times "
                  rf"as long as your conv2d; with a fast maxpool the run would (?:take about {NUMBER} (?:s|minutes)|still "
                  rf"take about {NUMBER} (?:minutes|hours), and kata will time your functions again then)\. "
                  r"A loop version is right, but every step of its loops is a Python step\. For maxpool, the "
                  r"reshape or window-view idea at the top of exercises/pool\.py \(kata hint pool\) pools a whole "
                  r"batch at once\.")


@uses("cnn_too_long")
def test_a_first_cnn_training_too_long_is_a_note_naming_maxpool_and_kata_exits_0(run):
    _, (first, _, _, _) = run
    assert (first.returncode, first.stderr) == (0, "")  # every stage passes: no "Error:"
    assert f"] {STAGES}/{STAGES} stages\n" in first.stdout
    note = first.stdout.split("\nStages 13 and 14 pass: ", 1)[1]
    assert re.fullmatch(
        r"training your CNN on MNIST \(kata train --model cnn; kata --no-train skips this\)\.\n" + TIMED.pattern
        + rf"\nNote: your CNN is not trained: with your functions the run would take about {DURATION}, and kata "
        rf"starts runs over 10 minutes only when asked to\. {MAXPOOL_ADVICE}\n"
        r"Your stages all pass\. To train it anyway: kata train --model cnn --yes  \(kata times your functions "
        r"again when exercises/conv\.py or exercises/pool\.py changes\)\n", note), note
    assert "kata hint conv" not in note and "add --yes" not in note


def test_the_command_the_note_names_is_one_kata_accepts():
    args = cli.parse_args(["train", "--model", "cnn", "--yes"])
    assert (args.command, args.model, args.yes) == ("train", "cnn", True)


@uses("cnn_too_long")
def test_then_kata_reminds_in_one_line_without_timing_again(run):
    _, (_, again, _, _) = run
    assert (again.returncode, again.stderr) == (0, "")
    assert re.search(rf"\n\nNote: your CNN is not trained yet: with your maxpool it would take about {DURATION} "
                     r"\(kata hint pool to speed it up; to train anyway: kata train --model cnn --yes\)\.\n\Z",
                     again.stdout), again.stdout[-600:]
    assert "One batch of" not in again.stdout and "training your CNN" not in again.stdout


@uses("cnn_too_long")
def test_a_changed_pool_py_is_timed_again(run):
    _, (_, _, changed, _) = run
    assert (changed.returncode, changed.stderr) == (0, "")
    assert "\nStages 13 and 14 pass: training your CNN on MNIST" in changed.stdout
    assert TIMED.search(changed.stdout) and "Note: your CNN is not trained: " in changed.stdout


@uses("cnn_too_long")
def test_kata_train_itself_still_stops_with_an_error_and_exit_1(run):
    _, (_, _, _, train) = run
    assert train.returncode == 1
    assert TIMED.fullmatch(train.stdout), train.stdout
    assert re.fullmatch(rf"Error: this run would take about {DURATION} with your functions, so it did not "
                        rf"start\. {MAXPOOL_ADVICE} To train anyway, add --yes\.\n", train.stderr), train.stderr


@scenario
def cnn_declined_on_a_terminal(box):
    every_stage_solved_with_a_loop_maxpool(box)
    asked = box.in_terminal(answer="n\n", env={"NO_COLOR": "1"}, timeout=KATA_TIMEOUT)
    return asked, box.in_terminal(env={"NO_COLOR": "1"}, timeout=KATA_TIMEOUT)


@uses("cnn_declined_on_a_terminal")
def test_on_a_terminal_the_learner_may_decline_and_kata_remembers_it(run):
    _, ((code, output), (again_code, again)) = run
    assert code == 0 and "Error" not in output
    assert re.search(rf"\nTrain anyway, for about {DURATION}\? \[y/N\] ", output), output[-1500:]
    # The answer typed was echoed before the question (it was typed ahead), so the note follows the question.
    assert re.search(rf"\[y/N\] \nNote: your CNN is not trained: you chose not to start a run of about {DURATION}\. "
                     r"Your stages all pass\. When you want it: kata train --model cnn \(--yes starts it without "
                     r"asking\)\.\n\Z", output), output[-1500:]
    assert again_code == 0 and "Train anyway" not in again and "One batch of" not in again
    assert again.rstrip().endswith("(kata hint pool to speed it up; to train anyway: kata train --model cnn --yes).")


# A CNN run exists: the status closes the curriculum ---------------------------------------------


@scenario
def cnn_trained(box):
    every_stage_solved(box)
    learner_run(box, "20250102-100000-exercises", {"model": "cnn"}, 0.9923, ["loss.png", closing.FIXED_FILE],
                mtime=1_700_000_100)
    return box.kata()


@uses("cnn_trained")
def test_once_the_cnn_is_trained_the_status_shows_the_three_results_and_what_else_there_is(run):
    _, done = run
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout.endswith(
        f"] {STAGES}/{STAGES} stages\n\n"
        f"All {STAGES} stages pass: your network is complete.\n\n"
        "Last training run: 99.23% test accuracy on MNIST, in runs/20250102-100000-exercises\n"
        "  plots: loss.png, cnn_fixes.png\n\n"
        "Your three networks, on the same 10,000 test digits:\n"
        "  Part I MLP            98.10%  (20250101-100000-exercises)\n"
        f"  best Part II recipe   not trained yet: {closing.PART_TWO_RECIPE}\n"
        "  CNN                   99.23%  (20250102-100000-exercises)\n"
        "  the digits your CNN reads and your MLP got wrong: runs/20250102-100000-exercises/cnn_fixes.png\n\n"
        "Next:\n"
        "  kata report --open               the newest run's web page: its figures, and a canvas to draw on\n"
        "  kata predict IMAGE.png           read a digit you wrote with your newest network\n"
        "  kata experiment optimizers       SGD, momentum and Adam compared\n"
        "  kata experiment depth            1 to 8 hidden layers, with and without batch norm\n"
        "  kata experiment regularization   L2 and dropout against overfitting\n"
        "  kata train --help                train again: every option, for either model\n"), done.stdout
    assert "--model cnn" not in done.stdout and "training your CNN" not in done.stdout


def test_the_part_two_recipe_offered_is_the_one_docs_results_recommends():
    results = (ROOT / "docs" / "results.md").read_text(encoding="utf-8")
    recipe = results.split("### The recommended Part II recipe", 1)[1]
    assert recipe.lstrip().startswith(f"```bash\n{closing.PART_TWO_RECIPE}\n```")
    assert closing.comparison({"Part I MLP": None, "best Part II recipe": None, "CNN": None}) == [
        "  Part I MLP            not trained yet: kata train",
        f"  best Part II recipe   not trained yet: {closing.PART_TWO_RECIPE}",
        "  CNN                   not trained yet: kata train --model cnn"]


# Stage 13 passes: a word on its speed, before the CNN needs it ---------------------------------


@scenario
def stage_13_passes(box):
    box.solve(*(stage.id for stage in all_stages() if stage.number <= find_stage("conv").number))
    return box.kata("--no-train")


@uses("stage_13_passes")
def test_when_stage_13_first_passes_the_report_says_the_cnn_will_need_a_fast_conv2d(run):
    _, done = run
    assert (done.returncode, done.stderr) == (1, "")
    assert done.stdout.startswith(f"Stage 13 (Convolution) passed! Stage 14 (Max pooling) is unlocked.\n\n"
                                  f"{CONV_BEFORE_THE_CNN}\n\nPart I: the core\n")


def test_the_top_level_help_shows_no_train(capsys):
    assert cli.main(["--help"]) == 0
    assert ("  kata --no-train       the same, without the training that starts the first time Part I\n"
            "                        (or Part III) passes; kata status --help has the report's options\n"
            in capsys.readouterr().out)


def test_a_run_with_any_part_two_option_is_not_the_part_one_mlp():
    from checker.closing import uses_part_two

    assert not uses_part_two({"model": "mlp", "hidden": 384, "depth": 1, "optimizer": "sgd"})
    for option in ({"l2": 1e-4}, {"dropout": 0.2}, {"optimizer": "adam"}, {"depth": 2}, {"batchnorm": True}):
        assert uses_part_two({"model": "mlp", "optimizer": "sgd", **option}), option
