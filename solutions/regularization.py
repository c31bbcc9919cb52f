"""Stage 8: L2 regularisation (weight decay), a penalty on large weights.

A network with enough weights can memorise its training images, noise included, and then read new
images worse: it *overfits*. L2 regularisation adds a penalty to the loss that grows with the size
of the weights,

    L_total = L_data + 0.5 * lambda * sum over weight matrices W of sum_ij W_ij^2

so that a weight only grows large when that pays off on the data. lambda (weight_decay) sets how
strongly: 0 switches it off, and typical values are 1e-5 to 1e-3.

Only the weight matrices (the keys starting with "W") are penalised. The biases only shift a unit's
threshold; they do not make the network more sensitive to its input, and shrinking them towards
zero would only bias the model. The same goes for batch normalisation's gamma and beta later.

The factor 0.5 is there so that the gradient is neat: d/dW of 0.5 * lambda * W^2 is lambda * W.
Adding lambda * W to every weight's gradient makes each step of gradient descent shrink the weights
a little, W <- W - lr * (dL/dW + lambda * W): hence the name *weight decay*.
"""

import numpy as np


def l2_penalty(params, weight_decay):
    """The L2 penalty of the weights: 0.5 * weight_decay * the sum of squares of every "W..." array.

    Args:
        params: dict of parameter arrays, e.g. {"W1": (784, H), "b1": (H,), "W2": (H, 10), "b2": (10,)}.
            Only the keys starting with "W" count; the others (biases) are left out. Not modified.
        weight_decay: lambda, a finite number >= 0.

    Returns:
        the penalty, a Python float (not a NumPy array or NumPy scalar).

    Raises:
        ValueError: weight_decay is negative, nan or infinite; the message names its value.

    Edge cases:
        weight_decay == 0 gives 0.0. A dict without "W" keys gives 0.0.

    Example:
        >>> params = {"W1": np.array([[1.0, 2.0], [0.0, -1.0]]), "b1": np.array([5.0, 5.0])}
        >>> l2_penalty(params, 0.1)   # 0.5 * 0.1 * (1 + 4 + 0 + 1); b1 does not count
        0.30000000000000004
    """
    # BEGIN SOLUTION
    if not np.isfinite(weight_decay) or weight_decay < 0:
        raise ValueError(f"weight_decay must be a finite number >= 0, got {weight_decay!r}")
    total = sum(float(np.sum(np.square(value))) for key, value in params.items() if key.startswith("W"))
    return float(0.5 * weight_decay * total)
    # END SOLUTION


def l2_gradient(params, grads, weight_decay):
    """The gradients with the L2 penalty's gradient added: a new dict.

    For every key k of grads: grads[k] + weight_decay * params[k] if k starts with "W", else grads[k]
    (that very array may be reused: it is not modified).

    Args:
        params: dict of parameter arrays. Not modified.
        grads: dict of the data loss's gradients, the same keys and shapes as params. Not modified.
        weight_decay: lambda, a finite number >= 0 (checked as in l2_penalty).

    Returns:
        a new dict with grads' keys; each array has the shape and dtype of grads[k].

    Raises:
        ValueError: weight_decay is negative, nan or infinite; the message names its value.

    Edge cases:
        weight_decay == 0 gives arrays equal to grads.

    Example:
        >>> params = {"W1": np.array([1.0, -2.0]), "b1": np.array([3.0])}
        >>> grads = {"W1": np.array([0.5, 0.5]), "b1": np.array([1.0])}
        >>> l2_gradient(params, grads, 0.1)   # W1: [0.5 + 0.1, 0.5 - 0.2]; b1 unchanged
        {'W1': array([0.6, 0.3]), 'b1': array([1.])}
    """
    # BEGIN SOLUTION
    if not np.isfinite(weight_decay) or weight_decay < 0:
        raise ValueError(f"weight_decay must be a finite number >= 0, got {weight_decay!r}")
    weight_decay = float(weight_decay)  # a Python float keeps float32 arrays float32
    # The penalty's part in the gradient's dtype: float32 gradients of float64 weights stay float32.
    return {key: grad + (weight_decay * params[key]).astype(grad.dtype, copy=False) if key.startswith("W") else grad
            for key, grad in grads.items()}
    # END SOLUTION
