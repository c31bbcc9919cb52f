"""The stage suites must reject the mistakes learners really make (see selftests/mutants.py)."""

import os
from concurrent.futures import ThreadPoolExecutor

import pytest

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
    # Each mutant runs only the test that must catch it: proof enough, and 10x faster than its whole suite.
    jobs += [{"package": m.package, "tests": f"tests/test_{m.module}.py::{m.caught_by}"} for m in MUTANTS]
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


def solution_lines(module):
    """The reference's code lines between the solution markers (15 characters or more, whole statements: not `return x`)."""
    lines, inside = [], False
    for line in (ROOT / "solutions" / f"{module}.py").read_text(encoding="utf-8").splitlines():
        stripped = line.strip()
        if stripped in ("# BEGIN SOLUTION", "# END SOLUTION"):
            inside = stripped == "# BEGIN SOLUTION"
        elif inside and len(stripped) >= 15 and not stripped.startswith("#") and stripped[-1] not in "([{,":
            lines.append(stripped.split("  #")[0])
    return lines


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
    # Part II onwards (Part I's minibatches hint still shows `order = rng.permutation(num_examples)`).
    answer_lines = solution_lines(mutant.module) if stage_of_module(mutant.module).part >= 2 else []
    for name, text in caught.items():
        shown = [line for line in answer_lines if line in text]
        assert not shown, f"{name}'s message on {mutant.id} prints the answer's code: {shown}"
    if mutant.says:
        assert any(mutant.says in text for text in caught.values()), (
            f"{mutant.caught_by} fails on {mutant.id} but its message does not mention {mutant.says!r}:\n"
            + "\n---\n".join(caught.values()))


def test_every_stage_has_mutants():
    covered = {m.module for m in MUTANTS}
    assert covered == {s.module for s in all_stages()}, "add mutants for: " + ", ".join(
        sorted({s.module for s in all_stages()} - covered))
