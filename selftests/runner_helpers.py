"""Run stage suites against packages built in a temporary folder, many jobs per subprocess.

Every job (one suite against one package) has limits of its own, so that a busy machine or a job
that never ends costs that job alone, never the others:

- CPU time, JOB_CPU_SECONDS: counted by the subprocess for the running job (selftests/run_suites.py).
  CPU time hardly grows on a busy machine, where wall time does: a suite takes a few CPU seconds
  however many other programs run, so the limit can be tight enough to stop an endless loop soon.
- wall time, JOB_WALL_SECONDS: the longest wait for the next job's result, for a job that hangs
  without using CPU (or inside C code, where the CPU limit cannot stop it). Generous, for a machine
  that gives this process a small share of a core.

A job over a limit, or one during which the subprocess died, is reported as a result with a
"problem" (what happened and how long it ran) instead of pytest's; the subprocess is ended and the
jobs after it run in a new one. Both limits can be set in the environment, e.g. for a slow machine:
KATA_SELFTEST_JOB_CPU_SECONDS=300 KATA_SELFTEST_JOB_WALL_SECONDS=1800.
"""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from checker.project import ROOT
from run_suites import OUT_OF_CPU

RUNNER = Path(__file__).with_name("run_suites.py")
# A stage suite takes about 1 s of CPU time (the first of a subprocess a little more: Python starts), the
# loop versions of stages 13 and 14 about 2 s: 60 s stops an endless loop and leaves room for slower CPUs.
JOB_CPU_SECONDS = float(os.environ.get("KATA_SELFTEST_JOB_CPU_SECONDS") or 60)
JOB_WALL_SECONDS = float(os.environ.get("KATA_SELFTEST_JOB_WALL_SECONDS") or 600)


class Stopped(Exception):
    """The caller set `stop` (e.g. on Ctrl-C): the subprocess was ended, results are incomplete."""


def run_suites(packages_dir: Path, jobs: list, work: Path, name: str = "jobs",
               stop: threading.Event | None = None) -> list:
    """jobs: [{"package", "tests"}]; returns run_suites.py's results, one per job and in order.

    A job that went over a limit or whose subprocess died instead gets {"package", "suite", "problem",
    "exit_code": None, "failures": {}, "errors": {"the run": problem}, "tests": {}}. Setting `stop`
    (from another thread) ends the subprocess within a second and raises Stopped."""
    results = []
    while len(results) < len(jobs):
        results += _run_batch(packages_dir, jobs[len(results):], work, f"{name}-{len(results)}", stop)
    return results


def _run_batch(packages_dir: Path, jobs: list, work: Path, name: str, stop: threading.Event | None) -> list:
    """The results of jobs[0], jobs[1], ... in one subprocess: all of them, or up to the first job that
    did not finish, whose result then says why."""
    jobs_file, log_file = work / f"{name}.json", work / f"{name}.log"
    jobs_file.write_text(json.dumps(jobs), encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(packages_dir)])}
    with log_file.open("w", encoding="utf-8") as log:  # pytest's own output, and anything printed
        process = subprocess.Popen([sys.executable, str(RUNNER), str(packages_dir), str(jobs_file),
                                    str(JOB_CPU_SECONDS)], cwd=ROOT, env=env, stdin=subprocess.DEVNULL,
                                   stdout=subprocess.PIPE, stderr=log, text=True, encoding="utf-8",
                                   start_new_session=True)
    lines = queue.Queue()  # each job's result line as it comes, then None when the subprocess ends
    threading.Thread(target=_read_lines, args=(process.stdout, lines), daemon=True).start()
    results = []
    try:
        started = time.monotonic()
        while len(results) < len(jobs):
            if stop is not None and stop.is_set():
                raise Stopped()
            job = jobs[len(results)]
            try:
                line = lines.get(timeout=max(0.0, min(1.0, started + JOB_WALL_SECONDS - time.monotonic())))
            except queue.Empty:
                if time.monotonic() < started + JOB_WALL_SECONDS:
                    continue  # and see whether to stop
                _kill(process)
                return results + [_problem(job, f"it timed out: no result after {JOB_WALL_SECONDS:.0f} s (wall "
                                                "clock), and was stopped")]
            ran = time.monotonic() - started
            if line is None:  # the subprocess ended before this job's result
                code = process.wait()
                if code == OUT_OF_CPU:
                    why = (f"it timed out: it used up its {JOB_CPU_SECONDS:g} s of CPU time in {ran:.0f} s and was "
                           "stopped (KATA_SELFTEST_JOB_CPU_SECONDS sets the limit)")
                else:
                    tail = log_file.read_text(encoding="utf-8", errors="replace")[-3000:]
                    why = f"the suite runner ended while running it, after {ran:.0f} s (exit code {code}):\n{tail}"
                return results + [_problem(job, why)]
            results.append(json.loads(line))
            started = time.monotonic()
        try:
            process.wait(timeout=60)  # the results are in: no more than a moment for Python to end
        except subprocess.TimeoutExpired:
            pass
        return results
    finally:
        if process.poll() is None:  # stopped, an error here, or no end after the results: never leave it running
            _kill(process)


def _read_lines(stream, lines: queue.Queue) -> None:
    for line in stream:
        lines.put(line)
    lines.put(None)


def _problem(job: dict, why: str) -> dict:
    return {"package": job["package"], "suite": job["tests"], "problem": why, "exit_code": None, "failures": {},
            "errors": {"the run": why}, "tests": {}}


def _kill(process: subprocess.Popen) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)  # its own session: anything it started goes with it
    except (ProcessLookupError, PermissionError, AttributeError):
        process.kill()
    process.wait()
