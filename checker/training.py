"""The kata's one training loop, which trains a digit classifier on MNIST with the learner's own
functions.

The loop composes named pieces (`Parts`): the initialisation, the mini-batch order, the forward
pass, the loss, the backward pass and the update step, each one a function of the curriculum. A
Part II option (L2, dropout, momentum or Adam) swaps one piece and keeps the loop (checker.parts); so
does the network (a deeper MLP, batch norm, a CNN: checker.models).

Everything runs in float32: the parameters are cast once after initialisation, the images come as
float32 from checker.data, and the one-hot targets are built once per run.

It saves nothing: checker.training_run writes a run's folder (checker.runs), kata experiment its own.
"""

from __future__ import annotations

import importlib
import math
import time
from dataclasses import asdict, dataclass, field
from typing import Callable

import numpy as np

from . import models
from . import parts as pieces  # the Part II pieces; `parts` names a Parts below

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
    filters: tuple[int, ...] = (16, 32)  # of --model cnn: filters of each convolution layer
    kernel: int = 3  # of --model cnn: kernel side, with "same" padding kernel // 2
    cnn_hidden: int = 0  # of --model cnn: units of a dense ReLU layer before the output; 0: none
    shift: int = 0  # training images moved by up to this many pixels each way, afresh every time; 0: none

    def layer_sizes(self, num_inputs: int) -> list[int]:
        return [num_inputs, *[self.hidden] * self.depth, NUM_CLASSES]

    def applying(self) -> dict:
        """The options as config.json records them: only those that apply to this run (a CNN has no
        hidden width or depth of the MLP's, an MLP no filters; momentum belongs to --optimizer
        momentum, beta1 and beta2 to adam)."""
        values = asdict(self)
        if self.model == "cnn":
            dropped = ["hidden", "depth", "batchnorm"]
        else:
            dropped = ["filters", "kernel", "cnn_hidden"]
        dropped += [name for name, optimizer in (("momentum", "momentum"), ("beta1", "adam"), ("beta2", "adam"))
                    if self.optimizer != optimizer]
        return {name: value for name, value in values.items() if name not in dropped}


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


def load_parts(impl: str, config: TrainConfig, *, deep: bool | None = None) -> Parts:
    """The Parts of package `impl` ("exercises" or "solutions") for this config.

    deep: whether impl's stage 11 (deep_forward/deep_backward) may serve a network with more than one
    hidden layer or dropout (default: yes for every package but the learner's exercises; for those the
    command knows whether the stage passes, checker.learner_code.stage_passes). See checker.models.
    """
    module = lambda name: importlib.import_module(f"{impl}.{name}")  # noqa: E731
    pieces.check_options(config)
    init_module = module("init")
    init = {"he": init_module.he_init, "random": init_module.random_init}[config.init]
    optimizer = pieces.optimizer(impl, config.optimizer, config.momentum, config.beta1, config.beta2)
    net = models.pieces(impl, config, init, optimizer, deep=deep)
    train_forward = net.train_forward
    if config.shift > 0:
        unshifted = train_forward or (lambda params, X, rng: net.forward(params, X))
        train_forward = pieces.with_shifts(unshifted, config.shift)
    penalty, penalty_gradient = pieces.l2(impl, config.l2) if config.l2 > 0 else (None, None)
    descent = module("gradient_descent")
    return Parts(
        impl=impl,
        init=net.init,
        batches=descent.minibatches,
        forward=net.forward,
        loss=module("cross_entropy").cross_entropy,
        backward=net.backward,
        optimizer=net.optimizer,
        lr_at=LR_SCHEDULES[config.lr_schedule],
        train_forward=train_forward,
        penalty=penalty,
        penalty_gradient=penalty_gradient,
        network=net.source,
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
    """A progress reporter that says nothing (tests, experiments); checker.epoch_bar.EpochBar shows a bar.

    evaluated(iteration, params, accuracy) is called after each validation pass, with the weights as
    they are then and the validation accuracy measured; stepped(iteration, params) after each update.
    An experiment may measure more on the weights, or copy them; it must not change them.
    """

    def epoch_start(self, epoch, epochs, batches): pass
    def batch(self, done, running_loss): pass
    def stepped(self, iteration, params): pass
    def evaluated(self, iteration, params, accuracy): pass
    def epoch_end(self, row, epochs): pass


# --- the loop ----------------------------------------------------------------------------------

def evaluate(parts: Parts, params: dict, images: np.ndarray, targets: np.ndarray,
             chunk: int = 1000) -> tuple[float, float, np.ndarray]:
    """(mean loss, accuracy, probs (N, C)) of the network on images (N, D) with one-hot targets.

    In chunks of 1000 images: a CNN's im2col copies of 5000 at once took hundreds of MB, and the
    page faults of allocating them made a validation pass 3-4 times slower (the MLP does not mind).
    """
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
BARELY_MOVED = 0.05  # a training loss that ended within 5% of where it started did not move
HEAVY_DROPOUT = 0.9  # dropping this many hidden units or more leaves almost nothing to learn with
HEAVY_L2 = 0.01  # 100 times the L2 of the recipes (1e-4): the penalty outweighs the data
SUGGESTED = {"dropout": 0.2, "l2": 1e-4}  # what the recipes use (docs/results.md)


def did_not_learn(history: History, config: TrainConfig) -> str | None:
    """Why a run that ended with finite losses did not learn (None when it did): its final validation
    accuracy is near chance, or its training loss ended above where it started. The likely cause is
    named from what was set and what happened: almost every unit dropped, a penalty that outweighs the
    data, a loss that did not move (a learning rate too small), or one that went up (too large)."""
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
    lr = config.lr
    if config.dropout >= HEAVY_DROPOUT:
        cause = (f"--dropout {config.dropout:.10g}: it drops {100 * config.dropout:.10g}% of the hidden units at every "
                 f"update, so almost nothing the network computes reaches its output; try --dropout "
                 f"{SUGGESTED['dropout']:g}")
    elif config.l2 >= HEAVY_L2:
        cause = (f"--l2 {config.l2:g}, a penalty so heavy that it pulls every weight towards 0 faster than the data "
                 f"can move it; try --l2 {SUGGESTED['l2']:g}")
    elif abs(start - end) <= BARELY_MOVED * start and lr < pieces.DEFAULT_LR.get(config.optimizer, TrainConfig.lr):
        default = pieces.DEFAULT_LR.get(config.optimizer, TrainConfig.lr)
        cause = (f"a learning rate too small to move the weights (--lr {lr:g}): the training loss went from "
                 f"{start:.4g} to {end:.4g}; try --lr {default:g} (the default with --optimizer {config.optimizer})")
    else:
        cause = f"a learning rate too high for this network (--lr {lr:g}); try --lr {smaller_lr(lr):g}"
    return f"the run did not learn: {what}. The likely cause is {cause}."


def diverged_message(iteration: int, epoch: int, loss: float, config: TrainConfig) -> str:
    """Why the loss stopped being finite, from what was set: an L2 step that overshoots, units scaled up
    by a dropout near 1, or (most often) a learning rate too high or a softmax that is not stable."""
    what = f"the loss became {loss} at iteration {iteration} (epoch {epoch}), so training stopped. "
    lr = config.lr
    if config.l2 > 0 and lr * config.l2 >= 1:
        return what + (f"The likely cause is --l2 {config.l2:g} with --lr {lr:g}: the penalty's step multiplies every "
                       f"weight by 1 - lr * l2 = {1 - lr * config.l2:.3g} at each update, so the weights grow until "
                       f"they overflow; try --l2 {SUGGESTED['l2']:g} (lr * l2 must stay far below 1).")
    if config.dropout >= HEAVY_DROPOUT:
        return what + (f"The likely cause is --dropout {config.dropout:.10g}: the units it keeps are scaled by "
                       f"1 / (1 - p) = {1 / (1 - config.dropout):.3g}, so the activations overflow; try --dropout "
                       f"{SUGGESTED['dropout']:g}.")
    return what + (f"Likely causes: a learning rate too high for this network (--lr {lr:g}; try "
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
        progress.evaluated(iteration, params, accuracy)

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
                    stopped, message = "diverged", diverged_message(iteration + 1, epoch, loss, config)
                    break
                step(params, penalty_gradient(params, parts.backward(params, cache, batch_targets)), lr)
                iteration += 1
                progress.stepped(iteration, params)
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
