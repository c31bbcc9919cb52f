"""`kata report [RUN_DIR]`: one web page of a training run, where your own network reads what you draw.

    kata report                    the newest run in runs/
    kata report runs/<time>-<name> --open

Writes RUN_DIR/report.html, one self-contained file that works offline from file://: the run's
summary, its figures (embedded as data URIs), and a drawing canvas. The page's JavaScript
(checker/commands/webpage.js, inlined) brings the drawing to MNIST's form exactly as `kata predict` does
(crop, fit 20x20, centre by mass in 28x28) and runs the run's network, whose weights are embedded
as base64 float32 arrays. `kata train` writes the page at the end of every run.

The page runs dense ReLU networks of any depth ({W1, b1, ..., WL, bL}) and the CNNs of
checker/cnn.py (a 4-D W_l is a convolution, then max-pooling and ReLU). A network with anything
else in weights.npz (batch normalisation) gets the summary and the figures and a notice that the
page does not run it, never a wrong answer.
"""

from __future__ import annotations

import argparse
import base64
import html
import json
import re
import textwrap
import webbrowser
from datetime import datetime
from pathlib import Path

import numpy as np

from .. import training
from ..errors import KataError
from ..stages import ROOT

PAGE_FILE = "report.html"
SIDE = 28
ASSETS = Path(__file__).parent
LAYER_KEY = re.compile(r"([Wb])([1-9][0-9]*)")
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


# --- the network, as the page can run it -------------------------------------------------------

BATCHNORM_ARRAYS = ("gamma", "beta", "running_mean", "running_var")


def page_layers(params: dict, config: dict) -> tuple[list[tuple[np.ndarray, np.ndarray]] | None, str]:
    """([(W1, b1), ..., (WL, bL)] as float32, "") when the page can run the network; otherwise
    (None, why not), in words for the learner.

    The page runs what checker/cnn.py's network and the dense networks compute: a 4-D W (F, C, KH,
    KW) is a convolution (stride 1, padding KH // 2) followed by max-pooling POOL x POOL and ReLU,
    a 2-D W (fan_in, fan_out) a dense layer (ReLU after every one but the last), then softmax.
    """
    from ..cnn import POOL, describe

    unknown = sorted(key for key in params if not LAYER_KEY.fullmatch(key))
    if unknown:
        shown = ", ".join(unknown[:6]) + (", ..." if len(unknown) > 6 else "")
        if any(key.rstrip("0123456789") in BATCHNORM_ARRAYS for key in unknown):
            return None, f"it uses batch normalisation ({shown} in weights.npz), which the page does not run"
        return None, f"weights.npz holds arrays other than the layers' weights and biases ({shown})"
    count = sum(1 for key in params if key.startswith("W"))
    missing = [f"{k}{l}" for l in range(1, count + 1) for k in "Wb" if f"{k}{l}" not in params]
    if count == 0 or missing:
        return None, f"weights.npz does not hold the layers W1, b1, ... in order (missing: {', '.join(missing) or 'W1, b1'})"
    layers, shape = [], (1, SIDE, SIDE)  # what the next layer receives: (C, H, W) maps or (units,)
    for l in range(1, count + 1):
        W, b = np.asarray(params[f"W{l}"]), np.asarray(params[f"b{l}"])
        shapes = f"W{l} has shape {W.shape}, b{l} {b.shape}"
        if W.ndim == 4:
            filters, channels, kh, kw = W.shape
            pad = kh // 2
            if len(shape) != 3 or channels != shape[0] or b.shape != (filters,):
                return None, (f"layer {l} is not a convolution of the {' x '.join(map(str, shape))} "
                              f"{'maps' if len(shape) == 3 else 'units'} before it ({shapes})")
            height, width = shape[1] + 2 * pad - kh + 1, shape[2] + 2 * pad - kw + 1
            shape = (filters, (height - POOL) // POOL + 1, (width - POOL) // POOL + 1)
            if min(height, width) < POOL:
                return None, f"layer {l}'s maps are too small to pool ({height} x {width}; {shapes})"
        elif W.ndim == 2:
            inputs = int(np.prod(shape))
            if W.shape[0] != inputs or b.shape != (W.shape[1],):
                return None, (f"layer {l} is not a dense layer taking {inputs} inputs ({shapes}): "
                              f"a network for images other than 28x28")
            shape = (W.shape[1],)
        else:
            return None, f"layer {l} is neither a dense layer nor a convolution ({shapes})"
        if not (np.isfinite(W).all() and np.isfinite(b).all()):
            return None, f"the weights of layer {l} are not finite (the run diverged)"
        layers.append((W.astype(np.float32), b.astype(np.float32)))
    if len(shape) != 1:
        return None, f"its last layer is a convolution: there is no dense output layer to read the {shape} maps"
    if layers[0][0].ndim == 4:
        built = describe({f"W{l}": W for l, (W, _) in enumerate(layers, 1)})
        if config.get("architecture") not in (None, built):
            return None, (f"config.json describes the network as {config['architecture']}, the weights as "
                          f"{built}: they do not belong together")
        return layers, ""
    sizes = [SIDE * SIDE] + [W.shape[1] for W, _ in layers]
    if config.get("layer_sizes") not in (None, sizes):
        return None, (f"config.json describes layers {config['layer_sizes']}, the weights {sizes}: "
                      f"they do not belong together")
    return layers, ""


def forward(layers: list[tuple[np.ndarray, np.ndarray]], images: np.ndarray) -> np.ndarray:
    """Probabilities (N, C) of images (N, 784): the reference forward pass of the page's network
    (checker/cnn.py's when the first layer is a convolution)."""
    from ..network import evaluation_forward

    params = {f"{k}{l}": p for l, pair in enumerate(layers, 1) for k, p in zip("Wb", pair)}
    probs, _ = evaluation_forward("solutions", params)(params, images.astype(np.float32))
    return probs


# --- what goes into the page -------------------------------------------------------------------

def load_weights(run_dir: Path) -> dict:
    weights = run_dir / training.WEIGHTS_FILE
    try:
        with np.load(weights, allow_pickle=False) as archive:
            return {key: archive[key] for key in archive.files}
    except (OSError, ValueError) as error:
        raise KataError(f"{weights} cannot be read ({error}). Train again: kata train.") from None


def sample_digits(layers, config: dict, dataset=None, chunk: int = 1000) -> tuple[list[dict], str]:
    """Test digits for the page: one read right per class, and the first few read wrong (the test
    set is read in chunks until they are found)."""
    from ..data import load_dataset

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


def figures(run_dir: Path, summary: dict) -> list[Path]:
    """The run's PNG figures: those summary.json lists, in its order, then any others."""
    listed = [run_dir / name for name in summary.get("plots") or [] if (run_dir / name).is_file()]
    return listed + sorted(set(run_dir.glob("*.png")) - set(listed))


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


def describe(params: dict, config: dict) -> str:
    """The network in words, from its weights ('CNN conv 3x3x16 - ...', 'MLP 784-384-10'), or from
    config.json when the weights cannot say."""
    from .predict import describe_network

    try:
        return describe_network(params)
    except (KeyError, IndexError, TypeError, ValueError):
        if config.get("architecture"):
            return f"CNN {config['architecture']}"
        return "MLP " + "-".join(map(str, config["layer_sizes"])) if config.get("layer_sizes") else "unknown"


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
    run_dir = Path(run_dir)
    config = read_json(run_dir / training.CONFIG_FILE)
    summary = read_json(run_dir / training.SUMMARY_FILE)
    params = load_weights(run_dir)
    layers, problem = page_layers(params, config)
    digits, digits_note = sample_digits(layers, config, dataset) if layers else ([], "")
    network = describe(params, config)
    convolutional = network.startswith("CNN ")
    parameters = sum(int(np.size(p)) for key, p in params.items() if LAYER_KEY.fullmatch(key)) or None
    data = {
        "network": {"layers": [{"shape": list(W.shape), "W": float32_base64(W), "b": float32_base64(b)}
                               for W, b in layers]} if layers else None,
        "digits": digits,
    }
    whose = "Your network" if (config.get("impl") or summary.get("impl")) == "exercises" else "The reference network"
    stamp = time_of(run_dir)
    esc = html.escape
    stats = [(percent(summary.get("test_accuracy")), "test accuracy"),
             (percent(summary.get("validation_accuracy")), "validation accuracy"),
             (seconds(summary.get("train_time_s")), "of training"),
             ("CNN", network.removeprefix("CNN ")) if convolutional else
             (network.removeprefix("MLP ").split(",")[0] if network != "unknown" else "?", "units per layer")]
    figure_html = "\n".join(
        f'<figure{wide(path)}><img src="data:image/png;base64,{base64.b64encode(path.read_bytes()).decode("ascii")}" '
        f'alt="{esc(figure_caption(path.name, params) or path.stem.replace("_", " "))}" loading="lazy">'
        f'<figcaption><code>{esc(path.name)}</code>: {esc(figure_caption(path.name, params))}</figcaption></figure>'
        for path in figures(run_dir, summary)) or "<p>This run has no figures.</p>"
    if layers:
        play = (PLAY_HTML.replace("{digits_note}", f'<p class="hint">{esc(digits_note)}</p>' if digits_note else "")
                .replace("{units}", CNN_UNITS_HTML if convolutional else MLP_UNITS_HTML))
    else:
        play = (f'<div class="notice" role="status" id="unsupported"><p><strong>The page cannot run this '
                f'network:</strong> {esc(problem)}.</p><p>It runs dense ReLU networks of any depth and '
                f'convolutional networks (<code>kata train --model cnn</code>); it does not run batch '
                f'normalisation. The summary and the figures below are from the run; '
                f'<code>kata predict</code> reads digits with this network.</p></div>')
    values = {
        "title": esc(f"{whose}: {run_dir.name}"),
        "whose": esc(whose),
        "css": (ASSETS / "webpage.css").read_text(encoding="utf-8"),
        "lede": esc(f"Run {run_dir.name}" + (f", trained {stamp}" if stamp else "") + ". This page works offline."),
        "stats": "".join(f'<div class="stat"><b>{esc(v)}</b><span>{esc(k)}</span></div>' for v, k in stats),
        "play": play,
        "rows": "".join(f"<tr><th scope=\"row\">{esc(k)}</th><td>{esc(v)}</td></tr>"
                        for k, v in summary_rows(config, summary, network, parameters)),
        "figures": figure_html,
        "folder": esc(str(run_dir.resolve())),
        "data": json.dumps(data, separators=(",", ":")).replace("</", "<\\/"),
        "js": (ASSETS / "webpage.js").read_text(encoding="utf-8"),
    }
    # One pass, so that nothing inserted (CSS, script, paths) is ever read as a placeholder.
    return re.sub(r"\{(" + "|".join(values) + r")\}", lambda m: values[m.group(1)], PAGE_HTML)


def read_json(path: Path) -> dict:
    try:
        value = json.loads(Path(path).read_text(encoding="utf-8"))
        return value if isinstance(value, dict) else {}
    except (OSError, ValueError):
        return {}


def time_of(run_dir: Path) -> str:
    """When the run was made, from its folder name (runs/<YYYYmmdd-HHMMSS>-<name>)."""
    try:
        return datetime.strptime(run_dir.name[:15], "%Y%m%d-%H%M%S").strftime("%Y-%m-%d %H:%M")
    except ValueError:
        return ""


def write_page(run_dir: Path, dataset=None) -> Path:
    """Write run_dir/report.html and return its path; dataset: the run's, if already loaded."""
    page = Path(run_dir) / PAGE_FILE
    text = build_page(run_dir, dataset)
    try:
        page.write_text(text, encoding="utf-8")
    except OSError as error:
        raise KataError(f"cannot write {page}: {error.strerror}. Check that the run folder is writable.") from None
    return page


def page_data(page_text: str) -> dict:
    """The JSON block a page's script reads: {"network": {"layers": [...]} or None, "digits": [...]}."""
    block = re.search(r'<script type="application/json" id="kata-data">(.*?)</script>', page_text, re.S)
    return json.loads(block.group(1)) if block else {}


def display_file(path: Path) -> str:
    try:
        return str(Path(path).resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


# --- the command -------------------------------------------------------------------------------

def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = textwrap.fill(
        "Write RUN_DIR/report.html: one self-contained page with the run's summary and figures and a "
        "canvas where you draw a digit and watch your network read it. Works offline, from file://.")
    parser.epilog = (
        "examples:\n"
        "  kata report                          the newest run in runs/\n"
        "  kata report runs/20250101-120000-exercises --open\n"
        "kata train writes the page at the end of every run.")
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument("run_dir", nargs="?", type=Path, metavar="RUN_DIR",
                        help="the run folder (default: the newest in runs/)")
    parser.add_argument("--open", action="store_true", help="open the page in your web browser")


def run(args: argparse.Namespace) -> int:
    from .predict import newest_run

    run_dir = Path(args.run_dir) if args.run_dir else newest_run(ROOT / "runs")
    if not run_dir.is_dir():
        raise KataError(f"{run_dir} is not a folder. Name a run folder written by kata train, e.g. "
                        f"kata report runs/<time>-<name>, or leave it out for the newest run.")
    if not (run_dir / training.WEIGHTS_FILE).is_file():
        raise KataError(f"{run_dir} holds no {training.WEIGHTS_FILE}, so it is not the folder of a "
                        f"training run. Name one written by kata train, or leave it out for the newest.")
    page = write_page(run_dir)
    print(f"Web page: {display_file(page)}  ({page.stat().st_size / 1e6:.1f} MB, works offline)")
    if args.open:
        if not webbrowser.open(page.resolve().as_uri()):
            print("No web browser could be started here; open the file above in one.")
    else:
        print("Open it in a web browser, or run: kata report --open")
    return 0


PLAY_HTML = """\
<div class="play">
  <div class="board-wrap">
    <p class="hint">Draw one digit, large, in the black square. The page reads it on every stroke,
    the way <code>kata predict</code> reads a picture.</p>
    <canvas id="board" width="280" height="280" role="img" tabindex="-1"
      aria-label="Drawing area: draw one digit with the mouse, a finger or a pen"></canvas>
    <div class="controls">
      <button type="button" id="clear" class="primary">Clear</button>
    </div>
  </div>
  <div>
    <p id="verdict" role="status" aria-live="polite">Draw a digit in the black square.</p>
    <div class="reading">
      <div class="seen-wrap">
        <canvas id="seen" width="28" height="28" role="img"
          aria-label="The 28x28 image the network sees"></canvas>
        <small>what the network sees</small>
      </div>
      <ol class="bars" aria-label="Probability of each digit">
        {bars}
      </ol>
    </div>
    {units}
    <h3>Test digits</h3>
    <p class="hint">Load one into the canvas: one the network reads right for each digit, and some it
    gets wrong (red: true label, then what the network read).</p>
    {digits_note}
    <div id="samples" role="group" aria-label="Test digits"></div>
  </div>
</div>""".replace("{bars}", "\n        ".join(
    f'<li id="bar-{d}"><span class="digit">{d}</span><span class="track"><span class="fill"></span></span>'
    f'<span class="value">0.0%</span></li>' for d in range(10)))

MLP_UNITS_HTML = """\
<h3>Hidden units that respond most</h3>
    <p class="hint">First hidden layer: each unit's weights as a 28x28 image (blue: ink there excites it,
    red: inhibits it) and its activation.</p>
    <p class="hint" id="units-none" hidden>No unit of the first hidden layer responds to this image.</p>
    <ul id="units" aria-label="Most active hidden units"></ul>"""

CNN_UNITS_HTML = """\
<h3>Filters that respond most</h3>
    <p class="hint">First convolution layer: each filter's weights (left; red: ink there raises its
    output, blue: lowers it, as in <code>first_layer_filters.png</code> below) and its map of this digit after max-pooling and ReLU (right; bright: strong),
    with the map's mean.</p>
    <p class="hint" id="units-none" hidden>No filter of the first convolution layer responds to this image.</p>
    <ul id="units" class="filters" aria-label="Most active filters of the first convolution layer"></ul>"""

PAGE_HTML = """\
<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src data:; style-src 'unsafe-inline'; script-src 'unsafe-inline'">
<title>{title}</title>
<style>
{css}
</style>
</head>
<body>
<main>
<h1>{whose} reads digits</h1>
<p class="lede">{lede}</p>
<div class="headline">{stats}</div>
<section aria-labelledby="draw-heading">
<h2 id="draw-heading">Draw a digit</h2>
{play}
</section>
<section aria-labelledby="run-heading">
<h2 id="run-heading">The run</h2>
<table class="summary"><tbody>{rows}</tbody></table>
</section>
<section aria-labelledby="figures-heading">
<h2 id="figures-heading">Figures</h2>
<div class="figures">
{figures}
</div>
</section>
<footer>Written by <code>kata report</code> from <code>{folder}</code>. One file, no network access:
the weights, figures and script are inside it.</footer>
</main>
<script type="application/json" id="kata-data">{data}</script>
<script>
{js}
</script>
</body>
</html>
"""
