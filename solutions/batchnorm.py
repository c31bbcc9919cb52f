"""Stage 12: batch normalisation.

Deep networks are hard to train partly because every layer's input distribution keeps moving
while the layers before it learn. Batch normalisation re-centres and re-scales each feature
(column) of a layer's output over the mini-batch, then lets the network choose its own scale and
shift with two learned vectors, gamma and beta:

    mu    = mean of x over the batch                       (D,)
    var   = mean of (x - mu)**2 over the batch             (D,)   biased: divide by N
    x_hat = (x - mu) / sqrt(var + eps)                     (N, D)
    out   = gamma * x_hat + beta                           (N, D)

eps (1e-5) keeps the division finite for a feature that is constant over the batch; it belongs
inside the square root.

At evaluation time there may be a single image, so batch statistics make no sense. Training
therefore keeps an exponential moving average of mu and var in a dict `running`, and evaluation
(training=False) normalises with those instead. As torch.nn.BatchNorm1d does, the running
variance averages the *unbiased* variance var * N / (N - 1), while the normalisation itself uses
the biased one:

    running["mean"] <- (1 - momentum) * running["mean"] + momentum * mu
    running["var"]  <- (1 - momentum) * running["var"]  + momentum * var * N / (N - 1)

The backward pass is where batch norm teaches the most. In training mode mu and var are
functions of every row of x, so each x[i] reaches the output three ways: directly, through mu
and through var. With dxh = dout * gamma (the gradient with respect to x_hat):

    dx = (1 / (N sqrt(var + eps))) * (N dxh - sum_i dxh - x_hat * sum_i (dxh * x_hat))

(sums over the batch, per feature). Treating mu and var as constants gives only the first term,
dxh / sqrt(var + eps): the classic mistake. In evaluation mode the running statistics *are*
constants, and dx = dout * gamma / sqrt(running var + eps). In both modes
dgamma = sum_i dout * x_hat and dbeta = sum_i dout, summed over the batch because the same gamma
and beta scale and shift every row.
"""

import numpy as np


def batchnorm_forward(x, gamma, beta, running, training=True, momentum=0.1, eps=1e-5):
    """Batch normalisation of a batch x, feature by feature.

    Args:
        x: (N, D) batch; each column is one feature.
        gamma: (D,) learned scale; beta: (D,) learned shift.
        running: {"mean": (D,), "var": (D,)}, the running statistics. In training mode they are
            updated (write into the arrays or replace the entries, either is fine): the one
            argument of the kata a function may change. In evaluation mode they are left unchanged.
        training: True: normalise with the batch's mean and biased variance and update running;
            False: normalise with running["mean"] and running["var"].
        momentum: weight of the new batch in the running averages, 0 <= momentum <= 1.
        eps: > 0, added to the variance inside the square root.

    Returns:
        (out, cache): out is (N, D) with x's dtype; cache is whatever batchnorm_backward needs
        (both modes: it must know which mode made it).

    Edge cases:
        Training mode needs N >= 2 (the variance of one example is 0, and N/(N-1) divides by 0):
        N < 2 raises ValueError. Evaluation mode accepts any N >= 1.
        A feature constant over the batch gives x_hat = 0, so out = beta in that column.
        x not 2-D, gamma, beta or the running arrays not of shape (D,), momentum outside
        [0, 1] or eps <= 0 raise ValueError naming the value.

    Example:
        >>> x = np.array([[1.0, 2.0], [3.0, 6.0]])     # mu = [2, 4], var = [1, 4]
        >>> running = {"mean": np.zeros(2), "var": np.ones(2)}
        >>> out, cache = batchnorm_forward(x, np.array([1.0, 2.0]), np.array([0.0, 1.0]), running)
        >>> np.round(out, 4)                              # x_hat = [[-1, -1], [1, 1]] (nearly)
        array([[-1., -1.],
               [ 1.,  3.]])
        >>> running["mean"], running["var"]                # var * N/(N-1) = [2, 8]
        (array([0.2, 0.4]), array([1.1, 1.7]))
    """
    # BEGIN SOLUTION
    x = np.asarray(x)
    if x.ndim != 2:
        raise ValueError(f"x must be a 2-D batch (N, D), got shape {x.shape}")
    n, d = x.shape
    for name, value in (("gamma", gamma), ("beta", beta), ('running["mean"]', running["mean"]),
                        ('running["var"]', running["var"])):
        if np.shape(value) != (d,):
            raise ValueError(f"{name} must have shape ({d},) for x of shape {x.shape}, got {np.shape(value)}")
    if not 0.0 <= momentum <= 1.0:
        raise ValueError(f"momentum must be in [0, 1], got {momentum}")
    if not eps > 0.0:
        raise ValueError(f"eps must be > 0, got {eps}")
    if training:
        if n < 2:
            raise ValueError(f"training mode needs a batch of N >= 2 to estimate a variance, got N = {n}")
        mu = x.mean(axis=0)
        var = x.var(axis=0)
        running["mean"] = (1 - momentum) * running["mean"] + momentum * mu
        running["var"] = (1 - momentum) * running["var"] + momentum * var * (n / (n - 1))
    else:
        if n < 1:
            raise ValueError(f"x must hold at least one example, got N = {n}")
        mu, var = running["mean"], running["var"]
    inv_std = 1.0 / np.sqrt(var + eps)
    x_hat = (x - mu) * inv_std
    out = gamma * x_hat + beta
    return out, {"x_hat": x_hat, "inv_std": inv_std, "gamma": gamma, "training": training}
    # END SOLUTION


def batchnorm_backward(dout, cache):
    """Gradients of batch normalisation, given the gradient of its output.

    Args:
        dout: (N, D) upstream gradient dL/d out.
        cache: what batchnorm_forward returned, from either mode.

    Returns:
        (dx, dgamma, dbeta): dx (N, D); dgamma and dbeta (D,), summed over the batch.
        Training mode: the full gradient, in which mu and var depend on x (see the module's
        docstring); evaluation mode: dx = dout * gamma / sqrt(running var + eps).

    Example:
        >>> x = np.array([[0.0], [1.0], [5.0]])
        >>> running = {"mean": np.zeros(1), "var": np.ones(1)}
        >>> out, cache = batchnorm_forward(x, np.array([2.0]), np.array([0.0]), running)
        >>> dx, dgamma, dbeta = batchnorm_backward(np.array([[1.0], [0.0], [0.0]]), cache)
        >>> np.round(dx, 4), np.round(dgamma, 4), dbeta
        (array([[ 0.3527], [-0.4409], [ 0.0882]]), array([-0.9258]), array([1.]))
    """
    # BEGIN SOLUTION
    x_hat, inv_std, gamma = cache["x_hat"], cache["inv_std"], cache["gamma"]
    dgamma = np.sum(dout * x_hat, axis=0)
    dbeta = np.sum(dout, axis=0)
    dx_hat = dout * gamma
    if not cache["training"]:
        return dx_hat * inv_std, dgamma, dbeta
    n = dout.shape[0]
    dx = (inv_std / n) * (n * dx_hat - dx_hat.sum(axis=0) - x_hat * np.sum(dx_hat * x_hat, axis=0))
    return dx, dgamma, dbeta
    # END SOLUTION
