"""Classroom mode: `kata status --json` and its schema, `kata grade`, the GitHub workflows (the
progress workflow kata.yml and the grading workflow classroom.yml, replayed step by step as GitHub
Actions and GitHub Classroom's actions run them), pristine.sh, and the teachers' walkthrough run as
written. `kata class-report` has its own file, test_class_report.py."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from checker_sandbox import FAKE_TRAIN, FAKE_TRAIN_FILE, Sandbox
from classroom_helpers import replay_workflow, status, with_change, workflow_job

from checker import classroom, manifest
from checker.results import RunResult, StageResult, TestResult
from checker.schema_check import problems
from checker.project import ROOT
from checker.stages import all_stages, find_stage
from checker.status_json import (FAILURE_CHARS, failure_document, integrity_verdict, load_status,
                                 markdown_summary, schema, stage_entry, stage_state, status_document)

KATA_WORKFLOW = ROOT / ".github" / "workflows" / "kata.yml"
GRADING_WORKFLOW = ROOT / ".github" / "workflows" / "classroom.yml"
PRISTINE = ROOT / ".github" / "classroom" / "pristine.sh"
TEACHERS = ROOT / "docs" / "teachers.md"
GIT_IDENTITY = {"GIT_AUTHOR_NAME": "kata", "GIT_AUTHOR_EMAIL": "kata@example.com",
                "GIT_COMMITTER_NAME": "kata", "GIT_COMMITTER_EMAIL": "kata@example.com"}
# The `kata` command as `pip install -e .` gives it: the script of the environment the tests run in,
# which hands over to the checker of the clone it is run in (checker/project.py).
KATA_SCRIPT = Path(sys.executable).parent / "kata"


# The document and its schema -------------------------------------------------------------------


def test_the_schema_accepts_a_status_document_and_names_what_is_wrong_in_a_bad_one():
    document = status(3, "failing")
    assert problems(document, schema()) == []
    broken = {
        "$: the field 'stages_total' is missing": lambda d: d.pop("stages_total"),
        "$.stages[1].state: expected one of": lambda d: d["stages"][1].update(state="done"),
        "$.stages[0].tests_passed: expected integer, got boolean True": lambda d: d["stages"][0].update(
            tests_passed=True),
        "$: unexpected field 'score'": lambda d: d.update(score=3),
        "$.generated_at: '26/11/2026' does not match": lambda d: d.update(generated_at="26/11/2026"),
        "$.schema: expected 1, got integer 2": lambda d: d.update(schema=2),
        "$.last_training_run: expected object or null, got string": lambda d: d.update(last_training_run="runs/x"),
        "$.integrity: the field 'checked' is missing": lambda d: d.update(integrity={}),
    }
    for expected, change in broken.items():
        found = problems(with_change(document, change), schema())
        assert any(p.startswith(expected) for p in found), (expected, found)


def test_the_validator_refuses_a_schema_keyword_it_does_not_implement():
    with pytest.raises(ValueError, match="oneOf"):
        problems(1, {"oneOf": [{"type": "integer"}]})


def result_of(stage_id: str, outcomes, ran=True, problem=None) -> StageResult:
    """A StageResult with tests (name, outcome, kind, message)."""
    stage = find_stage(stage_id)
    tests = [TestResult(name, stage.task_of(name), outcome, kind, message) for name, outcome, kind, message in outcomes]
    return StageResult(stage, ran=ran, tests=tests if ran else [], expected=[t[0] for t in outcomes],
                       problem=problem)


def test_stage_states_failing_tests_and_the_shortened_first_failure():
    stub = ("test_relu_worked_example", "failed", "not_started", "relu() is not written yet")
    wrong = ("test_relu_backward_mask", "failed", "lesson", "relu_backward: wrong mask\n" + "line\n" * 20)
    good = ("test_relu_keeps_dtype", "passed", "", "")
    assert stage_state(result_of("relu", [good, good])) == "passed"
    assert stage_state(result_of("relu", [stub, stub])) == "not started"
    assert stage_state(result_of("relu", [stub, good])) == "failing"
    assert stage_state(result_of("relu", [good], problem="stopped after 30 s")) == "failing"
    assert stage_state(result_of("relu", [good], ran=False)) == "locked"

    entry = stage_entry(result_of("relu", [stub, wrong, good]))
    assert (entry["state"], entry["tests_passed"], entry["tests_total"]) == ("failing", 1, 3)
    assert entry["failing_tests"] == ["test_relu_backward_mask"]  # a stub's tests are not failures of the learner
    assert entry["first_failure"].startswith("test_relu_backward_mask: relu_backward: wrong mask\nline\n")
    assert entry["first_failure"].endswith("\n... (kata check 2 shows all of it)")
    assert len(entry["first_failure"]) <= FAILURE_CHARS + 50
    long_line = ("test_relu_backward_mask", "failed", "lesson", "x" * 5000)
    assert len(stage_entry(result_of("relu", [long_line]))["first_failure"]) <= 800  # the schema's maxLength

    locked = stage_entry(result_of("softmax", [good], ran=False))
    assert (locked["state"], locked["tests_passed"], locked["failing_tests"], locked["first_failure"]) == (
        "locked", 0, [], None)


def test_the_document_counts_stages_from_the_first_and_names_the_current_one(tmp_path, monkeypatch):
    monkeypatch.setenv("KATA_LEARNER", "alice")
    good = [("test_x_passes", "passed", "", "")]
    results = [result_of(stage.id, good) for stage in all_stages()]
    results[2] = result_of("softmax", [("test_softmax_rows", "failed", "lesson", "rows do not sum to 1")])
    results[3:] = [result_of(s.id, good, ran=False) for s in all_stages()[3:]]
    document = status_document(RunResult(results), root=tmp_path, generated_at="2026-01-02T03:04:05Z")
    assert problems(document, schema()) == []
    assert (document["stages_passed"], document["current_stage"], document["learner"]) == (2, "softmax", "alice")
    assert [s["state"] for s in document["stages"]] == ["passed", "passed", "failing"] + ["locked"] * (
        len(all_stages()) - 3)
    assert document["last_training_run"] is None
    assert document["integrity"] == {"checked": False, "reason": "checker/manifest.sha256 is missing"}

    run_dir = tmp_path / "runs" / "20250101-120000-train"
    run_dir.mkdir(parents=True)
    (run_dir / "summary.json").write_text(json.dumps(
        {"test_accuracy": 0.9812, "impl": "exercises", "run_dir": str(run_dir)}))
    document = status_document(RunResult(results), root=tmp_path)
    assert document["last_training_run"] == {"test_accuracy": 0.9812, "path": "runs/20250101-120000-train"}
    assert problems(document, schema()) == []


# kata status --json, run as a learner runs it ----------------------------------------------------


def test_status_json_prints_only_json_never_trains_and_writes_nothing(tmp_path):
    box = Sandbox(tmp_path)
    box.stand_in(FAKE_TRAIN_FILE, FAKE_TRAIN)  # would print "fake training" if it were started
    box.solve(*[stage.id for stage in all_stages()])  # the first completion: `kata` alone would train now
    done = box.kata("status", "--json")
    assert (done.returncode, done.stderr) == (0, "")
    document = json.loads(done.stdout)  # the whole of stdout is one document
    assert problems(document, schema()) == []
    assert {s["state"] for s in document["stages"]} == {"passed"}
    assert document["stages_passed"] == document["stages_total"] == len(all_stages())
    assert document["current_stage"] is None
    assert document["last_training_run"] is None
    assert not (box.path / ".kata").exists() and not (box.path / "runs").exists()



def test_status_json_runs_every_stage_also_after_one_that_does_not_pass_or_loops(tmp_path):
    """The JSON gives each stage the verdict grading gives it: stage 3 broken after stages 4-7 passed shows
    as failing with 4-7 passed, and an endless loop in stage 5 (stopped at the time limit) leaves the
    stages after it run, not locked."""
    box = Sandbox(tmp_path)
    box.solve(*[stage.id for stage in all_stages()[:7]])
    box.edit("softmax", "return", "return 2 *")  # stage 3 broken: rows no longer sum to one
    box.edit("backprop", "def dense_backward(", "def dense_backward_unused(")
    box.write(find_stage("backprop").exercise, box.read(find_stage("backprop").exercise).replace(
        "def dense_backward_unused(", "def dense_backward(*args, **kwargs):\n    while True:\n        pass\n\n\n"
                                     "def dense_backward_unused(", 1))
    # 6 s: the loop waits that long; shorter, a stub's whole suite can go over it on a loaded machine (seen at 3 s)
    done = box.kata("status", "--json", env={"KATA_TIMEOUT": "6"}, timeout=300)
    document = json.loads(done.stdout)
    assert problems(document, schema()) == [] and load_status_text(tmp_path, done.stdout)[1] is None
    states = [s["state"] for s in document["stages"]]
    assert states[:7] == ["passed", "passed", "failing", "passed", "failing", "passed", "passed"], states
    assert "stopped after 6 s" in document["stages"][4]["first_failure"]
    assert set(states[7:]) == {"not started"}  # run after the loop was stopped, in a fresh process
    assert (document["stages_passed"], document["current_stage"]) == (2, "softmax")


def load_status_text(folder: Path, text: str):
    path = folder / "status.json"
    path.write_text(text, encoding="utf-8")
    return load_status(path)


# kata grade --------------------------------------------------------------------------------------


def test_kata_grade_is_one_stage_on_its_own_with_the_verdict_as_exit_code(tmp_path):
    box = Sandbox(tmp_path)
    box.solve("one_hot", "softmax")  # stage 3 passes although stage 2 does not
    passed = box.kata("grade", "3")
    assert (passed.returncode, passed.stderr) == (0, "")  # a grader may count any stderr as a failure
    assert passed.stdout == "Stage 3 (Softmax) passes: 13 of 13 tests pass.\n"
    box.edit("softmax", "return", "return 2 *")
    failed = box.kata("grade", "softmax")
    assert failed.returncode == 1
    assert failed.stdout.startswith("Stage 3 (Softmax) does not pass (failing): ")
    assert "On your machine: kata check 3" in failed.stdout
    not_started = box.kata("grade", "2")
    assert not_started.returncode == 1 and "(not started): 0 of" in not_started.stdout
    assert box.kata("grade").returncode == 2 and box.kata("grade", "fifteen").returncode == 2
    assert not (box.path / ".kata").exists()


# The progress workflow, kata.yml, run in a clone of a learner's repository -----------------------


def git(*args, cwd: Path) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, env={**os.environ, **GIT_IDENTITY}, text=True,
                          capture_output=True, check=True)
    return done.stdout


def starting_commit(path: Path) -> Sandbox:
    """A repository whose one commit is the assignment's starting point: the kata with its stubs."""
    box = Sandbox(path)
    shutil.copytree(ROOT / ".github", path / ".github")
    shutil.copy2(ROOT / ".gitignore", path / ".gitignore")
    git("init", "-q", "-b", "main", cwd=path)
    git("add", "-A", cwd=path)
    git("commit", "-q", "-m", "Initial commit (the assignment's starting point)", cwd=path)
    return box


def learner_repository(path: Path) -> Path:
    """The assignment's starting commit, then a learner's commit: stages 1-3 solved, stage 4 with a
    mistake, stage 4's suite replaced by one that passes, and a root conftest.py."""
    box = starting_commit(path)
    box.solve("one_hot", "relu", "softmax", "cross_entropy")
    box.edit("cross_entropy", "/ n)", ")")  # the loss summed instead of averaged
    box.write("tests/test_cross_entropy.py", "def test_cross_entropy_always_passes():\n    pass\n")
    box.write("conftest.py", "open('conftest-was-loaded', 'w').close()\n")
    git("add", "-A", cwd=path)
    git("commit", "-q", "-m", "stages 1-4", cwd=path)
    return path


def actions_environment(tmp_path: Path, kata: Path = KATA_SCRIPT) -> dict:
    """The environment of a job's steps after actions/setup-python and `pip install -e .`: `python` and
    `kata` (by default the installed script, which runs the checker of the clone it is run in)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    (bin_dir / "python").symlink_to(sys.executable)
    (bin_dir / "kata").symlink_to(kata)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KATA_", "PYTEST_", "PYTHON"))}
    env.update(PATH=f"{bin_dir}{os.pathsep}{env.get('PATH', '')}", GITHUB_STEP_SUMMARY=str(tmp_path / "summary.md"),
               **GIT_IDENTITY)
    (tmp_path / "summary.md").write_text("")
    return env


EXPRESSIONS = {"github.event.repository.name": "mnist-kata-alice", "vars.KATA_START_COMMIT": ""}


def test_the_workflow_restores_the_pristine_suites_and_summarises_the_learners_progress(tmp_path):
    origin = learner_repository(tmp_path / "origin")
    clone = tmp_path / "clone"
    git("clone", "-q", str(origin), str(clone), cwd=tmp_path)
    env = actions_environment(tmp_path)

    # Before the workflow: the suites' manifest names the replaced suite, and stage 4 cannot run.
    tampered = json.loads(subprocess.run(["kata", "status", "--json"], cwd=clone, env=env, text=True,
                                         capture_output=True).stdout)
    assert tampered["integrity"] == {"checked": True, "ok": False, "modified": ["tests/test_cross_entropy.py"]}
    assert "tests/test_cross_entropy.py differs" in tampered["stages"][3]["first_failure"]
    (clone / "conftest-was-loaded").unlink(missing_ok=True)

    replay = replay_workflow(KATA_WORKFLOW, clone, env, EXPRESSIONS)
    assert set(replay.outcomes.values()) == {"success"}, replay.printed
    for suite in ("tests/test_cross_entropy.py", "tests/conftest.py"):
        assert (clone / suite).read_bytes() == (ROOT / suite).read_bytes()
    assert not (clone / "conftest.py").exists() and not (clone / "conftest-was-loaded").exists()

    document = json.loads(replay.uploaded.read_text(encoding="utf-8"))
    assert problems(document, schema()) == []
    assert document["learner"] == "mnist-kata-alice" and document["error"] is None
    assert document["integrity"] == {"checked": True, "ok": True, "modified": []}
    stage_4 = document["stages"][3]
    assert stage_4["state"] == "failing" and stage_4["failing_tests"]  # the learner's own mistake, now seen
    assert stage_4["first_failure"].startswith("test_cross_entropy_worked_example_batch_is_the_mean: ")
    summary = Path(env["GITHUB_STEP_SUMMARY"]).read_text(encoding="utf-8")
    rows = [line for line in summary.splitlines() if re.match(r"\| \d", line)]
    total_4 = stage_4["tests_total"]
    assert rows[:5] == [
        "| 1 | One-hot encoding | ✅ passed | 13 of 13 |",
        "| 2 | ReLU | ✅ passed | 12 of 12 |",
        "| 3 | Softmax | ✅ passed | 13 of 13 |",
        f"| 4 | Cross-entropy loss | ❌ failing | {stage_4['tests_passed']} of {total_4} |",
        "| 5 | Backpropagation | ⬜ not started | 0 of 20 |",
    ]
    assert len(rows) == len(all_stages())
    assert summary.startswith("### mnist-kata: 3 of")
    assert "integrity: every suite matches the kata's hash manifest" in summary

    # The same code gives the same bytes, apart from the time.
    again = subprocess.run(["kata", "status", "--json", "--no-train"], cwd=clone, text=True, capture_output=True,
                           env={**env, "KATA_LEARNER": "mnist-kata-alice"}).stdout
    without_time = re.compile(r'^  "generated_at": .*\n', re.M)
    assert without_time.sub("", again) == without_time.sub("", replay.uploaded.read_text(encoding="utf-8"))


@pytest.mark.parametrize("failure", ["kata status breaks", "the restore fails"])
def test_the_workflow_uploads_a_status_that_records_what_went_wrong(tmp_path, failure):
    """Whatever happens, the learner's kata-status.json is uploaded, and it is a status document the
    class report reads: when kata status gave none, one that records the error."""
    origin = learner_repository(tmp_path / "origin")
    clone = tmp_path / "clone"
    git("clone", "-q", str(origin), str(clone), cwd=tmp_path)
    broken = tmp_path / "broken-kata"
    broken.write_text('#!/bin/sh\necho \'{"schema": 1, "stag\'\necho "Error: internal error in the kata: '
                      'KeyError: x" >&2\nexit 3\n')
    broken.chmod(0o755)
    env = actions_environment(tmp_path, kata=broken if failure == "kata status breaks" else KATA_SCRIPT)
    expressions = dict(EXPRESSIONS)
    if failure == "the restore fails":
        expressions["vars.KATA_START_COMMIT"] = "HEAD~2"  # no such commit: pristine.sh refuses it
    replay = replay_workflow(KATA_WORKFLOW, clone, env, expressions)

    failed = "status" if failure == "kata status breaks" else "restore"
    assert replay.outcomes[failed] == "failure"
    assert replay.uploaded is not None and replay.uploaded.is_file()  # uploaded all the same
    document, why = load_status(replay.uploaded)
    assert why is None and document["learner"] == "mnist-kata-alice"
    assert {s["state"] for s in document["stages"]} == {"locked"}
    if failure == "kata status breaks":
        assert f"kata status {'failure'}" in document["error"]
        assert "its last message: Error: internal error in the kata: KeyError: x" in document["error"]
    else:
        assert "restore failure, install skipped, kata status skipped" in document["error"]
        assert "kata-status.json cannot be read" in document["error"]
    summary = Path(env["GITHUB_STEP_SUMMARY"]).read_text(encoding="utf-8")
    assert "**kata status --json did not finish**" in summary


def test_ensure_keeps_a_status_document_and_replaces_anything_else(tmp_path):
    from checker.status_json import ensure

    good = tmp_path / "good.json"
    good.write_text(json.dumps(status(3, "failing")))
    before = good.read_bytes()
    assert ensure(good, "never used") is True and good.read_bytes() == before
    bad = tmp_path / "bad.json"
    bad.write_text("")
    log = tmp_path / "log"
    log.write_text("first\n\x1b[31mError: the last line\x1b[0m\n\n")
    assert ensure(bad, "the steps: kata status failure", log) is False
    document, why = load_status(bad)
    assert why is None
    assert document["error"].startswith("the steps: kata status failure. bad.json is not JSON")
    assert document["error"].endswith("its last message: ?[31mError: the last line?[0m.")  # no escape survives
    assert problems(failure_document("x" * 5000), schema()) == []  # bounded by the schema's maxLength


def test_both_workflows_validate_against_the_github_workflow_schema():
    """check-jsonschema's built-in schema of GitHub workflows (vendored in the package: no download)."""
    check = shutil.which("check-jsonschema", path=str(Path(sys.executable).parent)) or shutil.which(
        "check-jsonschema")
    assert check, "check-jsonschema is missing: pip install -e '.[dev]'"
    done = subprocess.run([check, "--builtin-schema", "vendor.github-workflows", str(KATA_WORKFLOW),
                           str(GRADING_WORKFLOW)], text=True, capture_output=True)
    assert done.returncode == 0, done.stdout + done.stderr
    broken = GRADING_WORKFLOW.read_text(encoding="utf-8").replace("runs-on:", "runs_on:")
    invalid = subprocess.run([check, "--builtin-schema", "vendor.github-workflows", "-"], input=broken, text=True,
                             capture_output=True)
    assert invalid.returncode == 1  # the check does check


def test_the_progress_workflow_uploads_kata_status_whatever_happened():
    steps = workflow_job(KATA_WORKFLOW)["steps"]
    runs = "\n".join(step.get("run", "") for step in steps)
    assert "kata status --json --no-train > kata-status.json" in runs
    assert "bash .github/classroom/pristine.sh" in runs
    assert '>> "$GITHUB_STEP_SUMMARY"' in runs
    upload = next(step for step in steps if step.get("uses", "").startswith("actions/upload-artifact@"))
    assert upload["with"]["path"] == "kata-status.json" and upload["if"] == "always()"
    ensure_step = steps[steps.index(upload) - 2]
    assert ensure_step["if"] == "always()" and "--ensure kata-status.json" in ensure_step["run"]


def test_the_summary_gives_the_integrity_verdict():
    assert "integrity not checked: no manifest." in markdown_summary(status(2, "failing"))
    modified = with_change(status(2), lambda d: d.update(integrity={
        "checked": True, "ok": False, "modified": ["tests/test_relu.py", "checker/teach.py"]}))
    assert "integrity: modified: tests/test_relu.py, checker/teach.py." in markdown_summary(modified)


def test_integrity_names_the_files_that_differ_from_the_manifest(tmp_path):
    for path in manifest.covered_files() + [manifest.MANIFEST]:
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / path, tmp_path / path)
    assert integrity_verdict(tmp_path) == {"checked": True, "ok": True, "modified": []}
    (tmp_path / "tests/test_relu.py").write_text("def test_relu_passes():\n    pass\n")
    assert integrity_verdict(tmp_path) == {"checked": True, "ok": False, "modified": ["tests/test_relu.py"]}
    (tmp_path / manifest.MANIFEST).unlink()
    assert integrity_verdict(tmp_path) == {"checked": False, "reason": "checker/manifest.sha256 is missing"}


# The grading workflow, classroom.yml -------------------------------------------------------------


def test_the_grading_workflow_is_generated_from_the_registry_and_current():
    text = GRADING_WORKFLOW.read_text(encoding="utf-8")
    assert text == classroom.workflow(), "classroom.yml is out of date: run python -m checker.classroom"
    job = workflow_job(GRADING_WORKFLOW)
    steps = job["steps"]
    graders = [s for s in steps if s.get("uses") == classroom.GRADER]
    assert [s["with"]["command"] for s in graders] == [f"kata grade {stage.number}" for stage in all_stages()]
    for step, stage in zip(graders, all_stages()):
        # The inputs of autograding-command-grader@v1 (its action.yml): test-name, setup-command, command,
        # timeout (minutes), max-score; its output is `result`.
        assert set(step["with"]) == {"test-name", "setup-command", "command", "timeout", "max-score"}
        assert step["id"] == stage.id and step["with"]["max-score"] == 10
        assert 1 <= step["with"]["timeout"] <= 60
    reporter = steps[-1]
    assert reporter["uses"] == classroom.REPORTER
    assert reporter["with"]["runners"] == ",".join(stage.id for stage in all_stages())
    assert reporter["env"] == {f"{stage.id.upper()}_RESULTS": f"${{{{ steps.{stage.id}.outputs.result }}}}"
                               for stage in all_stages()}
    uses = [s.get("uses", "") for s in steps]
    assert uses.index("actions/setup-python@v5") < steps.index(graders[0])  # not the runner's system Python
    runs = [s.get("run", "") for s in steps[: steps.index(graders[0])]]
    assert "bash .github/classroom/pristine.sh" in runs and "python -m pip install --quiet -e ." in runs
    assert classroom.main(["--check"]) == 0


def test_optional_parts_are_left_out_of_the_grading():
    text = classroom.workflow(parts={1, 3}, points=5)
    expected = [s for s in all_stages() if s.part in (1, 3)]
    import yaml

    steps = yaml.safe_load(text)["jobs"]["run-autograding-tests"]["steps"]
    graders = [s for s in steps if s.get("uses") == classroom.GRADER]
    assert [s["with"]["test-name"] for s in graders] == [f"Stage {s.number}: {s.title}" for s in expected]
    assert {s["with"]["max-score"] for s in graders} == {5}
    assert steps[-1]["with"]["runners"] == ",".join(s.id for s in expected)


def test_grading_replayed_as_the_actions_run_it_stops_an_endless_loop_and_ignores_the_learners_pytest_files(
        tmp_path):
    """Every step of classroom.yml, in a clone of a learner's repository restored by pristine.sh: the
    endless loop of stage 2 is stopped by the kata's own limit (30 s, long before the action's) and
    scores 0; the learner's root conftest.py (which makes every test pass when pytest loads it) and
    pytest.py (a fake pytest that says all passed) change no score."""
    origin = tmp_path / "origin"
    box = starting_commit(origin)
    box.solve("one_hot", "relu", "softmax", "cross_entropy")
    box.edit("relu", "def relu(", "def relu_unused(")
    box.write(find_stage("relu").exercise, box.read(find_stage("relu").exercise).replace(
        "def relu_unused(", "def relu(z):\n    while True:\n        pass\n\n\ndef relu_unused(", 1))
    box.edit("cross_entropy", "/ n)", ")")  # the loss summed instead of averaged
    box.write("conftest.py", "import pytest\n\n\n@pytest.hookimpl(hookwrapper=True)\n"
                             "def pytest_runtest_makereport(item, call):\n    outcome = yield\n"
                             "    outcome.get_result().outcome = 'passed'\n")
    box.write("pytest.py", "import sys\nprint('14 passed')\nsys.exit(0)\n")
    git("add", "-A", cwd=origin)
    git("commit", "-q", "-m", "stages 1-4, and help from pytest", cwd=origin)
    clone = tmp_path / "clone"
    git("clone", "-q", str(origin), str(clone), cwd=tmp_path)
    env = actions_environment(tmp_path)
    # Loaded by pytest as the old grading ran it, the learner's files pass stage 4:
    assert subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", find_stage(4).tests],
                          cwd=clone, env=env, capture_output=True).returncode == 0

    replay = replay_workflow(GRADING_WORKFLOW, clone, env, EXPRESSIONS)

    scores = {stage.id: replay.grades[stage.id]["tests"][0]["score"] for stage in all_stages()}
    expected = {stage.id: 10 if stage.id in ("one_hot", "softmax") else 0 for stage in all_stages()}
    assert scores == expected, {k: replay.printed.get(k) for k in scores if scores[k] != expected[k]}
    assert replay.total == (20, 140)
    assert replay.outcomes["Autograding Reporter"] == "failure"  # as the reporter does when a test fails
    assert "stopped after 30 s: is there an endless loop in relu()?" in replay.printed["relu"]
    assert replay.grades["relu"]["tests"][0]["message"] != "Command timed out"  # the kata stopped it, not the action
    assert replay.seconds["relu"] < 60 * 5
    assert not (clone / "conftest.py").exists() and not (clone / "pytest.py").exists()


# pristine.sh -------------------------------------------------------------------------------------


def test_pristine_script_refuses_a_first_commit_that_is_not_the_kata_and_takes_a_named_one(tmp_path):
    def commit(files: dict, message: str) -> str:
        for name, text in files.items():
            (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
            (tmp_path / name).write_text(text)
        git("add", "-A", cwd=tmp_path)
        git("commit", "-q", "-m", message, cwd=tmp_path)
        return git("rev-parse", "HEAD", cwd=tmp_path).strip()

    git("init", "-q", cwd=tmp_path)
    commit({"README.md": "history before the assignment\n"}, "an old first commit")
    start = commit({"checker/stages.toml": "", "tests/test_a.py": "pristine\n", "pyproject.toml": ""}, "assignment")
    commit({"tests/test_a.py": "tampered\n"}, "learner")
    env = {k: v for k, v in os.environ.items() if not k.startswith("KATA_")}
    refused = subprocess.run(["bash", str(PRISTINE)], cwd=tmp_path, env=env, text=True, capture_output=True)
    assert refused.returncode == 1 and "is not the kata's starting point" in refused.stderr
    assert (tmp_path / "tests/test_a.py").read_text() == "tampered\n"
    named = subprocess.run(["bash", str(PRISTINE)], cwd=tmp_path, env={**env, "KATA_START_COMMIT": start}, text=True,
                           capture_output=True)
    assert named.returncode == 0, named.stderr
    assert (tmp_path / "tests/test_a.py").read_text() == "pristine\n"


@pytest.fixture(scope="module")
def assignment(tmp_path_factory) -> Path:
    """A repository whose one commit is the assignment's starting point, to clone for each learner."""
    return starting_commit(tmp_path_factory.mktemp("assignment")).path


MARK = "open('LOADED', 'w').close()\n"
# file -> (its content, a command that loads it from the top of the clone, as Python, pip or pytest would)
HOSTILE_FILES = {
    "sitecustomize.py": (MARK, ["python", "-c", "pass"], {"PYTHONPATH": "."}),  # any tool that puts the clone on the path
    "usercustomize.py": (MARK, ["python", "-c", "import usercustomize"], {}),
    "pytest.py": (MARK, ["python", "-m", "pytest", "--version"], {}),
    "numpy.py": (MARK, ["python", "-c", "import numpy"], {}),
    "json.py": (MARK, ["python", "-m", "checker.status_json", "--summary", "x.json"], {}),  # as kata.yml runs it
    "yaml/__init__.py": (MARK, ["python", "-c", "import yaml"], {}),
    "learner.pth": ("import os; open('LOADED', 'w').close()\n",
                    ["python", "-c", "import site; site.addsitedir('.')"], {}),
    "setup.py": (MARK, ["python", "-c", "import setuptools.build_meta as b; b.get_requires_for_build_editable()"],
                 {}),  # what pip install -e . asks the build backend first
    "conftest.py": (MARK, ["python", "-m", "pytest", "--co", "-q", "-p", "no:cacheprovider", "tests/test_relu.py"],
                    {}),
    "pytest.ini": ("[pytest]\naddopts = --junitxml=LOADED\n",
                   ["python", "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/test_relu.py"], {}),
    ".pytest.ini": ("[pytest]\naddopts = --junitxml=LOADED\n",
                    ["python", "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/test_relu.py"], {}),
}


@pytest.mark.parametrize("hostile", sorted(HOSTILE_FILES))
def test_pristine_removes_each_top_level_file_python_pip_or_pytest_would_load(assignment, tmp_path, hostile):
    """Each file, added by a learner at the top of the clone, makes a difference (it runs, or pytest reads
    it) until pristine.sh has run, and none after."""
    content, command, extra_env = HOSTILE_FILES[hostile]
    clone = tmp_path / "clone"
    git("clone", "-q", str(assignment), str(clone), cwd=tmp_path)
    (clone / hostile).parent.mkdir(parents=True, exist_ok=True)
    (clone / hostile).write_text(content)
    git("add", "-A", cwd=clone)
    git("commit", "-q", "-m", f"a {hostile}", cwd=clone)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KATA_", "PYTEST_", "PYTHON"))}
    env.update(extra_env)
    command = [sys.executable if word == "python" else word for word in command]

    subprocess.run(command, cwd=clone, env=env, capture_output=True, timeout=120)
    assert (clone / "LOADED").exists(), f"the probe does not load {hostile}: it would prove nothing"
    (clone / "LOADED").unlink()

    done = subprocess.run(["bash", str(PRISTINE)], cwd=clone, env=env, text=True, capture_output=True)
    assert done.returncode == 0, done.stderr
    assert "Removed from the top of the clone" in done.stdout and hostile.split("/")[0] in done.stdout
    subprocess.run(command, cwd=clone, env=env, capture_output=True, timeout=120)
    assert not (clone / "LOADED").exists(), f"{hostile} still makes a difference after pristine.sh"
    assert not (clone / hostile.split("/")[0]).exists()


def test_pristine_leaves_the_learners_code_and_restores_the_kata_files(assignment, tmp_path):
    clone = tmp_path / "clone"
    git("clone", "-q", str(assignment), str(clone), cwd=tmp_path)
    (clone / "exercises" / "relu.py").write_text("# my relu\n")
    (clone / "notes.md").write_text("my notes\n")
    (clone / "notes").mkdir()
    (clone / "notes" / "ideas.py").write_text("x = 1\n")  # a folder without __init__.py cannot shadow a module
    (clone / "pyproject.toml").write_text("[project]\nname = 'mine'\n")
    (clone / "tox.ini").write_text("[pytest]\n")
    (clone / "setup.cfg").write_text("[tool:pytest]\n")
    git("add", "-A", cwd=clone)
    git("commit", "-q", "-m", "work", cwd=clone)
    done = subprocess.run(["bash", str(PRISTINE)], cwd=clone, text=True, capture_output=True,
                          env={k: v for k, v in os.environ.items() if not k.startswith("KATA_")})
    assert done.returncode == 0, done.stderr
    assert (clone / "exercises" / "relu.py").read_text() == "# my relu\n"
    assert (clone / "notes.md").exists() and (clone / "notes" / "ideas.py").exists()
    assert (clone / "pyproject.toml").read_bytes() == (ROOT / "pyproject.toml").read_bytes()
    assert not (clone / "tox.ini").exists() and not (clone / "setup.cfg").exists()


# The teachers' walkthrough, run as written -------------------------------------------------------


def walkthrough_script() -> str:
    """The code block of docs/teachers.md's "Try it with three simulated learners", verbatim."""
    text = TEACHERS.read_text(encoding="utf-8")
    section = text[text.index("## Try it with three simulated learners"):]
    return re.search(r"```bash\n(.*?)```", section, re.S).group(1)


def test_the_teachers_walkthrough_runs_as_written_and_shows_each_learners_real_progress(tmp_path):
    """The walkthrough's commands, run verbatim by bash in a copy of the kata made a one-commit
    `assignment` branch, with `kata` on PATH as the installed script, and its prose checked against
    what they print."""
    assert KATA_SCRIPT.is_file(), f"{KATA_SCRIPT} is missing: install the kata (pip install -e .)"
    kata = tmp_path / "mnist-kata"
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                            capture_output=True, check=True).stdout.decode().split("\0")
    for name in filter(None, listed):
        if (ROOT / name).is_file():
            (kata / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, kata / name)
    git("init", "-q", "-b", "assignment", cwd=kata)
    git("add", "-A", cwd=kata)
    git("commit", "-q", "-m", "mnist-kata assignment", cwd=kata)
    script = tmp_path / "walkthrough.sh"
    script.write_text(walkthrough_script(), encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KATA_", "PYTEST_", "PYTHON"))}
    env.update(PATH=f"{KATA_SCRIPT.parent}{os.pathsep}{env.get('PATH', '')}", MPLBACKEND="Agg", **GIT_IDENTITY)
    done = subprocess.run(["bash", str(script)], cwd=kata, env=env, text=True, capture_output=True, timeout=900)
    out = done.stdout
    assert done.returncode == 0, out + done.stderr

    summaries = re.findall(r"^### mnist-kata: (\d+) of (\d+) stages pass\n(.*?)\n\nSuites restored", out, re.S | re.M)
    assert [(int(a), int(b)) for a, b, _ in summaries] == [(0, 14), (3, 14), (14, 14)], out
    rows = [re.findall(r"^\| (\d+) \| [^|]+ \| \S+ ([a-z ]+) \| (.*) \|$", table, re.M) for *_, table in summaries]
    ana, ben, cleo = ({int(n): (state, tests) for n, state, tests in stage_rows} for stage_rows in rows)
    assert {state for state, _ in ana.values()} == {"not started"}
    assert [ben[n][0] for n in (1, 2, 3, 4)] == ["passed", "passed", "passed", "failing"]
    assert {cleo[n][0] for n in cleo} == {"passed"} and len(cleo) == len(all_stages())
    assert out.count("integrity: every suite matches the kata's hash manifest") == 3  # Ben's suite restored

    prose = TEACHERS.read_text(encoding="utf-8").split("## Try it with three simulated learners")[1].split("## ")[0]
    said = re.search(r"stage 4 failing, (\d+ of \d+) tests", prose).group(1)
    assert ben[4][1] == said, f"the walkthrough says {said!r}, Ben's summary {ben[4][1]!r}"
    assert f"Cleo passes all {len(all_stages())} stages" in prose
    assert f"0 of {len(all_stages())} stages" in prose
    assert "Stage 4 (Cross-entropy loss) does not pass (failing)" in out
    assert "exit code 1: no points for stage 4" in out

    assert "Read the status files of 3 learners.\n" in out
    assert re.search(r"^\s+1  at stage 1 \(One-hot encoding\)\n\s+1  at stage 4 \(Cross-entropy loss\)\n"
                     r"\s+1  pass every stage$", out, re.M), out
    assert "Wrote class/class-report.csv and class/class-report.png." in out
    assert (kata / "class" / "class-report.png").is_file() and (kata / "class" / "class-report.csv").is_file()
