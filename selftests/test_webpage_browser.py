"""report.html in a real browser (Debian's headless Chromium): the page's JavaScript against NumPy and
kata predict, an empty first canvas, drawing with pointer events, a picture file, "not sure" for what
is no digit, the training curves, figures full size, screenshots, keyboard, contrast, no console
error and no network at all; then the pages of a network with batch normalisation and of a CNN
against checker.models' forward passes.

Skipped with a one-line reason when the browser is not installed, except in CI (CI=true), where a
missing browser is a failure. One network is trained per module on a subset of the real MNIST.
"""

from __future__ import annotations

import base64
import io
import json
import os
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from browser_helpers import Browser, draw, missing_browser
from checker import cnn
from checker import images as predict
from checker import models, plots, runs
from checker import page as webpage
from checker.data import Dataset, Split, load_dataset
from training_helpers import only_run_dir, run_command

# A "7" and its crossbar, in canvas pixels (the canvas is 280 x 280): the mouse draws the first
# stroke, a finger the second.
SEVEN = [(70, 62), (210, 62), (175, 130), (140, 200), (120, 240)]
CROSSBAR = [(105, 150), (185, 150)]
PEN_WIDTH = 20  # assets/page.js: board.width / 14
EMPTY = "Draw a digit in the black square, or load a test digit or a picture."  # assets/play.html


def screenshots_folder(tmp_path_factory) -> Path:
    folder = os.environ.get("KATA_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        return Path(folder)
    return tmp_path_factory.mktemp("screenshots")

# Each test drives the browser and waits for the page's JavaScript: a few seconds on a quiet machine, far
# longer on a busy one, where the browser gets little CPU.
pytestmark = pytest.mark.timeout(600, func_only=True)


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


def board_pixels(driver) -> np.ndarray:
    """The canvas as the page holds it: (280, 280) gray values 0-255."""
    png = base64.b64decode(driver.execute_script("return window.kataPage.canvasPNG()").split(",")[1])
    with Image.open(io.BytesIO(png)) as image:
        return np.asarray(image.convert("L"))


def reading(driver) -> dict:
    """What the page shows of its last reading: verdict text and state, the digit it names (if any),
    the highlighted bar, the network's input and probabilities."""
    return driver.execute_script("""
        const verdict = document.getElementById('verdict'), best = document.querySelector('.bars li.best');
        return {text: verdict.textContent, state: verdict.dataset.state, digit: verdict.dataset.digit ?? null,
                best: best ? best.id : null, input: window.kataPage.input, probs: window.kataPage.probs,
                predictions: window.kataPage.predictions};""")


def says_what_it_read(shown: dict, source: str, probs: np.ndarray) -> None:
    """The verdict names the digit NumPy gives the highest probability when it reaches even odds, and
    says "Not sure" otherwise."""
    digit = int(probs.argmax())
    if probs[digit] >= webpage.UNSURE_BELOW:
        assert shown["state"] == "sure" and shown["digit"] == str(digit) and shown["best"] == f"bar-{digit}"
        assert shown["text"].startswith(f"{source}: the network reads {digit} ("), shown["text"]
    else:
        assert shown["state"] == "unsure" and shown["digit"] is None and shown["best"] is None
        assert shown["text"].startswith("Not sure what"), shown["text"]


def test_the_page_opens_on_an_empty_canvas_with_a_prompt(page):
    driver = page.driver
    assert board_pixels(driver).max() == 0, "nothing on the canvas, no test digit"
    assert driver.find_element("id", "board-prompt").is_displayed()
    assert driver.find_element("id", "board-prompt").text == "Draw a digit here"
    shown = reading(driver)
    assert shown["text"] == EMPTY and shown["state"] == "empty" and shown["predictions"] == 0
    assert shown["digit"] is None and shown["best"] is None
    assert driver.execute_script("return document.querySelectorAll('#units li').length") == 0
    assert page.console_errors() == []


def test_a_drawn_digit_reaches_the_network_as_kata_predict_would_read_it(page, run_dir, tmp_path):
    driver = page.driver
    driver.find_element("id", "clear").click()
    before = driver.execute_script("return window.kataPage.predictions")
    strokes = draw(driver, [("mouse", SEVEN), ("touch", CROSSBAR)])
    assert driver.execute_script("return window.kataPage.predictions") > before
    assert not driver.find_element("id", "board-prompt").is_displayed(), "the prompt goes once you draw"
    shown = reading(driver)

    # The same strokes as a picture: the canvas saved as PNG, read the way kata predict reads a file.
    png = tmp_path / "drawing.png"
    png.write_bytes(base64.b64decode(driver.execute_script("return window.kataPage.canvasPNG()").split(",")[1]))
    picture = predict.read_image(png)
    expected, notes = predict.to_mnist(picture)
    assert np.abs(np.array(shown["input"]) - expected).max() <= 1 / 255
    probs = numpy_probs(run_dir, [expected])[0]
    assert np.abs(np.array(shown["probs"]) - probs).max() <= 1e-4
    says_what_it_read(shown, "Your drawing", probs)

    # The strokes landed where they were drawn: the canvas against the same polylines drawn by Pillow
    # (through the points where the pointer went).
    reference = Image.new("L", (280, 280))
    pen = ImageDraw.Draw(reference)
    for points in strokes:
        pen.line(points, fill=255, width=PEN_WIDTH, joint="curve")
        for x, y in (points[0], points[-1]):
            pen.ellipse((x - PEN_WIDTH / 2, y - PEN_WIDTH / 2, x + PEN_WIDTH / 2, y + PEN_WIDTH / 2), fill=255)
    drawn, wanted = picture > 0.5, np.asarray(reference) > 127
    overlap = (drawn & wanted).sum() / (drawn | wanted).sum()
    assert overlap > 0.8, f"the drawing covers {overlap:.0%} of where the strokes should be"
    shift = np.abs(np.argwhere(drawn).mean(axis=0) - np.argwhere(wanted).mean(axis=0)).max()
    assert shift <= 1.5, f"the drawing lies {shift:.1f} canvas pixels away from the strokes"


def test_a_dot_or_an_empty_canvas_gets_not_sure_rather_than_a_digit(page):
    driver = page.driver
    driver.find_element("id", "clear").click()
    draw(driver, [("mouse", [(140, 140), (141, 141)])])  # a dot
    shown = reading(driver)
    assert shown["predictions"] > 0 and shown["state"] == "tiny", shown["text"]
    assert shown["text"].startswith("Not sure: your drawing is too small to be read as a digit"), shown["text"]
    assert shown["digit"] is None and shown["best"] is None, "no digit named, no bar highlighted"
    driver.find_element("id", "clear").click()
    driver.execute_script("window.kataPage.readBoard()")  # what every stroke does, on the empty canvas
    shown = reading(driver)
    assert shown["state"] == "empty" and shown["text"].startswith("Not sure: the canvas is empty"), shown["text"]
    assert shown["digit"] is None and shown["best"] is None
    driver.find_element("id", "clear").click()
    assert reading(driver)["text"] == EMPTY
    assert page.console_errors() == []


def test_test_digits_load_with_a_click_and_the_controls_work_from_the_keyboard(page, mnist):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.keys import Keys

    driver = page.driver
    page.open(Path(driver.current_url.removeprefix("file://")))  # afresh: Tab starts from the top
    focused = []
    for _ in range(5):
        ActionChains(driver).send_keys(Keys.TAB).perform()
        focused.append(driver.execute_script(
            "const e = document.activeElement; return e.id || e.getAttribute('aria-label') || e.tagName;"))
    assert focused[:2] == ["clear", "picture"], f"Tab reaches {focused}"
    assert all(label.startswith("Load test image") for label in focused[2:]), focused
    ActionChains(driver).send_keys(Keys.ENTER).perform()
    index = int(re.search(r"Load test image (\d+)", focused[-1]).group(1))
    assert driver.find_element("id", "verdict").text.startswith(f"Test image {index} (a {mnist.test.labels[index]})")
    assert np.abs(np.array(driver.execute_script("return window.kataPage.input"))
                  - mnist.test.images[index]).max() <= 1e-7, "a test digit goes in as it is"
    ActionChains(driver).key_down(Keys.SHIFT).send_keys(Keys.TAB * 4).key_up(Keys.SHIFT).send_keys(" ").perform()
    assert driver.find_element("id", "verdict").text == EMPTY
    assert driver.execute_script("return document.querySelectorAll('.bars li.best, #units li').length") == 0
    assert board_pixels(driver).max() == 0
    wrong = driver.find_elements("css selector", "button.sample.wrong")
    assert wrong, "some misclassified test digits are offered"
    wrong[0].click()
    label, read_as = re.search(r"a (\d), read as (\d)", wrong[0].get_attribute("aria-label")).groups()
    assert np.argmax(reading(driver)["probs"]) == int(read_as) != int(label)


def test_after_enter_on_a_test_digit_the_verdict_and_bars_come_into_view_on_a_phone(page):
    from selenium.webdriver.common.keys import Keys

    driver = page.driver
    driver.set_window_size(390, 800)
    try:
        button = driver.find_elements("css selector", "button.sample")[-1]
        driver.execute_script("arguments[0].scrollIntoView({block: 'end'}); arguments[0].focus();", button)
        in_view = "const r = document.getElementById(arguments[0]).getBoundingClientRect();" \
                  "return r.top >= -1 && r.bottom <= window.innerHeight + 1;"
        assert not driver.execute_script(in_view, "verdict"), "the test digits are below the verdict on a phone"
        button.send_keys(Keys.ENTER)
        assert driver.execute_script(in_view, "verdict") and driver.execute_script(in_view, "bar-9")
    finally:
        driver.set_window_size(1280, 900)


def write_picture(path: Path, mode: str) -> Path:
    """A photo-like picture of a 7 on paper (dark on light, off-centre, anti-aliased), saved in mode;
    a JPEG as a phone saves a photo: turned, with the EXIF orientation that turns it back."""
    size = (360, 270)
    paper = Image.new("L", size, 235)
    pen = ImageDraw.Draw(paper)
    pen.line([(150, 60), (240, 62), (200, 150), (180, 220)], fill=30, width=14, joint="curve")
    paper = paper.resize((size[0] // 2, size[1] // 2), Image.Resampling.LANCZOS)  # soft edges, like a scan
    if mode == "RGBA":  # ink on a transparent sheet: transparent pixels count as white paper
        picture = Image.new("RGBA", paper.size, (0, 0, 0, 0))
        alpha = Image.eval(paper, lambda v: 255 - v)
        picture.putalpha(alpha)
    else:
        picture = paper.convert(mode)
    if path.suffix == ".jpg":
        exif = Image.Exif()
        exif[0x0112] = 6  # shown rotated 90 degrees clockwise
        picture.transpose(Image.Transpose.ROTATE_90).save(path, exif=exif.tobytes(), quality=95)
    else:
        picture.save(path)
    return path


@pytest.mark.parametrize("mode, suffix", [("L", ".png"), ("RGB", ".png"), ("RGBA", ".png"), ("RGB", ".jpg")])
def test_a_picture_file_is_read_as_kata_predict_reads_it(page, run_dir, tmp_path, mode, suffix, capsys):
    driver = page.driver
    driver.find_element("id", "clear").click()
    path = write_picture(tmp_path / f"seven-{mode}{suffix}", mode)
    before = reading(driver)["predictions"]
    driver.find_element("id", "picture").send_keys(str(path))
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(driver, 30).until(lambda d: d.execute_script("return window.kataPage.predictions") > before)
    shown = reading(driver)
    expected, _ = predict.to_mnist(predict.read_image(path))
    # PNG: the same pixels, decoded by the browser and by Pillow; a canvas keeps semi-transparent
    # pixels premultiplied (a level off at most), and two JPEG decoders may differ by a level
    exact = mode != "RGBA" and suffix == ".png"
    assert np.abs(np.array(shown["input"]) - expected).max() <= (1e-6 if exact else 2 / 255)
    # kata predict's own answer for the same file
    assert run_command("predict", str(path), "--run", str(run_dir)) == 0
    printed = re.search(r"Prediction: (\d), ([\d.]+)% sure", capsys.readouterr().out)
    probs = numpy_probs(run_dir, [expected])[0]
    assert int(printed.group(1)) == int(np.argmax(shown["probs"])) == int(probs.argmax())
    assert abs(float(printed.group(2)) - 100 * max(shown["probs"])) <= 0.05 + (0 if exact else 0.5)
    says_what_it_read(shown, f"Your picture ({path.name})", probs)
    assert board_pixels(driver).max() > 200, "the picture is shown on the canvas"
    assert page.console_errors() == []


def test_a_picture_that_is_empty_or_no_picture_at_all_is_said_so(page, tmp_path):
    from selenium.webdriver.support.ui import WebDriverWait

    driver = page.driver
    blank = tmp_path / "blank.png"
    Image.new("L", (60, 40), 255).save(blank)
    text = tmp_path / "notes.png"
    text.write_text("not a picture")
    for path, words in ((blank, "Not sure: blank.png looks empty"), (text, "Not sure: notes.png is not a picture")):
        driver.execute_script("document.getElementById('verdict').textContent = ''")
        driver.find_element("id", "picture").send_keys(str(path))
        WebDriverWait(driver, 30).until(lambda d: d.find_element("id", "verdict").text != "")
        shown = reading(driver)
        assert shown["text"].startswith(words) and shown["digit"] is None and shown["best"] is None, shown["text"]
    driver.find_element("id", "clear").click()


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
              clear: [style('#clear').color, style('#clear').backgroundColor],
              open: [style('label.button.primary').color, style('label.button.primary').backgroundColor],
              unsure: [style('#verdict').color, page], key: [style('.key').color, page],
              axis: [style('.chart-box .axes text').fill, page]};""")
        is_dark = contrast(colours["page"], "rgb(0, 0, 0)") < 3
        assert is_dark == (scheme == "dark"), f"the {scheme} scheme has background {colours['page']}"
        for name, pair in colours.items():
            if name != "page":
                assert contrast(*pair) >= 4.5, f"{name} in the {scheme} scheme: {pair}"
    finally:
        driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"features": []})


def test_screenshots_at_1280_and_390_pixels_without_horizontal_scrolling(page, tmp_path_factory):
    folder = screenshots_folder(tmp_path_factory)
    driver = page.driver
    driver.find_element("id", "clear").click()
    draw(driver, [("mouse", SEVEN), ("touch", CROSSBAR)])
    for width in (1280, 390):
        shot = page.screenshot(folder / f"report-mlp-{width}.png", width)
        with Image.open(shot) as image:
            assert image.width == width
        scroll, client, board_right = driver.execute_script(
            "const d = document.documentElement;"
            "return [d.scrollWidth, d.clientWidth, document.getElementById('board').getBoundingClientRect().right];")
        assert scroll <= client and board_right <= client, f"at {width} px the page is {scroll} px wide"
    driver.set_window_size(1280, 900)
    print(f"screenshots in {folder}")


def test_the_training_curves_show_their_values_on_hover_and_with_the_keyboard(page, run_dir):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.keys import Keys

    driver = page.driver
    history = runs.read_metrics(run_dir / "metrics.csv")
    chart = driver.find_element("id", "chart-accuracy")
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", chart)
    assert chart.find_elements("css selector", "svg path"), "the curves are drawn"
    ActionChains(driver).move_to_element(chart).perform()  # the middle of the chart
    tip = chart.find_element("css selector", ".tip")
    assert tip.is_displayed()
    iteration = int(re.search(r"iteration (\d+)", tip.text).group(1))
    assert 0.3 * history.iterations < iteration < 0.7 * history.iterations, tip.text
    chart.send_keys(Keys.END)
    text = tip.text
    last = history.evals[-1]
    assert f"iteration {history.iterations} (epoch {history.iterations / history.iterations_per_epoch:.2f})" in text
    assert f"validation accuracy: {100 * last[2]:.2f}%" in text, text
    window = plots.smoothing_window(history)
    mean = plots.running_mean(history.batch_accuracy, window)[-1]
    assert f"training accuracy: {100 * mean:.2f}%" in text, text
    assert page.console_errors() == []


def test_a_figure_opens_full_size_and_closes_with_escape(page):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.keys import Keys

    driver = page.driver
    for width in (1280, 390):
        driver.set_window_size(width, 800)
        buttons = driver.find_elements("css selector", "button.zoom")
        assert [b.get_attribute("aria-label") for b in buttons] == [
            "Open confusion.png full size", "Open misclassified.png full size", "Open first_layer_weights.png full size"]
        shown, natural = driver.execute_script(
            "const i = arguments[0].querySelector('img'); return [i.clientWidth, i.naturalWidth];", buttons[-1])
        assert shown <= natural
        driver.execute_script("arguments[0].scrollIntoView()", buttons[-1])
        buttons[-1].click()
        viewer = driver.find_element("id", "viewer")
        assert viewer.get_attribute("open") is not None and "first_layer_weights.png" in viewer.text
        shown, natural = driver.execute_script(
            "const i = document.getElementById('viewer-image'); return [i.clientWidth, i.naturalWidth];")
        assert shown == natural > 1000, "one image pixel to one screen pixel, scrolled if wider than the screen"
        ActionChains(driver).send_keys(Keys.ESCAPE).perform()
        assert viewer.get_attribute("open") is None
        scroll, client = driver.execute_script("const d = document.documentElement; return [d.scrollWidth, d.clientWidth];")
        assert scroll <= client
    driver.set_window_size(1280, 900)
    assert page.console_errors() == []


def in_the_colour_key(driver, selector: str, weights: np.ndarray) -> None:
    """The first canvas matching selector paints weights (H, W) in the colour key: the largest weight
    red and the smallest blue, the one of larger size fully so (each picture on its own scale)."""
    pixels = np.array(driver.execute_script(
        "const c = document.querySelector(arguments[0]);"
        "return Array.from(c.getContext('2d').getImageData(0, 0, c.width, c.height).data);", selector))
    pixels = pixels.reshape(*weights.shape, 4).astype(int)
    redness = pixels[..., 0] - pixels[..., 2]  # red minus blue: > 0 red, < 0 blue, 0 white
    top, bottom = np.unravel_index(weights.argmax(), weights.shape), np.unravel_index(weights.argmin(), weights.shape)
    assert redness[top] > 0 > redness[bottom], (redness[top], redness[bottom])
    strongest = top if weights[top] >= -weights[bottom] else bottom
    stops = json.loads(driver.find_element("id", "kata-data").get_attribute("textContent"))["colours"]["weights"]
    end = stops[-1] if strongest == top else stops[0]  # the colour map's darkest red or blue
    assert "#%02x%02x%02x" % tuple(pixels[strongest][:3]) == end


def test_the_colour_key_paints_a_units_positive_weights_red_and_negative_ones_blue(page, run_dir):
    driver = page.driver
    driver.find_elements("css selector", "button.sample")[0].click()
    unit = int(re.search(r"unit (\d+)", driver.find_element("css selector", "#units li").text).group(1))
    in_the_colour_key(driver, "#units canvas", runs.load_network(run_dir)["W1"][:, unit].reshape(28, 28))
    key = driver.find_element("css selector", ".key").text
    assert key == plots.WEIGHT_KEY


def test_the_page_makes_no_network_request(page, tmp_path):
    driver = page.driver
    page.requests()
    page.open(Path(driver.current_url.removeprefix("file://")))
    before = reading(driver)["predictions"]
    draw(driver, [("pen", CROSSBAR)])
    assert reading(driver)["predictions"] > before, "a pen draws too"
    driver.find_elements("css selector", "button.sample")[1].click()
    urls = page.requests()
    assert urls and all(url.startswith(("file:", "data:")) for url in urls), urls
    assert page.console_errors() == []
    # The check can fail: a page that fetches something is caught.
    probe = tmp_path / "probe.html"
    probe.write_text('<img src="http://127.0.0.1:9/probe.png"><script>window.kataPage = {ready: true}</script>')
    page.open(probe)
    assert "http://127.0.0.1:9/probe.png" in page.requests()


def test_a_reading_where_no_digit_gets_even_odds_is_not_sure(browser, run_dir, tmp_path, mnist):
    """A network whose output layer is all zeros gives every digit 10%, whatever it reads."""
    undecided = tmp_path / "20250101-120000-undecided"
    undecided.mkdir()
    with np.load(run_dir / "weights.npz") as weights:
        params = dict(weights)
    last = max(int(key[1:]) for key in params if key.startswith("W"))
    params[f"W{last}"], params[f"b{last}"] = np.zeros_like(params[f"W{last}"]), np.zeros_like(params[f"b{last}"])
    np.savez(undecided / "weights.npz", **params)
    (undecided / "config.json").write_text((run_dir / "config.json").read_text())
    browser.console_errors()
    browser.open(webpage.write_page(undecided, mnist).path)
    draw(browser.driver, [("mouse", SEVEN), ("touch", CROSSBAR)])
    shown = reading(browser.driver)
    assert shown["state"] == "unsure" and shown["digit"] is None and shown["best"] is None
    assert shown["text"] == ("Not sure what your drawing is: no digit gets even odds (the most, 10.0%, goes to 0). "
                             "It may not be a digit."), shown["text"]
    browser.driver.find_elements("css selector", "button.sample")[0].click()
    assert reading(browser.driver)["text"].startswith("Not sure what test image")
    assert browser.console_errors() == []


def test_weights_the_page_cannot_run_get_a_notice_not_an_answer(browser, run_dir, tmp_path, mnist):
    other = tmp_path / "20250101-120000-edited"
    other.mkdir()
    with np.load(run_dir / "weights.npz") as weights:
        params = dict(weights)
    np.savez(other / "weights.npz", **params, gamma1=np.ones(48, np.float32), beta1=np.zeros(48, np.float32))
    (other / "config.json").write_text((run_dir / "config.json").read_text())
    page = webpage.write_page(other, mnist)
    browser.console_errors()
    browser.open(page.path)
    notice = browser.driver.find_element("id", "unsupported")
    assert notice.is_displayed() and "cannot run this network: it has batch normalisation for layers [1]" in notice.text
    assert browser.driver.execute_script("return window.kataPage.supported") is False
    assert browser.driver.find_elements("id", "board") == [] and browser.driver.find_elements("id", "verdict") == []
    assert browser.console_errors() == []


# --- the page of a network with batch normalisation ---------------------------------------------

@pytest.fixture(scope="module")
def batchnorm_run_dir(mnist, tmp_path_factory, browser):
    """kata train --batchnorm, two hidden layers of 48, two epochs on the subset."""
    out = tmp_path_factory.mktemp("bn-runs")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("checker.data.load_dataset", lambda data_dir=None, *a, **k: mnist)
        assert run_command("train", "--solutions", "--batchnorm", "--out", str(out), "--hidden", "48", "--depth", "2",
                           "--epochs", "2", "--lr", "0.1", "--lr-schedule", "constant") == 0
    return only_run_dir(out)


def test_a_batchnorm_networks_forward_pass_in_the_page_matches_numpy_on_200_test_images(browser, batchnorm_run_dir, mnist):
    browser.console_errors()
    browser.open(batchnorm_run_dir / webpage.PAGE_FILE)
    params = runs.load_network(batchnorm_run_dir)
    assert models.network_of(params).kind == "batchnorm"
    assert not np.allclose(params["running_var1"], 1), "the running statistics were trained, not left as initialised"
    images = mnist.test.images[:200]
    expected = models.predict(params, images)
    got = np.array(browser.driver.execute_script(
        "return arguments[0].map((pixels) => window.kataPage.forward(pixels).probs);", images.astype(float).tolist()))
    assert got.shape == (200, 10)
    assert (got.argmax(axis=1) == expected.argmax(axis=1)).all(), "the same digit for every image"
    worst = np.abs(got - expected).max()
    assert worst <= 1e-5, f"probabilities differ from NumPy's by up to {worst:.2e}"
    # and without the running statistics (batch statistics of one image, or none at all) it would not
    plain = {k: v for k, v in params.items() if not k.startswith(("gamma", "beta", "running"))}
    assert np.abs(models.predict(plain, images) - expected).max() > 1e-2
    assert browser.console_errors() == []


def test_a_batchnorm_page_reads_a_drawing_as_kata_predict_and_fits_a_phone(browser, batchnorm_run_dir, tmp_path,
                                                                         tmp_path_factory):
    driver = browser.driver
    browser.console_errors()
    browser.open(batchnorm_run_dir / webpage.PAGE_FILE)
    assert driver.find_element("css selector", "h1").text == "The reference network reads digits"
    assert driver.find_element("css selector", ".shape").text.count("dense · batch norm · ReLU") == 2
    draw(driver, [("mouse", SEVEN), ("touch", CROSSBAR)])
    png = tmp_path / "drawing.png"
    png.write_bytes(base64.b64decode(driver.execute_script("return window.kataPage.canvasPNG()").split(",")[1]))
    expected, _ = predict.to_mnist(predict.read_image(png))
    shown = reading(driver)
    assert np.abs(np.array(shown["input"]) - expected).max() <= 1 / 255
    says_what_it_read(shown, "Your drawing", numpy_probs(batchnorm_run_dir, [expected])[0])
    assert len(driver.find_elements("css selector", "#units li")) == 6
    folder = screenshots_folder(tmp_path_factory)
    for width in (1280, 390):
        browser.screenshot(folder / f"report-batchnorm-{width}.png", width)
        scroll, client = driver.execute_script("const d = document.documentElement; return [d.scrollWidth, d.clientWidth];")
        assert scroll <= client, f"at {width} px the batch-norm page is {scroll} px wide"
    driver.set_window_size(1280, 900)
    assert browser.console_errors() == []


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


def test_a_cnn_page_reads_a_drawing_shows_its_filters_and_fits_a_phone(browser, cnn_run_dir, tmp_path,
                                                                      tmp_path_factory):
    driver = browser.driver
    browser.console_errors()
    browser.open(cnn_run_dir / webpage.PAGE_FILE)
    assert board_pixels(driver).max() == 0
    draw(driver, [("mouse", SEVEN), ("touch", CROSSBAR)])
    png = tmp_path / "drawing.png"
    png.write_bytes(base64.b64decode(driver.execute_script("return window.kataPage.canvasPNG()").split(",")[1]))
    expected, _ = predict.to_mnist(predict.read_image(png))
    shown = reading(driver)
    assert np.abs(np.array(shown["input"]) - expected).max() <= 1 / 255
    says_what_it_read(shown, "Your drawing", cnn_probs(cnn_run_dir, [expected])[0])
    labels = [item.text for item in driver.find_elements("css selector", "#units li")]
    assert len(labels) == 4 and all(re.fullmatch(r"filter [1-4]\nmean \d+\.\d\d", label) for label in labels), labels
    assert driver.execute_script("return document.querySelectorAll('#units li canvas').length") == 8
    assert "conv 3x3 · pool 2 · ReLU" in driver.find_element("css selector", ".shape").text
    f = int(re.match(r"filter (\d)", labels[0]).group(1)) - 1
    in_the_colour_key(driver, "#units .pair canvas", runs.load_network(cnn_run_dir)["W1"][f, 0])
    folder = screenshots_folder(tmp_path_factory)
    for width in (1280, 390):
        browser.screenshot(folder / f"report-cnn-{width}.png", width)
        scroll, client = driver.execute_script(
            "const d = document.documentElement; return [d.scrollWidth, d.clientWidth];")
        assert scroll <= client, f"at {width} px the CNN's page is {scroll} px wide"
    assert browser.console_errors() == []
