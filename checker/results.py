"""What a run of stage suites found: per test, per task (function) and per stage, and for the run.

These are plain records: checker.runner fills them from the signed events of the test process; the
report, the JSON status, `kata check` and the mutant selftests read them.

    TestResult    one test: passed, failed (and why) or skipped
    TaskResult    one function of a stage: how many of its tests pass, started or not
    StageResult   one stage: its tests, what stopped it, whether it passes
    RunResult     every stage of one run, in order
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .stages import Stage


@dataclass
class TestResult:
    __test__ = False  # not a pytest test class, despite the name
    name: str
    task: str | None
    outcome: str  # "passed", "failed" or "skipped"
    kind: str = ""  # for failures: "lesson", "not_started" or "error"
    message: str = ""

    @property
    def failed(self) -> bool:
        return self.outcome == "failed"


@dataclass
class StageResult:
    stage: Stage
    ran: bool = False  # False: not run (locked, or after a stop)
    tests: list[TestResult] = field(default_factory=list)
    expected: list[str] = field(default_factory=list)  # the test names collected for the stage
    problem: str | None = None  # one line when the stage could not run to the end (timeout, crash, ...)
    problem_task: str | None = None  # the task that was running when it happened, if known
    kata_fault: bool = False  # the problem is in the kata's own files (a suite missing or broken)

    @property
    def passed(self) -> bool:
        """Every collected test reported once, none failed, and nothing stopped the stage."""
        return (self.ran and self.problem is None and bool(self.expected)
                and sorted(t.name for t in self.tests) == sorted(self.expected)
                and not any(t.failed for t in self.tests))

    @property
    def passing_count(self) -> int:
        return sum(not t.failed for t in self.tests)

    @property
    def total(self) -> int:
        return max(len(self.expected), len(self.tests))

    def failures(self) -> list[TestResult]:
        """Failed tests, the earliest task first, in file order within a task."""
        order = {task: i for i, task in enumerate(self.stage.tasks)}
        failed = [t for t in self.tests if t.failed]
        return sorted(failed, key=lambda t: order.get(t.task, len(order)))  # sorted() is stable

    def tasks(self) -> list[TaskResult]:
        """Per task of the stage: how many of its tests pass, and whether it is started at all."""
        by_task = {task: TaskResult(task) for task in self.stage.tasks}
        results = {t.name: t for t in self.tests}
        for name in self.expected or list(results):
            task = self.stage.task_of(name)
            if task not in by_task:
                continue
            entry = by_task[task]
            entry.total += 1
            result = results.get(name)
            if result is None:
                entry.unknown += 1
            elif result.failed:
                entry.not_started += result.kind == "not_started"
            else:
                entry.passing += 1
        return list(by_task.values())


@dataclass
class TaskResult:
    task: str
    total: int = 0
    passing: int = 0
    not_started: int = 0  # failing because the stub still raises NotImplementedError
    unknown: int = 0  # not run: the stage stopped before these tests

    @property
    def state(self) -> str:
        """"done", "not started", "failing" or "not run"."""
        if self.total and self.passing == self.total:
            return "done"
        if self.unknown == self.total:
            return "not run"
        if self.not_started and self.not_started + self.unknown == self.total:
            return "not started"
        return "failing"


@dataclass
class RunResult:
    stages: list[StageResult]
    output: str = ""  # the tail of the child's own output, for diagnosing the kata itself

    def first_unpassed(self) -> StageResult | None:
        return next((r for r in self.stages if not r.passed), None)

    @property
    def all_passed(self) -> bool:
        return self.first_unpassed() is None
