"""The Part II pieces of the training loop: an optimizer with its state, the L2 penalty, dropout.

checker.training.load_parts composes these with the Part I pieces into the `Parts` of one run; the
loop itself does not change. Every piece comes from the chosen implementation (`exercises`, the
learner's code, or `solutions`), and a module is imported only when its option is on, so Part I
training never touches the Part II stages.

    optimizer(params) -> step(params, grads, lr)   the state (velocity, Adam's moments) is created
                                                   once per run, from the initial params
    penalty(params) -> float                       the L2 term 0.5 * lambda * sum of W**2 (stage 8)
    penalty_gradient(params, grads) -> grads       grads + lambda * W for the weights (stage 8)
    train_forward(params, X, rng) -> (probs, cache) dropout after every hidden ReLU (stage 9);
                                                   with_shifts moves the training images first

The options of kata train that choose them are checker.train_options'.
"""

from __future__ import annotations

import importlib
import math
from typing import Callable


# --optimizer NAME -> the stage module its functions come from
OPTIMIZERS = {"sgd": "gradient_descent", "momentum": "optimizers", "adam": "optimizers"}
# The stage module of each Part II option of kata train (see required_modules).
L2_MODULE, DROPOUT_MODULE, BATCHNORM_MODULE = "regularization", "dropout", "batchnorm"
MAX_SHIFT = 8  # --shift: a 28x28 digit moved further leaves the image

# The option of kata train that uses each Part II stage module, for the messages of the gate.
OPTION_OF_MODULE = {"regularization": "--l2", "dropout": "--dropout",
                    "optimizers": "--optimizer momentum or adam", "batchnorm": "--batchnorm",
                    "conv": "--model cnn", "pool": "--model cnn"}

# The learning rate when --lr is not given. SGD's 0.8 (decaying linearly to 0) is Part I's; momentum
# 0.9 multiplies the step by about 1 / (1 - 0.9) = 10, so 0.08 takes the same effective step; Adam's
# step is about lr whatever the gradient's scale, and 0.001 is its usual default.
DEFAULT_LR = {"sgd": 0.8, "momentum": 0.08, "adam": 0.001}


def stage_module(impl: str, name: str):
    return importlib.import_module(f"{impl}.{name}")


def optimizer(impl: str, name: str, momentum: float = 0.9, beta1: float = 0.9,
              beta2: float = 0.999) -> Callable[[dict], Callable]:
    """optimizer(params) -> step(params, grads, lr), for --optimizer `name`.

    sgd: gradient_descent.sgd_step, no state. momentum: momentum_init once, then momentum_step.
    adam: adam_init once, then adam_step (eps at the contract's default, 1e-8).
    """
    if name not in OPTIMIZERS:
        raise ValueError(f"unknown optimizer {name!r}; expected one of {', '.join(OPTIMIZERS)}")
    module = stage_module(impl, OPTIMIZERS[name])
    if name == "sgd":
        return lambda params: module.sgd_step
    if name == "momentum":
        def start_momentum(params):
            velocity = module.momentum_init(params)
            return lambda params, grads, lr: module.momentum_step(params, grads, velocity, lr, momentum)
        return start_momentum

    def start_adam(params):
        state = module.adam_init(params)
        return lambda params, grads, lr: module.adam_step(params, grads, state, lr, beta1, beta2)
    return start_adam


def l2(impl: str, weight_decay: float) -> tuple[Callable[[dict], float], Callable[[dict, dict], dict]]:
    """(penalty, penalty_gradient) of regularization.l2_penalty and l2_gradient with this lambda."""
    module = stage_module(impl, L2_MODULE)
    return (lambda params: module.l2_penalty(params, weight_decay),
            lambda params, grads: module.l2_gradient(params, grads, weight_decay))


def shifted_images(images, max_shift: int, rng):
    """images (N, side*side), each moved by its own random (rows, columns) offset, both drawn
    uniformly from -max_shift..max_shift; pixels moved in from outside are 0 (background).

    A 7 moved one pixel left is still a 7: training on moved copies teaches the network that the
    position does not matter, which a convolution's shared weights make easy to learn.
    """
    import numpy as np
    from numpy.lib.stride_tricks import sliding_window_view

    n, pixels = images.shape
    side = int(round(math.sqrt(pixels)))
    padded = np.pad(images.reshape(n, side, side), ((0, 0), (max_shift, max_shift), (max_shift, max_shift)))
    windows = sliding_window_view(padded, (side, side), axis=(1, 2))  # (N, 2s+1, 2s+1, side, side)
    rows, columns = rng.integers(0, 2 * max_shift + 1, size=(2, n))
    return windows[np.arange(n), rows, columns].reshape(n, pixels)


def with_shifts(train_forward: Callable, max_shift: int) -> Callable:
    """train_forward(params, X, rng) that first moves every training image (shifted_images)."""
    def shifted_forward(params, X, rng):
        return train_forward(params, shifted_images(X, max_shift, rng), rng)

    return shifted_forward


def required_modules(config) -> list[str]:
    """The Part II and III stage modules that the options of `config` use, in stage order."""
    needed = set()
    if getattr(config, "model", "mlp") == "cnn":
        needed |= {"conv", "pool"}
    if config.l2 > 0:
        needed.add(L2_MODULE)
    if config.dropout > 0:
        needed.add(DROPOUT_MODULE)
    if config.optimizer != "sgd":
        needed.add(OPTIMIZERS[config.optimizer])
    if getattr(config, "batchnorm", False):
        needed.add(BATCHNORM_MODULE)
    return [m for m in (L2_MODULE, DROPOUT_MODULE, "optimizers", BATCHNORM_MODULE, "conv", "pool") if m in needed]


def check_options(config) -> None:
    """ValueError naming the first Part II option of `config` out of its range."""
    checks = [
        ("l2", config.l2, math.isfinite(config.l2) and config.l2 >= 0, "a finite number >= 0"),
        ("dropout", config.dropout, 0 <= config.dropout < 1, "0 <= p < 1"),
        ("optimizer", config.optimizer, config.optimizer in OPTIMIZERS, f"one of {', '.join(OPTIMIZERS)}"),
        ("momentum", config.momentum, 0 <= config.momentum < 1, "0 <= momentum < 1"),
        ("beta1", config.beta1, 0 <= config.beta1 < 1, "0 <= beta1 < 1"),
        ("beta2", config.beta2, 0 <= config.beta2 < 1, "0 <= beta2 < 1"),
        ("shift", getattr(config, "shift", 0), 0 <= getattr(config, "shift", 0) <= MAX_SHIFT,
         f"a whole number of pixels from 0 to {MAX_SHIFT}"),
    ]
    for name, value, valid, expected in checks:
        if not valid:
            raise ValueError(f"{name} must be {expected}, got {value!r}")


def describe(config) -> str:
    """", L2 1e-4, dropout 0.2, adam (beta1 0.9, beta2 0.999)" for the Part II options that are on
    (and --shift)."""
    words = []
    if config.l2 > 0:
        words.append(f"L2 {config.l2:g}")
    if config.dropout > 0:
        words.append(f"dropout {config.dropout:g}")
    if getattr(config, "batchnorm", False):
        words.append("batch norm")
    if getattr(config, "shift", 0) > 0:
        words.append(f"images moved by up to {config.shift} pixel{'s' if config.shift > 1 else ''}")
    if config.optimizer == "momentum":
        words.append(f"momentum {config.momentum:g}")
    elif config.optimizer == "adam":
        words.append(f"adam (beta1 {config.beta1:g}, beta2 {config.beta2:g})")
    return "".join(f", {word}" for word in words)
