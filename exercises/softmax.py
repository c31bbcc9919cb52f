"""Stage 3: softmax, from scores to probabilities.

The last dense layer outputs ten raw scores per image, the *logits*: any real numbers, larger
meaning "more likely". Softmax turns a row of logits into a probability distribution: every entry
positive, the row summing to 1, the order of the scores kept.

    softmax(z)_j = exp(z_j) / sum_k exp(z_k)

Written exactly like that, it breaks: exp(1000) is inf in floating point, and inf / inf is nan.
The fix is one line of algebra: subtracting the same constant c from every score of a row does not
change the result, because exp(z_j - c) / sum_k exp(z_k - c) = exp(z_j) / sum_k exp(z_k) (the
factor exp(-c) cancels). Choose c = the row's maximum: the largest exponent becomes exp(0) = 1, no
exponent can overflow, and the denominator is at least 1. Each row needs its own maximum: in a
batch, one row may hold scores near 1000 and the next near -1000.
"""

import numpy as np


def softmax(z):
    """Softmax over the last axis, numerically stable.

    Args:
        z: float array of logits, a single vector of shape (C,) or a batch of shape (N, C).

    Returns:
        probs: array of z's shape and dtype; every entry in [0, 1], every row (last axis)
        summing to 1. z is not modified.

    Edge cases:
        Logits of any magnitude: [1000, 1000] gives [0.5, 0.5]; [-1000, 0] gives [0, 1].
        Rows of very different scale in one batch are each normalised on their own.

    Example:
        >>> softmax(np.array([0.0, np.log(3.0)]))
        array([0.25, 0.75])
        >>> softmax(np.array([[1.0, 1.0], [1000.0, 0.0]]))
        array([[0.5, 0.5],
               [1. , 0. ]])
    """
    # Your code here: replace the raise below.
    raise NotImplementedError(
        'not started yet: write softmax() in exercises/softmax.py, then run: kata check softmax'
    )
