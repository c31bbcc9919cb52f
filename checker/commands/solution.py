"""`kata solution STAGE`: the reference code of a stage the learner has passed."""

from __future__ import annotations

import re

from ..options import stage_argument
from ..errors import KataError
from ..progress import Progress
from ..verdicts import run_stages
from ..project import ROOT
from ..stages import Stage
from ..stubgen import BEGIN, END
from ..term import Style
from ..project import display_path

DESCRIPTION = """\
Show the reference solution of a stage you have passed, to compare it with yours: the body of each
function (the docstrings are the same as in your file). For a stage you have not passed it refuses,
unless --force: working it out yourself is what the kata is for."""

EXAMPLES = """\
examples:
  kata solution relu          stage 2's reference code, once you have passed it
  kata solution 3 --force     stage 3's, even before passing it (try kata hint 3 first)
"""

_DEF = re.compile(r"^\s*def\s+\w+\s*\(")


def add_arguments(parser) -> None:
    parser.description = DESCRIPTION
    parser.epilog = EXAMPLES
    parser.add_argument("stage", type=stage_argument, metavar="STAGE", help="a stage number or name")
    parser.add_argument("--force", action="store_true", help="show it even if you have not passed the stage")


def run(args) -> int:
    stage: Stage = args.stage
    style = Style()
    if not args.force and not has_passed(stage):
        raise KataError(
            f"{stage.label} does not pass yet, so its solution stays hidden. The struggle is the point: "
            f"working it out is what makes it stick, and the tests and hints are there to help "
            f"(kata hint {stage.number}). To look anyway: kata solution {stage.number} --force")
    text = (ROOT / stage.solution).read_text(encoding="utf-8")
    print(style.bold(f"{stage.label}: the reference solution") +
          f" (with its docstrings: {display_path(stage.solution)})")
    print()
    print(solution_code(text))
    return 0


def has_passed(stage: Stage) -> bool:
    """Passed once (the progress file says so), or passing now."""
    if Progress.load().passed_before(stage):
        return True
    return run_stages([stage], stop_after_failing_stage=False).stages[0].passed


def solution_code(text: str) -> str:
    """Each function of a solution module as its signature and the code between the solution markers."""
    lines = text.splitlines()
    out: list[str] = []
    header: list[str] = []
    in_header = inside = False
    for line in lines:
        stripped = line.strip()
        if _DEF.match(line):
            header, in_header = [line], not line.split("#")[0].rstrip().endswith(":")
        elif in_header:
            header.append(line)
            in_header = not line.split("#")[0].rstrip().endswith(":")
        elif stripped == BEGIN:
            if out:
                out.append("")
            out += header
            inside = True
        elif stripped == END:
            inside = False
        elif inside:
            out.append(line)
    return "\n".join(out)
