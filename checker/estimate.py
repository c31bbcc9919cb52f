"""How long a training run will take with the learner's functions, and what to do when that is long.

Before it trains, kata train times one batch (forward and backward) with the run's own functions and,
in turn with it, with the reference's, on the same images and weights, on one BLAS thread: three
turns each, the fastest counting (a slow implementation once, on a few images). Both are timed in
processor time too, which waiting for a busy machine's cores does not add to, so their ratio hardly
moves with load, while the wall seconds do. The run's estimate comes from the learner's wall
seconds; the decision to ask comes from the ratio:

- within SLOW_RATIO times the reference's, with no loop version (a vectorised implementation, even
  an unusual one), the run starts, however long the estimate: the learner chose it;
- SLOW_RATIO times or more, or with a loop version, and estimated at over LONG_RUN_SECONDS, it asks
  first (off a terminal it stops unless --yes is given).

The time of each function of the network (conv2d, maxpool, dense_forward, ...; PIECES) is measured
apart on both sides, so a function is called a loop version only when it alone takes LOOP_RATIO
times as long as the reference's same function, and every such function is named, with its stage's
hint. The reference's own run is never asked about.
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

LONG_RUN_SECONDS = 600  # a longer estimate asks before training (or needs --yes off a terminal)...
SLOW_RATIO = 10.0  # ...when the learner's batch takes this many times the reference's or more
LOOP_RATIO = 20.0  # a function this many times slower than the reference's own: a loop version
PROBE_IMAGES = 4  # a slow implementation is timed on this many images only...
SLOW_PROBE_SECONDS = 0.25  # ...when they promise a batch of more than this (processor time; the
# reference's takes about 40 ms), and once only when the few images themselves take more than this
ROUNDS = 3  # turns of learner and reference on full batches; the fastest of each counts


@dataclass(frozen=True)
class Piece:
    """A function of the network (or a forward/backward pair) timed on its own."""

    name: str  # as the learner knows it, e.g. "conv2d"
    module: str  # its module in exercises/ (and solutions/), also its stage's id
    functions: tuple[str, ...]
    speed_up: str  # what makes a loop version fast


PIECES = (
    Piece("conv2d", "conv", ("conv2d_forward", "conv2d_backward"),
          "the im2col idea at the top of exercises/conv.py (kata hint conv, whose third level is the NumPy idiom) "
          "turns each convolution into one matrix product, hundreds of times faster"),
    Piece("maxpool", "pool", ("maxpool_forward", "maxpool_backward"),
          "the reshape or window-view idea at the top of exercises/pool.py (kata hint pool) pools a whole batch "
          "at once"),
    Piece("dense_forward", "backprop", ("dense_forward",),
          "one matrix product computes the whole batch at once (kata hint backprop, whose third level is the "
          "NumPy idiom)"),
    Piece("dense_backward", "backprop", ("dense_backward",),
          "each of its three gradients is one matrix product or one sum over the batch (kata hint backprop)"),
    Piece("forward and backward", "backprop", ("forward", "backward"),
          "they only chain your layer functions, each of which handles the whole batch at once (kata hint backprop)"),
    Piece("relu", "relu", ("relu", "relu_backward"),
          "one NumPy expression handles the whole array at once (kata hint relu)"),
    Piece("softmax", "softmax", ("softmax",),
          "NumPy's max, exp and sum along axis=1 handle every row at once (kata hint softmax)"),
    Piece("softmax_cross_entropy_backward", "cross_entropy", ("softmax_cross_entropy_backward",),
          "it is one array expression for the whole batch (kata hint cross_entropy)"),
    Piece("dropout", "dropout", ("dropout_forward", "dropout_backward"),
          "one random array of the activations' shape makes every mask at once (kata hint dropout)"),
    Piece("deep_forward and deep_backward", "deep", ("deep_forward", "deep_backward"),
          "they loop over layers only, each layer handling the whole batch at once (kata hint deep)"),
    Piece("batchnorm", "batchnorm", ("batchnorm_forward", "batchnorm_backward"),
          "means and variances along axis=0 handle every feature at once (kata hint batchnorm)"),
)
PIECE = {piece.name: piece for piece in PIECES}
CNN_PIECES = ("conv2d", "maxpool")  # shown with their ratios in every CNN estimate


@dataclass
class BatchTime:
    """One forward + backward pass of a batch, with the run's own functions and with the reference's.

    seconds: the learner's batch, wall time (what the run will take, the machine as busy as it is);
    cpu: the same batch in processor time of the thread that ran it, which waiting for a busy
    machine's cores does not add to; pieces: the processor time spent in each function of PIECES
    that was called ({"conv2d": s, ...}; a function called inside another counts for itself only);
    probed: the number of images timed when fewer than a batch (then scaled to a batch), else None;
    reference, reference_cpu, reference_pieces: the same for the reference's functions, timed in turn
    with the learner's on the same images (None when the run is the reference's own).
    """

    seconds: float
    pieces: dict[str, float] = field(default_factory=dict)
    probed: int | None = None
    reference: float | None = None
    reference_pieces: dict[str, float] = field(default_factory=dict)
    cpu: float | None = None
    reference_cpu: float | None = None

    @property
    def ratio(self) -> float | None:
        """The learner's batch time over the reference's, in processor time (None without the reference's)."""
        if self.reference is None:
            return None
        mine, theirs = (self.cpu, self.reference_cpu) if self.cpu is not None else (self.seconds, self.reference)
        return mine / theirs if theirs and theirs > 0 else math.inf

    def piece_ratio(self, piece: str) -> float | None:
        mine, theirs = self.pieces.get(piece), self.reference_pieces.get(piece)
        if mine is None or theirs is None or theirs <= 0:
            return None
        return mine / theirs


@contextlib.contextmanager
def time_spent_in_pieces(impl: str, pieces=PIECES, clock=None):
    """Yields {piece name: seconds}, the time (by clock: the thread's processor time) spent in the
    implementation's functions of each piece while inside (its own time: a call to another piece's
    function from inside counts for that one). Each function is wrapped for the time of the block
    wherever the package binds it (its module, and every module of the package that imported it by
    name) and put back after. A call made inside another function of the same piece (a backward
    that calls its forward) counts once."""
    clock = clock or time.thread_time
    spent: dict[str, float] = {}
    stack: list[list] = []  # [piece, started, time spent in other pieces called from inside]
    swapped = []

    def timer(function, piece):
        @functools.wraps(function)
        def timed(*args, **kwargs):
            if stack and stack[-1][0] == piece:
                return function(*args, **kwargs)
            frame = [piece, clock(), 0.0]
            stack.append(frame)
            try:
                return function(*args, **kwargs)
            finally:
                stack.pop()
                elapsed = clock() - frame[1]
                spent[piece] = spent.get(piece, 0.0) + elapsed - frame[2]
                if stack:
                    stack[-1][2] += elapsed
        return timed

    modules = [module for name, module in list(sys.modules.items())
               if (name == impl or name.startswith(f"{impl}.")) and module is not None]
    try:
        for piece in pieces:
            try:
                home = importlib.import_module(f"{impl}.{piece.module}")
            except ImportError:
                continue
            for name in piece.functions:
                original = getattr(home, name, None)
                if not callable(original):
                    continue
                wrapped = timer(original, piece.name)
                for module in {id(m): m for m in [home, *modules]}.values():
                    for attribute, value in list(vars(module).items()):
                        if value is original:
                            swapped.append((module, attribute, original))
                            setattr(module, attribute, wrapped)
        yield spent
    finally:
        for module, attribute, original in reversed(swapped):
            setattr(module, attribute, original)


@dataclass
class _Sample:
    seconds: float  # wall
    cpu: float  # the thread's processor time
    pieces: dict


def time_one_batch(parts: training.Parts, config: training.TrainConfig, dataset,
                   reference: training.Parts | None = None) -> BatchTime:
    """Time one forward + backward pass of a batch with parts' functions and, on the same images
    and weights, with the reference's (reference: its Parts; by default the reference package's for
    the same config; none when parts are the reference's own), on one BLAS thread.

    The learner's functions are timed on a few images first: a loop version can take a minute per
    batch, and then that is known without waiting for a whole one; the reference is then timed on
    the same few images. Otherwise both are timed on full batches. Each side is timed ROUNDS times,
    in turn with the other (a slow learner's few images once), and the fastest time of each counts.
    Their ratio is one of processor time, which a busy machine hardly changes; the wall time is the
    learner's estimate.
    """
    from .threads import blas_threads

    if reference is None and parts.impl != "solutions":
        reference = training.load_parts("solutions", config)
    params = training.initial_params(parts, config, dataset.train.images.shape[1])
    images = dataset.train.images[:config.batch_size]
    targets = training.one_hot_targets("solutions", dataset.train.labels[:config.batch_size])

    def timed(side: training.Parts, count: int) -> _Sample:
        forward = side.train_forward or (lambda params, X, rng: side.forward(params, X))  # as training runs it
        rng = training.random_streams(config.seed)[2]
        with time_spent_in_pieces(side.impl) as spent:
            started, cpu = time.perf_counter(), time.thread_time()
            _, cache = forward(params, images[:count], rng)
            side.backward(params, cache, targets[:count])
            seconds, cpu = time.perf_counter() - started, time.thread_time() - cpu
        scale = config.batch_size / count
        return _Sample(seconds * scale, cpu * scale, {k: v * scale for k, v in spent.items()})

    def fastest(samples: list[_Sample]) -> tuple[float, float, dict]:
        pieces = {piece: min(s.pieces.get(piece, 0.0) for s in samples) for s in samples for piece in s.pieces}
        return min(s.seconds for s in samples), min(s.cpu for s in samples), pieces

    with blas_threads(1):  # the same for both sides, whatever the run will use
        probe = min(PROBE_IMAGES, config.batch_size)
        first = timed(parts, probe)
        count = probe if first.cpu >= SLOW_PROBE_SECONDS else config.batch_size
        rounds = 1 if first.cpu * probe / config.batch_size >= SLOW_PROBE_SECONDS else ROUNDS
        mine, theirs = ([first] if count == probe else []), []
        for turn in range(ROUNDS):
            if len(mine) < rounds:
                mine.append(timed(parts, count))
            if reference is not None:
                theirs.append(timed(reference, count))
    seconds, cpu, pieces = fastest(mine)
    probed = count if count < config.batch_size else None
    if not theirs:
        return BatchTime(seconds, pieces, probed, cpu=cpu)
    reference_seconds, reference_cpu, reference_pieces = fastest(theirs)
    return BatchTime(seconds, pieces, probed, reference_seconds, reference_pieces, cpu, reference_cpu)


def estimated_run_seconds(per_batch: float, config: training.TrainConfig, dataset) -> float:
    """Training updates plus the validation passes and the final test pass (a forward pass costs
    about a third of forward + backward)."""
    updates = math.ceil(len(dataset.train.labels) / config.batch_size) * config.epochs
    evaluated = config.evals_per_epoch * config.epochs * len(dataset.validation.labels) + len(dataset.test.labels)
    return per_batch * (updates + evaluated / config.batch_size / 3)


def test_pass_seconds(per_batch: float, config: training.TrainConfig, dataset) -> float:
    """The final test pass alone: a forward pass over the test set."""
    return per_batch * len(dataset.test.labels) / config.batch_size / 3


def duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} minutes"
    if seconds < 2 * 86400:
        return f"{seconds / 3600:.1f} hours"
    return f"{seconds / 86400:.1f} days"


def seconds_text(seconds: float) -> str:
    if seconds < 0.1:
        return f"{seconds * 1000:.2g} ms"
    return f"{seconds:.3g} s" if seconds < 100 else f"{seconds:,.0f} s"


def times_text(ratio: float) -> str:
    """1.2x, 35x, 3,500x."""
    return f"{ratio:.2g}x" if ratio < 10 else f"{ratio:,.0f}x"


PIECE_FLOOR = 0.001  # a function taking less than this per batch is too quick to judge


def loop_pieces(batch: BatchTime | None) -> list[str]:
    """The functions that are loop versions, slowest first: each takes LOOP_RATIO times as long as
    the reference's same function or more (and a millisecond per batch or more)."""
    if batch is None or batch.reference is None:
        return []
    named = [piece for piece, seconds in batch.pieces.items()
             if seconds >= PIECE_FLOOR and (batch.piece_ratio(piece) or 0) >= LOOP_RATIO]
    return sorted(named, key=batch.pieces.get, reverse=True)


def is_slow(batch: BatchTime | None) -> bool:
    """The learner's functions take SLOW_RATIO times as long as the reference's or more, or one of
    them is a loop version."""
    return batch is not None and batch.ratio is not None and (batch.ratio >= SLOW_RATIO or bool(loop_pieces(batch)))


def timing_line(batch: BatchTime, config: training.TrainConfig, seconds: float, whose: str = "your") -> str:
    """The estimate, and how it was measured."""
    size = config.batch_size
    probed = f", timed on {batch.probed} images" if batch.probed else ""
    if batch.reference is None:
        pieces = [p for p in CNN_PIECES if p in batch.pieces] if config.model == "cnn" else []
        of_which = (", of which " + " and ".join(f"{p} {seconds_text(batch.pieces[p])}" for p in pieces)) if pieces else ""
        return (f"One batch of {size} takes about {seconds_text(batch.seconds)} with {whose} functions (forward and "
                f"backward{probed}){of_which}: this run should take about {duration(seconds)}.")
    how = f"the same {batch.probed} images, scaled to a batch of {size}" if batch.probed else f"the same batch of {size}"
    shown = [p for p in CNN_PIECES if p in batch.pieces] if config.model == "cnn" else []
    shown += [p for p in loop_pieces(batch) if p not in shown]
    ratios = [f"{p} {times_text(r)}" for p in shown if (r := batch.piece_ratio(p)) is not None]
    apart = f" ({', '.join(ratios)})" if ratios else ""
    return (f"Your functions against the reference's, timed in turn just now on {how} (forward and backward, "
            f"processor time): {seconds_text(batch.cpu)} against {seconds_text(batch.reference_cpu)}, "
            f"{times_text(batch.ratio)} as long{apart}. On this machine, as busy as it is now, a batch takes "
            f"{seconds_text(batch.seconds)} with yours: this run should take about {duration(seconds)}.")


def long_run_advice(batch: BatchTime | None, estimate: float) -> tuple[list[str], str]:
    """(the loop versions, what to do about them): which functions make the run long, by how much
    against the reference's, what the run would take with them as fast, and their stages' hints.
    Without a function that stands out, what the ratio says, and where to look."""
    loops = loop_pieces(batch)
    if not loops:
        if batch is not None and batch.ratio is not None:
            return [], (f"Your functions take {times_text(batch.ratio)} as long as the reference's, and no single one "
                        f"of them explains it. The last hint of each stage (kata hint STAGE) is its NumPy idiom, which "
                        f"handles a whole batch at once.")
        return [], ("Python loops over pixels or examples make a run this long; the last hint of each stage "
                    "(kata hint STAGE) is its NumPy idiom, which handles a whole batch at once.")
    spent, cpu = batch.pieces, batch.cpu if batch.cpu is not None else batch.seconds  # processor time, as pieces
    as_fast = cpu - sum(spent[p] for p in loops) + sum(batch.reference_pieces[p] for p in loops)
    fast_run = duration(estimate * max(as_fast, 0.0) / cpu)
    if len(loops) == 1:
        (piece,) = loops
        text = (f"Your {piece} makes it long: it takes {times_text(batch.piece_ratio(piece))} as long as the "
                f"reference's {piece} ({seconds_text(spent[piece])} of the {seconds_text(cpu)} of processor time a "
                f"batch takes); with a {piece} as fast, the run would take about {fast_run}. A loop version is right, "
                f"but every step of its loops is a Python step.")
    else:
        names = " and ".join([", ".join(loops[:-1]), loops[-1]]) if len(loops) > 2 else " and ".join(loops)
        each = " and ".join([", ".join(times_text(batch.piece_ratio(p)) for p in loops[:-1]),
                             times_text(batch.piece_ratio(loops[-1]))])
        spends = " and ".join([", ".join(seconds_text(spent[p]) for p in loops[:-1]), seconds_text(spent[loops[-1]])])
        text = (f"Your {names} {'both' if len(loops) == 2 else 'all'} make it long: they take {each} as long as the "
                f"reference's ({spends} of the {seconds_text(cpu)} of processor time a batch takes); with them as "
                f"fast, the run would take about {fast_run}. Loop versions are right, but every step of their loops "
                f"is a Python step.")
    text += " " + " ".join(f"For {piece}, {PIECE[piece].speed_up}." for piece in loops)
    return loops, text


class LongRunNotStarted(KataError):
    """A long run of slow functions did not start: off a terminal without --yes, or declined on one.
    kata train shows it as an error (exit 1); kata, which trains the first time Part I and Part III
    pass, as a note (checker/commands/status.py), with these details: estimate (seconds), slow (the
    loop versions that make it long, slowest first: "conv2d", "maxpool", "dense_forward", ...),
    advice (what makes them fast), declined (the learner said no on a terminal), command (the kata
    train command of the run)."""

    def __init__(self, message: str, *, estimate: float, slow: list[str], advice: str, declined: bool,
                 command: str = "kata train"):
        super().__init__(message)
        self.estimate, self.slow, self.advice, self.declined, self.command = estimate, slow, advice, declined, command


def hint_commands(slow: list[str]) -> str:
    """'kata hint pool' or 'kata hint conv and kata hint pool': the hints of the slow functions' stages."""
    stages = list(dict.fromkeys(PIECE[piece].module for piece in slow))
    return " and ".join(f"kata hint {stage}" for stage in stages)


def confirm_long_run(seconds: float, yes: bool = False, ask=input, batch: BatchTime | None = None,
                     command: str = "kata train") -> None:
    """Go on if the run is short, its functions are not slow (is_slow: within SLOW_RATIO of the
    reference's, none a loop version; the reference's own never are), yes (--yes) is given, or the
    learner says yes on a terminal. batch: the timing the estimate comes from (without it, the
    estimate alone decides); command: the kata train command of the run."""
    if seconds <= LONG_RUN_SECONDS or yes or (batch is not None and not is_slow(batch)):
        return
    slow, advice = long_run_advice(batch, seconds)
    details = dict(estimate=seconds, slow=slow, advice=advice, command=command)
    if sys.stdin.isatty() and sys.stdout.isatty():
        print(advice)
        answer = ask(f"Train anyway, for about {duration(seconds)}? [y/N] ")
        if answer.strip().lower() in ("y", "yes"):
            return
        if slow:
            stages = list(dict.fromkeys(PIECE[piece].module for piece in slow))
            todo = (f"Speed up your {' and '.join(slow)} ({hint_commands(slow)}), check "
                    f"{'it' if len(slow) == 1 else 'them'} ({', '.join(f'kata check {s}' for s in stages)}), then run")
        else:
            todo = "Make your functions faster (the last hint of each stage is its NumPy idiom), then run"
        raise LongRunNotStarted(f"training not started. {todo} {command} again.", declined=True, **details)
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
