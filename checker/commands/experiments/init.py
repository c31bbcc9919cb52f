"""`kata experiment init`: naive random initialisation against He initialisation.

Everything is the same in both arms (data, batch order, seed, learning rate, the training loop of
checker.training); only the initial weights differ: random_init (W ~ 0.01 N(0, 1)) or he_init
(W ~ N(0, 2 / fan_in)). With one hidden layer the naive start costs the first few hundred
iterations; with --depth 3 or more its signal shrinks at every layer and the loss stays at
log 10 = 2.30, a uniform guess, while He's falls at once.

Writes runs/<timestamp>-experiment-init/: init_experiment.png (loss and validation accuracy by
iteration, the first epoch in detail), experiment.json (the table and every measurement) and
experiment.csv (the table). It writes no summary.json: it is not a training run of the network.
"""

from __future__ import annotations

import argparse
import csv
import textwrap
import time
from dataclasses import dataclass, replace

from ... import training

from ... import options, runs
from ...epoch_bar import EpochBar
from ...learner_code import deep_passes, run_learner_code
from ...train_options import add_model_arguments, config_from_args
from ...project import display_path
from ...experiment import (config_dict, format_cell, format_table, implementation, new_run_dir, plural,
                           run_or_clean_up, spread_note)

ARMS = {"random": "random_init (scale 0.01)", "he": "he_init"}
EXPERIMENT_JSON = "experiment.json"
EXPERIMENT_CSV = "experiment.csv"
# A smaller, constant learning rate than kata train's: the naive start's plateau then lasts long
# enough to see on one hidden layer, and deep He networks train without diverging.
DEFAULTS = replace(training.TrainConfig(), hidden=256, epochs=3, lr=0.1, lr_schedule="constant",
                   evals_per_epoch=2, first_epoch_eval_every=50)
TABLE_ITERATIONS = (100, 500)  # "loss after N iterations" rows of the table


@dataclass
class ArmResult:
    """One initialisation trained with one seed."""

    init: str
    seed: int
    history: training.History
    test_accuracy: float | None  # None when the run diverged

    def validation_loss_at(self, iteration: int) -> float | None:
        return next((loss for at, loss, _ in self.history.evals if at == iteration), None)

    def validation_accuracy_after_epoch(self, epoch: int) -> float | None:
        rows = self.history.epochs
        return rows[epoch - 1].validation_accuracy if len(rows) >= epoch else None


def table_rows(results: dict[str, list[ArmResult]]) -> list[tuple[str, dict[str, list[float | None]]]]:
    """The table: (row name, {init: one value per seed}), from the results of every arm."""
    def column(measure):
        return {init: [measure(r) for r in runs] for init, runs in results.items()}

    rows = [(f"validation loss after {n} iterations", column(lambda r, n=n: r.validation_loss_at(n)))
            for n in TABLE_ITERATIONS]
    rows.append(("validation accuracy after epoch 1", column(lambda r: r.validation_accuracy_after_epoch(1))))
    rows.append(("test accuracy at the end", column(lambda r: r.test_accuracy)))
    return rows


def init_table(rows, inits: list[str]) -> list[str]:
    header = ["", *(ARMS[i] for i in inits)]
    return format_table(header, [[name, *(format_cell(values[i], "accuracy" in name) for i in inits)]
                                 for name, values in rows])


def run_experiment(impl: str, dataset, config: training.TrainConfig, seeds: list[int],
                   progress_for=None, deep: bool | None = None) -> dict[str, list[ArmResult]]:
    """Train every initialisation with every seed; only the init differs within a seed."""
    results: dict[str, list[ArmResult]] = {init: [] for init in ARMS}
    test_targets = None
    for seed in seeds:
        for init in ARMS:
            arm_config = replace(config, init=init, seed=seed)
            parts = training.load_parts(impl, arm_config, deep=deep)
            progress = progress_for(init, seed) if progress_for else training.Silent()
            result = training.train(parts, dataset, arm_config, progress)
            if result.stopped == "interrupted":
                raise KeyboardInterrupt
            test_accuracy = None
            if result.stopped is None:
                if test_targets is None:
                    test_targets = training.one_hot_targets(impl, dataset.test.labels)
                test_accuracy = training.evaluate(parts, result.params, dataset.test.images, test_targets)[1]
            results[init].append(ArmResult(init, seed, result.history, test_accuracy))
    return results


def write_results(run_dir, results, config, seeds, impl, sizes, rows, table) -> list:
    from ... import plots

    figure_title = (f"He versus naive initialisation: {sizes}, batches of {config.batch_size}, "
                    f"lr {config.lr:g} ({config.lr_schedule}), {plural(config.epochs, 'epoch')}, "
                    + (f"seed {seeds[0]}" if len(seeds) == 1
                       else f"{len(seeds)} seeds (line: mean, band: min to max)"))
    histories = {ARMS[init]: [r.history for r in runs] for init, runs in results.items()}
    per_epoch = next(iter(results.values()))[0].history.iterations_per_epoch
    figure = plots.plot_init_experiment(histories, per_epoch, figure_title, run_dir)
    with (run_dir / EXPERIMENT_CSV).open("w", newline="") as f:
        out = csv.writer(f)
        out.writerow(["measure", *(f"{ARMS[i]} seed {s}" for i in results for s in seeds)])
        for name, values in rows:
            out.writerow([name, *("" if v is None else f"{v:.6g}" for i in results for v in values[i])])
    runs.write_json(run_dir / EXPERIMENT_JSON, {
        "experiment": "init",
        "impl": impl,
        "config": config_dict(config, varied=("init",), seeds=seeds, layer_sizes=sizes),
        "table": table,
        "rows": [{"measure": name, **values} for name, values in rows],
        "figure": figure.name,
    })
    return [figure]


class ArmProgress(EpochBar):
    """Progress lines prefixed with the arm, e.g. "he_init, seed 0: epoch 1/3 ..."."""

    def __init__(self, label: str):
        super().__init__()
        self.label = label

    def epoch_end(self, row, epochs):
        self.stream.write(f"\r{' ' * (self.WIDTH + 50)}\r" if self.tty else "")
        self.stream.write(f"  {self.label}: epoch {row.epoch}/{epochs}  train loss {row.train_loss:.4f}  "
                          f"val acc {row.validation_accuracy:6.2%}\n")
        self.stream.flush()


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = textwrap.fill(
        "Reproduce the classic initialisation experiment: train the same network twice, with the "
        "same data, batch order, seed and learning rate, starting once from random_init (small "
        "weights, scale 0.01) and once from he_init, and compare the loss and accuracy curves. "
        "Runs on your own code once all seven stages pass.")
    parser.epilog = (
        "examples:\n"
        "  kata experiment init                 one hidden layer: He learns from the first batches\n"
        "  kata experiment init --depth 4       four hidden layers: the naive start stays at 2.30\n"
        "  kata experiment init --seeds 3       mean and spread over three seeds\n"
        "  kata experiment init --solutions     the same with the reference implementation")
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    add_model_arguments(parser, DEFAULTS)
    parser.add_argument("--seeds", type=options.positive_int, default=1, metavar="K",
                        help="repeat with K seeds (seed, seed+1, ...) and show mean and spread (default 1)")


def run(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    config = config_from_args(args, evals_per_epoch=DEFAULTS.evals_per_epoch,
                                       first_epoch_eval_every=DEFAULTS.first_epoch_eval_every)
    impl = implementation(args, config, "kata experiment init")
    from ...data import load_dataset

    dataset = load_dataset(args.data_dir)
    seeds = list(range(args.seed, args.seed + args.seeds))
    sizes = "-".join(map(str, config.layer_sizes(dataset.train.images.shape[1])))
    print(f"Initialisation experiment on {'the reference' if args.solutions else 'your'} network "
          f"{sizes}: random_init (scale 0.01) versus he_init, {plural(config.epochs, 'epoch')} each, "
          f"lr {config.lr:g} ({config.lr_schedule}), batches of {config.batch_size}, "
          f"seed{'s' if len(seeds) > 1 else ''} {', '.join(map(str, seeds))}.")
    run_dir = new_run_dir(args, "init")
    results = run_or_clean_up(run_dir, run_learner_code, impl, run_experiment, impl, dataset,
                              config, seeds, lambda init, seed: ArmProgress(f"{ARMS[init]}, seed {seed}"),
                              deep_passes(config, impl))
    rows = table_rows(results)
    table = init_table(rows, list(ARMS))
    figures = write_results(run_dir, results, config, seeds, impl, sizes, rows, table)
    print()
    print("\n".join(table))
    if len(seeds) > 1:
        print(f"({spread_note(len(seeds))})")
    diverged = [f"{ARMS[r.init]} (seed {r.seed})" for runs in results.values() for r in runs
                if r.test_accuracy is None]
    if diverged:
        print(f"The loss of {', '.join(diverged)} stopped being finite: lower --lr (now {config.lr:g}).")
    where = display_path(run_dir, folder=True)
    print(f"\nFigure: {where}{figures[0].name}  (table: {EXPERIMENT_CSV}, {EXPERIMENT_JSON}); "
          f"{time.perf_counter() - started:.1f} s in all.")
    return 0
