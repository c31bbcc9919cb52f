"""Networks with any number of hidden layers, built from the stage functions of one implementation.

The learner's backprop.forward/backward serve exactly one hidden layer, as the curriculum asks.
`kata experiment init --depth D`, `kata train --depth D` and `kata predict` need the same network
with D hidden layers of ReLU units, so this module chains the *stage* functions (dense_forward,
relu, softmax, dense_backward, relu_backward, softmax_cross_entropy_backward) of the chosen
implementation, layer after layer:

    a0 = X;  z_l = dense_forward(a_{l-1}, W_l, b_l);  a_l = relu(z_l)   for l = 1..L-1
    probs = softmax(dense_forward(a_{L-1}, W_L, b_L))

With --dropout, `kata train` uses this network for any depth, one hidden layer included (until
stage 11 replaces it): a_l = dropout(relu(z_l)) in training, the learner's dropout_forward and
dropout_backward (stage 9) doing the dropping; evaluation drops nothing.

Parameters are {W1, b1, ..., WL, bL} as init.he_init returns them; L = number of layers.
"""

from __future__ import annotations

import importlib
from types import SimpleNamespace


def stage_functions(impl: str) -> SimpleNamespace:
    """The layer-level functions of the package `impl` ("exercises" or "solutions")."""
    backprop = importlib.import_module(f"{impl}.backprop")
    relu = importlib.import_module(f"{impl}.relu")
    softmax = importlib.import_module(f"{impl}.softmax")
    cross_entropy = importlib.import_module(f"{impl}.cross_entropy")
    return SimpleNamespace(
        dense_forward=backprop.dense_forward,
        dense_backward=backprop.dense_backward,
        relu=relu.relu,
        relu_backward=relu.relu_backward,
        softmax=softmax.softmax,
        softmax_cross_entropy_backward=cross_entropy.softmax_cross_entropy_backward,
    )


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
