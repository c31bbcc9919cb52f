"""A tight NumPy float32 implementation of the kata's network, the yardstick of bench/bench.py.

The same network (784-H-10, ReLU, softmax, cross-entropy), He initialisation, batch order by a
permutation per epoch and plain SGD with the same learning-rate schedule as `kata train`, written
for speed: every buffer is allocated once, every operation writes in place, the softmax gradient
is formed in the probabilities' buffer, the learning rate is folded into the output gradient
(so dW comes out already scaled), no loss is computed and the input gradient is skipped.
"""

from __future__ import annotations

import numpy as np


class TightNetwork:
    def __init__(self, layer_sizes: list[int], batch_size: int, seed: int):
        inputs, hidden, classes = layer_sizes
        rng = np.random.default_rng(seed)
        self.W1 = (rng.standard_normal((inputs, hidden)) * np.sqrt(2.0 / inputs)).astype(np.float32)
        self.b1 = np.zeros(hidden, np.float32)
        self.W2 = (rng.standard_normal((hidden, classes)) * np.sqrt(2.0 / hidden)).astype(np.float32)
        self.b2 = np.zeros(classes, np.float32)
        self.batch_rng = np.random.default_rng(seed + 1)
        B = batch_size
        self.batch_size = B
        self.x = np.empty((B, inputs), np.float32)
        self.h = np.empty((B, hidden), np.float32)  # z1, then relu(z1) in place
        self.p = np.empty((B, classes), np.float32)  # logits, then probs, then lr * dz2
        self.dh = np.empty((B, hidden), np.float32)
        self.mask = np.empty((B, hidden), bool)
        self.dW1 = np.empty_like(self.W1)
        self.dW2 = np.empty_like(self.W2)
        self.db1 = np.empty_like(self.b1)
        self.db2 = np.empty_like(self.b2)
        self.row_max = np.empty((B, 1), np.float32)
        self.rows = np.arange(B)

    def train_epoch(self, images: np.ndarray, labels: np.ndarray, lrs) -> None:
        """One epoch over images (N, D) float32, labels (N,); lrs yields the lr of each update."""
        order = self.batch_rng.permutation(len(images))
        for start, lr in zip(range(0, len(images), self.batch_size), lrs):
            index = order[start:start + self.batch_size]
            n = len(index)
            x, h, p, dh, mask, row_max = (a[:n] for a in (self.x, self.h, self.p, self.dh, self.mask, self.row_max))
            np.take(images, index, axis=0, out=x)
            np.matmul(x, self.W1, out=h)
            h += self.b1
            np.maximum(h, 0, out=h)
            np.matmul(h, self.W2, out=p)
            p += self.b2
            np.max(p, axis=1, keepdims=True, out=row_max)
            p -= row_max
            np.exp(p, out=p)
            np.sum(p, axis=1, keepdims=True, out=row_max)
            p /= row_max
            p[self.rows[:n], labels[index]] -= 1.0
            p *= np.float32(lr / n)  # lr * dL/dz2
            np.matmul(h.T, p, out=self.dW2)
            np.sum(p, axis=0, out=self.db2)
            np.matmul(p, self.W2.T, out=dh)
            np.greater(h, 0, out=mask)
            dh *= mask
            np.matmul(x.T, dh, out=self.dW1)
            np.sum(dh, axis=0, out=self.db1)
            self.W1 -= self.dW1
            self.b1 -= self.db1
            self.W2 -= self.dW2
            self.b2 -= self.db2

    def accuracy(self, images: np.ndarray, labels: np.ndarray) -> float:
        h = np.maximum(images @ self.W1 + self.b1, 0)
        return float(np.mean((h @ self.W2 + self.b2).argmax(axis=1) == labels))
