"""How long a training run will take with the learner's functions, and what to do when that is long.

kata train times one batch (forward and backward) with the run's own functions before it starts and
states its estimate; a run estimated at over LONG_RUN_SECONDS asks first (off a terminal it stops
unless --yes is given), naming the slow function (conv2d or maxpool, for a CNN) and its stage's hint.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import math
import os
import sys
import time
from dataclasses import dataclass, field

from . import training
from .errors import KataError, UsageError

# --- the time a run will take --------------------------------------------------------------------

LONG_RUN_SECONDS = 600  # a longer estimate asks before training (or needs --yes off a terminal)


@dataclass
class BatchTime:
    """The wall time of one forward + backward pass of a batch, with the run's own functions.

    seconds: the whole batch; pieces: of the CNN, the part of it spent in conv2d (forward and
    backward) and in maxpool, {"conv2d": s, "maxpool": s} (empty for the MLP); probed: the number
    of images timed when fewer than a batch (then scaled to a batch), else None.
    """

    seconds: float
    pieces: dict[str, float] = field(default_factory=dict)
    probed: int | None = None


CNN_PIECES = {"conv2d": ("conv", ("conv2d_forward", "conv2d_backward")),  # piece -> (module, its functions)
              "maxpool": ("pool", ("maxpool_forward", "maxpool_backward"))}


@contextlib.contextmanager
def time_spent_in_pieces(impl: str):
    """Yields {"conv2d": s, "maxpool": s}, the wall time spent in the implementation's conv2d_* and
    maxpool_* functions while inside. The CNN (checker/cnn.py) looks them up in their modules at
    every call, so they are wrapped there for the time of the block and put back after it. A call
    made inside another of the same piece (a backward that calls its forward) counts once."""
    spent = {piece: 0.0 for piece in CNN_PIECES}
    depth = {piece: 0 for piece in CNN_PIECES}
    swapped = []

    def timer(function, piece):
        @functools.wraps(function)
        def timed(*args, **kwargs):
            if depth[piece]:
                return function(*args, **kwargs)
            depth[piece] += 1
            started = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                spent[piece] += time.perf_counter() - started
                depth[piece] -= 1
        return timed

    try:
        for piece, (module_name, names) in CNN_PIECES.items():
            module = importlib.import_module(f"{impl}.{module_name}")
            for name in names:
                original = getattr(module, name)
                swapped.append((module, name, original))
                setattr(module, name, timer(original, piece))
        yield spent
    finally:
        for module, name, original in reversed(swapped):
            setattr(module, name, original)


def time_one_batch(parts: training.Parts, config: training.TrainConfig, dataset) -> BatchTime:
    """Time one forward + backward pass of a batch, with the run's own functions.

    A few images are timed first: a loop version of conv2d can take a minute per batch, and then
    that is known without waiting for a whole one. A fast implementation is timed on full batches.
    """
    params = training.initial_params(parts, config, dataset.train.images.shape[1])
    images = dataset.train.images[:config.batch_size]
    targets = training.one_hot_targets(parts.impl, dataset.train.labels[:config.batch_size])

    def timed(count) -> BatchTime:
        pieces = time_spent_in_pieces(parts.impl) if config.model == "cnn" else contextlib.nullcontext({})
        with pieces as spent:
            started = time.perf_counter()
            _, cache = parts.forward(params, images[:count])
            parts.backward(params, cache, targets[:count])
            seconds = time.perf_counter() - started
        scale = config.batch_size / count
        return BatchTime(seconds * scale, {k: v * scale for k, v in spent.items()},
                         count if count < config.batch_size else None)

    batch = timed(min(4, config.batch_size))
    if batch.seconds < 1.0:
        batch = min((timed(config.batch_size) for _ in range(3)), key=lambda t: t.seconds)
    return batch


def seconds_per_batch(parts: training.Parts, config: training.TrainConfig, dataset) -> float:
    """Wall time of one forward + backward pass of a batch (see time_one_batch)."""
    return time_one_batch(parts, config, dataset).seconds


def estimated_run_seconds(per_batch: float, config: training.TrainConfig, dataset) -> float:
    """Training updates plus the validation passes and the final test pass (a forward pass costs
    about a third of forward + backward)."""
    updates = math.ceil(len(dataset.train.labels) / config.batch_size) * config.epochs
    evaluated = config.evals_per_epoch * config.epochs * len(dataset.validation.labels) + len(dataset.test.labels)
    return per_batch * (updates + evaluated / config.batch_size / 3)


def duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} minutes"
    return f"{seconds / 3600:.1f} hours"


IM2COL_ADVICE = ("A loop version of conv2d or maxpool is right, but every step of its loops is a Python step; "
                 "either one alone can make a run this long. For conv2d, the im2col idea at the top of "
                 "exercises/conv.py (and kata hint conv, whose third level is the NumPy idiom) turns each "
                 "convolution into one matrix product, hundreds of times faster; for maxpool, the reshape or "
                 "window-view idea at the top of exercises/pool.py (kata hint pool) pools a whole batch at once.")
# piece -> (its stage, what makes it fast)
SPEED_UPS = {
    "conv2d": ("conv", "the im2col idea at the top of exercises/conv.py (kata hint conv, whose third level is the "
                       "NumPy idiom) turns each convolution into one matrix product, hundreds of times faster"),
    "maxpool": ("pool", "the reshape or window-view idea at the top of exercises/pool.py (kata hint pool) pools a "
                        "whole batch at once"),
}


class LongRunNotStarted(KataError):
    """A run estimated at over LONG_RUN_SECONDS did not start: off a terminal without --yes, or
    declined on one. kata train shows it as an error (exit 1); kata, which trains the CNN the first
    time stages 13 and 14 pass, as a note (checker/commands/status.py), with these details:
    estimate (seconds), slow (the pieces that make it long, slowest first: "conv2d", "maxpool"),
    advice (what makes them fast), declined (the learner said no on a terminal)."""

    def __init__(self, message: str, *, estimate: float, slow: list[str], advice: str, declined: bool):
        super().__init__(message)
        self.estimate, self.slow, self.advice, self.declined = estimate, slow, advice, declined


def slow_pieces(batch: BatchTime, estimate: float) -> list[str]:
    """The CNN's pieces that make the run long, slowest first: the slowest (unless the time goes
    elsewhere), and the other too when the run would still be long without the slowest and the
    other takes at least a third as long. A fast piece timed on a few images looks slower than it
    is (its fixed cost is counted per image), so a much smaller one is not called slow."""
    ordered = sorted(batch.pieces, key=batch.pieces.get, reverse=True)
    if not ordered or batch.pieces[ordered[0]] < 0.1 * batch.seconds:
        return []
    top, *others = ordered
    without_top = estimate * (batch.seconds - batch.pieces[top]) / batch.seconds
    return [top] + [p for p in others if without_top > LONG_RUN_SECONDS and batch.pieces[p] >= batch.pieces[top] / 3]


def seconds_text(seconds: float) -> str:
    return f"{seconds:.3g} s" if seconds < 100 else f"{seconds:.0f} s"


def long_run_advice(batch: BatchTime | None, estimate: float) -> tuple[list[str], str]:
    """(the slow pieces, what to do about them): which of conv2d and maxpool makes the run long, by
    how much, and the hint of its stage. Without a breakdown, the advice for both."""
    slow = slow_pieces(batch, estimate) if batch else []
    if not slow:
        return [], IM2COL_ADVICE
    spent = batch.pieces
    fast_seconds = estimate * (batch.seconds - sum(spent[p] for p in slow)) / batch.seconds
    fast_run, still_long = duration(fast_seconds), fast_seconds > LONG_RUN_SECONDS
    if len(slow) == 1:
        (piece,), other = slow, next(p for p in spent if p not in slow)
        times = f", {spent[piece] / spent[other]:,.0f} times as long as your {other}" if spent[other] > 0 else ""
        text = (f"Your {piece} makes it long: {seconds_text(spent[piece])} of the {seconds_text(batch.seconds)} a "
                f"batch takes ({spent[piece] / batch.seconds:.0%}){times}; with a fast {piece} the run would "
                + (f"take about {fast_run}." if not still_long else
                   f"still take about {fast_run}, and kata will time your functions again then."))
    else:
        text = (f"Your conv2d and maxpool both make it long: {slow[0]} takes {seconds_text(spent[slow[0]])} and "
                f"{slow[1]} {seconds_text(spent[slow[1]])} of the {seconds_text(batch.seconds)} a batch takes; "
                f"with both fast the run would take about {fast_run}.")
    text += (f" {'A loop version is' if len(slow) == 1 else 'Loop versions are'} right, but every step of "
             f"{'its' if len(slow) == 1 else 'their'} loops is a Python step. "
             + " ".join(f"For {piece}, {SPEED_UPS[piece][1]}." for piece in slow))
    return slow, text


def confirm_long_run(seconds: float, yes: bool = False, ask=input, batch: BatchTime | None = None) -> None:
    """Go on if the run is short, yes (--yes) is given, or the learner says yes on a terminal; batch:
    the timing the estimate comes from, to name the slow piece."""
    if seconds <= LONG_RUN_SECONDS or yes:
        return
    slow, advice = long_run_advice(batch, seconds)
    details = dict(estimate=seconds, slow=slow, advice=advice)
    if sys.stdin.isatty() and sys.stdout.isatty():
        print(advice)
        answer = ask(f"Train anyway, for about {duration(seconds)}? [y/N] ")
        if answer.strip().lower() in ("y", "yes"):
            return
        stages = [SPEED_UPS[piece][0] for piece in slow] or ["conv", "pool"]
        what = " and ".join(slow or ["conv2d", "maxpool"])
        raise LongRunNotStarted(
            f"training not started. Speed up your {what} ({', '.join(f'kata hint {s}' for s in stages)}), check "
            f"{'it' if len(stages) == 1 else 'them'} ({', '.join(f'kata check {s}' for s in stages)}), then run "
            f"kata train --model cnn again.", declined=True, **details)
    raise LongRunNotStarted(f"this run would take about {duration(seconds)} with your functions, so it did not "
                            f"start. {advice} To train anyway, add --yes.", declined=False, **details)


# --- the memory a run needs ------------------------------------------------------------------------

FLOAT_BYTES = 4  # training runs in float32
EVALUATION_CHUNK = 1000  # images per forward pass when validating (checker.training.evaluate)
OPTIMIZER_STATES = {"sgd": 0, "momentum": 1, "adam": 2}  # arrays of the weights' size each optimizer keeps


@dataclass(frozen=True)
class MemoryNeed:
    """A lower bound of the memory one training run takes: the weights, their gradients and the
    optimizer's state, and the activations of one batch (forward and backward) and one validation chunk."""

    weights: int  # numbers the network learns
    units: int  # activations per example, every layer's outputs
    bytes: int

    def describe(self) -> str:
        return f"{self.weights:,} weights and {self.units:,} activations per image"


def memory_need(config: training.TrainConfig, num_inputs: int, examples: int | None = None) -> MemoryNeed:
    """What config's network needs at least, trained on `examples` images (a batch is never larger);
    checker.models builds the same layers; nothing is allocated here."""
    if config.model == "cnn":
        side = max(1, math.isqrt(num_inputs))
        channels, height, width, weights, units = 1, side, side, 0, 0
        for filters in config.filters:
            weights += filters * channels * config.kernel ** 2 + filters
            units += filters * height * width  # the convolution's output, before pooling
            channels, height, width = filters, height // 2, width // 2
        sizes = [channels * height * width, *([config.cnn_hidden] if config.cnn_hidden else []), training.NUM_CLASSES]
    else:
        sizes, weights, units = config.layer_sizes(num_inputs), 0, 0
    weights += sum(a * b + b for a, b in zip(sizes, sizes[1:]))
    units += sum(sizes[1:])
    states = 2 + OPTIMIZER_STATES.get(config.optimizer, 2) + (2 if config.batchnorm else 0)
    batch = min(config.batch_size, examples or config.batch_size)
    total = FLOAT_BYTES * (weights * states + units * (2 * batch + EVALUATION_CHUNK))
    return MemoryNeed(weights, units, total)


def memory_available() -> int | None:
    """The memory this process may use at most: the machine's, or less under a limit (ulimit -v); None
    where that is unknown."""
    sizes = []
    try:
        sizes.append(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (AttributeError, ValueError, OSError):
        pass
    try:
        import resource

        soft, _ = resource.getrlimit(resource.RLIMIT_AS)
        if soft != resource.RLIM_INFINITY:
            sizes.append(soft)
    except (ImportError, AttributeError, ValueError, OSError):
        pass
    sizes = [size for size in sizes if size > 0]
    return min(sizes) if sizes else None


def memory_text(size: float) -> str:
    for unit in ("bytes", "kB", "MB", "GB", "TB", "PB"):
        if size < 1000 or unit == "PB":
            return f"{size:,.0f} {unit}" if unit == "bytes" else f"{size:,.1f} {unit}"
        size /= 1000
    return ""  # pragma: no cover


def check_memory(config: training.TrainConfig, dataset, available: int | None = None) -> None:
    """UsageError, with the estimate, when config's network, trained on dataset, cannot fit in this machine's
    memory (available: bytes, default memory_available())."""
    available = memory_available() if available is None else available
    need = memory_need(config, dataset.train.images.shape[1], len(dataset.train.labels))
    if available is None or need.bytes <= available:
        return
    if config.model == "cnn":
        network, smaller = (f"a CNN with filters {','.join(map(str, config.filters))}"
                            + (f" and a dense layer of {config.cnn_hidden}" if config.cnn_hidden else "")), \
            "fewer --filters or a smaller --cnn-hidden"
    else:
        network = (f"a network of {config.depth:,} hidden layer{'s' if config.depth > 1 else ''} of "
                   f"{config.hidden:,} units")
        smaller = "a smaller --hidden or --depth"
    raise UsageError(f"{network}, in batches of {config.batch_size:,}, needs at least {memory_text(need.bytes)} of "
                     f"memory to train ({need.describe()}), and this machine has {memory_text(available)}. "
                     f"Choose {smaller} (or --batch-size).")
