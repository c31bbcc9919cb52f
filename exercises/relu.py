"""Stage 2: ReLU, the network's non-linearity.

Without a non-linearity, two dense layers collapse into one: (x W1) W2 = x (W1 W2), so a deep
network could only draw straight lines between classes. ReLU, "rectified linear unit", bends the
line in the simplest possible way: it keeps positive values and sets negative ones to zero.

    relu(z) = max(z, 0)        elementwise, any shape

Backpropagation needs the other direction too: given the gradient of the loss with respect to
ReLU's output (`dout`), what is the gradient with respect to its input `z`? Where the unit was on
(z > 0) the output moved one-for-one with the input, so the gradient passes through unchanged;
where it was off (z <= 0) the output did not move, so the gradient is 0. At exactly z == 0 ReLU
has a kink and no derivative; like every deep-learning library, we use 0 there.

Both functions keep the floating dtype they are given (float32 in, float32 out) and never modify
their inputs: the backward pass will need the original z.
"""

import numpy as np


def relu(z):
    """Apply ReLU elementwise.

    Args:
        z: float array of any shape, e.g. (N, H) pre-activations of a hidden layer.

    Returns:
        A new array of z's shape and dtype: z where z > 0, else 0.

    Example:
        >>> relu(np.array([-2.0, 0.0, 3.0]))
        array([0., 0., 3.])
    """
    # Your code here: replace the raise below.
    raise NotImplementedError(
        'not started yet: write relu() in exercises/relu.py, then run: kata check relu'
    )


def relu_backward(dout, z):
    """Gradient of the loss with respect to ReLU's input.

    dz = dout * 1[z > 0]        (1[.] is 1 where the condition holds, 0 elsewhere)

    Args:
        dout: upstream gradient, dL/d relu(z), same shape as z.
        z: the input ReLU saw in the forward pass (not its output, and not dout).

    Returns:
        dz: array of z's shape and dout's dtype. The gradient is 0 wherever z <= 0,
        including exactly z == 0, whatever the sign of dout.

    Example:
        >>> relu_backward(np.array([5.0, 5.0, -5.0]), np.array([-1.0, 0.0, 2.0]))
        array([ 0.,  0., -5.])
    """
    # Your code here: replace the raise below.
    raise NotImplementedError(
        'not started yet: write relu_backward() in exercises/relu.py, then run: kata check relu'
    )
