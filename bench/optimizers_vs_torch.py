"""Check the reference momentum_step and adam_step against torch.optim, and print the frozen case.

    pip install -e ".[bench]"            torch 2.13.0 (CPU)
    python bench/optimizers_vs_torch.py

Runs six steps on three parameter arrays with gradients of very different scales, for several
settings, through solutions/optimizers.py and through torch.optim.SGD(momentum, dampening=0,
nesterov=False) / torch.optim.Adam (no weight decay, no amsgrad), in float64, and prints the largest
relative difference (it should be ~1e-16). Then prints the small 3-step case whose values
tests/test_optimizers.py keeps as worked examples, so that CI checks the match without torch.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from solutions.optimizers import adam_init, adam_step, momentum_init, momentum_step  # noqa: E402


def main() -> int:
    try:
        import torch
    except ImportError:
        print("torch is not installed: pip install -e '.[bench]'")
        return 1
    rng = np.random.default_rng(0)
    shapes = {"W1": (3, 4), "b1": (4,), "W2": (4, 2)}
    start = {k: rng.standard_normal(s) for k, s in shapes.items()}
    gradients = [{k: rng.standard_normal(s) * 10 ** rng.uniform(-3, 2) for k, s in shapes.items()} for _ in range(6)]

    def torch_run(make):
        tensors = {k: torch.tensor(v.copy(), requires_grad=True) for k, v in start.items()}
        optimizer = make(list(tensors.values()))
        for g in gradients:
            for k, t in tensors.items():
                t.grad = torch.tensor(g[k])
            optimizer.step()
        return {k: t.detach().numpy() for k, t in tensors.items()}

    def worst(ours, theirs):
        return max(float(np.max(np.abs(ours[k] - theirs[k]) / (np.abs(theirs[k]) + 1e-12))) for k in ours)

    for lr, momentum in [(0.1, 0.9), (0.05, 0.0), (0.3, 0.5)]:
        ours = {k: v.copy() for k, v in start.items()}
        velocity = momentum_init(ours)
        for g in gradients:
            momentum_step(ours, g, velocity, lr, momentum)
        theirs = torch_run(lambda ps: torch.optim.SGD(ps, lr=lr, momentum=momentum, dampening=0, nesterov=False))
        print(f"momentum lr={lr} momentum={momentum}: largest relative difference {worst(ours, theirs):.2g}")
    for lr, b1, b2, eps in [(1e-3, 0.9, 0.999, 1e-8), (0.1, 0.5, 0.9, 1e-3), (0.01, 0.0, 0.99, 1e-8)]:
        ours = {k: v.copy() for k, v in start.items()}
        state = adam_init(ours)
        for g in gradients:
            adam_step(ours, g, state, lr, b1, b2, eps)
        theirs = torch_run(lambda ps: torch.optim.Adam(ps, lr=lr, betas=(b1, b2), eps=eps, weight_decay=0, amsgrad=False))
        print(f"adam lr={lr} betas=({b1}, {b2}) eps={eps}: largest relative difference {worst(ours, theirs):.2g}")

    print("\nThe frozen case of tests/test_optimizers.py: p = [1, -2], lr 0.1, three gradients")
    p0, steps = [1.0, -2.0], [[0.5, -1.0], [-0.2, 3.0], [0.1, 0.4]]
    for name, make in [
        ("SGD momentum 0.9", lambda ps: torch.optim.SGD(ps, lr=0.1, momentum=0.9, dampening=0, nesterov=False)),
        ("Adam", lambda ps: torch.optim.Adam(ps, lr=0.1)),
    ]:
        t = torch.tensor(p0, dtype=torch.float64, requires_grad=True)
        optimizer = make([t])
        for g in steps:
            t.grad = torch.tensor(g, dtype=torch.float64)
            optimizer.step()
            print(f"  {name}: p = {t.detach().numpy().tolist()}")
        print(f"  {name}: state {({k: v.tolist() for k, v in optimizer.state[t].items()})}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
