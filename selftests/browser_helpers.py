"""Debian's headless Chromium driven by selenium, for the tests and the benchmark of report.html.

The system browser and driver only (/usr/bin/chromium, /usr/bin/chromedriver, from apt): the driver
path is given explicitly, so selenium-manager never runs and nothing downloads a browser.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-extensions", "--disable-default-apps", "--force-device-scale-factor=1")


def missing_browser() -> str:
    """Why the browser tests cannot run here, or "" when they can."""
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install -e '.[dev]')"
    for path in (CHROMIUM, CHROMEDRIVER):
        if not path.exists():
            return f"{path} is missing (apt-get install chromium chromium-driver)"
    return ""


class Browser:
    """One headless Chromium with a fresh profile; .driver is the selenium WebDriver."""

    def __init__(self, width: int = 1280, height: int = 900):
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service

        self.profile = tempfile.mkdtemp(prefix="kata-chromium-")
        options = webdriver.ChromeOptions()
        options.binary_location = str(CHROMIUM)
        for flag in (*FLAGS, f"--user-data-dir={self.profile}"):
            options.add_argument(flag)
        options.set_capability("goog:loggingPrefs", {"performance": "ALL", "browser": "ALL"})
        service = Service(executable_path=str(CHROMEDRIVER), log_output=os.devnull)
        try:
            self.driver = webdriver.Chrome(service=service, options=options)
        except BaseException:
            shutil.rmtree(self.profile, ignore_errors=True)
            raise
        self.driver.set_window_size(width, height)

    def open(self, page: Path, wait_for: str = "window.kataPage && window.kataPage.ready") -> None:
        """Load page (a file) and wait until the page's script says it is ready."""
        from selenium.webdriver.support.ui import WebDriverWait

        self.driver.get(Path(page).resolve().as_uri())
        WebDriverWait(self.driver, 60).until(lambda d: d.execute_script(f"return !!({wait_for})"))

    def requests(self) -> list[str]:
        """URLs of every request the browser made since the last call (from the performance log)."""
        urls = []
        for entry in self.driver.get_log("performance"):
            message = json.loads(entry["message"])["message"]
            if message["method"] == "Network.requestWillBeSent":
                urls.append(message["params"]["request"]["url"])
        return urls

    def console_errors(self) -> list[str]:
        return [entry["message"] for entry in self.driver.get_log("browser") if entry["level"] == "SEVERE"]

    def screenshot(self, path: Path, width: int) -> Path:
        """A full-page screenshot at this window width."""
        driver = self.driver
        driver.set_window_size(width, 900)
        height = driver.execute_script("return document.documentElement.scrollHeight")
        driver.set_window_size(width, min(height + 140, 8000))
        driver.save_screenshot(str(path))
        return path

    def close(self) -> None:
        try:
            self.driver.quit()
        finally:
            shutil.rmtree(self.profile, ignore_errors=True)


def draw(driver, strokes: list[tuple[str, list[tuple[int, int]]]], board=None) -> list[list[tuple[float, float]]]:
    """Draw strokes on the canvas with pointer events: (pointer kind "mouse", "touch" or "pen",
    points in canvas pixels of a 280 x 280 canvas). Returns, for each stroke, where its points land in
    canvas pixels: WebDriver moves the pointer by whole CSS pixels from the element's centre (rounded
    down), and the canvas may lie at a fraction of a pixel. board: the canvas element (default: the
    page's #board)."""
    import numpy as np
    from selenium.webdriver.common.actions.action_builder import ActionBuilder
    from selenium.webdriver.common.actions.pointer_input import PointerInput

    board = board or driver.find_element("id", "board")
    inner, border, box = driver.execute_script(
        "const b = arguments[0], r = b.getBoundingClientRect();"
        "return [b.clientWidth, b.clientLeft, [r.left, r.top, r.width, r.height]];", board)
    left, top, width, height = box
    centre_x, centre_y = np.floor(left + width / 2), np.floor(top + height / 2)
    scale = inner / 280  # CSS pixels per canvas pixel
    landed = []
    for kind, points in strokes:
        actions = ActionBuilder(driver, mouse=PointerInput(kind, kind), duration=10)
        pointer = actions.pointer_action
        landed.append([])
        for i, (x, y) in enumerate(dense(points)):
            dx, dy = round(left + border + x * scale - centre_x), round(top + border + y * scale - centre_y)
            pointer.move_to(board, dx, dy)
            landed[-1].append(((centre_x + dx - left - border) / scale, (centre_y + dy - top - border) / scale))
            if i == 0:
                pointer.pointer_down()
        pointer.pointer_up()
        actions.perform()
    return landed


def dense(points, step=8):
    """The polyline through points, with a point every `step` pixels (one pointermove each)."""
    import numpy as np

    out = [points[0]]
    for (x0, y0), (x1, y1) in zip(points, points[1:]):
        n = max(1, int(np.hypot(x1 - x0, y1 - y0) // step))
        out += [(x0 + (x1 - x0) * k / n, y0 + (y1 - y0) * k / n) for k in range(1, n + 1)]
    return out
