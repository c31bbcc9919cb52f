"""The stage suites must reject the mistakes learners really make (see selftests/mutants.py).

Every mutant is made from the reference (each edit's text found exactly once, inside the function the
mutant changes) and runs its whole stage suite once (the `outcomes` fixture); three guards read the
result: the named test catches it, the report's "Next: fix X()" names the function the mutant changed,
and no failure message prints the reference code (see leaks.py). A mutant that cannot be made fails its
own tests, and no other's.
"""

import functools
import os
import re
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from checker.status_text import MESSAGE_LINES, next_action, shorten
from checker.results import StageResult, TestResult
from checker.project import ROOT
from checker.stages import all_stages, stage_of_module
from leaks import answer_fragments, leaked
from mutants import MUTANTS, STYLES, Mutant, MutantError, build_package, mutated_source
from runner_helpers import run_suites

CONTROL = "kata_mutant_control"  # the unchanged reference: every suite must pass on it


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory):
    """{package: [results]} for every mutant and the control, run in parallel workers.

    Every suite run has its own CPU and wall-clock limits (runner_helpers.py): one that goes over them,
    like a mutant that cannot be made, gets a result with a "problem", and fails its own tests alone."""
    packages = tmp_path_factory.mktemp("mutants")
    build_package(None, ROOT / "solutions", packages, name=CONTROL)
    by_package, built = {}, []
    for mutant in MUTANTS + STYLES:
        try:
            build_package(mutant, ROOT / "solutions", packages)
            built.append(mutant)
        except MutantError as error:  # that mutant's tests fail with the reason; the others run
            by_package[mutant.package] = [{"package": mutant.package, "problem": f"it could not be made: {error}"}]
    jobs = [{"package": CONTROL, "tests": stage.tests} for stage in all_stages()]
    # Each mutant runs its whole stage suite: what `kata` would report for it is what the guards check.
    jobs += [{"package": m.package, "tests": f"tests/test_{m.module}.py"} for m in built]
    workers = max(1, min(4, os.cpu_count() or 1))
    chunks = [jobs[i::workers] for i in range(workers)]
    stop = threading.Event()
    with ThreadPoolExecutor(workers) as pool:
        try:
            results = list(pool.map(functools.partial(run_suites, stop=stop), [packages] * workers, chunks,
                                    [packages] * workers, [f"jobs-{i}" for i in range(workers)]))
        except BaseException:  # Ctrl-C: end the suite runs now, not once every batch is through
            stop.set()
            raise
    for chunk in results:
        for result in chunk:
            by_package.setdefault(result["package"], []).append(result)
    return by_package


def only_run(outcomes, mutant) -> dict:
    """The result of the mutant's one suite run; a failure of its own when there is none to check."""
    (result,) = outcomes[mutant.package]
    if result.get("problem"):
        pytest.fail(f"{mutant.id}: {result['problem']}", pytrace=False)
    return result


@pytest.mark.parametrize("mutant", MUTANTS + STYLES, ids=lambda m: m.id)
def test_every_mutant_can_be_made_from_the_reference(mutant):
    """Every edit names text that occurs exactly once in the reference, inside the function it changes."""
    mutated_source(mutant, (ROOT / "solutions" / f"{mutant.module}.py").read_text(encoding="utf-8"))


def test_an_edit_that_cannot_be_made_is_an_error_naming_the_mutant_and_the_text():
    reference = (ROOT / "solutions" / "relu.py").read_text(encoding="utf-8")

    def made(*edits, function="relu"):
        return mutated_source(Mutant("probe", "relu", function, "test_x", edits=edits), reference)

    assert "    return np.maximum(z, 1)\n" in made(("np.maximum(z, 0)", "np.maximum(z, 1)"))
    with pytest.raises(MutantError, match=r"probe: the text 'np.minimum\(z, 0\)' occurs 0 times in solutions/relu.py"):
        made(("np.minimum(z, 0)", "np.minimum(z, 1)"))
    with pytest.raises(MutantError, match=r"probe: the text '    # BEGIN SOLUTION\\n' occurs 2 times"):
        made(("    # BEGIN SOLUTION\n", ""))
    with pytest.raises(MutantError, match=r"probe changes relu_backward\(\), but the text 'np.maximum\(z, 0\)'"):
        made(("np.maximum(z, 0)", "z"), function="relu_backward")
    with pytest.raises(MutantError, match="probe: an earlier edit of its own changed the text 'return np.maximum"):
        made(("np.maximum(z, 0)", "np.maximum(z, 1)"), ("return np.maximum(z, 0)", "return z"))
    with pytest.raises(MutantError, match="probe is not valid Python"):
        made(("np.maximum(z, 0)", "np.maximum(z, 0"))
    with pytest.raises(MutantError, match="probe leaves solutions/relu.py unchanged"):
        made(("np.maximum(z, 0)", "np.maximum(z, 0)"))


def test_every_suite_passes_on_an_unchanged_copy_of_the_reference(outcomes):
    assert len(outcomes[CONTROL]) == len(all_stages())
    for result in outcomes[CONTROL]:
        assert not result.get("problem"), f"{result['suite']} on the unchanged reference: {result.get('problem')}"
        assert result["exit_code"] == 0, (
            f"{result['suite']} fails on the unchanged reference: {list(result['failures'])} {result['errors']}")


@pytest.mark.parametrize("style", STYLES, ids=lambda m: m.id)
def test_every_suite_passes_on_a_correct_implementation_in_another_style(style, outcomes):
    result = only_run(outcomes, style)
    assert result["exit_code"] == 0, (
        f"tests/test_{style.module}.py rejects {style.id}, a correct {style.function}(): "
        f"{list(result['failures'].values())} {result['errors']}")


@pytest.mark.parametrize("mutant", MUTANTS, ids=lambda m: m.id)
def test_suite_rejects_mutant(mutant, outcomes):
    result = only_run(outcomes, mutant)
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
    result = only_run(outcomes, mutant)
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
    result = only_run(outcomes, mutant)
    found = leaked(stage_of_module(mutant.module), shown_messages(result))
    assert not found, f"on the mutant {mutant.id}, a failure message prints the answer's code (keep it for kata hint):\n" + \
        "\n".join(f"- {fragment.code!r} (from {fragment.function}) in:\n{message}" for fragment, message in found)


@pytest.mark.parametrize("stage", all_stages(), ids=lambda s: s.id)
def test_the_leak_guard_knows_code_of_every_stage(stage):
    assert answer_fragments(stage), f"no code of {stage.solution} to look for: the leak guard cannot fail there"


@pytest.mark.parametrize("mutant", MUTANTS, ids=lambda m: m.id)
def test_the_report_cuts_arrays_never_the_problem_or_the_hint(mutant, outcomes):
    result = only_run(outcomes, mutant)
    stage = stage_result(mutant, result)
    first = stage.failures()[0]
    shown = shorten(first.message, stage.stage)
    teaching = [line for line in first.message.rstrip().splitlines()
                if not line.startswith("  ") or line.startswith("  hint:")]
    assert [line for line in shown if line in teaching] == teaching, (
        f"kata's report of {mutant.id} lost the problem or the hint:\n" + "\n".join(shown))
    assert len(shown) <= max(MESSAGE_LINES, len(teaching) + 1)
