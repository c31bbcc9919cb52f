"""`kata check [STAGE]`: one stage's tests with pytest's full output, then the verdict."""

from __future__ import annotations

import sys
import threading

from .. import status_json
from ..options import stage_argument
from ..progress import Progress
from ..status_text import next_action, unlocked
from ..results import RunResult, StageResult
from ..runner import Cancelled
from ..verdicts import run_stages
from ..stages import Stage, all_stages, part_name
from ..term import Style
from ..project import display_path

DESCRIPTION = """\
Run one stage's tests on your code with pytest's full output (every test by name, each failure
with its whole message), then a one-line verdict and what it unlocked. Without STAGE: the current
stage, the first one that does not pass."""

EXAMPLES = """\
exit codes: 0 the stage passes, 1 it does not, 2 usage error

examples:
  kata check              the current stage
  kata check 3            stage 3, by number
  kata check softmax      stage 3, by name
"""


def add_arguments(parser) -> None:
    parser.description = DESCRIPTION
    parser.epilog = EXAMPLES
    parser.add_argument("stage", nargs="?", type=stage_argument, metavar="STAGE",
                        help="a stage number or name (default: the current stage)")


def run(args) -> int:
    style = Style()
    problem = status_json.integrity_error()
    if problem:
        print(problem, file=sys.stderr, flush=True)
        return 1
    progress = Progress.load()
    stages = all_stages()
    if args.stage is None:
        status = run_stages(stages)
        current = status.first_unpassed()
        progress.record(status)
        progress.save()
        if current is None:
            print(style.good(f"All {len(stages)} stages pass: there is no current stage. "
                             f"Check any stage again with: kata check STAGE (e.g. kata check 1)"))
            return 0
        stage = current.stage
        earlier = status.stages[: stage.number - 1]
        checked = run_checked(stage, style)
    else:
        stage = args.stage
        earlier, checked = run_with_earlier_stages(stage, style)
    newly = []
    if all(r.passed for r in earlier):
        newly = progress.record(RunResult(earlier + [checked]))
        progress.save()
    print()
    print(verdict(checked, earlier, stage in newly, style))
    return 0 if checked.passed else 1


def run_checked(stage: Stage, style: Style) -> StageResult:
    print(style.bold(f"{stage.label}: {stage.tests} on {display_path(stage.exercise)}"), flush=True)
    result = run_stages([stage], cached=False, stop_after_failing_stage=False, show_output=sys.stdout,
                        color=style.enabled)
    return result.stages[0]


def run_with_earlier_stages(stage: Stage, style: Style) -> tuple[list[StageResult], StageResult]:
    """Check `stage` with full output while the stages before it run quietly alongside (to know what unlocked)."""
    earlier_stages = all_stages()[: stage.number - 1]
    if not earlier_stages:
        return [], run_checked(stage, style)
    outcome: dict = {}
    cancel = threading.Event()

    def run_earlier():
        try:
            outcome["run"] = run_stages(earlier_stages, cancel=cancel)
        except Cancelled:
            pass
        except Exception as error:  # noqa: BLE001 - handed over to the main thread below
            outcome["error"] = error

    thread = threading.Thread(target=run_earlier, daemon=True)
    thread.start()
    try:
        checked = run_checked(stage, style)
        thread.join()
    finally:
        cancel.set()  # on Ctrl-C: the quiet run's child is killed too
        thread.join()
    if "error" in outcome:
        raise outcome["error"]
    earlier = outcome["run"].stages
    # Stages after the first failing one were not run: they are locked, not passed.
    return earlier, checked


def verdict(result: StageResult, earlier: list[StageResult], newly_passed: bool, style: Style) -> str:
    stage = result.stage
    stages = all_stages()
    blocking = next((r for r in earlier if not r.passed), None)
    if result.passed:
        tests = f"{result.total} of {result.total} tests"
        if blocking:
            return "\n".join([
                style.good(f"{style.symbol('passed')} {stage.label} passes: {tests}.").lstrip(),
                f"But {blocking.stage.label} does not pass yet, and stages unlock in order.",
                f"{style.bold('Next:')} kata check {blocking.stage.number}",
            ])
        if newly_passed:
            star = style.symbol("star")
            lines = [style.good(style.bold(f"{star} {stage.label} passed: {tests}!".lstrip()))]
            following = stages[stage.number] if stage.number < len(stages) else None
            if following is not None and stage.part == 1 and following.part != 1:
                lines.append(f"Part I is complete. {style.bold('Next:')} kata (it trains your network on MNIST, or "
                             f"says which of your functions would make that slow). "
                             f"Then, optional: {part_name(following.part)} starts with {following.label}.")
            elif following is not None:
                if following.part != stage.part:
                    lines.append(f"{part_name(stage.part)} is complete. {unlocked(stage.part)}")
                lines.append(f"{following.label} is unlocked. {style.bold('Next:')} open "
                             f"{display_path(following.exercise)} and write {following.tasks[0]}(), then run: kata")
            elif "conv" in {s.module for s in stages}:
                lines.append(f"Every stage passes. {style.bold('Next:')} kata (it times your conv2d and maxpool "
                             f"against the reference's, then trains your CNN on MNIST and compares it with your "
                             f"MLPs, or says which function would make that slow)")
            else:
                lines.append(f"Every stage passes. {style.bold('Next:')} kata (it trains your network on MNIST)")
            return "\n".join(lines)
        return "\n".join([style.good(f"{style.symbol('passed')} {stage.label} passes: {tests}.").lstrip(),
                          f"{style.bold('Next:')} kata (where you are)"])
    if result.problem:
        summary = f"{stage.label}: {result.problem}"
    else:
        failing = [t.task + "()" for t in result.tasks() if t.state != "done"]
        summary = f"{stage.label}: {result.passing_count} of {result.total} tests passing"
        summary += f"; still to do: {', '.join(failing)}." if failing else "."
    lines = [style.bad(f"{style.symbol('fail')} {summary}".lstrip())]
    if blocking:
        lines.append(f"(It is locked anyway until {blocking.stage.label} passes.)")
    action = next_action(result)
    label, rest = action.split(" ", 1)
    lines.append(f"{style.bold(label)} {rest}")
    if stage.hints and not result.kata_fault:
        lines.append(f"Stuck? kata hint {stage.number}")
    return "\n".join(lines)
