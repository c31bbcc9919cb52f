"""`kata experiment depth`: 1, 2, 4 and 8 hidden layers, each with and without batch normalisation.

Every arm has the same width, learning rate and schedule, He initialisation, the same batches and
the same seeds; only the depth and batch normalisation differ. Without batch normalisation the
network is stage 11's deep_forward/deep_backward; with it, stage 12's batchnorm_forward/backward
after every hidden dense layer, before the ReLU (the network kata train --batchnorm builds).

Reported: the training loss and validation accuracy against iteration, per depth, without and with
batch normalisation; a table of the final validation accuracy, the test accuracy (measured once,
at the end), the iterations needed to reach --threshold validation accuracy (to the iteration:
experiment.ThresholdWatcher) and the CPU time per run, mean +- sample sd over --seeds.

Writes runs/<time>-experiment-depth/: depth_experiment.png, metrics.csv (every validation pass of
every run), config.json, table.csv and table.txt.
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
from ...learner_code import deep_passes
from ...project import display_path
from ... import experiment as common

FIGURE_FILE = "depth_experiment.png"
# Small on purpose: 2 epochs of a 64-unit network keep the 8 arms x 3 seeds within about a minute
# of CPU time, and already separate the arms. lr 0.3, falling linearly to 0, is where the plain
# 1-hidden-layer network trains well at this width; every arm uses it.
DEFAULTS = replace(training.TrainConfig(), hidden=64, epochs=2, batch_size=64, lr=0.3, lr_schedule="linear",
                   evals_per_epoch=8)
DEPTHS = (1, 2, 4, 8)
VALIDATION_SIZE = 5000
THRESHOLD = 0.95
ACCURACY_FLOOR = 0.8  # the lowest validation accuracy the figure shows
SEEDS = 3
COLOURS = ("tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple", "tab:brown", "tab:pink", "tab:olive")


def arm_name(depth: int, batchnorm: bool) -> str:
    return f"{depth} hidden" + (" + batch norm" if batchnorm else "")


def arms_of(config: training.TrainConfig, depths) -> dict[str, training.TrainConfig]:
    """The arms in table order: each depth without, then with, batch normalisation."""
    return {arm_name(depth, bn): replace(config, depth=depth, batchnorm=bn, init="he")
            for depth in depths for bn in (False, True)}


def cpu_cell(values: list[float]) -> str:
    summary = common.mean_sd(values)
    return f"{summary[0]:.1f}" + (f" +- {summary[1]:.1f}" if len(values) > 1 else "")


def iterations_cell(values: list, seeds: int) -> str:
    reached = [v for v in values if v is not None]
    if not reached:
        return f"not reached ({seeds} of {seeds})" if seeds > 1 else "not reached"
    summary = common.mean_sd(reached)
    text = f"{summary[0]:.0f}" + (f" +- {summary[1]:.0f}" if len(reached) > 1 else "")
    return text if len(reached) == len(values) else f"{text} ({len(values) - len(reached)} of {seeds} not)"


COLUMNS = ("final validation accuracy", "test accuracy (once, at the end)", "iterations to {threshold:.0%}",
           "CPU s per run")


def table(results: dict[str, list[common.RunRecord]], threshold: float, seeds: int) -> tuple[list[str], list]:
    """(text lines, rows for table.csv): one line per arm."""
    header = ["", *(c.format(threshold=threshold) for c in COLUMNS)]
    body, rows = [], {c.format(threshold=threshold): {} for c in COLUMNS}
    for name, runs in results.items():
        validation = [None if r.diverged else r.validation_accuracy for r in runs]
        test = [r.test_accuracy for r in runs]
        reach = [None if r.diverged else r.iterations_to_reach(threshold) for r in runs]
        cpu = [r.cpu_seconds for r in runs]
        body.append([name, common.format_cell(validation, True), common.format_cell(test, True),
                     iterations_cell(reach, seeds), cpu_cell(cpu)])
        for column, values in zip(header[1:], (validation, test, reach, cpu)):
            rows[column][name] = values
    return common.format_table(header, body), list(rows.items())


def plot(results, depths, threshold: float, title: str, folder):
    from matplotlib.figure import Figure
    from matplotlib.ticker import MultipleLocator, PercentFormatter

    from ...plots import _band, _epoch_axis, _save, running_mean

    fig = Figure(figsize=(14, 9.5), layout="constrained")
    fig.suptitle(textwrap.fill(title, 140), fontsize=12)
    axes = fig.subplots(2, 2, sharex=True)
    first = next(iter(results.values()))[0]
    per_epoch, iterations = first.history.iterations_per_epoch, first.history.iterations
    window = max(1, per_epoch // 20)
    losses, accuracies = [], []
    for column, bn in enumerate((False, True)):
        loss_ax, accuracy_ax = axes[0][column], axes[1][column]
        for colour, depth in zip(COLOURS, depths):
            runs = [r for r in results[arm_name(depth, bn)] if not r.diverged]
            if not runs:
                continue
            label = f"{depth} hidden layer{'s' if depth > 1 else ''}"
            steps = np.arange(1, runs[0].history.iterations + 1)
            curves = [running_mean(r.history.batch_loss, window) for r in runs]
            _band(loss_ax, steps, curves, colour, label)
            at = np.array([a for a, _, _ in runs[0].history.evals])
            accuracy = [[acc for _, _, acc in r.history.evals] for r in runs]
            _band(accuracy_ax, at, accuracy, colour, label)
            losses.append(np.concatenate(curves))
            accuracies.append(np.asarray(accuracy)[:, 1:].ravel())
        which = "with batch normalisation" if bn else "without batch normalisation"
        loss_ax.set_title(f"Training loss, {which}")
        accuracy_ax.set_title(f"Validation accuracy, {which}")
        accuracy_ax.axhline(threshold, color="0.4", linestyle="--", linewidth=1, label=f"{threshold:.0%}")
    low_loss = min(float(np.min(c)) for c in losses) if losses else 0.01
    low_accuracy = min(float(np.min(a)) for a in accuracies) if accuracies else 0.8
    for row, line in enumerate(axes):
        for ax in line:
            ax.set_xlim(0, iterations)
            ax.set_xlabel("iteration" if row == 1 else "")
            _epoch_axis(ax, per_epoch)
            ax.grid(True, which="major", alpha=0.3)
    for ax in axes[0]:
        ax.set_yscale("log")
        ax.set_ylim(max(low_loss * 0.8, 1e-3), 2.5)
        ax.set_ylabel(f"training loss (mean of {window} batches, log scale)")
        ax.legend(fontsize=9, loc="upper right")
    # From 80% at most: a deep plain network starts far lower, and a full scale would flatten the
    # differences that matter at the end; what falls below is noted on the axis.
    bottom = max(ACCURACY_FLOOR, np.floor(min(low_accuracy, threshold) * 50 - 1) / 50)
    for ax in axes[1]:
        ax.set_ylim(bottom, 1.0)
        ax.yaxis.set_major_locator(MultipleLocator(0.05 if 1.0 - bottom > 0.1 else 0.01))
        ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
        ax.set_ylabel("validation accuracy" + (" (lower values off the chart)" if low_accuracy < bottom else ""))
        ax.legend(fontsize=9, loc="lower right")
    return _save(fig, folder, FIGURE_FILE)


def depth_list(text: str) -> tuple[int, ...]:
    """A comma-separated list of hidden-layer counts, e.g. 1,2,4,8."""
    try:
        depths = tuple(options.positive_int(part) for part in text.split(","))
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(f"expected whole numbers >= 1 separated by commas, e.g. 1,2,4,8; "
                                         f"got {text!r}") from None
    if len(depths) > len(COLOURS):
        raise argparse.ArgumentTypeError(f"at most {len(COLOURS)} depths, got {len(depths)}")
    return depths


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = textwrap.fill(
        "Train networks of several depths (1, 2, 4 and 8 hidden layers by default), each without and "
        "with batch normalisation: He initialisation, the same width, learning rate, batches and seeds "
        "in every arm. Shows the training loss and validation accuracy per depth and a table of the "
        "final accuracies and the iterations needed to reach --threshold, mean +- sample sd over --seeds. "
        "Needs stages 11 and 12 (or --solutions).")
    parser.epilog = (
        "examples:\n"
        "  kata experiment depth --solutions             the reference, default settings (about a minute)\n"
        "  kata experiment depth --depths 1,3,6 --seeds 5\n"
        "  kata experiment depth --lr 0.1 --epochs 4      another learning rate, every arm the same")
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    add_model_arguments(parser, DEFAULTS, depth=False)  # the arms set the depth: --depths
    common.add_seed_arguments(parser, SEEDS)
    parser.add_argument("--depths", type=depth_list, default=DEPTHS, metavar="D1,D2,...",
                        help=f"the numbers of hidden layers, one arm each (default {','.join(map(str, DEPTHS))})")
    parser.add_argument("--train-size", type=options.positive_int, default=None, metavar="N",
                        help="train on the first N training images (default: all 50,000)")
    parser.add_argument("--validation-size", type=options.positive_int, default=VALIDATION_SIZE, metavar="N",
                        help=f"measure on the first N validation images, {DEFAULTS.evals_per_epoch} times per "
                             f"epoch (default {VALIDATION_SIZE:,}; 10,000 is all, and slower)")
    parser.add_argument("--threshold", type=options.accuracy_threshold, default=THRESHOLD, metavar="ACC",
                        help=f"the validation accuracy of 'iterations to reach' (default {THRESHOLD:g})")


def run(args: argparse.Namespace) -> int:
    started, cpu_started = time.perf_counter(), time.process_time()
    config = config_from_args(args, evals_per_epoch=DEFAULTS.evals_per_epoch, first_epoch_eval_every=0,
                                       init="he")
    depths = tuple(args.depths)
    # Stage 11 for the plain arms; stage 12 for the batch-norm arms (and 11 is checked with it).
    impl = common.implementation(args, replace(config, batchnorm=True), "kata experiment depth")
    deep = deep_passes(replace(config, depth=max(depths), batchnorm=False), impl)
    if deep is False:
        print("Note: stage 11 does not pass yet, so the arms without batch normalisation use your "
              "stage functions chained by the checker instead of your deep_forward.")
    from ...data import load_dataset

    dataset = common.subset(load_dataset(args.data_dir), args.train_size, args.validation_size)
    seeds = common.seeds_of(args)
    arms = arms_of(config, depths)
    print(f"Depth experiment on {'the reference' if args.solutions else 'your'} networks: "
          f"{', '.join(map(str, depths))} hidden layers of {config.hidden}, each without and with batch "
          f"normalisation; {len(dataset.train.labels):,} training images, "
          f"{len(dataset.validation.labels):,} validation images, {common.plural(config.epochs, 'epoch')}, batches of "
          f"{config.batch_size}, lr {config.lr:g} ({config.lr_schedule}), He init, "
          f"seed{'s' if len(seeds) > 1 else ''} {', '.join(map(str, seeds))}.\n")
    run_dir = common.new_run_dir(args, "depth")
    bench = common.Bench(impl, dataset, deep=deep, threshold=args.threshold)
    results = common.run_or_clean_up(run_dir, bench.arms, arms, seeds)
    lines, rows = table(results, args.threshold, len(seeds))
    title = (f"Depth with and without batch normalisation: hidden layers of {config.hidden}, He init, "
             f"{len(dataset.train.labels):,} training images, batches of {config.batch_size}, lr {config.lr:g} "
             f"({config.lr_schedule}) in every arm; {len(seeds)} seed{'s' if len(seeds) > 1 else ''} "
             f"(line: mean, band: min to max)")
    plot(results, depths, args.threshold, title, run_dir)
    common.write_metrics_csv(run_dir / common.METRICS_FILE, results)
    common.write_table_csv(run_dir / common.TABLE_CSV, list(results), rows, seeds)
    (run_dir / common.TABLE_TEXT).write_text("\n".join(lines) + "\n")
    write_json(run_dir / common.CONFIG_FILE, common.config_dict(
        config, varied=("depth", "batchnorm"), experiment="depth", impl=impl, seeds=seeds, depths=list(depths),
        train_size=len(dataset.train.labels), validation_size=len(dataset.validation.labels),
        threshold=args.threshold))
    cpu = time.process_time() - cpu_started
    print()
    print("\n".join(lines))
    print(f"({common.spread_note(len(seeds))}; {common.REACH_NOTE}; diverged runs count as not reached)")
    where = display_path(run_dir, folder=True)
    print(f"\nFigure: {where}{FIGURE_FILE}  ({common.METRICS_FILE}, {common.TABLE_CSV}, {common.TABLE_TEXT}, "
          f"{common.CONFIG_FILE}); {time.perf_counter() - started:.1f} s ({cpu:.1f} s CPU) in all.")
    return 0
