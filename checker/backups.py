"""Copies of the learner's stage files in .kata/backups/, made before the kata replaces one: `kata reset`
puts a stub back, and the notebook's `%%kata write` writes a cell's functions into the stage's file.
The learner's file is never changed unless its copy was written first.

    backup_path(stage)                      .kata/backups/<date>-<time>-<module>.py, a name no backup has yet
    replace_stage_file(stage, text, retry)  save a copy of the learner's file, then write text in its place
"""

from __future__ import annotations

import errno
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from .errors import KataError
from .progress import kata_dir
from .project import ROOT, display_path
from .stages import Stage


@dataclass(frozen=True)
class Replaced:
    """A stage file written: where its previous version was saved (None when there was no file)."""

    path: Path
    backup: Path | None

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


def replace_stage_file(stage: Stage, text: str, retry: str, root: Path = ROOT) -> Replaced:
    """Write text as the stage's file in exercises/, after saving the file there was to .kata/backups/.
    retry: the command to run again once the problem is fixed (named in the errors). KataError when
    the copy cannot be saved (then nothing changed) or the file cannot be written (then the learner's
    version is still there)."""
    root = Path(root)
    target = root / stage.exercise
    shown = display_path(stage.exercise, root)
    current = target.read_bytes() if target.exists() else None
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
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    except OSError as error:
        saved = f"; a copy is in {display_path(backup.relative_to(root).as_posix(), root)}" if backup else ""
        raise KataError(f"cannot write {shown} ({why(target.parent, error)}): your version is still there"
                        f"{saved}. {fix(target.parent, error, root)}, then run: {retry}") from None
    return Replaced(target, backup)


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
