"""`kata train`: train a digit classifier on MNIST with the learner's own functions.

This is the kata's one training loop. It composes named pieces (`Parts`): the initialisation, the
mini-batch order, the forward pass, the loss, the backward pass and the update step, each one a
function of the curriculum. A Part II option (L2, dropout, momentum or Adam, a deeper network)
swaps one piece and keeps the loop; those pieces are in checker.parts.

Everything runs in float32: the parameters are cast once after initialisation, the images come as
float32 from checker.data, and the one-hot targets are built once per run.

A run writes runs/<timestamp>-<name>/ (see `save_run`): metrics.csv, config.json, weights.npz,
summary.json and the figures of checker.plots.
"""

from __future__ import annotations

import argparse
import csv
import importlib
import json
import math
import platform
import sys
import textwrap
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Callable

import numpy as np

from . import network
from . import parts as pieces  # the Part II pieces; `parts` names a Parts below
from .errors import KataError
from .stages import ROOT
from .teach import learner_frame
from .threads import with_blas_threads

NUM_CLASSES = 10


@dataclass(frozen=True)
class TrainConfig:
    """The options of one run; defaults are those of `kata train`."""

    # The defaults take the reference to >= 98.0% test accuracy at the end of the run on every
    # seed tried (98.05-98.33% on seeds 0-13, mean 98.16%) in about 4 s of training on 2 cores.
    # For the same time, a wider layer beats more epochs of a narrower one: 256 units reach about
    # 98.05% on average in 8 epochs, 384 units 98.16% in 6.
    hidden: int = 384  # units per hidden layer
    depth: int = 1  # hidden layers: stage 5's forward/backward serve 1, stage 11's deep_forward any
    epochs: int = 6
    batch_size: int = 64
    lr: float = 0.8  # learning rate at the start
    lr_schedule: str = "linear"  # "linear": decays to 0 over the run; "constant"
    init: str = "he"  # "he" (he_init) or "random" (random_init, scale 0.01)
    seed: int = 0
    evals_per_epoch: int = 2  # full validation passes per epoch (mid-epoch and at its end): each
    # costs about a tenth of an epoch at the defaults, so more would break the 5 s budget
    first_epoch_eval_every: int = 0  # if > 0: evaluate every this many iterations in epoch 1
    # Part II (checker.parts): each option that is on uses its stage's functions.
    l2: float = 0.0  # lambda of the L2 penalty 0.5 * lambda * sum of W**2 (stage 8); 0: none
    dropout: float = 0.0  # p_drop after every hidden ReLU, in training only (stage 9); 0: none
    optimizer: str = "sgd"  # "sgd" (stage 7), "momentum" or "adam" (stage 10)
    momentum: float = 0.9  # of --optimizer momentum
    beta1: float = 0.9  # of --optimizer adam
    beta2: float = 0.999
    batchnorm: bool = False  # batch normalisation after every hidden dense layer (stage 12)
    # Part III (checker.cnn): "mlp" (the network of Part I) or "cnn" (stages 13-14 with Part I's).
    model: str = "mlp"
    filters: tuple[int, ...] = (8, 16)  # of --model cnn: filters of each convolution layer
    kernel: int = 3  # of --model cnn: kernel side, with "same" padding kernel // 2

    def layer_sizes(self, num_inputs: int) -> list[int]:
        return [num_inputs, *[self.hidden] * self.depth, NUM_CLASSES]


# --- the pieces the loop composes --------------------------------------------------------------

@dataclass(frozen=True)
class Parts:
    """The functions the loop composes, each swappable on its own.

    init(layer_sizes, rng) -> params {W1, b1, ...}
    batches(num_examples, batch_size, rng) -> iterable of 1-D index arrays, one epoch
    forward(params, X (N, D)) -> (probs (N, C), cache)
    loss(probs (N, C), targets (N, C)) -> float, the data loss
    backward(params, cache, targets (N, C)) -> grads, the keys and shapes of params
    optimizer(params) -> step: called once per run with the initial params, it creates the
        optimizer's state (none for SGD, a velocity for momentum, Adam's moments) and returns
        step(params, grads, lr) -> params, updated in place
    lr_at(fraction_done) -> the learning rate factor, fraction_done in [0, 1)
    train_forward(params, X, rng) -> (probs, cache): the forward pass of training, e.g. with
        dropout, drawing from rng; None: forward. backward must accept its cache.
    penalty(params) -> float: a term added to the loss (L2); None: none
    penalty_gradient(params, grads) -> grads: the penalty's gradient added; None with penalty
    """

    impl: str
    init: Callable
    batches: Callable
    forward: Callable
    loss: Callable
    backward: Callable
    optimizer: Callable[[dict], Callable]
    lr_at: Callable[[float], float]
    train_forward: Callable | None = None
    penalty: Callable[[dict], float] | None = None
    penalty_gradient: Callable[[dict, dict], dict] | None = None
    network: str = ""  # which functions make the forward and backward passes, for the learner


LR_SCHEDULES = {
    "constant": lambda fraction_done: 1.0,
    # Large steps early to learn fast, small steps late to settle into a minimum. On MNIST, plain
    # SGD at a constant 0.2 ends near 97.8%; from 0.8 decaying to 0 it ends near 98.15%.
    "linear": lambda fraction_done: 1.0 - fraction_done,
}


def load_parts(impl: str, config: TrainConfig) -> Parts:
    """The Parts of package `impl` ("exercises" or "solutions") for this config."""
    module = lambda name: importlib.import_module(f"{impl}.{name}")  # noqa: E731
    pieces.check_options(config)
    init_module = module("init")
    init = {"he": init_module.he_init, "random": init_module.random_init}[config.init]
    optimizer = pieces.optimizer(impl, config.optimizer, config.momentum, config.beta1, config.beta2)
    train_forward = None
    if config.model == "cnn":
        from . import cnn

        init = cnn.initializer(impl, config.filters, config.kernel)
        if config.dropout > 0:
            dropout = module(pieces.DROPOUT_MODULE)
            train_forward, forward, backward = cnn.network(
                impl, dropout=(dropout.dropout_forward, dropout.dropout_backward, config.dropout))
        else:
            forward, backward = cnn.network(impl)
        source = "conv2d and maxpool (stages 13-14) with Part I's functions, chained by checker/cnn.py"
    elif config.batchnorm:  # stage 12 inside a network the checker composes (deep_forward has no BN)
        train_forward, forward, backward = network.batchnorm_network(impl, config.dropout)
        init, optimizer = network.with_batchnorm(init), network.optimizing_trainable(optimizer)
        source = "batchnorm_forward/backward (stage 12) in a network the checker chains from the stage functions"
    elif (config.depth > 1 or config.dropout > 0) and network.learner_wrote_deep(impl):
        train_forward, forward, backward = network.deep(impl, config.dropout)
        source = "deep_forward and deep_backward (stage 11)"
    elif config.dropout > 0:  # before stage 11: the checker composes the stage functions, any depth
        train_forward, forward, backward = pieces.dropout(impl, config.dropout)
        source = "stage functions, chained by the checker (stage 11 does not pass yet)"
    elif config.depth == 1:
        backprop = module("backprop")
        forward, backward = backprop.forward, backprop.backward
        source = "forward and backward (stage 5)"
    else:
        forward, backward = network.layered(impl)
        source = "stage functions, chained by the checker (stage 11 does not pass yet)"
    penalty, penalty_gradient = pieces.l2(impl, config.l2) if config.l2 > 0 else (None, None)
    descent = module("gradient_descent")
    return Parts(
        impl=impl,
        init=init,
        batches=descent.minibatches,
        forward=forward,
        loss=module("cross_entropy").cross_entropy,
        backward=backward,
        optimizer=optimizer,
        lr_at=LR_SCHEDULES[config.lr_schedule],
        train_forward=train_forward,
        penalty=penalty,
        penalty_gradient=penalty_gradient,
        network=source,
    )


# --- what the loop records ---------------------------------------------------------------------

@dataclass
class EpochRow:
    epoch: int
    iteration: int  # updates done at the end of the epoch
    train_loss: float  # mean of the epoch's batch losses
    train_accuracy: float  # fraction of the epoch's training examples classified right, as seen
    validation_loss: float
    validation_accuracy: float
    seconds: float  # training time of the epoch, evaluations included
    penalty: float | None = None  # the L2 term at the epoch's end (not in train_loss); None: no L2


@dataclass
class History:
    """Everything measured during training; iteration arrays hold one value per update."""

    iterations_per_epoch: int
    batch_loss: list[float] = field(default_factory=list)
    batch_accuracy: list[float] = field(default_factory=list)
    evals: list[tuple[int, float, float]] = field(default_factory=list)  # (iteration, val loss, val acc)
    epochs: list[EpochRow] = field(default_factory=list)

    @property
    def iterations(self) -> int:
        return len(self.batch_loss)


@dataclass
class TrainResult:
    params: dict
    history: History
    train_seconds: float
    stopped: str | None = None  # None when finished; "interrupted" (Ctrl-C) or "diverged"
    message: str = ""  # what went wrong, for stopped runs


class Silent:
    """A progress reporter that says nothing (tests, experiments); Progress shows a bar.

    evaluated(iteration, params) is called after each validation pass, with the weights as they
    are then (an experiment may measure more on them; it must not change them).
    """

    def epoch_start(self, epoch, epochs, batches): pass
    def batch(self, done, running_loss): pass
    def evaluated(self, iteration, params): pass
    def epoch_end(self, row, epochs): pass


class Progress(Silent):
    """A per-epoch progress bar with the running loss on a terminal, plain lines when piped."""

    WIDTH = 30

    def __init__(self, stream=None):
        self.stream = stream or sys.stdout
        self.tty = self.stream.isatty()

    def epoch_start(self, epoch, epochs, batches):
        self.epoch, self.epochs, self.batches = epoch, epochs, batches
        self.next_draw = 0.0

    def batch(self, done, running_loss):
        now = time.perf_counter()
        if not self.tty or now < self.next_draw:
            return
        self.next_draw = now + 0.1
        filled = self.WIDTH * done // self.batches
        bar = "#" * filled + "." * (self.WIDTH - filled)
        self.stream.write(f"\repoch {self.epoch:>2}/{self.epochs} [{bar}] "
                          f"{done}/{self.batches}  loss {running_loss:.4f}")
        self.stream.flush()

    def epoch_end(self, row, epochs):
        clear = "\r" + " " * (self.WIDTH + 50) + "\r" if self.tty else ""
        l2_term = "" if row.penalty is None else f" + L2 term {row.penalty:.4f}"
        self.stream.write(
            f"{clear}epoch {row.epoch:>2}/{epochs}  train loss {row.train_loss:.4f}{l2_term}  "
            f"train acc {row.train_accuracy:6.2%}  val acc {row.validation_accuracy:6.2%}  "
            f"({row.seconds:.2f} s)\n")
        self.stream.flush()


# --- the loop ----------------------------------------------------------------------------------

def evaluate(parts: Parts, params: dict, images: np.ndarray, targets: np.ndarray,
             chunk: int = 5000) -> tuple[float, float, np.ndarray]:
    """(mean loss, accuracy, probs (N, C)) of the network on images (N, D) with one-hot targets."""
    probs = np.concatenate([parts.forward(params, images[i:i + chunk])[0]
                            for i in range(0, len(images), chunk)])
    loss = parts.loss(probs, targets)
    accuracy = float(np.mean(probs.argmax(axis=1) == targets.argmax(axis=1)))
    return loss, accuracy, probs


def one_hot_targets(parts_impl: str, labels: np.ndarray) -> np.ndarray:
    """One-hot float32 targets (N, C), built once per run with the impl's one_hot."""
    one_hot = importlib.import_module(f"{parts_impl}.one_hot").one_hot
    return np.asarray(one_hot(labels, NUM_CLASSES), dtype=np.float32)


def random_streams(seed: int) -> tuple[np.random.Generator, np.random.Generator, np.random.Generator]:
    """(init_rng, batch_rng, dropout_rng): separate streams, so the batch order does not depend on
    what (or how much) the init or dropout draws; random_init and he_init, with or without
    dropout, see the very same batches. (The third stream left the first two unchanged.)"""
    return tuple(np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(3))


def initial_params(parts: Parts, config: TrainConfig, num_inputs: int) -> dict:
    """The starting weights of a run (float32), the same every time for the same seed."""
    init_rng = random_streams(config.seed)[0]
    return {key: np.asarray(value, dtype=np.float32)
            for key, value in parts.init(config.layer_sizes(num_inputs), init_rng).items()}


def eval_iterations(config: TrainConfig, iterations_per_epoch: int) -> set[int]:
    """The iterations (1-based update counts) after which validation is measured."""
    points = set()
    for epoch in range(config.epochs):
        start = epoch * iterations_per_epoch
        for k in range(1, config.evals_per_epoch + 1):
            points.add(start + math.ceil(k * iterations_per_epoch / config.evals_per_epoch))
    if config.first_epoch_eval_every > 0:
        points.update(range(config.first_epoch_eval_every, iterations_per_epoch + 1,
                            config.first_epoch_eval_every))
    return points


def smaller_lr(lr: float) -> float:
    """A learning rate to suggest after lr failed: a quarter of it, and never above the default."""
    return min(lr / 4, TrainConfig.lr)


CHANCE_MARGIN = 2.0  # a final validation accuracy below this many times chance (1 / classes): no learning


def did_not_learn(history: History, lr: float) -> str | None:
    """Why a run that ended with finite losses did not learn (None when it did): its final validation
    accuracy is near chance, or its training loss ended above where it started."""
    if not history.epochs or not history.batch_loss:
        return None
    accuracy = history.epochs[-1].validation_accuracy
    start, end = history.batch_loss[0], history.epochs[-1].train_loss
    if accuracy < CHANCE_MARGIN / NUM_CLASSES:
        what = (f"its validation accuracy ended at {accuracy:.1%}, about what guessing gets "
                f"({1 / NUM_CLASSES:.0%})")
    elif end > start:
        what = f"its training loss ended at {end:.4g}, above where it started ({start:.4g})"
    else:
        return None
    return (f"the run did not learn: {what}. The likely cause is a learning rate too high for this network "
            f"(--lr {lr:g}); try --lr {smaller_lr(lr):g}.")


def diverged_message(iteration: int, epoch: int, loss: float, lr: float) -> str:
    return (f"the loss became {loss} at iteration {iteration} (epoch {epoch}), so training stopped. "
            f"Likely causes: a learning rate too high for this network (--lr {lr:g}; try "
            f"--lr {smaller_lr(lr):g}), or a softmax or log that is not numerically stable (softmax must "
            f"subtract each row's maximum; cross_entropy must clip probabilities before the log: "
            f"kata check softmax, kata check cross_entropy).")


# A diverging run overflows before its loss turns nan; the loop reports that itself, once.
@np.errstate(over="ignore", invalid="ignore")
def train(parts: Parts, dataset, config: TrainConfig, progress: Silent | None = None) -> TrainResult:
    """Train a network on dataset.train, measuring on dataset.validation; never on dataset.test.

    dataset.<split>.images is (N, D) float32 in [0, 1], .labels is (N,) integers.
    Returns the trained params (float32) and the History. Stops early, with result.stopped set,
    on Ctrl-C ("interrupted") or on a loss that is not finite ("diverged").
    """
    progress = progress or Silent()
    images, labels = dataset.train.images, dataset.train.labels
    targets = one_hot_targets(parts.impl, labels)
    val_images = dataset.validation.images
    val_targets = one_hot_targets(parts.impl, dataset.validation.labels)
    num_examples = len(images)

    params = initial_params(parts, config, images.shape[1])
    step = parts.optimizer(params)
    _, batch_rng, dropout_rng = random_streams(config.seed)
    train_forward = parts.train_forward or (lambda params, X, rng: parts.forward(params, X))
    penalty_gradient = parts.penalty_gradient or (lambda params, grads: grads)
    iterations_per_epoch = math.ceil(num_examples / config.batch_size)
    total_iterations = iterations_per_epoch * config.epochs
    evals_at = eval_iterations(config, iterations_per_epoch)
    history = History(iterations_per_epoch)
    stopped, message, iteration = None, "", 0

    def validate():
        loss, accuracy, _ = evaluate(parts, params, val_images, val_targets)
        history.evals.append((iteration, loss, accuracy))
        progress.evaluated(iteration, params)

    started = time.perf_counter()
    try:
        for epoch in range(1, config.epochs + 1):
            epoch_started = time.perf_counter()
            progress.epoch_start(epoch, config.epochs, iterations_per_epoch)
            loss_sum = correct = seen = 0
            for batch, index in enumerate(parts.batches(num_examples, config.batch_size, batch_rng), 1):
                lr = config.lr * parts.lr_at(iteration / total_iterations)
                batch_targets = targets[index]
                probs, cache = train_forward(params, images[index], dropout_rng)
                loss = parts.loss(probs, batch_targets)  # the data loss, without any penalty
                if not math.isfinite(loss):
                    stopped, message = "diverged", diverged_message(iteration + 1, epoch, loss, config.lr)
                    break
                step(params, penalty_gradient(params, parts.backward(params, cache, batch_targets)), lr)
                iteration += 1
                hits = int(np.count_nonzero(probs.argmax(axis=1) == labels[index]))
                history.batch_loss.append(loss)
                history.batch_accuracy.append(hits / len(index))
                loss_sum += loss * len(index)
                correct += hits
                seen += len(index)
                if iteration in evals_at:
                    validate()
                progress.batch(batch, loss_sum / seen)
            if stopped:
                break
            if not history.evals or history.evals[-1][0] != iteration:
                validate()
            _, validation_loss, validation_accuracy = history.evals[-1]
            row = EpochRow(epoch, iteration, loss_sum / seen, correct / seen, validation_loss,
                           validation_accuracy, time.perf_counter() - epoch_started,
                           parts.penalty(params) if parts.penalty else None)
            history.epochs.append(row)
            progress.epoch_end(row, config.epochs)
    except KeyboardInterrupt:
        stopped = "interrupted"
        message = f"stopped by Ctrl-C at iteration {iteration} (epoch {len(history.epochs) + 1})"
    return TrainResult(params, history, time.perf_counter() - started, stopped, message)


# --- the run folder ----------------------------------------------------------------------------

WEIGHTS_FILE = "weights.npz"
CONFIG_FILE = "config.json"
METRICS_FILE = "metrics.csv"
SUMMARY_FILE = "summary.json"
METRICS_COLUMNS = ("scope", "epoch", "iteration", "train_loss", "train_accuracy",
                   "validation_loss", "validation_accuracy", "seconds")


def new_run_dir(parent: Path, name: str) -> Path:
    """A fresh folder parent/<timestamp>-<name>, e.g. runs/20250101-120000-solutions."""
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    for attempt in range(1, 1000):
        run_dir = parent / (f"{stamp}-{name}" if attempt == 1 else f"{stamp}-{name}-{attempt}")
        try:
            run_dir.mkdir(parents=True)
            return run_dir
        except FileExistsError:
            continue
        except OSError as error:
            raise KataError(f"cannot create the run folder {run_dir}: {error.strerror}. "
                            f"Choose another folder with --out DIR.") from None
    raise KataError(f"too many runs named {name} in {parent} this second. Try again.")


def write_metrics(path: Path, history: History) -> None:
    """metrics.csv: one row per iteration (batch loss and accuracy, validation where measured),
    and after each epoch's last iteration one row for the epoch (means over the epoch)."""
    evals = {iteration: (loss, accuracy) for iteration, loss, accuracy in history.evals}
    epochs = {row.iteration: row for row in history.epochs}
    number = lambda value: f"{value:.6g}"  # noqa: E731
    with path.open("w", newline="") as f:
        out = csv.writer(f)
        out.writerow(METRICS_COLUMNS)
        for i, (loss, accuracy) in enumerate(zip(history.batch_loss, history.batch_accuracy), 1):
            val = evals.get(i)
            epoch = (i - 1) // history.iterations_per_epoch + 1
            out.writerow(["iteration", epoch, i, number(loss), number(accuracy),
                          number(val[0]) if val else "", number(val[1]) if val else "", ""])
            row = epochs.get(i)
            if row:
                out.writerow(["epoch", row.epoch, row.iteration, number(row.train_loss),
                              number(row.train_accuracy), number(row.validation_loss),
                              number(row.validation_accuracy), f"{row.seconds:.3f}"])


def read_metrics(path: Path) -> History:
    """The History of a metrics.csv written by write_metrics (for plots of a saved run)."""
    with path.open(newline="") as f:
        rows = list(csv.DictReader(f))
    iteration_rows = [r for r in rows if r["scope"] == "iteration"]
    epoch_rows = [r for r in rows if r["scope"] == "epoch"]
    per_epoch = int(epoch_rows[0]["iteration"]) if epoch_rows else len(iteration_rows)
    history = History(per_epoch)
    for r in iteration_rows:
        history.batch_loss.append(float(r["train_loss"]))
        history.batch_accuracy.append(float(r["train_accuracy"]))
        if r["validation_accuracy"]:
            history.evals.append((int(r["iteration"]), float(r["validation_loss"]),
                                  float(r["validation_accuracy"])))
    for r in epoch_rows:
        history.epochs.append(EpochRow(int(r["epoch"]), int(r["iteration"]), float(r["train_loss"]),
                                       float(r["train_accuracy"]), float(r["validation_loss"]),
                                       float(r["validation_accuracy"]), float(r["seconds"])))
    return history


def write_json(path: Path, value: dict) -> None:
    path.write_text(json.dumps(value, indent=2) + "\n", encoding="utf-8")


def architecture(config: TrainConfig, parts: Parts, params: dict, num_inputs: int) -> dict:
    """What config.json says of the network, so that kata predict and the web page rebuild it:
    the CNN's layers, or the MLP's layer sizes, batch normalisation and saved arrays."""
    if config.model == "cnn":
        from .cnn import describe

        return {"architecture": describe(params)}
    return {
        "layer_sizes": config.layer_sizes(num_inputs),
        "network": {  # weights.npz holds every array named here
            "layers": config.depth + 1,
            "batchnorm": config.batchnorm,
            "batchnorm_eps": network.BN_EPS if config.batchnorm else None,
            "arrays": list(params),
            "forward_backward": parts.network,
        },
    }


def save_run(run_dir: Path, parts: Parts, config: TrainConfig, dataset, result: TrainResult,
             started: float) -> dict:
    """Write everything a run leaves behind into run_dir and return the summary.

    The test set is used here, once, after training: for the reported accuracy and the figures.
    """
    from . import plots  # matplotlib takes a moment to import: only after training

    write_metrics(run_dir / METRICS_FILE, result.history)
    write_json(run_dir / CONFIG_FILE, {
        **asdict(config),
        "impl": parts.impl,
        **architecture(config, parts, result.params, dataset.train.images.shape[1]),
        "dataset": getattr(dataset, "name", "mnist"),
        "data_dir": str(getattr(dataset, "data_dir", "")),
        "train_examples": len(dataset.train.labels),
        "validation_examples": len(dataset.validation.labels),
        "numpy": np.__version__,
        "python": platform.python_version(),
    })
    np.savez(run_dir / WEIGHTS_FILE, **result.params)

    test_accuracy = None
    figures = [plots.plot_loss(result.history, run_dir), plots.plot_accuracy(result.history, run_dir)]
    if result.stopped != "diverged":
        test = dataset.test
        _, test_accuracy, probs = evaluate(parts, result.params, test.images,
                                           one_hot_targets(parts.impl, test.labels))
        predictions = probs.argmax(axis=1)
        figures += [
            plots.plot_confusion(test.labels, predictions, run_dir),
            plots.plot_misclassified(test.images, test.labels, probs, run_dir),
            plots.plot_conv_filters(result.params["W1"], result.params["b1"], dataset.train.images[0], run_dir)
            if result.params["W1"].ndim == 4 else
            plots.plot_first_layer_weights(
                result.params["W1"], run_dir,
                W1_start=initial_params(parts, config, dataset.train.images.shape[1])["W1"],
                pixel_use=np.mean(dataset.train.images > 0, axis=0)),
        ]
    last = result.history.epochs[-1] if result.history.epochs else None
    summary = {
        "test_accuracy": test_accuracy,
        "validation_accuracy": last.validation_accuracy if last else None,
        "train_loss": last.train_loss if last else None,  # the data loss, without the L2 term
        "l2_term": last.penalty if last else None,  # the L2 term at the end; None without --l2
        "impl": parts.impl,
        "run_dir": str(run_dir),
        "plots": [path.name for path in figures],
        "epochs_completed": len(result.history.epochs),
        "iterations": result.history.iterations,
        "train_time_s": round(result.train_seconds, 3),
        "wall_time_s": round(time.perf_counter() - started, 3),
        "finished": result.stopped is None,
        "stopped": result.stopped,
        "message": result.message,
    }
    write_json(run_dir / SUMMARY_FILE, summary)
    return summary


def mark_interrupted_while_saving(run_dir: Path, result: TrainResult) -> list[str]:
    """After a stop while save_run wrote run_dir: a summary.json that says so. Returns the files kept."""
    kept = sorted(p.name for p in run_dir.iterdir() if p.name != SUMMARY_FILE)
    write_json(run_dir / SUMMARY_FILE, {
        "test_accuracy": None, "run_dir": str(run_dir), "plots": [n for n in kept if n.endswith(".png")],
        "iterations": result.history.iterations, "epochs_completed": len(result.history.epochs),
        "finished": False, "stopped": "interrupted",
        "message": f"stopped while the run was being saved; kept: {', '.join(kept) or 'nothing'}"})
    return kept


# --- the command -------------------------------------------------------------------------------

def require_passing_stages(config: TrainConfig | None = None, command: str = "kata train") -> None:
    """kata train trains the learner's own network: every Part I stage must pass first, and the
    stage of every Part II option that `config` turns on (stage 8 for --l2, 9 for --dropout,
    10 for momentum and Adam, 12 for --batchnorm). Plain training never waits for Part II."""
    from .runner import first_unpassed_stage
    from .stages import stage_of_module, stages_of_part

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


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a number of at least 1, got {value}")
    return value


def nonnegative_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not (value >= 0 and math.isfinite(value)):
        raise argparse.ArgumentTypeError(f"expected a finite number >= 0, got {text}")
    return value


def fraction_below_one(text: str) -> float:
    """A number in [0, 1): a dropout probability, a momentum, Adam's betas."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"expected a number from 0 up to, but not including, 1, got {text}")
    return value


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not (value > 0 and math.isfinite(value)):
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text}")
    return value


def seed_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"a seed is a whole number of at least 0, got {value}")
    return value


def folder_path(text: str) -> Path:
    """A folder option: an empty one would silently mean the current folder."""
    if not text.strip():
        raise argparse.ArgumentTypeError("the folder is empty: name one, e.g. runs/mine, or leave the option out")
    return Path(text)


def add_model_arguments(parser: argparse.ArgumentParser, defaults: TrainConfig,
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
    parser.add_argument("--lr-schedule", choices=sorted(LR_SCHEDULES), default=defaults.lr_schedule,
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


def filter_counts(text: str) -> tuple[int, ...]:
    """--filters 8,16 -> (8, 16): filters per convolution layer."""
    try:
        counts = tuple(int(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected whole numbers separated by commas, e.g. 8,16; got {text!r}") from None
    if not counts or min(counts) < 1:
        raise argparse.ArgumentTypeError(f"expected numbers of filters of at least 1, e.g. 8,16; got {text!r}")
    return counts


def add_part3_arguments(parser: argparse.ArgumentParser, defaults: TrainConfig) -> None:
    """--model cnn and its shape; --yes for long runs."""
    from .cnn import CNN_DEFAULTS, CNN_LR

    group = parser.add_argument_group("Part III options", textwrap.fill(
        "--model cnn uses your conv2d and maxpool functions (stages 13 and 14, which must pass first) with "
        "your relu, dense, softmax and cross-entropy functions: conv 3x3 (8 filters, pad 1), ReLU, pool 2; "
        "conv 3x3 (16 filters, pad 1), ReLU, pool 2; dense to 10. Its defaults differ from the MLP's: "
        + ", ".join(f"--{k.replace('_', '-')} {v}" for k, v in CNN_DEFAULTS.items() if k != "evals_per_epoch")
        + ", --lr " + ", ".join(f"{lr:g} with {name}" for name, lr in CNN_LR.items()) + "."))
    group.add_argument("--model", choices=("mlp", "cnn"), default=defaults.model,
                       help=f"mlp: the network of Part I (and --depth); cnn: the convolutional network "
                            f"(default {defaults.model})")
    group.add_argument("--filters", type=filter_counts, default=None, metavar="F1,F2",
                       help="of --model cnn: filters of each convolution layer, each followed by ReLU and "
                            f"2x2 max-pooling (default {','.join(map(str, defaults.filters))})")
    group.add_argument("--yes", action="store_true",
                       help="train even when the run is estimated to take over 10 minutes, without asking")


MODEL_OPTIONS = ("epochs", "optimizer", "lr_schedule")  # options whose default depends on --model


def apply_model_defaults(args: argparse.Namespace) -> None:
    """Fill the options left out (None) with the defaults of the chosen --model."""
    from .cnn import CNN_DEFAULTS, CNN_LR

    cnn = getattr(args, "model", "mlp") == "cnn"
    for name in (*MODEL_OPTIONS, "evals_per_epoch"):
        if getattr(args, name, None) is None and (cnn or name in MODEL_OPTIONS):
            setattr(args, name, CNN_DEFAULTS[name] if cnn else getattr(TrainConfig, name))
    if cnn and getattr(args, "lr", None) is None:
        args.lr = CNN_LR[args.optimizer]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    defaults = TrainConfig()
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
    parser.add_argument("--name", default=None,
                        help="name of the run folder after the time stamp (default: the implementation)")
    pieces.add_arguments(parser, defaults)
    add_part3_arguments(parser, defaults)
    # Their defaults depend on --model (apply_model_defaults fills them in after parsing).
    parser.set_defaults(**{name: None for name in MODEL_OPTIONS})
    for action in parser._actions:
        if action.dest in MODEL_OPTIONS and action.help:
            action.help = action.help.rstrip(")") + "; --model cnn: see below)"


def config_from_args(args: argparse.Namespace, **overrides) -> TrainConfig:
    """The TrainConfig of the parsed options; an option left at None takes TrainConfig's default,
    and --lr left out the default of the optimizer (parts.DEFAULT_LR)."""
    values = {name: getattr(args, name) for name in TrainConfig.__dataclass_fields__
              if getattr(args, name, None) is not None}
    values.setdefault("lr", pieces.DEFAULT_LR[values.get("optimizer", TrainConfig.optimizer)])
    return TrainConfig(**{**values, **overrides})


# --- the time a run will take --------------------------------------------------------------------

LONG_RUN_SECONDS = 600  # a longer estimate asks before training (or needs --yes off a terminal)


def seconds_per_batch(parts: Parts, config: TrainConfig, dataset) -> float:
    """Wall time of one forward + backward pass of a batch, with the run's own functions.

    A few images are timed first: a loop version of conv2d can take a minute per batch, and then
    that is known without waiting for a whole one. A fast implementation is timed on full batches.
    """
    params = initial_params(parts, config, dataset.train.images.shape[1])
    images = dataset.train.images[:config.batch_size]
    targets = one_hot_targets(parts.impl, dataset.train.labels[:config.batch_size])

    def timed(count):
        started = time.perf_counter()
        _, cache = parts.forward(params, images[:count])
        parts.backward(params, cache, targets[:count])
        return time.perf_counter() - started

    probe = min(4, config.batch_size)
    per_batch = timed(probe) * config.batch_size / probe
    if per_batch < 1.0:
        per_batch = min(timed(config.batch_size) for _ in range(3))
    return per_batch


def estimated_run_seconds(per_batch: float, config: TrainConfig, dataset) -> float:
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


def confirm_long_run(seconds: float, args: argparse.Namespace, ask=input) -> None:
    """Go on if the run is short, --yes is given, or the learner says yes on a terminal."""
    if seconds <= LONG_RUN_SECONDS or getattr(args, "yes", False):
        return
    if sys.stdin.isatty() and sys.stdout.isatty():
        print(IM2COL_ADVICE)
        answer = ask(f"Train anyway, for about {duration(seconds)}? [y/N] ")
        if answer.strip().lower() in ("y", "yes"):
            return
        raise KataError("training not started. Speed up conv2d and maxpool, check them (kata check conv), "
                        "then run kata train --model cnn again.")
    raise KataError(f"this run would take about {duration(seconds)} with your functions, so it did not "
                    f"start. {IM2COL_ADVICE} To train anyway, add --yes.")


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
    from .data import load_dataset

    dataset = load_dataset(args.data_dir)
    parts = load_parts(impl, config)
    if config.model == "cnn":
        from .cnn import describe

        sizes = describe(initial_params(parts, config, dataset.train.images.shape[1]))
    else:
        sizes = "-".join(map(str, config.layer_sizes(dataset.train.images.shape[1])))
    who = "the reference implementation" if args.solutions else "your network"
    if config.model == "cnn":
        per_batch = run_learner_code(impl, seconds_per_batch, parts, config, dataset)
        estimate = estimated_run_seconds(per_batch, config, dataset)
        whose = "the reference's" if args.solutions else "your"
        probed = f", timed on {min(4, config.batch_size)} images" if per_batch >= 1.0 else ""  # see seconds_per_batch
        print(f"One batch of {config.batch_size} takes about {per_batch:.3g} s with {whose} conv2d and maxpool "
              f"functions (forward and backward{probed}): this run should take about {duration(estimate)}.")
        confirm_long_run(estimate, args)
    print(f"Training {who} ({sizes}, {config.init} init) on {len(dataset.train.labels):,} images: "
          f"{plural(config.epochs, 'epoch')}, batches of {config.batch_size}, lr {config.lr:g} "
          f"({config.lr_schedule}), seed {config.seed}{pieces.describe(config)}.")
    if config.depth > 1 or config.dropout > 0 or config.batchnorm:
        print(f"Forward and backward passes: {'the reference' if args.solutions else 'your'} {parts.network}.")
    # Made before training, so that an unusable --out fails at once, not after the training.
    run_dir = new_run_dir(args.out or ROOT / "runs", args.name or impl)
    try:
        result = run_learner_code(impl, train, parts, dataset, config, Progress())
    except BaseException:
        run_dir.rmdir()  # still empty
        raise
    if result.stopped == "interrupted":
        print(f"\nStopped by Ctrl-C after {result.history.iterations} iterations; "
              f"saving what there is so far.")
    try:
        summary = save_run(run_dir, parts, config, dataset, result, started)
    except KeyboardInterrupt:  # a second Ctrl-C, or SIGTERM: keep what was saved, marked as such
        kept = mark_interrupted_while_saving(run_dir, result)
        print(f"\nStopped while saving the run: kept {', '.join(kept) or 'nothing but the summary'} in "
              f"{display_path(run_dir)} (marked as interrupted in {SUMMARY_FILE}).")
        return 130
    where = display_path(run_dir)
    if result.stopped == "diverged":
        raise KataError(f"{result.message} The metrics and curves so far are in {where}")
    failure = did_not_learn(result.history, config.lr) if result.stopped is None else None
    if failure:
        summary.update(learned=False, message=failure)
        write_json(run_dir / SUMMARY_FILE, summary)
        raise KataError(f"{failure} The run is kept in {where}; kata predict skips it unless named with --run.")
    print(f"Test accuracy: {summary['test_accuracy']:.2%} on {len(dataset.test.labels):,} test "
          f"images, after {plural(summary['epochs_completed'], 'epoch')}.")
    if summary["l2_term"] is not None:
        print(f"The training loss shown is the data loss (cross-entropy) alone, as in the plots; the "
              f"L2 term 0.5 * {config.l2:g} * sum(W**2) adds {summary['l2_term']:.4f} to it at the end.")
    print(f"Training took {result.train_seconds:.1f} s; the whole run {summary['wall_time_s']:.1f} s.")
    print(f"Results in {where}: {METRICS_FILE}, {CONFIG_FILE}, {WEIGHTS_FILE}, {SUMMARY_FILE}")
    print(f"  plots: {', '.join(summary['plots'])}")
    from .webpage import display_file, write_page

    print(f"Web page: {display_file(write_page(run_dir, dataset))}  (open it in a browser and draw a digit)")
    print("Try it on a digit: kata predict --index 0  (or kata predict my_digit.png)")
    return 130 if result.stopped == "interrupted" else 0
