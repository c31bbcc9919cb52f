"""One training run as `kata train` makes it, from a TrainConfig to a saved run folder: the stages it
needs, the time it will take, the training loop, the run folder (checker.runs) with its figures
(checker.plots) and its web page (checker.page), and what is printed along the way.

`kata train` calls `train_and_save` after parsing its options; `kata` calls it too, the first time
Part I passes (the defaults) and the first time Part III passes (the CNN).
"""

from __future__ import annotations

import platform
import time
from pathlib import Path

import numpy as np

from . import closing, estimate, models, runs, training
from . import parts as pieces
from .epoch_bar import EpochBar
from .errors import KataError
from .learner_code import deep_passes, require_passing_stages, run_learner_code
from .project import display_path
from .threads import blas_threads, rechecking


def train_and_save(config: training.TrainConfig, *, solutions: bool = False, data_dir=None, out: Path | None = None,
                   name: str | None = None, yes: bool = False, stages_known_to_pass: bool = False) -> int:
    """Train config's network on the learner's code (or the reference's, solutions=True) and save the
    run; print what happens. Returns the exit code (0, or 130 after Ctrl-C); raises KataError when
    the stages it needs do not pass, the run would be too long, or it diverged or did not learn.

    stages_known_to_pass: the caller has just run every Part I suite (kata status)."""
    # BLAS on the cores free (checker/threads.py): one thread until training starts, then chosen from
    # what the machine did meanwhile, and checked again as training goes.
    with blas_threads(choose_now=False) as threads:
        return _train_and_save(config, solutions, data_dir, out, name, yes, stages_known_to_pass, threads)


def _train_and_save(config, solutions, data_dir, out, name, yes, stages_known_to_pass, threads) -> int:
    started = time.perf_counter()
    impl = "solutions" if solutions else "exercises"
    if not solutions and not (stages_known_to_pass and not pieces.required_modules(config)):
        require_passing_stages(config)
    from .data import load_dataset

    dataset = load_dataset(data_dir)
    num_inputs = dataset.train.images.shape[1]
    estimate.check_memory(config, dataset)
    parts = training.load_parts(impl, config, deep=deep_passes(config, impl))
    if config.model == "cnn":
        from .cnn import describe

        sizes = describe(training.initial_params(parts, config, num_inputs))
    else:
        sizes = "-".join(map(str, config.layer_sizes(num_inputs)))
    who = "the reference implementation" if solutions else "your network"
    # Timed beside the reference's functions: the estimate, and whether a long run asks first.
    batch = run_learner_code(impl, estimate.time_one_batch, parts, config, dataset)
    seconds = estimate.estimated_run_seconds(batch.seconds, config, dataset)
    print(estimate.timing_line(batch, config, seconds, whose="the reference's" if solutions else "your"))
    estimate.confirm_long_run(seconds, yes, batch=batch, command=train_command(config))
    print(f"Training {who} ({sizes}, {config.init} init) on {len(dataset.train.labels):,} images: "
          f"{plural(config.epochs, 'epoch')}, batches of {config.batch_size}, lr {config.lr:g} "
          f"({config.lr_schedule}), seed {config.seed}{pieces.describe(config)}.")
    if config.depth > 1 or config.dropout > 0 or config.batchnorm:
        print(f"Forward and backward passes: {'the reference' if solutions else 'your'} {parts.network}.")
    # The learner's first CNN on MNIST ends the curriculum: the closing comparison follows it.
    first_cnn = not solutions and config.model == "cnn" and data_dir is None and not closing.cnn_trained_before()
    # Made before training, so that an unusable --out fails at once, not after the training.
    run_dir = runs.new_run_dir(out or runs.runs_folder(), name or impl)
    try:
        threads.choose()
        result = run_learner_code(impl, training.train, parts, dataset, config, rechecking(EpochBar()))
    except BaseException:
        run_dir.rmdir()  # still empty
        raise
    # After Ctrl-C the learner wants out: the test pass only when it is quick with these functions.
    test_pass = estimate.test_pass_seconds(batch.seconds, config, dataset)
    measure_test = result.stopped != "interrupted" or test_pass <= QUICK_TEST_SECONDS
    if result.stopped == "interrupted":
        print(f"\nStopped by Ctrl-C after {result.history.iterations} iterations; saving what there is so far"
              + ("." if measure_test else f", without the test pass (it would take about "
                                         f"{estimate.duration(test_pass)} with these functions)."), flush=True)
    try:
        summary = save_run(run_dir, parts, config, dataset, result, started, measure_test=measure_test)
    except KeyboardInterrupt:  # a second Ctrl-C, or SIGTERM: keep what was saved, marked as such
        kept = mark_interrupted_while_saving(run_dir, result)
        print(f"\nStopped while saving the run: kept {', '.join(kept) or 'nothing but the summary'} in "
              f"{display_path(run_dir, folder=True)} (marked as interrupted in {runs.SUMMARY_FILE}).")
        return 130
    where = display_path(run_dir, folder=True)
    if result.stopped == "diverged":
        raise KataError(f"{result.message} The metrics and curves so far are in {where}")
    failure = training.did_not_learn(result.history, config) if result.stopped is None else None
    if failure:
        summary.update(learned=False, message=failure)
        runs.write_json(run_dir / runs.SUMMARY_FILE, summary)
        raise KataError(f"{failure} The run is kept in {where}; kata predict skips it unless named with --run.")
    closes = (first_cnn and result.stopped is None and summary["test_accuracy"] is not None
              and in_runs_folder(run_dir))
    if summary["test_accuracy"] is None:
        print(f"Test accuracy: not measured (stopped by Ctrl-C), after {plural(summary['epochs_completed'], 'epoch')}.")
    else:
        print(f"Test accuracy: {summary['test_accuracy']:.2%} on {len(dataset.test.labels):,} test "
              f"images, after {plural(summary['epochs_completed'], 'epoch')}.")
    if summary["l2_term"] is not None:
        print(f"The training loss shown is the data loss (cross-entropy) alone, as in the plots; the "
              f"L2 term 0.5 * {config.l2:g} * sum(W**2) adds {summary['l2_term']:.4f} to it at the end.")
    print(f"Training took {result.train_seconds:.1f} s; the whole run {summary['wall_time_s']:.1f} s.")
    print(f"Results in {where}: {runs.METRICS_FILE}, {runs.CONFIG_FILE}, {runs.WEIGHTS_FILE}, {runs.SUMMARY_FILE}")
    print(f"  plots: {', '.join(summary['plots'])}")
    from .page import write_page

    page = write_page(run_dir, dataset)
    print(f"Web page: {display_path(page.path)}  ({page.what_to_do})")
    if closes:  # the end of the curriculum, whichever command trained the learner's first CNN
        print("\n".join(closing.report(dataset=dataset)))
        print("\n".join(closing.next_lines()))
    elif in_runs_folder(run_dir):
        print("Try it on a digit: kata predict --index 0  (or kata predict my_digit.png)")
    else:  # kata predict looks in runs/: this run must be named
        print(f"Try it on a digit: kata predict --index 0 --run {display_path(run_dir)}  (kata predict looks in "
              f"runs/ unless --run names a run folder)")
    return 130 if result.stopped == "interrupted" else 0


QUICK_TEST_SECONDS = 15  # after Ctrl-C, a test pass estimated at longer is skipped


def train_command(config: training.TrainConfig) -> str:
    """The kata train command that trains config's kind of network, to run it again."""
    return "kata train --model cnn" if config.model == "cnn" else "kata train"


def in_runs_folder(run_dir: Path) -> bool:
    """run_dir is in the kata's runs/ (not made elsewhere with --out)."""
    try:
        return Path(run_dir).resolve().parent == runs.runs_folder().resolve()
    except OSError:
        return False


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def save_run(run_dir: Path, parts: training.Parts, config: training.TrainConfig, dataset,
             result: training.TrainResult, started: float, measure_test: bool = True) -> dict:
    """Write everything a run leaves behind into run_dir and return the summary.

    The test set is used here, once, after training: for the reported accuracy and the figures
    (not when measure_test is False: a run stopped by Ctrl-C whose test pass would be long).
    """
    from . import plots  # matplotlib takes a moment to import: only after training

    num_inputs = dataset.train.images.shape[1]
    # Marked as not finished until the real summary replaces this one at the end: a run killed while its
    # files are written (kill -9, a full disk) says so, and kata predict and kata report skip it.
    runs.write_json(run_dir / runs.SUMMARY_FILE, {
        "test_accuracy": None, "impl": parts.impl, "run_dir": str(run_dir), "plots": [], "finished": False,
        "stopped": runs.INCOMPLETE, "message": "the run stopped while it was being saved"})
    runs.write_metrics(run_dir / runs.METRICS_FILE, result.history)
    runs.write_json(run_dir / runs.CONFIG_FILE, {
        **config.applying(),
        "impl": parts.impl,
        **models.architecture(config, result.params, num_inputs, parts.network),
        "dataset": getattr(dataset, "name", "mnist"),
        "data_dir": str(getattr(dataset, "data_dir", "")),
        "train_examples": len(dataset.train.labels),
        "validation_examples": len(dataset.validation.labels),
        "numpy": np.__version__,
        "python": platform.python_version(),
    })
    np.savez(run_dir / runs.WEIGHTS_FILE, **result.params)

    test_accuracy = None
    figures = [plots.plot_loss(result.history, run_dir), plots.plot_accuracy(result.history, run_dir)]
    if result.stopped != "diverged" and measure_test:
        test = dataset.test
        _, test_accuracy, probs = training.evaluate(parts, result.params, test.images,
                                                    training.one_hot_targets(parts.impl, test.labels))
        predictions = probs.argmax(axis=1)
        figures += [plots.plot_confusion(test.labels, predictions, run_dir),
                    plots.plot_misclassified(test.images, test.labels, probs, run_dir)]
    if result.stopped != "diverged":
        figures.append(
            plots.plot_conv_filters(result.params["W1"], result.params["b1"], dataset.train.images[0], run_dir)
            if models.kind_of_config(config) == "cnn" else
            plots.plot_first_layer_weights(
                result.params["W1"], run_dir,
                W1_start=training.initial_params(parts, config, num_inputs)["W1"],
                pixel_use=np.mean(dataset.train.images > 0, axis=0)))
    last = result.history.epochs[-1] if result.history.epochs else None
    summary = {
        "test_accuracy": test_accuracy,
        "validation_accuracy": last.validation_accuracy if last else None,
        "train_loss": last.train_loss if last else None,  # the data loss, without the L2 term
        "l2_term": last.penalty if last else None,  # the L2 term at the end; None without --l2
        "impl": parts.impl,
        "run_dir": str(run_dir),
        "plots": [path.name for path in figures],
        "epochs_completed": len(result.history.epochs),
        "iterations": result.history.iterations,
        "train_time_s": round(result.train_seconds, 3),
        "wall_time_s": round(time.perf_counter() - started, 3),
        "finished": result.stopped is None,
        "stopped": result.stopped,
        "message": result.message,
    }
    runs.write_json(run_dir / runs.SUMMARY_FILE, summary)
    return summary


def mark_interrupted_while_saving(run_dir: Path, result: training.TrainResult) -> list[str]:
    """After a stop while save_run wrote run_dir: a summary.json that says so. Returns the files kept."""
    kept = [name for name in runs.kept_files(run_dir) if name != runs.SUMMARY_FILE]
    runs.write_json(run_dir / runs.SUMMARY_FILE, {
        "test_accuracy": None, "run_dir": str(run_dir), "plots": [n for n in kept if n.endswith(".png")],
        "iterations": result.history.iterations, "epochs_completed": len(result.history.epochs),
        "finished": False, "stopped": "interrupted",
        "message": f"stopped while the run was being saved; kept: {', '.join(kept) or 'nothing'}"})
    return kept
