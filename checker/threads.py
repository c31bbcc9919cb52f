"""How many BLAS threads `kata train` and `kata experiment` use: one, chosen deliberately.

The matrix products of the kata's networks are small (a batch of 64 through 784-384-10). OpenBLAS
spreads each over every core by default; on a quiet machine that gains nothing for these sizes, and
on a busy one (an editor, a browser, `kata watch`) its threads wait for cores that other programs
hold, and an epoch takes several times longer. One thread per product keeps training at its speed
either way; bench/bench.py --load N measures both (docs/results.md, On a busy machine).

KATA_BLAS_THREADS=N overrides the choice, e.g. for a much wider network on an idle machine.
threadpoolctl applies the limit inside this process and only while the decorated command runs: no
environment variable is changed behind the learner's back.
"""

from __future__ import annotations

import contextlib
import functools
import os

from .errors import KataError

DEFAULT_THREADS = 1


def chosen_threads() -> int:
    text = os.environ.get("KATA_BLAS_THREADS", "").strip()
    if not text:
        return DEFAULT_THREADS
    if not text.isdigit() or int(text) < 1:
        raise KataError(f"KATA_BLAS_THREADS={text!r} is not a whole number of at least 1. Set it to the number "
                        "of threads for NumPy's matrix products, e.g. KATA_BLAS_THREADS=2, or unset it.")
    return int(text)


@contextlib.contextmanager
def blas_threads(threads: int | None = None):
    """NumPy's BLAS limited to `threads` (default: chosen_threads()) inside the block."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # an install without it still trains, with BLAS's own default
        yield
        return
    with threadpool_limits(limits=threads or chosen_threads(), user_api="blas"):
        yield


def with_blas_threads(function):
    """Decorator: run a command's `run` with the chosen number of BLAS threads."""
    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        with blas_threads():
            return function(*args, **kwargs)
    return wrapper
