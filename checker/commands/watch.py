"""`kata watch`: the report again whenever a file under exercises/ is saved."""

from __future__ import annotations

import time
from pathlib import Path

from ..options import number_from_env
from ..progress import Progress
from ..status_text import first_completion, part_one_passes, render_status
from ..verdicts import run_stages
from ..project import ROOT
from ..stages import all_stages
from ..term import Style
from ..project import display_path

DESCRIPTION = """\
Watch exercises/ and show the progress report again whenever you save a file there: clear the
screen, run the stages, show where you are. When the current stage passes, the report moves on to
the next one by itself, and stops when Part I first passes (then kata trains your network) or every
stage passes. Polls the files (works on every file system). Ctrl-C stops it."""

EXAMPLES = """\
examples:
  kata watch          leave it running in a terminal next to your editor
"""

DEFAULT_INTERVAL = 0.5  # seconds between two looks at the files (KATA_WATCH_INTERVAL)
MIN_INTERVAL = 0.05  # looking more often only burns a core
MAX_INTERVAL = 3600.0  # more than an hour between two looks is a typo, not a wish


def add_arguments(parser) -> None:
    parser.description = DESCRIPTION
    parser.epilog = EXAMPLES


def run(args) -> int:
    style = Style()
    folder = ROOT / "exercises"
    interval = poll_interval()
    try:
        while True:
            before = snapshot(folder)  # taken before the run: a save during the run counts
            progress = Progress.load()
            result = run_stages(all_stages())
            newly_passed = progress.record(result)
            progress.save()
            print(style.clear_screen() + render_status(result, progress, style, newly_passed, watching=True))
            print()
            if result.all_passed:
                print("Every stage passes. Stopped watching. Next: kata (it trains your network on MNIST)")
                return 0
            if part_one_passes(result) and first_completion(progress):  # as kata would, train now
                print("Part I passes. Stopped watching. Next: kata (it trains your network on MNIST); "
                      "then, optional, Part II.")
                return 0
            print(style.dim(f"Watching {display_path('exercises')}/ for saved changes. Ctrl-C to stop."),
                  flush=True)
            changed = wait_for_change(folder, before, interval)
            if not style.enabled:  # no screen to clear: mark where the next report starts
                print(f"\n--- changed: {', '.join(changed)} ---\n", flush=True)
    except KeyboardInterrupt:
        print("\nStopped watching.")
        return 0


def poll_interval() -> float:
    return number_from_env("KATA_WATCH_INTERVAL", DEFAULT_INTERVAL, MAX_INTERVAL, "seconds, e.g. KATA_WATCH_INTERVAL=1",
                           MIN_INTERVAL, "so often that watching would keep a core busy")


def snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    """Every .py file under folder with its modification time and size."""
    files = {}
    for path in folder.rglob("*.py"):
        if "__pycache__" in path.parts:
            continue
        try:
            stat = path.stat()
        except OSError:
            continue
        files[path.relative_to(folder).as_posix()] = (stat.st_mtime_ns, stat.st_size)
    return files


def wait_for_change(folder: Path, before: dict, interval: float) -> list[str]:
    """Poll until the files differ from `before` and have settled (editors save in steps); the changed names."""
    while True:
        time.sleep(interval)
        now = snapshot(folder)
        if now != before:
            break
    for _ in range(10):  # settle: until two looks in a row agree
        time.sleep(min(interval, 0.2))
        again = snapshot(folder)
        if again == now:
            break
        now = again
    changed = sorted(name for name in set(before) | set(now) if before.get(name) != now.get(name))
    return [f"exercises/{name}" for name in changed]
