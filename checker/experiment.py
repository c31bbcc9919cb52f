"""What every controlled experiment shares: same data, batches and seeds; K seeds; mean +- sd;
small validation sweeps; a figure, a metrics CSV, the config and a table.

The experiments themselves are commands (checker/commands/experiments/). An experiment module says which arms it trains (a TrainConfig each, differing in one factor) and
how to draw them; `Bench` trains them with checker.training's one loop. Within a seed, every arm starts
from the same weights and sees the same batches: both come from the seed alone (train.random_streams),
whatever the arm changes. Sweeps pick a setting on the validation set; the test set is measured once
per final run, at its end, never during a sweep.
"""

from __future__ import annotations

import argparse
import csv
import math
import sys
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from . import estimate, options, runs, training
from .data import Dataset, Split
from .errors import KataError
from .learner_code import deep_passes, require_passing_stages, run_learner_code

METRICS_FILE = runs.METRICS_FILE  # an experiment's own metrics: every validation pass of every run
CONFIG_FILE = runs.CONFIG_FILE
TABLE_CSV = "table.csv"
TABLE_TEXT = "table.txt"


@dataclass
class RunRecord:
    """One configuration trained with one seed."""

    config: training.TrainConfig
    history: training.History
    params: dict
    cpu_seconds: float
    diverged: bool
    # (iteration, loss, accuracy) on the training set itself, at each validation pass, without
    # dropout: only when the Bench was asked for it (measure_train=True)
    train_evals: list[tuple[int, float, float]] = field(default_factory=list)
    test_accuracy: float | None = None  # measured by Bench.arms only, once, at the end
    # The Bench's threshold and the first iteration whose weights reach it on validation, found
    # between the validation passes (ThresholdWatcher); None: never reached, or no threshold
    threshold: float | None = None
    first_reach: int | None = None

    @property
    def validation_accuracy(self) -> float:
        """At the end of the run; 0 for a run that diverged, so that a sweep never picks it."""
        return self.history.evals[-1][2] if self.history.evals and not self.diverged else 0.0

    def iterations_to_reach(self, accuracy: float) -> int | None:
        """The first iteration at or above `accuracy` on validation; None if never. For the Bench's
        threshold, to the iteration (ThresholdWatcher); for another accuracy, the first validation
        pass at or above it."""
        if self.threshold is not None and accuracy == self.threshold:
            return self.first_reach
        return next((at for at, _, value in self.history.evals if value >= accuracy), None)


class TrainSetWatcher(training.Silent):
    """Measures loss and accuracy on the training images at every validation pass (no dropout)."""

    def __init__(self, parts, images, targets):
        self.parts, self.images, self.targets, self.evals = parts, images, targets, []

    def evaluated(self, iteration, params, accuracy):
        loss, accuracy, _ = training.evaluate(self.parts, params, self.images, self.targets)
        self.evals.append((iteration, loss, accuracy))


class ThresholdWatcher(training.Silent):
    """The first iteration whose weights reach `threshold` validation accuracy, to the iteration, not
    to the next validation pass: it keeps a copy of the weights after every update since the last
    pass, and when a pass first reaches the threshold, it finds the first copy that does by
    bisection between that pass and the one before (a few more validation passes, once per run).
    The weights of training are never changed."""

    def __init__(self, parts, images, targets, threshold: float):
        self.parts, self.images, self.targets, self.threshold = parts, images, targets, threshold
        self.kept: list[tuple[int, dict]] = []  # (iteration, weights after it) since the last pass
        self.first_reach: int | None = None
        self.done = False

    def stepped(self, iteration, params):
        if not self.done:
            self.kept.append((iteration, {key: np.array(value, copy=True) for key, value in params.items()}))

    def evaluated(self, iteration, params, accuracy):
        if self.done:
            return
        if accuracy < self.threshold:
            self.kept.clear()
            return
        self.done = True
        kept = [(at, weights) for at, weights in self.kept if at <= iteration]
        low, high = -1, len(kept) - 1  # kept[low] is below (the pass before), kept[high] reaches it
        while high - low > 1:
            middle = (low + high) // 2
            _, reached, _ = training.evaluate(self.parts, kept[middle][1], self.images, self.targets)
            low, high = (low, middle) if reached >= self.threshold else (middle, high)
        self.first_reach = kept[high][0] if kept else iteration
        self.kept.clear()


class Watchers(training.Silent):
    """Several progress reporters as one."""

    def __init__(self, *watchers):
        self.watchers = watchers

    def stepped(self, iteration, params):
        for watcher in self.watchers:
            watcher.stepped(iteration, params)

    def evaluated(self, iteration, params, accuracy):
        for watcher in self.watchers:
            watcher.evaluated(iteration, params, accuracy)


class Bench:
    """Trains configurations of one implementation on one dataset, each config once (memoised:
    a sweep's run is reused by the arm with the same settings), and reports each run in a line."""

    def __init__(self, impl: str, dataset: Dataset, *, measure_train: bool = False, out=None, deep: bool | None = None,
                 threshold: float | None = None):
        self.impl, self.dataset, self.measure_train, self.threshold = impl, dataset, measure_train, threshold
        self.out = out or sys.stdout
        self.runs: dict[training.TrainConfig, RunRecord] = {}
        self.cpu_seconds = 0.0
        self._targets: dict[str, np.ndarray] = {}
        self._deep = deep  # whether the learner's stage 11 passes, once asked (learner_code.deep_passes)

    def parts(self, config: training.TrainConfig) -> training.Parts:
        """The Parts of config, with the learner's deep_forward once stage 11 passes (asked once)."""
        if self._deep is None:
            self._deep = deep_passes(config, self.impl)
        return training.load_parts(self.impl, config, deep=self._deep)

    def targets(self, split: str) -> np.ndarray:
        if split not in self._targets:
            labels = getattr(self.dataset, split).labels
            self._targets[split] = training.one_hot_targets(self.impl, labels)
        return self._targets[split]

    def train(self, config: training.TrainConfig, label: str) -> RunRecord:
        if config in self.runs:
            run = self.runs[config]
            self.out.write(f"  {label}, seed {config.seed}: {self.outcome(run)}  (the same run as above)\n")
            return run
        estimate.check_memory(config, self.dataset)
        parts = self.parts(config)
        train_set = (TrainSetWatcher(parts, self.dataset.train.images, self.targets("train"))
                     if self.measure_train else None)
        reach = (ThresholdWatcher(parts, self.dataset.validation.images, self.targets("validation"), self.threshold)
                 if self.threshold is not None else None)
        watcher = Watchers(*(w for w in (train_set, reach) if w is not None))
        started = time.process_time()
        result = run_learner_code(self.impl, training.train, parts, self.dataset, config, watcher)
        if result.stopped == "interrupted":
            raise KeyboardInterrupt
        cpu = time.process_time() - started
        self.cpu_seconds += cpu
        run = RunRecord(config, result.history, result.params, cpu, result.stopped == "diverged",
                        train_set.evals if train_set else [], threshold=self.threshold,
                        first_reach=reach.first_reach if reach and result.stopped != "diverged" else None)
        self.runs[config] = run
        self.out.write(f"  {label}, seed {config.seed}: {self.outcome(run)}  ({cpu:.1f} s CPU)\n")
        self.out.flush()
        return run

    @staticmethod
    def outcome(run: RunRecord) -> str:
        return ("diverged: its loss stopped being finite" if run.diverged
                else f"validation accuracy {run.validation_accuracy:.2%}")

    def sweep(self, name: str, values: list, config_of) -> tuple[object, list[tuple[object, RunRecord]]]:
        """Train config_of(value) for every value (one seed) and pick the best final validation
        accuracy (the first of equals). Returns (best value, [(value, run), ...])."""
        trained = [(value, self.train(config_of(value), f"{name} {value:g}")) for value in values]
        best_value, best_run = max(trained, key=lambda pair: pair[1].validation_accuracy)
        edge = "" if len(values) < 3 or best_value not in (values[0], values[-1]) else (
            "; it is at the edge of the grid, so a wider sweep might find better")
        self.out.write(f"  -> {name} {best_value:g}: the best validation accuracy, "
                       f"{best_run.validation_accuracy:.2%}{edge}\n\n")
        return best_value, trained

    def sweep_over_seeds(self, name: str, values: list, config_of, seeds: list[int], baseline=None
                         ) -> tuple[object, list[tuple[object, list[RunRecord]]]]:
        """Train config_of(value) with every seed for every value, and pick the best mean final
        validation accuracy (the first of equals) among the values other than baseline (a value
        shown for comparison, e.g. lambda 0: no regularisation). Returns (best value, [(value, [run
        per seed]), ...]). A best value at the edge of the grid is said to be."""
        trained = [(value, [self.train(replace(config_of(value), seed=seed), f"{name} {value:g}") for seed in seeds])
                   for value in values]
        candidates = [(value, runs) for value, runs in trained if value != baseline]
        best_value, best_runs = max(candidates, key=lambda pair: mean_validation(pair[1]))
        summary = mean_sd([run.validation_accuracy for run in best_runs])
        spread = f" +- {100 * summary[1]:.2f}" if len(seeds) > 1 else ""
        self.out.write(f"  -> {name} {best_value:g}: the best mean validation accuracy, {summary[0]:.2%}{spread}"
                       f"{edge_note(best_value, [v for v, _ in candidates], name)}\n\n")
        return best_value, trained

    def arms(self, arms: dict[str, training.TrainConfig], seeds: list[int]) -> dict[str, list[RunRecord]]:
        """Every arm with every seed; then each run's test accuracy, measured once at its end."""
        for config in arms.values():  # before the first arm trains: an arm that cannot fit stops nothing half-way
            estimate.check_memory(config, self.dataset)
        results = {name: [self.train(replace(config, seed=seed), name) for seed in seeds]
                   for name, config in arms.items()}
        for records in results.values():
            for run in records:
                if not run.diverged and run.test_accuracy is None:
                    parts = self.parts(run.config)
                    run.test_accuracy = training.evaluate(parts, run.params, self.dataset.test.images,
                                                          self.targets("test"))[1]
        return results


def mean_validation(runs: list[RunRecord]) -> float:
    """The mean final validation accuracy of runs (a diverged run counts 0)."""
    return float(np.mean([run.validation_accuracy for run in runs]))


def edge_note(best, values: list, name: str) -> str:
    """'' unless best is the first or last of three or more values: then that a wider grid might do better."""
    if len(values) < 3 or best not in (values[0], values[-1]):
        return ""
    side = "smallest" if best == values[0] else "largest"
    return f"; it is the {side} {name} of the grid, so a wider grid might find better"


# --- the numbers: mean +- sd over seeds ----------------------------------------------------------

def mean_sd(values) -> tuple[float, float] | None:
    """(mean, sample standard deviation over seeds, ddof=1: the seeds are a sample of the seeds one
    could have drawn; 0 for a single value); None when a value is missing or not finite."""
    if not len(values) or any(v is None or not math.isfinite(v) for v in values):
        return None
    return float(np.mean(values)), float(np.std(values, ddof=1)) if len(values) > 1 else 0.0


def spread_note(seeds: int) -> str:
    """How a table's +- reads: 'mean +- sd over 3 seeds' (sample sd), or 'one seed: no sd'."""
    return f"mean +- sd over {seeds} seeds" if seeds > 1 else "one seed: no sd"


REACH_NOTE = ("iterations to the threshold: the first iteration whose weights reach it on validation, found "
              "between the validation passes")


def plural(count: int, noun: str) -> str:
    """'1 epoch', '2 epochs'."""
    return f"{count} {noun}{'' if count == 1 else 's'}"


def format_cell(values: list[float | None], percent: bool) -> str:
    """mean, and +- the standard deviation over seeds when there are several; '-' if unmeasured."""
    summary = mean_sd(values)
    if summary is None:
        return "-"
    scale, unit, digits = (100, "%", 2) if percent else (1, "", 3)
    mean = f"{scale * summary[0]:.{digits}f}{unit}"
    return mean if len(values) == 1 else f"{mean} +- {scale * summary[1]:.{digits}f}"


def format_table(header: list[str], body: list[list[str]]) -> list[str]:
    """Aligned text lines: the first column left-aligned, the others right-aligned."""
    widths = [max(len(line[c]) for line in [header, *body]) for c in range(len(header))]
    fmt = lambda line: "  ".join(cell.ljust(w) if c == 0 else cell.rjust(w)  # noqa: E731
                                 for c, (cell, w) in enumerate(zip(line, widths)))
    return [fmt(header), *(fmt(line) for line in body)]


# --- the run folder ------------------------------------------------------------------------------

def write_table_csv(path: Path, header: list[str], rows: list[tuple[str, dict[str, list]]],
                    seeds: list[int]) -> None:
    """One line per measure: every arm's value for every seed, then its mean and sd."""
    arms = header
    with path.open("w", newline="") as f:
        out = csv.writer(f)
        out.writerow(["measure", *(f"{arm} seed {s}" for arm in arms for s in seeds),
                      *(f"{arm} {stat}" for arm in arms for stat in ("mean", "sd"))])
        for name, values in rows:
            cells = ["" if v is None else f"{v:.6g}" for arm in arms for v in values[arm]]
            stats = []
            for arm in arms:
                summary = mean_sd(values[arm])
                stats += ["", ""] if summary is None else [f"{summary[0]:.6g}", f"{summary[1]:.6g}"]
            out.writerow([name, *cells, *stats])


def write_metrics_csv(path: Path, runs: dict[str, list[RunRecord]]) -> None:
    """Every validation pass of every run: arm, seed, iteration, the mean training loss since
    the previous pass (as trained: with dropout, without the L2 term), validation loss and
    accuracy, and, when measured, loss and accuracy on the training set without dropout."""
    with path.open("w", newline="") as f:
        out = csv.writer(f)
        out.writerow(["arm", "seed", "iteration", "train_batch_loss", "validation_loss",
                      "validation_accuracy", "train_set_loss", "train_set_accuracy"])
        for arm, records in runs.items():
            for run in records:
                train_at = {at: (loss, acc) for at, loss, acc in run.train_evals}
                previous = 0
                for at, loss, accuracy in run.history.evals:
                    batch_loss = float(np.mean(run.history.batch_loss[previous:at])) if at > previous else math.nan
                    previous = at
                    train_loss, train_accuracy = train_at.get(at, ("", ""))
                    out.writerow([arm, run.config.seed, at, f"{batch_loss:.6g}", f"{loss:.6g}", f"{accuracy:.6g}",
                                  train_loss if train_loss == "" else f"{train_loss:.6g}",
                                  train_accuracy if train_accuracy == "" else f"{train_accuracy:.6g}"])


def new_run_dir(args: argparse.Namespace, name: str) -> Path:
    """runs/<time>-experiment-<name>/ (or under --out), made before training so a bad --out fails now."""
    return runs.new_run_dir(args.out or runs.runs_folder(), f"experiment-{name}")


def config_dict(config: training.TrainConfig, varied: tuple[str, ...] = (), **more) -> dict:
    """What an experiment's config.json records: the options that apply (TrainConfig.applying)
    but those its arms vary (recorded in `more`, in the experiment's own terms), and more."""
    return {**{k: v for k, v in config.applying().items() if k not in varied}, **more}


def subset(dataset: Dataset, train_size: int | None = None, validation_size: int | None = None) -> Dataset:
    """The dataset with only the first train_size training and validation_size validation images
    (None: all of them). The test set stays whole."""
    def first(split: Split, size: int | None) -> Split:
        return split if size is None else Split(images=split.images[:size], labels=split.labels[:size])

    return replace(dataset, train=first(dataset.train, train_size),
                   validation=first(dataset.validation, validation_size))


def implementation(args: argparse.Namespace, config: training.TrainConfig, command: str) -> str:
    """"solutions" with --solutions; else "exercises", once the stages the config uses pass."""
    if args.solutions:
        return "solutions"
    require_passing_stages(config, command=command)
    return "exercises"


def run_or_clean_up(run_dir: Path, experiment, *args):
    """experiment(*args); on Ctrl-C or a crash the (still empty) run folder is removed."""
    try:
        return experiment(*args)
    except KeyboardInterrupt:
        run_dir.rmdir()
        raise KataError("the experiment was stopped by Ctrl-C before every run had trained, so "
                        "there is nothing to compare. Run it again; fewer --epochs or --seeds is quicker.") from None
    except BaseException:
        run_dir.rmdir()
        raise


def add_seed_arguments(parser: argparse.ArgumentParser, seeds: int) -> None:
    parser.add_argument("--seeds", type=options.positive_int, default=seeds, metavar="K",
                        help=f"repeat every arm with K seeds (seed, seed+1, ...): mean +- sd (default {seeds})")


def seeds_of(args: argparse.Namespace) -> list[int]:
    return list(range(args.seed, args.seed + args.seeds))
