"""`kata experiment regularization`: overfitting made visible, and what L2 and dropout do about it.

The network trains on a small training set (--train-size images, the first of the training split)
for many epochs, four times with the same data, batches, initial weights, epochs and seeds:
without regularisation, with L2 (stage 8), with dropout (stage 9), and with both. Without
regularisation it learns the training images by heart (training accuracy 100%) while validation
accuracy stays far lower: that gap is overfitting.

lambda and p are picked first, each by a sweep on the validation set with every seed, from where it
changes nothing to where it clearly hurts (0, no regularisation, is in each for comparison): the
best mean validation accuracy, said when it is at the edge of its grid. "both" combines the two picks
without a sweep of its own. The test set is measured once per final run, at its end. Whether an arm
differs from none beyond the spread over seeds is said in words, on the figure too: that L2 does not
help here is a result, not a failure.

Writes runs/<time>-experiment-regularization/: regularization_experiment.png (training against
validation accuracy and loss by epoch for every arm, the final accuracies with every seed, the two
sweeps and the verdicts), metrics.csv (every validation pass of every run), config.json, table.csv and
table.txt (mean +- sample sd over the seeds, and the sweeps).
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
# From where L2 changes nothing to where it clearly underfits: on the reference at these defaults
# (3 seeds), lambda up to 0.01 leaves validation accuracy within the noise of none's (89.4%) and
# shrinks the weights; 0.03 costs about 2 points and 0.1 about 8. Dropout peaks near p = 0.75 (90.7%)
# and falls again at 0.9, so neither best is at the edge of its grid.
L2_GRID = (1e-4, 1e-3, 1e-2, 3e-2, 1e-1)
DROPOUT_GRID = (0.25, 0.5, 0.75, 0.9)
SEEDS = 3
ARMS = ("none", "L2", "dropout", "both")
COLOURS = {"none": "tab:red", "L2": "tab:blue", "dropout": "tab:green", "both": "tab:purple"}
MARKERS = {"none": "o", "L2": "s", "dropout": "^", "both": "D"}
COINCIDE = 0.0025  # two arms' mean curves closer than this (a quarter point) at every epoch: said on the figure
MIN_SPAN = 0.05  # an accuracy axis spans at least 5 points, so that a difference of an image or two looks small


def arms(config: training.TrainConfig, l2: float, p_drop: float) -> dict[str, training.TrainConfig]:
    """The four arms: the same config but for the regularisation."""
    return {"none": replace(config, l2=0.0, dropout=0.0),
            "L2": replace(config, l2=l2, dropout=0.0),
            "dropout": replace(config, l2=0.0, dropout=p_drop),
            "both": replace(config, l2=l2, dropout=p_drop)}


def run_experiment(bench: common.Bench, config: training.TrainConfig, seeds: list[int],
                   l2_grid, dropout_grid, out) -> tuple[dict, dict]:
    """(results {arm: [RunRecord per seed]}, sweeps {"L2": (best, [(lambda, [run per seed])]), "dropout": ...}).

    Each sweep trains every value with every seed (lambda 0 and p 0, no regularisation, shown for
    comparison) and picks the best mean validation accuracy among the others; the arms "none", "L2"
    and "dropout" are runs of the sweeps, "both" combines the two picks."""
    none = replace(config, l2=0.0, dropout=0.0)
    over = f"seed{'s' if len(seeds) > 1 else ''} {', '.join(map(str, seeds))}"
    out.write(f"Sweep of the L2 lambda on validation ({over}; lambda 0 is no regularisation, for comparison):\n")
    sweeps = {"L2": bench.sweep_over_seeds("lambda", [0.0, *positive(l2_grid)], lambda value: replace(none, l2=value),
                                           seeds, baseline=0.0)}
    out.write(f"Sweep of the dropout probability p on validation ({over}; p 0 is no dropout, for comparison):\n")
    sweeps["dropout"] = bench.sweep_over_seeds("p", [0.0, *positive(dropout_grid)],
                                               lambda value: replace(none, dropout=value), seeds, baseline=0.0)
    out.write(f"The four arms with lambda {sweeps['L2'][0]:g} and p {sweeps['dropout'][0]:g}, "
              f"{common.plural(len(seeds), 'seed')}:\n")
    results = bench.arms(arms(config, sweeps["L2"][0], sweeps["dropout"][0]), seeds)
    return results, sweeps


def positive(grid) -> list[float]:
    """The grid's values above 0, in order, each once (0 is always there: no regularisation)."""
    return list(dict.fromkeys(value for value in grid if value > 0))


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


def verdicts(results: dict[str, list[common.RunRecord]], labels: dict[str, str] | None = None) -> list[str]:
    """For each regularised arm: its validation accuracy against none's, in points and against the
    spread over seeds (2 sd, the larger of the two arms'), and whether the seeds can tell it from noise."""
    labels = labels or {}
    base = common.mean_sd([final(r, "validation accuracy") for r in results["none"]])
    lines = []
    for arm in ("L2", "dropout", "both"):
        name = labels.get(arm, arm)
        other = common.mean_sd([final(r, "validation accuracy") for r in results[arm]])
        if base is None or other is None:
            lines.append(f"{name}: a run diverged; no comparison.")
            continue
        difference, spread = other[0] - base[0], max(base[1], other[1])
        if len(results[arm]) < 2:
            judgement = "one seed: no spread to compare with (use --seeds 3 or more)"
        elif abs(difference) > 2 * spread and difference > 0:
            judgement = f"better, clearly: more than 2 sd ({2 * 100 * spread:.2f} points)"
        elif abs(difference) > 2 * spread:
            judgement = f"worse, clearly: more than 2 sd ({2 * 100 * spread:.2f} points)"
        else:
            judgement = f"within 2 sd ({2 * 100 * spread:.2f} points): no effect the seeds can tell from noise"
        lines.append(f"{name}: validation accuracy {100 * difference:+.2f} points against none; {judgement}.")
    return lines


def coinciding(results: dict[str, list[common.RunRecord]], index: int, tolerance: float) -> list[tuple[str, str]]:
    """Pairs of arms whose mean validation curves (index 2: accuracy, 1: loss) lie within tolerance
    of each other at every pass, and whose training-set curves do too: on a plot one hides the other."""
    def curve(arm, train):
        runs = [r for r in results[arm] if not r.diverged]
        if not runs:
            return None
        return np.mean([[e[index] for e in (r.train_evals if train else r.history.evals)] for r in runs], axis=0)

    pairs = []
    names = list(results)
    for i, first in enumerate(names):
        for second in names[i + 1:]:
            close = True
            for train in (False, True):
                a, b = curve(first, train), curve(second, train)
                if a is None or b is None or len(a) != len(b) or np.max(np.abs(a - b)) > tolerance:
                    close = False
            if close:
                pairs.append((first, second))
    return pairs


def accuracy_limits(values: list[float], top: float = 1.0) -> tuple[float, float]:
    """y limits for accuracies: a little beyond the values, at least MIN_SPAN tall, never above top + 0.5%."""
    low, high = min(values), max(values)
    pad = max(0.005, (high - low) * 0.08)
    low, high = low - pad, min(high + pad, top + 0.005)
    if high - low < MIN_SPAN:
        middle = (high + low) / 2
        low, high = middle - MIN_SPAN / 2, middle + MIN_SPAN / 2
        if high > top + 0.005:
            low, high = top + 0.005 - MIN_SPAN, top + 0.005
    return low, high


def plot(results, sweeps, title: str, folder, validation_size: int, labels: dict[str, str],
         judged: list[str]) -> object:
    from matplotlib.figure import Figure
    from matplotlib.ticker import PercentFormatter

    from ...plots import _save

    seeds = len(next(iter(results.values())))
    fig = Figure(figsize=(18, 10.5), layout="constrained")
    fig.suptitle(textwrap.fill(title, 160), fontsize=12)
    (accuracy_ax, loss_ax, final_ax), (l2_ax, dropout_ax, notes_ax) = fig.subplots(2, 3)
    percent = PercentFormatter(1.0, decimals=0)
    notes = []

    # Row 1, left and middle: every arm by epoch, each with its colour and marker (markers offset so
    # that coinciding lines still show each arm), training set dashed, validation solid.
    lowest = 1.0
    for number, arm in enumerate(ARMS):
        runs = [r for r in results[arm] if not r.diverged]
        if not runs:
            continue
        per_epoch = runs[0].history.iterations_per_epoch
        epochs = np.array([at for at, _, _ in runs[0].history.evals]) / per_epoch
        every = max(1, len(epochs) // 8)
        for ax, index in ((accuracy_ax, 2), (loss_ax, 1)):
            validation = np.mean([[e[index] for e in r.history.evals] for r in runs], axis=0)
            train = np.mean([[e[index] for e in r.train_evals] for r in runs], axis=0)
            style = dict(color=COLOURS[arm], marker=MARKERS[arm], markersize=6,
                         markevery=(number * every // len(ARMS), every))
            ax.plot(epochs, validation, "-", linewidth=1.8, label=labels[arm], **style)
            ax.plot(epochs, train, "--", linewidth=1.3, **style)
            if index == 2:
                lowest = min(lowest, float(np.min(validation)), float(np.min(train)))
    accuracy_ax.set_ylim(np.floor(lowest * 20) / 20, 1.005)  # whole curves, from a round 5 points below them
    accuracy_ax.yaxis.set_major_formatter(percent)
    accuracy_ax.set_title("Accuracy by epoch: training set (dashed) against validation (solid)")
    accuracy_ax.set_ylabel("accuracy (no dropout when measured)")
    loss_ax.set_yscale("log")
    loss_ax.set_title("Loss by epoch: training set (dashed) against validation (solid)")
    loss_ax.set_ylabel("cross-entropy, without the L2 term (log scale)")
    accuracy_ax.plot([], [], "--", color="0.3", label="training set")
    accuracy_ax.plot([], [], "-", color="0.3", label="validation")
    accuracy_ax.legend(fontsize=9, loc="lower right", ncols=2)  # the loss panel's arms are the same
    for ax in (accuracy_ax, loss_ax):
        ax.set_xlabel("epoch")
        ax.grid(True, alpha=0.3)
    for first, second in coinciding(results, 2, COINCIDE):
        notes.append(f"{labels[second]} and {labels[first]} coincide: their mean accuracy curves differ by less "
                     f"than {100 * COINCIDE:.2g} points at every epoch, so one line hides the other (their "
                     f"markers show both).")

    # Row 1, right: the final validation accuracy of each arm, every seed and mean +- sd.
    finals = {arm: [v for v in (final(r, "validation accuracy") for r in results[arm]) if v is not None]
              for arm in ARMS}
    shown = []
    for x, arm in enumerate(ARMS):
        values = finals[arm]
        if not values:
            continue
        mean, sd = common.mean_sd(values)
        final_ax.errorbar(x, mean, yerr=sd if len(values) > 1 else None, fmt=MARKERS[arm], color=COLOURS[arm],
                          markersize=9, capsize=6, linewidth=2)
        final_ax.plot(np.full(len(values), x + 0.18), values, ".", color=COLOURS[arm], alpha=0.6)
        final_ax.annotate(f"{mean:.2%}", (x, mean + sd), textcoords="offset points", xytext=(0, 6), ha="center",
                          va="bottom", fontsize=9)
        shown += [mean - sd, mean + sd, *values]
    if finals["none"]:
        final_ax.axhline(np.mean(finals["none"]), color=COLOURS["none"], linestyle=":", linewidth=1)
    final_ax.set_xticks(range(len(ARMS)), [labels[arm].replace(" ", "\n", 1) for arm in ARMS])
    final_ax.set_xlim(-0.6, len(ARMS) - 0.4)
    if shown:
        final_ax.set_ylim(*accuracy_limits(shown))
    final_ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=1))
    final_ax.set_ylabel("final validation accuracy")
    final_ax.set_title(f"Final validation accuracy: seeds (dots), mean +- sd ({seeds} seeds)"
                       if seeds > 1 else "Final validation accuracy (one seed: no sd)")
    final_ax.grid(True, axis="y", alpha=0.3)

    # Row 2: the sweeps, every value with every seed: validation (solid) and training-set (dashed)
    # accuracy, mean +- sd, on one shared axis.
    sweep_values = []
    for ax, name, symbol in ((l2_ax, "L2", "lambda"), (dropout_ax, "dropout", "p")):
        best, trained = sweeps[name]
        values = [value for value, _ in trained]
        positions = np.arange(len(values))  # evenly spaced: the grids are roughly geometric
        for which, style in (("validation accuracy", "-"), ("train accuracy", "--")):
            per_value = [[v for v in (final(r, which) for r in runs) if v is not None] for _, runs in trained]
            means = np.array([np.mean(v) if v else np.nan for v in per_value])
            sds = np.array([common.mean_sd(v)[1] if len(v) > 1 else 0.0 for v in per_value])
            ax.errorbar(positions, means, yerr=sds if seeds > 1 else None, fmt="o" + style, color=COLOURS[name],
                        alpha=1.0 if which.startswith("validation") else 0.55, capsize=4, linewidth=1.5,
                        label=("validation" if which.startswith("validation") else "training set")
                        + (f", mean +- sd over {seeds} seeds" if seeds > 1 else ""))
            sweep_values += [float(x) for x in (means - sds) if np.isfinite(x)] + [float(x) for x in means + sds
                                                                                    if np.isfinite(x)]
        picked = values.index(best)
        best_mean = np.mean([final(r, "validation accuracy") or 0.0 for r in trained[picked][1]])
        ax.plot(picked, best_mean, "*", color="black", markersize=16, zorder=5, label=f"picked: {symbol} = {best:g}")
        ax.axhline(np.mean([final(r, "validation accuracy") or 0.0 for r in trained[0][1]]), color=COLOURS["none"],
                   linestyle=":", label="none: validation (the first point)")
        ax.set_xticks(positions, [f"{v:g}" + ("\n(none)" if v == 0 else "") for v in values])
        ax.set_xlabel(symbol)
        ax.set_ylabel("final accuracy")
        ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=1))
        edge = common.edge_note(best, values[1:], symbol)
        ax.set_title(f"Sweep of {symbol} ({name}) on validation" + ("\npicked at the edge of the grid: a wider "
                                                                    "grid might do better" if edge else ""))
        if edge:
            notes.append(f"The picked {symbol} = {best:g} is at the edge of its grid: a wider grid might do better.")
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=9, loc="lower left")
    limits = accuracy_limits(sweep_values)
    for ax in (l2_ax, dropout_ax):
        ax.set_ylim(*limits)

    # Row 2, right: what the numbers say, in words.
    notes_ax.axis("off")
    image = 1 / validation_size
    text = [f"Against none, over {seeds} seed{'s' if seeds > 1 else ''} (sd: the sample standard deviation):", "",
            *judged, "", *notes,
            f"One validation image is {100 * image:.2g} points of accuracy ({validation_size:,} images)."]
    notes_ax.text(0.0, 1.0, "\n".join(textwrap.fill(line, 62) if line else "" for line in text), va="top",
                  ha="left", fontsize=10, transform=notes_ax.transAxes)
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
        "regularisation, L2, dropout, both. lambda and p are picked by a sweep on the validation set "
        "with every seed, shown in the output and the figure; the test set is measured once per final run. Needs "
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
    for option, values in (("--l2-grid", args.l2_grid), ("--dropout-grid", args.dropout_grid)):
        if not positive(values):
            raise UsageError(f"{option} {','.join(map(str, values))}: it needs a value above 0 (0, no "
                             f"regularisation, is always trained for comparison). See: kata experiment "
                             f"regularization --help")
    config = config_from_args(args, evals_per_epoch=1, first_epoch_eval_every=0)
    impl = common.implementation(args, replace(config, l2=1.0, dropout=0.5), "kata experiment regularization")
    from ...data import load_dataset

    full = load_dataset(args.data_dir)
    dataset = common.subset(full, args.train_size, args.validation_size)
    seeds = common.seeds_of(args)
    sizes = "-".join(map(str, config.layer_sizes(dataset.train.images.shape[1])))
    print(f"Regularisation experiment on {'the reference' if args.solutions else 'your'} network {sizes}: "
          f"{len(dataset.train.labels):,} training images, {len(dataset.validation.labels):,} validation "
          f"images, {common.plural(config.epochs, 'epoch')}, batches of {config.batch_size}, lr {config.lr:g} "
          f"({config.lr_schedule}), {common.plural(len(seeds), 'seed')} ({', '.join(map(str, seeds))}).\n")
    run_dir = common.new_run_dir(args, "regularization")
    bench = common.Bench(impl, dataset, measure_train=True)
    results, sweeps = common.run_or_clean_up(run_dir, run_experiment, bench, config, seeds,
                                             args.l2_grid, args.dropout_grid, bench.out)
    l2, p_drop = sweeps["L2"][0], sweeps["dropout"][0]
    header = list(results)
    labels = {"none": "none", "L2": f"L2 lambda={l2:g}", "dropout": f"dropout p={p_drop:g}",
              "both": f"both (lambda={l2:g}, p={p_drop:g})"}
    rows = table_rows(results)
    table = common.format_table(["", *(labels[a] for a in header)],
                                [[name, *(common.format_cell(values[a], "accuracy" in name) for a in header)]
                                 for name, values in rows])
    sweep_lines = [f"sweep of {name} (validation accuracy, {common.spread_note(len(seeds))}): "
                   + ", ".join(f"{value:g}: {common.format_cell([r.validation_accuracy for r in runs], True)}"
                               for value, runs in trained)
                   + f" -> {best:g}{common.edge_note(best, [v for v, _ in trained][1:], name)}"
                   for name, (best, trained) in (("lambda", sweeps["L2"]), ("p", sweeps["dropout"]))]
    judged = verdicts(results, labels)
    title = (f"Regularisation on {len(dataset.train.labels):,} training images: {sizes}, "
             f"{common.plural(config.epochs, 'epoch')}, batches of {config.batch_size}, lr {config.lr:g}, the same "
             f"batches and initial weights in every arm; {common.plural(len(seeds), 'seed')}; curves: the mean "
             f"over the seeds")
    figure = plot(results, sweeps, title, run_dir, len(dataset.validation.labels), labels, judged)
    common.write_metrics_csv(run_dir / common.METRICS_FILE, results)
    common.write_table_csv(run_dir / common.TABLE_CSV, header, rows, seeds)
    cpu = time.process_time() - cpu_started
    seconds = f"{time.perf_counter() - started:.1f} s ({cpu:.1f} s CPU)"
    (run_dir / common.TABLE_TEXT).write_text("\n".join([*sweep_lines, "", *table, "", *judged, ""]) + "\n")
    write_json(run_dir / common.CONFIG_FILE, common.config_dict(
        config, varied=("l2", "dropout"), experiment="regularization", impl=impl, seeds=seeds, layer_sizes=sizes,
        train_size=len(dataset.train.labels), validation_size=len(dataset.validation.labels),
        l2_grid=[0.0, *positive(args.l2_grid)], dropout_grid=[0.0, *positive(args.dropout_grid)], picked_l2=l2,
        picked_dropout=p_drop))
    print("\n".join(table))
    print(f"({common.spread_note(len(seeds))}; the gap is overfitting; train loss is the data loss alone)")
    print("\n".join(judged))
    where = display_path(run_dir, folder=True)
    print(f"\nFigure: {where}{figure.name}  ({common.METRICS_FILE}, {common.TABLE_CSV}, "
          f"{common.TABLE_TEXT}, {common.CONFIG_FILE}); {seconds} in all.")
    return 0
