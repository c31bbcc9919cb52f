"""GitHub Classroom's autograding file, generated from the stage registry so the two never disagree.

    python -m checker.classroom                 write .github/classroom/autograding.json: one test per
                                                stage (pytest tests/test_<module>.py), 10 points each
    python -m checker.classroom --parts 1,3     grade Parts I and III only: Part II is optional
    python -m checker.classroom --points 5      points per stage
    python -m checker.classroom --check         exit 1 if the file differs from what these options give

The first test's setup restores the pristine suites (.github/classroom/pristine.sh) and installs the
kata; every test then runs one stage's suite on the learner's exercises/.
"""

from __future__ import annotations

import argparse
import json
import sys

from .project import ROOT

from .stages import Stage, all_stages

AUTOGRADING = ROOT / ".github" / "classroom" / "autograding.json"
SETUP = "bash .github/classroom/pristine.sh && python -m pip install --quiet -e ."
DEFAULT_POINTS = 10
TIMEOUT_MINUTES = 5  # a stage's suite takes seconds; the kata's own limit per stage is 30 s


def autograding(parts: set[int] | None = None, points: int = DEFAULT_POINTS) -> dict:
    """The autograding document: a test per stage of the graded `parts` (None: every part), in stage order."""
    graded = [s for s in all_stages() if parts is None or s.part in parts]
    return {"tests": [grading_test(stage, points, setup=SETUP if i == 0 else "")
                      for i, stage in enumerate(graded)]}


def grading_test(stage: Stage, points: int, setup: str) -> dict:
    return {
        "name": f"Stage {stage.number}: {stage.title}",
        "setup": setup,
        "run": f"pytest {stage.tests}",
        "input": "",
        "output": "",
        "comparison": "included",
        "timeout": TIMEOUT_MINUTES,
        "points": points,
    }


def render(document: dict) -> str:
    return json.dumps(document, indent=2) + "\n"


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
                                     description="Write GitHub Classroom's autograding.json from checker/stages.toml.")
    parser.add_argument("--parts", type=parse_parts, default=None, metavar="1,2,3",
                        help="the parts whose stages are graded (default: all); e.g. 1,3 makes Part II optional")
    parser.add_argument("--points", type=int, default=DEFAULT_POINTS, help="points per stage (default: 10)")
    parser.add_argument("--check", action="store_true", help="only check; exit 1 if the file is out of date")
    args = parser.parse_args(argv)
    if args.points < 1:
        parser.error("--points must be at least 1")
    text = render(autograding(args.parts, args.points))
    current = AUTOGRADING.read_text(encoding="utf-8") if AUTOGRADING.is_file() else None
    if args.check:
        if current != text:
            print(f"{AUTOGRADING.relative_to(ROOT)} is out of date. Run: python -m checker.classroom")
            return 1
        return 0
    AUTOGRADING.parent.mkdir(parents=True, exist_ok=True)
    AUTOGRADING.write_text(text, encoding="utf-8")
    stages = len(json.loads(text)["tests"])
    print(f"wrote {AUTOGRADING.relative_to(ROOT)}: {stages} stages, {stages * args.points} points")
    return 0


if __name__ == "__main__":
    sys.exit(main())
