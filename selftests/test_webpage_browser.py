"""report.html in a real browser (Debian's headless Chromium): the page's JavaScript against NumPy and
kata predict, drawing with pointer events, screenshots, keyboard, contrast, and no network at all;
then the page of a CNN against checker/cnn.py's forward pass.

Skipped with a one-line reason when the browser is not installed, except in CI (CI=true), where a
missing browser is a failure. One network is trained per module on a subset of the real MNIST.
"""

from __future__ import annotations

import base64
import json
import os
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from browser_helpers import Browser, missing_browser
from checker import cnn
from checker import images as predict
from checker import models, runs
from checker import page as webpage
from checker.data import Dataset, Split, load_dataset
from training_helpers import only_run_dir, run_command

# A "7" and its crossbar, in canvas pixels (the canvas is 280 x 280): the mouse draws the first
# stroke, a finger the second.
SEVEN = [(70, 62), (210, 62), (175, 130), (140, 200), (120, 240)]
CROSSBAR = [(105, 150), (185, 150)]
PEN_WIDTH = 20  # assets/page.js: board.width / 14


@pytest.fixture(scope="module")
def browser():
    reason = missing_browser()
    if reason:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true but the browser tests cannot run: {reason}")
        pytest.skip(f"no browser for the page tests: {reason}")
    browser = Browser()
    yield browser
    browser.close()


@pytest.fixture(scope="module")
def mnist():
    """The real MNIST, with a small training subset so that the module's run trains in a second."""
    full = load_dataset()
    return Dataset(train=Split(full.train.images[:5000], full.train.labels[:5000]),
                   validation=Split(full.validation.images[:1000], full.validation.labels[:1000]),
                   test=full.test, name="MNIST (subset)", data_dir=full.data_dir)


@pytest.fixture(scope="module")
def run_dir(mnist, tmp_path_factory, browser):
    """A two-hidden-layer run written by kata train itself, report.html included."""
    out = tmp_path_factory.mktemp("runs")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("checker.data.load_dataset", lambda data_dir=None, *a, **k: mnist)
        assert run_command("train", "--solutions", "--out", str(out), "--hidden", "48", "--depth", "2",
                           "--epochs", "2", "--lr", "0.1", "--lr-schedule", "constant") == 0
    return only_run_dir(out)


@pytest.fixture(scope="module")
def page(run_dir, browser):
    browser.requests()  # forget what the browser's start page loaded
    browser.open(run_dir / webpage.PAGE_FILE)
    return browser


def numpy_probs(run_dir, images):
    params = runs.load_network(run_dir)
    return models.predict(params, np.stack(images))


def draw(driver, strokes: list[tuple[str, list[tuple[int, int]]]]) -> None:
    """Draw strokes on the canvas with pointer events: (pointer kind "mouse", "touch" or "pen",
    points in canvas pixels)."""
    from selenium.webdriver.common.actions.action_builder import ActionBuilder
    from selenium.webdriver.common.actions.pointer_input import PointerInput

    board = driver.find_element("id", "board")
    inner, border, box = driver.execute_script(
        "const b = arguments[0], r = b.getBoundingClientRect();"
        "return [b.clientWidth, b.clientLeft, [r.width, r.height]];", board)
    for kind, points in strokes:
        actions = ActionBuilder(driver, mouse=PointerInput(kind, kind), duration=10)
        pointer = actions.pointer_action
        for i, (x, y) in enumerate(dense(points)):
            # Offsets from the centre of the canvas element, in CSS pixels.
            pointer.move_to(board, round(x * inner / 280 + border - box[0] / 2),
                            round(y * inner / 280 + border - box[1] / 2))
            if i == 0:
                pointer.pointer_down()
        pointer.pointer_up()
        actions.perform()


def dense(points, step=8):
    """The polyline through points, with a point every `step` pixels (one pointermove each)."""
    out = [points[0]]
    for (x0, y0), (x1, y1) in zip(points, points[1:]):
        n = max(1, int(np.hypot(x1 - x0, y1 - y0) // step))
        out += [(x0 + (x1 - x0) * k / n, y0 + (y1 - y0) * k / n) for k in range(1, n + 1)]
    return out


def test_the_pages_forward_pass_matches_numpy_on_200_test_images(page, run_dir, mnist):
    images = mnist.test.images[:200]
    expected = numpy_probs(run_dir, images)
    got = np.array(page.driver.execute_script(
        "return arguments[0].map((pixels) => window.kataPage.forward(pixels).probs);",
        images.astype(float).tolist()))
    assert got.shape == (200, 10)
    assert (got.argmax(axis=1) == expected.argmax(axis=1)).all(), "the same digit for every image"
    worst = np.abs(got - expected).max()
    assert worst <= 1e-5, f"probabilities differ from NumPy's by up to {worst:.2e}"


def test_the_page_preprocesses_pictures_exactly_as_kata_predict(page):
    rng = np.random.default_rng(0)
    paper = np.ones((200, 160))
    paper[40:150, 70:90] = 0.0  # dark on light, off-centre
    blobs = np.zeros((90, 130))
    for _ in range(6):
        y, x = rng.integers(10, 80), rng.integers(10, 120)
        blobs += np.exp(-((np.arange(90)[:, None] - y) ** 2 + (np.arange(130)[None] - x) ** 2) / 60)
    thin = np.zeros((300, 300))
    thin[np.arange(40, 260), np.arange(60, 280)] = 1.0  # a one-pixel diagonal: faint after scaling
    tiny = np.zeros((5, 3))
    tiny[1:4, 1] = 0.8  # smaller than 20x20: scaled up
    as_is = np.clip(rng.random((28, 28)) - 0.5, 0, 1)
    for picture in (paper, np.clip(blobs, 0, 1), thin, tiny, as_is):
        gray = picture.astype(np.float32)
        expected, _ = predict.to_mnist(gray)
        got = page.driver.execute_script(
            "const r = window.kataPage.preprocess(arguments[0], arguments[1], arguments[2]);"
            "return Array.from(r.image);", gray.ravel().astype(float).tolist(), *gray.shape)
        assert np.abs(np.array(got) - expected).max() <= 1e-6, f"picture of shape {gray.shape}"


def test_a_drawn_digit_reaches_the_network_as_kata_predict_would_read_it(page, run_dir, tmp_path):
    driver = page.driver
    driver.find_element("id", "clear").click()
    before = driver.execute_script("return window.kataPage.predictions")
    draw(driver, [("mouse", SEVEN), ("touch", CROSSBAR)])
    assert driver.execute_script("return window.kataPage.predictions") > before
    page_input = np.array(driver.execute_script("return window.kataPage.input"))
    page_digit = int(driver.find_element("id", "verdict").get_attribute("data-digit"))

    # The same strokes as a picture: the canvas saved as PNG, read the way kata predict reads a file.
    png = tmp_path / "drawing.png"
    png.write_bytes(base64.b64decode(driver.execute_script("return window.kataPage.canvasPNG()").split(",")[1]))
    picture = predict.read_image(png)
    expected, notes = predict.to_mnist(picture)
    assert np.abs(page_input - expected).max() <= 1 / 255
    assert page_digit == int(numpy_probs(run_dir, [expected])[0].argmax())
    assert "Your drawing: the network reads" in driver.find_element("id", "verdict").text

    # The strokes landed where they were drawn: the canvas against the same polylines drawn by Pillow.
    reference = Image.new("L", (280, 280))
    pen = ImageDraw.Draw(reference)
    for points in (SEVEN, CROSSBAR):
        pen.line(points, fill=255, width=PEN_WIDTH, joint="curve")
        for x, y in (points[0], points[-1]):
            pen.ellipse((x - PEN_WIDTH / 2, y - PEN_WIDTH / 2, x + PEN_WIDTH / 2, y + PEN_WIDTH / 2), fill=255)
    drawn, wanted = picture > 0.5, np.asarray(reference) > 127
    overlap = (drawn & wanted).sum() / (drawn | wanted).sum()
    assert overlap > 0.8, f"the drawing covers {overlap:.0%} of where the strokes should be"
    shift = np.abs(np.argwhere(drawn).mean(axis=0) - np.argwhere(wanted).mean(axis=0)).max()
    assert shift <= 1.5, f"the drawing lies {shift:.1f} canvas pixels away from the strokes"


def test_test_digits_load_with_a_click_and_the_controls_work_from_the_keyboard(page, mnist):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.keys import Keys

    driver = page.driver
    driver.execute_script("document.activeElement.blur(); window.scrollTo(0, 0);")
    focused = []
    for _ in range(4):
        ActionChains(driver).send_keys(Keys.TAB).perform()
        focused.append(driver.execute_script(
            "const e = document.activeElement; return e.id || e.getAttribute('aria-label') || e.tagName;"))
    assert focused[0] == "clear", f"Tab reaches {focused}"
    assert all(label.startswith("Load test image") for label in focused[1:]), focused
    ActionChains(driver).send_keys(Keys.ENTER).perform()
    index = int(re.search(r"Load test image (\d+)", focused[-1]).group(1))
    assert driver.find_element("id", "verdict").text.startswith(f"Test image {index} (a {mnist.test.labels[index]})")
    assert np.abs(np.array(driver.execute_script("return window.kataPage.input"))
                  - mnist.test.images[index]).max() <= 1e-7, "a test digit goes in as it is"
    ActionChains(driver).key_down(Keys.SHIFT).send_keys(Keys.TAB * 3).key_up(Keys.SHIFT).send_keys(" ").perform()
    assert driver.find_element("id", "verdict").text == "Draw a digit in the black square."
    assert driver.execute_script("return document.querySelectorAll('.bars li.best, #units li').length") == 0
    wrong = driver.find_elements("css selector", "button.sample.wrong")
    assert wrong, "some misclassified test digits are offered"
    wrong[0].click()
    label, read_as = re.search(r"a (\d), read as (\d)", wrong[0].get_attribute("aria-label")).groups()
    assert driver.find_element("id", "verdict").get_attribute("data-digit") == read_as != label


def contrast(foreground: str, background: str) -> float:
    """WCAG contrast ratio of two CSS rgb() colours."""
    def luminance(colour):
        channels = [int(v) / 255 for v in re.findall(r"\d+", colour)[:3]]
        linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]
    light, dark = sorted((luminance(foreground), luminance(background)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_text_has_enough_contrast_in_both_colour_schemes(page, scheme):
    driver = page.driver
    driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"features": [{"name": "prefers-color-scheme", "value": scheme}]})
    try:
        colours = driver.execute_script("""
            const style = (selector) => getComputedStyle(document.querySelector(selector));
            const page = style('body').backgroundColor;
            return {
              page,
              text: [style('body').color, page], hint: [style('.hint').color, page],
              value: [style('.bars .value').color, page], sample: [style('button.sample').color, style('button.sample').backgroundColor],
              wrong: [style('button.sample.wrong span').color, style('button.sample').backgroundColor],
              clear: [style('#clear').color, style('#clear').backgroundColor]};""")
        is_dark = contrast(colours["page"], "rgb(0, 0, 0)") < 3
        assert is_dark == (scheme == "dark"), f"the {scheme} scheme has background {colours['page']}"
        for name, pair in colours.items():
            if name != "page":
                assert contrast(*pair) >= 4.5, f"{name} in the {scheme} scheme: {pair}"
    finally:
        driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"features": []})


def test_screenshots_at_1280_and_390_pixels_without_horizontal_scrolling(page, tmp_path_factory):
    folder = Path(os.environ.get("KATA_SCREENSHOTS") or tmp_path_factory.mktemp("screenshots"))
    driver = page.driver
    for width in (1280, 390):
        shot = page.screenshot(folder / f"report-{width}.png", width)
        with Image.open(shot) as image:
            assert image.width == width
        scroll, client, board_right = driver.execute_script(
            "const d = document.documentElement;"
            "return [d.scrollWidth, d.clientWidth, document.getElementById('board').getBoundingClientRect().right];")
        assert scroll <= client and board_right <= client, f"at {width} px the page is {scroll} px wide"
    print(f"screenshots in {folder}")


def test_the_page_makes_no_network_request(page, tmp_path):
    driver = page.driver
    page.requests()
    page.open(Path(driver.current_url.removeprefix("file://")))
    draw(driver, [("pen", CROSSBAR)])
    assert driver.find_element("id", "verdict").text.startswith("Your drawing"), "a pen draws too"
    driver.find_elements("css selector", "button.sample")[1].click()
    urls = page.requests()
    assert urls and all(url.startswith(("file:", "data:")) for url in urls), urls
    assert page.console_errors() == []
    # The check can fail: a page that fetches something is caught.
    probe = tmp_path / "probe.html"
    probe.write_text('<img src="http://127.0.0.1:9/probe.png"><script>window.kataPage = {ready: true}</script>')
    page.open(probe)
    assert "http://127.0.0.1:9/probe.png" in page.requests()


def test_an_unsupported_network_gets_a_notice_not_an_answer(browser, run_dir, tmp_path):
    other = tmp_path / "20250101-120000-batchnorm"
    other.mkdir()
    with np.load(run_dir / "weights.npz") as weights:
        params = dict(weights)
    np.savez(other / "weights.npz", **params, gamma1=np.ones(48, np.float32), beta1=np.zeros(48, np.float32))
    (other / "config.json").write_text((run_dir / "config.json").read_text())
    page = webpage.write_page(other)
    browser.open(page)
    notice = browser.driver.find_element("id", "unsupported")
    assert notice.is_displayed() and "cannot run this network: it uses batch normalisation" in notice.text
    assert "gamma1" in notice.text
    assert browser.driver.execute_script("return window.kataPage.supported") is False
    assert browser.driver.find_elements("id", "board") == [] and browser.driver.find_elements("id", "verdict") == []


# --- the page of a CNN (the tests above share the MLP's page; these come after them) ----------

@pytest.fixture(scope="module")
def cnn_run_dir(mnist, tmp_path_factory, browser):
    """A small CNN (4 and 8 filters, a dense layer of 16) trained by kata train for two epochs."""
    out = tmp_path_factory.mktemp("cnn-runs")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("checker.data.load_dataset", lambda data_dir=None, *a, **k: mnist)
        assert run_command("train", "--solutions", "--model", "cnn", "--out", str(out), "--filters", "4,8",
                           "--cnn-hidden", "16", "--epochs", "2", "--lr", "0.01") == 0
    return only_run_dir(out)


@pytest.fixture(scope="module")
def built_cnn_dir(mnist, tmp_path_factory):
    """A CNN kata train does not make, with random weights: 5x5 kernels, three convolutions whose maps
    go 28 -> 14 -> 7 -> 3 (7 pooled drops a row and a column), a dense hidden layer. The page follows
    the weights, not one fixed network."""
    run_dir = tmp_path_factory.mktemp("built") / "20250101-120000-built"
    run_dir.mkdir()
    rng = np.random.default_rng(3)
    params = {}
    for l, shape in enumerate([(3, 1, 5, 5), (4, 3, 5, 5), (5, 4, 3, 3), (45, 12), (12, 10)], 1):
        fan_in = int(np.prod(shape[1:])) if len(shape) == 4 else shape[0]
        params[f"W{l}"] = (rng.normal(size=shape) * np.sqrt(2 / fan_in)).astype(np.float32)
        params[f"b{l}"] = rng.normal(0, 0.1, size=shape[0] if len(shape) == 4 else shape[1]).astype(np.float32)
    np.savez(run_dir / "weights.npz", **params)
    (run_dir / "config.json").write_text(json.dumps({"model": "cnn", "architecture": cnn.describe(params)}))
    webpage.write_page(run_dir, mnist)
    return run_dir


def cnn_probs(run_dir, images):
    """checker/cnn.py's forward pass (the reference's) of run_dir's weights."""
    params = runs.load_network(run_dir)
    forward, _ = cnn.network("solutions")
    return forward(params, np.asarray(images, dtype=np.float32))[0]


@pytest.mark.parametrize("which", ["cnn_run_dir", "built_cnn_dir"])
def test_the_pages_cnn_forward_pass_matches_checker_cnn(browser, which, request, mnist):
    run_dir = request.getfixturevalue(which)
    browser.console_errors()  # forget those of the pages before
    browser.open(run_dir / webpage.PAGE_FILE)
    assert browser.driver.execute_script("return window.kataPage.supported") is True
    images = mnist.test.images[:40]
    expected = cnn_probs(run_dir, images)
    got = np.array(browser.driver.execute_script(
        "return arguments[0].map((pixels) => window.kataPage.forward(pixels).probs);",
        images.astype(float).tolist()))
    assert got.shape == (40, 10)
    assert (got.argmax(axis=1) == expected.argmax(axis=1)).all(), "the same digit for every image"
    worst = np.abs(got - expected).max()
    assert worst <= 1e-5, f"probabilities differ from checker/cnn.py's by up to {worst:.2e}"
    assert browser.console_errors() == []


def test_a_cnn_page_reads_a_drawing_shows_its_filters_and_fits_a_phone(browser, cnn_run_dir, tmp_path):
    driver = browser.driver
    browser.console_errors()
    browser.open(cnn_run_dir / webpage.PAGE_FILE)
    driver.find_element("id", "clear").click()
    draw(driver, [("mouse", SEVEN), ("touch", CROSSBAR)])
    png = tmp_path / "drawing.png"
    png.write_bytes(base64.b64decode(driver.execute_script("return window.kataPage.canvasPNG()").split(",")[1]))
    expected, _ = predict.to_mnist(predict.read_image(png))
    assert np.abs(np.array(driver.execute_script("return window.kataPage.input")) - expected).max() <= 1 / 255
    verdict = driver.find_element("id", "verdict")
    assert int(verdict.get_attribute("data-digit")) == int(cnn_probs(cnn_run_dir, [expected])[0].argmax())
    labels = [item.text for item in driver.find_elements("css selector", "#units li")]
    assert len(labels) == 4 and all(re.fullmatch(r"filter [1-4]: \d+\.\d\d", label) for label in labels), labels
    assert driver.execute_script("return document.querySelectorAll('#units li canvas').length") == 8
    assert "CNN" in driver.find_element("css selector", ".headline").text
    folder = Path(os.environ.get("KATA_SCREENSHOTS") or tmp_path)
    for width in (1280, 390):
        browser.screenshot(folder / f"report-cnn-{width}.png", width)
        scroll, client = driver.execute_script(
            "const d = document.documentElement; return [d.scrollWidth, d.clientWidth];")
        assert scroll <= client, f"at {width} px the CNN's page is {scroll} px wide"
    assert browser.console_errors() == []
