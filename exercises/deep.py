"""Stage 11: a network of any depth.

Stage 5's network has one hidden layer. A deeper one repeats the same two steps, a dense layer
and a ReLU, once per hidden layer, and ends as before with a dense layer and a softmax. With
params = {W1, b1, ..., WL, bL} (L dense layers, L - 1 of them hidden):

    a0 = X                                         (N, D)
    z_l = a_{l-1} W_l + b_l,  a_l = relu(z_l)       for l = 1 .. L-1   (hidden layers)
    probs = softmax(z_L),     z_L = a_{L-1} W_L + b_L                  (the output layer)

With dropout (p_drop > 0, training only), each hidden activation a_l is replaced by the output of
your stage-9 dropout_forward(a_l, p_drop, rng), one call per hidden layer in order l = 1 .. L-1.
The output layer is never dropped: its logits go straight to the softmax.

The backward pass walks the layers in reverse. It starts from stage 4's dz_L = (probs - targets) / N
and repeats, for l = L down to 1:

    da_{l-1}, dW_l, db_l = dense_backward(dz_l, a_{l-1}, W_l)      stage 5
    (l > 1:) da_{l-1} = dropout_backward(da_{l-1}, mask_{l-1})       stage 9, if dropout was on
             dz_{l-1} = relu_backward(da_{l-1}, z_{l-1})              stage 2

so the cache must keep every layer's input a_{l-1} (after dropout), every hidden z_l and every
dropout mask. L = 2 without dropout is exactly stage 5's network; L = 1 is softmax regression,
a single dense layer and no ReLU at all.

This module uses your earlier stages; the imports below bring them in.
"""

import numpy as np

from .backprop import dense_backward, dense_forward
from .cross_entropy import softmax_cross_entropy_backward
from .dropout import dropout_backward, dropout_forward
from .relu import relu, relu_backward
from .softmax import softmax


def deep_forward(params, X, p_drop=0.0, rng=None):
    """Forward pass of a network with L >= 1 dense layers, optionally with dropout.

    Args:
        params: {W1, b1, ..., WL, bL}; W_l is (fan_in, fan_out), b_l is (fan_out,). Not modified.
        X: (N, D) batch of inputs.
        p_drop: dropout probability of every hidden activation, 0 <= p_drop < 1 (0: no dropout).
        rng: a numpy.random.Generator, required when p_drop > 0; used only through
            dropout_forward(a_l, p_drop, rng), one call per hidden layer, l = 1 .. L-1 in order.

    Returns:
        (probs, cache): probs (N, C), every row a probability distribution; cache holds what
        deep_backward needs (every layer's input, every hidden pre-activation, the masks).

    Raises:
        ValueError: p_drop outside [0, 1) (checked whatever L, even with no hidden layer), or
        p_drop > 0 without an rng.

    Edge cases:
        L = 1: probs = softmax(X W1 + b1), no ReLU, no dropout (but p_drop is still checked).
        L = 2 with p_drop = 0 is exactly stage 5's forward.

    Example:
        >>> params = {"W1": np.array([[1.0, -1.0]]), "b1": np.zeros(2),
        ...           "W2": np.eye(2), "b2": np.zeros(2),
        ...           "W3": np.array([[1.0, 0.0], [0.0, 0.0]]), "b3": np.zeros(2)}
        >>> probs, cache = deep_forward(params, np.array([[2.0]]))   # z1 = [2, -2], a1 = [2, 0],
        >>> np.round(probs, 4)                                      # a2 = [2, 0], z3 = [2, 0]
        array([[0.8808, 0.1192]])
    """
    # Your code here: replace the raise below.
    raise NotImplementedError(
        'not started yet: write deep_forward() in exercises/deep.py, then run: kata check deep'
    )


def deep_backward(params, cache, targets):
    """Gradients of the mean cross-entropy with respect to every parameter of deep_forward's network.

    Args:
        params: the dict given to deep_forward. Not modified.
        cache: what deep_forward returned alongside probs. Not modified: the probs deep_forward returned
            may be an array of the cache, and training reads its accuracy from them after this call.
        targets: (N, C) one-hot targets. Not modified.

    Returns:
        grads: a dict with every key of params; grads[k] has params[k]'s shape and dtype. Where
        dropout was on, the gradient flows only through the units the forward pass kept (the
        masks in the cache), with the same scale.

    Example:
        Continuing deep_forward's example with targets [[0, 1]] and p = 0.8808:
        dz3 = [[p, -p]], dW3 = a2^T dz3 = [[2p, -2p], [0, 0]], da2 = dz3 W3^T = [[p, 0]],
        dz2 = da2 * (z2 > 0) = [[p, 0]], dW2 = [[2p, 0], [0, 0]], dz1 = [[p, 0]], dW1 = [[2p, 0]].
    """
    # Your code here: replace the raise below.
    raise NotImplementedError(
        'not started yet: write deep_backward() in exercises/deep.py, then run: kata check deep'
    )
