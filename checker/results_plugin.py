"""A pytest plugin that streams what happens in a stage run to a JSON-lines file, for checker.runner.

Loaded in the test subprocess with `-p checker.results_plugin`. Configured by environment variables
(the parent sets them):

    KATA_RESULTS                    the file to append events to (nothing is written without it)
    KATA_STOP_AFTER_FAILING_STAGE   "1": stop the session after the first test file with a failure
    KATA_IMPL                       the package under test (read by the suites' conftest too)
    KATA_RESULTS_KEY_FD             a pipe to read the run's secret key from, once, at start-up

One event per line, each flushed at once so that the parent knows which test is running even if
this process is killed or dies. Each line is `SIGNATURE JSON`: an HMAC-SHA256 with the run's key of
the event's sequence number and its JSON, so lines written by anything else (the learner's code
writing "passed" into the file) are recognised and ignored by the parent. The key is read from the
pipe and the pipe closed before any of the learner's code is imported.

    {"event": "collected", "files": {"tests/test_relu.py": ["test_relu_...", ...], ...}}
    {"event": "collect_error", "file": "tests/test_relu.py", "message": "..."}
    {"event": "start", "file": ..., "test": ...}
    {"event": "result", "file": ..., "test": ..., "task": ..., "outcome": "passed"|"failed"|"skipped",
     "kind": "lesson"|"not_started"|"error"|"", "message": "..."}
    {"event": "interrupted", "kind": "keyboard_interrupt"|"exit"|"internal_error", "message": "..."}
    {"event": "finished"}

The message of a failure is short: a Lesson's whole text, a stub's "not started yet: ...", or for
any other exception "exercises/relu.py line 12 in relu: TypeError: ...", located at the deepest
frame inside the package under test.
"""

from __future__ import annotations

import errno
import json
import os

import pytest

from checker.channel import sign
from checker.stages import all_stages

MAX_ERROR_CHARS = 300


class _Results:
    def __init__(self, path: str, stop_after_failing_stage: bool, key: bytes):
        self.file = open(path, "a", encoding="utf-8")
        self.key = key
        self.sequence = 0
        self.stop_after_failing_stage = stop_after_failing_stage
        self.failed_files: set[str] = set()
        self.phases: dict[str, list] = {}  # nodeid -> [(outcome, kind, message) per phase]
        self.task_of_file = {stage.tests: stage.task_of for stage in all_stages()}

    def write(self, **event) -> None:
        self.sequence += 1
        text = json.dumps({"seq": self.sequence, **event})
        self.file.write(f"{sign(self.key, text)} {text}\n")
        self.file.flush()

    # Collection ------------------------------------------------------------------------------

    def pytest_collectreport(self, report):
        if report.failed:
            lines = [line.strip() for line in str(report.longrepr).splitlines() if line.strip()]
            cause = lines[-1].removeprefix("E").strip() if lines else "unknown error"  # "E   ImportError: ..."
            self.write(event="collect_error", file=report.nodeid.split("::")[0], message=_first_line(cause))

    def pytest_collection_finish(self, session):
        files: dict[str, list[str]] = {}
        for item in session.items:
            files.setdefault(_file_of(item.nodeid), []).append(item.name)
        self.write(event="collected", files=files)

    # Running ---------------------------------------------------------------------------------

    def pytest_runtest_logstart(self, nodeid, location):
        self.write(event="start", file=_file_of(nodeid), test=_test_of(nodeid))

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item, call):
        outcome = yield
        report = outcome.get_result()
        kind, message = "", ""
        if report.failed:
            if call.excinfo is not None:
                kind, message = describe(call.excinfo.value)
            else:
                kind, message = "error", _first_line(str(report.longrepr))
        elif report.skipped:
            message = _skip_reason(report)
        self.phases.setdefault(item.nodeid, []).append((report.outcome, kind, message))

    def pytest_runtest_logfinish(self, nodeid, location):
        phases = self.phases.pop(nodeid, [])
        failed = [p for p in phases if p[0] == "failed"]
        skipped = [p for p in phases if p[0] == "skipped"]
        outcome, kind, message = failed[0] if failed else skipped[0] if skipped else ("passed", "", "")
        file = _file_of(nodeid)
        if outcome == "failed":
            self.failed_files.add(file)
        test = _test_of(nodeid)
        task_of = self.task_of_file.get(file)
        self.write(event="result", file=file, test=test, task=task_of(test) if task_of else None,
                   outcome=outcome, kind=kind, message=message)

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_protocol(self, item, nextitem):
        yield
        file = _file_of(item.nodeid)
        last_of_file = nextitem is None or _file_of(nextitem.nodeid) != file
        if self.stop_after_failing_stage and last_of_file and file in self.failed_files:
            item.session.shouldstop = f"{file} did not pass"

    # The session ends early: the learner's code raised KeyboardInterrupt or called pytest.exit() (a real Ctrl-C
    # reaches `kata`, not this process, which has its own session), or pytest itself broke down (out of memory).
    def pytest_keyboard_interrupt(self, excinfo):
        error = excinfo.value
        if isinstance(error, pytest.Session.Interrupted):  # this plugin's own stop after a failing stage
            return
        if isinstance(error, pytest.exit.Exception):
            self.write(event="interrupted", kind="exit", message=_first_line(str(getattr(error, "msg", "") or "")))
        else:
            self.write(event="interrupted", kind="keyboard_interrupt", message="")

    def pytest_internalerror(self, excrepr, excinfo):
        error = excinfo.value if excinfo is not None else None
        name = type(error).__name__ if error is not None else "an internal error"
        try:
            detail = _first_line(str(error)) if error is not None else ""
        except Exception:  # noqa: BLE001 - whatever str() of the learner's object does
            detail = ""
        self.write(event="interrupted", kind="internal_error", message=f"{name}: {detail}" if detail else name)

    def pytest_sessionfinish(self, session, exitstatus):
        self.write(event="finished", exitstatus=int(exitstatus))

    def pytest_unconfigure(self, config):
        self.file.close()


def pytest_configure(config):
    path = os.environ.get("KATA_RESULTS")
    if path:
        stop = os.environ.get("KATA_STOP_AFTER_FAILING_STAGE") == "1"
        config.pluginmanager.register(_Results(path, stop, _read_key()), "kata-results")


def _read_key() -> bytes:
    """The run's secret, read once from the pipe the parent passed (b"" when run by hand)."""
    fd = os.environ.pop("KATA_RESULTS_KEY_FD", "")
    if not fd.isdigit():
        return b""
    try:
        with os.fdopen(int(fd), "rb") as pipe:
            return pipe.read(256)
    except OSError:
        return b""


# Describing a failure in one short message ----------------------------------------------------


def describe(error: BaseException) -> tuple[str, str]:
    """(kind, message) for an exception raised by a test: what the learner needs, nothing more."""
    from checker import teach  # the copy under test, imported after the conftest configured it

    while isinstance(getattr(error, "exceptions", None), (list, tuple)) and error.exceptions:
        error = error.exceptions[0]  # an exception group: hypothesis found several distinct failures
    if isinstance(error, NotImplementedError):
        return "not_started", str(error) or "not started yet"
    if isinstance(error, teach.Lesson):
        return "lesson", str(error)
    where = _learner_frame(error, teach.IMPL)
    prefix = f"{where}: " if where else ""
    if isinstance(error, SystemExit):
        return "error", f"{prefix}called sys.exit(). Remove that call: a kata function returns its result."
    if isinstance(error, OSError) and error.errno == errno.EFBIG:
        return "error", f"{prefix}printed far too much output. Remove the print() calls in loops."
    text = f"{type(error).__name__}: {_first_line(str(error))}" if str(error) else type(error).__name__
    if isinstance(error, MemoryError):
        text += " (the tests use small arrays: is something much bigger being built?)"
    elif isinstance(error, RecursionError):
        text += " (does a function call itself without end?)"
    elif isinstance(error, AssertionError) and not where:
        return "lesson", _first_line(str(error)) or "a check failed"
    call = [note for note in getattr(error, "__notes__", ()) if note.startswith(teach.CALL_NOTE_PREFIX)]
    return "error", prefix + text + (f"\n{call[-1]}" if call else "")


def _learner_frame(error: BaseException, impl: str) -> str:
    """'exercises/relu.py line 12 in relu' for the deepest traceback frame inside the package under test."""
    from checker import teach

    frame = teach.learner_frame(error, impl)
    if frame is None:
        return ""
    try:
        path = os.path.relpath(frame.filename)
    except ValueError:
        path = frame.filename
    return f"{path.replace(os.sep, '/')} line {frame.lineno} in {frame.name}"


def _first_line(text: str) -> str:
    line = text.strip().splitlines()[0] if text.strip() else ""
    return line if len(line) <= MAX_ERROR_CHARS else line[: MAX_ERROR_CHARS - 3] + "..."


def _skip_reason(report) -> str:
    longrepr = report.longrepr
    return str(longrepr[2]) if isinstance(longrepr, tuple) and len(longrepr) == 3 else ""


def _file_of(nodeid: str) -> str:
    return nodeid.split("::", 1)[0]


def _test_of(nodeid: str) -> str:
    return nodeid.split("::")[-1]
