"""`kata` remembers verdicts (checker/verdicts.py): a stage runs again only when a file it depends on
changed; what a time limit, a crash or an edited store decided is never reused."""

from __future__ import annotations

import json

import pytest

from checker_sandbox import Sandbox, plain

from checker import runner, verdicts
from checker.results import RunResult
from checker.stages import all_stages, find_stage


@pytest.fixture
def box(tmp_path):
    box = Sandbox(tmp_path)
    box.solve("one_hot", "relu", "softmax", "cross_entropy", "backprop", "init", "gradient_descent",
              "regularization", "dropout", "optimizers", "deep")
    return box


def runs_of(monkeypatch) -> list[list[str]]:
    """The stage ids of every runner.run_stages call from now on."""
    calls = []
    real = runner.run_stages

    def recording(stages, **options):
        calls.append([stage.id for stage in stages])
        return real(stages, **options)

    monkeypatch.setattr(runner, "run_stages", recording)
    return calls


def test_only_what_changed_runs_again(box, monkeypatch):
    calls = runs_of(monkeypatch)
    first = verdicts.run_stages(all_stages(), root=box.path)
    assert calls == [[s.id for s in all_stages()]], "the first run: every stage (the runner stops at the first failure)"
    assert [r.passed for r in first.stages[:11]] == [True] * 11 and not first.stages[11].passed
    again = verdicts.run_stages(all_stages(), root=box.path)
    assert calls[1:] == [], "nothing changed: every verdict is reused"
    assert [r.passed for r in again.stages] == [r.passed for r in first.stages]
    assert [(t.name, t.outcome) for t in again.stages[11].tests] == [(t.name, t.outcome) for t in first.stages[11].tests]

    box.edit("softmax", "import numpy as np", "import numpy as np  # an edit")
    verdicts.run_stages(all_stages(), root=box.path)
    # softmax's own stage, and the stages whose code imports it (backprop and deep, through their imports)
    assert calls[1] == ["softmax", "backprop", "deep"], calls[1]


def test_a_module_a_suite_reaches_counts_for_its_stage(box, monkeypatch):
    verdicts.run_stages(all_stages(), root=box.path)
    calls = runs_of(monkeypatch)
    box.edit("dropout", "import numpy as np", "import numpy as np  # an edit")
    verdicts.run_stages(all_stages(), root=box.path)
    assert calls == [["dropout", "deep"]], calls  # stage 11's suite calls the learner's dropout_forward


def test_a_stage_that_breaks_locks_the_remembered_ones_after_it(box, monkeypatch):
    verdicts.run_stages(all_stages(), root=box.path)
    box.edit("relu", "return np.maximum(z, 0)", "return np.maximum(z, 1)")
    result = verdicts.run_stages(all_stages(), root=box.path)
    assert [r.passed for r in result.stages[:3]] == [True, False, False]
    assert not any(r.ran for r in result.stages[2:]), "after the first stage that fails, everything is locked"


def test_a_dynamic_import_makes_every_exercise_file_count(box, monkeypatch):
    box.edit("init", "import numpy as np", "import importlib\nimport numpy as np")
    verdicts.run_stages(all_stages(), root=box.path)
    calls = runs_of(monkeypatch)
    box.edit("one_hot", "import numpy as np", "import numpy as np  # an edit")
    verdicts.run_stages(all_stages(), root=box.path)
    assert calls[0][:2] == ["one_hot", "init"], calls


def test_a_change_of_the_checker_runs_everything_again(box, monkeypatch):
    verdicts.run_stages(all_stages(), root=box.path)
    calls = runs_of(monkeypatch)
    (box.path / "checker" / "term.py").write_text((box.path / "checker" / "term.py").read_text() + "\n# changed\n")
    verdicts.run_stages(all_stages(), root=box.path)
    assert calls == [[s.id for s in all_stages()]], calls


def test_an_edited_verdict_is_not_believed(box, monkeypatch):
    box.edit("relu", "return np.maximum(z, 0)", "return np.maximum(z, 1)")
    verdicts.run_stages(all_stages(), root=box.path)
    store = box.path / ".kata" / "verdicts.json"
    data = json.loads(store.read_text())
    for test in data["stages"]["relu"]["result"]["tests"]:
        test[2], test[3], test[4] = "passed", "", ""  # every test "passed"
    store.write_text(json.dumps(data))
    calls = runs_of(monkeypatch)
    result = verdicts.run_stages(all_stages(), root=box.path)
    assert calls and calls[0][0] == "relu", "an edited verdict is run again"
    assert not result.stages[1].passed


def test_a_time_limit_or_a_crash_is_never_remembered(box, monkeypatch):
    stage = find_stage("relu")
    monkeypatch.setattr(runner, "run_stages", lambda stages, **options: RunResult(
        [verdicts.StageResult(s, ran=True, expected=["t"], problem="stopped after 30 s: is there an endless loop?")
         for s in stages]))
    verdicts.run_stages([stage], root=box.path)
    assert verdicts.Store(box.path).get(stage, verdicts.fingerprint(stage, box.path)) is None


def test_kata_all_and_the_json_status_run_every_suite(box):
    assert box.kata("--no-train").returncode == 1
    store = box.path / ".kata" / "verdicts.json"
    before = store.read_bytes()
    box.edit("relu", "return np.maximum(z, 0)", "return np.maximum(z, 0)  # same")
    status = box.kata("status", "--json")
    assert json.loads(status.stdout)["stages_passed"] == 11 and store.read_bytes() == before, \
        "kata status --json runs every suite and leaves .kata/ untouched"
    fresh = box.kata("--all", "--no-train")
    assert fresh.returncode == 1 and "11/14 stages" in plain(fresh.stdout)
