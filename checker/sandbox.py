"""The process the learner's code runs in: started isolated, limited, and ended with everything it
started.

- **Isolated start.** The child is `python -I` (no PYTHONPATH, no user site-packages, not the current
  folder on sys.path, so no sitecustomize.py, usercustomize.py or shadowing module of the learner's
  folder runs at start-up). A short bootstrap imports pytest, hypothesis and NumPy from the installed
  environment first, then makes exactly the kata's own packages (checker, the package under test, and
  solutions and exercises) importable from the kata's folder, and nothing else from it: a pytest.py,
  numpy.py or json.py next to them is never imported.
- **Limits** (applied between fork and exec): memory (RLIMIT_AS), the size of files written (a print
  flood fails instead of filling the disk), CPU time (should the parent die without ending the child),
  and death with the parent (PR_SET_PDEATHSIG).
- **Cleanup.** The child leads its own process group; after every run the group, every process carrying
  the run's token in its environment and (in the `kata` command, a child subreaper) every orphan handed
  to this process are killed. The `kata` command itself runs under a supervisor (supervise()) that ends
  whatever is left when the command ends, even when the learner's code killed it with SIGKILL.

    child_command(root, impl, pytest_args)   the argv of the isolated test process
    start_child(command, ...)                 Popen with the limits, registered as active
    kill(process), end_leftovers(process, token)
    supervise()                               the `kata` command: a supervisor that outlives it, and ends its leftovers
    time_limit(), memory_limit_mb()           KATA_TIMEOUT and KATA_MEMORY_MB, checked
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from . import project
from .options import number_from_env

try:
    import resource
except ImportError:  # pragma: no cover - Windows: no limits, everything else works
    resource = None

DEFAULT_TIMEOUT = 30.0
MIN_TIMEOUT = 1.0  # less, and every stage would be stopped as an endless loop
MAX_TIMEOUT = 24 * 3600.0  # KATA_TIMEOUT above a day is a typo, not a wish
DEFAULT_MEMORY_MB = 2048
MIN_MEMORY_MB = 256  # the test process needs about 200 MB to start (NumPy's BLAS reserves much of it)
MAX_MEMORY_MB = 2.0**30  # a petabyte: far beyond any machine, still a number RLIMIT_AS takes
MAX_OUTPUT_FILE_BYTES = 4 * 2**20  # RLIMIT_FSIZE of the child: a print flood fails, the disk stays free
TOKEN_VARIABLE = "KATA_RUN_TOKEN"  # in the child's environment, inherited by whatever it starts

# The children of runs under way (several runs may go at once in threads, e.g. kata check), so that
# the search for leftovers never takes another run's child for an orphan.
_ACTIVE: set[int] = set()
_ACTIVE_LOCK = threading.Lock()
_SUBREAPER = False

# Runs as `python -I -c BOOTSTRAP ROOT IMPL PYTEST_ARGS...`. The modules the suites need from the
# environment are imported before anything can come from the kata's folder; then a finder serves the
# kata's own packages, and only them, from ROOT (checker.project.FINDER).
BOOTSTRAP = project.FINDER + """
root, impl, args = _sys.argv[1], _sys.argv[2], _sys.argv[3:]
import pytest, hypothesis, numpy  # noqa: E401 - the environment's own, before the kata's folder is searched
_serve_kata_packages(root, {"checker", "solutions", "exercises", impl.split(".")[0]})
_sys.argv = ["pytest", *args]
_sys.exit(pytest.main(args))
"""


def child_command(root: Path, impl: str, pytest_args: list[str]) -> list[str]:
    """The isolated test process: pytest with pytest_args, run from root on the package impl."""
    return [sys.executable, "-I", "-c", BOOTSTRAP, str(root), impl, *pytest_args]


def child_environment(extra: dict[str, str]) -> dict[str, str]:
    """The parent's environment without what would change the verdict, plus extra."""
    env = dict(os.environ)
    for name in ("PYTEST_ADDOPTS", "PYTEST_PLUGINS", "PYTHONPATH", "PYTHONSTARTUP", "PYTHONHOME"):
        env.pop(name, None)  # -I ignores the PYTHON* ones; gone, they cannot reach a grandchild either
    env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"  # no plugin installed in the environment loads by itself
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra)
    return env


def start_child(command: list[str], *, cwd: Path, env: dict, stdout, cpu_seconds: float,
                pass_fds: tuple[int, ...] = ()) -> subprocess.Popen:
    """Start the child in its own session, with the limits, and register it as a run under way."""
    limits = _child_limits(memory_limit_mb(), cpu_seconds) if resource else None
    with _ACTIVE_LOCK:
        process = subprocess.Popen(command, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=stdout,
                                   stderr=subprocess.STDOUT, start_new_session=True, preexec_fn=limits,
                                   pass_fds=pass_fds)
        _ACTIVE.add(process.pid)
    return process


def time_limit() -> float:
    return number_from_env("KATA_TIMEOUT", DEFAULT_TIMEOUT, MAX_TIMEOUT, "seconds, e.g. KATA_TIMEOUT=60",
                           MIN_TIMEOUT, "too short for any stage to run")


def memory_limit_mb() -> float:
    return number_from_env("KATA_MEMORY_MB", DEFAULT_MEMORY_MB, MAX_MEMORY_MB, "megabytes, e.g. KATA_MEMORY_MB=8192",
                           MIN_MEMORY_MB, "too little for Python, NumPy and pytest to start")


def _child_limits(memory_mb: float, cpu_seconds: float):
    """What the child does before running Python: cap its memory, the size of files it writes and,
    should this process die without killing it, its life."""
    def apply():
        for limit, value in ((resource.RLIMIT_AS, int(memory_mb * 2**20)),
                             (resource.RLIMIT_FSIZE, MAX_OUTPUT_FILE_BYTES),
                             (resource.RLIMIT_CPU, int(cpu_seconds) + 1)):
            try:
                _, hard = resource.getrlimit(limit)
                value = value if hard == resource.RLIM_INFINITY else min(value, hard)
                resource.setrlimit(limit, (value, hard))
            except (ValueError, OSError, OverflowError):
                pass
        # Past the size limit a write fails with an error (reported for the test) instead of a signal.
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)  # the kata's own handler is not the child's
        die_with_parent()
    return apply


def _load_prctl():
    """Linux's prctl(), looked up now: the child, between fork and exec, must not import anything."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        import ctypes

        return ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError, ImportError):
        return None


_PRCTL = _load_prctl()
_PR_SET_PDEATHSIG = 1
_PR_SET_CHILD_SUBREAPER = 36


def become_subreaper() -> None:
    """Make this process (the `kata` command) the parent of every orphan its runs leave: a daemon
    the learner's code starts (double fork, setsid) is then found, and ended, after the run. Only
    for a process that starts no other children than the runs'."""
    global _SUBREAPER
    if _PRCTL is not None and _PRCTL(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0:
        _SUBREAPER = True


def supervise() -> None:
    """Go on in a child process, and stay behind as its supervisor: when the `kata` command is killed (even with
    SIGKILL by the learner's code, which no handler can catch), the supervisor ends every process it left
    behind; it exits with the command's exit code (128 + N after signal N).

    The supervisor is a child subreaper: a daemon the learner's code started (double fork, setsid) is handed
    to the `kata` command while it lives (become_subreaper) and to the supervisor when it dies. Signals sent
    to the supervisor (kill, timeout) are passed on to the command; a Ctrl-C from the terminal reaches the
    command by itself (the same process group), so the supervisor lets it be. Only where Linux's prctl()
    and fork() are (elsewhere, nothing happens)."""
    if (_PRCTL is None or not hasattr(os, "fork") or not hasattr(signal, "sigtimedwait")
            or _PRCTL(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0):
        return
    for stream in (sys.stdout, sys.stderr):  # nothing buffered is written twice, by two processes
        try:
            stream.flush()
        except (AttributeError, OSError, ValueError):
            pass
    passed_on = {signal.SIGINT, signal.SIGTERM, signal.SIGHUP}
    child = os.fork()
    if child == 0:
        _PRCTL(_PR_SET_PDEATHSIG, signal.SIGHUP)  # the supervisor killed: stop cleanly, quietly (checker.cli)
        return
    signal.pthread_sigmask(signal.SIG_BLOCK, passed_on | {signal.SIGCHLD})  # taken below, one at a time
    status = None
    while status is None:
        info = signal.sigtimedwait(passed_on | {signal.SIGCHLD}, 0.5)
        if info is not None and info.si_signo in passed_on and info.si_code <= 0:  # sent by a process, not the tty
            _pass_on(child, info.si_signo)
        status = _reaped(child)
    if os.WIFSIGNALED(status):
        # Killed before it could clean up: what it leaves is the learner's code's. A command that ended by
        # itself ended its runs' leftovers already; what it leaves is meant to stay (a browser it opened).
        _end_orphans()
    if os.WIFSIGNALED(status) and os.WTERMSIG(status) not in passed_on:
        try:
            print(f"\nStopped: the kata command was killed ({signal_name(os.WTERMSIG(status))}); the processes it had "
                  "started are ended. If your code kills processes (os.kill), remove that call: a kata function "
                  "returns its result.", file=sys.stderr, flush=True)
        except (AttributeError, OSError, ValueError):
            pass
    os._exit(128 + os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status))


def _reaped(child: int) -> int | None:
    """The wait status of child once it has ended (reaping any orphan that ended meanwhile); None before."""
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return 0
        if pid == 0:
            return None
        if pid == child:
            return status


def _pass_on(child: int, signum: int) -> None:
    try:
        os.kill(child, signum)
    except OSError:
        pass


def _end_orphans() -> None:
    """Kill and reap every child of this process (a supervisor's: what the kata command left behind), in
    rounds, as a killed process's own children are handed on here in turn."""
    me = os.getpid()
    for _ in range(200):
        children = [int(entry.name) for entry in os.scandir("/proc")
                    if entry.name.isdigit() and _parent_of(int(entry.name)) == me] if Path("/proc").exists() else []
        if not children:
            try:
                while os.waitpid(-1, os.WNOHANG)[0]:  # zombies not yet reaped
                    pass
            except ChildProcessError:
                pass
            return
        _kill_and_reap(children)
        time.sleep(0.01)


def _kill_and_reap(pids: list[int]) -> None:
    """SIGKILL each of pids, then reap those that are this process's children (no zombie is left)."""
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    for pid in pids:
        try:
            os.waitpid(pid, 0)
        except ChildProcessError:  # not ours: its own parent reaps it
            pass


def die_with_parent() -> None:
    """SIGKILL this process when its parent dies (a closed terminal must not leave a loop running)."""
    if _PRCTL is not None:
        _PRCTL(_PR_SET_PDEATHSIG, signal.SIGKILL)


def kill(process: subprocess.Popen) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)  # the whole group: the learner's code may start processes
    except (ProcessLookupError, PermissionError, AttributeError):
        process.kill()
    process.wait()


def end_leftovers(process: subprocess.Popen, token: str) -> None:
    """Kill whatever the run's child started and left behind, after every run (not only a timeout)."""
    process.wait()
    try:
        os.killpg(process.pid, signal.SIGKILL)  # descendants still in the child's process group
    except (ProcessLookupError, PermissionError, AttributeError, OSError):
        pass
    with _ACTIVE_LOCK:
        _ACTIVE.discard(process.pid)
        if not Path("/proc/self").exists():
            return
        marker = f"{TOKEN_VARIABLE}={token}".encode()
        for _ in range(200):  # rounds: a killed process's own children are handed on, then found
            victims = _leftover_processes(marker)
            if not victims:
                return
            _kill_and_reap(victims)  # a subreaper's orphans are ours after all: reaped, no zombie
            time.sleep(0.01)


def _leftover_processes(marker: bytes) -> list[int]:
    """Processes that carry `marker` in their environment, or (as a subreaper) orphans handed to us."""
    me = os.getpid()
    found = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit() or int(entry.name) == me:
            continue
        pid = int(entry.name)
        if _SUBREAPER and pid not in _ACTIVE and _parent_of(pid) == me:
            found.append(pid)
            continue
        try:
            with open(f"/proc/{pid}/environ", "rb") as f:
                environment = f.read()
        except OSError:
            continue
        if marker in environment.split(b"\0"):
            found.append(pid)
    return found


def _parent_of(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return int(f.read().rsplit(b")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return None


def signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"
