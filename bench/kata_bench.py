"""How long `kata` takes to answer after the learner edits one stage, with every stage passing.

    python bench/kata_bench.py                 quiet, then with 2 busy loops
    python bench/kata_bench.py --repeats 7 --load 0 --stage conv

A copy of the kata in a temporary folder has every stage solved (the reference copied into
exercises/); `kata --no-train` runs once to remember every verdict. Then, --repeats times: one edit
to the stage's file (a comment line appended, as a save would), and `kata --no-train` timed from the
start of the process to its exit (the report printed). The same is timed with `kata --all`, which
runs every suite, as the baseline measured in the same run; the two take turns. --load N repeats
everything with N busy loops running (ended with the bench, on Ctrl-C too).

Wall-clock figures from a shared machine: compare the two within one run, not across machines.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "selftests"))

from checker.stages import all_stages, find_stage  # noqa: E402
from checker_sandbox import Sandbox  # noqa: E402


def timed_kata(box: Sandbox, *args: str) -> float:
    started = time.perf_counter()
    done = box.kata(*args, timeout=600)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"kata {' '.join(args)} exited with {done.returncode}:\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
    return seconds


def measure(box: Sandbox, stage, repeats: int) -> tuple[list[float], list[float]]:
    path = box.path / stage.exercise
    remembered, everything = [], []
    for i in range(repeats):
        path.write_text(path.read_text(encoding="utf-8") + f"\n# edit {i}\n", encoding="utf-8")
        remembered.append(timed_kata(box, "--no-train"))
        path.write_text(path.read_text(encoding="utf-8") + f"\n# edit {i}b\n", encoding="utf-8")
        everything.append(timed_kata(box, "--all", "--no-train"))
    return remembered, everything


def busy_loops(count: int) -> list[subprocess.Popen]:
    return [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(count)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--load", type=int, default=2, help="busy loops for the second measurement (0: none)")
    parser.add_argument("--stage", default="softmax", help="the stage whose file is edited (default softmax)")
    args = parser.parse_args()
    stage = find_stage(args.stage)
    if stage is None:
        raise SystemExit(f"no stage {args.stage!r}")
    with tempfile.TemporaryDirectory(prefix="kata-bench-") as folder:
        box = Sandbox(Path(folder))
        box.solve(*(s.id for s in all_stages()))
        timed_kata(box, "--no-train")
        print(f"kata --no-train after an edit of {stage.exercise}, all {len(all_stages())} stages passing "
              f"({os.cpu_count()} cores, median of {args.repeats}):")
        situations = [("quiet", 0)] + ([(f"{args.load} busy loops", args.load)] if args.load else [])
        for name, load in situations:
            loops = busy_loops(load)
            try:
                remembered, everything = measure(box, stage, args.repeats)
            finally:
                for loop in loops:
                    loop.kill()
                    loop.wait()
            print(f"  {name:<13} kata {statistics.median(remembered):5.2f} s (min {min(remembered):.2f}, max "
                  f"{max(remembered):.2f});  kata --all {statistics.median(everything):5.2f} s;  ratio "
                  f"{statistics.median(everything) / statistics.median(remembered):.1f}x")
        shutil.rmtree(box.path / ".kata", ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
