"""Stage 7: gradient descent on mini-batches.

The gradient says which way is uphill for the loss; gradient descent takes a small step the other
way, for every parameter at once:

    p <- p - lr * dL/dp

lr, the learning rate, sets the step size: too small and training crawls, too large and the loss
jumps around or blows up to nan.

Computing the gradient on all 50,000 training images for every step would be slow. Stochastic
gradient descent uses a *mini-batch* of, say, 64 images per step instead: a noisy but cheap
estimate. One pass over the whole training set is an *epoch*. Each epoch shuffles the examples
(so batches differ from epoch to epoch and do not follow the file's order), then cuts the shuffled
order into consecutive batches, so every example is used exactly once per epoch.
"""

import numpy as np


def sgd_step(params, grads, lr):
    """One step of gradient descent, in place.

    params[k] -= lr * grads[k] for every key k.

    Args:
        params: dict of parameter arrays, e.g. W1, b1, W2, b2. Updated in place: the arrays
            themselves change, so anything holding them (your training loop) sees the new values.
        grads: dict with the same keys and shapes. Not modified.
        lr: learning rate, a positive float.

    Returns:
        params (the same dict object, for convenience).

    Example:
        >>> p = {"w": np.array([1.0, 2.0])}
        >>> sgd_step(p, {"w": np.array([10.0, -10.0])}, lr=0.1)
        {'w': array([0., 3.])}
    """
    # Your code here: replace the raise below.
    raise NotImplementedError(
        'not started yet: write sgd_step() in exercises/gradient_descent.py, then run: kata check gradient_descent'
    )


def minibatches(num_examples, batch_size, rng):
    """Shuffled mini-batches of example indices for one epoch (a generator).

    Args:
        num_examples: N, the number of training examples.
        batch_size: B, examples per batch.
        rng: a numpy.random.Generator that decides the order (rng.permutation).

    Yields:
        1-D integer arrays of indices into the training set. Together they hold every index in
        0..N-1 exactly once, in shuffled order; all have B indices except the last, which has
        N mod B when B does not divide N.

    Example:
        >>> [b.tolist() for b in minibatches(5, 2, np.random.default_rng(0))]
        [[2, 4], [3, 0], [1]]

        The order depends on the generator; the sizes do not.
    """
    # Your code here: replace the raise below.
    raise NotImplementedError(
        'not started yet: write minibatches() in exercises/gradient_descent.py, then run: kata check gradient_descent'
    )
