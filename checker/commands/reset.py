"""`kata reset STAGE`: put the stub back, after saving the learner's file to .kata/backups/."""

from __future__ import annotations

import sys

from ..backups import current_version, replace_stage_file, shown_name
from ..options import stage_argument
from ..errors import UsageError
from ..progress import Progress
from ..project import ROOT
from ..stages import Stage
from ..stubgen import stub_for
from ..term import Style

DESCRIPTION = """\
Put a stage's stub back in exercises/, to start the stage over. Nothing is lost: your file is first
copied to .kata/backups/ with a timestamp, and the copy's path is printed. Asks before it changes
anything, unless --yes."""

EXAMPLES = """\
examples:
  kata reset relu            start stage 2 over (asks first)
  kata reset 2 --yes         the same, without asking
  cp .kata/backups/20250101-120000-relu.py exercises/relu.py
                             undo: copy a backup back
"""


def add_arguments(parser) -> None:
    parser.description = DESCRIPTION
    parser.epilog = EXAMPLES
    parser.add_argument("stage", type=stage_argument, metavar="STAGE", help="a stage number or name")
    parser.add_argument("-y", "--yes", action="store_true", help="do not ask for confirmation")


def run(args) -> int:
    style = Style()
    stage: Stage = args.stage
    retry = f"kata reset {stage.id} --yes"
    target = ROOT / stage.exercise
    shown = shown_name(target)
    stub = stub_for(stage, ROOT)
    current = current_version(target, shown, retry)
    if current == stub.encode("utf-8"):
        print(f"{shown} is already the untouched stub of {stage.label}: nothing to reset.")
        return 0
    if not args.yes and not confirmed(stage, shown):
        print("Nothing changed.")
        return 1
    replaced = replace_stage_file(stage, stub, retry=retry, root=ROOT)
    lines = []
    if replaced.backup:
        lines.append(f"Saved your version to {replaced.backup_shown(ROOT)}")
    if replaced.link is not None:
        lines.append(f"{shown} was a symbolic link (to {replaced.link}); the stub is a file of its own in its "
                     "place, and what the link pointed at is unchanged.")
    progress = Progress.load()
    progress.forget(stage)
    progress.save()
    lines.append(style.good(f"Restored {shown}: the stub of {stage.label}."))
    lines.append(f"{style.bold('Next:')} open {shown} and write {stage.tasks[0]}(), then run: kata")
    print("\n".join(lines))
    return 0


def confirmed(stage: Stage, shown: str) -> bool:
    if not sys.stdin or not sys.stdin.isatty():
        raise UsageError(f"kata reset asks before it replaces {shown}, and there is no terminal to ask on. "
                         f"To reset without asking: kata reset {stage.id} --yes")
    try:
        answer = input(f"Replace {shown} with the stub of {stage.label}? "
                       f"Your version is saved in .kata/backups/ first. [y/N] ")
    except EOFError:
        return False
    return answer.strip().lower() in ("y", "yes")
