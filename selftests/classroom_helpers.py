"""Fabricated `kata status --json` documents: a class of learners at every point of the kata."""

from __future__ import annotations

import copy
import random

from checker.stages import all_stages
from checker.status_json import SCHEMA_VERSION

# Tests that a struggling learner plausibly fails, per stage id (names of the real suites).
TYPICAL_FAILURES = {
    "softmax": ["test_softmax_is_stable_for_large_logits", "test_softmax_rows_sum_to_one"],
    "cross_entropy": ["test_cross_entropy_worked_example_batch_is_the_mean",
                      "test_cross_entropy_is_finite_when_probabilities_are_exactly_zero"],
    "backprop": ["test_dense_backward_bias_gradient_sums_over_the_batch", "test_backward_matches_numerical_gradients"],
}


def status(passed: int, current: str = "not started", learner: str | None = None,
           failing: list[str] | None = None) -> dict:
    """A status document: the first `passed` stages pass, the next is `current`, the rest are locked."""
    stages = []
    for stage in all_stages():
        if stage.number <= passed:
            state = "passed"
        elif stage.number == passed + 1:
            state = current
        else:
            state = "locked"
        names = (failing or TYPICAL_FAILURES.get(stage.id, [f"test_{stage.tasks[0]}_worked_example"])
                 ) if state == "failing" else []
        stages.append({
            "number": stage.number, "id": stage.id, "title": stage.title, "part": stage.part, "state": state,
            "tests_passed": 10 if state == "passed" else 4 if state == "failing" else 0, "tests_total": 10,
            "failing_tests": list(names), "first_failure": f"{names[0]}: wrong" if names else None,
        })
    current_stage = next((s["id"] for s in stages if s["state"] != "passed"), None)
    return {
        "schema": SCHEMA_VERSION, "kata": {"name": "mnist-kata", "version": "0.1.0"},
        "generated_at": "2026-11-26T09:00:00Z", "learner": learner,
        "stages_passed": min(passed, len(stages)), "stages_total": len(stages), "current_stage": current_stage,
        "stages": stages, "integrity": {"checked": False, "reason": "no manifest"},
        "last_training_run": {"test_accuracy": 0.9805, "path": "runs/x"} if passed >= len(stages) else None,
    }


def fabricated_class(size: int = 50, seed: int = 0) -> list[dict]:
    """`size` learners spread over the stages, most of them stuck where learners do get stuck."""
    rng = random.Random(seed)
    total = len(all_stages())
    learners = []
    for i in range(size):
        passed = min(total, int(rng.triangular(0, total + 1, 4)))
        current = rng.choice(["failing", "failing", "not started"])
        learners.append(status(passed, current, learner=f"learner-{i:02d}"))
    return learners


def with_change(document: dict, change) -> dict:
    changed = copy.deepcopy(document)
    change(changed)
    return changed
