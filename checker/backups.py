"""Copies of the learner's stage files in .kata/backups/, made before the kata replaces one: `kata reset`
puts a stub back, and the notebook's `%%kata write` writes a cell's functions into the stage's file.
The learner's file is never changed unless its copy was written first.

    backup_path(stage)                      .kata/backups/<date>-<time>-<module>.py, a name no backup has yet
    current_version(target, shown, retry)   the learner's file as it is, or KataError when it is no file to back up
    replace_stage_file(stage, text, retry)  save a copy of the learner's file, then write text in its place
                                            (in the place of a symbolic link, never through it)
"""

from __future__ import annotations

import errno
import os
import stat
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from .errors import KataError
from .progress import kata_dir
from .project import ROOT, display_path, replace_file
from .stages import Stage


@dataclass(frozen=True)
class Replaced:
    """A stage file written: where its previous version was saved (None when there was no file)."""

    path: Path
    backup: Path | None
    link: str | None = None  # where the file pointed when it was a symbolic link (left unchanged)

    def backup_shown(self, root: Path = ROOT) -> str | None:
        return display_path(self.backup.relative_to(root).as_posix(), root) if self.backup else None


def backup_path(stage: Stage, root: Path = ROOT) -> Path:
    """.kata/backups/<date>-<time>-<module>.py, never overwriting an earlier backup."""
    folder = kata_dir(root) / "backups"
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    path = folder / f"{stamp}-{stage.module}.py"
    number = 2
    while path.exists():
        path = folder / f"{stamp}-{stage.module}-{number}.py"
        number += 1
    return path


MAX_EXERCISE_BYTES = 16 * 2**20  # a learner's exercise file is a few kB


def current_version(target: Path, shown: str, retry: str) -> bytes | None:
    """The learner's file as it is (None when there is none), to back up; KataError, changing nothing,
    when it is not a file that can be: a folder (it may hold work), a FIFO or device, something huge."""
    again = f"then run: {retry}"
    try:
        status = target.stat()
    except FileNotFoundError:
        return None  # missing, or a symbolic link that leads nowhere: nothing to save
    except OSError as error:
        raise KataError(f"cannot read {shown} ({error.strerror}), so nothing was changed. Check the file, {again}") \
            from None
    if stat.S_ISDIR(status.st_mode):
        raise KataError(f"{shown} is a folder, not a file, so nothing was changed (the kata never replaces a folder: "
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


def shown_name(target: Path, root: Path = ROOT) -> str:
    """The stage file as the learner names it: a symbolic link by its own name, not where it leads."""
    if target.is_symlink():
        return str(Path(display_path(target.parent, root)) / target.name)
    return display_path(target, root)


def replace_stage_file(stage: Stage, text: str, retry: str, root: Path = ROOT) -> Replaced:
    """Write text as the stage's file in exercises/, after saving the file there was to .kata/backups/.
    retry: the command to run again once the problem is fixed (named in the errors). KataError when
    the file is not one to back up (a folder, a FIFO, something huge), the copy cannot be saved (then
    nothing changed) or the file cannot be written (then the learner's version is still there). A
    symbolic link is replaced by the file, never written through."""
    root = Path(root)
    target = root / stage.exercise
    shown = shown_name(target, root)
    current = current_version(target, shown, retry)
    backup = None
    if current is not None:
        backup = backup_path(stage, root)
        try:
            backup.parent.mkdir(parents=True, exist_ok=True)
            backup.write_bytes(current)
        except OSError as error:
            raise KataError(f"cannot save your version of {shown} to {display_path('.kata/backups', root)}/ "
                            f"({why(backup.parent, error)}), so nothing was changed. {fix(backup.parent, error, root)}, "
                            f"then run: {retry}") from None
    link = os.readlink(target) if target.is_symlink() else None
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        replace_file(target, text)  # in the link's place, if it is one: never written through it
    except OSError as error:
        saved = f"; a copy is in {display_path(backup.relative_to(root).as_posix(), root)}" if backup else ""
        raise KataError(f"cannot write {shown} ({why(target.parent, error)}): your version is still there"
                        f"{saved}. {fix(target.parent, error, root)}, then run: {retry}") from None
    return Replaced(target, backup, link)


def why(folder: Path, error: OSError) -> str:
    if folder.exists() and not folder.is_dir():
        return f"{folder.name} is a file, not a folder"
    if error.errno == errno.EROFS:
        return "the disk is read-only"
    if error.errno in (errno.EACCES, errno.EPERM):
        return f"{folder.name}/ is read-only"
    return error.strerror or str(error)


def fix(folder: Path, error: OSError, root: Path = ROOT) -> str:
    relative = folder.relative_to(root).as_posix() if folder.is_relative_to(root) else str(folder)
    if folder.exists() and not folder.is_dir():
        return f"Rename or delete the file {relative}"
    return f"Make {relative}/ writable"
