"""The `kata` command, driven as a learner drives it: in a temporary copy of the kata, as a subprocess.

A scenario runs `kata` once or a few times in its own copy and returns the outputs; a test that
declares `@uses("scenario")` checks them. Each scenario costs a second or two, so the scenarios of
the selected tests all start at once, on a few threads, and the tests only wait for their own.
Tests whose timing matters (Ctrl-C, watch) run on their own.
"""

from __future__ import annotations

import json
import os
import re
import signal
import threading
import time
from pathlib import Path

import pytest
from checker_sandbox import FAKE_TRAIN, FAKE_TRAIN_FILE, Sandbox, Scenarios, plain

from checker import cli, runner
from checker.progress import Progress
from checker.runs import last_learner_run
from checker.status_text import all_passed
from checker.results import RunResult, StageResult, TestResult
from checker.commands.solution import solution_code
from checker.project import ROOT
from checker.stages import all_stages, find_stage, part_name, part_title, stages_of_part
from checker.stubgen import stub_for
from checker.term import Style

scenario = Scenarios(timeout=120)
started_scenarios, run = scenario.fixtures()
uses = scenario.uses


def def_line(box: Sandbox, stage: str, function: str) -> int:
    lines = box.read(find_stage(stage).exercise).splitlines()
    return next(i for i, line in enumerate(lines, 1) if line.startswith(f"def {function}("))


def line_of(box: Sandbox, stage: str, text: str) -> int:
    lines = box.read(find_stage(stage).exercise).splitlines()
    return next(i for i, line in enumerate(lines, 1) if text in line)


def count_tests(stage: str) -> int:
    """The number of tests of a stage whose suite has no parametrized tests (one_hot, relu)."""
    return len(re.findall(r"^def test_", (ROOT / find_stage(stage).tests).read_text(), re.M))


LOCKED_AFTER_1 = """\
   2  ReLU                locked
   3  Softmax             locked
   4  Cross-entropy loss  locked
   5  Backpropagation     locked
   6  He initialisation   locked
   7  Gradient descent    locked
"""


def later_parts(state: str = "locked") -> str:
    """The report's lines for the stages after Part I, every one in `state`, under their parts' headings."""
    width = max(len(s.title) for s in all_stages())
    text, part = "", 1
    for stage in all_stages():
        if stage.part == 1:
            continue
        if stage.part != part:
            text += f"\n{part_title(stage.part)}\n"
            part = stage.part
        text += f"  {stage.number:>2}  {stage.title:<{width}}  {state}\n"
    return text


STAGES = len(all_stages())
LATER_STAGE_NAMES = ", ".join(f"{s.number} {s.id}" for s in all_stages() if s.part > 1)  # 8 regularization, ...

MORE = """\
      kata hint {n}    hint 1 of 3
      kata check {n}   the full test output
      kata watch     re-run this report on every save
"""


# The report ----------------------------------------------------------------------------------


@scenario
def untouched(box):
    box.write(".kata/progress.json", '{"version": 1, "first_passed": ')  # corrupt: it is only a cache
    return box.kata()


@uses("untouched")
def test_untouched_stubs_make_stage_1_current_and_a_corrupt_progress_file_is_rebuilt(run):
    box, done = run
    assert (done.returncode, done.stderr) == (1, "")
    assert json.loads(box.read(".kata/progress.json"))["version"] == 1  # the corrupt progress file, rebuilt
    assert done.stdout == (
        "Part I: the core\n"
        ">  1  One-hot encoding    not started\n"
        + LOCKED_AFTER_1 + later_parts()
        + f"\n[{'.' * 4 * STAGES}] 0/{STAGES} stages\n\n"
        "Stage 1 (One-hot encoding): Turn class labels into the target vectors a softmax output is compared with.\n\n"
        f"Next: open exercises/one_hot.py:{def_line(box, 'one_hot', 'one_hot')} and write one_hot(), then run: kata\n"
        + MORE.format(n=1)
    )


@scenario
def three_stages_then_a_regression(box):
    box.solve("one_hot", "relu", "softmax")
    first = box.kata()
    box.edit("relu", "return dout * (z > 0)", "return dout")
    return first, box.kata()


@uses("three_stages_then_a_regression")
def test_three_solved_stages_pass_and_unlock_stage_4(run):
    box, (done, _) = run
    assert (done.returncode, done.stderr) == (1, "")
    assert done.stdout == (
        "Stage 3 (Softmax) passed! Stage 4 (Cross-entropy loss) is unlocked.\n\n"
        "Part I: the core\n"
        "   1  One-hot encoding    passed\n"
        "   2  ReLU                passed\n"
        "   3  Softmax             passed\n"
        ">  4  Cross-entropy loss  not started\n"
        "     - cross_entropy()                   not started\n"
        "     - softmax_cross_entropy_backward()  not started\n"
        "   5  Backpropagation     locked\n"
        "   6  He initialisation   locked\n"
        "   7  Gradient descent    locked\n"
        + later_parts()
        + f"\n[{'#' * 12}{'.' * (4 * STAGES - 12)}] 3/{STAGES} stages\n\n"
        "Stage 4 (Cross-entropy loss): Measure how wrong the predicted probabilities are, and get the gradient "
        "of softmax + loss.\n\n"
        f"Next: open exercises/cross_entropy.py:{def_line(box, 'cross_entropy', 'cross_entropy')} and write "
        "cross_entropy(), then run: kata\n"
        + MORE.format(n=4)
    )


@uses("three_stages_then_a_regression")
def test_breaking_a_passed_stage_is_reported_as_a_regression_and_locks_the_rest_again(run):
    box, (_, done) = run
    assert (done.returncode, done.stderr) == (1, "")
    out = done.stdout
    assert out.startswith("Part I: the core\n   1  One-hot encoding    passed\n!  2  ReLU                broken: ")
    assert re.search(r"^     - relu\(\)           done\n     - relu_backward\(\)  \d+ of \d+ tests passing\n"
                     r"   3  Softmax             locked again \(passed before\)\n"
                     r"   4  Cross-entropy loss  locked\n", out, re.M)
    assert f"\n[####{'.' * (4 * STAGES - 4)}] 1/{STAGES} stages\n" in out
    assert ("\nStage 2 (ReLU) passed before, but fails now: a change broke it. "
            "Stage 3 is locked until it passes again.\n\nStage 2 (ReLU): test_relu_backward_") in out
    assert f"\nNext: fix relu_backward() in exercises/relu.py:{def_line(box, 'relu', 'relu_backward')}, " \
           "then run: kata\n" in out
    assert "Traceback" not in out


def test_first_unpassed_stage_is_what_kata_train_asks_before_training(monkeypatch):
    results = {"passed": [], "stopped at 4": []}
    for stage in all_stages():
        results["passed"].append(StageResult(stage, ran=True, expected=["test_a"],
                                             tests=[TestResult("test_a", None, "passed")]))
        outcome = "passed" if stage.number < 4 else "failed"
        results["stopped at 4"].append(StageResult(stage, ran=stage.number <= 4, expected=["test_a"],
                                                   tests=[TestResult("test_a", None, outcome)]))
    for name, expected in (("passed", None), ("stopped at 4", find_stage("cross_entropy"))):
        monkeypatch.setattr(runner, "run_stages", lambda stages, **kw: RunResult(results[name]))
        assert runner.first_unpassed_stage() == expected


def test_kata_train_asks_only_for_part_one(monkeypatch):
    from checker import learner_code

    asked = []
    monkeypatch.setattr(runner, "first_unpassed_stage", lambda **kw: asked.append(kw.get("stages")) or None)
    learner_code.require_passing_stages()
    assert [tuple(stages) for stages in asked] == [stages_of_part(1)]


# The learner's code misbehaves: one clear line, and the checker goes on ------------------------


@scenario
def syntax_error(box):
    box.solve("one_hot")
    box.edit("one_hot", "labels = np.asarray(labels)", "labels = np.asarray(labels")
    return box.kata()


@uses("syntax_error")
def test_a_syntax_error_is_one_line_with_the_place_to_fix(run):
    box, done = run
    line = line_of(box, "one_hot", "labels = np.asarray(labels")
    assert (done.returncode, done.stderr) == (1, "")
    assert done.stdout.startswith(f"Part I: the core\n>  1  One-hot encoding    0 of {count_tests('one_hot')} "
                                  "tests passing\n")
    assert (f"\nStage 1 (One-hot encoding): exercises/one_hot.py line {line}: SyntaxError: '(' was never closed. "
            f"Fix the file, then run the tests again.\n\nNext: fix exercises/one_hot.py:{line}, then run: kata\n"
            in done.stdout)


@scenario
def endless_loop(box):
    box.edit("one_hot", "# Your code here: replace the raise below.", "while True:\n        pass")
    started = time.monotonic()
    done = box.kata(env={"KATA_TIMEOUT": "1.5"})
    return done, time.monotonic() - started


@uses("endless_loop")
def test_an_endless_loop_is_stopped_after_the_time_limit_naming_the_function(run):
    box, (done, seconds) = run
    assert (done.returncode, done.stderr) == (1, "")
    assert done.stdout.startswith("Part I: the core\n>  1  One-hot encoding    0 of 13 tests passing, then stopped\n".replace(
        "13", str(count_tests("one_hot"))))
    assert ("\nStage 1 (One-hot encoding): stopped after 1.5 s: is there an endless loop in one_hot()?\n\n"
            f"Next: fix one_hot() in exercises/one_hot.py:{def_line(box, 'one_hot', 'one_hot')}, then run: kata\n"
            in done.stdout)
    assert seconds < 15


@scenario
def exit_at_import(box):
    box.edit("one_hot", "import numpy as np", "import sys\nimport numpy as np\nsys.exit(0)")
    return box.kata()


@uses("exit_at_import")
def test_sys_exit_while_importing_the_learners_file(run):
    _, done = run
    assert (done.returncode, done.stderr) == (1, "")
    assert ("\nStage 1 (One-hot encoding): exercises/one_hot.py called sys.exit() while being imported. "
            "Remove that call.\n\nNext: fix exercises/one_hot.py, then run: kata\n") in done.stdout


@scenario
def exit_in_a_function(box):
    box.solve("one_hot", "relu")
    box.edit("relu", "return np.maximum(z, 0)", "import sys\n    sys.exit(1)")
    return box.kata()


@uses("exit_in_a_function")
def test_sys_exit_in_a_function_fails_its_tests_with_the_line(run):
    box, done = run
    line = line_of(box, "relu", "sys.exit(1)")
    assert (done.returncode, done.stderr) == (1, "")
    assert re.search(r"^> 2  ReLU                \d+ of \d+ tests passing\n"
                     r"     - relu\(\)           not started|\d+ of \d+ tests passing\n", done.stdout, re.M)
    assert (f"  exercises/relu.py line {line} in relu: called sys.exit(). Remove that call: a kata function "
            f"returns its result.\n\nNext: fix relu() in exercises/relu.py:{line}, then run: kata\n") in done.stdout


@scenario
def hard_exit(box):
    box.solve("one_hot")
    box.edit("relu", "# Your code here: replace the raise below.", "import os\n    os._exit(3)")
    return box.kata()


@uses("hard_exit")
def test_os_exit_ends_the_test_process_and_is_reported_for_the_running_function(run):
    _, done = run
    assert (done.returncode, done.stderr) == (1, "")
    assert ("\nStage 2 (ReLU): stopped abruptly while testing relu(): the test process ended with exit code 3. "
            "Does the code call os._exit()?\n") in done.stdout
    assert "     - relu()           crashed\n" in done.stdout


@scenario
def print_flood(box):
    box.edit("one_hot", "# Your code here: replace the raise below.", "while True:\n        print('flood ' * 1000)")
    return box.kata(), box.kata("check", "1")


@uses("print_flood")
def test_a_print_flood_is_one_line_in_the_report_and_cut_short_in_check(run):
    box, (done, check) = run
    assert (done.returncode, done.stderr) == (1, "")
    line = line_of(box, "one_hot", "print('flood")
    assert (f" failed:\n  exercises/one_hot.py line {line} in one_hot: printed far too much output. Remove the "
            f"print() calls in loops.\n\nNext: fix one_hot() in exercises/one_hot.py:{line}, then run: kata\n" in done.stdout)
    assert (check.returncode, check.stderr) == (1, "")
    assert len(check.stdout) < 250_000
    assert "\n... output cut after 200 kB (does the code print in a loop?) ...\n" in check.stdout
    assert check.stdout.endswith(f"Stage 1 (One-hot encoding): 0 of {count_tests('one_hot')} tests passing; "
                                 f"still to do: one_hot().\nNext: fix one_hot() in exercises/one_hot.py:{line}, then run: kata\n"
                                 "Stuck? kata hint 1\n")


@scenario
def memory_hog(box):
    box.edit("one_hot", "# Your code here: replace the raise below.", "return np.ones((20_000, 20_000))")
    return box.kata()


@uses("memory_hog")
def test_memory_is_limited_so_a_memory_hog_fails_at_once(run):
    box, done = run
    assert (done.returncode, done.stderr) == (1, "")
    line = line_of(box, "one_hot", "np.ones((20_000")
    # 3.2 GB: more than the 2 GB the tests may use
    assert (f" failed:\n  exercises/one_hot.py line {line} in one_hot: MemoryError: Unable to "
            "allocate 2.98 GiB for an array with shape (20000, 20000) and data type float64 (the tests use small "
            "arrays: is something much bigger being built?)\n") in done.stdout


# Other commands ------------------------------------------------------------------------------


@pytest.mark.parametrize("content", [
    "", "[1, 2]", "null", '{"version": 99, "first_passed": {"relu": "2025-01-01T10:00:00"}}',
    '{"version": 1, "first_passed": {"relu": 5, "no_such_stage": "x"},'
    ' "hints_shown": {"relu": "two", "softmax": true}}',
])
def test_progress_file_in_any_state_loads_as_a_clean_cache(tmp_path, content):
    (tmp_path / ".kata").mkdir()
    (tmp_path / ".kata" / "progress.json").write_text(content)
    progress = Progress.load(tmp_path)
    assert (progress.first_passed, progress.hints_shown, progress.completed) == ({}, {}, None)
    progress.save()
    assert Progress.load(tmp_path).first_passed == {}


@scenario
def check_stages(box):
    box.solve("one_hot")
    return box.kata("check", "one_hot"), box.kata("check")


@uses("check_stages")
def test_check_shows_pytest_output_then_the_verdict_and_what_unlocked(run):
    box, (done, _) = run
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout.startswith("Stage 1 (One-hot encoding): tests/test_one_hot.py on exercises/one_hot.py\n")
    assert "tests/test_one_hot.py::test_one_hot_worked_example PASSED" in done.stdout
    n = count_tests("one_hot")
    assert done.stdout.endswith(
        f"\nStage 1 (One-hot encoding) passed: {n} of {n} tests!\n"
        "Stage 2 (ReLU) is unlocked. Next: open exercises/relu.py and write relu(), then run: kata\n")


def test_check_at_the_end_of_part_one_sends_the_learner_to_train_and_offers_part_two():
    from checker.commands.check import verdict

    def passed(stage):
        return StageResult(stage, ran=True, expected=["test_a"], tests=[TestResult("test_a", None, "passed")])

    last = stages_of_part(1)[-1]
    text = verdict(passed(last), [passed(s) for s in stages_of_part(1)[:-1]], True, Style(enabled=False))
    assert text == ("Stage 7 (Gradient descent) passed: 1 of 1 tests!\n"
                    "Part I is complete. Next: kata (it trains your network on MNIST, or says which of your "
                    "functions would make that slow). Then, optional: Part II starts with Stage 8 (L2 regularisation).")


def test_check_at_the_end_of_part_two_says_what_it_unlocked_and_at_the_end_what_kata_does_next():
    from checker.commands.check import verdict

    def passed(stage):
        return StageResult(stage, ran=True, expected=["test_a"], tests=[TestResult("test_a", None, "passed")])

    stages = all_stages()
    last_of_two = stages_of_part(2)[-1]
    text = verdict(passed(last_of_two), [passed(s) for s in stages[:last_of_two.number - 1]], True, Style(enabled=False))
    assert text == ("Stage 12 (Batch norm) passed: 1 of 1 tests!\n"
                    "Part II is complete. It unlocked kata train's options --l2, --dropout, --optimizer, --depth and "
                    "--batchnorm, and the experiments kata experiment regularization, optimizers and depth.\n"
                    "Stage 13 (Convolution) is unlocked. Next: open exercises/conv.py and write conv2d_forward(), "
                    "then run: kata")
    text = verdict(passed(stages[-1]), [passed(s) for s in stages[:-1]], True, Style(enabled=False))
    # kata trains the CNN only when its functions are fast enough: the line says so.
    assert text.endswith("Every stage passes. Next: kata (it times your conv2d and maxpool against the reference's, "
                         "then trains your CNN on MNIST and compares it with your MLPs, or says which function would "
                         "make that slow)")


@uses("check_stages")
def test_check_without_a_stage_checks_the_current_one(run):
    box, (_, done) = run
    assert (done.returncode, done.stderr) == (1, "")
    assert done.stdout.startswith("Stage 2 (ReLU): tests/test_relu.py on exercises/relu.py\n")
    assert done.stdout.endswith(
        f"\nStage 2 (ReLU): 0 of {count_tests('relu')} tests passing; still to do: relu(), relu_backward().\n"
        f"Next: open exercises/relu.py:{def_line(box, 'relu', 'relu')} and write relu(), then run: kata\n"
        "Stuck? kata hint 2\n")


@scenario
def hints_in_levels(box):
    return [box.kata("hint", "softmax"), box.kata("hint", "3"), box.kata("hint", "3", "--all"), box.kata("hint")]


@uses("hints_in_levels")
def test_hints_come_one_level_per_call(run):
    _, (first, second, everything, current) = run
    softmax = find_stage("softmax")
    assert (first.returncode, first.stderr) == (0, "")
    assert first.stdout.startswith("Stage 3 (Softmax), hint 1 of 3:\n\n  The idea: exponentiate each score")
    assert first.stdout.endswith("\nNext hint (the formula): kata hint 3    All hints: kata hint 3 --all\n")
    assert second.stdout.startswith("Stage 3 (Softmax), hint 2 of 3:\n\n  The formula: ")
    assert second.stdout.endswith("\nNext hint (the NumPy idiom): kata hint 3    All hints: kata hint 3 --all\n")
    words = " ".join(everything.stdout.split())
    assert " ".join(f"Stage 3 (Softmax), hint {i} of 3: {' '.join(hint.split())}"
                    for i, hint in enumerate(softmax.hints, 1)) in words
    assert everything.stdout.endswith("That was the last hint. Still stuck? Read the docstring in exercises/softmax.py "
                                      "again,\nand run kata check 3: every failing test explains what it expects.\n")
    assert current.stdout.startswith("Stage 1 (One-hot encoding), hint 1 of 3:\n\n  The idea: ")


@scenario
def listing(box):
    box.solve("one_hot")
    return box.kata("list")


@uses("listing")
def test_list_shows_every_stage_with_file_goal_and_state(run):
    _, done = run
    assert (done.returncode, done.stderr) == (0, "")
    lines = done.stdout.splitlines()
    assert lines[0] == "Part I: the core"
    assert lines[1] == " 1  one_hot           One-hot encoding    exercises/one_hot.py           passed"
    assert lines[2] == "    Turn class labels into the target vectors a softmax output is compared with."
    assert lines[3] == " 2  relu              ReLU                exercises/relu.py              current"
    assert lines[13] == " 7  gradient_descent  Gradient descent    exercises/gradient_descent.py  locked"
    assert lines[15:18] == ["", "Part II: going further",
                            " 8  regularization    L2 regularisation   exercises/regularization.py    locked"]
    assert lines[-1] == "Name a stage by its number or its name: kata check 3, kata hint softmax."
    headings = [line for line in lines if line.startswith("Part ")]
    assert headings == [part_title(part) for part in sorted({s.part for s in all_stages()})]


@scenario
def solutions_on_request(box):
    refused = box.kata("solution", "3")
    forced = box.kata("solution", "softmax", "--force")
    box.write(".kata/progress.json", json.dumps({"version": 1, "first_passed": {"relu": "2025-01-01T10:00:00"}}))
    passed = box.kata("solution", "relu")
    return refused, forced, passed


@uses("solutions_on_request")
def test_solution_is_refused_before_the_stage_passes(run):
    _, (refused, _, _) = run
    assert (refused.returncode, refused.stdout) == (1, "")
    assert refused.stderr == (
        "Error: Stage 3 (Softmax) does not pass yet, so its solution stays hidden. The struggle is the point: "
        "working it out is what makes it stick, and the tests and hints are there to help (kata hint 3). "
        "To look anyway: kata solution 3 --force\n")


@uses("solutions_on_request")
def test_solution_shows_the_reference_code_when_passed_or_forced(run):
    _, (_, forced, passed) = run
    assert (forced.returncode, forced.stderr) == (0, "")
    assert forced.stdout == ("Stage 3 (Softmax): the reference solution (with its docstrings: solutions/softmax.py)"
                             "\n\n" + solution_code((ROOT / "solutions/softmax.py").read_text()) + "\n")
    assert (passed.returncode, passed.stderr) == (0, "")
    assert "def relu(z):\n    return np.maximum(z, 0)\n\ndef relu_backward(dout, z):\n" in passed.stdout


def test_solution_code_is_each_signature_with_its_marked_body():
    text = ('"""Doc."""\n\ndef f(a,\n      b):  # two lines\n    """Doc."""\n    # BEGIN SOLUTION\n    return a\n'
            '    # END SOLUTION\n\n\ndef g():\n    # BEGIN SOLUTION\n    return 1\n    # END SOLUTION\n')
    assert solution_code(text) == "def f(a,\n      b):  # two lines\n    return a\n\ndef g():\n    return 1"


# Part I passed: the first training, once; then Part II, optional ---------------------------------


PART_TWO = ("Part II goes further: L2 regularisation, dropout, momentum and Adam, deep networks, batch norm (stages 8-{last}).\n"
            "It is optional: your network, kata train and kata predict are complete without it.\n").format(
    last=stages_of_part(2)[-1].number)


@scenario
def part_one_passes(box):
    box.solve(*(stage.id for stage in stages_of_part(1)))
    box.stand_in(FAKE_TRAIN_FILE, FAKE_TRAIN)
    return box.kata("--no-train"), box.kata(), box.kata()


@uses("part_one_passes")
def test_part_one_passing_without_training_unlocks_part_two_as_optional(run):
    box, (done, _, _) = run
    assert (done.returncode, done.stderr) == (1, "")
    out = done.stdout
    assert out.startswith("Stage 7 (Gradient descent) passed! Part I is complete. Stage 8 (L2 regularisation) is "
                          "unlocked: Part II, optional.\n\nPart I: the core\n   1  One-hot encoding    passed\n")
    assert ("   7  Gradient descent    passed\n\nPart II: going further\n>  8  L2 regularisation   not started\n"
            in out)
    assert f"\n[{'#' * 28}{'.' * (4 * STAGES - 28)}] 7/{STAGES} stages\n\n" in out
    assert ("\nPart I complete: your network is built. Train it on MNIST with: kata train\n" + PART_TWO + "\n"
            "Stage 8 (L2 regularisation): Penalise large weights so the network cannot simply memorise its "
            "training images.\n\n"
            f"Next: open exercises/regularization.py:{def_line(box, 'regularization', 'l2_penalty')} and write "
            "l2_penalty(), then run: kata\n") in out
    assert "fake training" not in out


@uses("part_one_passes")
def test_the_first_time_part_one_passes_the_network_is_trained_with_the_train_defaults(run):
    box, (_, done, _) = run
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout.endswith(
        f"\n[{'#' * 28}{'.' * (4 * STAGES - 28)}] 7/{STAGES} stages\n\n"
        "Part I complete: all 7 stages pass, your network is complete!\n"
        "Now it learns: training it on MNIST with your own code (the defaults of kata train; "
        "kata --no-train skips this).\n\n"
        "fake training: 6 epochs\n\n"
        "Part I complete: your network reads 98.12% of the test digits.\n" + PART_TWO +
        "Next: run kata to start Stage 8 (L2 regularisation), or stop here: your network works.\n")
    assert Progress.load(box.path).completed


@uses("part_one_passes")
def test_after_the_first_training_the_report_shows_its_accuracy_and_part_two_and_does_not_train_again(run):
    box, (_, _, done) = run
    assert (done.returncode, done.stderr) == (1, "")
    assert ("\n\nPart I complete: your network reads 98.12% of the test digits.\n" + PART_TWO + "\n"
            "Stage 8 (L2 regularisation): ") in done.stdout
    assert "fake training" not in done.stdout and "Now it learns" not in done.stdout


@scenario
def every_stage_passes(box):
    box.solve(*(stage.id for stage in all_stages()))
    box.stand_in(FAKE_TRAIN_FILE, FAKE_TRAIN)
    return box.kata("--no-train")


@uses("every_stage_passes")
def test_all_stages_passing_without_training(run):
    _, done = run
    last = all_stages()[-1]
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout.startswith(f"{last.label} passed! {part_name(last.part)} is complete.\n\n"
                                  "Part I: the core\n   1  One-hot encoding    passed\n")
    assert done.stdout.endswith(
        f"\n[{'#' * 4 * STAGES}] {STAGES}/{STAGES} stages\n\n"
        f"All {STAGES} stages pass: your network is complete.\n\n"
        "Next:\n"
        "  kata train                   train your network on MNIST\n"
        "  kata train --model cnn       train a CNN on your convolution and pooling\n"
        "  kata experiment init         He versus random initialisation\n"
        "  kata experiment optimizers   SGD, momentum and Adam compared\n"
        "  kata predict IMAGE.png       read a digit you wrote\n")


def test_after_training_the_report_shows_the_last_run(tmp_path):
    run_dir = tmp_path / "runs" / "20250102-090000-train"
    for name, impl, accuracy in [("20250101-080000-train", "exercises", 0.5),
                                 ("20250103-080000-solutions", "solutions", 0.99),
                                 ("20250102-090000-train", "exercises", 0.9812), ("broken", "exercises", "x")]:
        (tmp_path / "runs" / name).mkdir(parents=True, exist_ok=True)
        (tmp_path / "runs" / name / "summary.json").write_text(json.dumps(
            {"test_accuracy": accuracy, "impl": impl, "run_dir": str(tmp_path / "runs" / name), "plots": ["loss.png"]}))
        time.sleep(0.01)  # newest by modification time
    os.utime(tmp_path / "runs/20250101-080000-train/summary.json", (1, 1))
    assert last_learner_run(tmp_path).relative_dir(tmp_path) == "runs/20250102-090000-train"
    lines = all_passed(Style(enabled=False), tmp_path)
    assert lines[2:5] == [f"Last training run: 98.12% test accuracy on MNIST, in {run_dir}", "  plots: loss.png", ""]
    assert lines[6] == "  kata train                   train again (options: kata train --help)"


# Reset ---------------------------------------------------------------------------------------


def test_reset_backs_up_the_learners_file_then_restores_the_stub(tmp_path):
    box = Sandbox(tmp_path)
    box.edit("relu", "# Your code here: replace the raise below.", "# my attempt\n    return z * (z > 0)")
    mine = box.read("exercises/relu.py")

    refused = box.kata("reset", "relu")  # stdin is not a terminal: nobody to ask
    assert (refused.returncode, refused.stdout) == (2, "")
    assert refused.stderr == ("Error: kata reset asks before it replaces exercises/relu.py, and there is no terminal "
                              "to ask on. To reset without asking: kata reset relu --yes\n")
    assert box.read("exercises/relu.py") == mine

    done = box.kata("reset", "2", "--yes")
    assert (done.returncode, done.stderr) == (0, "")
    match = re.fullmatch(r"Saved your version to (\.kata/backups/\d{8}-\d{6}-relu\.py)\n"
                         r"Restored exercises/relu\.py: the stub of Stage 2 \(ReLU\)\.\n"
                         r"Next: open exercises/relu\.py and write relu\(\), then run: kata\n", done.stdout)
    assert match, done.stdout
    assert box.read(match[1]) == mine
    assert box.read("exercises/relu.py") == stub_for(find_stage("relu"), ROOT)

    again = box.kata("reset", "relu", "--yes")
    assert (again.returncode, again.stdout) == (
        0, "exercises/relu.py is already the untouched stub of Stage 2 (ReLU): nothing to reset.\n")
    assert len(list((tmp_path / ".kata" / "backups").iterdir())) == 1


def test_reset_on_a_terminal_asks_first(tmp_path):
    box = Sandbox(tmp_path)
    box.edit("relu", "# Your code here: replace the raise below.", "# my attempt")
    code, output = box.in_terminal("reset", "relu", answer="n\n")
    assert code == 1 and plain(output).endswith("[y/N] Nothing changed.\n")
    assert "# my attempt" in box.read("exercises/relu.py")
    code, output = box.in_terminal("reset", "relu", answer="y\n")
    assert code == 0 and "Saved your version to .kata/backups/" in plain(output)
    assert box.read("exercises/relu.py") == stub_for(find_stage("relu"), ROOT)


# Terminal, colour, usage errors, internal errors ---------------------------------------------


def test_colour_and_symbols_on_a_terminal_only_and_never_with_no_color(tmp_path):
    box = Sandbox(tmp_path)
    code, output = box.in_terminal()
    assert code == 1 and "\x1b[" in output
    assert plain(output).startswith("Part I: the core\n▶  1  One-hot encoding    not started\n·  2  ReLU")
    assert "━" in output or "─" in output
    code, output = box.in_terminal("hint", "1", env={"NO_COLOR": "1"})
    assert code == 0 and "\x1b" not in output


ALL_COMMANDS = ", ".join(cli.COMMANDS)  # every branch that adds a command would otherwise edit these lines


@pytest.mark.parametrize("args, message", [
    (["check", "99"], "Error: there is no stage '99'. The stages are: 1 one_hot, 2 relu, 3 softmax, 4 cross_entropy, "
                      f"5 backprop, 6 init, 7 gradient_descent, {LATER_STAGE_NAMES}. Name one by number or name, e.g. "
                      "kata check 3 or kata check softmax.\n"),
    (["hint", "softmaks"], "Error: there is no stage 'softmaks'. Did you mean softmax? The stages are: 1 one_hot, "
                           f"2 relu, 3 softmax, 4 cross_entropy, 5 backprop, 6 init, 7 gradient_descent, {LATER_STAGE_NAMES}. "
                           "Name one by number or name, e.g. kata check 3 or kata check softmax.\n"),
    (["reset"], "Error: the following arguments are required: STAGE. See: kata reset --help\n"),
    (["hint", "1", "2"], "Error: unrecognized arguments: 2. See: kata --help\n"),
    (["chek"], f"Error: there is no command 'chek'. Did you mean: kata check? The commands are: {ALL_COMMANDS}. "
               "See: kata --help\n"),
    (["3"], f"Error: there is no command '3'. Did you mean: kata check 3? The commands are: {ALL_COMMANDS}. "
            "See: kata --help\n"),
])
def test_usage_errors_exit_2_with_one_line(capsys, args, message):
    assert cli.main(args) == 2
    out, err = capsys.readouterr()
    assert (out, err) == ("", message)


def test_every_command_has_help_with_examples(capsys):
    assert cli.main(["--help"]) == 0
    assert "examples:\n  kata " in capsys.readouterr().out
    for command in ("status", "check", "hint", "watch", "reset", "solution", "list"):
        assert cli.main([command, "--help"]) == 0
        out = capsys.readouterr().out
        assert out.startswith(f"usage: kata {command}") and "examples:\n  kata " in out, command


def test_a_command_not_built_yet_says_so(monkeypatch, capsys):
    monkeypatch.setitem(cli.COMMANDS, "predict", ("no_such_module", "read a digit"))
    assert cli.main(["predict", "digit.png"]) == 1
    assert capsys.readouterr() == ("", "Error: kata predict is not available yet in this version of the kata. "
                                       "Update the kata (git pull), or see what there is: kata --help\n")


def test_an_internal_error_is_one_line_with_its_own_exit_code_and_the_traceback_goes_to_a_log(tmp_path):
    box = Sandbox(tmp_path)
    box.write("checker/stages.toml", "[[stage]\n")
    done = box.kata("list")
    # 70, not 1 ("a stage does not pass yet"): the classroom workflow tells a crash from progress by it
    assert (done.returncode, done.stdout) == (cli.INTERNAL_ERROR, "") and cli.INTERNAL_ERROR == 70
    assert re.fullmatch(r"Error: internal error in the kata \(not in your code\): TOMLDecodeError: .*\. "
                        r"The details are in \.kata/last-error\.log; please report them with that file\.\n",
                        done.stderr)
    assert "Traceback (most recent call last)" in box.read(".kata/last-error.log")


# Long-running: Ctrl-C and watch ----------------------------------------------------------------


def _processes_in(folder: Path) -> list[int]:
    """Processes whose working directory is `folder` (Linux), e.g. a test run left behind."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and Path(os.readlink(entry / "cwd")) == folder:
                found.append(int(entry.name))
        except OSError:
            continue
    return found


@pytest.mark.skipif(not Path("/proc/self/cwd").exists(), reason="needs /proc")
@pytest.mark.parametrize("stop, code, output", [
    (signal.SIGINT, 130, "\nStopped.\n"),  # Ctrl-C
    (signal.SIGKILL, -signal.SIGKILL, ""),  # killed outright, or the terminal closed
])
def test_stopping_the_checker_stops_its_test_process_too(tmp_path, stop, code, output):
    box = Sandbox(tmp_path)
    box.edit("one_hot", "# Your code here: replace the raise below.", "while True:\n        pass")
    process = box.start()
    deadline = time.monotonic() + 60
    while len(_processes_in(tmp_path.resolve())) < 2 and time.monotonic() < deadline:
        time.sleep(0.1)  # until kata has started its test process: a busy machine imports slowly
    time.sleep(0.5)  # into the endless loop (or on the way: the result is the same)
    process.send_signal(stop)
    assert process.communicate(timeout=30) == (output, None)  # about 1 s; a stalled shared machine took over 10
    assert process.returncode == code
    time.sleep(0.2)  # the kernel delivers the child's SIGKILL
    assert _processes_in(tmp_path.resolve()) == []


def test_watch_reruns_on_save_moves_on_and_stops_on_ctrl_c(tmp_path):
    box = Sandbox(tmp_path)
    process = box.start("watch", env={"KATA_WATCH_INTERVAL": "0.1"})
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(process.stdout), daemon=True)
    reader.start()

    def wait_for(text, count):
        deadline = time.monotonic() + 30
        while sum(text in line for line in lines) < count:
            assert time.monotonic() < deadline, "".join(lines)
            time.sleep(0.05)

    try:
        wait_for("Watching exercises/ for saved changes", 1)
        assert lines[0:2] == ["Part I: the core\n", ">  1  One-hot encoding    not started\n"]
        box.solve("one_hot")
        wait_for("Watching exercises/ for saved changes", 2)
        output = "".join(lines)
        assert "\n--- changed: exercises/one_hot.py ---\n\nStage 1 (One-hot encoding) passed! Stage 2 (ReLU) " \
               "is unlocked.\n" in output
        assert f"Next: open exercises/relu.py:{def_line(box, 'relu', 'relu')} and write relu(), then save\n" in output
        assert "kata watch" not in output
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=30)  # about 1 s; a stalled shared machine took over 10
        reader.join(timeout=5)
    assert process.returncode == 0
    assert lines[-1] == "Stopped watching.\n"


def test_watch_stops_when_part_one_first_passes_so_that_kata_trains(tmp_path):
    box = Sandbox(tmp_path)
    box.solve(*(stage.id for stage in stages_of_part(1)[:-1]))
    process = box.start("watch", env={"KATA_WATCH_INTERVAL": "0.1"})
    try:
        first = ""
        deadline = time.monotonic() + 60
        while "Watching exercises/ for saved changes" not in first:  # the first report, then solve stage 7
            assert time.monotonic() < deadline, first
            first += process.stdout.readline()
        box.solve(stages_of_part(1)[-1].id)
        output, _ = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0
    assert output.endswith("Part I passes. Stopped watching. Next: kata (it trains your network on MNIST); "
                           "then, optional, Part II.\n")


@uses("untouched", "syntax_error", "listing")
def test_run_output_never_includes_colour_when_piped(run):
    _, done = run
    assert "\x1b" not in done.stdout + done.stderr


def test_hint_text_never_breaks_inside_a_short_index():
    from checker.commands import hints

    text = "dxpad[n, c, i*s + p, j*s + q] += dout[n, f, i, j] * w[f, c, p, q] " * 6
    for line in hints.wrap(text).splitlines():
        assert line.count("[") == line.count("]"), line


def test_part_two_complete_says_what_it_unlocked():
    from checker.status_text import part_complete

    lines = part_complete(stages_of_part(3)[0], Style(enabled=False))
    assert lines[:2] == ["Part II complete.",
                         "It unlocked kata train's options --l2, --dropout, --optimizer, --depth and --batchnorm, and "
                         "the experiments kata experiment regularization, optimizers and depth."]
    assert "Part I complete" in part_complete(stages_of_part(2)[0], Style(enabled=False))[0]
    assert not any("unlocked" in line for line in part_complete(stages_of_part(2)[0], Style(enabled=False)))
