"""`kata report [RUN_DIR]`: write a run's web page, report.html (checker.page), and say where it is.

    kata report                    the newest run in runs/
    kata report runs/<time>-<name> --open
"""

from __future__ import annotations

import argparse
import textwrap
import webbrowser
from pathlib import Path

from .. import runs
from ..errors import KataError
from ..page import write_page
from ..project import display_path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = textwrap.fill(
        "Write RUN_DIR/report.html: one self-contained page with the run's summary, curves and figures and "
        "a canvas where you draw a digit (or open a picture) and watch your network read it. Works offline, "
        "from file://.")
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
    skipped: list[str] = []
    run_dir = Path(args.run_dir) if args.run_dir else runs.newest_usable(runs.runs_folder(), skipped).dir
    for note in skipped:
        print(f"Note: {note}")
    if not run_dir.is_dir():
        raise KataError(f"{run_dir} is not a folder. Name a run folder written by kata train, e.g. "
                        f"kata report runs/<time>-<name>, or leave it out for the newest run.")
    page = write_page(run_dir)
    print(f"Web page: {display_path(page.path)}  ({page.path.stat().st_size / 1e6:.1f} MB, works offline)")
    if page.problem:
        print(f"It shows the run's summary and figures; it cannot run this network: {page.problem}.")
    if args.open:
        if not webbrowser.open(page.path.resolve().as_uri()):
            print("No web browser could be started here; open the file above in one.")
    else:
        print("Open it in a web browser, or run: kata report --open")
    return 0
