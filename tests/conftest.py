"""Shared set-up of the stage suites.

- `--impl=NAME` (or the environment variable KATA_IMPL=NAME) picks the package under test:
  `exercises` (your code, the default), `solutions` (the reference) or any importable package
  with the same modules.
- Failures that teach (checker.teach.Lesson) and stubs not started yet (NotImplementedError) are
  shown as their message alone, without a traceback.
- Hypothesis runs a fixed, derandomised set of examples: the same on every run and in CI.
"""

import importlib.util
import os

import pytest
from hypothesis import HealthCheck, Phase, settings

from checker import teach

settings.register_profile(
    "kata",
    max_examples=40,
    derandomize=True,  # the same examples every run: reproducible for learners and CI
    database=None,  # and no .hypothesis/ folder in the learner's repo
    deadline=None,  # a shared CI machine must not fail tests on timing
    print_blob=False,
    suppress_health_check=[HealthCheck.too_slow],
    # Shrink failing examples (the learner sees the simplest input that fails) but skip the
    # "explain" phase: its notes are never shown, and it costs seconds on every failing test.
    phases=[Phase.explicit, Phase.generate, Phase.shrink],
)
# For the kata's own mutant tests: stop at the first failing example, skip shrinking it.
settings.register_profile("mutants", parent=settings.get_profile("kata"),
                          phases=[Phase.explicit, Phase.generate])
settings.load_profile(os.environ.get("KATA_HYPOTHESIS_PROFILE", "kata"))


def pytest_addoption(parser):
    parser.addoption(
        "--impl",
        default=None,
        metavar="NAME",
        help="package whose stage modules the suites test: exercises (default, or $KATA_IMPL), "
        "solutions, or any importable package with the same modules",
    )


def pytest_configure(config):
    name = config.getoption("--impl") or os.environ.get("KATA_IMPL") or teach.DEFAULT_IMPL
    try:
        found = importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        found = False
    if not found:
        raise pytest.UsageError(
            f"--impl={name}: there is no importable package named {name!r}. Use --impl=exercises "
            "(your code, the default), --impl=solutions (the reference), or the name of a package "
            "on the Python path that has the same modules."
        )
    teach.IMPL = name
    os.environ["KATA_IMPL"] = name  # so that subprocesses started by tests agree
    if getattr(config.option, "tbstyle", None) == "auto":
        config.option.tbstyle = "short"  # a learner needs the lines of their code, not pages of context


def pytest_report_header(config):
    return f"kata: testing the package {teach.IMPL!r}"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.failed and call.excinfo is not None:
        error = call.excinfo.value
        if isinstance(error, NotImplementedError):
            report.longrepr = str(error) or f"not started yet: {item.name} calls a function that is still a stub"
        elif isinstance(error, teach.Lesson):
            report.longrepr = str(error)
