"""Run stage suites against several packages inside one Python process (Python and pytest start once).

    python selftests/run_suites.py PACKAGES_DIR JOBS.json

JOBS.json is a list of {"package": ..., "tests": "tests/test_<module>.py"}. Prints one JSON list
with, per job, pytest's exit code, every failed test with its message, any error raised while
collecting or setting up tests, and every test in run order with its outcome and the (kind, message)
that `kata` itself would show for it (checker.results_plugin.describe), so that the report can be
rebuilt from it without running the suite again.
Starting a process per package would cost over a second each; this costs a fraction of that.
"""

import json
import os
import sys

import pytest

from checker.results_plugin import describe


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


def main(packages_dir, jobs_file):
    sys.path.insert(0, packages_dir)
    os.environ["KATA_HYPOTHESIS_PROFILE"] = "mutants"
    with open(jobs_file, encoding="utf-8") as f:
        jobs = json.load(f)
    results = []
    for job in jobs:
        recorder = FailureRecorder()
        code = pytest.main([job["tests"], f"--impl={job['package']}", "-p", "no:cacheprovider", "-p", "no:terminal",
                            "-W", "ignore::RuntimeWarning"], plugins=[recorder])
        results.append({"package": job["package"], "tests": job["tests"], "exit_code": int(code),
                        "failures": recorder.failures, "errors": recorder.errors, "tests": recorder.tests})
    json.dump(results, sys.stdout)


if __name__ == "__main__":
    main(*sys.argv[1:])
