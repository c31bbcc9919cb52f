"""`kata predict`: read one digit with a trained network from a run folder.

    kata predict my_digit.png      a picture of your own handwriting
    kata predict --index 7         image 7 of the MNIST test set

The network is the one saved by `kata train` (runs/<timestamp>-<name>/weights.npz; the newest run
unless --run DIR says otherwise). Pictures are brought to MNIST's form first: grayscale in [0, 1],
a light digit on a dark background (a dark-on-light picture is inverted), and for any size other
than 28x28 the digit is cropped, scaled to fit 20x20 and centred on its centre of mass in 28x28,
the way the MNIST images were made. Every such step is printed as a note.
"""

from __future__ import annotations

import argparse
import json
import textwrap
from pathlib import Path

import numpy as np

from .. import training

from . import train as train_command

from .. import options
from ..errors import KataError, UsageError
from ..stages import ROOT

SIDE = 28  # MNIST images are SIDE x SIDE
DIGIT_BOX = 20  # MNIST digits were scaled to fit this box, then centred in SIDE x SIDE
INK = 0.1  # a pixel brighter than this (after inversion) is part of the digit
SHADES = " .:-=+*#%@"
MAX_SIDE = 8000
MAX_PIXELS = MAX_SIDE * MAX_SIDE  # below PIL's decompression-bomb limit (about 89 million pixels)


# --- runs --------------------------------------------------------------------------------------

def newest_run(parent: Path) -> Path:
    """The most recently written run folder under parent that holds weights of a finished or
    interrupted training run that learned (a diverged run's weights are not finite; a run that did
    not learn reads digits no better than guessing)."""
    candidates = []
    for weights in Path(parent).glob(f"*/{training.WEIGHTS_FILE}"):
        summary = read_json(weights.parent / training.SUMMARY_FILE)
        if summary.get("stopped") != "diverged" and summary.get("learned") is not False:
            candidates.append((weights.stat().st_mtime, weights.parent.name, weights.parent))
    if not candidates:
        raise KataError(f"there is no trained network in {train_command.display_path(parent)} yet. "
                        f"Train one first: kata train (or kata train --solutions), or name a run "
                        f"folder with --run DIR.")
    return max(candidates)[2]


def read_json(path: Path) -> dict:
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def load_run(run_dir: Path) -> tuple[dict, dict, dict]:
    """(params, config, summary) of a run folder; params are float32 arrays {W1, b1, ...}."""
    run_dir = Path(run_dir)
    weights = run_dir / training.WEIGHTS_FILE
    if not weights.is_file():
        raise KataError(f"{train_command.display_path(run_dir)} holds no {training.WEIGHTS_FILE}, so it is "
                        f"not the folder of a training run. Name one written by kata train, "
                        f"e.g. --run runs/<time>-<name>, or leave --run out for the newest.")
    try:
        with np.load(weights, allow_pickle=False) as archive:
            params = {key: archive[key].astype(np.float32) for key in archive.files}
    except (OSError, ValueError) as error:
        raise KataError(f"{weights} cannot be read ({error}). Train again: kata train.") from None
    layers = sum(1 for key in params if key.startswith("W"))
    if layers == 0 or any(f"{k}{l}" not in params for l in range(1, layers + 1) for k in "Wb"):
        raise KataError(f"{weights} does not hold the weights W1, b1, ... of a network. Train again: kata train.")
    normalisation = ("gamma", "beta", "running_mean", "running_var")
    if "gamma1" in params and any(f"{k}{l}" not in params for l in range(1, layers) for k in normalisation):
        raise KataError(f"{weights} holds batch normalisation for some hidden layers but not all of "
                        f"gamma, beta, running_mean and running_var for each. Train again: kata train --batchnorm.")
    if not all(np.isfinite(p).all() for p in params.values()):
        raise KataError(f"the weights in {weights} are not finite (that run diverged). "
                        f"Use another run with --run DIR, or train again: kata train.")
    return params, read_json(run_dir / training.CONFIG_FILE), read_json(run_dir / training.SUMMARY_FILE)


def describe_network(params: dict) -> str:
    """What a network is, from its weights: 'CNN conv 3x3x16 - pool 2 - ... - dense 128-10' or
    'MLP 784-384-10' (', with batch normalisation' when it has gamma1)."""
    from .. import cnn

    if cnn.is_cnn(params):
        return f"CNN {cnn.describe(params)}"
    layers = sum(1 for key in params if key.startswith("W"))
    sizes = [np.shape(params["W1"])[0]] + [np.shape(params[f"W{l}"])[-1] for l in range(1, layers + 1)]
    return "MLP " + "-".join(map(str, sizes)) + (", with batch normalisation" if "gamma1" in params else "")


# --- images ------------------------------------------------------------------------------------

def read_image(path: Path) -> np.ndarray:
    """The picture at path as grayscale floats in [0, 1], shape (height, width).

    Transparent pixels count as white paper, the usual background of a drawn digit.
    """
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            if image.width * image.height > MAX_PIXELS:
                raise KataError(f"{path} is {image.width}x{image.height} pixels; kata predict reads pictures of "
                                f"up to {MAX_PIXELS // 10**6} million pixels (e.g. {MAX_SIDE}x{MAX_SIDE}). "
                                f"Scale it down (a digit needs a few hundred pixels a side) and try again.")
            image.load()
            if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
                paper = Image.new("RGBA", image.size, "white")
                image = Image.alpha_composite(paper, image.convert("RGBA"))
            gray = np.asarray(image.convert("L"), dtype=np.float32) / 255.0
    except FileNotFoundError:
        raise KataError(f"{path} does not exist. Give the path of a picture of one digit, "
                        f"e.g. kata predict my_digit.png") from None
    except IsADirectoryError:
        raise KataError(f"{path} is a folder. Give the path of a picture of one digit.") from None
    except Image.DecompressionBombError:  # larger still than PIL's own limit: refused before reading
        raise KataError(f"{path} is larger than the {MAX_PIXELS // 10**6} million pixels kata predict reads "
                        f"(e.g. {MAX_SIDE}x{MAX_SIDE}). Scale it down (a digit needs a few hundred pixels a "
                        f"side) and try again.") from None
    except (UnidentifiedImageError, OSError) as error:
        raise KataError(f"{path} is not a picture that can be read ({type(error).__name__}). "
                        f"Save the digit as a PNG (or JPEG) file and try again.") from None
    return gray


def to_mnist(gray: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """MNIST's form of a grayscale picture (H, W) in [0, 1]: (784,) float32, and notes on what changed.

    MNIST digits are light on dark; a picture whose border is mostly light is inverted. A picture
    of another size is cropped to its digit, scaled to fit 20x20 and centred on its centre of mass.
    """
    notes = []
    border = np.concatenate([gray[0], gray[-1], gray[:, 0], gray[:, -1]])
    if border.mean() > 0.5:
        gray = 1.0 - gray
        notes.append("inverted: the picture is a dark digit on a light background; MNIST's are light on dark")
    ink = gray > INK
    if not ink.any():
        raise KataError("the picture looks empty: no pixel stands out from the background. "
                        "Draw a thick digit, dark on light or light on dark, and try again.")
    if gray.shape != (SIDE, SIDE):
        height, width = gray.shape
        gray = fit_and_centre(gray, ink)
        notes.append(f"scaled: {width}x{height} pixels, cropped to the digit, fitted into "
                     f"{DIGIT_BOX}x{DIGIT_BOX} and centred in {SIDE}x{SIDE}, as MNIST's digits are")
    return gray.astype(np.float32).reshape(SIDE * SIDE), notes


def fit_and_centre(gray: np.ndarray, ink: np.ndarray) -> np.ndarray:
    """Crop gray (H, W) to the bounding box of ink, scale it to fit DIGIT_BOX, centre it by mass."""
    from PIL import Image

    rows, columns = np.flatnonzero(ink.any(axis=1)), np.flatnonzero(ink.any(axis=0))
    digit = gray[rows[0]:rows[-1] + 1, columns[0]:columns[-1] + 1]
    scale = DIGIT_BOX / max(digit.shape)
    size = (max(1, round(digit.shape[1] * scale)), max(1, round(digit.shape[0] * scale)))
    small = np.asarray(Image.fromarray(digit.astype(np.float32), mode="F").resize(size, Image.Resampling.LANCZOS))
    small = np.clip(small, 0.0, None)
    small = small / max(float(small.max()), 1e-6)  # thin pen strokes as bright as MNIST's
    canvas = np.zeros((SIDE, SIDE), dtype=np.float32)
    mass_row, mass_column = (np.average(np.indices(small.shape)[axis], weights=small + 1e-9) for axis in (0, 1))
    top = int(np.clip(round(SIDE / 2 - mass_row), 0, SIDE - small.shape[0]))
    left = int(np.clip(round(SIDE / 2 - mass_column), 0, SIDE - small.shape[1]))
    canvas[top:top + small.shape[0], left:left + small.shape[1]] = small
    return canvas


def ascii_image(image: np.ndarray) -> list[str]:
    """A 28x28 image as 14 lines of 28 characters (two pixel rows per line), dark to light."""
    square = image.reshape(SIDE, SIDE)
    pairs = (square[0::2] + square[1::2]) / 2
    levels = np.clip((pairs * (len(SHADES) - 1)).round().astype(int), 0, len(SHADES) - 1)
    return ["|" + "".join(SHADES[v] for v in row) + "|" for row in levels]


# --- the command -------------------------------------------------------------------------------

def predict(params: dict, image: np.ndarray) -> np.ndarray:
    """Probabilities (C,) for one image (784,), with the reference's forward pass in evaluation
    mode: the CNN when the weights are a CNN's (a 4-D W1); otherwise any depth, with or without
    batch normalisation (its running statistics); no dropout."""
    from ..network import evaluation_forward

    probs, _ = evaluation_forward("solutions", params)(params, image.reshape(1, -1).astype(np.float32))
    return probs[0]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = textwrap.fill(
        "Read one digit with a network you trained: a picture of your own handwriting, or an "
        "image of the MNIST test set. Prints the digit and the probability of each of the ten.")
    parser.epilog = (
        "examples:\n"
        "  kata predict my_digit.png          a picture (any size; dark on light is fine)\n"
        "  kata predict --index 0             test image 0\n"
        "  kata predict 7.png --run runs/20250101-120000-exercises\n"
        "Tip: draw a thick digit that fills most of a square picture.")
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument("image", nargs="?", type=Path, help="a picture of one digit (PNG, JPEG, ...)")
    parser.add_argument("--index", type=int, metavar="N", help="use image N of the test set instead")
    parser.add_argument("--run", type=options.folder_path, metavar="DIR",
                        help="the run folder whose network to use (default: the newest in runs/)")
    parser.add_argument("--data-dir", type=options.folder_path, metavar="DIR",
                        help="for --index: the folder of the IDX files (default: the run's)")


def run(args: argparse.Namespace) -> int:
    if (args.image is None) == (args.index is None):
        raise UsageError("give either a picture or --index N, e.g. kata predict my_digit.png, "
                         "or kata predict --index 0")
    run_dir = Path(args.run) if args.run else newest_run(ROOT / "runs")
    params, config, summary = load_run(run_dir)
    true_label = None
    if args.index is not None:
        from ..data import load_dataset

        trained_on = config.get("data_dir")
        # The run's own data folder, unless it is gone (a moved clone): then the shipped MNIST.
        data_dir = args.data_dir or (trained_on if trained_on and Path(trained_on).is_dir() else None)
        test = load_dataset(data_dir).test
        if not 0 <= args.index < len(test.labels):
            raise UsageError(f"there is no test image {args.index}: the test set has "
                            f"{len(test.labels):,}, numbered 0 to {len(test.labels) - 1}. "
                            f"Choose one in that range.")
        image, notes = test.images[args.index], []
        true_label = int(test.labels[args.index])
        source = f"test image {args.index} (true label {true_label})"
    else:
        image, notes = to_mnist(read_image(args.image))
        source = str(args.image)
    inputs = params["W1"].shape[0] if params["W1"].ndim == 2 else 784  # a CNN reads 28x28 images
    if image.size != inputs:
        raise KataError(f"the network of {train_command.display_path(run_dir)} takes {inputs} "
                        f"pixels, the image has {image.size}. Use a run trained on 28x28 images.")

    probs = predict(params, image)
    digit = int(probs.argmax())
    accuracy = summary.get("test_accuracy")
    network = f"{train_command.display_path(run_dir)} ({describe_network(params)}" + (
        f", test accuracy {accuracy:.2%})" if isinstance(accuracy, float) else ")")
    print(f"Network: {network}")
    print(f"Image:   {source}")
    for note in notes:
        print(f"Note:    {note}")
    print("\n".join("         " + line for line in ascii_image(image)))
    verdict = "" if true_label is None else ("  (right)" if digit == true_label else f"  (wrong: it is a {true_label})")
    print(f"\nPrediction: {digit}, {probs[digit]:.1%} sure{verdict}")
    for candidate, p in enumerate(probs):
        bar = "#" * int(round(p * 40))
        print(f"  {candidate}  {p:6.1%}  {bar}")
    return 0
