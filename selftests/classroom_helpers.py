"""Fabricated `kata status --json` documents (a class of learners at every point of the kata), and the
GitHub workflows replayed locally, step by step, as GitHub Actions and GitHub Classroom's actions run them."""

from __future__ import annotations

import base64
import copy
import json
import random
import re
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import yaml  # dev extra

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


# GitHub Actions, replayed locally ------------------------------------------------------------------

# What classroom-resources/autograding-command-grader@v1 (src/main.js) passes to the commands it runs:
# this environment and nothing else.
GRADER_ENVIRONMENT = ("PATH", "HOME")
GRADER_FIXED = {"FORCE_COLOR": "true", "DOTNET_CLI_HOME": "/tmp", "DOTNET_NOLOGO": "true"}
_EXPRESSION = re.compile(r"\$\{\{\s*([^}]*?)\s*\}\}")


@dataclass
class Replay:
    """What a replayed job did: each step's outcome (by id or name), outputs, printed text and files."""
    outcomes: dict = field(default_factory=dict)
    outputs: dict = field(default_factory=dict)
    printed: dict = field(default_factory=dict)
    uploaded: Path | None = None
    grades: dict = field(default_factory=dict)  # step id -> the grader's result (decoded)
    seconds: dict = field(default_factory=dict)  # step id -> how long its command ran
    total: tuple[int, int] | None = None  # the reporter's (score, max score)


def workflow_job(path: Path) -> dict:
    workflow = yaml.safe_load(path.read_text(encoding="utf-8"))
    (job,) = workflow["jobs"].values()
    return job


def replay_workflow(path: Path, clone: Path, env: dict, expressions: dict, skip=()) -> Replay:
    """Run the one job of the workflow at `path` in `clone` as GitHub Actions would, step by step.

    `run:` steps run in bash (-eo pipefail) with the step's env; after a step fails, only steps with
    `if: always()` run. actions/checkout (the clone is there) and actions/setup-python (PATH in `env`
    has the python) are taken as done, the kata's install is replaced by the `kata` on PATH, and
    upload-artifact records its path. The GitHub Classroom actions are replayed as their source does
    it: autograding-command-grader runs setup-command and command in /bin/sh with only PATH, HOME and
    three fixed variables, within `timeout` minutes, and outputs its result as base64 JSON (status
    "pass" and score max-score when the command exits 0); autograding-grading-reporter reads
    <RUNNER>_RESULTS for each runner and adds the scores up. `skip`: step names not to run (as failed).
    """
    replay = Replay()
    failed = False
    for step in workflow_job(path)["steps"]:
        key = step.get("id") or step["name"]
        condition = step.get("if")
        assert condition in (None, "always()"), f"the replay does not know the condition {condition!r}"
        if failed and condition is None:
            replay.outcomes[key] = "skipped"
            continue
        step_env = dict(env)
        for name, value in step.get("env", {}).items():
            step_env[name] = _evaluate(str(value), expressions, replay)
        uses = step.get("uses", "")
        outcome = "success"
        if step["name"] in skip:
            outcome = "failure"
        elif uses.startswith("actions/checkout@"):
            assert step["with"]["fetch-depth"] == 0  # the starting commit must be there
        elif uses.startswith("actions/setup-python@"):
            pass
        elif uses.startswith("actions/upload-artifact@"):
            replay.uploaded = clone / step["with"]["path"]
        elif uses == "classroom-resources/autograding-command-grader@v1":
            replay.grades[key], replay.seconds[key], replay.printed[key] = _grade(step["with"], clone, env)
            replay.outputs[key] = {"result": base64.b64encode(json.dumps(replay.grades[key]).encode()).decode()}
        elif uses == "classroom-resources/autograding-grading-reporter@v1":
            replay.total, passed = _report(step["with"]["runners"], step_env)
            outcome = "success" if passed else "failure"
        elif uses:
            raise AssertionError(f"the replay does not know the action {uses}")
        elif re.fullmatch(r"python -m pip install( --quiet)? -e \.", step["run"].strip()):
            pass  # the `kata` on PATH stands in for the install
        else:
            assert "${{" not in step["run"], "expressions belong in env:, not in the script"
            done = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"]],
                                  cwd=clone, env=step_env, text=True, capture_output=True)
            replay.printed[key] = done.stdout + done.stderr
            outcome = "success" if done.returncode == 0 else "failure"
        replay.outcomes[key] = outcome
        failed = failed or outcome == "failure"
    return replay


def _evaluate(text: str, expressions: dict, replay: Replay) -> str:
    def value(match):
        expression = match.group(1)
        step = re.fullmatch(r"steps\.([\w-]+)\.(outcome|outputs\.(\w+))", expression)
        if step and step.group(2) == "outcome":
            return replay.outcomes.get(step.group(1), "")
        if step:
            return replay.outputs.get(step.group(1), {}).get(step.group(3), "")
        assert expression in expressions, f"the replay does not know the expression {expression!r}"
        return expressions[expression]
    return _EXPRESSION.sub(value, text)


def _grade(inputs: dict, clone: Path, env: dict) -> tuple[dict, float, str]:
    grader_env = {name: env[name] for name in GRADER_ENVIRONMENT if name in env} | GRADER_FIXED
    timeout = float(inputs.get("timeout") or 10) * 60
    max_score = int(inputs.get("max-score") or 0)
    printed, status, message = "", "pass", ""
    started = time.monotonic()
    try:
        for command in (inputs.get("setup-command"), inputs["command"]):
            if command:
                done = subprocess.run(["/bin/sh", "-c", command], cwd=clone, env=grader_env, text=True,
                                      capture_output=True, timeout=timeout)
                printed += done.stdout + done.stderr
                if done.returncode != 0:
                    status, message = "fail", "failed with exit code 1"
                    break
    except subprocess.TimeoutExpired:
        status, message = "error", "Command timed out"
    seconds = time.monotonic() - started
    result = {"version": 1, "status": status, "max_score": max_score,
              "tests": [{"name": inputs["test-name"], "status": status,
                         "score": max_score if status == "pass" else 0, "message": message,
                         "test_code": inputs["command"], "filename": "", "line_no": 0, "duration": seconds}]}
    return result, seconds, printed


def _report(runners: str, env: dict) -> tuple[tuple[int, int], bool]:
    score = maximum = 0
    passed = True
    for runner in runners.split(","):
        results = json.loads(base64.b64decode(env[f"{runner.strip().upper()}_RESULTS"]))
        maximum += results["max_score"]
        score += sum(test["score"] for test in results["tests"])
        passed = passed and results["status"] == "pass"
    return (score, maximum), passed
