"""Run stage suites on the learner's code in a subprocess, safely, and say how each stage went.

One pytest process runs the suites of the given stages in order and, by default, stops after the
first stage that does not pass: the stages after it are locked anyway. A plugin in the child
(checker.results_plugin) streams one JSON line per test, so the parent always knows which test is
running. The learner's code cannot take the checker down with it:

- a time limit per stage (KATA_TIMEOUT seconds, default 30): an endless loop is stopped and
  reported with the function that was running;
- a memory limit (KATA_MEMORY_MB, default 2048, as RLIMIT_AS): a huge allocation is a MemoryError;
- output goes to a file with a size limit, never to the terminal: a print flood cannot drown it;
- sys.exit() is a failure of that test; os._exit() or a crash of Python ends the child, and is
  reported for the test that was running;
- nothing the child starts outlives the run: after every run its process group, every process that
  carries the run's token in its environment and (in the `kata` command, a child subreaper) every
  orphan handed to this process are killed; a thread left running after the suites finished only
  delays the end by FINISH_GRACE seconds.

A pass has to be earned (see the threat model in docs/learner.md): the child is started isolated
(checker.sandbox: nothing of the learner's folder or environment runs before the kata's plugin has
its key); pytest runs with a configuration the checker writes, so no conftest.py, pytest.ini or
plugin of the learner's is loaded (only the kata's tests/conftest.py); the suites and the test
plumbing must match checker/manifest.sha256; every event line is signed with a key only the kata's
plugin holds; and a test counts only when it was seen to start and finish, every collected test once.

    first_unpassed_stage()    the stage the learner is on, or None when every stage passes
    run_stages(stages)        RunResult with a StageResult per stage (checker.results)
"""

from __future__ import annotations

import codecs
import os
import secrets
import shutil
import signal
import tempfile
import threading
import time
from pathlib import Path
from typing import TextIO

from . import manifest, sandbox
from .channel import EventReader
from .errors import Terminated
from .project import ROOT
from .results import RunResult, StageResult, TestResult
from .stages import Stage, all_stages

MAX_SHOWN_OUTPUT_BYTES = 200_000  # what `kata check` shows of pytest's output at most
POLL_SECONDS = 0.05
STARTUP_ALLOWANCE = 60.0  # seconds for pytest to start and collect, on top of the first stage's limit
FINISH_GRACE = 3.0  # seconds the child may take to exit after the suites reported they finished


class Cancelled(Exception):
    """A run stopped from outside through its cancel event."""


def first_unpassed_stage(impl: str = "exercises", root: Path = ROOT, stages=None) -> Stage | None:
    """The first of `stages` (default: every stage) whose suite does not pass on `impl`; None
    when they all pass."""
    result = run_stages(all_stages() if stages is None else stages, impl=impl, root=root).first_unpassed()
    return result.stage if result else None


def run_stages(stages, *, impl: str = "exercises", root: Path = ROOT, stop_after_failing_stage: bool = True,
               show_output: TextIO | None = None, color: bool = False,
               cancel: threading.Event | None = None) -> RunResult:
    """Run the suites of `stages` (in this order) on the package `impl` in one pytest subprocess.

    stop_after_failing_stage: stages after the first unpassed one are not run (ran=False).
    show_output: a stream to copy pytest's own verbose output to while it runs (`kata check`);
    without it, pytest prints nothing and only the streamed results are used.
    cancel: for a run in another thread: once set, the child is killed and Cancelled is raised.
    """
    stages = list(stages)
    root = Path(root)
    results = {s.id: StageResult(s) for s in stages}
    files: list[str] = []
    for stage in stages:
        if not (root / stage.tests).is_file():
            results[stage.id].ran = results[stage.id].kata_fault = True
            results[stage.id].problem = (f"its tests, {stage.tests}, are missing. That is a problem of the kata, "
                                         "not of your code: restore the file from git.")
            if stop_after_failing_stage:
                break
            continue
        files.append(stage.tests)
    files = _verified(files, results, stages, root, stop_after_failing_stage)
    if not files:
        return RunResult([results[s.id] for s in stages])

    # Python's bytecode cache keys on the source's mtime in whole seconds and its size: an edit
    # saved within a second of the last run, of the same length, would run the old code.
    shutil.rmtree(root / impl.replace(".", "/") / "__pycache__", ignore_errors=True)

    limit = sandbox.time_limit()
    with tempfile.TemporaryDirectory(prefix="kata-run-") as tmp:
        results_path = Path(tmp, "results.jsonl")
        results_path.touch()
        output_path = Path(tmp, "output.log")
        # The kata's own configuration: a pytest.ini, conftest.py or plugin the learner adds is never
        # loaded (-c replaces the repo's configuration, --confcutdir keeps conftest.py files above
        # tests/ out, and plugins installed in the environment are not loaded automatically).
        config_path = Path(tmp, "pytest.ini")
        config_path.write_text("[pytest]\n", encoding="utf-8")
        pytest_args = [*files, "-c", str(config_path), "--rootdir", str(root), "--confcutdir", str(root / "tests"),
                       "--import-mode=importlib", "-p", "checker.results_plugin", "-p", "no:cacheprovider",
                       "--continue-on-collection-errors"]
        if show_output is None:
            # Without the terminal plugin pytest prints nothing. The suites teach with Lesson
            # messages, not bare asserts, so assertion rewriting (which also rewrites hypothesis,
            # a pytest plugin, on every run when bytecode is not cached) would only cost time.
            pytest_args += ["-p", "no:terminal", "--assert=plain"]
        else:
            pytest_args += ["-v", "--tb=short", "--no-header", f"--color={'yes' if color else 'no'}"]
        key = secrets.token_bytes(32)
        token = secrets.token_hex(16)
        key_reader, key_writer = (_above_standard(fd) for fd in os.pipe())
        env = sandbox.child_environment({
            "KATA_IMPL": impl, "KATA_RESULTS": str(results_path), "KATA_RESULTS_KEY_FD": str(key_reader),
            "KATA_STOP_AFTER_FAILING_STAGE": "1" if stop_after_failing_stage else "0",
            "COLUMNS": str(shutil.get_terminal_size((100, 24)).columns), sandbox.TOKEN_VARIABLE: token})
        events = _EventLog()
        with output_path.open("wb") as output, results_path.open("rb") as results_file:
            try:
                process = sandbox.start_child(sandbox.child_command(root, impl, pytest_args), cwd=root, env=env,
                                              stdout=output, cpu_seconds=limit * len(files) + STARTUP_ALLOWANCE,
                                              pass_fds=(key_reader,))
            finally:
                os.close(key_reader)
            try:
                with os.fdopen(key_writer, "wb") as pipe:  # the child reads it once, at start-up
                    pipe.write(key)
            except BrokenPipeError:
                pass  # the child ended before reading it: no events will count, as it should be
            channel = EventReader(results_file, key)
            shown = _OutputPump(output_path, show_output)
            try:
                # The limit counts from each stage's first test; starting Python and collecting the
                # suites (none of the learner's code runs then) gets a generous allowance of its own.
                stage_file, stage_started = None, time.monotonic() + STARTUP_ALLOWANCE
                finished_at = None
                while True:
                    exit_code = process.poll()
                    for event in channel.read():
                        events.add(event)
                        if event["event"] == "start" and event["file"] != stage_file:
                            stage_file, stage_started = event["file"], time.monotonic()
                    shown.pump()
                    if exit_code is not None:
                        break
                    if cancel is not None and cancel.is_set():
                        raise Cancelled()
                    if events.finished:
                        # The suites are through; a thread the learner's code left running keeps the
                        # process alive, but no stage is hanging.
                        finished_at = finished_at or time.monotonic()
                        if time.monotonic() - finished_at > FINISH_GRACE:
                            sandbox.kill(process)
                            break
                    elif time.monotonic() - stage_started > limit:
                        sandbox.kill(process)
                        events.timed_out = stage_file or files[0]
                        events.timed_out_starting = stage_file is None
                        break
                    time.sleep(POLL_SECONDS)
            except Terminated as stop:  # a SIGTERM, maybe sent by the learner's code to this process
                for event in channel.read():
                    events.add(event)
                stop.during = events.running_test(stages)
                raise
            finally:
                if process.poll() is None:  # Ctrl-C or an error here: never leave the child running
                    sandbox.kill(process)
                sandbox.end_leftovers(process, token)
            for event in channel.read():
                events.add(event)
            shown.pump(final=True)
            exit_code = process.returncode
        tail = output_path.read_bytes()[-4000:].decode("utf-8", "replace")

    ran = [results[s.id] for s in stages if s.tests in files]
    for result in ran:
        events.fill(result, exit_code, limit)
    if not events.finished and not any(r.problem for r in ran):
        # The child ended between tests, or before the first one: blame the first stage not through.
        result = next((r for r in ran if not r.passed), ran[0])
        result.ran = True
        result.problem = _unexpected_end(exit_code, tail)
    elif events.interrupted and not any(r.problem for r in ran):  # ended early with no test running
        result = next((r for r in ran if not r.passed), ran[0])
        result.ran = True
        result.problem = _interrupted_message(*events.interrupted, f"the code of {result.stage.exercise}")
    return RunResult([results[s.id] for s in stages], output=tail)


# The child process ---------------------------------------------------------------------------


def _above_standard(fd: int) -> int:
    """fd, moved above 0-2 if it is one of them (kata started with stdin, stdout or stderr closed)."""
    if fd > 2:
        return fd
    moved = _above_standard(os.dup(fd))
    os.close(fd)
    return moved


def _verified(files: list[str], results: dict, stages: list, root: Path, stop: bool) -> list[str]:
    """The suites in `files` that match the manifest; the others get a problem and do not run."""
    by_file: dict[str, StageResult] = {}
    for s in stages:  # a registry that names one suite for two stages: the first stage is told
        by_file.setdefault(s.tests, results[s.id])
    plumbing = manifest.differing(manifest.plumbing(root), root)
    if plumbing and files:
        path, why = next(iter(plumbing.items()))
        result = by_file[files[0]]
        result.ran = result.kata_fault = True
        result.problem = _manifest_problem(path, why, " (part of the kata's test machinery)", "no results count")
        return []
    problems = manifest.differing(files, root)
    verified = []
    for file in files:
        if file in problems:
            result = by_file[file]
            result.ran = result.kata_fault = True
            result.problem = _manifest_problem(file, problems[file], "", "its results do not count")
            if stop:
                break
            continue
        verified.append(file)
    return verified


def _manifest_problem(path: str, why: str, what: str, consequence: str) -> str:
    if why == "not in the manifest":
        return (f"{path}{what} is not in the kata's manifest of test files, so {consequence}. If you added it, "
                f"delete it; otherwise it is a problem of the kata (maintainers: {manifest.REGENERATE}).")
    return (f"{path}{what} differs from the kata's copy, so {consequence}. The tests are not "
            f"yours to change: restore the file with git checkout {path}")


class _OutputPump:
    """Copies the child's output file to a stream as it grows, up to MAX_SHOWN_OUTPUT_BYTES."""

    def __init__(self, path: Path, stream: TextIO | None):
        self.stream = stream
        self.file = path.open("rb") if stream is not None else None
        self.decoder = codecs.getincrementaldecoder("utf-8")("replace")
        self.shown = 0
        self.cut = False

    def pump(self, final: bool = False) -> None:
        if self.file is None:
            return
        data = self.file.read()
        if data and not self.cut:
            room = MAX_SHOWN_OUTPUT_BYTES - self.shown
            self.stream.write(self.decoder.decode(data[:room], final=final))
            self.shown += min(len(data), room)
            if len(data) > room:
                self.cut = True
                self.stream.write(f"\n... output cut after {MAX_SHOWN_OUTPUT_BYTES // 1000} kB "
                                  "(does the code print in a loop?) ...\n")
            self.stream.flush()
        if final:
            self.file.close()


class _EventLog:
    """What the child reported, per test file."""

    def __init__(self):
        self.collected: dict[str, list[str]] = {}
        self.collect_errors: dict[str, str] = {}
        self.results: dict[str, list[TestResult]] = {}
        self.running: dict[str, tuple[str, str | None]] = {}  # file -> (test, task) started, no result yet
        self.started_files: list[str] = []
        self.finished = False
        self.timed_out: str | None = None  # the file that was running when the time limit struck
        self.timed_out_starting = False  # ... before any test started
        self.last_started: str | None = None  # the file of the last test started
        self.interrupted: tuple[str, str] | None = None  # (kind, message): the session ended early (see the plugin)

    def running_test(self, stages) -> str:
        """'relu() of Stage 2 (ReLU)' for the test running now, or '' when none is."""
        running = self.running.get(self.last_started) if self.last_started else None
        stage = next((s for s in stages if s.tests == self.last_started), None)
        if not running or stage is None:
            return ""
        task = stage.task_of(running[0])
        return f"{task + '()' if task else running[0]} of {stage.label}"

    def add(self, event: dict) -> None:
        kind = event.get("event")
        if kind == "collected":
            self.collected.update(event["files"])
        elif kind == "collect_error":
            self.collect_errors[event["file"]] = event["message"]
        elif kind == "start":
            if event["file"] not in self.started_files:
                self.started_files.append(event["file"])
            self.running[event["file"]] = (event["test"], None)
            self.last_started = event["file"]
        elif kind == "result":
            if self.running.get(event["file"], (None,))[0] != event["test"]:
                return  # a result counts only for the test seen starting
            self.running.pop(event["file"], None)
            if any(t.name == event["test"] for t in self.results.get(event["file"], [])):
                return  # and only once
            self.results.setdefault(event["file"], []).append(TestResult(
                name=event["test"], task=event.get("task"), outcome=event["outcome"],
                kind=event.get("kind", ""), message=event.get("message", "")))
        elif kind == "interrupted":
            self.interrupted = (str(event.get("kind", "")), str(event.get("message", "")))
        elif kind == "finished":
            self.finished = True

    def fill(self, result: StageResult, exit_code: int, limit: float) -> None:
        file = result.stage.tests
        result.expected = self.collected.get(file, [])
        result.tests = self.results.get(file, [])
        result.ran = file in self.started_files or file in self.collect_errors
        running = self.running.get(file)
        task = result.stage.task_of(running[0]) if running else None
        if file in self.collect_errors:
            result.kata_fault = True
            result.problem = (f"its tests could not be loaded (a problem of the kata in {file}, not of your "
                              f"code): {self.collect_errors[file]}")
        elif self.timed_out == file and self.timed_out_starting:
            result.ran = result.kata_fault = True
            result.problem = (f"the tests did not start within {limit + STARTUP_ALLOWANCE:g} s. That is not your "
                              "code: is the machine very busy?")
        elif self.timed_out == file:
            result.ran = True
            result.problem_task = task
            where = f"in {task}()" if task else f"in the code {running[0]} runs" if running else "in your code"
            result.problem = f"stopped after {limit:g} s: is there an endless loop {where}?"
            hungry = next((t for t in result.tests if t.failed and "MemoryError" in t.message), None)
            if hungry is not None:  # what ran out of memory before, not what crawled after it, is the cause
                culprit = f"{hungry.task}()" if hungry.task else hungry.name
                result.problem_task = hungry.task or task
                result.problem = (f"stopped after {limit:g} s {where.replace('in ', 'while testing ', 1)}, after "
                                  f"{culprit} ran out of memory (MemoryError): the memory it took was not given back, "
                                  f"so what came after it crawled. Fix {culprit} first: the tests use small arrays; "
                                  "is something much bigger being built?")
        elif running and self.interrupted:
            result.problem_task = task
            result.problem = _interrupted_message(*self.interrupted, f"{task}()" if task else running[0])
        elif running and not self.finished:
            result.problem_task = task
            result.problem = _crash_message(exit_code, task, running[0])
        elif result.ran and not result.expected:
            result.kata_fault = True
            result.problem = f"{file} has no tests. That is a problem of the kata, not of your code."


def _interrupted_message(kind: str, message: str, where: str) -> str:
    """The test run ended early while testing `where` (a function, or a test): what ended it, what to do."""
    if kind == "keyboard_interrupt":
        return (f"stopped while testing {where}: the code raised KeyboardInterrupt (what Ctrl-C raises), which ends the "
                "whole test run. Remove that raise: a kata function returns its result.")
    if kind == "exit":
        said = f" ({message})" if message else ""
        return (f"stopped while testing {where}: the code called pytest.exit(){said}, which ends the whole test run. "
                "Remove that call: a kata function returns its result.")
    if message.startswith("MemoryError"):
        return (f"stopped while testing {where}: the test process ran out of memory (its limit is "
                f"{sandbox.memory_limit_mb():g} MB, KATA_MEMORY_MB). The tests use small arrays: does {where} build "
                "something much bigger, or keep every array it makes?")
    return f"stopped while testing {where}: the test run broke down ({message}). kata check shows pytest's own output."


def _crash_message(exit_code: int, task: str | None, test: str) -> str:
    where = f"{task}()" if task else test
    if exit_code is not None and exit_code < 0:
        name = sandbox.signal_name(-exit_code)
        if -exit_code == signal.SIGKILL:
            return (f"stopped abruptly while testing {where}: the process was killed ({name}), "
                    "maybe for using too much memory.")
        return f"stopped abruptly while testing {where}: Python crashed ({name})."
    return (f"stopped abruptly while testing {where}: the test process ended with exit code {exit_code}. "
            "Does the code call os._exit()?")


def _unexpected_end(exit_code: int, output_tail: str) -> str:
    lines = [line.strip() for line in output_tail.splitlines() if line.strip()]
    last = f": {lines[-1]}" if lines else ""
    return f"the test run ended unexpectedly (exit code {exit_code}){last}"
