"""The Part II pieces of the training loop: an optimizer with its state, the L2 penalty, dropout.

checker.train.load_parts composes these with the Part I pieces into the `Parts` of one run; the
loop itself does not change. Every piece comes from the chosen implementation (`exercises`, the
learner's code, or `solutions`), and a module is imported only when its option is on, so Part I
training never touches the Part II stages.

    optimizer(params) -> step(params, grads, lr)   the state (velocity, Adam's moments) is created
                                                   once per run, from the initial params
    penalty(params) -> float                       the L2 term 0.5 * lambda * sum of W**2 (stage 8)
    penalty_gradient(params, grads) -> grads       grads + lambda * W for the weights (stage 8)
    train_forward(params, X, rng) -> (probs, cache) dropout after every hidden ReLU (stage 9)
"""

from __future__ import annotations

import importlib
import math
from typing import Callable

# --optimizer NAME -> the stage module its functions come from
OPTIMIZERS = {"sgd": "gradient_descent", "momentum": "optimizers", "adam": "optimizers"}
# The stage module of each Part II option of kata train (see required_modules).
L2_MODULE, DROPOUT_MODULE, BATCHNORM_MODULE = "regularization", "dropout", "batchnorm"

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


def dropout(impl: str, p_drop: float) -> tuple[Callable, Callable, Callable]:
    """(train_forward, forward, backward) of the network with dropout after every hidden ReLU.

    train_forward(params, X, rng) drops units with the learner's dropout_forward; forward is the
    same network without dropout (evaluation); backward uses dropout_backward with the cached masks.
    """
    from .network import layered

    module = stage_module(impl, DROPOUT_MODULE)
    return layered(impl, dropout=(module.dropout_forward, module.dropout_backward, p_drop))


def required_modules(config) -> list[str]:
    """The Part II stage modules that the options of `config` use, in stage order."""
    needed = set()
    if config.l2 > 0:
        needed.add(L2_MODULE)
    if config.dropout > 0:
        needed.add(DROPOUT_MODULE)
    if config.optimizer != "sgd":
        needed.add(OPTIMIZERS[config.optimizer])
    if getattr(config, "batchnorm", False):
        needed.add(BATCHNORM_MODULE)
    return [m for m in (L2_MODULE, DROPOUT_MODULE, "optimizers", BATCHNORM_MODULE) if m in needed]


def check_options(config) -> None:
    """ValueError naming the first Part II option of `config` out of its range."""
    checks = [
        ("l2", config.l2, math.isfinite(config.l2) and config.l2 >= 0, "a finite number >= 0"),
        ("dropout", config.dropout, 0 <= config.dropout < 1, "0 <= p < 1"),
        ("optimizer", config.optimizer, config.optimizer in OPTIMIZERS, f"one of {', '.join(OPTIMIZERS)}"),
        ("momentum", config.momentum, 0 <= config.momentum < 1, "0 <= momentum < 1"),
        ("beta1", config.beta1, 0 <= config.beta1 < 1, "0 <= beta1 < 1"),
        ("beta2", config.beta2, 0 <= config.beta2 < 1, "0 <= beta2 < 1"),
    ]
    for name, value, valid, expected in checks:
        if not valid:
            raise ValueError(f"{name} must be {expected}, got {value!r}")
