"""GitHub Classroom's grading workflow, generated from the stage registry so the two never disagree.

    python -m checker.classroom                 write .github/workflows/classroom.yml: one test per stage
                                                (kata grade STAGE), 10 points each
    python -m checker.classroom --parts 1,3     grade Parts I and III only: Part II is optional
    python -m checker.classroom --points 5      points per stage
    python -m checker.classroom --check         exit 1 if the file differs from what these options give

The workflow has the form GitHub Classroom gives an assignment's tests today (`.github/workflows/
classroom.yml`, "Autograding Tests"): after the checkout, Python (actions/setup-python), the restore of
the pristine suites and checker (.github/classroom/pristine.sh) and the kata's install, each stage is a
step of classroom-resources/autograding-command-grader@v1 that runs `kata grade STAGE` (the kata's own
runner: its time and memory limits, the manifest and the signed results; exit code 0 earns the step's
max-score), and classroom-resources/autograding-grading-reporter@v1 adds the steps' results up (each
step's `result` output in the environment variable <STEP ID>_RESULTS, the step ids in `runners`).
"""

from __future__ import annotations

import argparse
import json
import sys

from .project import ROOT
from .stages import Stage, all_stages

WORKFLOW = ROOT / ".github" / "workflows" / "classroom.yml"
GRADER = "classroom-resources/autograding-command-grader@v1"
REPORTER = "classroom-resources/autograding-grading-reporter@v1"
PYTHON_VERSION = "3.12"
DEFAULT_POINTS = 10
# The action's own limit per stage, in minutes. kata grade stops the learner's code itself, after the
# kata's per-stage limit (30 s) and its allowance for starting the tests (60 s): this one is never reached.
TIMEOUT_MINUTES = 5

HEADER = """\
# GitHub Classroom's grading of mnist-kata, generated from checker/stages.toml: do not edit it, run
#     python -m checker.classroom              (--parts 1,3 makes Part II optional, --points N per stage)
# Each stage is a test: `kata grade STAGE` runs its suite through the kata's own runner (time and memory
# limits, the suites' manifest, signed results) in a clone whose suites and checker pristine.sh restored
# from the assignment's starting commit, and its exit code 0 earns the points. See docs/teachers.md.
"""


def graded_stages(parts: set[int] | None = None) -> list[Stage]:
    return [s for s in all_stages() if parts is None or s.part in parts]


def test_name(stage: Stage) -> str:
    return f"Stage {stage.number}: {stage.title}"


def workflow(parts: set[int] | None = None, points: int = DEFAULT_POINTS) -> str:
    """The text of classroom.yml: a grading step per stage of the graded `parts` (None: every part)."""
    stages = graded_stages(parts)
    q = json.dumps  # a JSON string is a YAML double-quoted scalar
    lines = [HEADER.rstrip("\n"), "name: Autograding Tests", '"on":', "  - push", "  - repository_dispatch",
             "permissions:", "  checks: write", "  actions: read", "  contents: read", "jobs:",
             "  run-autograding-tests:", "    runs-on: ubuntu-latest",
             "    if: github.actor != 'github-classroom[bot]'", "    timeout-minutes: 30", "    steps:",
             "      - name: Check out the learner's repository with its history",
             "        uses: actions/checkout@v4", "        with:",
             "          fetch-depth: 0  # the first commit holds the pristine suites",
             "      - name: Set up Python", "        uses: actions/setup-python@v5", "        with:",
             f"          python-version: {q(PYTHON_VERSION)}",
             "      - name: Restore the pristine suites and checker from the assignment's starting commit",
             "        env:",
             "          KATA_START_COMMIT: ${{ vars.KATA_START_COMMIT }}  # empty unless set: the first commit",
             "        run: bash .github/classroom/pristine.sh",
             "      - name: Install the kata", "        run: python -m pip install --quiet -e ."]
    for stage in stages:
        lines += [f"      - name: {q(test_name(stage))}", f"        id: {stage.id}", f"        uses: {GRADER}",
                  "        with:", f"          test-name: {q(test_name(stage))}", '          setup-command: ""',
                  f"          command: {q(grade_command(stage))}", f"          timeout: {TIMEOUT_MINUTES}",
                  f"          max-score: {points}"]
    lines += ["      - name: Autograding Reporter", f"        uses: {REPORTER}", "        env:"]
    lines += [f"          {stage.id.upper()}_RESULTS: {q('${{ steps.' + stage.id + '.outputs.result }}')}"
              for stage in stages]
    lines += ["        with:", f"          runners: {','.join(stage.id for stage in stages)}"]
    return "\n".join(lines) + "\n"


def grade_command(stage: Stage) -> str:
    return f"kata grade {stage.number}"


def parse_parts(text: str) -> set[int]:
    try:
        parts = {int(p) for p in text.split(",") if p.strip()}
    except ValueError:
        parts = set()
    if not parts or not parts <= {1, 2, 3}:
        raise argparse.ArgumentTypeError(f"{text!r} is not a list of parts: write e.g. 1,3 (parts are 1, 2 and 3)")
    return parts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m checker.classroom",
                                     description="Write GitHub Classroom's grading workflow, "
                                                 ".github/workflows/classroom.yml, from checker/stages.toml.")
    parser.add_argument("--parts", type=parse_parts, default=None, metavar="1,2,3",
                        help="the parts whose stages are graded (default: all); e.g. 1,3 makes Part II optional")
    parser.add_argument("--points", type=int, default=DEFAULT_POINTS, help="points per stage (default: 10)")
    parser.add_argument("--check", action="store_true", help="only check; exit 1 if the file is out of date")
    args = parser.parse_args(argv)
    if args.points < 1:
        parser.error("--points must be at least 1")
    text = workflow(args.parts, args.points)
    current = WORKFLOW.read_text(encoding="utf-8") if WORKFLOW.is_file() else None
    if args.check:
        if current != text:
            print(f"{WORKFLOW.relative_to(ROOT)} is out of date. Run: python -m checker.classroom")
            return 1
        return 0
    WORKFLOW.parent.mkdir(parents=True, exist_ok=True)
    WORKFLOW.write_text(text, encoding="utf-8")
    stages = len(graded_stages(args.parts))
    print(f"wrote {WORKFLOW.relative_to(ROOT)}: {stages} stages, {stages * args.points} points")
    return 0


if __name__ == "__main__":
    sys.exit(main())
