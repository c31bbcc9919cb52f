"""The first training of `kata` (Part I passes) on a learner's correct but slow code, in a sandbox, as a
subprocess: a dense_forward written as three nested loops (selftests/loop_versions.py) passes stage 5,
and a batch then takes seconds. kata times it beside the reference on a few MNIST images, says so,
and does not start a run of hours: off a terminal a note, on one a question. No time is asserted:
the numbers in the lines are left open. (The CNN's first training: test_closing.py.)
"""

from __future__ import annotations

import re

from checker_sandbox import Scenarios

from checker.project import ROOT
from checker.stages import stages_of_part
from loop_versions import LOOP_VERSIONS
from mutants import swap_function

scenario = Scenarios(timeout=900)
started_scenarios, run = scenario.fixtures()
uses = scenario.uses

KATA_TIMEOUT = 400  # seven suites, one of them with a loop dense_forward, MNIST loaded and a few images timed
NUMBER = r"[\d.,]+"
SECONDS = rf"{NUMBER} m?s"
DURATION = rf"{NUMBER} (?:minutes|hours|days)"
TIMED = (rf"Your functions against the reference's, timed in turn just now on the same 4 images, scaled to a batch "
         rf"of 64 \(forward and backward, processor time\): {SECONDS} against {SECONDS}, {NUMBER}x as long "
         rf"\(dense_forward {NUMBER}x\)\. On this machine, as busy as it is now, a batch takes {SECONDS} with yours: "
         rf"this run should take about ({DURATION})\.\n")
ADVICE = (rf"Your dense_forward makes it long: it takes {NUMBER}x as long as the reference's dense_forward \({SECONDS} "
          rf"of the {SECONDS} of processor time a batch takes\); with a dense_forward as fast, the run would take about {NUMBER} "
          r"(?:s|minutes)\. A loop version is right, but every step of its loops is a Python step\. For dense_forward, "
          r"one matrix product computes the whole batch at once \(kata hint backprop, whose third level is the NumPy "
          r"idiom\)\.")


def part_one_solved_with_a_loop_dense_forward(box):
    box.solve(*(stage.id for stage in stages_of_part(1)))
    for version in LOOP_VERSIONS["dense_loops"]:
        swap_function(box.path / "exercises", version)
    (box.path / "data").symlink_to(ROOT / "data", target_is_directory=True)


@scenario
def loop_mlp_off_a_terminal(box):
    part_one_solved_with_a_loop_dense_forward(box)
    return box.kata(timeout=KATA_TIMEOUT)


@scenario
def loop_mlp_on_a_terminal(box):
    part_one_solved_with_a_loop_dense_forward(box)
    return box.in_terminal(answer="n\n", env={"NO_COLOR": "1"}, timeout=KATA_TIMEOUT)


@uses("loop_mlp_off_a_terminal")
def test_a_loop_dense_forward_gets_an_estimate_and_a_note_naming_it_instead_of_a_day_of_training(run):
    box, done = run
    assert (done.returncode, done.stderr) == (0, "")
    after = done.stdout.split("Now it learns: training it on MNIST with your own code (the defaults of kata train; "
                              "kata --no-train skips this).\n\n", 1)[1]
    assert re.fullmatch(
        TIMED + rf"\nNote: your network is not trained: with your functions the run would take about {DURATION}, and "
        rf"kata starts runs over 10 minutes only when asked to\. {ADVICE}\nYour stages all pass\.\n"
        r"Next: speed up your dense_forward \(kata hint backprop\), check it \(kata check backprop\), then run kata "
        r"train; or train anyway: kata train --yes\n", after), after
    assert not (box.path / "runs").exists()


@uses("loop_mlp_on_a_terminal")
def test_on_a_terminal_the_learner_is_asked_and_may_decline(run):
    _, (code, output) = run
    assert code == 0 and "Error" not in output
    estimate = re.search(TIMED, output)
    assert estimate, output[-2000:]
    assert re.search(rf"{ADVICE}\nTrain anyway, for about {re.escape(estimate[1])}\? \[y/N\] ", output), output[-2000:]
    assert re.search(r"\nNote: your network is not trained: you chose not to start a run of about "
                     rf"{re.escape(estimate[1])}\. Your stages all pass\.\nNext: kata train when you want it \(--yes "
                     r"starts it without asking\)\.\n\Z", output), output[-1500:]
