"""Which network a run is, and how to build and evaluate it: the one owner of that question.

Two directions, one vocabulary ("mlp": dense ReLU layers of any depth; "batchnorm": the same with
batch normalisation after every hidden dense layer; "cnn": convolution layers, then dense ones):

- from a config, before training: `pieces(impl, config, deep=...)`, the network's part of the
  training loop's Parts (its init wrapper, forward passes, backward pass, optimizer wrapper), built
  by checker.network (MLPs, batch norm) and checker.cnn (CNNs) from one implementation's functions;
- from saved weights, after training: `network_of(params)` reads what the arrays are, and checks
  that they make a network it can run (every reader of weights.npz calls it: kata predict, the web
  page, the closing comparison); `evaluation_forward(impl, params)` is its forward pass in
  evaluation mode (running statistics, no dropout).

Whether the learner's stage 11 passes (so that their deep_forward/deep_backward can be trained with)
is the caller's to decide and to pass in as `deep`: building a network never runs a test suite.
"""

from __future__ import annotations

import importlib
import re
from dataclasses import dataclass
from typing import Callable

import numpy as np

from . import cnn, network
from .cnn import POOL

KINDS = ("mlp", "batchnorm", "cnn")
IMAGE_SIDE = 28  # a CNN reads square one-channel images of this side (MNIST's)
NORMALISATION = ("gamma", "beta", "running_mean", "running_var")
_LAYER_KEY = re.compile(r"([Wb])([1-9][0-9]*)")
_NORMALISATION_KEY = re.compile(r"(gamma|beta|running_mean|running_var)([1-9][0-9]*)")


class NotANetwork(ValueError):
    """The arrays are not a network the kata can run; the message says what is wrong, in words."""


@dataclass(frozen=True)
class Network:
    """What a set of weights is: its kind, its layers' shapes, and the size of its input and output."""

    kind: str  # one of KINDS
    shapes: tuple[tuple[int, ...], ...]  # W1's shape, W2's, ...
    inputs: int  # pixels (or features) per example
    outputs: int  # classes

    @property
    def layers(self) -> int:
        return len(self.shapes)

    def describe(self) -> str:
        """'MLP 784-384-10', 'MLP 784-512-512-10, with batch normalisation' or
        'CNN conv 3x3x16 - pool 2 - conv 3x3x32 - pool 2 - dense 1568-128 - dense 128-10'."""
        if self.kind == "cnn":
            return "CNN " + cnn.describe_shapes(self.shapes)
        sizes = [self.shapes[0][0]] + [shape[1] for shape in self.shapes]
        return "MLP " + "-".join(map(str, sizes)) + (", with batch normalisation" if self.kind == "batchnorm" else "")

    def sizes(self) -> list[int] | None:
        """The units of every layer of an MLP, inputs first ([784, 384, 10]); None for a CNN."""
        return None if self.kind == "cnn" else [self.shapes[0][0]] + [shape[1] for shape in self.shapes]


def network_of(params: dict) -> Network:
    """The network the arrays make; NotANetwork, saying what is wrong, for anything else.

    {W1, b1, ..., WL, bL}: a 4-D W_l (F, C, KH, KW) is a convolution (stride 1, padding KH // 2, then
    max-pooling POOL x POOL and ReLU: checker/cnn.py's layer), a 2-D W_l (fan_in, fan_out) a dense
    layer, ReLU after every one but the last. Convolutions come first, on square one-channel images.
    With batch normalisation, every hidden dense layer l also has gamma<l>, beta<l>, running_mean<l>
    and running_var<l> of its width. Every array must be numbers, all finite.
    """
    if not isinstance(params, dict) or not params:
        raise NotANetwork("it holds no arrays")
    layers = sum(1 for key in params if _LAYER_KEY.fullmatch(str(key)) and key[0] == "W")
    missing = [f"{k}{l}" for l in range(1, layers + 1) for k in "Wb" if f"{k}{l}" not in params]
    if layers == 0 or missing:
        raise NotANetwork(f"it does not hold the weights W1, b1, ... of every layer (missing: {', '.join(missing) or 'W1, b1'})")
    normalised = sorted({int(m.group(2)) for key in params if (m := _NORMALISATION_KEY.fullmatch(str(key)))})
    layer_keys = {f"{k}{l}" for l in range(1, layers + 1) for k in "Wb"}
    unknown = sorted(str(key) for key in params if key not in layer_keys and not _NORMALISATION_KEY.fullmatch(str(key)))
    if unknown:
        shown = ", ".join(unknown[:6]) + (", ..." if len(unknown) > 6 else "")
        raise NotANetwork(f"it holds arrays other than the layers' weights and biases ({shown})")
    for key, value in params.items():
        array = np.asarray(value)
        if array.dtype.kind not in "fiu":
            raise NotANetwork(f"{key} holds {array.dtype} values, not numbers")
        if not np.isfinite(array).all():
            raise NotANetwork(f"the weights are not finite ({key} holds nan or inf: the run diverged)")
    shapes = tuple(np.shape(params[f"W{l}"]) for l in range(1, layers + 1))
    kind = "cnn" if len(shapes[0]) == 4 else "batchnorm" if normalised else "mlp"
    if kind == "cnn":
        inputs = _check_convolutions(params, shapes, layers)
        if normalised:
            raise NotANetwork("it has batch normalisation arrays beside convolutions, which no network of the kata has")
    else:
        inputs = _check_dense(params, shapes, 1, layers)
        if normalised:
            _check_normalisation(params, shapes, normalised, layers)
    return Network(kind, shapes, inputs, shapes[-1][-1])


def _check_convolutions(params: dict, shapes, layers: int) -> int:
    """The convolution layers from W1, then the dense ones; returns the input's pixel count."""
    side = None
    maps = None  # (C, H, W) that the next layer receives
    for l, shape in enumerate(shapes, 1):
        if len(shape) != 4:
            if maps is None:
                raise NotANetwork("its first layer is not a convolution")
            units = int(np.prod(maps))
            if len(shape) != 2 or shape[0] != units:
                raise NotANetwork(f"layer {l} is not a dense layer taking {units} inputs (W{l} has shape {shape}), "
                                  f"the {' x '.join(map(str, maps))} maps of the layer before it")
            _check_dense(params, shapes, l, layers, first_inputs=units)
            return side * side
        filters, channels, kh, kw = shape
        if np.shape(params[f"b{l}"]) != (filters,):
            raise NotANetwork(f"b{l} has shape {np.shape(params[f'b{l}'])}, not ({filters},): one bias per filter of W{l}")
        if maps is None:
            if channels != 1:
                raise NotANetwork(f"its first convolution takes {channels} channels; the kata's images have one")
            side = IMAGE_SIDE
            maps = (1, side, side)
        elif channels != maps[0]:
            raise NotANetwork(f"layer {l} is not a convolution of the {' x '.join(map(str, maps))} maps before it "
                              f"(W{l} has shape {shape})")
        if min(shape) < 1:
            raise NotANetwork(f"W{l} has an empty dimension ({shape})")
        pad = kh // 2
        height, width = maps[1] + 2 * pad - kh + 1, maps[2] + 2 * pad - kw + 1
        if min(height, width) < POOL:
            raise NotANetwork(f"layer {l}'s maps are too small to pool ({height} x {width}; W{l} has shape {shape})")
        maps = (filters, (height - POOL) // POOL + 1, (width - POOL) // POOL + 1)
    raise NotANetwork("its last layer is a convolution: there is no dense output layer")


def _check_dense(params: dict, shapes, first: int, layers: int, first_inputs: int | None = None) -> int:
    """Dense layers first..layers chain; returns the inputs of layer `first`."""
    previous = first_inputs
    for l in range(first, layers + 1):
        shape = shapes[l - 1]
        if len(shape) == 4 and previous is not None:
            raise NotANetwork(f"layer {l} is not a convolution of the {previous} units before it (W{l} has shape "
                              f"{shape}): convolutions come first")
        if len(shape) != 2 or min(shape) < 1:
            raise NotANetwork(f"layer {l} is neither a dense layer nor a convolution (W{l} has shape {shape})")
        if previous is not None and shape[0] != previous:
            raise NotANetwork(f"layer {l} is not a dense layer taking {previous} inputs (W{l} has shape {shape})")
        if np.shape(params[f"b{l}"]) != (shape[1],):
            raise NotANetwork(f"b{l} has shape {np.shape(params[f'b{l}'])}, not ({shape[1]},): one bias per unit of W{l}")
        previous = shape[1]
    if previous < 2:
        raise NotANetwork(f"its output layer has {previous} unit; a classifier has one per class")
    return shapes[first - 1][0]


def _check_normalisation(params: dict, shapes, normalised: list[int], layers: int) -> None:
    hidden = list(range(1, layers))
    if normalised != hidden:
        raise NotANetwork(f"it has batch normalisation for layers {normalised}, but a network of the kata has it "
                          f"for every hidden layer ({hidden or 'none'})")
    for l in hidden:
        for name in NORMALISATION:
            key = f"{name}{l}"
            if key not in params:
                raise NotANetwork(f"hidden layer {l} has some of gamma, beta, running_mean and running_var but not {key}")
            if np.shape(params[key]) != (shapes[l - 1][1],):
                raise NotANetwork(f"{key} has shape {np.shape(params[key])}, not ({shapes[l - 1][1]},): "
                                  f"one value per unit of layer {l}")
        if (np.asarray(params[f"running_var{l}"]) < 0).any():
            raise NotANetwork(f"running_var{l} holds a negative variance")


def describe(params: dict) -> str:
    """The network in words (Network.describe), also for weights network_of refuses, from the shapes of
    W1, W2, ... as far as they go; 'unknown' when there is nothing to go by."""
    try:
        return network_of(params).describe()
    except NotANetwork:
        pass
    shapes = []
    for l in range(1, len(params) + 1):
        shape = np.shape(params.get(f"W{l}", ()))
        if len(shape) not in (2, 4):
            break
        shapes.append(shape)
    if not shapes:
        return "unknown"
    if len(shapes[0]) == 4:
        return "CNN " + cnn.describe_shapes(shapes)
    if any(len(shape) != 2 for shape in shapes):
        return "unknown"
    sizes = [shapes[0][0]] + [shape[1] for shape in shapes]
    return "MLP " + "-".join(map(str, sizes)) + (", with batch normalisation" if "gamma1" in params else "")


def parameter_count(params: dict) -> int:
    """The numbers training learns: weights, biases, and batch normalisation's gamma and beta (not its
    running statistics, which are measured, not learned)."""
    return sum(int(np.size(value)) for value in network.trainable(params).values())


def as_float32(params: dict) -> dict:
    return {key: np.asarray(value, dtype=np.float32) for key, value in params.items()}


def evaluation_forward(impl: str, params: dict) -> Callable:
    """forward(params, X) -> (probs, cache) of the saved network, in evaluation mode, with the
    functions of the package impl (the reference, "solutions", for a run's saved weights)."""
    kind = network_of(params).kind
    if kind == "cnn":
        return cnn.network(impl)[0]
    if kind == "batchnorm":
        return network.batchnorm_network(impl)[1]
    return network.layered(impl)[0]


def predict(params: dict, images: np.ndarray, chunk: int = 1000) -> np.ndarray:
    """Probabilities (N, C) of images (N, D) with the reference's forward pass in evaluation mode."""
    forward = evaluation_forward("solutions", params)
    images = np.asarray(images, dtype=np.float32).reshape(len(images), -1)
    return np.concatenate([forward(params, images[i:i + chunk])[0] for i in range(0, len(images), chunk)]) \
        if len(images) else np.zeros((0, network_of(params).outputs), np.float32)


# --- from a config: the network's part of the training loop -------------------------------------

@dataclass(frozen=True)
class Pieces:
    """What the network changes in the loop's Parts."""

    init: Callable  # init(layer_sizes, rng) -> params
    optimizer: Callable  # optimizer(params) -> step
    train_forward: Callable | None
    forward: Callable
    backward: Callable
    source: str  # which functions make the forward and backward passes, for the learner


def kind_of_config(config) -> str:
    return "cnn" if config.model == "cnn" else "batchnorm" if config.batchnorm else "mlp"


def pieces(impl: str, config, init: Callable, optimizer: Callable, deep: bool | None = None) -> Pieces:
    """The network of `config` built from the package impl's functions.

    init, optimizer: the run's Part I/II choices, which a network may wrap (batch norm adds gamma,
    beta and the running statistics, and keeps the optimizer off the statistics). deep: whether impl's
    stage 11 (deep_forward/deep_backward) can be trained with; the default is yes for every package
    but the learner's exercises, whose caller knows whether the stage passes.
    """
    if deep is None:
        deep = impl != "exercises"
    kind = kind_of_config(config)
    train_forward = None
    if kind == "cnn":
        init = cnn.initializer(impl, config.filters, config.kernel, config.cnn_hidden)
        if config.dropout > 0:
            dropout = importlib.import_module(f"{impl}.dropout")
            train_forward, forward, backward = cnn.network(
                impl, dropout=(dropout.dropout_forward, dropout.dropout_backward, config.dropout))
        else:
            forward, backward = cnn.network(impl)
        source = "conv2d and maxpool (stages 13-14) with Part I's functions, chained by checker/cnn.py"
    elif kind == "batchnorm":  # stage 12 inside a network the checker composes (deep_forward has no BN)
        train_forward, forward, backward = network.batchnorm_network(impl, config.dropout)
        init, optimizer = network.with_batchnorm(init), network.optimizing_trainable(optimizer)
        source = "batchnorm_forward/backward (stage 12) in a network the checker chains from the stage functions"
    elif (config.depth > 1 or config.dropout > 0) and deep:
        train_forward, forward, backward = network.deep(impl, config.dropout)
        source = "deep_forward and deep_backward (stage 11)"
    elif config.dropout > 0:  # before stage 11: the checker composes the stage functions, any depth
        dropout = importlib.import_module(f"{impl}.dropout")
        train_forward, forward, backward = network.layered(
            impl, dropout=(dropout.dropout_forward, dropout.dropout_backward, config.dropout))
        source = "stage functions, chained by the checker (stage 11 does not pass yet)"
    elif config.depth == 1:
        backprop = importlib.import_module(f"{impl}.backprop")
        forward, backward = backprop.forward, backprop.backward
        source = "forward and backward (stage 5)"
    else:
        forward, backward = network.layered(impl)
        source = "stage functions, chained by the checker (stage 11 does not pass yet)"
    return Pieces(init, optimizer, train_forward, forward, backward, source)


def architecture(config, params: dict, num_inputs: int, source: str = "") -> dict:
    """What config.json says of the network, so that a reader can check the weights belong to it:
    the CNN's layers, or the MLP's layer sizes, batch normalisation and saved arrays."""
    if config.model == "cnn":
        return {"architecture": cnn.describe(params)}
    return {
        "layer_sizes": config.layer_sizes(num_inputs),
        "network": {  # weights.npz holds every array named here
            "layers": config.depth + 1,
            "batchnorm": config.batchnorm,
            "batchnorm_eps": network.BN_EPS if config.batchnorm else None,
            "arrays": list(params),
            "forward_backward": source,
        },
    }


def matches_config(found: Network, config: dict) -> str:
    """'' when config.json's description of the network (if any) agrees with the weights; otherwise
    why not, in words."""
    if found.kind == "cnn":
        built = found.describe().removeprefix("CNN ")
        described = config.get("architecture")
        if described is not None and described != built:
            return (f"config.json describes the network as {described}, the weights as {built}: "
                    "they do not belong together")
        return ""
    described = config.get("layer_sizes")
    if described is not None and described != found.sizes():
        return f"config.json describes layers {described}, the weights {found.sizes()}: they do not belong together"
    return ""
