"""Pictures of digits brought to MNIST's form, as `kata predict` reads them and the web page's canvas
does (checker/assets/page.js ports to_mnist): grayscale in [0, 1], a light digit on a dark background
(a dark-on-light picture is inverted), and for any size other than 28x28 the digit cropped, scaled to
fit 20x20 and centred on its centre of mass in 28x28, the way the MNIST images were made.

    read_image(path)    the picture as grayscale (H, W) in [0, 1]; KataError for anything unreadable
    to_mnist(gray)      (784,) float32 and notes on each step taken
    ascii_image(image)  a 28x28 image as 14 lines of text
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import numpy as np

from .errors import KataError

SIDE = 28  # MNIST images are SIDE x SIDE
DIGIT_BOX = 20  # MNIST digits were scaled to fit this box, then centred in SIDE x SIDE
INK = 0.1  # a pixel brighter than this (after inversion) is part of the digit
SHADES = " .:-=+*#%@"
MAX_SIDE = 8000
MAX_PIXELS = MAX_SIDE * MAX_SIDE  # below PIL's decompression-bomb limit (about 89 million pixels)


def read_image(path: Path) -> np.ndarray:
    """The picture at path as grayscale floats in [0, 1], shape (height, width).

    Transparent pixels count as white paper, the usual background of a drawn digit; a photo is turned
    upright as its EXIF orientation says.
    """
    import warnings

    from PIL import Image, UnidentifiedImageError

    try:
        mode = os.stat(path).st_mode
        if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):  # reading a FIFO waits for a writer, /dev/zero never ends
            raise KataError(f"{path} is not a file (a FIFO, socket or device), so it is not read. Give the path of a "
                            f"picture of one digit, e.g. kata predict my_digit.png")
        with warnings.catch_warnings():
            # Pillow warns of a corrupt EXIF block; the picture is read all the same, without the warning
            warnings.filterwarnings("ignore", category=UserWarning, module="PIL")
            gray = _read_gray(path)
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


def _read_gray(path: Path) -> np.ndarray:
    """read_image's work: the picture as grayscale floats, turned upright, on white paper."""
    from PIL import Image

    with Image.open(path) as image:
        if image.width * image.height > MAX_PIXELS:
            raise KataError(f"{path} is {image.width}x{image.height} pixels; kata predict reads pictures of "
                            f"up to {MAX_PIXELS // 10**6} million pixels (e.g. {MAX_SIDE}x{MAX_SIDE}). "
                            f"Scale it down (a digit needs a few hundred pixels a side) and try again.")
        image.load()
        image = upright(image)
        if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
            paper = Image.new("RGBA", image.size, "white")
            image = Image.alpha_composite(paper, image.convert("RGBA"))
        gray = np.asarray(image.convert("L"), dtype=np.float32) / 255.0
    return gray


def upright(image):
    """image turned as its EXIF orientation says (a phone's photo upright, as a browser shows it)."""
    from PIL import ImageOps

    try:
        return ImageOps.exif_transpose(image)
    except Exception:  # noqa: BLE001 - a damaged EXIF block is metadata lost, not a picture lost
        return image


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
