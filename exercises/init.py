"""Stage 6: initialising the weights.

Before training, every weight needs a starting value. Zeros do not work: every hidden unit would
compute the same thing and receive the same gradient forever. So weights start random, and the
question is how large.

Too small, and the signal shrinks at every layer: a naive N(0, 1) * 0.01 start makes each layer's
output about 100 times smaller than a well-scaled one, the gradients shrink with it, and learning
crawls at first (on deep networks, it never starts). Too large, and activations explode.

He initialisation (He et al., 2015) picks the scale for ReLU networks: a unit that sums fan_in
inputs, each times a weight of variance v, has output variance about fan_in * v * Var(input); ReLU
zeroes half of it. Choosing v = 2 / fan_in keeps the variance steady from layer to layer:

    W ~ N(0, 2 / fan_in)   i.e. standard deviation sqrt(2 / fan_in)
    b = 0

fan_in is the number of inputs of the layer (784 for the first layer on MNIST), not its number of
outputs. `kata experiment init` compares both starts once you have finished.

Randomness comes only from the numpy.random.Generator you are given (rng.standard_normal(...)):
the same seed then gives the same weights, experiments are reproducible, and the global
np.random state is left alone.
"""

import numpy as np


def random_init(layer_sizes, rng, scale=0.01):
    """The naive baseline: small Gaussian weights of a fixed scale, zero biases.

    W_l = scale * N(0, 1), shape (layer_sizes[l-1], layer_sizes[l]);  b_l = zeros(layer_sizes[l])

    Args:
        layer_sizes: sizes from input to output, e.g. [784, 128, 10] for one hidden layer of 128.
        rng: a numpy.random.Generator, e.g. np.random.default_rng(0). Use it for every draw.
        scale: standard deviation of the weights.

    Returns:
        dict {"W1", "b1", ..., "WL", "bL"} for the L = len(layer_sizes) - 1 layers.

    Example:
        >>> p = random_init([4, 3, 2], np.random.default_rng(0))
        >>> sorted(p), p["W1"].shape, p["b1"].shape, p["W2"].shape, p["b2"].shape
        (['W1', 'W2', 'b1', 'b2'], (4, 3), (3,), (3, 2), (2,))
    """
    # Your code here: replace the raise below.
    raise NotImplementedError(
        'not started yet: write random_init() in exercises/init.py, then run: kata check init'
    )


def he_init(layer_sizes, rng):
    """He initialisation: W_l ~ N(0, 2 / fan_in), zero biases.

    Args:
        layer_sizes: e.g. [784, 128, 10]; layer l has fan_in = layer_sizes[l-1] inputs and
            fan_out = layer_sizes[l] outputs.
        rng: a numpy.random.Generator; the only source of randomness.

    Returns:
        dict {"W1", "b1", ..., "WL", "bL"}: W_l of shape (fan_in, fan_out), b_l of shape (fan_out,).

    Example:
        For [784, 128, 10]: W1 has standard deviation sqrt(2 / 784) = 0.0505 and W2
        sqrt(2 / 128) = 0.125.
    """
    # Your code here: replace the raise below.
    raise NotImplementedError(
        'not started yet: write he_init() in exercises/init.py, then run: kata check init'
    )
