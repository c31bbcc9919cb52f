"""Correct implementations in another style, which the suites must accept.

A suite tests behaviour, not the path: the plain loop versions a learner writes first must pass
stages 5, 13 and 14 as the vectorised reference does, and within the per-stage time limit; so must a
vectorised conv2d written another way. They also serve the selftests of the time estimate
(test_estimate.py): correct, and slow or not.
Each entry is (module, function, source), swapped into a copy of solutions/ as a mutant is.
"""

import textwrap

from mutants import Mutant

LOOP_CONV_FORWARD = """
def conv2d_forward(x, w, b, stride=1, pad=0):
    for name, value, smallest in (("stride", stride, 1), ("pad", pad, 0)):
        if not isinstance(value, int) or isinstance(value, bool):
            raise ValueError(f"{name} must be an integer, got {value}")
        if value < smallest:
            raise ValueError(f"{name} must be at least {smallest}, got {value}")
    N, C, H, W = x.shape
    F, C2, KH, KW = w.shape
    if C2 != C:
        raise ValueError(f"w has {C2} channels, x has {C}")
    if b.shape != (F,):
        raise ValueError(f"b has shape {b.shape}, expected ({F},)")
    if KH > H + 2 * pad or KW > W + 2 * pad:
        raise ValueError(f"kernel {KH}x{KW} does not fit in {H + 2 * pad}x{W + 2 * pad}")
    xpad = np.zeros((N, C, H + 2 * pad, W + 2 * pad), dtype=x.dtype)
    xpad[:, :, pad:pad + H, pad:pad + W] = x
    H_out = (H + 2 * pad - KH) // stride + 1
    W_out = (W + 2 * pad - KW) // stride + 1
    out = np.zeros((N, F, H_out, W_out), dtype=x.dtype)
    for n in range(N):
        for f in range(F):
            for i in range(H_out):
                for j in range(W_out):
                    total = b[f]
                    for c in range(C):
                        for p in range(KH):
                            for q in range(KW):
                                total += xpad[n, c, i * stride + p, j * stride + q] * w[f, c, p, q]
                    out[n, f, i, j] = total
    return out, {"xpad": xpad, "w": w, "stride": stride, "pad": pad, "H": H, "W": W}
"""

LOOP_CONV_BACKWARD = """
def conv2d_backward(dout, cache):
    xpad, w, stride, pad = cache["xpad"], cache["w"], cache["stride"], cache["pad"]
    N, F, H_out, W_out = dout.shape
    _, C, KH, KW = w.shape
    dxpad = np.zeros_like(xpad, dtype=dout.dtype)
    dw = np.zeros_like(w, dtype=dout.dtype)
    db = np.zeros(F, dtype=dout.dtype)
    for n in range(N):
        for f in range(F):
            for i in range(H_out):
                for j in range(W_out):
                    g = dout[n, f, i, j]
                    db[f] += g
                    for c in range(C):
                        for p in range(KH):
                            for q in range(KW):
                                dw[f, c, p, q] += g * xpad[n, c, i * stride + p, j * stride + q]
                                dxpad[n, c, i * stride + p, j * stride + q] += g * w[f, c, p, q]
    return dxpad[:, :, pad:pad + cache["H"], pad:pad + cache["W"]], dw, db
"""

LOOP_POOL_FORWARD = """
def maxpool_forward(x, size=2, stride=2):
    for name, value in (("size", size), ("stride", stride)):
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ValueError(f"{name} must be an integer >= 1, got {value}")
    N, C, H, W = x.shape
    if size > H or size > W:
        raise ValueError(f"window {size} larger than input {H}x{W}")
    H_out, W_out = (H - size) // stride + 1, (W - size) // stride + 1
    out = np.zeros((N, C, H_out, W_out), dtype=x.dtype)
    positions = {}
    for n in range(N):
        for c in range(C):
            for i in range(H_out):
                for j in range(W_out):
                    best, where = None, None
                    for p in range(size):
                        for q in range(size):
                            v = x[n, c, i * stride + p, j * stride + q]
                            if best is None or v > best:  # the last of equal values would be >=
                                best, where = v, (i * stride + p, j * stride + q)
                    out[n, c, i, j] = best
                    positions[n, c, i, j] = where
    return out, (x.shape, positions)
"""

LOOP_POOL_BACKWARD = """
def maxpool_backward(dout, cache):
    shape, positions = cache
    dx = np.zeros(shape, dtype=dout.dtype)
    for (n, c, i, j), (r, s) in positions.items():
        dx[n, c, r, s] += dout[n, c, i, j]
    return dx
"""

# The same loops, but ties broken towards the last maximum: the suites accept any one tied position.
LOOP_POOL_FORWARD_LAST_TIE = LOOP_POOL_FORWARD.replace("v > best:", "v >= best:")

# Vectorised, but not the reference's way: kata hint conv's third level as a learner writes it
# (sliding_window_view, windows as rows, the filter axis moved back at the end, col2im with a loop
# over the kernel positions only). A little slower than the reference per batch, never a loop version.
VECTORISED_CONV_FORWARD = """
def conv2d_forward(x, w, b, stride=1, pad=0):
    from numpy.lib.stride_tricks import sliding_window_view

    for name, value, smallest in (("stride", stride, 1), ("pad", pad, 0)):
        if not isinstance(value, int) or isinstance(value, bool):
            raise ValueError(f"{name} must be an integer, got {value}")
        if value < smallest:
            raise ValueError(f"{name} must be at least {smallest}, got {value}")
    if x.ndim != 4 or w.ndim != 4:
        raise ValueError(f"x and w must be 4-D, got {x.shape} and {w.shape}")
    N, C, H, W = x.shape
    F, C2, KH, KW = w.shape
    if C2 != C:
        raise ValueError(f"w has {C2} channels, x has {C}")
    if b.shape != (F,):
        raise ValueError(f"b has shape {b.shape}, expected ({F},)")
    if KH > H + 2 * pad or KW > W + 2 * pad:
        raise ValueError(f"kernel {KH}x{KW} does not fit in {H + 2 * pad}x{W + 2 * pad}")
    xpad = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    win = sliding_window_view(xpad, (KH, KW), axis=(2, 3))[:, :, ::stride, ::stride]
    H_out, W_out = win.shape[2], win.shape[3]
    cols = win.transpose(0, 2, 3, 1, 4, 5).reshape(N * H_out * W_out, C * KH * KW)
    out = (cols @ w.reshape(F, -1).T + b).reshape(N, H_out, W_out, F).transpose(0, 3, 1, 2)
    return out, (x.shape, cols, w, stride, pad)
"""

VECTORISED_CONV_BACKWARD = """
def conv2d_backward(dout, cache):
    x_shape, cols, w, stride, pad = cache
    N, C, H, W = x_shape
    F, _, KH, KW = w.shape
    _, _, H_out, W_out = dout.shape
    dout_mat = dout.transpose(0, 2, 3, 1).reshape(-1, F)
    db = dout_mat.sum(axis=0)
    dw = (dout_mat.T @ cols).reshape(w.shape)
    dcols = (dout_mat @ w.reshape(F, -1)).reshape(N, H_out, W_out, C, KH, KW)
    dxpad = np.zeros((N, C, H + 2 * pad, W + 2 * pad), dtype=dout.dtype)
    for p in range(KH):
        for q in range(KW):
            dxpad[:, :, p:p + stride * H_out:stride, q:q + stride * W_out:stride] += (
                dcols[:, :, :, :, p, q].transpose(0, 3, 1, 2))
    return dxpad[:, :, pad:pad + H, pad:pad + W], dw, db
"""

# A correct dense layer as three nested Python loops (and its backward as loops too): it passes stage 5,
# and a batch takes seconds instead of a millisecond.
LOOP_DENSE_FORWARD = """
def dense_forward(x, W, b):
    N, D = x.shape
    M = W.shape[1]
    out = np.zeros((N, M), dtype=np.result_type(x, W, b))
    for n in range(N):
        for m in range(M):
            total = b[m]
            for d in range(D):
                total += x[n, d] * W[d, m]
            out[n, m] = total
    return out
"""


def version(id, module, function, source):
    return Mutant(id, module, function, caught_by="", source=textwrap.dedent(source).strip() + "\n")


LOOP_VERSIONS = {
    "conv": [version("loop_conv_forward", "conv", "conv2d_forward", LOOP_CONV_FORWARD),
             version("loop_conv_backward", "conv", "conv2d_backward", LOOP_CONV_BACKWARD)],
    "pool": [version("loop_pool_forward", "pool", "maxpool_forward", LOOP_POOL_FORWARD),
             version("loop_pool_backward", "pool", "maxpool_backward", LOOP_POOL_BACKWARD)],
    "conv_vectorised": [version("vectorised_conv_forward", "conv", "conv2d_forward", VECTORISED_CONV_FORWARD),
                        version("vectorised_conv_backward", "conv", "conv2d_backward", VECTORISED_CONV_BACKWARD)],
    "dense_loops": [version("loop_dense_forward", "backprop", "dense_forward", LOOP_DENSE_FORWARD)],
    "pool_last_tie": [version("loop_pool_forward_last", "pool", "maxpool_forward", LOOP_POOL_FORWARD_LAST_TIE),
                      version("loop_pool_backward", "pool", "maxpool_backward", LOOP_POOL_BACKWARD)],
}
