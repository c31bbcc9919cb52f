"""Stage 4: the cross-entropy loss and its gradient.

Training needs one number that says how wrong the network is. For classification, the standard
is the cross-entropy between the one-hot targets and the predicted probabilities: for each example,
minus the log of the probability the network gave to the correct class. A confident right answer
(p = 1) costs 0; a confident wrong one (p -> 0) costs a lot; a uniform guess over C classes costs
log C (2.30 for ten digits, the loss you will see at the start of training).

    L = -(1/N) * sum_i sum_j targets[i, j] * log(probs[i, j])

The loss is the *mean* over the N examples of the batch, not the sum, so the learning rate means the
same thing whatever the batch size. log(0) = -inf, so probabilities are clipped to a tiny floor
(e.g. 1e-12) before the log: the loss stays finite even when a probability is exactly 0.

Softmax followed by cross-entropy has a famously simple gradient with respect to the logits z:

    dL/dz = (probs - targets) / N

(the derivation: dL/dz_j for one example is sum_k (-t_k / p_k) * p_k (1[j = k] - p_j) = p_j - t_j,
using sum_k t_k = 1; the 1/N comes from the mean). This is where backpropagation (stage 5) starts.
"""

import numpy as np

EPS = 1e-12  # floor for probabilities before taking the log


def cross_entropy(probs, targets):
    """Mean cross-entropy of a batch.

    Args:
        probs: (N, C) predicted probabilities, rows summing to 1 (the softmax output).
            May contain exact zeros.
        targets: (N, C) one-hot targets (stage 1).

    Returns:
        The loss, a Python float (use float(...)): >= 0, finite even where probs has zeros.

    Examples:
        >>> cross_entropy(np.array([[0.25, 0.75]]), np.array([[0.0, 1.0]]))  # -log 0.75
        0.2876820724517809
        >>> cross_entropy(np.array([[0.5, 0.5], [1.0, 0.0]]), np.array([[1.0, 0.0], [1.0, 0.0]]))
        0.34657359027997264

        That is -(log 0.5 + log 1) / 2: the mean over the two examples.
    """
    # Your code here: replace the raise below.
    raise NotImplementedError(
        'not started yet: write cross_entropy() in exercises/cross_entropy.py, then run: kata check cross_entropy'
    )


def softmax_cross_entropy_backward(probs, targets):
    """Gradient of the mean cross-entropy with respect to the logits that produced probs.

    dlogits = (probs - targets) / N

    Args:
        probs: (N, C) softmax output.
        targets: (N, C) one-hot targets.

    Returns:
        dlogits: (N, C) array of probs' dtype. Each row sums to 0. Inputs are not modified.

    Example:
        >>> softmax_cross_entropy_backward(np.array([[0.25, 0.75], [0.5, 0.5]]),
        ...                                np.array([[0.0, 1.0], [1.0, 0.0]]))
        array([[ 0.125, -0.125],
               [-0.25 ,  0.25 ]])
    """
    # Your code here: replace the raise below.
    raise NotImplementedError(
        'not started yet: write softmax_cross_entropy_backward() in exercises/cross_entropy.py, then run: kata check cross_entropy'
    )
