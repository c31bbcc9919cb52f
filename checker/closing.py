"""The end of the curriculum: the first time stages 13 and 14 pass, `kata` trains the CNN on the
learner's code and closes with the three results side by side (Part I's MLP, the best Part II
recipe, the CNN) and the test digits that the CNN now reads and the MLP did not.

Runs are found in runs/ (checker.runs) by what their config.json says: impl "exercises" (the
learner's code), model "mlp" or "cnn", and the Part II options. Predictions for the figure are recomputed from the
saved weights with the reference's forward pass (the weights are the learner's).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from . import models, runs
from .errors import KataError
from .project import ROOT, display_path

FIXED_FILE = "cnn_fixes.png"


def uses_part_two(config: dict) -> bool:
    """True when a run's config turns on a Part II option (L2, dropout, momentum or Adam, depth,
    batch norm)."""
    positive = lambda key: (runs.number(config.get(key)) or 0) > 0  # noqa: E731 - a hand-edited "x" counts as off
    return (positive("l2") or positive("dropout") or config.get("optimizer", "sgd") != "sgd"
            or config.get("depth", 1) != 1 or config.get("batchnorm", False) is True)


def cnn_trained_before(root: Path | None = None) -> bool:
    return any(run.model == "cnn" for run in runs.learner_runs(root))


def make_missing_figure(root: Path | None = None) -> Path | None:
    """The figure of the digits the CNN fixed, made now if the newest CNN run of the learner's code
    lacks it while a Part I MLP run exists (a CNN trained before the kata made it, or before the
    MLP); its path, or None when there is none to make or it cannot be made (unreadable weights)."""
    from .errors import KataError

    three = the_three(root)
    mlp, cnn_run = three["Part I MLP"], three["CNN"]
    if mlp is None or cnn_run is None or (cnn_run.dir / FIXED_FILE).is_file():
        return None
    try:
        report(root)
    except (KataError, OSError, ValueError):
        return None
    figure = cnn_run.dir / FIXED_FILE
    return figure if figure.is_file() else None


def the_three(root: Path | None = None) -> dict:
    """{"Part I MLP": run or None, "best Part II recipe": ..., "CNN": ...}: the newest plain MLP run,
    the Part II run with the best validation accuracy, the newest CNN run."""
    learner = runs.learner_runs(root)
    mlp = [r for r in learner if r.model == "mlp"]
    plain = [r for r in mlp if not uses_part_two(r.config)]
    part_two = [r for r in mlp if uses_part_two(r.config)]
    cnn = [r for r in learner if r.model == "cnn"]
    best = max(part_two, key=lambda r: r.validation_accuracy or 0) if part_two else None
    return {"Part I MLP": plain[-1] if plain else None, "best Part II recipe": best, "CNN": cnn[-1] if cnn else None}


# How to train each of the three when it is missing; the Part II one is docs/results.md's
# "The recommended Part II recipe" (selftests/test_closing.py holds the two together).
PART_TWO_RECIPE = "kata train --hidden 512 --epochs 14 --dropout 0.2 --l2 5e-5"
TO_TRAIN = {"Part I MLP": "kata train", "best Part II recipe": PART_TWO_RECIPE, "CNN": "kata train --model cnn"}


def comparison(three: dict) -> list[str]:
    """One line per network of the_three: its test accuracy and run folder, or how to train it."""
    lines = []
    for name, run in three.items():
        if run is None:
            lines.append(f"  {name:<20}  not trained yet: {TO_TRAIN[name]}")
        else:
            lines.append(f"  {name:<20}  {run.test_accuracy:.2%}  ({run.name})")
    return lines


# What there is to do once the curriculum is complete: (command, what it does), for the
# experiments of the stages the kata has (module).
EXPERIMENTS_AFTER = (("optimizers", "optimizers", "SGD, momentum and Adam compared"),
                     ("depth", "deep", "1 to 8 hidden layers, with and without batch norm"),
                     ("regularization", "regularization", "L2 and dropout against overfitting"))


def next_steps() -> list[tuple[str, str]]:
    """The next things to try once the learner's CNN is trained."""
    from .stages import all_stages

    modules = {stage.module for stage in all_stages()}
    options = [("kata report --open", "the newest run's web page: its figures, and a canvas to draw on"),
               ("kata predict IMAGE.png", "read a digit you wrote with your newest network")]
    options += [(f"kata experiment {name}", what) for name, module, what in EXPERIMENTS_AFTER if module in modules]
    options.append(("kata train --help", "train again: every option, for either model"))
    return options


def next_lines() -> list[str]:
    """next_steps as the last lines of a report, without colour."""
    options = next_steps()
    width = max(len(command) for command, _ in options) + 3
    return ["", "Next:", *(f"  {command:<{width}}{what}" for command, what in options)]


def report(root: Path | None = None, dataset=None) -> list[str]:
    """The closing lines, and the figure of the digits the CNN fixed in the CNN's run folder, added
    to that run's plots (summary.json) and web page. dataset: MNIST, if already loaded."""
    three = the_three(root)
    lines = ["", "The curriculum is complete. Your three networks, on the same 10,000 test digits:", *comparison(three)]
    mlp, cnn_run = three["Part I MLP"], three["CNN"]
    if mlp is not None and cnn_run is not None:
        from . import plots

        try:  # before loading MNIST
            networks = runs.load_network(mlp.dir), runs.load_network(cnn_run.dir)
        except KataError as error:  # a run's weights.npz cut short or edited: the comparison stands without it
            return lines + [f"Note: the figure of the digits the CNN reads and the MLP does not is not made: {error}"]
        if dataset is None:
            from .data import load_dataset

            dataset = load_dataset()
        test = dataset.test
        mlp_said, cnn_said = (models.predict(params, test.images).argmax(axis=1) for params in networks)
        fixed = np.flatnonzero((cnn_said == test.labels) & (mlp_said != test.labels))
        broken = np.flatnonzero((cnn_said != test.labels) & (mlp_said == test.labels))
        figure = plots.plot_fixed_digits(test.images, test.labels, mlp_said, fixed, cnn_run.dir, FIXED_FILE)
        page = add_to_the_run(cnn_run.dir, figure, dataset)
        also = f", also on the run's web page {display_path(page, root or ROOT)}" if page is not None else ""
        lines.append(f"The CNN reads {len(fixed)} test digits that the MLP got wrong (and misses {len(broken)} "
                     f"that the MLP read): {display_path(figure, root or ROOT)}{also}")
    return lines


def add_to_the_run(run_dir: Path, figure: Path, dataset) -> Path | None:
    """List figure among the run's plots in summary.json and write its web page again; the page's
    path, or None when the page cannot be written (the closing lines stand without it)."""
    from .page import write_page

    run = runs.Run.load(run_dir)
    if figure.name not in run.plots:
        runs.write_json(run_dir / runs.SUMMARY_FILE, {**run.summary, "plots": [*run.plots, figure.name]})
    try:
        return write_page(run_dir, dataset).path
    except KataError:
        return None
