"""Stage 5: backpropagation through the whole network.

The network of this kata, for a batch X of N flattened images (N, 784):

    z1    = X  W1 + b1        (N, H)     dense layer 1, H hidden units
    h     = relu(z1)          (N, H)     stage 2
    z2    = h  W2 + b2        (N, C)     dense layer 2, the logits
    probs = softmax(z2)       (N, C)     stage 3
    loss  = cross_entropy(probs, targets)  stage 4

Training needs dloss/dW1, dloss/db1, dloss/dW2 and dloss/db2. Backpropagation gets them all in
one sweep from the output back to the input, applying the chain rule once per layer; every layer
turns the gradient of its output into the gradients of its parameters and of its input:

    dz2        = (probs - targets) / N                     stage 4
    dh, dW2, db2 = dense_backward(dz2, h, W2)
    dz1        = relu_backward(dh, z1)                     stage 2
    _, dW1, db1  = dense_backward(dz1, X, W1)

The forward pass keeps the intermediate arrays the backward pass needs in a *cache*.

Shapes follow one rule that catches most bugs: a gradient has the shape of the thing it is the
gradient of. W is (fan_in, fan_out), so dW is too; b is (fan_out,), so db is too (summed over the
batch, because the same b was added to every row).

This module may use your earlier stages; the imports below bring them in.
"""

import numpy as np

from .cross_entropy import softmax_cross_entropy_backward
from .relu import relu, relu_backward
from .softmax import softmax


def dense_forward(x, W, b):
    """A dense (fully connected) layer: out = x W + b.

    Args:
        x: (N, fan_in) input batch.
        W: (fan_in, fan_out) weights.
        b: (fan_out,) bias, added to every row.

    Returns:
        out: (N, fan_out).

    Example:
        >>> dense_forward(np.array([[1.0, 2.0]]), np.array([[1.0, 0.0, 2.0], [0.0, 1.0, 0.5]]),
        ...               np.array([0.0, 0.0, 1.0]))
        array([[1., 2., 4.]])
    """
    # Your code here: replace the raise below.
    raise NotImplementedError(
        'not started yet: write dense_forward() in exercises/backprop.py, then run: kata check backprop'
    )


def dense_backward(dout, x, W):
    """Gradients of a dense layer, given the gradient of its output.

    dx = dout W^T        (N, fan_in)         what the layer before receives
    dW = x^T dout        (fan_in, fan_out)   sums over the batch through the matrix product
    db = sum_i dout[i]   (fan_out,)          the same b was added to every row

    Args:
        dout: (N, fan_out) upstream gradient, dL/d out.
        x: (N, fan_in) the layer's input in the forward pass.
        W: (fan_in, fan_out) the layer's weights.

    Returns:
        (dx, dW, db) with the shapes of x, W and b.

    Example:
        >>> dx, dW, db = dense_backward(np.array([[1.0, -1.0], [2.0, 0.0]]),
        ...                             np.array([[1.0], [3.0]]), np.array([[2.0, 5.0]]))
        >>> dx, dW, db
        (array([[-3.], [ 4.]]), array([[ 7., -1.]]), array([ 3., -1.]))
    """
    # Your code here: replace the raise below.
    raise NotImplementedError(
        'not started yet: write dense_backward() in exercises/backprop.py, then run: kata check backprop'
    )


def forward(params, X):
    """Forward pass of the network softmax(relu(X W1 + b1) W2 + b2).

    Args:
        params: dict with W1 (D, H), b1 (H,), W2 (H, C), b2 (C,).
        X: (N, D) batch of inputs.

    Returns:
        (probs, cache): probs is (N, C), every row a probability distribution; cache is whatever
        your backward() needs later (a dict such as {"X": X, "z1": z1, "h": h, "probs": probs} is
        a good choice).

    Example:
        With W1 = [[1, -1]], b1 = [0, 0], W2 = [[1, 0], [0, 1]], b2 = [0, 0] and X = [[2.0]]:
        z1 = [[2, -2]], h = [[2, 0]], z2 = [[2, 0]], probs = softmax([2, 0]) = [[0.881, 0.119]].
    """
    # Your code here: replace the raise below.
    raise NotImplementedError(
        'not started yet: write forward() in exercises/backprop.py, then run: kata check backprop'
    )


def backward(params, cache, targets):
    """Gradients of the mean cross-entropy loss with respect to every parameter.

    Args:
        params: the dict given to forward().
        cache: what forward() returned alongside probs.
        targets: (N, C) one-hot targets.

    Returns:
        grads: dict with keys W1, b1, W2, b2; grads[k] has the shape (and dtype) of params[k].

    Example:
        Continuing forward()'s example with targets [[0, 1]]: dz2 = probs - targets =
        [[0.881, -0.881]], dW2 = h^T dz2 = [[1.762, -1.762], [0, 0]], db2 = [0.881, -0.881],
        dh = dz2 W2^T = [[0.881, -0.881]], dz1 = dh * (z1 > 0) = [[0.881, 0]],
        dW1 = X^T dz1 = [[1.762, 0]], db1 = [0.881, 0].
    """
    # Your code here: replace the raise below.
    raise NotImplementedError(
        'not started yet: write backward() in exercises/backprop.py, then run: kata check backprop'
    )
