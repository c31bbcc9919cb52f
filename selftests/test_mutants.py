"""The stage suites must reject the mistakes learners really make (see selftests/mutants.py).

Every mutant runs its whole stage suite once (the `outcomes` fixture); three guards read the result:
the named test catches it, the report's "Next: fix X()" names the function the mutant changed, and
no failure message prints the reference code (see leaks.py).
"""

import os
import re
from concurrent.futures import ThreadPoolExecutor

import pytest

from checker.status_text import MESSAGE_LINES, next_action, shorten
from checker.results import StageResult, TestResult
from checker.project import ROOT
from checker.stages import all_stages, stage_of_module
from leaks import answer_fragments, leaked
from mutants import MUTANTS, STYLES, build_package
from runner_helpers import run_suites

CONTROL = "kata_mutant_control"  # the unchanged reference: every suite must pass on it


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory):
    """{package: {"exit_code", "failures"}} for every mutant and the control, run in parallel workers."""
    packages = tmp_path_factory.mktemp("mutants")
    build_package(None, ROOT / "solutions", packages, name=CONTROL)
    for mutant in MUTANTS + STYLES:
        build_package(mutant, ROOT / "solutions", packages)
    jobs = [{"package": CONTROL, "tests": stage.tests} for stage in all_stages()]
    # Each mutant runs its whole stage suite: what `kata` would report for it is what the guards check.
    jobs += [{"package": m.package, "tests": f"tests/test_{m.module}.py"} for m in MUTANTS + STYLES]
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


@pytest.mark.parametrize("style", STYLES, ids=lambda m: m.id)
def test_every_suite_passes_on_a_correct_implementation_in_another_style(style, outcomes):
    (result,) = outcomes[style.package]
    assert result["exit_code"] == 0, (
        f"tests/test_{style.module}.py rejects {style.id}, a correct {style.function}(): "
        f"{list(result['failures'].values())} {result['errors']}")


@pytest.mark.parametrize("mutant", MUTANTS, ids=lambda m: m.id)
def test_suite_rejects_mutant(mutant, outcomes):
    (result,) = outcomes[mutant.package]
    failures = result["failures"]
    assert result["exit_code"] == 1, (
        f"tests/test_{mutant.module}.py::{mutant.caught_by} against the mutant {mutant.id} should fail (exit 1); "
        f"got exit code {result['exit_code']} (0: passed, 4 or 5: no such test): {failures}")
    # The named test (all its parametrizations unless one is named), as `pytest file::name` would select it.
    caught = {name: text for name, text in failures.items()
              if name == mutant.caught_by or name.startswith(mutant.caught_by + "[")}
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
    assert re.match(rf"Next: (fix|open \S+ and write) {re.escape(mutant.blamed)}\(\)", action), (
        f"the mutant {mutant.id} changes {mutant.function}() (to be charged to {mutant.blamed}()) but the report says {action!r}; first failure "
        f"{first.name if first else None!r}, charged to {first.task if first else None!r}")


def shown_messages(result) -> list[str]:
    """What `kata` and `kata check` print of the suite's failures: each test's message."""
    return [t["message"] for t in result["tests"].values() if t["outcome"] == "failed"] + list(result["errors"].values())


@pytest.mark.parametrize("mutant", MUTANTS, ids=lambda m: m.id)
def test_no_failure_message_prints_the_reference_code(mutant, outcomes):
    (result,) = outcomes[mutant.package]
    found = leaked(stage_of_module(mutant.module), shown_messages(result))
    assert not found, f"on the mutant {mutant.id}, a failure message prints the answer's code (keep it for kata hint):\n" + \
        "\n".join(f"- {fragment.code!r} (from {fragment.function}) in:\n{message}" for fragment, message in found)


@pytest.mark.parametrize("stage", all_stages(), ids=lambda s: s.id)
def test_the_leak_guard_knows_code_of_every_stage(stage):
    assert answer_fragments(stage), f"no code of {stage.solution} to look for: the leak guard cannot fail there"


@pytest.mark.parametrize("mutant", MUTANTS, ids=lambda m: m.id)
def test_the_report_cuts_arrays_never_the_problem_or_the_hint(mutant, outcomes):
    (result,) = outcomes[mutant.package]
    stage = stage_result(mutant, result)
    first = stage.failures()[0]
    shown = shorten(first.message, stage.stage)
    teaching = [line for line in first.message.rstrip().splitlines()
                if not line.startswith("  ") or line.startswith("  hint:")]
    assert [line for line in shown if line in teaching] == teaching, (
        f"kata's report of {mutant.id} lost the problem or the hint:\n" + "\n".join(shown))
    assert len(shown) <= max(MESSAGE_LINES, len(teaching) + 1)
