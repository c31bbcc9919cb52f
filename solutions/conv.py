"""Stage 13: a 2-D convolution layer, forwards and backwards.

A dense layer connects every pixel to every unit. A convolution layer slides a small kernel (say
3x3) over the image instead: each output value looks at one small window, the *receptive field*,
and every window uses the same weights. A filter that detects a vertical stroke detects it
anywhere in the image, with 9 weights per input channel instead of 784.

Shapes (batch first, channels next, as PyTorch stores them):

    x    (N, C, H, W)       N images with C channels (1 for MNIST, 8 after an 8-filter layer)
    w    (F, C, KH, KW)     F filters, each a C x KH x KW block of weights
    b    (F,)               one bias per filter
    out  (N, F, H_out, W_out)

**The definition, as loops.** Pad x with `pad` zeros on every side (xpad), then

    out[n, f, i, j] = b[f] + sum over c, p, q of xpad[n, c, i*stride + p, j*stride + q] * w[f, c, p, q]

for p in 0..KH-1 and q in 0..KW-1: the window whose top-left corner is (i*stride, j*stride),
multiplied elementwise by filter f and summed. The kernel is not flipped: strictly this is
cross-correlation, which is what every deep learning library calls convolution
(torch.nn.functional.conv2d computes exactly this). The window must fit inside the padded input:

    H_out = (H + 2*pad - KH) // stride + 1        W_out = (W + 2*pad - KW) // stride + 1

Six nested loops (n, f, i, j, and the sum over c, p, q) are a correct implementation, and a good
first one: write it, pass the tests, then make it fast.

**Fast: im2col.** The loops spend their time in Python. Look at one output position (n, i, j): it
takes the window xpad[n, :, i*stride : i*stride+KH, j*stride : j*stride+KW], C*KH*KW numbers, and
dots it with each filter, also C*KH*KW numbers. So copy every window into one row of a matrix
("image to columns"):

    cols   (N*H_out*W_out, C*KH*KW)      one row per output position, one receptive field each
    w_mat  (C*KH*KW, F)                  one column per filter: w reshaped and transposed
    out    = cols @ w_mat + b            (N*H_out*W_out, F): one row per position (n, i, j), one
                                         column per filter. Viewed as (N, H_out, W_out, F), its
                                         filter axis then moves to second place: (N, F, H_out, W_out).
                                         A reshape alone cannot move an axis: it would scramble them.

The whole layer becomes one matrix product, which NumPy hands to an optimised BLAS routine. The
price is memory: every pixel is copied into up to KH*KW rows.

**Backwards.** Given dout = dL/dout (N, F, H_out, W_out), turned into dout_mat (N*H_out*W_out, F)
by the forward's steps in reverse (filter axis moved last, then reshaped), the matrix product gives
two of the three gradients at once, as for a dense layer:

    db     = dout summed over n, i and j               (F,)   b was added at every position
    dw     = cols^T @ dout_mat   (C*KH*KW, F), transposed to (F, C*KH*KW), then reshaped to w's shape
                                                       (every window used the same weights)
    dcols  = dout_mat @ w_mat^T                        (N*H_out*W_out, C*KH*KW)

dcols holds a gradient for every *copy* of every pixel. The reverse of im2col ("col2im") sends
each row back to the window it came from, and where windows overlap (stride < KH or KW) a pixel
receives the sum of the gradients of all its copies. Finally crop the padding off: dx has x's
shape. In loop form: dx_pad[n, c, i*stride + p, j*stride + q] += dout[n, f, i, j] * w[f, c, p, q].
"""

import numpy as np


def conv2d_forward(x, w, b, stride=1, pad=0):
    """A 2-D convolution (cross-correlation) with zero padding and a stride.

    Args:
        x: (N, C, H, W) input batch.
        w: (F, C, KH, KW) filters; KH and KW may differ (rectangular kernels).
        b: (F,) one bias per filter.
        stride: int >= 1, the step between neighbouring windows, the same along rows and columns.
        pad: int >= 0, the number of zero rows and columns added on every side of each image.

    Returns:
        (out, cache): out of shape (N, F, H_out, W_out) and x's dtype, with
        H_out = (H + 2*pad - KH) // stride + 1 and W_out = (W + 2*pad - KW) // stride + 1;
        cache holds whatever conv2d_backward needs (your choice). x, w and b are not modified.

    Raises:
        ValueError, naming the bad value, when: x is not 4-D or w not 4-D; w's channel count C
        differs from x's; b's shape is not (F,); the kernel is larger than the padded input
        (KH > H + 2*pad or KW > W + 2*pad); stride < 1; pad < 0; stride or pad is not an integer.

    Edge cases:
        Rows or columns at the end that fill no whole window are skipped, as in the formula:
        H = 4, KH = 3, stride = 2 gives H_out = 1. A kernel as large as the padded input gives a
        single output position. A 1x1 kernel mixes channels at each pixel and nothing else.

    Example:
        A 3x3 image holding 0..8 and one 2x2 filter [[1, 2], [3, 4]] with bias 1: the top-left
        output is 0*1 + 1*2 + 3*3 + 4*4 + 1 = 28, and each step right adds 1*(1+2+3+4) = 10.

        >>> x = np.arange(9.0).reshape(1, 1, 3, 3)
        >>> out, cache = conv2d_forward(x, np.array([[[[1.0, 2.0], [3.0, 4.0]]]]), np.array([1.0]))
        >>> out
        array([[[[28., 38.],
                 [58., 68.]]]])

        Padding 1 and stride 2 with a 3x3 filter of ones: H_out = (3 + 2 - 3) // 2 + 1 = 2, and
        each output sums the pixels of a 3x3 window of the padded image (zeros count for nothing).

        >>> out, cache = conv2d_forward(x, np.ones((1, 1, 3, 3)), np.zeros(1), stride=2, pad=1)
        >>> out
        array([[[[ 8., 12.],
                 [20., 24.]]]])
    """
    # BEGIN SOLUTION
    from numpy.lib.stride_tricks import sliding_window_view

    def check_int(name, value, smallest):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
            raise ValueError(f"{name} must be an integer, got {value!r}")
        if value < smallest:
            raise ValueError(f"{name} must be >= {smallest}, got {value}")

    check_int("stride", stride, 1)
    check_int("pad", pad, 0)
    if x.ndim != 4 or w.ndim != 4:
        raise ValueError(f"x must be (N, C, H, W) and w (F, C, KH, KW); got shapes {x.shape} and {w.shape}")
    n, c, h, width = x.shape
    f, wc, kh, kw = w.shape
    if wc != c:
        raise ValueError(f"w has {wc} input channels (w.shape {w.shape}) but x has {c} (x.shape {x.shape})")
    if b.shape != (f,):
        raise ValueError(f"b must have shape ({f},), one bias per filter; got shape {b.shape}")
    if kh > h + 2 * pad or kw > width + 2 * pad:
        raise ValueError(f"the kernel {kh}x{kw} is larger than the padded input "
                         f"{h + 2 * pad}x{width + 2 * pad} (H, W = {h}, {width}; pad {pad})")

    xpad = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad))) if pad else x
    # All windows as a view (N, C, H_out, W_out, KH, KW), no copy yet.
    windows = sliding_window_view(xpad, (kh, kw), axis=(2, 3))[:, :, ::stride, ::stride]
    h_out, w_out = windows.shape[2], windows.shape[3]
    # im2col, stored transposed: one column per output position, cols (C*KH*KW, N*H_out*W_out). Copying
    # in this order moves whole image rows at a time, much faster than a row per receptive field.
    cols = windows.transpose(1, 4, 5, 0, 2, 3).reshape(c * kh * kw, n * h_out * w_out)
    out = w.reshape(f, c * kh * kw) @ cols  # (F, N*H_out*W_out): the one matrix product
    out += b[:, None]
    out = out.reshape(f, n, h_out, w_out).transpose(1, 0, 2, 3)
    cache = (x.shape, cols, w, stride, pad)
    return np.ascontiguousarray(out), cache
    # END SOLUTION


def conv2d_backward(dout, cache):
    """Gradients of conv2d_forward, given the gradient of its output.

    Args:
        dout: (N, F, H_out, W_out) upstream gradient dL/dout.
        cache: what your conv2d_forward returned with out.

    Returns:
        (dx, dw, db) with the shapes of x (N, C, H, W), w (F, C, KH, KW) and b (F,), in dout's dtype:

            db[f]          = sum over n, i, j of dout[n, f, i, j]
            dw[f, c, p, q] = sum over n, i, j of dout[n, f, i, j] * xpad[n, c, i*stride + p, j*stride + q]
            dx             = dxpad without its padding, where every output position adds
                             dout[n, f, i, j] * w[f, c, p, q] to dxpad[n, c, i*stride + p, j*stride + q]

    Edge cases:
        Where windows overlap (stride smaller than the kernel), a pixel's gradient is the sum over
        every window it is part of. Pixels that no window reaches (trailing rows skipped by the
        stride) get a gradient of 0; so does the padding, which is cropped off.

    Example:
        The forward example above (x = 0..8 in a 3x3 image, w = [[1, 2], [3, 4]]) with dout = 1
        at every output: db counts the 4 positions; dw[p, q] sums the window of x that weight
        (p, q) saw; the centre pixel is in all 4 windows, so it collects 1 + 2 + 3 + 4 = 10.

        >>> x = np.arange(9.0).reshape(1, 1, 3, 3)
        >>> out, cache = conv2d_forward(x, np.array([[[[1.0, 2.0], [3.0, 4.0]]]]), np.array([1.0]))
        >>> dx, dw, db = conv2d_backward(np.ones((1, 1, 2, 2)), cache)
        >>> dx
        array([[[[ 1.,  3.,  2.],
                 [ 4., 10.,  6.],
                 [ 3.,  7.,  4.]]]])
        >>> dw
        array([[[[ 8., 12.],
                 [20., 24.]]]])
        >>> db
        array([4.])
    """
    # BEGIN SOLUTION
    x_shape, cols, w, stride, pad = cache
    n, c, h, width = x_shape
    f, _, kh, kw = w.shape
    _, _, h_out, w_out = dout.shape
    dout_mat = dout.transpose(1, 0, 2, 3).reshape(f, n * h_out * w_out)  # like out before its transpose
    db = dout_mat.sum(axis=1)
    dw = (dout_mat @ cols.T).reshape(w.shape)
    dcols = (w.reshape(f, c * kh * kw).T @ dout_mat).reshape(c, kh, kw, n, h_out, w_out)
    # col2im: one strided slice per kernel position adds that weight's share for all windows at once;
    # where windows overlap, the slices overlap and the contributions add up. dxpad is built channel
    # first, in dcols's order, so each addition reads dcols in order; one transpose at the end.
    dxpad = np.zeros((c, n, h + 2 * pad, width + 2 * pad), dtype=dout.dtype)
    for p in range(kh):
        for q in range(kw):
            dxpad[:, :, p:p + stride * h_out:stride, q:q + stride * w_out:stride] += dcols[:, p, q]
    dx = dxpad[:, :, pad:pad + h, pad:pad + width].transpose(1, 0, 2, 3)
    return np.ascontiguousarray(dx), dw, db
    # END SOLUTION
