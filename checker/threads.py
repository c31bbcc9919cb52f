"""How many BLAS threads `kata train` and `kata experiment` use: as many as the cores that are free.

The matrix products of the kata's networks are small (a batch of 64 through 784-384-10). On a quiet
machine, spreading them over every core makes an epoch of the MLP about 1.7 times faster. On a busy
one (an editor, a browser, `kata watch`, a test suite), the same threads wait for cores that other
programs hold, at every product, and an epoch takes several times longer (up to 15 times, measured
on a loaded 2-core machine), while one thread keeps its speed. So the count is chosen from the
cores that are free: the machine's busy time in /proc/stat over a short window, less this process's
own (time.process_time, every thread of it), gives what other programs use; a core is free when they
leave all but a quarter of it. A quiet machine gets every core; a busy one a single thread.

    ThreadChoice           the choice, measured at the start and again as training goes
    blas_threads(n)        a context: NumPy's BLAS limited to n threads (None: chosen as above)
    with_blas_threads      decorator: a command's run() inside blas_threads()
    rechecking(progress)   a training progress reporter that also re-checks the choice between
                           epochs and about every RECHECK_SECONDS within one

KATA_BLAS_THREADS=N overrides the choice (N=1 also gives bit-for-bit the same numbers run after run:
a different thread count can change the last digits of a matrix product, and so of a run). Without
/proc/stat (not Linux), training uses one thread, as before. threadpoolctl applies the limit inside
this process and only while the command runs: no environment variable is changed behind the
learner's back.
"""

from __future__ import annotations

import contextlib
import functools
import os
import time
from dataclasses import dataclass

from .errors import KataError

MIN_WINDOW = 0.2  # seconds: a shorter window is waited out before choosing
SPARE = 0.25  # a core counts as free when other programs use at most this much of it
RECHECK_SECONDS = 1.0  # within an epoch, the choice is checked again about this often
STAT = "/proc/stat"


def overridden() -> int | None:
    """KATA_BLAS_THREADS as a number of threads, or None when it is not set."""
    text = os.environ.get("KATA_BLAS_THREADS", "").strip()
    if not text:
        return None
    if not text.isdigit() or int(text) < 1:
        raise KataError(f"KATA_BLAS_THREADS={text!r} is not a whole number of at least 1. Set it to the number "
                        "of threads for NumPy's matrix products, e.g. KATA_BLAS_THREADS=2, or unset it.")
    return int(text)


def usable_cores() -> int:
    """The cores this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def machine_cpus() -> int:
    """The CPUs of the whole machine (what /proc/stat's first line adds up)."""
    return os.cpu_count() or 1


def machine_times(path: str = STAT) -> tuple[float, float] | None:
    """(busy, total) seconds of every CPU of the machine since boot, from /proc/stat's first line
    (busy: user, nice, system, irq, softirq and steal, the time a virtual machine's host gave to
    others); None when it cannot be read."""
    try:
        with open(path, encoding="ascii") as stat:
            fields = stat.readline().split()
        user, nice, system, idle, iowait, irq, softirq, steal = (float(x) for x in fields[1:9])
    except (OSError, ValueError):
        return None
    ticks = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    busy = user + nice + system + irq + softirq + steal
    return busy / ticks, (busy + idle + iowait) / ticks


@dataclass
class _Sample:
    wall: float
    own: float  # this process's processor time, every thread
    machine: tuple[float, float] | None


class ThreadChoice:
    """The number of BLAS threads: KATA_BLAS_THREADS, or the cores free now (at least 1).

    It measures from its creation: choose() (at the start of training, and again after each
    window) looks at what the machine did since the last look. The functions it reads with are
    parameters so that a test can stand in for the machine."""

    def __init__(self, override: int | None = None, cores: int | None = None, read=None,
                 clock=None, own=None, sleep=None, cpus: int | None = None):
        self.override = override
        self.cores = cores or usable_cores()
        self.cpus = cpus or machine_cpus() or self.cores  # what /proc/stat's total covers
        self.read = read or machine_times
        self.clock, self.own, self.sleep = clock or time.perf_counter, own or time.process_time, sleep or time.sleep
        self.sample = self._take()
        self.threads: int | None = None  # None until chosen
        self.history: list[tuple[float, int]] = []  # (free cores seen, threads chosen), one per choice

    def _take(self) -> _Sample:
        return _Sample(self.clock(), self.own(), self.read())

    def free_cores(self) -> float | None:
        """The cores that other programs left free since the last look (None: unknown)."""
        now = self._take()
        if now.wall - self.sample.wall < MIN_WINDOW:
            self.sleep(MIN_WINDOW - (now.wall - self.sample.wall))
            now = self._take()
        before, self.sample = self.sample, now
        if before.machine is None or now.machine is None:
            return None
        busy = now.machine[0] - before.machine[0]
        total = now.machine[1] - before.machine[1]
        wall = now.wall - before.wall
        if total <= 0 or wall <= 0:
            return None
        machine_busy = busy / total * self.cpus  # cores the whole machine kept busy, on average
        others = max(0.0, machine_busy - (now.own - before.own) / wall)
        return max(0.0, self.cores - others)

    def choose(self) -> int:
        """The number of threads for what comes next."""
        if self.override is not None:
            threads, free = self.override, float("nan")
        else:
            free = self.free_cores()
            threads = 1 if free is None else max(1, min(self.cores, int(free + SPARE)))
        self.history.append((free if free is not None else float("nan"), threads))
        self.threads = threads
        return threads

    def due(self, seconds: float) -> bool:
        """At least `seconds` have passed since the last look."""
        return self.clock() - self.sample.wall >= seconds


class _Limit:
    """threadpoolctl's limit on NumPy's BLAS, changed as the choice changes; restored at the end."""

    def __init__(self):
        try:
            from threadpoolctl import threadpool_limits
        except ImportError:  # an install without it still trains, with BLAS's own default
            threadpool_limits = None
        self._limits, self._current, self.threads = threadpool_limits, None, None

    def set(self, threads: int) -> None:
        if self._limits is None or threads == self.threads:
            return
        self.restore()
        self._current, self.threads = self._limits(limits=threads, user_api="blas"), threads

    def restore(self) -> None:
        if self._current is not None:
            self._current.restore_original_limits()
            self._current, self.threads = None, None


class Threads:
    """The active choice and its limit: what blas_threads() yields."""

    def __init__(self, choice: ThreadChoice, fixed: bool):
        self.choice, self.fixed, self.limit = choice, fixed, _Limit()

    def choose(self) -> int:
        """Choose again (unless fixed) and apply it."""
        threads = self.choice.threads if (self.fixed and self.choice.threads) else self.choice.choose()
        self.limit.set(threads)
        return threads

    def recheck(self, after: float = RECHECK_SECONDS) -> None:
        """Choose again if `after` seconds have passed since the last look (never waiting)."""
        if not self.fixed and self.choice.due(max(after, MIN_WINDOW)):
            self.choose()


_ACTIVE: list[Threads] = []


@contextlib.contextmanager
def blas_threads(threads: int | None = None, *, choose_now: bool = True, fixed: bool = False):
    """NumPy's BLAS limited inside the block: to `threads`, or to KATA_BLAS_THREADS, or to the cores
    free (ThreadChoice). choose_now=False starts on one thread and leaves the first choice to the
    caller (Threads.choose, when training starts, after a longer look at the machine); fixed: one
    choice for the whole block (an experiment: every arm on the same count)."""
    override = threads if threads is not None else overridden()
    active = Threads(ThreadChoice(override=override), fixed=fixed or override is not None)
    _ACTIVE.append(active)
    try:
        if choose_now or override is not None:
            active.choose()
        else:
            active.limit.set(1)
        yield active
    finally:
        _ACTIVE.remove(active)
        active.limit.restore()


def current() -> Threads | None:
    """The innermost blas_threads() block's choice, if any."""
    return _ACTIVE[-1] if _ACTIVE else None


def with_blas_threads(function):
    """Decorator: run a command's `run` with the BLAS threads chosen once, for all it trains."""
    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        with blas_threads(fixed=True):
            return function(*args, **kwargs)
    return wrapper


class rechecking:
    """A training progress reporter (checker.training.Silent's methods) that re-checks the thread
    choice of the innermost blas_threads() at the start of every epoch and about every
    RECHECK_SECONDS within one, then passes every call on to `progress`."""

    def __init__(self, progress):
        self.progress, self.threads = progress, current()

    def epoch_start(self, epoch, epochs, batches):
        if self.threads is not None and epoch > 1:
            self.threads.recheck(after=MIN_WINDOW)  # between epochs
        self.progress.epoch_start(epoch, epochs, batches)

    def batch(self, done, running_loss):
        if self.threads is not None:
            self.threads.recheck()
        self.progress.batch(done, running_loss)

    def __getattr__(self, name):
        return getattr(self.progress, name)
