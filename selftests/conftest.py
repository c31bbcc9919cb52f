import os
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))  # for `from mutants import ...`

# Every selftest gets a time limit (pytest-timeout, in the dev extra): one that hangs fails after it, alone,
# and the run goes on. Generous: the slowest test body takes under 10 s on a quiet 2-core machine, and the
# limits inside the tests (a kata command's 60 or 120 s) must come first, with their better messages. The
# few that take long by nature set a longer limit themselves: @pytest.mark.timeout(900, func_only=True).
#
# func_only: the limit times the test's body, where pytest-timeout's alarm fails that test and nothing
# else. Timing setup too would let the alarm go off while pytest reports a slow fixture's failure, an
# INTERNALERROR that ends the whole run (seen under load). Fixtures have limits of their own: a scenario
# waits its Scenarios(timeout), each mutant suite run has runner_helpers.py's, the browser its WebDriverWait.
#
# Set here, not in pyproject.toml: its [tool.pytest.ini_options] apply to a learner's plain `pytest` too,
# where pytest-timeout may not be installed.
DEFAULT_TIMEOUT = 300


def pytest_configure(config):
    # A shell runs a background job (`pytest ... &`, nohup) with Ctrl-C ignored, and an ignored signal stays
    # ignored in every child: the kata commands the selftests start would then never see the SIGINT the
    # Ctrl-C tests send them (a `kata watch` was found still running minutes later). The test process takes
    # SIGINT again, so that its children start with the default, as they do from a terminal.
    import signal

    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    if not config.pluginmanager.hasplugin("timeout"):  # without the dev extra the markers are no-ops, unflagged
        config.addinivalue_line("markers", "timeout(seconds, func_only=False): pytest-timeout's limit for a test")


def pytest_collection_modifyitems(config, items):
    """The default limit for the selftests that set none; a limit given to pytest (--timeout or
    PYTEST_TIMEOUT) replaces it."""
    if (not config.pluginmanager.hasplugin("timeout") or config.getoption("timeout", None) is not None
            or os.environ.get("PYTEST_TIMEOUT")):
        return
    for item in items:
        if HERE in Path(item.path).parents and item.get_closest_marker("timeout") is None:
            item.add_marker(pytest.mark.timeout(DEFAULT_TIMEOUT, func_only=True))
