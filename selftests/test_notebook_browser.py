"""The kata in JupyterLab, in a real browser: JupyterLab started headless on a free localhost port with a
token, a notebook opened in Debian's chromium through selenium, its cells run (%load_ext, %kata, %kata
canvas), a digit drawn on the canvas with real pointer events, and the canvas's reading compared with
`kata predict` on the same image; the learner's forward functions answer in the kernel and agree.

The learner's copy of the kata has the stages of Part I solved and one run of the learner's trained on
a subset of MNIST (so that %kata starts no training of its own).
Skipped without the browser or the notebook extra, except in CI (CI=true), where that is a failure.
KATA_SCREENSHOTS=DIR keeps the screenshots (1280 px wide).
"""

from __future__ import annotations

import base64
import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest

import notebook_helpers as nb
from browser_helpers import Browser, draw, missing_browser
from checker import models, runs
from checker.images import read_image, to_mnist
from checker.data import Dataset, Split, load_dataset
from training_helpers import run_command

SEVEN = [(70, 62), (210, 62), (175, 130), (140, 200), (120, 240)]  # test_webpage_browser's 7, in canvas pixels
CROSSBAR = [(105, 150), (185, 150)]
CELLS = ["%load_ext checker.notebook", "%kata", "%kata canvas"]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def screenshots_folder(tmp_path_factory) -> Path:
    folder = os.environ.get("KATA_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        return Path(folder)
    return tmp_path_factory.mktemp("screenshots")


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """JupyterLab serving a solved copy of the kata with one trained run: (url of the notebook, copy, browser)."""
    reason = missing_browser() or nb.missing_jupyter()
    if reason:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true but the JupyterLab test cannot run: {reason}")
        pytest.skip(f"no browser or Jupyter for the JupyterLab test: {reason}")
    home = tmp_path_factory.mktemp("lab")
    copy = nb.learner_copy(home / "kata", solved=1)
    full = load_dataset()
    subset = Dataset(train=Split(full.train.images[:5000], full.train.labels[:5000]),
                     validation=Split(full.validation.images[:1000], full.validation.labels[:1000]),
                     test=Split(full.test.images[:1000], full.test.labels[:1000]), name="MNIST (subset)",
                     data_dir=full.data_dir)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("checker.data.load_dataset", lambda data_dir=None, *a, **k: subset)
        assert run_command("train", "--solutions", "--out", str(copy.path / "runs"), "--hidden", "64",
                           "--epochs", "2", "--lr", "0.1", "--lr-schedule", "constant") == 0
    (run_dir,) = (copy.path / "runs").iterdir()
    summary = json.loads((run_dir / "summary.json").read_text())
    summary["impl"] = "exercises"  # the learner's own run: every stage of the copy is solved
    (run_dir / "summary.json").write_text(json.dumps(summary))
    notebook = {"cells": [{"cell_type": "code", "execution_count": None, "id": f"cell-{i}", "metadata": {},
                           "outputs": [], "source": source} for i, source in enumerate(CELLS)],
                "metadata": {"kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python",
                                            "name": "python3"}},
                "nbformat": 4, "nbformat_minor": 5}
    (copy.path / "notebooks" / "canvas.ipynb").write_text(json.dumps(notebook))
    news = home / "settings" / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings"
    news.parent.mkdir(parents=True)
    news.write_text(json.dumps({"fetchNews": "false", "checkForUpdates": False}))  # no question about news
    port, token = free_port(), "kata-" + os.urandom(12).hex()
    env = nb.kernel_environment(JUPYTER_CONFIG_DIR=str(home / "config"), JUPYTER_RUNTIME_DIR=str(home / "runtime"))
    env.pop("KATA_NOTEBOOK_QUICK")
    server = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab", "--no-browser", f"--port={port}", "--ip=127.0.0.1",
         f"--ServerApp.token={token}", f"--ServerApp.root_dir={copy.path}", "--ServerApp.port_retries=0",
         "--LabApp.expose_app_in_browser=True", "--LabApp.news_url=None",
         "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
         f"--LabApp.user_settings_dir={home / 'settings'}", f"--LabApp.workspaces_dir={home / 'workspaces'}",
         *(["--allow-root"] if hasattr(os, "geteuid") and os.geteuid() == 0 else [])],  # CI runs as root
        cwd=copy.path, env=env, stdout=open(home / "server.log", "wb"), stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL)
    browser = None
    try:
        def up():
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/status?token={token}", timeout=5) as reply:
                    return reply.status == 200
            except OSError:
                assert server.poll() is None, (home / "server.log").read_text()[-3000:]
                return False

        nb.wait_for(up, 120, "JupyterLab to answer")
        browser = Browser(width=1280, height=1000)
        yield f"http://127.0.0.1:{port}/lab/tree/notebooks/canvas.ipynb?token={token}", copy, browser, home
    finally:
        if browser is not None:
            browser.close()
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()


def run_all_cells(driver) -> None:
    """Open the notebook's cells and run them all, as the menu's Run > Run All Cells does."""
    nb.wait_for(lambda: driver.execute_script(
        "const app = window.jupyterapp; const panel = app && app.shell.currentWidget;"
        "return !!(panel && panel.sessionContext && panel.sessionContext.session"
        " && panel.sessionContext.session.kernel && panel.sessionContext.session.kernel.status === 'idle'"
        " && panel.content && panel.content.widgets.length === arguments[0]);", len(CELLS)),
        180, "the notebook to open with an idle kernel")
    driver.execute_script("window.jupyterapp.commands.execute('notebook:run-all-cells');")


def test_a_digit_drawn_in_jupyterlab_reads_as_kata_predict_reads_it(lab, tmp_path_factory):
    url, copy, browser, home = lab
    driver = browser.driver
    driver.get(url)
    run_all_cells(driver)
    try:
        board = nb.wait_for(lambda: driver.find_elements("css selector", ".kata-canvas canvas.kata-board"), 240,
                            "the canvas widget")[0]
    except AssertionError:
        driver.save_screenshot(str(home / "timed-out.png"))
        raise AssertionError(f"no canvas widget after 240 s; the page: {home / 'timed-out.png'}, the browser's log: "
                             f"{browser.console_errors()}; the notebook: "
                             + driver.execute_script("return document.querySelector('.jp-Notebook').innerText")[-3000:])
    report = driver.execute_script("return document.querySelectorAll('.jp-OutputArea-output')[0].innerText")
    from checker.stages import all_stages, stages_of_part

    assert re.search(r"Part I complete: your network reads \d+\.\d\d% of the test digits", report), report[:2000]
    assert f"{len(stages_of_part(1))}/{len(all_stages())} stages" in report, report[:2000]
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", board)
    time.sleep(0.5)
    draw(driver, [("mouse", SEVEN), ("touch", CROSSBAR)], board=board)
    shown = nb.wait_for(lambda: driver.execute_script(
        "const root = document.querySelector('.kata-canvas'), verdict = root.querySelector('.kata-verdict'),"
        " kernel = root.querySelector('.kata-kernel');"
        "if (kernel.dataset.state === 'waiting' || kernel.dataset.state === 'idle') return null;"
        "return {state: verdict.dataset.state, digit: verdict.dataset.digit ?? null, text: verdict.textContent,"
        " probs: JSON.parse(root.dataset.probs || 'null'), kernel: kernel.dataset.state,"
        " kernelDigit: kernel.dataset.digit ?? null, kernelText: kernel.textContent,"
        " png: root.querySelector('canvas.kata-board').toDataURL('image/png')};"), 120,
        "the kernel's answer under the canvas")
    picture = tmp_path_factory.mktemp("drawn") / "drawn.png"
    picture.write_bytes(base64.b64decode(shown["png"].split(",")[1]))
    done = subprocess.run([sys.executable, "-m", "checker", "predict", str(picture)], cwd=copy.path, text=True,
                          capture_output=True, env=nb.kernel_environment(), timeout=120)
    assert done.returncode == 0, done.stderr
    predicted = int(re.search(r"^Prediction: (\d),", done.stdout, re.M).group(1))
    (run_dir,) = (copy.path / "runs").iterdir()
    expected = models.predict(runs.load_network(run_dir), to_mnist(read_image(picture))[0][None])[0]
    assert int(expected.argmax()) == predicted
    assert np.abs(np.array(shown["probs"]) - expected).max() < 1e-5, "the canvas's probabilities are kata predict's"
    if shown["state"] == "sure":
        assert shown["digit"] == str(predicted) and shown["text"].startswith(f"Your drawing: the network reads {predicted}")
    assert shown["kernel"] == "agrees" and shown["kernelDigit"] == str(predicted), shown["kernelText"]
    folder = screenshots_folder(tmp_path_factory)
    driver.set_window_size(1280, 1000)
    driver.save_screenshot(str(folder / "jupyterlab-canvas-1280.png"))
    driver.execute_script("document.querySelector('.jp-OutputArea-output').scrollIntoView({block: 'start'});")
    driver.save_screenshot(str(folder / "jupyterlab-report-1280.png"))
