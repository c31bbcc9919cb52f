"""Stage 10: momentum and Adam, two better ways to walk downhill.

Plain gradient descent steps against the current gradient only. In a long narrow valley the
gradient points mostly across the valley, so the steps zigzag from wall to wall and progress along
the valley floor is slow.

Momentum keeps a running *velocity*: a decaying sum of the past gradients. Components that keep
their sign (along the valley) add up; components that flip sign (across it) cancel out.

    v <- momentum * v + g              (momentum = 0.9: roughly the last 10 gradients count)
    p <- p - lr * v

This is PyTorch's torch.optim.SGD(momentum=...), with no dampening and no Nesterov.

Adam gives every single parameter its own step size. It keeps two running averages per parameter:
m, of the gradient (like momentum), and v, of the squared gradient (how large the gradient usually
is). It steps by m / sqrt(v): about lr in size, whatever the gradient's scale. m and v start at 0,
so their first values are too small; dividing by (1 - beta^t), where t counts the steps, corrects
this bias (at t = 1, m_hat is exactly g).

    t <- t + 1
    m <- beta1 * m + (1 - beta1) * g
    v <- beta2 * v + (1 - beta2) * g^2
    m_hat = m / (1 - beta1^t);  v_hat = v / (1 - beta2^t)
    p <- p - lr * m_hat / (sqrt(v_hat) + eps)

This is torch.optim.Adam (no weight decay, no amsgrad). eps keeps the division safe when v_hat is 0;
it is added after the square root.

Both optimisers keep state between steps (velocity; t, m and v), created once by the *_init
functions, and update params and their state in place, like sgd_step.
"""

import numpy as np


def momentum_init(params):
    """The initial velocity of momentum: zeros like every parameter.

    Args:
        params: dict of parameter arrays. Not modified.

    Returns:
        velocity: a new dict {k: zeros of params[k]'s shape and dtype}; new arrays, not params'.

    Example:
        >>> momentum_init({"W1": np.ones((2, 2)), "b1": np.ones(2, dtype=np.float32)})
        {'W1': array([[0., 0.],
               [0., 0.]]), 'b1': array([0., 0.], dtype=float32)}
    """
    # BEGIN SOLUTION
    return {key: np.zeros_like(value) for key, value in params.items()}
    # END SOLUTION


def momentum_step(params, grads, velocity, lr, momentum=0.9):
    """One step of SGD with momentum, in place.

    For every key k of params: velocity[k] = momentum * velocity[k] + grads[k], then
    params[k] -= lr * velocity[k].

    Args:
        params: dict of parameter arrays. The arrays are updated in place.
        grads: dict with the same keys and shapes. Not modified.
        velocity: the dict from momentum_init (then from earlier steps). Its arrays are updated in place.
        lr: learning rate, finite and >= 0.
        momentum: how much of the old velocity is kept, 0 <= momentum < 1. 0 gives plain SGD.

    Returns:
        params (the same dict object).

    Raises:
        ValueError: lr negative or not finite, or momentum outside [0, 1); the message names the
        value.

    Example:
        >>> p, g = {"w": np.array([1.0])}, {"w": np.array([1.0])}
        >>> v = momentum_init(p)
        >>> momentum_step(p, g, v, lr=0.1, momentum=0.9)   # v = 1.0, w = 1 - 0.1 * 1.0
        {'w': array([0.9])}
        >>> momentum_step(p, g, v, lr=0.1, momentum=0.9)   # v = 0.9 * 1 + 1 = 1.9, w = 0.9 - 0.19
        {'w': array([0.71])}
    """
    # BEGIN SOLUTION
    if not np.isfinite(lr) or lr < 0:
        raise ValueError(f"lr must be a finite number >= 0, got {lr!r}")
    if not 0 <= momentum < 1:
        raise ValueError(f"momentum must satisfy 0 <= momentum < 1, got {momentum!r}")
    for key in params:
        velocity[key] *= momentum
        velocity[key] += grads[key]
        params[key] -= lr * velocity[key]
    return params
    # END SOLUTION


def adam_init(params):
    """The initial state of Adam: no step taken yet, both running averages zero.

    Args:
        params: dict of parameter arrays. Not modified.

    Returns:
        state: {"t": 0, "m": {k: zeros like params[k]}, "v": {k: zeros like params[k]}}, with new
        arrays (m and v do not share any).

    Example:
        >>> state = adam_init({"w": np.ones(2)})
        >>> state["t"], state["m"], state["v"]
        (0, {'w': array([0., 0.])}, {'w': array([0., 0.])})
    """
    # BEGIN SOLUTION
    return {
        "t": 0,
        "m": {key: np.zeros_like(value) for key, value in params.items()},
        "v": {key: np.zeros_like(value) for key, value in params.items()},
    }
    # END SOLUTION


def adam_step(params, grads, state, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
    """One step of Adam, in place.

    state["t"] += 1, then for every key k of params, with g = grads[k], m = state["m"][k],
    v = state["v"][k] and t = state["t"]:
        m = beta1 * m + (1 - beta1) * g;  v = beta2 * v + (1 - beta2) * g * g
        m_hat = m / (1 - beta1**t);  v_hat = v / (1 - beta2**t)
        params[k] -= lr * m_hat / (sqrt(v_hat) + eps)

    Args:
        params: dict of parameter arrays. The arrays are updated in place.
        grads: dict with the same keys and shapes. Not modified.
        state: the dict from adam_init (then from earlier steps). t, and the arrays of m and v, are
            updated in place.
        lr: learning rate, finite and >= 0.
        beta1, beta2: decay rates of the running averages of g and g * g, each in [0, 1).
        eps: a small positive number added to sqrt(v_hat).

    Returns:
        params (the same dict object).

    Raises:
        ValueError: lr negative or not finite, beta1 or beta2 outside [0, 1), or eps <= 0; the
        message names the value.

    Edge cases:
        At the first step m_hat = g and v_hat = g * g, so every parameter with a non-zero gradient
        moves by almost exactly lr, whatever the size of its gradient.

    Example:
        >>> p = {"w": np.array([1.0, 1.0])}
        >>> state = adam_init(p)
        >>> adam_step(p, {"w": np.array([100.0, -0.5])}, state, lr=0.1)   # both move by ~lr
        {'w': array([0.9, 1.1])}
        >>> state["t"]
        1
    """
    # BEGIN SOLUTION
    if not np.isfinite(lr) or lr < 0:
        raise ValueError(f"lr must be a finite number >= 0, got {lr!r}")
    for name, beta in (("beta1", beta1), ("beta2", beta2)):
        if not 0 <= beta < 1:
            raise ValueError(f"{name} must satisfy 0 <= {name} < 1, got {beta!r}")
    if not eps > 0:
        raise ValueError(f"eps must be > 0, got {eps!r}")
    state["t"] += 1
    t = state["t"]
    for key in params:
        grad, m, v = grads[key], state["m"][key], state["v"][key]
        m *= beta1
        m += (1 - beta1) * grad
        v *= beta2
        v += (1 - beta2) * grad * grad
        m_hat = m / (1 - beta1**t)
        v_hat = v / (1 - beta2**t)
        params[key] -= lr * m_hat / (np.sqrt(v_hat) + eps)
    return params
    # END SOLUTION
