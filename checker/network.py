"""The networks the learner does not write, built from the stage functions of one implementation.

Stage 5's forward/backward serve one hidden layer; stage 11's deep_forward/deep_backward serve any
depth, with dropout. This module provides what remains:

- `layered`: any depth (and dropout) chained from the stage functions (dense_forward, relu,
  softmax, their backward functions, stage 9's dropout), for a learner whose stage 11 does not pass
  yet, so that `kata train --depth D`, `--dropout` and `kata experiment init --depth D` work from
  Part I on:

      a0 = X;  z_l = dense_forward(a_{l-1}, W_l, b_l);  a_l = relu(z_l)   for l = 1..L-1
      probs = softmax(dense_forward(a_{L-1}, W_L, b_L))

- `deep`: stage 11's deep_forward/deep_backward in the loop's (train_forward, forward, backward)
  form (checker.models uses it once the caller says the stage passes);
- `batchnorm_network`: `kata train --batchnorm`, batch normalisation (stage 12) after every hidden
  dense layer, before the ReLU; deep_forward has no place for it, so the checker composes it.

Parameters are {W1, b1, ..., WL, bL} as init.he_init returns them; L = number of layers. With batch
normalisation every hidden layer l also has gamma<l>, beta<l> (trained) and running_mean<l>,
running_var<l> (buffers: updated by the forward pass in training, never by the optimizer). They
all go to weights.npz, so a saved network describes itself.
"""

from __future__ import annotations

import importlib
import numpy as np


STAGE_FUNCTIONS = {  # name -> the module of the package that defines it
    "dense_forward": "backprop", "dense_backward": "backprop", "relu": "relu", "relu_backward": "relu",
    "softmax": "softmax", "softmax_cross_entropy_backward": "cross_entropy",
}


class StageFunctions:
    """The layer-level functions of the package `impl` ("exercises" or "solutions"), looked up in
    their modules at every call (f.relu(z) calls impl.relu.relu as it is then): checker.estimate
    times a function by wrapping it in its module for a moment, and sees the calls made here too."""

    def __init__(self, impl: str):
        self._modules = {name: importlib.import_module(f"{impl}.{module}") for name, module in STAGE_FUNCTIONS.items()}

    def __getattr__(self, name: str):
        try:
            module = self.__dict__["_modules"][name]
        except KeyError:
            raise AttributeError(name) from None
        return getattr(module, name)


def stage_functions(impl: str) -> StageFunctions:
    """The layer-level functions of the package `impl` ("exercises" or "solutions")."""
    return StageFunctions(impl)


def num_layers(params: dict) -> int:
    """L, the number of dense layers in {W1, b1, ..., WL, bL}."""
    return sum(1 for key in params if key.startswith("W"))


def layered(impl: str, dropout: tuple | None = None):
    """(forward, backward) for a network of any depth, with the signatures of the stage-5 pair.

    forward(params, X (N, D)) -> (probs (N, C), cache)
    backward(params, cache, targets (N, C)) -> grads with the keys and shapes of params

    With dropout = (dropout_forward, dropout_backward, p_drop) (stage 9's functions), it returns
    (train_forward, forward, backward) instead: train_forward(params, X, rng) applies dropout after
    every hidden ReLU (a_l = dropout(relu(z_l))), drawing the masks from rng; forward, for
    evaluation, applies none; backward takes either's cache and sends the gradient back through
    the cached masks.
    """
    f = stage_functions(impl)

    def run_forward(params, X, drop=None):
        layers = num_layers(params)
        inputs, pre_activations, masks = [], [], []  # a_{l-1}, z_l and the dropout mask of layer l
        a = X
        for layer in range(1, layers):
            z = f.dense_forward(a, params[f"W{layer}"], params[f"b{layer}"])
            inputs.append(a)
            pre_activations.append(z)
            a = f.relu(z)
            if drop is not None:
                a, mask = drop(a)
                masks.append(mask)
        inputs.append(a)
        probs = f.softmax(f.dense_forward(a, params[f"W{layers}"], params[f"b{layers}"]))
        return probs, {"inputs": inputs, "pre_activations": pre_activations, "probs": probs,
                       "masks": masks}

    def forward(params, X):
        return run_forward(params, X)

    def backward(params, cache, targets):
        layers = num_layers(params)
        masks = cache.get("masks")
        grads = {}
        dz = f.softmax_cross_entropy_backward(cache["probs"], targets)
        for layer in range(layers, 1, -1):
            da, grads[f"W{layer}"], grads[f"b{layer}"] = f.dense_backward(
                dz, cache["inputs"][layer - 1], params[f"W{layer}"])
            if masks:
                da = dropout_backward(da, masks[layer - 2])
            dz = f.relu_backward(da, cache["pre_activations"][layer - 2])
        # As in the reference backward: the gradient with respect to the images is never needed,
        # and dense_backward's dx would cost as much as dW1.
        grads["W1"] = cache["inputs"][0].T @ dz
        grads["b1"] = dz.sum(axis=0)
        return grads

    if dropout is None:
        return forward, backward
    dropout_forward, dropout_backward, p_drop = dropout

    def train_forward(params, X, rng):
        return run_forward(params, X, drop=lambda a: dropout_forward(a, p_drop, rng))

    return train_forward, forward, backward


# --- stage 11: the learner's deep network ------------------------------------------------------

def deep(impl: str, p_drop: float = 0.0):
    """(train_forward or None, forward, backward) of stage 11's deep_forward and deep_backward.

    train_forward(params, X, rng) applies dropout with p_drop (None when p_drop is 0: training
    uses forward); forward(params, X) never drops.
    """
    module = importlib.import_module(f"{impl}.deep")

    def forward(params, X):
        return module.deep_forward(params, X)

    def train_forward(params, X, rng):
        return module.deep_forward(params, X, p_drop, rng)

    return (train_forward if p_drop > 0 else None), forward, module.deep_backward


# --- stage 12: batch normalisation after every hidden dense layer ------------------------------

BN_MOMENTUM = 0.1  # torch.nn.BatchNorm1d's defaults
BN_EPS = 1e-5
BUFFER_PREFIXES = ("running_mean", "running_var")


def is_buffer(key: str) -> bool:
    """True for the arrays the forward pass updates and the optimizer must not: running statistics."""
    return key.startswith(BUFFER_PREFIXES)


def trainable(params: dict) -> dict:
    """The trained arrays of params (the same array objects), without the buffers."""
    return {key: value for key, value in params.items() if not is_buffer(key)}


def has_batchnorm(params: dict) -> bool:
    return "gamma1" in params


def with_batchnorm(init):
    """An init(layer_sizes, rng) that adds, for each hidden layer l, gamma<l> = 1, beta<l> = 0 and
    the running statistics (mean 0, variance 1), after W<l>, b<l>; the rng sees only init's draws."""
    def init_with_batchnorm(layer_sizes, rng):
        params = init(layer_sizes, rng)
        layers = len(layer_sizes) - 1
        out = {}
        for layer in range(1, layers + 1):
            out[f"W{layer}"], out[f"b{layer}"] = params[f"W{layer}"], params[f"b{layer}"]
            if layer < layers:
                width = layer_sizes[layer]
                dtype = params[f"W{layer}"].dtype
                out[f"gamma{layer}"], out[f"beta{layer}"] = np.ones(width, dtype), np.zeros(width, dtype)
                out[f"running_mean{layer}"] = np.zeros(width, dtype)
                out[f"running_var{layer}"] = np.ones(width, dtype)
        return out

    return init_with_batchnorm


def optimizing_trainable(optimizer):
    """optimizer(params) -> step, applied to the trainable arrays only (the buffers have no gradient)."""
    def start(params):
        step = optimizer(trainable(params))
        return lambda params, grads, lr: step(trainable(params), grads, lr)

    return start


def batchnorm_network(impl: str, p_drop: float = 0.0):
    """(train_forward, forward, backward) of the network with batch normalisation:

        z_l = dense_forward(a_{l-1}, W_l, b_l);  y_l = batchnorm_forward(z_l, gamma_l, beta_l, ...)
        a_l = relu(y_l), then dropout_forward(a_l, p_drop, rng) in training   for l = 1..L-1
        probs = softmax(dense_forward(a_{L-1}, W_L, b_L))

    train_forward(params, X, rng) normalises with the batch's statistics and updates params'
    running statistics (a batch of one, which has no variance, is normalised with the running
    statistics instead); forward(params, X) uses the running statistics and drops nothing;
    backward(params, cache, targets) takes either's cache.
    """
    f = stage_functions(impl)
    bn = importlib.import_module(f"{impl}.batchnorm")
    dropout = importlib.import_module(f"{impl}.dropout") if p_drop > 0 else None

    def run_forward(params, X, training, rng=None):
        layers = num_layers(params)
        inputs, normalised, bn_caches, masks = [], [], [], []
        batch_statistics = training and len(X) > 1
        a = X
        for layer in range(1, layers):
            inputs.append(a)
            z = f.dense_forward(a, params[f"W{layer}"], params[f"b{layer}"])
            running = {"mean": params[f"running_mean{layer}"], "var": params[f"running_var{layer}"]}
            y, bn_cache = bn.batchnorm_forward(z, params[f"gamma{layer}"], params[f"beta{layer}"], running,
                                               training=batch_statistics, momentum=BN_MOMENTUM, eps=BN_EPS)
            if batch_statistics:  # written into the arrays or replaced: both are the contract's
                params[f"running_mean{layer}"], params[f"running_var{layer}"] = running["mean"], running["var"]
            normalised.append(y)
            bn_caches.append(bn_cache)
            a = f.relu(y)
            if training and dropout is not None:
                a, mask = dropout.dropout_forward(a, p_drop, rng)
                masks.append(mask)
        inputs.append(a)
        probs = f.softmax(f.dense_forward(a, params[f"W{layers}"], params[f"b{layers}"]))
        return probs, {"inputs": inputs, "normalised": normalised, "bn_caches": bn_caches,
                       "masks": masks, "probs": probs}

    def train_forward(params, X, rng):
        return run_forward(params, X, training=True, rng=rng)

    def forward(params, X):
        return run_forward(params, X, training=False)

    def backward(params, cache, targets):
        layers = num_layers(params)
        grads = {}
        dz = f.softmax_cross_entropy_backward(cache["probs"], targets)
        for layer in range(layers, 1, -1):
            da, grads[f"W{layer}"], grads[f"b{layer}"] = f.dense_backward(
                dz, cache["inputs"][layer - 1], params[f"W{layer}"])
            hidden = layer - 1
            if cache["masks"]:
                da = dropout.dropout_backward(da, cache["masks"][hidden - 1])
            dy = f.relu_backward(da, cache["normalised"][hidden - 1])
            dz, grads[f"gamma{hidden}"], grads[f"beta{hidden}"] = bn.batchnorm_backward(
                dy, cache["bn_caches"][hidden - 1])
        grads["W1"] = cache["inputs"][0].T @ dz
        grads["b1"] = dz.sum(axis=0)
        return grads

    return train_forward, forward, backward
