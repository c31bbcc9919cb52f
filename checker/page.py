"""report.html: one web page of a training run, where the run's own network reads what you draw.

One self-contained file that works offline from file://: the run's summary, its figures (embedded as
data URIs), and a drawing canvas. The page's template, style and script are package data in
checker/assets/ (page.html with {placeholders}, filled in one pass, so nothing inserted is ever read
as a placeholder). The script (assets/page.js) brings the drawing to MNIST's form exactly as
`kata predict` does (checker.images) and runs the run's network, whose weights are embedded as
base64 float32 arrays. `kata train` writes the page at the end of every run; `kata report` again.

The page runs dense ReLU networks of any depth and the CNNs of checker/cnn.py (checker.models says
which a run is). A network it does not run (batch normalisation) gets the summary and the figures
and a notice that the page does not run it, never a wrong answer.

    build_page(run_dir) -> str, write_page(run_dir) -> Path, page_data(text) -> the page's JSON block
"""

from __future__ import annotations

import base64
import html
import json
import re
from functools import lru_cache
from pathlib import Path

import numpy as np

from . import models, runs
from .errors import KataError
from .project import replace_file

PAGE_FILE = runs.PAGE_FILE
SIDE = 28
ASSETS = Path(__file__).with_name("assets")
WRONG_DIGITS = 4  # misclassified test digits offered on the page, next to one right digit per class
FIGURE_CAPTIONS = {
    "loss.png": "Training loss per iteration and validation loss, by epoch.",
    "accuracy.png": "Training and validation accuracy.",
    "confusion.png": "Confusion matrix on the test set: which digit is read as which.",
    "misclassified.png": "Test digits the network gets wrong.",
    "first_layer_weights.png": "First-layer weights of hidden units as 28x28 images, and what training changed.",
    "first_layer_filters.png": "The first-layer filters of the CNN and what each makes of a training digit "
                               "(its output after ReLU).",
    "cnn_fixes.png": "Test digits the CNN reads right that the Part I MLP got wrong.",
}


@lru_cache(maxsize=None)
def asset(name: str) -> str:
    """A file of checker/assets/ (the page's template, fragments, style and script)."""
    return (ASSETS / name).read_text(encoding="utf-8")


def fill(template: str, values: dict[str, str]) -> str:
    """template with each {name} of values replaced, in one pass."""
    return re.sub(r"\{(" + "|".join(map(re.escape, values)) + r")\}", lambda m: values[m.group(1)], template)


# --- the network, as the page can run it -------------------------------------------------------

def page_layers(params: dict, config: dict) -> tuple[list[tuple[np.ndarray, np.ndarray]] | None, str]:
    """([(W1, b1), ..., (WL, bL)] as float32, "") when the page can run the network; otherwise
    (None, why not), in words for the learner. checker.models decides what the network is."""
    normalisation = sorted(key for key in params if str(key).rstrip("0123456789") in models.NORMALISATION)
    if normalisation:
        shown = ", ".join(normalisation[:6]) + (", ..." if len(normalisation) > 6 else "")
        return None, f"it uses batch normalisation ({shown} in weights.npz), which the page does not run"
    try:
        found = models.network_of(params)
    except models.NotANetwork as problem:
        return None, str(problem)
    if found.inputs != SIDE * SIDE:
        return None, (f"layer 1 is not a dense layer taking {SIDE * SIDE} inputs (W1 has shape {found.shapes[0]}): "
                      f"a network for images other than {SIDE}x{SIDE}")
    problem = models.matches_config(found, config)
    if problem:
        return None, problem
    return [(np.asarray(params[f"W{l}"], np.float32), np.asarray(params[f"b{l}"], np.float32))
            for l in range(1, found.layers + 1)], ""


def forward(layers: list[tuple[np.ndarray, np.ndarray]], images: np.ndarray) -> np.ndarray:
    """Probabilities (N, C) of images (N, 784): the reference forward pass of the page's network."""
    params = {f"{k}{l}": p for l, pair in enumerate(layers, 1) for k, p in zip("Wb", pair)}
    return models.predict(params, images)


def sample_digits(layers, config: dict, dataset=None, chunk: int = 1000) -> tuple[list[dict], str]:
    """Test digits for the page: one read right per class, and the first few read wrong (the test
    set is read in chunks until they are found)."""
    from .data import load_dataset

    if dataset is None:
        trained_on = config.get("data_dir")
        try:
            dataset = load_dataset(trained_on if trained_on and Path(trained_on).is_dir() else None)
        except KataError as error:
            return [], f"The test digits could not be loaded: {error}"
    test = dataset.test
    if test.images.shape[1] != SIDE * SIDE:
        return [], "The test images are not 28x28."
    pixels = np.clip(np.rint(test.images * 255), 0, 255).astype(np.uint8)
    right, wrong, predicted = {}, [], np.full(len(test.labels), -1)
    for start in range(0, len(pixels), chunk):
        part = slice(start, start + chunk)
        predicted[part] = forward(layers, pixels[part].astype(np.float32) / 255).argmax(axis=1)
        for i in range(start, min(start + chunk, len(pixels))):
            label = int(test.labels[i])
            if predicted[i] == label:
                right.setdefault(label, i)
            elif len(wrong) < WRONG_DIGITS:
                wrong.append(i)
        if len(right) == 10 and len(wrong) == WRONG_DIGITS:
            break
    chosen = [right[c] for c in sorted(right)] + wrong
    return [{"index": i, "label": int(test.labels[i]), "predicted": int(predicted[i]),
             "pixels": base64.b64encode(pixels[i].tobytes()).decode("ascii")} for i in chosen], ""


def float32_base64(array: np.ndarray) -> str:
    return base64.b64encode(np.ascontiguousarray(array, dtype="<f4").tobytes()).decode("ascii")


def wide(png: Path) -> str:
    """' class="wide"' for a PNG over three times as wide as high (a row of filters): it gets the
    page's whole width; '' otherwise."""
    header = png.read_bytes()[:24]
    width, height = int.from_bytes(header[16:20], "big"), int.from_bytes(header[20:24], "big")
    return ' class="wide"' if header[12:16] == b"IHDR" and width > 3 * height else ""


def percent(value) -> str:
    return f"{value:.2%}" if isinstance(value, (int, float)) else "not measured"


def seconds(value) -> str:
    return f"{value:.1f} s" if isinstance(value, (int, float)) else "unknown"


def figure_caption(name: str, params: dict) -> str:
    caption = FIGURE_CAPTIONS.get(name, "")
    if name == "first_layer_filters.png" and np.ndim(params.get("W1")) == 4:
        caption = caption.replace("The first-layer filters", f"The {np.shape(params['W1'])[0]} first-layer filters")
    return caption


OPTIMIZERS = {"sgd": lambda c: "SGD",
              "momentum": lambda c: f"SGD with momentum {c.get('momentum', '?')}",
              "adam": lambda c: f"Adam (beta1 {c.get('beta1', '?')}, beta2 {c.get('beta2', '?')})"}
# config.json fields shown by summary_rows in their own words, or part of the network's description
# (hidden, depth, batchnorm of an MLP; filters, kernel, cnn_hidden of a CNN), or of no use on the
# page (data_dir): never shown as raw fields. Fields not named here (newer ones) are shown as they are.
DESCRIBED = {"layer_sizes", "impl", "init", "epochs", "batch_size", "lr", "lr_schedule", "seed", "dataset",
             "train_examples", "validation_examples", "data_dir", "hidden", "depth", "batchnorm", "model",
             "filters", "kernel", "cnn_hidden", "architecture", "network", "optimizer", "momentum", "beta1",
             "beta2", "l2", "dropout", "shift", "evals_per_epoch", "first_epoch_eval_every", "numpy", "python"}


def summary_rows(config: dict, summary: dict, network: str, parameters: int | None = None) -> list[tuple[str, str]]:
    """(name, value) rows of the run's settings and results: only the settings that apply to the run
    (its optimizer's, its kind of network's), older runs' missing fields included."""
    impl = config.get("impl") or summary.get("impl")
    rows = [("Network", network + (f" ({parameters:,} weights and biases)" if parameters else "")),
            ("Code", {"exercises": "your functions (exercises/)", "solutions": "the reference (solutions/)"}.get(impl, str(impl))),
            ("Initialisation", str(config.get("init", "unknown"))),
            ("Epochs", f"{summary.get('epochs_completed', '?')} of {config.get('epochs', '?')}"),
            ("Batch size", str(config.get("batch_size", "unknown"))),
            ("Learning rate", f"{config.get('lr', '?')} ({config.get('lr_schedule', 'unknown schedule')})")]
    if config.get("optimizer") in OPTIMIZERS:
        rows.append(("Optimizer", OPTIMIZERS[config["optimizer"]](config)))
    if "l2" in config or "dropout" in config:
        regularisation = [f"{name} {config[key]}" for key, name in (("l2", "L2"), ("dropout", "dropout"))
                          if isinstance(config.get(key), (int, float)) and config[key] > 0]
        rows.append(("Regularisation", ", ".join(regularisation) or "none"))
    if isinstance(config.get("shift"), int) and config["shift"] > 0:
        pixels = f"{config['shift']} pixel" + ("s" if config["shift"] > 1 else "")
        rows.append(("Training images", f"each moved by up to {pixels} each way, afresh every epoch"))
    rows.append(("Seed", str(config.get("seed", "unknown"))))
    rows.append(("Data", f"{config.get('dataset', 'unknown')}: {config.get('train_examples', '?'):,} training, "
                         f"{config.get('validation_examples', '?'):,} validation images"
                 if isinstance(config.get("train_examples"), int) and isinstance(config.get("validation_examples"), int)
                 else str(config.get("dataset", "unknown"))))
    if isinstance(config.get("evals_per_epoch"), int):
        every = config.get("first_epoch_eval_every")
        rows.append(("Validation passes", f"{config['evals_per_epoch']} per epoch"
                     + (f", and every {every} iterations in epoch 1" if isinstance(every, int) and every > 0 else "")))
    if isinstance(config.get("network"), dict) and config["network"].get("forward_backward"):
        rows.append(("Forward and backward", str(config["network"]["forward_backward"])))
    rows += [
        ("Validation accuracy", percent(summary.get("validation_accuracy"))),
        ("Test accuracy", percent(summary.get("test_accuracy"))),
        ("Training time", seconds(summary.get("train_time_s"))),
        ("Whole run", seconds(summary.get("wall_time_s"))),
        ("Finished", "yes" if summary.get("finished") else f"no: {summary.get('stopped') or 'unknown'}"),
    ]
    if config.get("python") or config.get("numpy"):
        rows.append(("Software", f"Python {config.get('python', '?')}, NumPy {config.get('numpy', '?')}"))
    rows += [(key, json.dumps(value) if not isinstance(value, str) else value)
             for key, value in config.items() if key not in DESCRIBED]
    return rows


def build_page(run_dir: Path, dataset=None) -> str:
    """The HTML of run_dir's page."""
    run = runs.Run.load(run_dir)
    config, summary = run.config, run.summary
    params = runs.load_weights(run.dir)
    layers, problem = page_layers(params, config)
    digits, digits_note = sample_digits(layers, config, dataset) if layers else ([], "")
    network = models.describe(params)
    parameters = models.parameter_count(params) if network != "unknown" else None
    convolutional = network.startswith("CNN ")
    data = {
        "network": {"layers": [{"shape": list(W.shape), "W": float32_base64(W), "b": float32_base64(b)}
                               for W, b in layers]} if layers else None,
        "digits": digits,
    }
    whose = "Your network" if run.impl == "exercises" else "The reference network"
    stamp = runs.time_of(run.dir)
    esc = html.escape
    stats = [(percent(run.test_accuracy), "test accuracy"),
             (percent(run.validation_accuracy), "validation accuracy"),
             (seconds(runs.number(summary.get("train_time_s"))), "of training"),
             ("CNN", network.removeprefix("CNN ")) if convolutional else
             (network.removeprefix("MLP ").split(",")[0] if network != "unknown" else "?", "units per layer")]
    figure_html = "\n".join(
        f'<figure{wide(path)}><img src="data:image/png;base64,{base64.b64encode(path.read_bytes()).decode("ascii")}" '
        f'alt="{esc(figure_caption(path.name, params) or path.stem.replace("_", " "))}" loading="lazy">'
        f'<figcaption><code>{esc(path.name)}</code>: {esc(figure_caption(path.name, params))}</figcaption></figure>'
        for path in run.figures()) or "<p>This run has no figures.</p>"
    if layers:
        note = f'<p class="hint">{esc(digits_note)}</p>' if digits_note else ""
        play = fill(asset("play.html"), {"digits_note": note,
                                         "units": asset("units-cnn.html" if convolutional else "units-mlp.html")})
    else:
        play = fill(asset("unsupported.html"), {"problem": esc(problem)})
    values = {
        "title": esc(f"{whose}: {run.name}"),
        "whose": esc(whose),
        "css": asset("page.css"),
        "lede": esc(f"Run {run.name}" + (f", trained {stamp}" if stamp else "") + ". This page works offline."),
        "stats": "".join(f'<div class="stat"><b>{esc(v)}</b><span>{esc(k)}</span></div>' for v, k in stats),
        "play": play,
        "rows": "".join(f"<tr><th scope=\"row\">{esc(k)}</th><td>{esc(v)}</td></tr>"
                        for k, v in summary_rows(config, summary, network, parameters)),
        "figures": figure_html,
        "folder": esc(str(run.dir.resolve())),
        "data": json.dumps(data, separators=(",", ":")).replace("</", "<\\/"),
        "js": asset("page.js"),
    }
    return fill(asset("page.html"), values)


def write_page(run_dir: Path, dataset=None) -> Path:
    """Write run_dir/report.html and return its path; dataset: the run's, if already loaded."""
    page = Path(run_dir) / PAGE_FILE
    text = build_page(run_dir, dataset)
    try:
        replace_file(page, text)  # a report.html that is a symbolic link is replaced, never written through
    except OSError as error:
        raise KataError(f"cannot write {page}: {error.strerror}. Check that the run folder is writable.") from None
    return page


def page_data(page_text: str) -> dict:
    """The JSON block a page's script reads: {"network": {"layers": [...]} or None, "digits": [...]}."""
    block = re.search(r'<script type="application/json" id="kata-data">(.*?)</script>', page_text, re.S)
    return json.loads(block.group(1)) if block else {}
