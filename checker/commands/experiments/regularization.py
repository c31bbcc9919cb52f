"""`kata experiment regularization`: overfitting made visible, and what L2 and dropout do about it.

The network trains on a small training set (--train-size images, the first of the training split)
for many epochs, four times with the same data, batches, initial weights, epochs and seeds:
without regularisation, with L2 (stage 8), with dropout (stage 9), and with both. Without
regularisation it learns the training images by heart (training accuracy 100%) while validation
accuracy stays far lower: that gap is overfitting.

lambda and p are picked first, each with a small sweep on the validation set (first seed only),
printed; "both" combines the two picks without a sweep of its own. The test set is measured once
per final run, at its end.

Writes runs/<time>-experiment-regularization/: regularization_experiment.png (training against
validation accuracy and loss by epoch, and the two sweeps), metrics.csv (every validation pass of
every run), config.json, table.csv and table.txt (mean +- sd over the seeds, and the sweeps).
"""

from __future__ import annotations

import argparse
import textwrap
import time
from dataclasses import replace

import numpy as np

from ... import training

from ... import options
from ...runs import write_json
from ...train_options import add_model_arguments, config_from_args
from ...project import display_path
from ...errors import UsageError
from ... import experiment as common

FIGURE_FILE = "regularization_experiment.png"
# Measured on the reference (see docs/learner.md): at these defaults the unregularised network reaches
# 100% training accuracy in about 25 epochs while validation stalls near 89%.
DEFAULTS = replace(training.TrainConfig(), hidden=256, epochs=60, batch_size=50, lr=0.1,
                   lr_schedule="constant", evals_per_epoch=1)
TRAIN_SIZE = 1000
VALIDATION_SIZE = 2000
L2_GRID = (1e-4, 1e-3, 1e-2)
DROPOUT_GRID = (0.25, 0.5, 0.75)
SEEDS = 3
COLOURS = {"none": "tab:red", "L2": "tab:blue", "dropout": "tab:green", "both": "tab:purple"}


def arms(config: training.TrainConfig, l2: float, p_drop: float) -> dict[str, training.TrainConfig]:
    """The four arms: the same config but for the regularisation."""
    return {"none": replace(config, l2=0.0, dropout=0.0),
            "L2": replace(config, l2=l2, dropout=0.0),
            "dropout": replace(config, l2=0.0, dropout=p_drop),
            "both": replace(config, l2=l2, dropout=p_drop)}


def run_experiment(bench: common.Bench, config: training.TrainConfig, seeds: list[int],
                   l2_grid, dropout_grid, out) -> tuple[dict, dict]:
    """(results {arm: [RunRecord per seed]}, sweeps {"L2": (best, [(lambda, run)]), "dropout": ...})."""
    first = replace(config, seed=seeds[0], l2=0.0, dropout=0.0)
    out.write(f"Sweep of the L2 lambda on validation (seed {seeds[0]}; lambda 0 is no regularisation):\n")
    sweeps = {"L2": bench.sweep("lambda", [0.0, *l2_grid], lambda value: replace(first, l2=value))}
    out.write(f"Sweep of the dropout probability p on validation (seed {seeds[0]}):\n")
    sweeps["dropout"] = bench.sweep("p", [0.0, *dropout_grid], lambda value: replace(first, dropout=value))
    out.write(f"The four arms with lambda {sweeps['L2'][0]:g} and p {sweeps['dropout'][0]:g}, "
              f"{len(seeds)} seed{'s' if len(seeds) > 1 else ''}:\n")
    results = bench.arms(arms(config, sweeps["L2"][0], sweeps["dropout"][0]), seeds)
    return results, sweeps


def final(run: common.RunRecord, which: str) -> float | None:
    """The final value of a run: train-set or validation accuracy or loss, or None if diverged."""
    if run.diverged:
        return None
    evals = run.train_evals if which.startswith("train") else run.history.evals
    return evals[-1][2] if which.endswith("accuracy") else evals[-1][1]


def table_rows(results: dict[str, list[common.RunRecord]]) -> list[tuple[str, dict[str, list]]]:
    def column(measure):
        return {arm: [measure(run) for run in runs] for arm, runs in results.items()}

    def gap(run):
        train, validation = final(run, "train accuracy"), final(run, "validation accuracy")
        return None if train is None else train - validation

    return [("train accuracy (final)", column(lambda r: final(r, "train accuracy"))),
            ("validation accuracy (final)", column(lambda r: final(r, "validation accuracy"))),
            ("gap: train - validation accuracy", column(gap)),
            ("train loss (final, data only)", column(lambda r: final(r, "train loss"))),
            ("validation loss (final)", column(lambda r: final(r, "validation loss"))),
            ("test accuracy (once, at the end)", column(lambda r: r.test_accuracy))]


def verdicts(results: dict[str, list[common.RunRecord]]) -> list[str]:
    """For each regularised arm: its validation accuracy against none's, in points and in sd."""
    base = common.mean_sd([final(r, "validation accuracy") for r in results["none"]])
    lines = []
    for arm in ("L2", "dropout", "both"):
        other = common.mean_sd([final(r, "validation accuracy") for r in results[arm]])
        if base is None or other is None:
            lines.append(f"{arm}: a run diverged; no comparison.")
            continue
        difference, spread = other[0] - base[0], max(base[1], other[1])
        if len(results[arm]) < 2:
            judgement = "one seed: no spread to compare with (use --seeds 3 or more)"
        elif difference > 2 * spread:
            judgement = f"clear: more than 2 sd ({2 * 100 * spread:.2f} points)"
        elif difference > 0:
            judgement = f"not clear: within 2 sd ({2 * 100 * spread:.2f} points)"
        else:
            judgement = "no better than none"
        lines.append(f"{arm}: validation accuracy {100 * difference:+.2f} points against none; {judgement}.")
    return lines


def plot(results, sweeps, title: str, folder) -> object:
    from matplotlib.figure import Figure
    from matplotlib.ticker import PercentFormatter

    from ...plots import _band, _save

    fig = Figure(figsize=(14, 9.5), layout="constrained")
    fig.suptitle(textwrap.fill(title, 140), fontsize=12)
    (accuracy_ax, loss_ax), (l2_ax, dropout_ax) = fig.subplots(2, 2)
    per_epoch = next(iter(results.values()))[0].history.iterations_per_epoch
    lowest = 1.0
    for arm, runs in results.items():
        runs = [r for r in runs if not r.diverged]
        if not runs:
            continue
        epochs = np.array([at for at, _, _ in runs[0].history.evals]) / per_epoch
        for ax, index in ((accuracy_ax, 2), (loss_ax, 1)):
            validation = [[e[index] for e in r.history.evals] for r in runs]
            train = [[e[index] for e in r.train_evals] for r in runs]
            _band(ax, epochs, validation, COLOURS[arm], arm)
            _band(ax, epochs, train, COLOURS[arm], None)
            ax.lines[-1].set_linestyle("--")
            if index == 2:
                lowest = min(lowest, float(np.min(validation)))
    accuracy_ax.set_ylim(max(0.0, np.floor(lowest * 20 - 1) / 20), 1.005)
    accuracy_ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    accuracy_ax.set_title("Accuracy: training set (dashed) against validation (solid)")
    accuracy_ax.set_ylabel("accuracy (no dropout when measured)")
    loss_ax.set_yscale("log")
    loss_ax.set_title("Loss: training set (dashed) against validation (solid)")
    loss_ax.set_ylabel("cross-entropy, without the L2 term (log scale)")
    for ax in (accuracy_ax, loss_ax):
        ax.plot([], [], "--", color="0.3", label="training set")
        ax.plot([], [], "-", color="0.3", label="validation")
        ax.set_xlabel("epoch")
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=9, loc="lower right" if ax is accuracy_ax else "lower left", ncols=2)
    for ax, name, symbol in ((l2_ax, "L2", "lambda"), (dropout_ax, "dropout", "p")):
        best, runs = sweeps[name]
        values = [value for value, _ in runs]
        accuracies = [run.validation_accuracy for _, run in runs]
        positions = np.arange(len(values))  # evenly spaced: the grids are roughly geometric
        ax.plot(positions, accuracies, "o-", color=COLOURS[name], linewidth=1.5)
        ax.plot(values.index(best), accuracies[values.index(best)], "*", color="black", markersize=14,
                label=f"picked: {symbol} = {best:g}")
        ax.axhline(accuracies[0], color=COLOURS["none"], linestyle=":", label="none (the first point)")
        ax.set_xticks(positions, [f"{v:g}" for v in values])
        ax.set_xlabel(symbol)
        ax.set_ylabel("final validation accuracy")
        ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=2))
        middle = (max(accuracies) + min(accuracies)) / 2  # at least 2 points tall: noise looks small
        half = max(0.01, (max(accuracies) - min(accuracies)) / 2 + 0.002)
        top = min(middle + half, 1.0005)
        ax.set_ylim(top - 2 * half, top)
        ax.set_title(f"Sweep of {symbol} ({name}) on validation, seed {runs[0][1].config.seed}")
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=9, loc="lower right")
    return _save(fig, folder, FIGURE_FILE)


def grid(text: str) -> tuple[float, ...]:
    """A comma-separated list of numbers >= 0, e.g. 1e-3,1e-2."""
    try:
        values = tuple(float(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected numbers separated by commas, got {text!r}") from None
    if not values or any(not np.isfinite(v) or v < 0 for v in values):
        raise argparse.ArgumentTypeError(f"expected finite numbers >= 0, got {text!r}")
    return values


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = textwrap.fill(
        "Make overfitting visible, and compare what L2 and dropout do about it: the same network, "
        "batches, initial weights, epochs and seeds, trained on a small training set four times: no "
        "regularisation, L2, dropout, both. lambda and p are picked by a small sweep on the "
        "validation set, shown in the output; the test set is measured once per final run. Needs "
        "stages 8 and 9 (or --solutions).")
    parser.epilog = (
        "examples:\n"
        "  kata experiment regularization --solutions         the reference, default settings\n"
        "  kata experiment regularization --train-size 5000   less overfitting to fight\n"
        "  kata experiment regularization --l2-grid 1e-4,1e-3 --dropout-grid 0.2,0.4")
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    add_model_arguments(parser, DEFAULTS)
    common.add_seed_arguments(parser, SEEDS)
    parser.add_argument("--train-size", type=options.positive_int, default=TRAIN_SIZE, metavar="N",
                        help=f"train on the first N training images (default {TRAIN_SIZE:,})")
    parser.add_argument("--validation-size", type=options.positive_int, default=VALIDATION_SIZE,
                        metavar="N", help=f"measure on the first N validation images, every epoch "
                                          f"(default {VALIDATION_SIZE:,}; 10,000 is all, and slower)")
    parser.add_argument("--l2-grid", type=grid, default=L2_GRID, metavar="L1,L2,...",
                        help=f"the lambdas of the sweep (default {','.join(map(str, L2_GRID))})")
    parser.add_argument("--dropout-grid", type=grid, default=DROPOUT_GRID, metavar="P1,P2,...",
                        help=f"the dropout probabilities of the sweep, each below 1 "
                             f"(default {','.join(map(str, DROPOUT_GRID))})")


def run(args: argparse.Namespace) -> int:
    started, cpu_started = time.perf_counter(), time.process_time()
    if any(p >= 1 for p in args.dropout_grid):
        raise UsageError(f"--dropout-grid {','.join(map(str, args.dropout_grid))}: a dropout "
                                  f"probability must be below 1. See: kata experiment regularization --help")
    config = config_from_args(args, evals_per_epoch=1, first_epoch_eval_every=0)
    impl = common.implementation(args, replace(config, l2=1.0, dropout=0.5), "kata experiment regularization")
    from ...data import load_dataset

    full = load_dataset(args.data_dir)
    dataset = common.subset(full, args.train_size, args.validation_size)
    seeds = common.seeds_of(args)
    sizes = "-".join(map(str, config.layer_sizes(dataset.train.images.shape[1])))
    print(f"Regularisation experiment on {'the reference' if args.solutions else 'your'} network {sizes}: "
          f"{len(dataset.train.labels):,} training images, {len(dataset.validation.labels):,} validation "
          f"images, {config.epochs} epochs, batches of {config.batch_size}, lr {config.lr:g} "
          f"({config.lr_schedule}), seeds {', '.join(map(str, seeds))}.\n")
    run_dir = common.new_run_dir(args, "regularization")
    bench = common.Bench(impl, dataset, measure_train=True)
    results, sweeps = common.run_or_clean_up(run_dir, run_experiment, bench, config, seeds,
                                             args.l2_grid, args.dropout_grid, bench.out)
    l2, p_drop = sweeps["L2"][0], sweeps["dropout"][0]
    header = list(results)
    labels = {"none": "none", "L2": f"L2 lambda={l2:g}", "dropout": f"dropout p={p_drop:g}",
              "both": "both"}
    rows = table_rows(results)
    table = common.format_table(["", *(labels[a] for a in header)],
                                [[name, *(common.format_cell(values[a], "accuracy" in name) for a in header)]
                                 for name, values in rows])
    sweep_lines = [f"sweep of {name}: " + ", ".join(f"{value:g}: {run.validation_accuracy:.2%}" for value, run in runs)
                   + f" -> {best:g}" for name, (best, runs) in (("lambda", sweeps["L2"]), ("p", sweeps["dropout"]))]
    judged = verdicts(results)
    title = (f"Regularisation on {len(dataset.train.labels):,} training images: {sizes}, "
             f"{config.epochs} epochs, batches of {config.batch_size}, lr {config.lr:g}; "
             f"{len(seeds)} seed{'s' if len(seeds) > 1 else ''} (line: mean, band: min to max)")
    figure = plot(results, sweeps, title, run_dir)
    common.write_metrics_csv(run_dir / common.METRICS_FILE, results)
    common.write_table_csv(run_dir / common.TABLE_CSV, header, rows, seeds)
    cpu = time.process_time() - cpu_started
    seconds = f"{time.perf_counter() - started:.1f} s ({cpu:.1f} s CPU)"
    (run_dir / common.TABLE_TEXT).write_text("\n".join([*sweep_lines, "", *table, "", *judged, ""]) + "\n")
    write_json(run_dir / common.CONFIG_FILE, common.config_dict(
        config, experiment="regularization", impl=impl, seeds=seeds, layer_sizes=sizes,
        train_size=len(dataset.train.labels), validation_size=len(dataset.validation.labels),
        l2_grid=list(args.l2_grid), dropout_grid=list(args.dropout_grid), picked_l2=l2, picked_dropout=p_drop))
    print("\n".join(table))
    print(f"(mean +- sd over {len(seeds)} seeds; the gap is overfitting; train loss is the data loss alone)")
    print("\n".join(judged))
    where = display_path(run_dir, folder=True)
    print(f"\nFigure: {where}{figure.name}  ({common.METRICS_FILE}, {common.TABLE_CSV}, "
          f"{common.TABLE_TEXT}, {common.CONFIG_FILE}); {seconds} in all.")
    return 0
