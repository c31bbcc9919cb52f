"""Check the reference conv2d and max-pooling against PyTorch once (needs the bench extra).

    python bench/conv_vs_torch.py

Forward and backward of solutions.conv and solutions.pool against torch.nn.functional.conv2d and
max_pool2d in float64, over strides 1-3, pads 0-2, odd sizes and rectangular kernels, then prints
the small worked example whose values tests/test_conv.py and tests/test_pool.py keep frozen.
"""

import itertools
import sys
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from solutions.conv import conv2d_backward, conv2d_forward  # noqa: E402
from solutions.pool import maxpool_backward, maxpool_forward  # noqa: E402


def check_conv(rng, n, c, h, w, f, kh, kw, stride, pad):
    x, wt, b = rng.standard_normal((n, c, h, w)), rng.standard_normal((f, c, kh, kw)), rng.standard_normal(f)
    out, cache = conv2d_forward(x, wt, b, stride=stride, pad=pad)
    dout = rng.standard_normal(out.shape)
    dx, dw, db = conv2d_backward(dout, cache)
    tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in (x, wt, b))
    tout = F.conv2d(tx, tw, tb, stride=stride, padding=pad)
    tout.backward(torch.tensor(dout))
    errors = [np.abs(a - t.detach().numpy()).max() for a, t in ((out, tout), (dx, tx.grad), (dw, tw.grad), (db, tb.grad))]
    return max(errors)


def check_pool(rng, n, c, h, w, size, stride):
    x = rng.standard_normal((n, c, h, w))  # continuous values: no ties
    out, cache = maxpool_forward(x, size, stride)
    dout = rng.standard_normal(out.shape)
    dx = maxpool_backward(dout, cache)
    tx = torch.tensor(x, requires_grad=True)
    tout = F.max_pool2d(tx, size, stride)
    tout.backward(torch.tensor(dout))
    return max(np.abs(out - tout.detach().numpy()).max(), np.abs(dx - tx.grad.numpy()).max())


def main():
    rng = np.random.default_rng(0)
    worst_conv = worst_pool = 0.0
    cases = 0
    for stride, pad, (kh, kw), (h, w) in itertools.product((1, 2, 3), (0, 1, 2), ((1, 1), (3, 3), (2, 3), (5, 2)),
                                                           ((7, 7), (5, 9), (8, 6))):
        if kh > h + 2 * pad or kw > w + 2 * pad:
            continue
        worst_conv = max(worst_conv, check_conv(rng, 2, 3, h, w, 4, kh, kw, stride, pad))
        cases += 1
    pool_cases = 0
    for size, stride, (h, w) in itertools.product((1, 2, 3), (1, 2, 3), ((7, 7), (5, 9), (8, 6), (4, 4))):
        worst_pool = max(worst_pool, check_pool(rng, 2, 3, h, w, size, stride))
        pool_cases += 1
    print(f"conv2d: {cases} configurations, largest absolute difference from torch {worst_conv:.2e}")
    print(f"maxpool: {pool_cases} configurations, largest absolute difference from torch {worst_pool:.2e}")
    assert worst_conv < 1e-10 and worst_pool < 1e-12

    # The frozen worked examples of the suites
    x = np.arange(2 * 5 * 4, dtype=np.float64).reshape(1, 2, 5, 4) % 7 - 3
    wt = np.array([[[[1, 0, -1], [2, 1, 0]], [[0, 1, 1], [-1, 0, 2]]],
                   [[[1, 1, 1], [0, 0, 0]], [[2, -2, 0], [1, 0, -1]]]], dtype=np.float64)  # (2, 2, 2, 3)
    b = np.array([0.5, -1.0])
    tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in (x, wt, b))
    tout = F.conv2d(tx, tw, tb, stride=2, padding=1)
    dout = np.arange(tout.numel(), dtype=np.float64).reshape(tout.shape) % 5 - 1
    tout.backward(torch.tensor(dout))
    np.set_printoptions(floatmode="unique")
    print("conv example: x =", repr(x), "w =", repr(wt), "b =", repr(b), "stride 2, pad 1", sep="\n")
    print("out =", repr(tout.detach().numpy()), "dout =", repr(dout), "dx =", repr(tx.grad.numpy()),
          "dw =", repr(tw.grad.numpy()), "db =", repr(tb.grad.numpy()), sep="\n")
    xp = np.array([[[[3, 1, 4, 1, 5], [9, 2, 6, 5, 3], [5, 8, 9, 7, 0], [2, 3, 8, 4, 6], [2, 6, 4, 3, 1]]]],
                  dtype=np.float64) + np.arange(25).reshape(1, 1, 5, 5) / 100  # distinct values: no ties
    tx = torch.tensor(xp, requires_grad=True)
    tout = F.max_pool2d(tx, 3, 2)
    dout = np.array([[[[1.0, 2.0], [3.0, 4.0]]]])
    tout.backward(torch.tensor(dout))
    print("pool example (size 3, stride 2): x =", repr(xp), "out =", repr(tout.detach().numpy()),
          "dout =", repr(dout), "dx =", repr(tx.grad.numpy()), sep="\n")


if __name__ == "__main__":
    main()
