"""The progress file, .kata/progress.json: a cache of what the tests said before.

The truth is always the tests: the file only remembers when each stage first passed (to celebrate
a fresh unlock and to recognise a regression), how many hints of each stage were shown, whether
the final training was started, and whether the first CNN training was declined as too long (and
for which versions of exercises/conv.py and pool.py). Missing, unreadable, corrupt or from an older kata, it is simply
rebuilt; it never stops the checker. When it cannot be written (`.kata` is a file, a folder is
read-only, ...), a one-line warning says so and why, once per command, and the command goes on.

`training_lock()` makes sure that of several `kata` commands started at once, one trains.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import sys
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from .results import RunResult
from .project import ROOT
from .stages import Stage, all_stages

VERSION = 1


def kata_dir(root: Path = ROOT) -> Path:
    """The learner's private folder: progress, backups, error logs (ignored by git)."""
    return Path(root) / ".kata"


def now() -> str:
    return datetime.now().isoformat(timespec="seconds")


@dataclass
class Progress:
    path: Path
    first_passed: dict[str, str] = field(default_factory=dict)  # stage id -> when it first passed
    hints_shown: dict[str, int] = field(default_factory=dict)  # stage id -> hint levels seen
    completed: str | None = None  # when Part I (stages 1-7) first passed and its training was started
    # The first CNN training did not start, too long: {"files": fingerprint of exercises/conv.py and
    # pool.py then, "estimate": seconds, "slow": ["conv2d" and/or "maxpool"]} (checker/commands/status.py)
    cnn_declined: dict | None = None

    @classmethod
    def load(cls, root: Path = ROOT) -> Progress:
        path = kata_dir(root) / "progress.json"
        progress = cls(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return progress
        if not isinstance(data, dict) or data.get("version") != VERSION:
            return progress
        known = {stage.id for stage in all_stages()}
        first_passed = data.get("first_passed")
        if isinstance(first_passed, dict):
            progress.first_passed = {k: v for k, v in first_passed.items() if k in known and isinstance(v, str)}
        hints = data.get("hints_shown")
        if isinstance(hints, dict):
            progress.hints_shown = {k: v for k, v in hints.items()
                                    if k in known and isinstance(v, int) and not isinstance(v, bool) and v >= 0}
        if isinstance(data.get("completed"), str):
            progress.completed = data["completed"]
        declined = data.get("cnn_declined")
        if (isinstance(declined, dict) and isinstance(declined.get("files"), str)
                and isinstance(declined.get("estimate"), (int, float)) and isinstance(declined.get("slow"), list)
                and all(piece in ("conv2d", "maxpool") for piece in declined["slow"])):
            progress.cnn_declined = declined
        return progress

    def save(self) -> bool:
        """Write atomically. The file is only a cache: when it cannot be written, warn (once per
        command, on stderr) and go on. Returns whether it was saved."""
        data = {"version": VERSION, "first_passed": self.first_passed, "hints_shown": self.hints_shown,
                "completed": self.completed, "cnn_declined": self.cnn_declined}
        temporary = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            temporary.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
            os.replace(temporary, self.path)
            return True
        except OSError as error:
            with contextlib.suppress(OSError):  # on a read-only disk or under a file, this fails too
                temporary.unlink(missing_ok=True)
            warn_once(f"Warning: your progress could not be saved ({unsaved_reason(self.path, error)}), so first "
                      f"passes and hint levels are not remembered; the report itself is right. "
                      f"{unsaved_fix(self.path, error)}")
            return False

    def passed_before(self, stage: Stage) -> bool:
        return stage.id in self.first_passed

    def record(self, run: RunResult) -> list[Stage]:
        """Note the stages that pass in `run` (a run from stage 1 on); return those passing for the first time.

        Only the unbroken run of passing stages from the first one counts: a stage passes for the
        kata when every stage before it passes too.
        """
        newly = []
        for result in run.stages:
            if not result.passed:
                break
            if result.stage.id not in self.first_passed:
                self.first_passed[result.stage.id] = now()
                newly.append(result.stage)
        return newly

    def forget(self, stage: Stage) -> None:
        """Start a stage over (after `kata reset`)."""
        self.first_passed.pop(stage.id, None)
        self.hints_shown.pop(stage.id, None)


_warned: set[str] = set()


def warn_once(message: str) -> None:
    if message not in _warned:
        _warned.add(message)
        try:
            print(message, file=sys.stderr, flush=True)
        except (OSError, ValueError):
            pass


def unsaved_reason(path: Path, error: OSError) -> str:
    folder = path.parent
    if folder.exists() and not folder.is_dir():
        return f"{folder.name} is a file, not a folder"
    if path.is_dir():
        return f"{folder.name}/{path.name} is a folder"
    if error.errno == errno.EROFS:
        return f"{folder} is on a read-only disk"
    if error.errno in (errno.EACCES, errno.EPERM):
        return f"{folder} is not writable"
    return f"{error.strerror or error} in {folder}"


def unsaved_fix(path: Path, error: OSError) -> str:
    folder = path.parent
    if folder.exists() and not folder.is_dir():
        return f"To fix it: rename or delete the file {folder.name} (the kata keeps its notes in a folder of that name)."
    if path.is_dir():
        return f"To fix it: delete the folder {folder.name}/{path.name}."
    if error.errno == errno.EROFS:
        return "To keep progress, work in a copy of the kata on a writable disk."
    return f"To fix it: make {folder.name} writable (or delete it), then run kata again."


@contextlib.contextmanager
def training_lock(root: Path = ROOT):
    """Yields True when this process may train, False while another `kata` holds the lock.

    Without a place for the lock file (a read-only kata) or without fcntl (Windows), it yields True.
    """
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        yield True
        return
    path = kata_dir(root) / "training.lock"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(path, "a")
    except OSError:
        yield True
        return
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
