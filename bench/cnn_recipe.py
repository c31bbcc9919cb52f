"""Choose the CNN's defaults on validation: train the reference CNN with the kata's own loop.

    python bench/cnn_recipe.py --epochs 12 --optimizer adam --lr 0.002 --seeds 0 1 2 3 4 [--test]

BLAS is pinned to --threads (default 1) and CPU time is reported next to wall time, so figures
taken on a shared machine stay comparable. Validation accuracy after every epoch; the test
accuracy only with --test (once the recipe is chosen).
"""

import argparse
import json
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from checker.data import load_dataset  # noqa: E402
from checker.training import Silent, TrainConfig, evaluate, load_parts, one_hot_targets, train  # noqa: E402


class Clock(Silent):
    """Records the CPU time at the end of every epoch."""

    def __init__(self):
        self.cpu_start = time.process_time()
        self.cpu_at_epoch = []

    def epoch_end(self, row, epochs):
        self.cpu_at_epoch.append(time.process_time() - self.cpu_start)
        print(f"  epoch {row.epoch:>2}: val {row.validation_accuracy:.2%}  train loss {row.train_loss:.4f}  "
              f"wall {row.seconds:.1f} s  cpu so far {self.cpu_at_epoch[-1]:.1f} s", flush=True)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--optimizer", default="adam")
    parser.add_argument("--lr", type=float, default=0.002)
    parser.add_argument("--lr-schedule", default="linear")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--filters", default="8,16")
    parser.add_argument("--l2", type=float, default=0.0)
    parser.add_argument("--dropout", type=float, default=0.0)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--test", action="store_true", help="also report test accuracy (for the chosen recipe)")
    parser.add_argument("--json", type=Path, help="append one JSON line per seed here")
    args = parser.parse_args()
    dataset = load_dataset()
    base = TrainConfig(model="cnn", filters=tuple(int(f) for f in args.filters.split(",")), epochs=args.epochs,
                       optimizer=args.optimizer, lr=args.lr, lr_schedule=args.lr_schedule,
                       batch_size=args.batch_size, l2=args.l2, dropout=args.dropout, evals_per_epoch=1)
    print(f"CNN {base.filters}, {args.optimizer} lr {args.lr} ({args.lr_schedule}), batch {args.batch_size}, "
          f"{args.epochs} epochs, l2 {args.l2}, dropout {args.dropout}, BLAS threads {args.threads}", flush=True)
    for seed in args.seeds:
        config = replace(base, seed=seed)
        parts = load_parts("solutions", config)
        clock = Clock()
        with threadpool_limits(args.threads):
            result = train(parts, dataset, config, clock)
            test = None
            if args.test:
                _, test, _ = evaluate(parts, result.params, dataset.test.images,
                                      one_hot_targets("solutions", dataset.test.labels))
        val = [row.validation_accuracy for row in result.history.epochs]
        line = {"seed": seed, **{k: v for k, v in vars(args).items() if k not in ("seeds", "json")},
                "val": val, "test": test, "cpu_s": clock.cpu_at_epoch, "wall_s": result.train_seconds}
        print(f"seed {seed}: final val {val[-1]:.2%}" + (f", test {test:.2%}" if test is not None else "")
              + f", training cpu {clock.cpu_at_epoch[-1]:.0f} s, wall {result.train_seconds:.0f} s", flush=True)
        if args.json:
            with args.json.open("a") as f:
                f.write(json.dumps(line, default=float) + "\n")


if __name__ == "__main__":
    main()
