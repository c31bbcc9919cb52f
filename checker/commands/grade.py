"""`kata grade STAGE`: one stage's verdict as the exit code, for grading (GitHub Classroom's workflow).

The stage runs on its own, whatever the stages before it do, through the kata's runner: the time and
memory limits, the manifest of the suites and the signed results apply as in `kata check`. It prints
one verdict (and the first failure) on stdout, nothing on stderr when the stage passes, and writes
nothing to .kata/.
"""

from __future__ import annotations

import sys

from ..options import stage_argument
from ..runner import run_stages
from .. import status_json
from ..status_json import stage_entry

DESCRIPTION = """\
Run one stage's tests on your code, on their own (the stages before it need not pass), and make the
verdict the exit code: 0 the stage passes, 1 it does not. For grading: GitHub Classroom's workflow
(.github/workflows/classroom.yml) runs kata grade for each stage and gives its points when it exits 0.
The same time and memory limits, manifest and signed results apply as in kata check."""

EXAMPLES = """\
exit codes: 0 the stage passes, 1 it does not, 2 usage error; any other: the kata itself failed

examples:
  kata grade 3            grade stage 3
  kata grade softmax      the same, by name
"""


def add_arguments(parser) -> None:
    parser.description = DESCRIPTION
    parser.epilog = EXAMPLES
    parser.add_argument("stage", type=stage_argument, metavar="STAGE", help="a stage number or name")


def run(args) -> int:
    stage = args.stage
    problem = status_json.integrity_error()
    if problem:
        print(problem, file=sys.stderr, flush=True)
        return 1
    result = run_stages([stage], stop_after_failing_stage=False).stages[0]
    entry = stage_entry(result)
    tests = f"{entry['tests_passed']} of {entry['tests_total']} tests pass"
    if result.passed:
        print(f"{stage.label} passes: {tests}.")
        return 0
    print(f"{stage.label} does not pass ({entry['state']}): {tests}.")
    if entry["first_failure"]:
        print(entry["first_failure"])
    print(f"On your machine: kata check {stage.number}")
    return 1
