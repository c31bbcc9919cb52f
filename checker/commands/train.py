"""`kata train`: train a digit classifier on MNIST with the learner's own functions.

The options, the checks before training (the stages it needs, the time it will take) and what
the command prints. The loop itself, its Parts and the run folder are checker.training's.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import importlib
import math
import sys
import textwrap
import time
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import KataError, UsageError
from ..options import positive_int, positive_float, seed_int, folder_path, filter_counts, non_negative_int, shift_pixels
from .. import parts as pieces
from ..stages import ROOT
from ..teach import learner_frame
from ..threads import with_blas_threads
from .. import training


# --- the command -------------------------------------------------------------------------------

def require_passing_stages(config: training.TrainConfig | None = None, command: str = "kata train") -> None:
    """kata train trains the learner's own network: every Part I stage must pass first, and the
    stage of every Part II option that `config` turns on (stage 8 for --l2, 9 for --dropout,
    10 for momentum and Adam, 12 for --batchnorm). Plain training never waits for Part II."""
    from ..runner import first_unpassed_stage
    from ..stages import stage_of_module, stages_of_part

    part_one = stages_of_part(1)
    option_stages = []
    for module in pieces.required_modules(config) if config else []:
        stage = stage_of_module(module)
        if stage is None:
            raise KataError(f"{pieces.OPTION_OF_MODULE[module]} needs the stage {module}, which this version "
                            f"of the kata does not have yet. Update the kata (git pull).")
        option_stages.append(stage)
    stage = first_unpassed_stage(impl="exercises", stages=[*part_one, *option_stages])
    if stage is None:
        return
    if stage.part == 1:
        raise KataError(
            f"{stage.label} does not pass yet, and {command} builds your network from all "
            f"{len(part_one)} stages of Part I. Finish it with: kata check {stage.id}  "
            f"(to see the reference train meanwhile: {command} --solutions)")
    option = pieces.OPTION_OF_MODULE[stage.module]
    raise KataError(
        f"{stage.label} does not pass yet, and {option} uses your {' and '.join(stage.tasks)} "
        f"({stage.exercise}). Finish it with: kata check {stage.id}  (to try {option} on the "
        f"reference meanwhile, add --solutions)")


def run_learner_code(impl: str, function, *args):
    """function(*args), turning a crash inside the learner's exercises/ into a KataError that
    points at their file (the CLI would otherwise call it an internal error of the kata)."""
    try:
        return function(*args)
    except Exception as error:  # noqa: BLE001 - anything the learner's functions may raise
        frame = learner_frame(error, impl)
        if impl != "exercises" or frame is None:
            raise
        module = Path(frame.filename).stem
        raise KataError(
            f"your {frame.name}() raised {type(error).__name__}: {error} (exercises/{module}.py, "
            f"line {frame.lineno}) during training, although its tests pass. Check what it does "
            f"with float32 mini-batches, the case training adds, then run: kata check {module}") from error


def add_model_arguments(parser: argparse.ArgumentParser, defaults: training.TrainConfig,
                        lr_help: str | None = None, lr: bool = True) -> None:
    """The options kata train and kata experiment share; lr_help: --lr defaults to None, resolved
    by config_from_args; lr=False: no --lr (an experiment that sweeps it)."""
    parser.add_argument("--hidden", type=positive_int, default=defaults.hidden, metavar="N",
                        help=f"units per hidden layer (default {defaults.hidden})")
    parser.add_argument("--depth", type=positive_int, default=defaults.depth, metavar="D",
                        help=f"hidden layers (default {defaults.depth}: your stage-5 forward/backward; "
                             f"more: your deep_forward/deep_backward once stage 11 passes, before "
                             f"that your stage functions chained by the checker)")
    parser.add_argument("--epochs", type=positive_int, default=defaults.epochs, metavar="E",
                        help=f"passes over the training set (default {defaults.epochs})")
    parser.add_argument("--batch-size", type=positive_int, default=defaults.batch_size,
                        metavar="B", help=f"examples per update (default {defaults.batch_size})")
    if lr:
        parser.add_argument("--lr", type=positive_float, default=None if lr_help else defaults.lr,
                            help=lr_help or f"learning rate at the start (default {defaults.lr:g})")
    parser.add_argument("--lr-schedule", choices=sorted(training.LR_SCHEDULES), default=defaults.lr_schedule,
                        help=f"linear: decays to 0 by the last update; constant: stays "
                             f"(default {defaults.lr_schedule})")
    parser.add_argument("--seed", type=seed_int, default=defaults.seed,
                        help=f"seed of the initial weights and the batch order (default {defaults.seed})")
    parser.add_argument("--data-dir", type=folder_path, metavar="DIR",
                        help="read the four IDX files from DIR instead of data/mnist/ "
                             "(e.g. Fashion-MNIST)")
    parser.add_argument("--out", type=folder_path, metavar="DIR", default=None,
                        help="create the run folder in DIR (default runs/)")
    parser.add_argument("--solutions", action="store_true",
                        help="use the reference implementation instead of your exercises/")


def add_part3_arguments(parser: argparse.ArgumentParser, defaults: training.TrainConfig) -> None:
    """--model cnn and its shape; --yes for long runs."""
    from ..cnn import CNN_DEFAULTS, CNN_LR

    group = parser.add_argument_group("Part III options", textwrap.fill(
        "--model cnn uses your conv2d and maxpool functions (stages 13 and 14, which must pass first) with "
        "your relu, dense, softmax and cross-entropy functions: conv 3x3 (16 filters, pad 1), pool 2, ReLU; "
        "conv 3x3 (32 filters, pad 1), pool 2, ReLU; dense to 128, ReLU; dense to 10. Its defaults differ from "
        "the MLP's: "
        + ", ".join(f"--{k.replace('_', '-')} {v}" for k, v in CNN_DEFAULTS.items() if k != "evals_per_epoch")
        + ", --lr " + ", ".join(f"{lr:g} with {name}" for name, lr in CNN_LR.items()) + "."))
    group.add_argument("--model", choices=("mlp", "cnn"), default=defaults.model,
                       help=f"mlp: the network of Part I (and --depth); cnn: the convolutional network "
                            f"(default {defaults.model})")
    group.add_argument("--filters", type=filter_counts, default=None, metavar="F1,F2",
                       help="of --model cnn: filters of each convolution layer, each followed by 2x2 "
                            f"max-pooling and ReLU (default {','.join(map(str, defaults.filters))})")
    group.add_argument("--cnn-hidden", type=non_negative_int, default=None, metavar="N",
                       help="of --model cnn: units of a dense ReLU layer between the last pooling and the "
                            f"output; 0: none (default {CNN_DEFAULTS['cnn_hidden']})")
    group.add_argument("--yes", action="store_true",
                       help="train even when the run is estimated to take over 10 minutes, without asking")


MODEL_OPTIONS = ("epochs", "optimizer", "lr_schedule", "shift")  # options whose default depends on --model


def apply_model_defaults(args: argparse.Namespace) -> None:
    """Fill the options left out (None) with the defaults of the chosen --model."""
    from ..cnn import CNN_DEFAULTS, CNN_LR

    cnn = getattr(args, "model", "mlp") == "cnn"
    reject_other_models_options(args, cnn)
    for name in (*MODEL_OPTIONS, "evals_per_epoch"):
        if getattr(args, name, None) is None and (cnn or name in MODEL_OPTIONS):
            setattr(args, name, CNN_DEFAULTS[name] if cnn else getattr(training.TrainConfig, name))
    if cnn and getattr(args, "lr", None) is None:
        args.lr = CNN_LR[args.optimizer]
    if cnn and getattr(args, "cnn_hidden", None) is None:
        args.cnn_hidden = CNN_DEFAULTS["cnn_hidden"]


def reject_other_models_options(args: argparse.Namespace, cnn: bool) -> None:
    """An option of the other --model would be ignored without a word: say so instead (exit 2)."""
    if cnn:
        mlp_only = [("--depth", getattr(args, "depth", 1) != 1),
                    ("--hidden", getattr(args, "hidden", training.TrainConfig.hidden) != training.TrainConfig.hidden),
                    ("--batchnorm", bool(getattr(args, "batchnorm", False)))]
        given = [name for name, used in mlp_only if used]
        if given:
            raise UsageError(f"{', '.join(given)} shape{'s' if len(given) == 1 else ''} the MLP, not --model cnn. "
                             f"The CNN's layers are set with --filters and --cnn-hidden. See: kata train --help")
    elif getattr(args, "cnn_hidden", None) is not None:
        raise UsageError("--cnn-hidden shapes the CNN's dense layer: use it with --model cnn, or --hidden for "
                         "the MLP. See: kata train --help")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    defaults = training.TrainConfig()
    parser.description = textwrap.fill(
        "Train the digit classifier built from your own stage functions on MNIST: 50,000 training "
        "images, 10,000 for validation (measured during training), 10,000 for the test (reported "
        "once, at the end). Runs once all seven stages pass. Writes runs/<time>-<name>/ with "
        "metrics.csv, config.json, weights.npz, summary.json and the plots.")
    parser.epilog = (
        "examples:\n"
        "  kata train                      your network, default options\n"
        "  kata train --solutions          the reference, to see the end result first\n"
        "  kata train --init random        the naive initialisation instead of He's\n"
        "  kata train --hidden 512 --epochs 20 --lr 0.2\n"
        "  kata train --l2 1e-4 --dropout 0.2 --optimizer momentum   Part II options\n"
        "  kata train --model cnn          the convolutional network of Part III\n"
        "  kata train --data-dir /usr/share/datasets/fashion-mnist\n"
        "then: kata predict --index 0, or kata predict my_digit.png")
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    add_model_arguments(parser, defaults, lr_help="learning rate at the start (default: "
                        + ", ".join(f"{lr:g} with {name}" for name, lr in pieces.DEFAULT_LR.items()) + ")")
    parser.add_argument("--init", choices=("he", "random"), default=defaults.init,
                        help="he: he_init; random: random_init with scale 0.01 (default he)")
    parser.add_argument("--shift", type=shift_pixels, default=defaults.shift, metavar="PIXELS",
                        help="data augmentation: every time a training image is used, move it by a random "
                             f"0 to PIXELS pixels up or down and left or right (at most {pieces.MAX_SHIFT}; "
                             f"default {defaults.shift}: none)")
    parser.add_argument("--name", default=None,
                        help="name of the run folder after the time stamp (default: the implementation)")
    pieces.add_arguments(parser, defaults)
    add_part3_arguments(parser, defaults)
    # Their defaults depend on --model (apply_model_defaults fills them in after parsing).
    parser.set_defaults(**{name: None for name in MODEL_OPTIONS})
    for action in parser._actions:
        if action.dest in MODEL_OPTIONS and action.help:
            action.help = action.help.rstrip(")") + "; --model cnn: see below)"


def config_from_args(args: argparse.Namespace, **overrides) -> training.TrainConfig:
    """The TrainConfig of the parsed options; an option left at None takes TrainConfig's default,
    and --lr left out the default of the optimizer (parts.DEFAULT_LR)."""
    values = {name: getattr(args, name) for name in training.TrainConfig.__dataclass_fields__
              if getattr(args, name, None) is not None}
    values.setdefault("lr", pieces.DEFAULT_LR[values.get("optimizer", training.TrainConfig.optimizer)])
    return training.TrainConfig(**{**values, **overrides})


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


def confirm_long_run(seconds: float, args: argparse.Namespace, ask=input, batch: BatchTime | None = None) -> None:
    """Go on if the run is short, --yes is given, or the learner says yes on a terminal; batch: the
    timing the estimate comes from, to name the slow piece."""
    if seconds <= LONG_RUN_SECONDS or getattr(args, "yes", False):
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


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def display_path(path: Path) -> str:
    try:
        return str(Path(path).resolve().relative_to(Path.cwd())) + "/"
    except ValueError:
        return str(path) + "/"


@with_blas_threads  # training and evaluation on one BLAS thread: see checker/threads.py
def run(args: argparse.Namespace, *, stages_known_to_pass: bool = False) -> int:
    """`kata train`; stages_known_to_pass: the caller has just run every suite (kata status)."""
    started = time.perf_counter()
    apply_model_defaults(args)
    pieces.check_optimizer_settings(args)
    config = config_from_args(args)
    impl = "solutions" if args.solutions else "exercises"
    if not args.solutions and not (stages_known_to_pass and not pieces.required_modules(config)):
        require_passing_stages(config)
    from ..data import load_dataset

    dataset = load_dataset(args.data_dir)
    parts = training.load_parts(impl, config)
    if config.model == "cnn":
        from ..cnn import describe

        sizes = describe(training.initial_params(parts, config, dataset.train.images.shape[1]))
    else:
        sizes = "-".join(map(str, config.layer_sizes(dataset.train.images.shape[1])))
    who = "the reference implementation" if args.solutions else "your network"
    if config.model == "cnn":
        batch = run_learner_code(impl, time_one_batch, parts, config, dataset)
        estimate = estimated_run_seconds(batch.seconds, config, dataset)
        whose = "the reference's" if args.solutions else "your"
        probed = f", timed on {batch.probed} images" if batch.probed else ""
        print(f"One batch of {config.batch_size} takes about {batch.seconds:.3g} s with {whose} functions "
              f"(forward and backward{probed}), of which conv2d {seconds_text(batch.pieces['conv2d'])} and maxpool "
              f"{seconds_text(batch.pieces['maxpool'])}: this run should take about {duration(estimate)}.")
        confirm_long_run(estimate, args, batch=batch)
    print(f"Training {who} ({sizes}, {config.init} init) on {len(dataset.train.labels):,} images: "
          f"{plural(config.epochs, 'epoch')}, batches of {config.batch_size}, lr {config.lr:g} "
          f"({config.lr_schedule}), seed {config.seed}{pieces.describe(config)}.")
    if config.depth > 1 or config.dropout > 0 or config.batchnorm:
        print(f"Forward and backward passes: {'the reference' if args.solutions else 'your'} {parts.network}.")
    # Made before training, so that an unusable --out fails at once, not after the training.
    run_dir = training.new_run_dir(args.out or ROOT / "runs", args.name or impl)
    try:
        result = run_learner_code(impl, training.train, parts, dataset, config, training.Progress())
    except BaseException:
        run_dir.rmdir()  # still empty
        raise
    if result.stopped == "interrupted":
        print(f"\nStopped by Ctrl-C after {result.history.iterations} iterations; "
              f"saving what there is so far.")
    try:
        summary = training.save_run(run_dir, parts, config, dataset, result, started)
    except KeyboardInterrupt:  # a second Ctrl-C, or SIGTERM: keep what was saved, marked as such
        kept = training.mark_interrupted_while_saving(run_dir, result)
        print(f"\nStopped while saving the run: kept {', '.join(kept) or 'nothing but the summary'} in "
              f"{display_path(run_dir)} (marked as interrupted in {training.SUMMARY_FILE}).")
        return 130
    where = display_path(run_dir)
    if result.stopped == "diverged":
        raise KataError(f"{result.message} The metrics and curves so far are in {where}")
    failure = training.did_not_learn(result.history, config.lr) if result.stopped is None else None
    if failure:
        summary.update(learned=False, message=failure)
        training.write_json(run_dir / training.SUMMARY_FILE, summary)
        raise KataError(f"{failure} The run is kept in {where}; kata predict skips it unless named with --run.")
    print(f"Test accuracy: {summary['test_accuracy']:.2%} on {len(dataset.test.labels):,} test "
          f"images, after {plural(summary['epochs_completed'], 'epoch')}.")
    if summary["l2_term"] is not None:
        print(f"The training loss shown is the data loss (cross-entropy) alone, as in the plots; the "
              f"L2 term 0.5 * {config.l2:g} * sum(W**2) adds {summary['l2_term']:.4f} to it at the end.")
    print(f"Training took {result.train_seconds:.1f} s; the whole run {summary['wall_time_s']:.1f} s.")
    print(f"Results in {where}: {training.METRICS_FILE}, {training.CONFIG_FILE}, {training.WEIGHTS_FILE}, {training.SUMMARY_FILE}")
    print(f"  plots: {', '.join(summary['plots'])}")
    from .webpage import display_file, write_page

    print(f"Web page: {display_file(write_page(run_dir, dataset))}  (open it in a browser and draw a digit)")
    print("Try it on a digit: kata predict --index 0  (or kata predict my_digit.png)")
    return 130 if result.stopped == "interrupted" else 0
