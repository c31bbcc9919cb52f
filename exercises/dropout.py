"""Stage 9: inverted dropout, switching hidden units off at random while training.

Dropout fights overfitting differently from L2: at every training step, each hidden unit is
switched off (set to 0) with probability p_drop, independently, for each example. No unit can rely
on one particular other unit being there, so the network learns redundant, more robust features;
it is like training a different thinned network at every step and averaging them.

At evaluation time nothing is dropped: every unit is on. Then the next layer would receive on
average 1 / (1 - p_drop) times more input than during training. *Inverted* dropout corrects this
while training, so evaluation needs no change at all: the units that are kept are scaled up by
1 / (1 - p_drop), and the expected value of each output equals its input.

    mask_i = 0 with probability p_drop, else 1 / (1 - p_drop)
    out = x * mask                     (forward, training only)
    dx = dout * mask                   (backward: the same mask)

The mask is random, so it must come from the generator you are given (rng): then a run with the
same seed drops the same units, and training is reproducible. The backward pass needs the very
mask the forward pass used, so dropout_forward returns it.
"""

import numpy as np


def dropout_forward(x, p_drop, rng):
    """Inverted dropout in training mode.

    Args:
        x: float array of any shape, e.g. the hidden activations (N, H). Not modified.
        p_drop: the probability of dropping each element, 0 <= p_drop < 1.
        rng: a numpy.random.Generator, the only source of randomness (never np.random).

    Returns:
        (out, mask), both of x's shape and dtype: every element of mask is independently 0 (with
        probability p_drop) or 1 / (1 - p_drop); out = x * mask.

    Raises:
        ValueError: p_drop is outside [0, 1) or nan; the message names its value.

    Edge cases:
        p_drop == 0 gives a mask of ones and out equal to x. p_drop == 1 would drop everything and
        divide by zero, so it is refused. The same rng state gives the same mask.

    Example:
        >>> out, mask = dropout_forward(np.ones((2, 3)), 0.0, np.random.default_rng(0))
        >>> mask
        array([[1., 1., 1.],
               [1., 1., 1.]])
        >>> out, mask = dropout_forward(np.full(10_000, 3.0), 0.5, np.random.default_rng(0))
        >>> sorted(set(mask.tolist()))     # dropped, or kept and doubled
        [0.0, 2.0]
        >>> bool(abs(out.mean() - 3.0) < 0.1)   # the expected value of out is x
        True
    """
    # Your code here: replace the raise below.
    raise NotImplementedError(
        'not started yet: write dropout_forward() in exercises/dropout.py, then run: kata check dropout'
    )


def dropout_backward(dout, mask):
    """The gradient through inverted dropout: the upstream gradient times the forward pass's mask.

    Args:
        dout: float array, the gradient of the loss with respect to dropout's output. Not modified.
        mask: the mask dropout_forward returned for this batch, dout's shape. Not modified.

    Returns:
        dx = dout * mask, dout's shape and dtype: dropped elements get no gradient, kept ones the
        upstream gradient scaled by 1 / (1 - p_drop).

    Example:
        >>> dropout_backward(np.array([1.0, 2.0, 3.0]), np.array([0.0, 2.0, 2.0]))
        array([0., 4., 6.])
    """
    # Your code here: replace the raise below.
    raise NotImplementedError(
        'not started yet: write dropout_backward() in exercises/dropout.py, then run: kata check dropout'
    )
