"""Choose the CNN's defaults on validation, then check them over 5 seeds: the reference CNN in the
kata's own loop (`kata train --model cnn --solutions`).

    python bench/cnn_recipe.py                                  kata's CNN defaults, seed 0, validation only
    python bench/cnn_recipe.py --filters 8,16 --hidden 0 --epochs 10    one alternative (a sweep step)
    python bench/cnn_recipe.py --seeds 0 1 2 3 4 --test         the 5-seed check of the defaults (docs/results.md)
    python bench/cnn_recipe.py --summary-of runs.jsonl          the same summary of seeds run apart (--json)

Every option defaults to what `kata train --model cnn` uses (checker/cnn.py CNN_DEFAULTS, CNN_LR,
TrainConfig.filters). BLAS is pinned to --threads (default 1, as kata train) and CPU time is
reported next to wall time, so figures taken on a shared machine stay comparable: with one BLAS
thread the run uses one core, and its CPU seconds are the wall seconds it takes on an idle 2-core
machine. Validation accuracy after every epoch; the test accuracy only with --test (once the recipe
is chosen): then also after every epoch, to give the time to 99.0% test accuracy, with the CPU time
of those test passes left out of the training clock.
"""

import argparse
import json
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from checker.cnn import CNN_DEFAULTS, CNN_LR  # noqa: E402
from checker.data import load_dataset  # noqa: E402
from checker.training import Silent, TrainConfig, evaluate, load_parts, one_hot_targets, train  # noqa: E402

TARGET = 0.99  # the accuracy whose first time is reported


class Clock(Silent):
    """Records the CPU time of training at the end of every epoch, and with test_set the test
    accuracy there (its own CPU time is not counted)."""

    def __init__(self, parts=None, test_set=None):
        self.parts, self.test_set = parts, test_set
        self.cpu_start = time.process_time()
        self.cpu_uncounted = 0.0
        self.cpu_at_epoch, self.test_at_epoch = [], []

    def evaluated(self, iteration, params, accuracy):
        if self.test_set is not None:
            started = time.process_time()
            self.test_at_epoch.append(evaluate(self.parts, params, *self.test_set)[1])
            self.cpu_uncounted += time.process_time() - started

    def epoch_end(self, row, epochs):
        self.cpu_at_epoch.append(time.process_time() - self.cpu_start - self.cpu_uncounted)
        test = f"  test {self.test_at_epoch[-1]:.2%}" if self.test_at_epoch else ""
        print(f"  epoch {row.epoch:>2}: val {row.validation_accuracy:.2%}{test}  train loss {row.train_loss:.4f}  "
              f"wall {row.seconds:.1f} s  cpu so far {self.cpu_at_epoch[-1]:.1f} s", flush=True)


def first_reaching(accuracies, cpu_seconds):
    """(epoch, CPU s) of the first epoch whose accuracy is >= TARGET, or None."""
    return next(((e, s) for e, (a, s) in enumerate(zip(accuracies, cpu_seconds), 1) if a >= TARGET), None)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=CNN_DEFAULTS["epochs"])
    parser.add_argument("--optimizer", default=CNN_DEFAULTS["optimizer"])
    parser.add_argument("--lr", type=float, default=None, help="default: CNN_LR of the optimizer")
    parser.add_argument("--lr-schedule", default=CNN_DEFAULTS["lr_schedule"])
    parser.add_argument("--batch-size", type=int, default=TrainConfig.batch_size)
    parser.add_argument("--filters", default=",".join(map(str, TrainConfig.filters)))
    parser.add_argument("--hidden", type=int, default=CNN_DEFAULTS["cnn_hidden"],
                        help="units of the dense ReLU layer before the output (0: none)")
    parser.add_argument("--l2", type=float, default=0.0)
    parser.add_argument("--dropout", type=float, default=0.0)
    parser.add_argument("--shift", type=int, default=CNN_DEFAULTS.get("shift", 0),
                        help="training images moved by up to this many pixels each way")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--test", action="store_true", help="also report test accuracy (for the chosen recipe)")
    parser.add_argument("--json", type=Path, help="append one JSON line per seed here")
    parser.add_argument("--summary-of", type=Path, metavar="JSONL",
                        help="train nothing: summarize the lines that --json wrote (e.g. one process per seed)")
    args = parser.parse_args()
    if args.summary_of:
        summarize([json.loads(line) for line in args.summary_of.read_text().splitlines() if line.strip()])
        return
    if args.lr is None:
        args.lr = CNN_LR[args.optimizer]
    dataset = load_dataset()
    base = TrainConfig(model="cnn", filters=tuple(int(f) for f in args.filters.split(",")), epochs=args.epochs,
                       optimizer=args.optimizer, lr=args.lr, lr_schedule=args.lr_schedule,
                       batch_size=args.batch_size, cnn_hidden=args.hidden, l2=args.l2, dropout=args.dropout, shift=args.shift,
                       evals_per_epoch=1)
    print(f"CNN {base.filters}, hidden {args.hidden}, {args.optimizer} lr {args.lr} ({args.lr_schedule}), "
          f"batch {args.batch_size}, {args.epochs} epochs, l2 {args.l2}, dropout {args.dropout}, shift {args.shift}, "
          f"BLAS threads {args.threads}", flush=True)
    rows = []
    for seed in args.seeds:
        config = replace(base, seed=seed)
        parts = load_parts("solutions", config)
        test_set = (dataset.test.images, one_hot_targets("solutions", dataset.test.labels)) if args.test else None
        clock = Clock(parts, test_set)
        with threadpool_limits(args.threads):
            result = train(parts, dataset, config, clock)
        val = [row.validation_accuracy for row in result.history.epochs]
        test = clock.test_at_epoch[-1] if args.test else None
        line = {"seed": seed, **{k: v for k, v in vars(args).items() if k not in ("seeds", "json")},
                "val": val, "test_by_epoch": clock.test_at_epoch, "test": test, "cpu_s": clock.cpu_at_epoch,
                "wall_s": result.train_seconds}
        rows.append(line)
        print(f"seed {seed}: final val {val[-1]:.2%}" + (f", test {test:.2%}" if test is not None else "")
              + f", training cpu {clock.cpu_at_epoch[-1]:.0f} s, wall {result.train_seconds:.0f} s", flush=True)
        if args.json:
            with args.json.open("a") as f:
                f.write(json.dumps(line, default=float) + "\n")
    summarize(rows)


def summarize(rows):
    def spread(values, unit="%", scale=100):
        values = [v * scale for v in values]
        sd = statistics.stdev(values) if len(values) > 1 else 0.0
        return f"{statistics.mean(values):.2f} +- {sd:.2f}{unit} (" + ", ".join(f"{v:.2f}" for v in values) + ")"

    print(f"\n{len(rows)} seed(s) {[r['seed'] for r in rows]}:")
    print(f"  final validation accuracy: {spread([r['val'][-1] for r in rows])}")
    if rows[0]["test"] is not None:
        print(f"  final test accuracy:       {spread([r['test'] for r in rows])}, lowest {min(r['test'] for r in rows):.2%}")
    print(f"  training CPU s (1 BLAS thread): {spread([r['cpu_s'][-1] for r in rows], ' s', 1)}")
    for name, key in (("validation", "val"), ("test", "test_by_epoch")):
        reached = [first_reaching(r[key], r["cpu_s"]) for r in rows if r[key]]
        if reached:
            print(f"  first epoch at >= {TARGET:.1%} {name} (epoch, CPU s): "
                  + ", ".join("never" if x is None else f"({x[0]}, {x[1]:.0f})" for x in reached))


if __name__ == "__main__":
    main()
