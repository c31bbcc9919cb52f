"""Argument types shared by the commands' options: each turns a bad value into argparse's one-line
usage error that names it (exit code 2). And the kata's settings in environment variables
(KATA_TIMEOUT, KATA_MEMORY_MB, KATA_WATCH_INTERVAL): number_from_env."""

from __future__ import annotations

import argparse
import difflib
import math
import os
from pathlib import Path

from .errors import KataError, UsageError
from .stages import Stage, all_stages, find_stage


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a number of at least 1, got {value}")
    return value


def non_negative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a number of at least 0, got {value}")
    return value


def nonnegative_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not (value >= 0 and math.isfinite(value)):
        raise argparse.ArgumentTypeError(f"expected a finite number >= 0, got {text}")
    return value


def fraction_below_one(text: str) -> float:
    """A number in [0, 1): a dropout probability, a momentum, Adam's betas."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"expected a number from 0 up to, but not including, 1, got {text}")
    return value


def accuracy_threshold(text: str) -> float:
    """An accuracy in (0, 1): --threshold of the experiments."""
    value = fraction_below_one(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected an accuracy between 0 and 1, e.g. 0.95, got {text}")
    return value


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not (value > 0 and math.isfinite(value)):
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text}")
    return value


def seed_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"a seed is a whole number of at least 0, got {value}")
    return value


def folder_path(text: str) -> Path:
    """A folder option: an empty one would silently mean the current folder."""
    if not text.strip():
        raise argparse.ArgumentTypeError("the folder is empty: name one, e.g. runs/mine, or leave the option out")
    return Path(text)


def filter_counts(text: str) -> tuple[int, ...]:
    """--filters 8,16 -> (8, 16): filters per convolution layer."""
    try:
        counts = tuple(int(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected whole numbers separated by commas, e.g. 8,16; got {text!r}") from None
    if not counts or min(counts) < 1:
        raise argparse.ArgumentTypeError(f"expected numbers of filters of at least 1, e.g. 8,16; got {text!r}")
    return counts


def stage_argument(name: str) -> Stage:
    """argparse type for a stage named by number, id or alias; anything else is a usage error."""
    stage = find_stage(name)
    if stage is None:
        valid = ", ".join(f"{s.number} {s.id}" for s in all_stages())
        names = [n for s in all_stages() for n in (s.id, *s.aliases)]
        close = difflib.get_close_matches(name.strip().lower(), names, n=1, cutoff=0.7)
        guess = f" Did you mean {find_stage(close[0]).id}?" if close else ""
        raise UsageError(f"there is no stage {name!r}.{guess} The stages are: {valid}. "
                         "Name one by number or name, e.g. kata check 3 or kata check softmax.")
    return stage


def number_from_env(name: str, default: float, largest: float, example: str, smallest: float = 0.0,
                    too_small: str = "") -> float:
    """The number in the environment variable `name` (default when unset or empty); KataError, in one line,
    for anything but a finite number above 0, from `smallest` (too_small: why less will not do) up to
    `largest`. example: "seconds, e.g. NAME=60"."""
    text = os.environ.get(name, "").strip()
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    shown = text if len(text) <= 40 else text[:37] + "..."
    if not (value > 0 and math.isfinite(value)):
        raise KataError(f"{name}={shown!r} is not a positive number. Set it in {example}, or unset it.")
    if value < smallest:
        raise KataError(f"{name}={shown!r} is less than {smallest:g}, {too_small}. Set it in {example}, or unset it "
                        "for the default.")
    if value > largest:
        raise KataError(f"{name}={shown!r} is more than {largest:g}, which no run needs. Set it in {example}, "
                        "or unset it for the default.")
    return value
