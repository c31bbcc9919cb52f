"""The stage suites must reject the mistakes learners really make (see selftests/mutants.py).

Every mutant runs its whole stage suite once (the `outcomes` fixture); three guards read the result:
the named test catches it, the report's "Next: fix X()" names the function the mutant changed, and
no failure message prints the reference code (see leaks.py).
"""

import os
import re
from concurrent.futures import ThreadPoolExecutor

import pytest

from checker.report import next_action
from checker.runner import StageResult, TestResult
from checker.stages import ROOT, all_stages, stage_of_module
from mutants import MUTANTS, build_package
from runner_helpers import run_suites

CONTROL = "kata_mutant_control"  # the unchanged reference: every suite must pass on it


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory):
    """{package: {"exit_code", "failures"}} for every mutant and the control, run in parallel workers."""
    packages = tmp_path_factory.mktemp("mutants")
    build_package(None, ROOT / "solutions", packages, name=CONTROL)
    for mutant in MUTANTS:
        build_package(mutant, ROOT / "solutions", packages)
    jobs = [{"package": CONTROL, "tests": stage.tests} for stage in all_stages()]
    # Each mutant runs its whole stage suite: what `kata` would report for it is what the guards check.
    jobs += [{"package": m.package, "tests": f"tests/test_{m.module}.py"} for m in MUTANTS]
    workers = max(1, min(4, os.cpu_count() or 1))
    chunks = [jobs[i::workers] for i in range(workers)]
    with ThreadPoolExecutor(workers) as pool:
        results = pool.map(run_suites, [packages] * workers, chunks, [packages] * workers,
                           [f"jobs-{i}" for i in range(workers)])
    by_package = {}
    for chunk in results:
        for result in chunk:
            by_package.setdefault(result["package"], []).append(result)
    return by_package


def test_every_suite_passes_on_an_unchanged_copy_of_the_reference(outcomes):
    assert len(outcomes[CONTROL]) == len(all_stages())
    for result in outcomes[CONTROL]:
        assert result["exit_code"] == 0, (
            f"{result['tests']} fails on the unchanged reference: {list(result['failures'])} {result['errors']}")


@pytest.mark.parametrize("mutant", MUTANTS, ids=lambda m: m.id)
def test_suite_rejects_mutant(mutant, outcomes):
    (result,) = outcomes[mutant.package]
    failures = result["failures"]
    assert result["exit_code"] == 1, (
        f"tests/test_{mutant.module}.py::{mutant.caught_by} against the mutant {mutant.id} should fail (exit 1); "
        f"got exit code {result['exit_code']} (0: passed, 4 or 5: no such test): {failures}")
    caught = {name: text for name, text in failures.items() if name.startswith(mutant.caught_by)}
    assert caught, (f"the mutant {mutant.id} ({mutant.function} in {mutant.module}.py) is not caught by "
                    f"{mutant.caught_by}; what failed: {sorted(failures)}")
    if mutant.says:
        assert any(mutant.says in text for text in caught.values()), (
            f"{mutant.caught_by} fails on {mutant.id} but its message does not mention {mutant.says!r}:\n"
            + "\n---\n".join(caught.values()))


def test_every_stage_has_mutants():
    covered = {m.module for m in MUTANTS}
    assert covered == {s.module for s in all_stages()}, "add mutants for: " + ", ".join(
        sorted({s.module for s in all_stages()} - covered))


def stage_result(mutant, result) -> StageResult:
    """The StageResult `kata` would build from the mutant's run (same attribution, same messages)."""
    stage = stage_of_module(mutant.module)
    tests = [TestResult(name, stage.task_of(name), t["outcome"], t["kind"], t["message"])
             for name, t in result["tests"].items()]
    return StageResult(stage, ran=True, tests=tests, expected=list(result["tests"]))


@pytest.mark.parametrize("mutant", MUTANTS, ids=lambda m: m.id)
def test_report_charges_the_mutant_to_the_function_it_changed(mutant, outcomes):
    (result,) = outcomes[mutant.package]
    stage = stage_result(mutant, result)
    action = next_action(stage, ROOT)
    first = stage.failures()[0] if stage.failures() else None
    assert re.match(rf"Next: (fix|open \S+ and write) {re.escape(mutant.function)}\(\)", action), (
        f"the mutant {mutant.id} changes {mutant.function}() but the report says {action!r}; first failure "
        f"{first.name if first else None!r}, charged to {first.task if first else None!r}")
