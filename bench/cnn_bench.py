"""Speed of the reference CNN (`kata train --model cnn --solutions`) against the same CNN in PyTorch.

    pip install -e ".[bench]"                      torch 2.13.0 (CPU)
    python bench/cnn_bench.py                      2 epochs each, BLAS at 1 thread
    python bench/cnn_bench.py --epochs 4 --threads 2

Both train the same network (kata's default CNN: conv 3x3x16 pad 1, pool 2, ReLU; conv 3x3x32
pad 1, pool 2, ReLU; dense to 128, ReLU; dense to 10; or --filters and --hidden, e.g. --filters
8,16 --hidden 0 for the first, smaller default), from the same initial weights, with the same optimiser (Adam, the
kata's CNN defaults: lr decaying linearly, betas 0.9 and 0.999), batch size, batch order and
number of updates, in float32. They take turns epoch by epoch in one process, so whatever else
the machine is doing falls on both alike. Per epoch: wall and CPU seconds of the updates alone
(no evaluation). The NumPy side runs the kata's own Parts (the reference's conv2d, maxpool,
relu, dense, softmax, cross-entropy and adam_step), as kata train does.

Then: the float32 GEMM peak of this machine at the same thread count (a 1024^3 matmul, NumPy's
and torch's BLAS each), the fraction of it that each CNN reaches (the FLOPs of its matrix
products per second of training), and how the NumPy epoch splits into its matrix products
(timed alone, same shapes) and everything else (im2col copies, col2im, pooling, elementwise).
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import time
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from checker import cnn  # noqa: E402
from checker import training  # noqa: E402
from checker.data import load_dataset  # noqa: E402


def gemm_peak(matmul, make, size=1024, repeats=5) -> float:
    """GFLOP/s of the best of `repeats` size^3 float32 matrix products."""
    a, b = make(size), make(size)
    matmul(a, b)
    best = min(timed(lambda: matmul(a, b)) for _ in range(repeats))
    return 2 * size ** 3 / best / 1e9


def timed(work) -> float:
    """CPU seconds of work(): on a shared machine, wall time counts the other processes too (with
    BLAS at one thread, the process's CPU time is the thread's)."""
    started = time.process_time()
    work()
    return time.process_time() - started


def conv_layers(filters, kernel, side=28):
    """[(C, F, H_out, W_out)] of each convolution layer ("same" padding, pool 2 after each)."""
    layers, channels = [], 1
    for f in filters:
        layers.append((channels, f, side, side))
        channels, side = f, side // 2
    return layers, channels * side * side


def dense_sizes(flat, hidden):
    return [flat, *([hidden] if hidden else []), 10]


def flops_per_image(filters, kernel, hidden=0) -> float:
    """FLOPs of the matrix products of one training image: forward, and backward's dW and dx (no dx
    for the first layer, which PyTorch skips; the kata's conv2d_backward computes it anyway)."""
    layers, flat = conv_layers(filters, kernel)
    sizes = dense_sizes(flat, hidden)
    forward = ([2 * h * w * f * c * kernel * kernel for c, f, h, w in layers]
               + [2 * a * b for a, b in zip(sizes, sizes[1:])])
    return sum(forward) + sum(2 * x for x in forward[1:]) + forward[0]


def gemm_shapes(filters, kernel, batch, hidden=0):
    """(M, K, N) of every matrix product of one update of the reference (as solutions/conv.py runs them)."""
    layers, flat = conv_layers(filters, kernel)
    shapes = []
    for c, f, h, w in layers:
        ckk, positions = c * kernel * kernel, batch * h * w
        shapes += [(f, ckk, positions), (f, positions, ckk), (ckk, f, positions)]  # out, dw, dcols
    sizes = dense_sizes(flat, hidden)
    for a, b in zip(sizes, sizes[1:]):
        shapes += [(batch, a, b), (a, batch, b), (batch, b, a)]  # dense: out, dW, dx
    return shapes


def torch_model(params, filters, kernel):
    import torch
    from torch import nn

    layers = []
    for i, f in enumerate(filters, start=1):
        conv = nn.Conv2d(params[f"W{i}"].shape[1], f, kernel, padding=kernel // 2)
        conv.weight.data = torch.tensor(params[f"W{i}"])
        conv.bias.data = torch.tensor(params[f"b{i}"])
        layers += [conv, nn.MaxPool2d(2), nn.ReLU()]  # pool, then ReLU, as checker/cnn.py
    layers.append(nn.Flatten())
    layer = len(filters) + 1
    while f"W{layer}" in params:
        dense = nn.Linear(*params[f"W{layer}"].shape)
        dense.weight.data = torch.tensor(params[f"W{layer}"].T.copy())
        dense.bias.data = torch.tensor(params[f"b{layer}"])
        layers.append(dense)
        if f"W{layer + 1}" in params:
            layers.append(nn.ReLU())
        layer += 1
    return nn.Sequential(*layers)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--filters", default=",".join(map(str, training.TrainConfig.filters)))
    parser.add_argument("--hidden", type=int, default=cnn.CNN_DEFAULTS["cnn_hidden"],
                        help="units of the dense ReLU layer before the output (0: none)")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=cnn.CNN_LR["adam"])
    args = parser.parse_args(argv)
    import torch

    torch.set_num_threads(args.threads)
    filters = tuple(int(f) for f in args.filters.split(","))
    config = training.TrainConfig(model="cnn", filters=filters, cnn_hidden=args.hidden, epochs=args.epochs,
                                  batch_size=args.batch_size,
                                  optimizer="adam", lr=args.lr, lr_schedule="linear", evals_per_epoch=1)
    data = load_dataset()
    images, labels = data.train.images, data.train.labels
    parts = training.load_parts("solutions", config)
    targets = training.one_hot_targets("solutions", labels)
    params = training.initial_params(parts, config, images.shape[1])
    model = torch_model(params, filters, config.kernel)
    step = parts.optimizer(params)
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr, betas=(0.9, 0.999), eps=1e-8)
    per_epoch = math.ceil(len(labels) / args.batch_size)
    total = per_epoch * args.epochs
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda t: 1 - t / total)
    loss_fn = torch.nn.CrossEntropyLoss()
    timings = {"numpy": [], "torch": []}
    _, batch_rng, _ = training.random_streams(0)
    print(f"CNN {cnn.describe(params)}, Adam lr {args.lr} linear, batch {args.batch_size}, {args.epochs} epochs "
          f"of {per_epoch} updates, float32, BLAS threads {args.threads}", flush=True)
    with threadpool_limits(args.threads):
        for epoch in range(args.epochs):
            order = list(parts.batches(len(labels), args.batch_size, batch_rng))
            first = epoch * per_epoch

            def numpy_epoch():
                for t, index in enumerate(order):
                    probs, cache = parts.forward(params, images[index])
                    step(params, parts.backward(params, cache, targets[index]), args.lr * (1 - (first + t) / total))

            def torch_epoch():
                for index in order:
                    optimizer.zero_grad()
                    loss_fn(model(torch.from_numpy(images[index]).view(-1, 1, 28, 28)),
                            torch.from_numpy(labels[index]).long()).backward()
                    optimizer.step()
                    schedule.step()

            for name, work in (("numpy", numpy_epoch), ("torch", torch_epoch)):
                wall = time.perf_counter()
                cpu = timed(work)
                timings[name].append((time.perf_counter() - wall, cpu))
                print(f"  epoch {epoch + 1} {name:>5}: wall {timings[name][-1][0]:6.1f} s  cpu {cpu:6.1f} s",
                      flush=True)
        peak_numpy = gemm_peak(np.matmul, lambda n: np.random.default_rng(0).random((n, n), dtype=np.float32))
        peak_torch = gemm_peak(torch.matmul, lambda n: torch.rand(n, n))
        shapes = gemm_shapes(filters, config.kernel, args.batch_size, args.hidden)
        matrices = [(np.ones((m, k), np.float32), np.ones((k, n), np.float32)) for m, k, n in shapes]
        gemm_seconds = min(timed(lambda: [a @ b for a, b in matrices]) for _ in range(20)) * per_epoch

    flops = flops_per_image(filters, config.kernel, args.hidden) * len(labels)
    medians = {name: (statistics.median(w for w, _ in rows), statistics.median(c for _, c in rows))
               for name, rows in timings.items()}
    print(f"\nmedian seconds per epoch: NumPy reference {medians['numpy'][0]:.1f} wall / {medians['numpy'][1]:.1f} CPU, "
          f"PyTorch {medians['torch'][0]:.1f} wall / {medians['torch'][1]:.1f} CPU")
    print(f"ratio NumPy / PyTorch: {medians['numpy'][0] / medians['torch'][0]:.2f} (wall), "
          f"{medians['numpy'][1] / medians['torch'][1]:.2f} (CPU)")
    print(f"float32 GEMM peak at {args.threads} thread(s), per CPU second: NumPy {peak_numpy:.0f} GFLOP/s, "
          f"torch {peak_torch:.0f} GFLOP/s")
    rate = {name: flops / medians[name][1] / 1e9 for name in medians}  # per CPU second
    print(f"matrix-product FLOPs per epoch: {flops / 1e9:.1f} GFLOP -> NumPy reaches {rate['numpy']:.1f} GFLOP/s "
          f"({rate['numpy'] / peak_numpy:.1%} of peak), PyTorch {rate['torch']:.1f} GFLOP/s "
          f"({rate['torch'] / peak_torch:.1%}), per CPU second")
    print(f"NumPy epoch: its matrix products alone take {gemm_seconds:.1f} CPU s "
          f"({gemm_seconds / medians['numpy'][1]:.0%} of the epoch); the rest is im2col/col2im copies, pooling and "
          "elementwise work, bound by memory traffic and per-call overhead at these small sizes.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
