"""Run stage suites against several packages inside one Python process (Python and pytest start once).

    python selftests/run_suites.py PACKAGES_DIR JOBS.json [CPU_SECONDS]

JOBS.json is a list of {"package": ..., "tests": "tests/test_<module>.py"}. Prints one JSON line per
job, as soon as the job is done, with the package, the suite's file ("suite"), pytest's exit code, every failed test with its message, any
error raised while collecting or setting up tests, every test in run order with its outcome and the
(kind, message) that `kata` itself would show for it (checker.results_plugin.describe), so that the
report can be rebuilt from it without running the suite again, and the CPU and wall seconds it took.
Starting a process per package would cost over a second each; this costs a fraction of that.

Each job may use CPU_SECONDS of CPU time (none: no limit); a job over it ends this process with
exit code OUT_OF_CPU, and selftests/runner_helpers.py reports that job alone and runs the rest in a
new process. NumPy's BLAS runs on the kata's thread count (checker/threads.py), as `kata` does.
"""

import json
import os
import signal
import sys
import time

import pytest

from checker.results_plugin import describe
from checker.threads import blas_threads

OUT_OF_CPU = 75  # exit code: the running job used up its CPU time


class FailureRecorder:
    def __init__(self):
        self.failures = {}  # test name -> message, for failures in the test itself
        self.errors = {}  # test or file -> message, for failures while collecting or setting up
        self.tests = {}  # test name -> {"outcome", "kind", "message"}, in run order, as kata's report sees it

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item, call):
        report = (yield).get_result()
        name = item.nodeid.split("::")[-1]
        entry = self.tests.setdefault(name, {"outcome": "passed", "kind": "", "message": ""})
        if report.failed and entry["outcome"] != "failed":
            kind, message = describe(call.excinfo.value) if call.excinfo else ("error", str(report.longrepr))
            entry.update(outcome="failed", kind=kind, message=message)
        elif report.skipped and entry["outcome"] == "passed":
            entry["outcome"] = "skipped"

    def pytest_runtest_logreport(self, report):
        if report.failed:
            text = report.longrepr if isinstance(report.longrepr, str) else str(report.longrepr)
            target = self.failures if report.when == "call" else self.errors
            target[report.nodeid.split("::", 1)[-1]] = text[-2000:]

    def pytest_collectreport(self, report):
        if report.failed:
            self.errors[report.nodeid] = str(report.longrepr)[-2000:]


def limit_cpu(seconds: float) -> None:
    """End this process with OUT_OF_CPU once it has used `seconds` more CPU time from now (0: no limit).

    ITIMER_PROF counts the CPU time of every thread of the process, user and system. Its handler
    runs between two Python bytecodes; the parent's wall-clock limit covers a job stuck in C code."""
    if hasattr(signal, "setitimer"):  # not on Windows: the wall-clock limit only
        signal.signal(signal.SIGPROF, lambda signum, frame: os._exit(OUT_OF_CPU))
        signal.setitimer(signal.ITIMER_PROF, seconds)


def main(packages_dir, jobs_file, cpu_seconds=""):
    # Results go out on the original stdout, one line per job; whatever else writes to stdout (a
    # test's print, a warning) goes to stderr, so that it cannot be mistaken for a result.
    results = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)
    sys.path.insert(0, packages_dir)
    os.environ["KATA_HYPOTHESIS_PROFILE"] = "mutants"
    with open(jobs_file, encoding="utf-8") as f:
        jobs = json.load(f)
    with blas_threads():
        for job in jobs:
            started, started_cpu = time.monotonic(), time.process_time()
            limit_cpu(float(cpu_seconds or 0))
            recorder = FailureRecorder()
            code = pytest.main([job["tests"], f"--impl={job['package']}", "-p", "no:cacheprovider", "-p", "no:terminal",
                                "-W", "ignore::RuntimeWarning"], plugins=[recorder])
            limit_cpu(0)
            results.write(json.dumps({
                "package": job["package"], "suite": job["tests"], "exit_code": int(code), "failures": recorder.failures,
                "errors": recorder.errors, "tests": recorder.tests,
                "cpu_seconds": round(time.process_time() - started_cpu, 2),
                "wall_seconds": round(time.monotonic() - started, 2)}) + "\n")
            results.flush()


if __name__ == "__main__":
    main(*sys.argv[1:])
