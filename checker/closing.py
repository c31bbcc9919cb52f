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


def cnn_trained_before(root: Path = ROOT) -> bool:
    return any(run.model == "cnn" for run in runs.learner_runs(root))


def the_three(root: Path = ROOT) -> dict:
    """{"Part I MLP": run or None, "best Part II recipe": ..., "CNN": ...}: the newest plain MLP run,
    the Part II run with the best validation accuracy, the newest CNN run."""
    learner = runs.learner_runs(root)
    mlp = [r for r in learner if r.model == "mlp"]
    plain = [r for r in mlp if not uses_part_two(r.config)]
    part_two = [r for r in mlp if uses_part_two(r.config)]
    cnn = [r for r in learner if r.model == "cnn"]
    best = max(part_two, key=lambda r: r.validation_accuracy or 0) if part_two else None
    return {"Part I MLP": plain[-1] if plain else None, "best Part II recipe": best, "CNN": cnn[-1] if cnn else None}


def predictions(run: runs.Run, images: np.ndarray) -> np.ndarray:
    """Predicted classes of a saved run for images (N, 784), with the reference's forward pass."""
    return models.predict(runs.load_network(run.dir), images).argmax(axis=1)


# How to train each of the three when it is missing; the Part II one is docs/results.md's
# "The recommended Part II recipe" (selftests/test_closing.py holds the two together).
PART_TWO_RECIPE = "kata train --hidden 512 --epochs 14 --dropout 0.2 --l2 5e-5"
TO_TRAIN = {"Part I MLP": "kata train", "best Part II recipe": PART_TWO_RECIPE, "CNN": "kata train --model cnn"}


def comparison(runs: dict) -> list[str]:
    """One line per network of the_three: its test accuracy and run folder, or how to train it."""
    lines = []
    for name, run in runs.items():
        if run is None:
            lines.append(f"  {name:<20}  not trained yet: {TO_TRAIN[name]}")
        else:
            lines.append(f"  {name:<20}  {run.test_accuracy:.2%}  ({run.name})")
    return lines


def report(root: Path = ROOT, dataset=None) -> list[str]:
    """The closing lines, and the figure of the digits the CNN fixed in the CNN's run folder, added
    to that run's plots (summary.json) and web page. dataset: MNIST, if already loaded."""
    runs = the_three(root)
    lines = ["", "The curriculum is complete. Your three networks, on the same 10,000 test digits:", *comparison(runs)]
    mlp, cnn_run = runs["Part I MLP"], runs["CNN"]
    if mlp is not None and cnn_run is not None:
        from . import plots

        if dataset is None:
            from .data import load_dataset

            dataset = load_dataset()
        test = dataset.test
        try:
            mlp_said, cnn_said = predictions(mlp, test.images), predictions(cnn_run, test.images)
        except KataError as error:  # a run's weights.npz cut short or edited: the comparison stands without it
            return lines + [f"Note: the figure of the digits the CNN reads and the MLP does not is not made: {error}"]
        fixed = np.flatnonzero((cnn_said == test.labels) & (mlp_said != test.labels))
        broken = np.flatnonzero((cnn_said != test.labels) & (mlp_said == test.labels))
        figure = plots.plot_fixed_digits(test.images, test.labels, mlp_said, fixed, cnn_run.dir, FIXED_FILE)
        page = add_to_the_run(cnn_run.dir, figure, dataset)
        also = f", also on the run's web page {display_path(page, root)}" if page is not None else ""
        lines.append(f"The CNN reads {len(fixed)} test digits that the MLP got wrong (and misses {len(broken)} "
                     f"that the MLP read): {display_path(figure, root)}{also}")
    return lines


def add_to_the_run(run_dir: Path, figure: Path, dataset) -> Path | None:
    """List figure among the run's plots in summary.json and write its web page again; the page's
    path, or None when the page cannot be written (the closing lines stand without it)."""
    from .page import write_page

    run = runs.Run.load(run_dir)
    if figure.name not in run.plots:
        runs.write_json(run_dir / runs.SUMMARY_FILE, {**run.summary, "plots": [*run.plots, figure.name]})
    try:
        return write_page(run_dir, dataset)
    except KataError:
        return None
