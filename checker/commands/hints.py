"""`kata hint [STAGE]`: hints in levels, the idea, then the formula, then the NumPy idiom."""

from __future__ import annotations

import re
import textwrap

from ..options import stage_argument
from ..progress import Progress
from ..verdicts import run_stages
from ..stages import Stage, all_stages
from ..term import Style, width
from ..project import display_path

DESCRIPTION = """\
Show the next hint for a stage. Hints come in levels: first the idea, then the formula, then the
NumPy idiom; each call shows the next level, so you see only as much as you need. Without STAGE:
the current stage."""

EXAMPLES = """\
examples:
  kata hint               the next hint for the current stage
  kata hint softmax       the next hint for stage 3
  kata hint 3 --all       every hint of stage 3 at once
"""


def add_arguments(parser) -> None:
    parser.description = DESCRIPTION
    parser.epilog = EXAMPLES
    parser.add_argument("stage", nargs="?", type=stage_argument, metavar="STAGE",
                        help="a stage number or name (default: the current stage)")
    parser.add_argument("--all", action="store_true", help="show every hint level at once")


def run(args) -> int:
    style = Style()
    progress = Progress.load()
    stage = args.stage or current_stage(progress)
    if stage is None:
        print("Every stage passes: no hints needed. Hints of one stage: kata hint STAGE (e.g. kata hint 3)")
        return 0
    if not stage.hints:
        print(f"{stage.label} has no hints. Its file explains the task: {display_path(stage.exercise)}")
        return 0
    total = len(stage.hints)
    seen = progress.hints_shown.get(stage.id, 0)
    levels = range(1, total + 1) if args.all else [min(seen + 1, total)]
    blocks = []
    for level in levels:
        blocks.append(style.bold(f"{stage.label}, hint {level} of {total}:"))
        blocks.append(wrap(stage.hints[level - 1]))
    progress.hints_shown[stage.id] = max(seen, levels[-1])
    remembered = progress.save()
    print("\n\n".join(blocks))
    print()
    shown = levels[-1]
    if shown < total and not remembered:
        print(f"Next hint ({level_name(stage.hints[shown])}): kata hint {stage.number} --all (hint levels "
              f"cannot be remembered now, see the warning, so kata hint {stage.number} would show this one again)")
    elif shown < total:
        print(f"Next hint ({level_name(stage.hints[shown])}): kata hint {stage.number}    "
              f"All hints: kata hint {stage.number} --all")
    else:
        print(f"That was the last hint. Still stuck? Read the docstring in {display_path(stage.exercise)} again,\n"
              f"and run kata check {stage.number}: every failing test explains what it expects.")
    return 0


def current_stage(progress: Progress) -> Stage | None:
    result = run_stages(all_stages())
    progress.record(result)
    current = result.first_unpassed()
    return current.stage if current else None


def level_name(hint: str) -> str:
    """"the formula" for a hint starting "The formula: ..."; "" if it has no such label."""
    match = re.match(r"\s*([A-Za-z][\w -]{0,30}):", hint)
    return match.group(1)[0].lower() + match.group(1)[1:] if match else ""


KEEP_TOGETHER = re.compile(r"\[[^\[\]]{0,40}\]|\([^()]{0,40}\)")  # an index or a short group: w[f, c, p, q]


def wrap(text: str) -> str:
    """The hint filled to the terminal, never breaking inside a short [...] or (...), so an index
    such as w[f, c, p, q] stays on one line."""
    glued = KEEP_TOGETHER.sub(lambda match: match.group(0).replace(" ", "\0"), " ".join(text.split()))
    return textwrap.fill(glued, width=width() - 2, initial_indent="  ", subsequent_indent="  ",
                         break_on_hyphens=False, break_long_words=False).replace("\0", " ")
