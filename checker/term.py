"""Terminal output: colour and symbols only on a terminal without NO_COLOR (or where a front-end turns them
on, as the notebook does to paint its HTML), the text width, and text from files made safe to print
(printable)."""

from __future__ import annotations

import contextlib
import contextvars
import os
import shutil
import sys

_CODES = {"bold": "1", "dim": "2", "red": "31", "green": "32", "yellow": "33", "cyan": "36"}

# symbol on a terminal, fallback when piped
_SYMBOLS = {
    "passed": ("✔", " "),
    "current": ("▶", ">"),
    "broken": ("✘", "!"),
    "fail": ("✘", ""),
    "locked": ("·", " "),
    "done": ("✔", "-"),
    "todo": ("○", "-"),
    "star": ("★", ""),
}


_FORCED = contextvars.ContextVar("kata_colour", default=None)


@contextlib.contextmanager
def colour(on: bool):
    """Within the block, Style() paints (on=True) or not, whatever the output is: for a front-end that
    turns the same escape codes into something else (checker/notebook.py: HTML in a cell)."""
    token = _FORCED.set(bool(on))
    try:
        yield
    finally:
        _FORCED.reset(token)


def color_enabled(stream=None) -> bool:
    """Colour and symbols for a terminal, unless NO_COLOR is set (https://no-color.org) or TERM=dumb;
    inside colour(on), as that says."""
    if _FORCED.get() is not None:
        return _FORCED.get()
    stream = stream or sys.stdout
    if os.environ.get("NO_COLOR") or os.environ.get("TERM") == "dumb":
        return False
    try:
        if not stream.isatty():
            return False
        "".join(s for s, _ in _SYMBOLS.values()).encode(stream.encoding or "ascii")
    except (AttributeError, ValueError, LookupError, UnicodeError):
        return False
    return True


class Style:
    """Paints text when colour is on, leaves it alone otherwise."""

    def __init__(self, enabled: bool | None = None, stream=None):
        self.enabled = color_enabled(stream) if enabled is None else enabled

    def paint(self, text: str, *styles: str) -> str:
        if not self.enabled or not text:
            return text
        codes = ";".join(_CODES[s] for s in styles)
        return f"\033[{codes}m{text}\033[0m"

    def bold(self, text: str) -> str:
        return self.paint(text, "bold")

    def dim(self, text: str) -> str:
        return self.paint(text, "dim")

    def good(self, text: str) -> str:
        return self.paint(text, "green")

    def bad(self, text: str) -> str:
        return self.paint(text, "red")

    def warn(self, text: str) -> str:
        return self.paint(text, "yellow")

    def command(self, text: str) -> str:
        return self.paint(text, "cyan")

    def symbol(self, name: str) -> str:
        fancy, plain = _SYMBOLS[name]
        return fancy if self.enabled else plain

    def clear_screen(self) -> str:
        return "\033[2J\033[H" if self.enabled else ""


def redraws(stream) -> bool:
    """Whether a line written to stream can be drawn again after a carriage return: a terminal, or an
    output that says it behaves like one (the notebook's live cell output has redraws_lines = True)."""
    try:
        return bool(stream.isatty() or getattr(stream, "redraws_lines", False))
    except (AttributeError, ValueError):
        return False


def width() -> int:
    """Text width for wrapped paragraphs: the terminal's, between 60 and 100 columns."""
    return max(60, min(100, shutil.get_terminal_size((100, 24)).columns))


_CONTROL = {code: "?" for code in (*range(0x00, 0x20), *range(0x7F, 0xA0),
                                   *range(0x202A, 0x202F), *range(0x2066, 0x206A))}


def printable(text: str, limit: int | None = None) -> str:
    """`text` with control characters (escape sequences, carriage returns, newlines, bidirectional
    overrides) shown as "?", cut to `limit` characters: safe to print, whoever wrote it."""
    text = str(text).translate(_CONTROL)
    if limit is not None and len(text) > limit:
        text = text[: max(0, limit - 3)] + "..."
    return text
