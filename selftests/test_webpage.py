"""kata report: the page's content without a browser (selftests/test_webpage_browser.py runs it).

Self-contained (inline script and style, data-URI figures, base64 weights), at most 3 MB for the
default network, any depth, a notice for networks the page cannot run, older runs, bad input.
"""

from __future__ import annotations

import base64
import json
import re
import shutil

import numpy as np
import pytest

from checker.commands import webpage
from checker.errors import KataError
from training_helpers import only_run_dir, run_command, use_tiny_dataset


@pytest.fixture(scope="module")
def default_run(tmp_path_factory):
    """A run of the default network shape (784-384-10) written by kata train on the tiny dataset."""
    out = tmp_path_factory.mktemp("runs")
    with pytest.MonkeyPatch.context() as patch:
        use_tiny_dataset(patch)
        assert run_command("train", "--solutions", "--out", str(out), "--epochs", "1", "--lr", "0.1") == 0
    return only_run_dir(out)


page_data = webpage.page_data


def weights_of(run_dir) -> dict:
    with np.load(run_dir / "weights.npz") as archive:
        return dict(archive)


def copy_run(run_dir, tmp_path, name="20250101-120000-copy", **params):
    """A copy of run_dir whose weights.npz holds params (the run's own ones when none are given)."""
    other = tmp_path / name
    shutil.copytree(run_dir, other)
    (other / webpage.PAGE_FILE).unlink(missing_ok=True)
    if params:
        np.savez(other / "weights.npz", **params)
    return other


def test_the_page_is_one_self_contained_file_under_3_mb(default_run):
    page = default_run / webpage.PAGE_FILE
    text = page.read_text(encoding="utf-8")
    assert page.stat().st_size <= 3_000_000, f"{page.stat().st_size / 1e6:.2f} MB"
    assert not re.search(r"""(src|href)\s*=\s*["']?(?!data:)[a-z]+:""", text, re.I), "no external resource"
    assert not re.search(r"https?://", text), "no address of any server"
    assert "<script src" not in text and "<link" not in text and "@import" not in text
    images = re.findall(r'<img src="([^"]{0,30})', text)
    assert len(images) == 5 and all(src.startswith("data:image/png;base64,") for src in images)
    assert "default-src 'none'" in text, "the page forbids itself any request"


def test_the_weights_go_into_the_page_exactly(default_run):
    data = page_data((default_run / webpage.PAGE_FILE).read_text(encoding="utf-8"))
    params = weights_of(default_run)
    layers = data["network"]["layers"]
    assert [layer["shape"] for layer in layers] == [[784, 384], [384, 10]]
    for number, layer in enumerate(layers, 1):
        W = np.frombuffer(base64.b64decode(layer["W"]), dtype="<f4").reshape(layer["shape"])
        b = np.frombuffer(base64.b64decode(layer["b"]), dtype="<f4")
        assert np.array_equal(W, params[f"W{number}"]) and np.array_equal(b, params[f"b{number}"])


def test_the_test_digits_include_right_and_wrong_ones_with_their_predictions(default_run):
    from training_helpers import tiny_dataset

    test = tiny_dataset().test
    params = weights_of(default_run)
    params["b2"] = params["b2"] + np.eye(10, dtype=np.float32)[3] * 2.5  # some digits now read as 3
    layers, _ = webpage.page_layers(params, {})
    digits, note = webpage.sample_digits(layers, {}, tiny_dataset())
    right = [d for d in digits if d["label"] == d["predicted"]]
    wrong = [d for d in digits if d["label"] != d["predicted"]]
    assert note == "" and 1 <= len(wrong) <= webpage.WRONG_DIGITS and len(right) >= 5
    assert len({d["label"] for d in right}) == len(right), "one right digit per class"
    for digit in digits:
        pixels = np.frombuffer(base64.b64decode(digit["pixels"]), dtype=np.uint8)
        assert np.abs(pixels / 255 - test.images[digit["index"]]).max() <= 0.5 / 255 + 1e-7
        assert digit["label"] == test.labels[digit["index"]]
        assert webpage.forward(layers, (pixels / 255)[None])[0].argmax() == digit["predicted"]
    page = page_data((default_run / webpage.PAGE_FILE).read_text(encoding="utf-8"))
    assert len(page["digits"]) >= 5, "the page of the run offers its test digits"


def test_the_summary_shows_the_settings_and_results(default_run):
    text = (default_run / webpage.PAGE_FILE).read_text(encoding="utf-8")
    summary = json.loads((default_run / "summary.json").read_text())
    for expected in (f"{summary['test_accuracy']:.2%}", f"{summary['validation_accuracy']:.2%}",
                     "784-384-10", "the reference (solutions/)", "0.1 (linear)", "<th scope=\"row\">Seed</th><td>0</td>",
                     "loss.png", "confusion.png", "first_layer_weights.png", default_run.name):
        assert expected in text, expected


@pytest.mark.parametrize("depth", [2, 3])
def test_deeper_networks_go_into_the_page_layer_by_layer(depth):
    rng = np.random.default_rng(0)
    sizes = [784, *[16] * depth, 10]
    params = {}
    for l, (fan_in, fan_out) in enumerate(zip(sizes, sizes[1:]), 1):
        params[f"W{l}"] = rng.normal(size=(fan_in, fan_out)).astype(np.float32)
        params[f"b{l}"] = rng.normal(size=fan_out).astype(np.float32)
    layers, problem = webpage.page_layers(params, {"layer_sizes": sizes})
    assert problem == "" and [W.shape for W, _ in layers] == list(zip(sizes, sizes[1:]))
    from checker.commands import predict

    images = rng.random((3, 784)).astype(np.float32)
    assert np.allclose(webpage.forward(layers, images), [predict.predict(params, x) for x in images])


def small_params(**changes):
    rng = np.random.default_rng(1)
    params = {"W1": rng.normal(size=(784, 8)).astype(np.float32), "b1": np.zeros(8, np.float32),
              "W2": rng.normal(size=(8, 10)).astype(np.float32), "b2": np.zeros(10, np.float32)}
    params.update(changes)
    return {k: v for k, v in params.items() if v is not None}


@pytest.mark.parametrize("params, config, words", [
    (small_params(gamma1=np.ones(8), beta1=np.zeros(8), running_mean1=np.zeros(8)), {},
     "arrays the page does not know yet (beta1, gamma1, running_mean1)"),
    (small_params(W1=np.zeros((8, 1, 3, 3), np.float32)), {}, "W1 has shape (8, 1, 3, 3)"),
    (small_params(W1=np.zeros((100, 8), np.float32)), {}, "not a dense layer taking 784 inputs"),
    (small_params(b2=None), {}, "missing: b2"),
    (small_params(W2=np.full((8, 10), np.nan, np.float32)), {}, "not finite"),
    (small_params(), {"layer_sizes": [784, 8, 8, 10]}, "config.json describes layers [784, 8, 8, 10]"),
])
def test_a_network_the_page_cannot_run_is_named_not_guessed(params, config, words):
    layers, problem = webpage.page_layers(params, config)
    assert layers is None and words in problem


def test_an_unsupported_network_gets_the_summary_figures_and_a_notice(default_run, tmp_path):
    params = weights_of(default_run)
    other = copy_run(default_run, tmp_path, **params, gamma1=np.ones(384, np.float32))
    text = webpage.write_page(other).read_text(encoding="utf-8")
    assert page_data(text)["network"] is None and page_data(text)["digits"] == []
    assert 'id="unsupported"' in text and "gamma1" in text and 'id="board"' not in text
    assert text.count('<img src="data:image/png') == 5


def test_kata_report_writes_the_page_of_the_newest_run_and_of_an_older_one(default_run, tmp_path, monkeypatch, capsys):
    older = copy_run(default_run, tmp_path / "runs", "20240101-120000-old")
    for name in ("summary.json", "loss.png", "accuracy.png", "confusion.png", "misclassified.png",
                 "first_layer_weights.png"):
        (older / name).unlink()  # an older run: no summary, no figures
    config = json.loads((older / "config.json").read_text())
    (older / "config.json").write_text(json.dumps({k: config[k] for k in ("hidden", "epochs", "lr", "seed")}))
    use_tiny_dataset(monkeypatch)
    monkeypatch.setattr(webpage, "ROOT", tmp_path)
    assert run_command("report") == 0
    out = capsys.readouterr().out
    assert f"Web page: {older / webpage.PAGE_FILE}" in out and "MB, works offline" in out
    text = (older / webpage.PAGE_FILE).read_text(encoding="utf-8")
    assert page_data(text)["network"] is not None and "This run has no figures." in text
    assert "<th scope=\"row\">Test accuracy</th><td>not measured</td>" in text


def test_kata_report_open_uses_the_web_browser(default_run, monkeypatch, capsys):
    opened = []
    monkeypatch.setattr("webbrowser.open", lambda url: opened.append(url) or True)
    use_tiny_dataset(monkeypatch)
    assert run_command("report", str(default_run), "--open") == 0
    assert opened == [(default_run / webpage.PAGE_FILE).resolve().as_uri()]


@pytest.mark.parametrize("make, words", [
    (lambda tmp: tmp / "nowhere", "is not a folder"),
    (lambda tmp: tmp, "holds no weights.npz, so it is not the folder of a training run"),
])
def test_kata_report_on_a_folder_that_is_not_a_run_says_what_to_do(tmp_path, make, words):
    with pytest.raises(KataError, match=words):
        run_command("report", str(make(tmp_path)))


def test_kata_report_without_any_run_says_to_train_first(tmp_path, monkeypatch):
    monkeypatch.setattr(webpage, "ROOT", tmp_path)
    with pytest.raises(KataError, match="no trained network .* Train one first"):
        run_command("report")
