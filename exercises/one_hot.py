"""Stage 1: one-hot encoding.

The network ends in a softmax: for every image it outputs 10 probabilities, one per digit. To
compare that output with the right answer, the answer must have the same form: a row of 10
numbers, 1.0 for the true digit and 0.0 everywhere else. That row is the label's *one-hot*
encoding, and the loss (stage 4) and its gradient (stages 4 and 5) are computed from it.

    label 3, 10 classes  ->  [0, 0, 0, 1, 0, 0, 0, 0, 0, 0]

Bad labels are the first bug of many real training runs (a label 10 in a 10-class problem, a
-1 used as "unknown", labels read as floats). Catching them here, with a message that names the
bad value, saves hours later.
"""

import numpy as np


def one_hot(labels, num_classes=10):
    """Encode integer class labels as one-hot rows.

    out[i, j] = 1.0 if labels[i] == j else 0.0

    Args:
        labels: 1-D array-like of N class labels, each a whole number in [0, num_classes).
            Integer dtypes are the norm; floats holding whole numbers (2.0) are accepted too.
        num_classes: C, the number of classes (10 for MNIST digits).

    Returns:
        A float array of shape (N, C) with exactly one 1.0 per row, in column labels[i].
        The input is not modified.

    Raises:
        ValueError, with a message that names the offending value, when
        - labels is not 1-D (e.g. shape (N, 1) or a single number): name the shape;
        - a label is not a whole number (2.5);
        - a label is outside [0, num_classes): negative (-1) or too large (10 when C = 10).

    Edge cases:
        N = 0 (an empty array) gives an array of shape (0, C).
        Negative labels must be rejected explicitly: NumPy would happily read index -1 as
        "the last column", hiding the bug.

    Example:
        >>> one_hot([2, 0], num_classes=3)
        array([[0., 0., 1.],
               [1., 0., 0.]])
    """
    # Your code here: replace the raise below.
    raise NotImplementedError(
        'not started yet: write one_hot() in exercises/one_hot.py, then run: kata check one_hot'
    )
