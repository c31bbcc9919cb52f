"""The stage registry (stages.toml), read once and shared by the checker, the stub generator and tests."""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

REGISTRY = Path(__file__).with_name("stages.toml")


@dataclass(frozen=True)
class Stage:
    number: int  # 1-based position in the curriculum
    id: str
    title: str
    module: str
    tests: str
    tasks: tuple[str, ...]
    goal: str
    aliases: tuple[str, ...]
    hints: tuple[str, ...]
    part: int = 1  # 1: Part I, the core; 2: Part II, going further; 3: Part III, convolution

    @property
    def exercise(self) -> str:
        """Path of the learner's file, relative to the repo root."""
        return f"exercises/{self.module}.py"

    @property
    def solution(self) -> str:
        return f"solutions/{self.module}.py"

    @property
    def label(self) -> str:
        return f"Stage {self.number} ({self.title})"

    def task_of(self, test_name: str) -> str | None:
        """The task a test belongs to: exactly one, so that a failure is charged to the right function.

        A test parametrized over tasks names the task in its id: test_random_init_and_he_init_...[he_init]
        belongs to he_init. Otherwise: the longest task name with test_<task>_ as the test's prefix.
        """
        base, _, params = test_name.partition("[")
        named = {t for t in self.tasks if t in re.split(r"[-\]]", params)}
        if len(named) == 1:
            return named.pop()
        matches = [t for t in self.tasks if base == f"test_{t}" or base.startswith(f"test_{t}_")]
        return max(matches, key=len) if matches else None


@lru_cache(maxsize=None)
def all_stages() -> tuple[Stage, ...]:
    with REGISTRY.open("rb") as f:
        entries = tomllib.load(f)["stage"]
    return tuple(
        Stage(
            number=i,
            id=e["id"],
            title=e["title"],
            module=e["module"],
            tests=e["tests"],
            tasks=tuple(e["tasks"]),
            goal=e["goal"],
            aliases=tuple(e.get("aliases", ())),
            hints=tuple(e.get("hints", ())),
            part=int(e.get("part", 1)),
        )
        for i, e in enumerate(entries, start=1)
    )


def find_stage(name: str | int) -> Stage | None:
    """A stage by number ("3"), id ("softmax"), module or alias; None when nothing matches."""
    key = str(name).strip().lower().replace("-", "_")
    for stage in all_stages():
        names = {str(stage.number), stage.id, stage.module, *(a.replace("-", "_") for a in stage.aliases)}
        if key in names:
            return stage
    return None


def stage_of_module(module: str) -> Stage | None:
    return next((s for s in all_stages() if s.module == module), None)


# The parts of the curriculum: Part I is the core; the later parts go further and are optional.
PART_TITLES = {1: "Part I: the core", 2: "Part II: going further", 3: "Part III: convolution"}


def part_title(part: int) -> str:
    """The part's heading, e.g. "Part II: going further"; a part without a title is just "Part N"."""
    return PART_TITLES.get(part, f"Part {part}")


def part_name(part: int) -> str:
    """The part's name without its subtitle, e.g. "Part II"."""
    return part_title(part).split(":", 1)[0]


def stages_of_part(part: int) -> tuple[Stage, ...]:
    return tuple(stage for stage in all_stages() if stage.part == part)
