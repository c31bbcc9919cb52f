"""`kata experiment optimizers`: SGD against momentum against Adam, each at its best learning rate.

Every arm starts from the same initial weights and sees the same batches (the seed decides both);
only the update rule differs: sgd_step (stage 7), momentum_step or adam_step (stage 10). A fair
comparison gives each optimiser its own learning rate: a small sweep on the validation set (first
seed only), printed, picks it. Then every optimiser trains with every seed at its picked rate.

Reported: the training loss against iteration, validation accuracy and loss against iteration,
the number of iterations each needs to reach --threshold validation accuracy (to the iteration, found
between the validation passes: experiment.ThresholdWatcher) and the test accuracy, measured once at the
end; mean +- sample sd over the seeds.

Writes runs/<time>-experiment-optimizers/: optimizers_experiment.png, metrics.csv (every
validation pass of every run, sweeps included), config.json, table.csv and table.txt.
"""

from __future__ import annotations

import argparse
import textwrap
import time
from dataclasses import replace

import numpy as np

from ... import parts as pieces
from ... import training
from ... import options
from ...runs import write_json
from ...train_options import add_model_arguments, config_from_args
from ...project import display_path
from ...errors import UsageError
from ... import experiment as common

FIGURE_FILE = "optimizers_experiment.png"
# A constant learning rate, so that the curves show the optimisers and not a schedule; 16
# validation passes per epoch, to see when each reaches the threshold.
DEFAULTS = replace(training.TrainConfig(), hidden=128, epochs=2, batch_size=64, lr_schedule="constant",
                   evals_per_epoch=16)
VALIDATION_SIZE = 5000
THRESHOLD = 0.96
SEEDS = 3
LR_GRIDS = {"sgd": (0.1, 0.2, 0.4, 0.8), "momentum": (0.01, 0.02, 0.04, 0.08),
            "adam": (0.001, 0.002, 0.004, 0.008)}
COLOURS = {"sgd": "tab:red", "momentum": "tab:blue", "adam": "tab:green"}


def run_experiment(bench: common.Bench, config: training.TrainConfig, seeds: list[int],
                   grids: dict[str, tuple[float, ...]], out) -> tuple[dict, dict]:
    """(results {optimizer: [RunRecord per seed]}, sweeps {optimizer: (best lr, [(lr, run)])})."""
    sweeps = {}
    for name, grid in grids.items():
        out.write(f"Sweep of the learning rate of {name} on validation (seed {seeds[0]}):\n")
        base = replace(config, optimizer=name, seed=seeds[0])
        sweeps[name] = bench.sweep(f"{name} lr", list(grid), lambda lr, base=base: replace(base, lr=lr))
    out.write(f"Each optimiser at its learning rate, {len(seeds)} seed{'s' if len(seeds) > 1 else ''}:\n")
    arms = {name: replace(config, optimizer=name, lr=best) for name, (best, _) in sweeps.items()}
    return bench.arms(arms, seeds), sweeps


def table_rows(results: dict[str, list[common.RunRecord]], threshold: float) -> list[tuple[str, dict]]:
    def column(measure):
        return {name: [None if run.diverged else measure(run) for run in runs] for name, runs in results.items()}

    return [(f"iterations to {threshold:.1%} validation accuracy",
             column(lambda r: r.iterations_to_reach(threshold))),
            ("training loss (mean of the last epoch's batches)", column(lambda r: r.history.epochs[-1].train_loss)),
            ("validation accuracy (final)", column(lambda r: r.validation_accuracy)),
            ("test accuracy (once, at the end)", column(lambda r: r.test_accuracy))]


def format_row(name: str, values: list, seeds: int) -> str:
    if name.startswith("iterations"):
        reached = [v for v in values if v is not None]
        if len(reached) < len(values):
            return (f"not reached ({len(values) - len(reached)} of {seeds})" if not reached else
                    f"{common.format_cell(reached, percent=False).replace('.000', '')} "
                    f"({len(values) - len(reached)} of {seeds} not)")
        summary = common.mean_sd(values)
        return f"{summary[0]:.0f}" + (f" +- {summary[1]:.0f}" if len(values) > 1 else "")
    return common.format_cell(values, "accuracy" in name)


def plot(results, sweeps, threshold: float, title: str, folder) -> object:
    from matplotlib.figure import Figure
    from matplotlib.ticker import PercentFormatter

    from ...plots import _band, _epoch_axis, _save, running_mean

    fig = Figure(figsize=(14, 9.5), layout="constrained")
    fig.suptitle(textwrap.fill(title, 140), fontsize=12)
    (loss_ax, accuracy_ax), (validation_loss_ax, sweep_ax) = fig.subplots(2, 2)
    per_epoch = next(iter(results.values()))[0].history.iterations_per_epoch
    window = max(1, per_epoch // 20)
    lowest = 1.0
    for name, runs in results.items():
        runs = [r for r in runs if not r.diverged]
        if not runs:
            continue
        label = f"{name}, lr {runs[0].config.lr:g}"
        iterations = np.arange(1, runs[0].history.iterations + 1)
        _band(loss_ax, iterations, [running_mean(r.history.batch_loss, window) for r in runs], COLOURS[name], label)
        at = np.array([a for a, _, _ in runs[0].history.evals])
        accuracies = [[acc for _, _, acc in r.history.evals] for r in runs]
        _band(accuracy_ax, at, accuracies, COLOURS[name], label)
        _band(validation_loss_ax, at, [[loss for _, loss, _ in r.history.evals] for r in runs], COLOURS[name], label)
        lowest = min(lowest, float(np.min(np.asarray(accuracies)[:, len(at) // 8:])))
    loss_ax.set_yscale("log")
    loss_ax.set_ylabel(f"training loss (mean of {window} batches, log scale)")
    loss_ax.set_title("Training loss")
    accuracy_ax.axhline(threshold, color="0.4", linestyle="--", linewidth=1, label=f"threshold {threshold:.1%}")
    accuracy_ax.set_ylim(max(0.0, np.floor(min(lowest, threshold) * 50 - 1) / 50), 1.0)
    accuracy_ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    accuracy_ax.set_ylabel("validation accuracy")
    accuracy_ax.set_title("Validation accuracy")
    validation_loss_ax.set_yscale("log")
    validation_loss_ax.set_ylabel("validation loss (log scale)")
    validation_loss_ax.set_title("Validation loss")
    for ax in (loss_ax, accuracy_ax, validation_loss_ax):
        ax.set_xlim(0, per_epoch * len(next(iter(results.values()))[0].history.epochs))
        ax.set_xlabel("iteration")
        _epoch_axis(ax, per_epoch)
        ax.grid(True, which="major", alpha=0.3)
        ax.legend(fontsize=9, loc="lower right" if ax is accuracy_ax else "upper right")
    for name, (best, runs) in sweeps.items():
        lrs = [lr for lr, _ in runs]
        sweep_ax.plot(lrs, [run.validation_accuracy for _, run in runs], "o-", color=COLOURS[name], label=name)
        sweep_ax.plot(best, dict(runs)[best].validation_accuracy, "*", color="black", markersize=13)
    sweep_ax.set_xscale("log")
    sweep_ax.set_xlabel("learning rate (log scale); the star: picked")
    sweep_ax.set_ylabel("final validation accuracy")
    sweep_ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=1))
    first_seed = next(iter(sweeps.values()))[1][0][1].config.seed
    sweep_ax.set_title(f"Learning-rate sweeps on validation, seed {first_seed}")
    sweep_ax.grid(True, which="both", alpha=0.3)
    sweep_ax.legend(fontsize=9, loc="lower left")
    return _save(fig, folder, FIGURE_FILE)


def lr_grid(text: str) -> tuple[float, ...]:
    """A comma-separated list of positive learning rates, e.g. 0.05,0.1,0.2."""
    try:
        return tuple(options.positive_float(part) for part in text.split(","))
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(f"expected positive numbers separated by commas, got {text!r}") from None


def add_arguments(parser: argparse.ArgumentParser) -> None:
    defaults = training.TrainConfig()
    parser.description = textwrap.fill(
        "Compare SGD, momentum and Adam fairly: the same network, initial weights, batches and seeds; "
        "each optimiser's learning rate picked by a small sweep on the validation set, shown in the "
        "output; a constant learning rate by default, so that the curves show the optimisers. The "
        "test set is measured once per final run. Needs stage 10 (or --solutions).")
    parser.epilog = (
        "examples:\n"
        "  kata experiment optimizers --solutions             the reference, default settings\n"
        "  kata experiment optimizers --adam-lrs 0.001,0.003,0.01 --threshold 0.97\n"
        "  kata experiment optimizers --epochs 5 --seeds 5    longer, and more seeds")
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    add_model_arguments(parser, DEFAULTS, lr=False)  # the sweeps give the learning rates
    # Caught, so that --lr is not taken for an abbreviation of --lr-schedule.
    parser.add_argument("--lr", default=None, help=argparse.SUPPRESS)
    common.add_seed_arguments(parser, SEEDS)
    parser.add_argument("--train-size", type=options.positive_int, default=None, metavar="N",
                        help="train on the first N training images (default: all 50,000)")
    parser.add_argument("--validation-size", type=options.positive_int, default=VALIDATION_SIZE,
                        metavar="N", help=f"measure on the first N validation images, 16 times per epoch "
                                          f"(default {VALIDATION_SIZE:,}; 10,000 is all, and slower)")
    parser.add_argument("--threshold", type=options.accuracy_threshold, default=THRESHOLD, metavar="ACC",
                        help=f"the validation accuracy of 'iterations to reach' (default {THRESHOLD:g})")
    for name, grid in LR_GRIDS.items():
        parser.add_argument(f"--{name}-lrs", type=lr_grid, default=grid, metavar="LR1,LR2,...",
                            help=f"the learning rates of {name}'s sweep (default {','.join(map(str, grid))})")
    parser.add_argument("--momentum", type=options.fraction_below_one, default=defaults.momentum, metavar="M",
                        help=f"of momentum (default {defaults.momentum:g})")
    parser.add_argument("--beta1", type=options.fraction_below_one, default=defaults.beta1,
                        help=f"of adam (default {defaults.beta1:g})")
    parser.add_argument("--beta2", type=options.fraction_below_one, default=defaults.beta2,
                        help=f"of adam (default {defaults.beta2:g})")


def run(args: argparse.Namespace) -> int:
    started, cpu_started = time.perf_counter(), time.process_time()
    if args.lr is not None:
        raise UsageError("--lr: each optimiser's learning rate comes from its sweep on validation. "
                         "Give the rates to try with --sgd-lrs, --momentum-lrs and --adam-lrs. "
                         "See: kata experiment optimizers --help")
    config = config_from_args(args, lr=1.0, evals_per_epoch=DEFAULTS.evals_per_epoch,
                                       first_epoch_eval_every=0)
    impl = common.implementation(args, replace(config, optimizer="adam"), "kata experiment optimizers")
    from ...data import load_dataset

    dataset = common.subset(load_dataset(args.data_dir), args.train_size, args.validation_size)
    seeds = common.seeds_of(args)
    grids = {name: getattr(args, f"{name}_lrs") for name in pieces.OPTIMIZERS}
    sizes = "-".join(map(str, config.layer_sizes(dataset.train.images.shape[1])))
    print(f"Optimiser experiment on {'the reference' if args.solutions else 'your'} network {sizes}: "
          f"{len(dataset.train.labels):,} training images, {len(dataset.validation.labels):,} validation "
          f"images, {common.plural(config.epochs, 'epoch')}, batches of {config.batch_size}, {config.lr_schedule} learning "
          f"rate, momentum {config.momentum:g}, adam betas {config.beta1:g} and {config.beta2:g}, "
          f"seeds {', '.join(map(str, seeds))}.\n")
    run_dir = common.new_run_dir(args, "optimizers")
    bench = common.Bench(impl, dataset, threshold=args.threshold)
    results, sweeps = common.run_or_clean_up(run_dir, run_experiment, bench, config, seeds, grids, bench.out)
    header = list(results)
    rows = table_rows(results, args.threshold)
    table = common.format_table(
        ["", *(f"{name} (lr {sweeps[name][0]:g})" for name in header)],
        [[name, *(format_row(name, values[n], len(seeds)) for n in header)] for name, values in rows])
    sweep_lines = [f"sweep of {name}'s learning rate: "
                   + ", ".join(f"{lr:g}: {run.validation_accuracy:.2%}" for lr, run in runs) + f" -> {best:g}"
                   for name, (best, runs) in sweeps.items()]
    title = (f"SGD, momentum and Adam from the same weights and batches: {sizes}, "
             f"{len(dataset.train.labels):,} training images, batches of {config.batch_size}, "
             f"{config.lr_schedule} learning rate; {len(seeds)} seed{'s' if len(seeds) > 1 else ''} "
             f"(line: mean, band: min to max)")
    figure = plot(results, sweeps, args.threshold, title, run_dir)
    common.write_metrics_csv(run_dir / common.METRICS_FILE,
                             {f"{name} lr {lr:g}": [run] for name, (_, runs) in sweeps.items() for lr, run in runs}
                             | results)
    common.write_table_csv(run_dir / common.TABLE_CSV, header, rows, seeds)
    (run_dir / common.TABLE_TEXT).write_text("\n".join([*sweep_lines, "", *table]) + "\n")
    write_json(run_dir / common.CONFIG_FILE, common.config_dict(
        config, varied=("optimizer", "lr"), experiment="optimizers", impl=impl, seeds=seeds, layer_sizes=sizes,
        optimizers=list(grids), momentum=config.momentum, beta1=config.beta1, beta2=config.beta2,
        train_size=len(dataset.train.labels), validation_size=len(dataset.validation.labels),
        threshold=args.threshold, lr_grids={k: list(v) for k, v in grids.items()},
        picked_lr={name: best for name, (best, _) in sweeps.items()}))
    cpu = time.process_time() - cpu_started
    print("\n".join(table))
    print(f"({common.spread_note(len(seeds))}; {common.REACH_NOTE})")
    where = display_path(run_dir, folder=True)
    print(f"\nFigure: {where}{figure.name}  ({common.METRICS_FILE}, {common.TABLE_CSV}, {common.TABLE_TEXT}, "
          f"{common.CONFIG_FILE}); {time.perf_counter() - started:.1f} s ({cpu:.1f} s CPU) in all.")
    return 0
