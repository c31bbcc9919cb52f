"""`kata reset STAGE`: put the stub back, after saving the learner's file to .kata/backups/."""

from __future__ import annotations

import errno
import os
import stat
import sys
from datetime import datetime
from pathlib import Path

from ..options import stage_argument
from ..errors import KataError, UsageError
from ..progress import Progress, kata_dir
from ..project import ROOT, replace_file
from ..stages import Stage
from ..stubgen import stub_for
from ..term import Style
from ..project import display_path

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
    target = ROOT / stage.exercise
    shown = display_path(stage.exercise)
    if target.is_symlink():  # the link's own name, not where it leads (display_path resolves links)
        shown = str(Path(display_path(target.parent)) / target.name)
    stub = stub_for(stage, ROOT)
    current = current_version(target, shown, stage)
    if current == stub.encode("utf-8"):
        print(f"{shown} is already the untouched stub of {stage.label}: nothing to reset.")
        return 0
    if not args.yes and not confirmed(stage, shown):
        print("Nothing changed.")
        return 1
    lines = []
    backup = None
    if current is not None:
        backup = backup_path(stage)
        try:
            backup.parent.mkdir(parents=True, exist_ok=True)
            backup.write_bytes(current)
        except OSError as error:
            raise KataError(f"cannot save your version of {shown} to {display_path('.kata/backups')}/ "
                            f"({_why(backup.parent, error)}), so nothing was changed. {_fix(backup.parent, error)}, "
                            f"then run: kata reset {stage.id} --yes") from None
        lines.append(f"Saved your version to {display_path(backup.relative_to(ROOT).as_posix())}")
    if target.is_symlink():
        lines.append(f"{shown} was a symbolic link (to {os.readlink(target)}); the stub is a file of its own in its "
                     "place, and what the link pointed at is unchanged.")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        replace_file(target, stub)  # in the link's place, if it is one: never written through it
    except OSError as error:
        saved = f"; a copy is in {display_path(backup.relative_to(ROOT).as_posix())}" if backup else ""
        raise KataError(f"cannot write {shown} ({_why(target.parent, error)}): your version is still there"
                        f"{saved}. {_fix(target.parent, error)}, then run: kata reset {stage.id} --yes") from None
    progress = Progress.load()
    progress.forget(stage)
    progress.save()
    lines.append(style.good(f"Restored {shown}: the stub of {stage.label}."))
    lines.append(f"{style.bold('Next:')} open {shown} and write {stage.tasks[0]}(), then run: kata")
    print("\n".join(lines))
    return 0


MAX_EXERCISE_BYTES = 16 * 2**20  # a learner's exercise file is a few kB


def current_version(target: Path, shown: str, stage: Stage) -> bytes | None:
    """The learner's file as it is (None when there is none), to back up; KataError, changing nothing,
    when it is not a file that can be: a folder (it may hold work), a FIFO or device, something huge."""
    try:
        status = target.stat()
    except FileNotFoundError:
        return None  # missing, or a symbolic link that leads nowhere: nothing to save
    except OSError as error:
        raise KataError(f"cannot read {shown} ({error.strerror}), so nothing was changed. Check the file, then run: "
                        f"kata reset {stage.id} --yes") from None
    again = f"then run: kata reset {stage.id} --yes"
    if stat.S_ISDIR(status.st_mode):
        raise KataError(f"{shown} is a folder, not a file, so nothing was changed (kata reset never replaces a folder: "
                        f"it may hold your work). Move it elsewhere or rename it, {again}")
    if not stat.S_ISREG(status.st_mode):
        raise KataError(f"{shown} is not a regular file (a FIFO, socket or device), so nothing was changed. Delete it "
                        f"(rm {shown}), {again}")
    if status.st_size > MAX_EXERCISE_BYTES:
        raise KataError(f"{shown} is {status.st_size / 2**20:,.0f} MB, far more than an exercise, so it was not backed "
                        f"up and nothing was changed. Move it elsewhere, {again}")
    try:
        return target.read_bytes()
    except OSError as error:
        raise KataError(f"cannot read {shown} ({error.strerror}), so nothing was changed. Check the file, {again}") \
            from None


def _why(folder: Path, error: OSError) -> str:
    if folder.exists() and not folder.is_dir():
        return f"{folder.name} is a file, not a folder"
    if error.errno == errno.EROFS:
        return "the disk is read-only"
    if error.errno in (errno.EACCES, errno.EPERM):
        return f"{folder.name}/ is read-only"
    return error.strerror or str(error)


def _fix(folder: Path, error: OSError) -> str:
    relative = folder.relative_to(ROOT).as_posix() if folder.is_relative_to(ROOT) else str(folder)
    if folder.exists() and not folder.is_dir():
        return f"Rename or delete the file {relative}"
    return f"Make {relative}/ writable"


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


def backup_path(stage: Stage) -> Path:
    """.kata/backups/<date>-<time>-<module>.py, never overwriting an earlier backup."""
    folder = kata_dir(ROOT) / "backups"
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    path = folder / f"{stamp}-{stage.module}.py"
    number = 2
    while path.exists():
        path = folder / f"{stamp}-{stage.module}-{number}.py"
        number += 1
    return path
