"""The end of the curriculum: the first time stages 13 and 14 pass, `kata` trains the CNN on the
learner's code and closes with the three results side by side (Part I's MLP, the best Part II
recipe, the CNN) and the test digits that the CNN now reads and the MLP did not.

Runs are found in runs/ by what their config.json says: impl "exercises" (the learner's code),
model "mlp" or "cnn", and the Part II options. Predictions for the figure are recomputed from the
saved weights with the reference's forward pass (the weights are the learner's).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from .stages import ROOT

FIXED_FILE = "cnn_fixes.png"


def learner_runs(root: Path = ROOT) -> list[dict]:
    """Finished runs of the learner's code: {"dir", "config", "summary"}, oldest first."""
    runs = []
    for summary_path in sorted(Path(root, "runs").glob("*/summary.json"), key=lambda p: (p.stat().st_mtime, p.name)):
        try:
            summary = json.loads(summary_path.read_text(encoding="utf-8"))
            config = json.loads((summary_path.parent / "config.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if summary.get("impl") != "exercises" or not isinstance(summary.get("test_accuracy"), float):
            continue
        runs.append({"dir": summary_path.parent, "config": config, "summary": summary})
    return runs


def uses_part_two(config: dict) -> bool:
    return (config.get("l2", 0) > 0 or config.get("dropout", 0) > 0 or config.get("optimizer", "sgd") != "sgd"
            or config.get("depth", 1) != 1)


def cnn_trained_before(root: Path = ROOT) -> bool:
    return any(run["config"].get("model") == "cnn" for run in learner_runs(root))


def the_three(root: Path = ROOT) -> dict:
    """{"Part I MLP": run or None, "best Part II recipe": ..., "CNN": ...}: the newest plain MLP run,
    the Part II run with the best validation accuracy, the newest CNN run."""
    runs = learner_runs(root)
    mlp = [r for r in runs if r["config"].get("model", "mlp") == "mlp"]
    plain = [r for r in mlp if not uses_part_two(r["config"])]
    part_two = [r for r in mlp if uses_part_two(r["config"])]
    cnn = [r for r in runs if r["config"].get("model") == "cnn"]
    best = max(part_two, key=lambda r: r["summary"].get("validation_accuracy") or 0) if part_two else None
    return {"Part I MLP": plain[-1] if plain else None, "best Part II recipe": best, "CNN": cnn[-1] if cnn else None}


def predictions(run: dict, images: np.ndarray) -> np.ndarray:
    """Predicted classes of a saved run for images (N, 784), with the reference's forward pass."""
    from . import cnn
    from .network import layered
    from .commands.predict import load_run

    params, _, _ = load_run(run["dir"])
    forward, _ = cnn.network("solutions") if cnn.is_cnn(params) else layered("solutions")
    return np.concatenate([forward(params, images[i:i + 1000])[0].argmax(axis=1) for i in range(0, len(images), 1000)])


def report(root: Path = ROOT, test=None) -> list[str]:
    """The closing lines, and the figure of the digits the CNN fixed in the CNN's run folder."""
    runs = the_three(root)
    lines = ["", "The curriculum is complete. Your three networks, on the same 10,000 test digits:"]
    for name, run in runs.items():
        if run is None:
            lines.append(f"  {name:<20}  not trained yet")
            continue
        summary = run["summary"]
        lines.append(f"  {name:<20}  {summary['test_accuracy']:.2%}  ({Path(run['dir']).name})")
    mlp, cnn_run = runs["Part I MLP"], runs["CNN"]
    if mlp is not None and cnn_run is not None:
        from . import plots

        if test is None:
            from .data import load_dataset

            test = load_dataset().test
        mlp_said, cnn_said = predictions(mlp, test.images), predictions(cnn_run, test.images)
        fixed = np.flatnonzero((cnn_said == test.labels) & (mlp_said != test.labels))
        broken = np.flatnonzero((cnn_said != test.labels) & (mlp_said == test.labels))
        figure = plots.plot_fixed_digits(test.images, test.labels, mlp_said, fixed, Path(cnn_run["dir"]))
        rewrite_page(Path(cnn_run["dir"]), test)
        lines.append(f"The CNN reads {len(fixed)} test digits that the MLP got wrong (and misses {len(broken)} "
                     f"that the MLP read): {figure.relative_to(root) if figure.is_relative_to(root) else figure}")
    return lines


def rewrite_page(run_dir: Path, test) -> None:
    """The CNN run's report.html again, now with the figure of the digits it fixed (the page is
    generated; a page that cannot be written leaves the closing lines as they are)."""
    from types import SimpleNamespace

    from .commands import webpage
    from .errors import KataError

    try:
        webpage.write_page(run_dir, SimpleNamespace(test=test))
    except KataError:
        pass
