"""The progress file, .kata/progress.json: a cache of what the tests said before.

The truth is always the tests: the file only remembers when each stage first passed (to celebrate
a fresh unlock and to recognise a regression), how many hints of each stage were shown, and whether
the final training was started. Missing, unreadable, corrupt or from an older kata, it is simply
rebuilt; it never stops the checker.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from .runner import RunResult
from .stages import ROOT, Stage, all_stages

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
        return progress

    def save(self) -> None:
        """Write atomically; a failure to write is ignored, since the file is only a cache."""
        data = {"version": VERSION, "first_passed": self.first_passed, "hints_shown": self.hints_shown,
                "completed": self.completed}
        temporary = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            temporary.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
            os.replace(temporary, self.path)
        except OSError:
            temporary.unlink(missing_ok=True)

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
