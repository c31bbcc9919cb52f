"""report.html: one web page of a training run, where the run's own network reads what you draw.

One self-contained file that works offline from file://: the run's summary, its training curves
(drawn in the page from metrics.csv), its figures (embedded as data URIs, each opening full size),
and a drawing canvas with a picture input. The page's template, style and script are package data in
checker/assets/ (page.html with {placeholders}, filled in one pass, so nothing inserted is ever read
as a placeholder). The script (assets/digits.js, shared with the notebook's canvas, then assets/page.js) brings a drawing or a picture to MNIST's form exactly
as `kata predict` does (checker.images) and runs the run's network in evaluation mode, whose arrays
are embedded as base64 float32. `kata train` writes the page at the end of every run; `kata report`
again.

The page runs every network checker.models knows: dense ReLU networks of any depth, with batch
normalisation or not, and the CNNs of checker/cnn.py. Weights it cannot run (say, edited by hand)
get the summary, the figures and a notice saying why, never a wrong answer.

    build_page(run_dir) -> (str, problem), write_page(run_dir) -> WrittenPage,
    page_data(text) -> the page's JSON block
"""

from __future__ import annotations

import base64
import html
import json
import math
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from . import cnn, images, models, network, plots, runs
from .errors import KataError
from .project import replace_file

PAGE_FILE = runs.PAGE_FILE
SIDE = images.SIDE
ASSETS = Path(__file__).with_name("assets")
WRONG_DIGITS = 4  # misclassified test digits offered on the page, next to one right digit per class
UNSURE_BELOW = 0.5  # the page names a digit only when the network gives it at least this probability
SMALL_DRAWING = 0.2  # a drawing whose ink spans less than this fraction of the canvas is too small to read
CURVE_POINTS = 400  # at most this many points of each training curve go into the page
COLOUR_STOPS = 65  # entries of each colour map the page paints with
CURVE_FIGURES = (plots.LOSS_FILE, plots.ACCURACY_FILE)  # drawn in the page when metrics.csv can be read
FIGURE_CAPTIONS = {
    "loss.png": "Training loss per iteration and validation loss, by epoch.",
    "accuracy.png": "Training and validation accuracy.",
    "confusion.png": "Confusion matrix on the test set: which digit is read as which.",
    "misclassified.png": "Test digits the network gets wrong, the most confident mistakes first.",
    "first_layer_weights.png": f"First-layer weights of hidden units as 28x28 images ({plots.WEIGHT_KEY}), "
                               "and what training changed.",
    "first_layer_filters.png": f"The first-layer filters of the CNN ({plots.WEIGHT_KEY}) and what each makes "
                               "of a training digit (its output after ReLU; bright: strong).",
    "cnn_fixes.png": "Test digits the CNN reads right that the Part I MLP got wrong.",
}
# The run table's first rows; the others are folded under "More settings".
SHORT_TABLE = ("Network", "Code", "Epochs", "Learning rate", "Optimizer", "Data")


@lru_cache(maxsize=None)
def asset(name: str) -> str:
    """A file of checker/assets/ (the page's template, fragments, style and script)."""
    return (ASSETS / name).read_text(encoding="utf-8")


def fill(template: str, values: dict[str, str]) -> str:
    """template with each {name} of values replaced, in one pass."""
    return re.sub(r"\{(" + "|".join(map(re.escape, values)) + r")\}", lambda m: values[m.group(1)], template)


# --- the network, as the page runs it ----------------------------------------------------------

def page_network(params: dict, config: dict) -> tuple[models.Network | None, str]:
    """(the network, "") when the page can run it; otherwise (None, why not), in words for the
    learner. checker.models decides what the network is and whether its arrays make one."""
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
    return found, ""


def float32_base64(array: np.ndarray) -> str:
    return base64.b64encode(np.ascontiguousarray(array, dtype="<f4").tobytes()).decode("ascii")


def network_data(found: models.Network, params: dict) -> dict:
    """The page's copy of the network: every layer's W and b, and a hidden layer's batch
    normalisation (gamma, beta and the running statistics it uses in evaluation mode)."""
    layers = []
    for l, shape in enumerate(found.shapes, 1):
        layer = {"shape": list(shape), "W": float32_base64(params[f"W{l}"]), "b": float32_base64(params[f"b{l}"])}
        if found.kind == "batchnorm" and l < found.layers:
            layer["batchnorm"] = {name: float32_base64(params[f"{name}{l}"]) for name in models.NORMALISATION}
        layers.append(layer)
    return {"kind": found.kind, "layers": layers, "eps": network.BN_EPS}


def sample_digits(params: dict, config: dict, dataset=None, chunk: int = 1000) -> tuple[list[dict], str]:
    """Test digits for the page: one read right per class, and the first few read wrong (the test
    set is read in chunks until they are found), by the network of params (checker.models)."""
    from .data import load_dataset

    if dataset is None:
        trained_on = config.get("data_dir")
        try:
            dataset = load_dataset(trained_on if isinstance(trained_on, str) and trained_on
                                   and Path(trained_on).is_dir() else None)
        except KataError as error:
            return [], f"The test digits could not be loaded: {error}"
    test = dataset.test
    if test.images.shape[1] != SIDE * SIDE:
        return [], "The test images are not 28x28."
    pixels = np.clip(np.rint(test.images * 255), 0, 255).astype(np.uint8)
    right, wrong, predicted = {}, [], np.full(len(test.labels), -1)
    for start in range(0, len(pixels), chunk):
        part = slice(start, start + chunk)
        predicted[part] = models.predict(params, pixels[part].astype(np.float32) / 255).argmax(axis=1)
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


def shape_diagram(found: models.Network) -> list[tuple[str, str]]:
    """The network layer by layer, as (size, what) pairs: what goes in, what each layer makes."""
    bn = " · batch norm" if found.kind == "batchnorm" else ""
    stages = [(f"{SIDE}x{SIDE}", "image") if found.kind == "cnn" else (f"{found.inputs}", "pixels")]
    side = SIDE
    for l, shape in enumerate(found.shapes, 1):
        last = l == found.layers
        if len(shape) == 4:
            filters, _, kh, kw = shape
            side = (side + 2 * (kh // 2) - kh + 1 - cnn.POOL) // cnn.POOL + 1
            stages.append((f"{filters}x{side}x{side}", f"conv {kh}x{kw} · pool {cnn.POOL} · ReLU"))
        elif last:
            stages.append((f"{shape[1]}", "dense · softmax"))
        else:
            stages.append((f"{shape[1]}", f"dense{bn} · ReLU"))
    return stages


def parameters_words(params: dict) -> str:
    """What models.parameter_count counts, in words."""
    return "weights, biases, gamma and beta" if network.has_batchnorm(params) else "weights and biases"


# --- the training curves, drawn by the page -----------------------------------------------------

def rounded(values) -> list:
    """Finite values to 5 significant digits, None (JSON null) for the others."""
    return [float(f"{v:.5g}") if math.isfinite(v) else None for v in map(float, values)]


def curve_data(history) -> dict | None:
    """What the page's loss and accuracy charts draw: the running means of the training batches (as
    loss.png and accuracy.png draw them, at most CURVE_POINTS of them) and every validation pass."""
    if history is None:
        return None
    total = history.iterations
    window = plots.smoothing_window(history)
    step = max(1, math.ceil(total / CURVE_POINTS))
    at = sorted(set(range(step, total + 1, step)) | {1, total})
    loss = np.asarray(history.batch_loss, dtype=np.float64)
    finite = np.isfinite(loss)
    smoothed = np.full(total, np.nan)
    smoothed[finite] = plots.running_mean(loss[finite], window)  # a non-finite batch stops a run: at most the last
    accuracy = plots.running_mean(history.batch_accuracy, window)
    evals = [(i, l, a) for i, l, a in history.evals if 1 <= i <= total]
    return {
        "iterations": total, "perEpoch": history.iterations_per_epoch, "window": window,
        "train": {"at": at, "loss": rounded(smoothed[np.asarray(at) - 1]),
                  "accuracy": rounded(accuracy[np.asarray(at) - 1])},
        "validation": {"at": [i for i, _, _ in evals], "loss": rounded(l for _, l, _ in evals),
                       "accuracy": rounded(a for _, _, a in evals)},
    }


def colour_stops(name: str) -> list[str]:
    """COLOUR_STOPS colours of the matplotlib colour map `name` as #rrggbb, low to high."""
    import matplotlib

    rgba = matplotlib.colormaps[name](np.linspace(0, 1, COLOUR_STOPS))
    return ["#" + "".join(f"{round(c * 255):02x}" for c in colour[:3]) for colour in rgba]


# --- the summary -------------------------------------------------------------------------------

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


def summary_rows(config: dict, summary: dict, network: str, parameters: int | None = None,
                 counted: str = "weights and biases") -> list[tuple[str, str]]:
    """(name, value) rows of the run's settings and results: only the settings that apply to the run
    (its optimizer's, its kind of network's), older runs' missing fields included."""
    impl = config.get("impl") or summary.get("impl")
    rows = [("Network", network + (f" ({parameters:,} {counted})" if parameters else "")),
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


def table(rows) -> str:
    return "".join(f'<tr><th scope="row">{html.escape(k)}</th><td>{html.escape(v)}</td></tr>' for k, v in rows)


def figure_html(path: Path, params: dict) -> str:
    """One figure: the PNG as a data URI inside a button that opens it full size, and its caption."""
    esc = html.escape
    caption = figure_caption(path.name, params)
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return (f'<figure><button type="button" class="zoom" aria-label="Open {esc(path.name)} full size">'
            f'<img src="data:image/png;base64,{data}" alt="{esc(caption or path.stem.replace("_", " "))}"></button>'
            f'<figcaption><code>{esc(path.name)}</code>: {esc(caption)} '
            f'<span class="hint">Click or tap to open it full size.</span></figcaption></figure>')


# --- the page ----------------------------------------------------------------------------------

def build_page(run_dir: Path, dataset=None) -> tuple[str, str]:
    """The HTML of run_dir's page, and "" when it runs the network (otherwise why not, in words)."""
    run = runs.Run.load(run_dir)
    config, summary = run.config, run.summary
    params = runs.load_weights(run.dir)
    found, problem = page_network(params, config)
    params = models.as_float32(params) if found else params
    digits, digits_note = sample_digits(params, config, dataset) if found else ([], "")
    description = models.describe(params)
    parameters = models.parameter_count(params) if description != "unknown" else None
    counted = parameters_words(params)
    history = runs.history_of(run.dir)
    curves = curve_data(history)
    data = {
        "network": network_data(found, params) if found else None,
        "digits": digits,
        "curves": curves,
        "colours": {"weights": colour_stops(plots.WEIGHT_COLOURS), "maps": colour_stops(plots.MAP_COLOURS)},
        "unsureBelow": UNSURE_BELOW,
        "smallDrawing": SMALL_DRAWING,
        "maxPixels": images.MAX_PIXELS,
    }
    whose = "Your network" if run.impl == "exercises" else "The reference network"
    stamp = runs.time_of(run.dir)
    esc = html.escape
    stats = [(percent(run.test_accuracy), "test accuracy"),
             (percent(run.validation_accuracy), "validation accuracy"),
             (seconds(runs.number(summary.get("train_time_s"))), "of training")]
    if parameters:
        stats.append((f"{parameters:,}", counted))
    figures = [path for path in run.figures() if not (curves and path.name in CURVE_FIGURES)]
    figures_html = "\n".join(figure_html(path, params) for path in figures)
    if not figures_html:
        figures_html = "<p>This run has no figures.</p>"
    if found:
        kind = "cnn" if found.kind == "cnn" else "mlp"
        note = f'<p class="hint">{esc(digits_note)}</p>' if digits_note else ""
        play = fill(asset("play.html"), {"digits_note": note,
                                         "units": fill(asset(f"units-{kind}.html"), {"key": esc(plots.WEIGHT_KEY)})})
        heading, title_words = "Draw a digit", "reads digits"
    else:
        play = fill(asset("unsupported.html"), {"problem": esc(problem)})
        heading, title_words = "The network", "a training run"
    diagram = "".join(f"<li><b>{esc(size)}</b><span>{esc(what)}</span></li>" for size, what in shape_diagram(found)) \
        if found else ""
    rows = summary_rows(config, summary, description, parameters, counted)
    short = [row for row in rows if row[0] in SHORT_TABLE]
    more = [row for row in rows if row[0] not in SHORT_TABLE]
    training = asset("curves.html") if curves else ""
    values = {
        "title": esc(f"{whose}: {run.name}"),
        "heading": esc(f"{whose} {title_words}" if found else f"{whose}: {title_words}"),
        "css": asset("page.css"),
        "lede": esc(f"Run {run.name}" + (f", trained {stamp}" if stamp else "") + ". This page works offline."),
        "stats": "".join(f'<div class="stat"><b>{esc(v)}</b><span>{esc(k)}</span></div>' for v, k in stats),
        "diagram": (f'<ol class="shape" aria-label="The network, layer by layer: {esc(description)}">{diagram}</ol>'
                    if diagram else ""),
        "play_heading": heading,
        "play": play,
        "rows": table(short),
        "more": (f'<details><summary>More settings and results ({len(more)})</summary>'
                 f'<table class="summary"><tbody>{table(more)}</tbody></table></details>' if more else ""),
        "training": training,
        "figures": figures_html,
        "folder": esc(str(run.dir.resolve())),
        "data": json.dumps(data, separators=(",", ":")).replace("</", "<\\/"),
        "js": asset("digits.js") + "\n" + asset("page.js"),
    }
    return fill(asset("page.html"), values), problem


@dataclass(frozen=True)
class WrittenPage:
    """A page written into a run folder: where, and whether it runs the network ("" when it does,
    otherwise why not)."""

    path: Path
    problem: str

    @property
    def what_to_do(self) -> str:
        """What the page offers, in a few words for the line that gives its path."""
        if not self.problem:
            return "open it in a browser and draw a digit"
        return "open it in a browser for the run's summary and figures; it cannot run this network"


def write_page(run_dir: Path, dataset=None) -> WrittenPage:
    """Write run_dir/report.html; dataset: the run's, if already loaded."""
    page = Path(run_dir) / PAGE_FILE
    text, problem = build_page(run_dir, dataset)
    try:
        replace_file(page, text)  # a report.html that is a symbolic link is replaced, never written through
    except OSError as error:
        raise KataError(f"cannot write {page}: {error.strerror}. Check that the run folder is writable.") from None
    return WrittenPage(page, problem)


def page_data(page_text: str) -> dict:
    """The JSON block a page's script reads: {"network": {...} or None, "digits": [...], "curves": ...}."""
    block = re.search(r'<script type="application/json" id="kata-data">(.*?)</script>', page_text, re.S)
    return json.loads(block.group(1)) if block else {}
