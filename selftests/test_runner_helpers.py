"""A suite run that never ends fails alone: selftests/runner_helpers.py gives every job its own limits."""

import runner_helpers
from checker.project import ROOT
from runner_helpers import run_suites

RELU = (ROOT / "solutions" / "relu.py").read_text(encoding="utf-8")


def package(parent, name, relu_source=RELU):
    """A copy of the reference's relu stage, as package `name`."""
    (parent / name).mkdir()
    (parent / name / "__init__.py").write_text("")
    (parent / name / "relu.py").write_text(relu_source, encoding="utf-8")
    return {"package": name, "tests": "tests/test_relu.py"}


def test_a_job_over_its_cpu_or_wall_time_fails_alone_and_the_jobs_after_it_run(tmp_path, monkeypatch):
    monkeypatch.setattr(runner_helpers, "JOB_CPU_SECONDS", 2)
    monkeypatch.setattr(runner_helpers, "JOB_WALL_SECONDS", 12)
    looping = RELU.replace("    return np.maximum(z, 0)\n", "    while True:\n        pass\n")
    sleeping = RELU.replace("    return np.maximum(z, 0)\n", "    import time\n    time.sleep(3600)\n")
    jobs = [package(tmp_path, "kata_first"), package(tmp_path, "kata_looping", looping),
            package(tmp_path, "kata_between"), package(tmp_path, "kata_sleeping", sleeping), package(tmp_path, "kata_last")]
    first, looped, between, slept, last = run_suites(tmp_path, jobs, tmp_path)
    for result in (first, between, last):
        assert result["exit_code"] == 0 and not result.get("problem"), result
    assert looped["package"] == "kata_looping" and looped["exit_code"] is None
    assert looped["problem"].startswith("it timed out: it used up its 2 s of CPU time in "), looped["problem"]
    assert slept["package"] == "kata_sleeping" and slept["exit_code"] is None
    assert slept["problem"] == "it timed out: no result after 12 s (wall clock), and was stopped", slept["problem"]
    assert slept["errors"] == {"the run": slept["problem"]}  # what tests that print the errors show
