"""bench/baseline.py computes the same network and updates as the reference, so its speed is a fair yardstick."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from checker.project import ROOT
from solutions.backprop import backward, forward
from solutions.gradient_descent import sgd_step
from solutions.one_hot import one_hot
from training_helpers import tiny_dataset

sys.path.insert(0, str(Path(ROOT, "bench")))
from baseline import TightNetwork  # noqa: E402


class InOrder:
    def permutation(self, n):
        return np.arange(n)


def test_the_tight_baseline_takes_the_reference_steps():
    data = tiny_dataset(train=100).train  # 100 = 3 batches of 32 and one of 4
    net = TightNetwork([784, 16, 10], batch_size=32, seed=0)
    net.batch_rng = InOrder()
    params = {k: getattr(net, k).copy() for k in ("W1", "b1", "W2", "b2")}
    lrs = [0.5, 0.4, 0.3, 0.2]
    net.train_epoch(data.images, data.labels, lrs)
    targets = one_hot(data.labels).astype(np.float32)
    for start, lr in zip(range(0, 100, 32), lrs):
        batch = slice(start, start + 32)
        probs, cache = forward(params, data.images[batch])
        sgd_step(params, backward(params, cache, targets[batch]), lr)
    for key, value in params.items():
        np.testing.assert_allclose(getattr(net, key), value, rtol=1e-4, atol=1e-6, err_msg=key)
    assert 0 <= net.accuracy(data.images, data.labels) <= 1
