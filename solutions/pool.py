"""Stage 14: max pooling, forwards and backwards.

After a convolution and a ReLU, each filter has produced a map that says where it found its
pattern. Max pooling shrinks each map: it cuts it into small windows and keeps only the largest
value of each. The exact position of a stroke within a 2x2 window stops mattering, the maps get 4
times smaller (so the next layers cost 4 times less), and there is nothing to learn: no weights.

Shapes: x (N, C, H, W) -> out (N, C, H_out, W_out). Every channel of every image is pooled on its
own; channels are never mixed.

**The definition, as loops.** With a size x size window moved by `stride`:

    out[n, c, i, j] = max over p, q in 0..size-1 of x[n, c, i*stride + p, j*stride + q]

    H_out = (H - size) // stride + 1        W_out = (W - size) // stride + 1

Trailing rows and columns that fill no whole window are dropped: a 5x5 map pooled 2x2 with stride 2
gives 2x2, and the last row and column are ignored (torch's max_pool2d does the same). The usual
choice is size = stride = 2: windows that tile the map without overlapping. With stride < size
the windows overlap.

**Backwards.** The maximum of a window depends on one input only: the position that held it. A
small change to any other value of the window does not change the output at all. So each window
sends its whole upstream gradient dout[n, c, i, j] to the position of its maximum, and nothing to
the others:

    dx[n, c, i*stride + p*, j*stride + q*] += dout[n, c, i, j]     (p*, q*) = where the window's max is

Two details matter. When windows overlap, one position can be the maximum of several windows:
its gradient is the sum (hence +=). When a window holds the maximum more than once (a tie, common
after ReLU turns many values into exactly 0), the gradient goes to exactly *one* of the tied
positions, any one: the output changes at the rate of one input, not of two. np.argmax, which
picks the first, is a fine choice. The forward pass remembers in its cache where each maximum was.

**Fast.** The loops are slow in Python. When size == stride the windows tile the map, and for each
position (p, q) inside a window the strided slice x[:, :, p::size, q::size] holds that position of
every window: the elementwise maximum of the size*size slices pools the whole batch at once (a
reshape to (N, C, H_out, size, W_out, size) and a max over two axes does the same). For the
general case, a view of all the windows (numpy.lib.stride_tricks.sliding_window_view) does it.
"""

import numpy as np


def maxpool_forward(x, size=2, stride=2):
    """Max pooling of every channel of every image, with square windows.

    Args:
        x: (N, C, H, W) input batch.
        size: int >= 1, the side of each square window.
        stride: int >= 1, the step between neighbouring windows.

    Returns:
        (out, cache): out of shape (N, C, H_out, W_out) and x's dtype, with
        H_out = (H - size) // stride + 1 and W_out = (W - size) // stride + 1; cache holds
        whatever maxpool_backward needs (your choice: e.g. x and the settings, or where each
        window's maximum is). x is not modified.

    Raises:
        ValueError, naming the bad value, when: x is not 4-D; size or stride is not an integer;
        size < 1 or stride < 1; the window is larger than the input (size > H or size > W).

    Edge cases:
        size = stride = 1 returns a copy of x. A window as large as the input gives one value per
        channel, the channel's maximum. Negative values are pooled like any others: the maximum of
        [-3, -1] is -1, not 0.

    Example:
        A 4x4 map pooled 2x2 with stride 2: the maximum of each quarter.

        >>> x = np.array([[[[1.0, 2.0, 5.0, 0.0],
        ...                 [3.0, 4.0, 1.0, 1.0],
        ...                 [0.0, -1.0, 2.0, 2.0],
        ...                 [-2.0, 0.0, 3.0, 9.0]]]])
        >>> out, cache = maxpool_forward(x)
        >>> out
        array([[[[4., 5.],
                 [0., 9.]]]])

        Windows of 3 moved by 1 overlap; a 5-wide map pooled 2x2 with stride 2 drops its last column.

        >>> maxpool_forward(x, size=3, stride=1)[0]
        array([[[[5., 5.],
                 [4., 9.]]]])
        >>> maxpool_forward(np.arange(10.0).reshape(1, 1, 2, 5))[0]
        array([[[[6., 8.]]]])
    """
    # BEGIN SOLUTION
    for name, value in (("size", size), ("stride", stride)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
            raise ValueError(f"{name} must be an integer, got {value!r}")
        if value < 1:
            raise ValueError(f"{name} must be >= 1, got {value}")
    if x.ndim != 4:
        raise ValueError(f"x must be 4-D (N, C, H, W); got shape {x.shape}")
    n, c, h, w = x.shape
    if size > h or size > w:
        raise ValueError(f"the {size}x{size} window is larger than the {h}x{w} input")
    h_out, w_out = (h - size) // stride + 1, (w - size) // stride + 1
    if size == stride:
        # Non-overlapping windows: the maximum of size*size strided views, one per position in the
        # window, without copying the windows. The cache keeps x (a reference, not a copy) and out.
        out = None
        for p in range(size):
            for q in range(size):
                view = x[:, :, p:p + size * h_out:size, q:q + size * w_out:size]
                out = view.copy() if out is None else np.maximum(out, view, out=out)
        return out, ("views", x, out, size)
    from numpy.lib.stride_tricks import sliding_window_view

    windows = sliding_window_view(x, (size, size), axis=(2, 3))[:, :, ::stride, ::stride]
    flat = windows.reshape(n, c, h_out, w_out, size * size)
    where = flat.argmax(axis=-1)  # the first maximum of each window: ties go to one position
    out = np.take_along_axis(flat, where[..., None], axis=-1)[..., 0]
    return out, ("argmax", x.shape, where, size, stride)
    # END SOLUTION


def maxpool_backward(dout, cache):
    """Gradient of maxpool_forward: each window's gradient goes to the position of its maximum.

    Args:
        dout: (N, C, H_out, W_out) upstream gradient dL/dout.
        cache: what your maxpool_forward returned with out.

    Returns:
        dx: (N, C, H, W), x's shape, in dout's dtype. dx is 0 except at the maxima; a position
        that is the maximum of several overlapping windows receives the sum of their gradients.
        With a tie inside a window, exactly one of the tied positions (any one) receives it.
        Dropped trailing rows and columns receive 0.

    Example:
        The forward example above, with dout = [[10, 20], [30, 40]]: each quarter's gradient
        lands where its maximum was (4, 5, the first of the two tied zeros, and 9).

        >>> x = np.array([[[[1.0, 2.0, 5.0, 0.0],
        ...                 [3.0, 4.0, 1.0, 1.0],
        ...                 [0.0, -1.0, 2.0, 2.0],
        ...                 [-2.0, 0.0, 3.0, 9.0]]]])
        >>> out, cache = maxpool_forward(x)
        >>> maxpool_backward(np.array([[[[10.0, 20.0], [30.0, 40.0]]]]), cache)
        array([[[[ 0.,  0., 20.,  0.],
                 [ 0., 10.,  0.,  0.],
                 [30.,  0.,  0.,  0.],
                 [ 0.,  0.,  0., 40.]]]])
    """
    # BEGIN SOLUTION
    if cache[0] == "views":
        # Non-overlapping windows: walk the window positions in order; each window's gradient goes
        # to the first position equal to its maximum, then that window is marked done (ties).
        _, x, out, size = cache
        _, _, h_out, w_out = out.shape
        dx = np.zeros(x.shape, dtype=dout.dtype)
        pending = np.ones(out.shape, dtype=bool)
        for p in range(size):
            for q in range(size):
                rows, cols = slice(p, p + size * h_out, size), slice(q, q + size * w_out, size)
                hit = (x[:, :, rows, cols] == out) & pending
                dx[:, :, rows, cols] = dout * hit
                pending &= ~hit
        return dx
    # Overlapping windows: the absolute position of every maximum, then a sum per position.
    _, (n, c, h, w), where, size, stride = cache
    _, _, h_out, w_out = dout.shape
    rows = np.arange(h_out)[:, None] * stride + where // size
    cols = np.arange(w_out)[None, :] * stride + where % size
    images = np.arange(n * c).reshape(n, c, 1, 1)
    flat_index = (images * h + rows) * w + cols
    dx = np.bincount(flat_index.ravel(), weights=dout.ravel(), minlength=n * c * h * w)
    return dx.reshape(n, c, h, w).astype(dout.dtype, copy=False)
    # END SOLUTION
