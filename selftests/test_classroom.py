"""Classroom mode: `kata status --json`, its schema, the GitHub workflow and autograding files, and
`kata class-report`, checked as a teacher's CI and a teacher would use them."""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml  # dev extra: the workflow is parsed as GitHub parses it
from checker_sandbox import FAKE_TRAIN, FAKE_TRAIN_FILE, Sandbox
from classroom_helpers import fabricated_class, status, with_change

from checker import classroom, cli, manifest
from checker.results import RunResult, StageResult, TestResult
from checker.schema_check import problems
from checker.project import ROOT
from checker.stages import all_stages, find_stage
from checker.status_json import (FAILURE_CHARS, integrity_verdict, load_status, markdown_summary, schema,
                                 stage_entry, stage_state, status_document)

WORKFLOW = ROOT / ".github" / "workflows" / "kata.yml"
GIT_IDENTITY = {"GIT_AUTHOR_NAME": "kata", "GIT_AUTHOR_EMAIL": "kata@example.com",
                "GIT_COMMITTER_NAME": "kata", "GIT_COMMITTER_EMAIL": "kata@example.com"}


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


# The GitHub workflow, run in a clone of a learner's repository -----------------------------------


def git(*args, cwd: Path) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, env={**os.environ, **GIT_IDENTITY}, text=True,
                          capture_output=True, check=True)
    return done.stdout


def learner_repository(path: Path) -> Path:
    """The assignment's starting commit (the kata with its stubs), then a learner's commit: stages 1-3
    solved, stage 4 with a mistake, stage 4's suite replaced by one that passes, and a root conftest.py."""
    box = Sandbox(path)
    shutil.copytree(ROOT / ".github", path / ".github")
    shutil.copy2(ROOT / ".gitignore", path / ".gitignore")
    git("init", "-q", "-b", "main", cwd=path)
    git("add", "-A", cwd=path)
    git("commit", "-q", "-m", "Initial commit (the assignment's starting point)", cwd=path)
    box.solve("one_hot", "relu", "softmax", "cross_entropy")
    box.edit("cross_entropy", "/ n)", ")")  # the loss summed instead of averaged
    box.write("tests/test_cross_entropy.py", "def test_cross_entropy_always_passes():\n    pass\n")
    box.write("conftest.py", "open('conftest-was-loaded', 'w').close()\n")
    git("add", "-A", cwd=path)
    git("commit", "-q", "-m", "stages 1-4", cwd=path)
    return path


def workflow_steps() -> list[dict]:
    workflow = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    triggers = workflow.get("on", workflow.get(True))  # YAML 1.1 reads a bare `on` as true
    assert "push" in triggers
    (job,) = workflow["jobs"].values()
    return job["steps"]


def test_the_workflow_restores_the_pristine_suites_and_summarises_the_learners_progress(tmp_path):
    origin = learner_repository(tmp_path / "origin")
    clone = tmp_path / "clone"
    git("clone", "-q", str(origin), str(clone), cwd=tmp_path)
    bin_dir = tmp_path / "bin"  # what `pip install -e .` gives: a `kata` command, and the python
    bin_dir.mkdir()
    (bin_dir / "python").symlink_to(sys.executable)
    (bin_dir / "kata").write_text(f'#!/bin/sh\nexec "{sys.executable}" -m checker "$@"\n')
    (bin_dir / "kata").chmod(0o755)
    summary = tmp_path / "summary.md"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KATA_", "PYTEST_"))}
    env.update(PATH=f"{bin_dir}{os.pathsep}{env.get('PATH', '')}", GITHUB_STEP_SUMMARY=str(summary), **GIT_IDENTITY)
    expressions = {"${{ github.event.repository.name }}": "mnist-kata-alice", "${{ vars.KATA_START_COMMIT }}": ""}

    # Before the workflow: the suites' manifest names the replaced suite, and stage 4 cannot run.
    tampered = json.loads(subprocess.run(["kata", "status", "--json"], cwd=clone, env=env, text=True,
                                         capture_output=True).stdout)
    assert tampered["integrity"] == {"checked": True, "ok": False, "modified": ["tests/test_cross_entropy.py"]}
    assert "tests/test_cross_entropy.py differs" in tampered["stages"][3]["first_failure"]
    (clone / "conftest-was-loaded").unlink(missing_ok=True)

    uploaded = None
    for step in workflow_steps():
        uses = step.get("uses", "")
        if uses.startswith("actions/checkout@"):
            assert step["with"]["fetch-depth"] == 0  # the starting commit must be there
        elif uses.startswith("actions/upload-artifact@"):
            uploaded = clone / step["with"]["path"]
        elif uses.startswith("actions/setup-python@"):
            pass
        elif step.get("id") == "install":
            assert re.fullmatch(r"python -m pip install( --quiet)? -e \.", step["run"].strip())  # bin_dir stands in
        else:
            step_env = dict(env)
            for name, value in step.get("env", {}).items():
                step_env[name] = expressions.get(str(value), str(value))
            assert "${{" not in step["run"]
            done = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"]], cwd=clone,
                                  env=step_env, text=True, capture_output=True)
            assert done.returncode == 0, f"step {step['name']!r} failed:\n{done.stdout}\n{done.stderr}"

    for suite in ("tests/test_cross_entropy.py", "tests/conftest.py"):
        assert (clone / suite).read_bytes() == (ROOT / suite).read_bytes()
    assert not (clone / "conftest.py").exists() and not (clone / "conftest-was-loaded").exists()

    document = json.loads(uploaded.read_text(encoding="utf-8"))
    assert problems(document, schema()) == []
    assert document["learner"] == "mnist-kata-alice"
    assert document["integrity"] == {"checked": True, "ok": True, "modified": []}
    stage_4 = document["stages"][3]
    assert stage_4["state"] == "failing" and stage_4["failing_tests"]  # the learner's own mistake, now seen
    assert stage_4["first_failure"].startswith("test_cross_entropy_worked_example_batch_is_the_mean: ")
    rows = [line for line in summary.read_text(encoding="utf-8").splitlines() if re.match(r"\| \d", line)]
    total_4 = stage_4["tests_total"]
    assert rows[:5] == [
        "| 1 | One-hot encoding | ✅ passed | 13 of 13 |",
        "| 2 | ReLU | ✅ passed | 12 of 12 |",
        "| 3 | Softmax | ✅ passed | 13 of 13 |",
        f"| 4 | Cross-entropy loss | ❌ failing | {stage_4['tests_passed']} of {total_4} |",
        "| 5 | Backpropagation | 🔒 locked |  |",
    ]
    assert len(rows) == len(all_stages())
    assert summary.read_text(encoding="utf-8").startswith("### mnist-kata: 3 of")
    assert "integrity: every suite matches the kata's hash manifest" in summary.read_text(encoding="utf-8")

    # The same code gives the same bytes, apart from the time.
    again = subprocess.run(["kata", "status", "--json", "--no-train"], cwd=clone, text=True, capture_output=True,
                           env={**env, "KATA_LEARNER": "mnist-kata-alice"}).stdout
    without_time = re.compile(r'^  "generated_at": .*\n', re.M)
    assert without_time.sub("", again) == without_time.sub("", uploaded.read_text(encoding="utf-8"))


def test_the_workflow_runs_kata_status_and_uploads_its_json():
    steps = workflow_steps()
    runs = "\n".join(step.get("run", "") for step in steps)
    assert "kata status --json --no-train > kata-status.json" in runs
    assert "bash .github/classroom/pristine.sh" in runs
    assert '>> "$GITHUB_STEP_SUMMARY"' in runs
    upload = next(step for step in steps if step.get("uses", "").startswith("actions/upload-artifact@"))
    assert upload["with"]["path"] == "kata-status.json"


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


# Autograding -----------------------------------------------------------------------------------


def test_autograding_json_is_generated_from_the_registry_and_current():
    path = ROOT / ".github" / "classroom" / "autograding.json"
    assert path.read_text(encoding="utf-8") == classroom.render(classroom.autograding()), \
        "autograding.json is out of date: run python -m checker.classroom"
    tests = json.loads(path.read_text(encoding="utf-8"))["tests"]
    assert [t["run"] for t in tests] == [f"pytest {stage.tests}" for stage in all_stages()]
    for test in tests:
        assert set(test) == {"name", "setup", "run", "input", "output", "comparison", "timeout", "points"}
        assert isinstance(test["points"], int) and test["points"] > 0
        assert (ROOT / test["run"].split()[1]).is_file()
    assert len({t["name"] for t in tests}) == len(tests)
    assert "pristine.sh" in tests[0]["setup"] and "pip install" in tests[0]["setup"]
    assert all(t["setup"] == "" for t in tests[1:])


def test_optional_parts_are_left_out_of_the_grading():
    graded = classroom.autograding(parts={1, 3}, points=5)["tests"]
    expected = [s for s in all_stages() if s.part in (1, 3)]
    assert [t["name"] for t in graded] == [f"Stage {s.number}: {s.title}" for s in expected]
    assert {t["points"] for t in graded} == {5}
    assert "pristine.sh" in graded[0]["setup"]


# kata class-report -----------------------------------------------------------------------------


def test_class_report_of_50_learners_with_foreign_and_broken_files(tmp_path, capsys):
    learners = fabricated_class(50)
    for document in learners[:48]:
        (tmp_path / f"{document['learner']}.json").write_text(json.dumps(document))
    for name, document in (("alice", learners[48]), ("bob", learners[49])):  # as downloaded artifacts
        document["learner"] = None
        (tmp_path / name).mkdir()
        (tmp_path / name / "kata-status.json").write_text(json.dumps(document))
    (tmp_path / "broken.json").write_text('{"schema": 1, "stages": [')
    (tmp_path / "package.json").write_text('{"name": "something else"}')
    (tmp_path / "future.json").write_text(json.dumps(with_change(learners[0], lambda d: d.update(schema=2))))
    (tmp_path / "bad-state.json").write_text(json.dumps(with_change(
        learners[0], lambda d: d["stages"][0].update(state="finished"))))

    assert cli.main(["class-report", str(tmp_path)]) == 0
    out, err = capsys.readouterr()
    skipped = sorted(re.findall(r"^skipped (\S+): it (.*)$", err, re.M))
    assert [name for name, _ in skipped] == ["bad-state.json", "broken.json", "future.json", "package.json"]
    reasons = dict(skipped)
    assert reasons["broken.json"].startswith("is not JSON")
    assert reasons["package.json"] == "is JSON, but not the output of kata status --json"
    assert reasons["future.json"].startswith("has schema 2")
    assert "$.stages[0].state" in reasons["bad-state.json"]
    assert out.startswith("Read the status files of 50 learners (4 other files skipped).\n"
                          "Where learners are: ")

    with (tmp_path / "class-report.csv").open(encoding="utf-8") as file:
        rows = list(csv.DictReader(file))
    assert len(rows) == 50
    assert {"alice", "bob", "learner-00"} <= {row["learner"] for row in rows}
    ids = [stage.id for stage in all_stages()]
    assert list(rows[0])[-len(ids):] == ids
    by_name = {row["learner"]: row for row in rows}
    for document in learners[:48]:
        assert [by_name[document["learner"]][i] for i in ids] == [s["state"] for s in document["stages"]]
        assert by_name[document["learner"]]["stages_passed"] == str(document["stages_passed"])

    # The most failing tests, each learner counted once: the counts the report prints come from the files.
    failing = {}
    for document in learners:
        for stage in document["stages"]:
            for test in stage["failing_tests"]:
                failing[(stage["number"], test)] = failing.get((stage["number"], test), 0) + 1
    top = max(failing.values())
    printed = re.findall(r"^\s+(\d+)  stage (\d+)  (\S+)$", out, re.M)
    assert printed and int(printed[0][0]) == top
    assert all(failing[(int(number), test)] == int(count) for count, number, test in printed)

    png = (tmp_path / "class-report.png").read_bytes()
    assert png.startswith(b"\x89PNG") and len(png) > 20_000


def test_class_report_without_status_files_or_folder_says_what_to_do(tmp_path, capsys):
    (tmp_path / "notes.json").write_text("[]")
    assert cli.main(["class-report", str(tmp_path)]) == 1
    assert "Error: no kata status --json file in" in capsys.readouterr().err
    assert cli.main(["class-report", str(tmp_path / "missing")]) == 2
    assert "is not a folder" in capsys.readouterr().err


def test_load_status_reads_what_kata_status_writes(tmp_path):
    path = tmp_path / "s.json"
    path.write_text(json.dumps(status(7)))
    document, why = load_status(path)
    assert why is None and document["stages_passed"] == 7


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
    script = str(ROOT / ".github" / "classroom" / "pristine.sh")
    env = {k: v for k, v in os.environ.items() if not k.startswith("KATA_")}
    refused = subprocess.run(["bash", script], cwd=tmp_path, env=env, text=True, capture_output=True)
    assert refused.returncode == 1 and "is not the kata's starting point" in refused.stderr
    assert (tmp_path / "tests/test_a.py").read_text() == "tampered\n"
    named = subprocess.run(["bash", script], cwd=tmp_path, env={**env, "KATA_START_COMMIT": start}, text=True,
                           capture_output=True)
    assert named.returncode == 0, named.stderr
    assert (tmp_path / "tests/test_a.py").read_text() == "pristine\n"
