"""How fast report.html answers in headless Chromium: load to ready, the first reading, one drawing read.

    python bench/page_bench.py                   the newest run in runs/ (kata train writes one)
    python bench/page_bench.py runs/<run> --repeats 9

Needs Debian's chromium and chromium-driver and selenium (the dev extra). Each repeat loads the
page afresh; "load to ready" is performance.now() when the page is ready to read a digit, counted from
the start of the navigation: reading the HTML, decoding the base64 weights, drawing the curves (the
page opens on an empty canvas). "First reading" is the time from a click on the first test digit to
its verdict on the page: the first forward pass. "One drawing read" is what every stroke costs:
reading the 280x280 canvas, the preprocessing of kata predict and one forward pass.
Printed, never asserted: the machine is shared, so figures move with its load.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "selftests"))

from browser_helpers import Browser, missing_browser  # noqa: E402

from checker import models, page, runs  # noqa: E402

DRAWING_READ = """
const board = document.getElementById('board'), ink = board.getContext('2d');
ink.fillStyle = '#000'; ink.fillRect(0, 0, 280, 280);
ink.strokeStyle = '#fff'; ink.lineWidth = 20; ink.lineCap = 'round';
ink.beginPath(); ink.moveTo(80, 60); ink.lineTo(200, 60); ink.lineTo(120, 240); ink.stroke();
const times = [];
for (let i = 0; i < 30; i++) {
  const start = performance.now();
  const picture = ink.getImageData(0, 0, 280, 280);
  const image = kataPage.preprocess(kataPage.grayOf(picture.data), 280, 280).image;
  kataPage.forward(image);
  times.push(performance.now() - start);
}
return times;"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", nargs="?", type=Path, help="a run folder (default: the newest in runs/)")
    parser.add_argument("--repeats", type=int, default=5, help="page loads (default 5)")
    args = parser.parse_args()
    reason = missing_browser()
    if reason:
        print(f"cannot measure: {reason}")
        return 1
    run_dir = args.run_dir or runs.newest_usable(runs.runs_folder()).dir
    written = page.write_page(run_dir)
    browser = Browser()
    try:
        loads, firsts = [], []
        for _ in range(args.repeats):
            browser.open(written.path, wait_for="window.kataPage && window.kataPage.readyMs !== null")
            loads.append(browser.driver.execute_script("return window.kataPage.readyMs"))
            firsts.append(browser.driver.execute_script(
                "const start = performance.now(); document.querySelector('button.sample').click();"
                "return window.kataPage.firstPredictionMs - start;"))
        reads = browser.driver.execute_script(DRAWING_READ)
        version = browser.driver.capabilities.get("browserVersion", "?")
    finally:
        browser.close()
    network = models.network_of(runs.load_weights(run_dir)).describe()
    print(f"report.html of {run_dir.name}: {written.path.stat().st_size / 1e6:.2f} MB, network {network}, "
          f"headless Chromium {version}")
    print(f"load to ready: median {statistics.median(loads):.0f} ms "
          f"(min {min(loads):.0f}, max {max(loads):.0f}; {len(loads)} loads)")
    print(f"first reading (a click on a test digit to its verdict): median {statistics.median(firsts):.1f} ms "
          f"(min {min(firsts):.1f}, max {max(firsts):.1f})")
    print(f"one drawing read (canvas, preprocessing, forward pass): median {statistics.median(reads):.1f} ms "
          f"(min {min(reads):.1f}, max {max(reads):.1f}; {len(reads)} reads)")
    print("Wall-clock figures from a shared machine: compare them within one run, not across machines.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
