"""kata report: the page's content without a browser (selftests/test_webpage_browser.py runs it).

Self-contained (inline script and style, data-URI figures, base64 weights), at most 3 MB for the
default network, any depth, CNNs, a notice for networks the page cannot run, older runs, bad input.
"""

from __future__ import annotations

import base64
import json
import re
import shutil

import numpy as np
import pytest

from checker import models, runs
from checker import page as webpage
from checker.errors import KataError
from checker import cnn
from training_helpers import only_run_dir, run_command, tiny_dataset, use_tiny_dataset


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

    images = rng.random((3, 784)).astype(np.float32)
    assert np.allclose(webpage.forward(layers, images), models.predict(params, images))


def small_params(**changes):
    rng = np.random.default_rng(1)
    params = {"W1": rng.normal(size=(784, 8)).astype(np.float32), "b1": np.zeros(8, np.float32),
              "W2": rng.normal(size=(8, 10)).astype(np.float32), "b2": np.zeros(10, np.float32)}
    params.update(changes)
    return {k: v for k, v in params.items() if v is not None}


@pytest.mark.parametrize("params, config, words", [
    (small_params(gamma1=np.ones(8), beta1=np.zeros(8), running_mean1=np.zeros(8)), {},
     "batch normalisation (beta1, gamma1, running_mean1 in weights.npz)"),
    (small_params(extra=np.ones(3)), {}, "arrays other than the layers' weights and biases (extra)"),
    (small_params(W1=np.zeros((8, 1, 3, 3), np.float32)), {},
     "layer 2 is not a dense layer taking 1568 inputs (W2 has shape (8, 10)"),
    (small_params(W2=np.zeros((4, 8, 3, 3), np.float32), b2=np.zeros(4, np.float32)), {},
     "layer 2 is not a convolution of the 8 units before it"),
    (small_params(W1=np.zeros((100, 8), np.float32)), {}, "not a dense layer taking 784 inputs"),
    (small_params(b2=None), {}, "missing: b2"),
    (small_params(W2=np.full((8, 10), np.nan, np.float32)), {}, "not finite"),
    (small_params(), {"layer_sizes": [784, 8, 8, 10]}, "config.json describes layers [784, 8, 8, 10]"),
])
def test_a_network_the_page_cannot_run_is_named_not_guessed(params, config, words):
    layers, problem = webpage.page_layers(params, config)
    assert layers is None and words in problem


def conv_params(*shapes, seed=0):
    """{W1, b1, ...} of the given W shapes (4-D: a convolution, 2-D: dense), random."""
    rng = np.random.default_rng(seed)
    return {key: value for l, shape in enumerate(shapes, 1)
            for key, value in ((f"W{l}", rng.normal(size=shape).astype(np.float32)),
                               (f"b{l}", rng.normal(size=shape[0] if len(shape) == 4 else shape[1]).astype(np.float32)))}


@pytest.mark.parametrize("params, config, words", [
    (conv_params((4, 1, 3, 3), (8, 2, 3, 3), (392, 10)), {}, "layer 2 is not a convolution of the 4 x 14 x 14 maps"),
    (conv_params((4, 1, 3, 3), (8, 4, 3, 3)), {}, "its last layer is a convolution"),
    (conv_params((5, 1, 3, 3), (784, 10)), {}, "layer 2 is not a dense layer taking 980 inputs (W2 has shape (784, 10)"),
    (conv_params((4, 1, 3, 3), (784, 10)), {"architecture": "conv 3x3x8 - pool 2 - dense 1568-10"},
     "config.json describes the network as conv 3x3x8 - pool 2 - dense 1568-10, the weights as conv 3x3x4"),
    (conv_params((4, 1, 3, 3), (4, 4, 3, 3), (4, 4, 3, 3), (4, 4, 3, 3), (4, 4, 3, 3), (4, 10)), {},
     "layer 5's maps are too small to pool (1 x 1"),
])
def test_a_cnn_the_page_cannot_run_is_named_not_guessed(params, config, words):
    layers, problem = webpage.page_layers(params, config)
    assert layers is None and words in problem


@pytest.mark.parametrize("shapes", [
    [(4, 1, 3, 3), (6, 4, 3, 3), (294, 10)],
    [(3, 1, 5, 5), (4, 3, 5, 5), (2, 4, 3, 3), (18, 7), (7, 10)],  # 28 -> 14 -> 7 -> 3 (a row dropped)
])
def test_cnns_go_into_the_page_layer_by_layer(shapes):
    params = conv_params(*shapes)
    layers, problem = webpage.page_layers(params, {"architecture": cnn.describe(params)})
    assert problem == "" and [W.shape for W, _ in layers] == shapes

    images = np.random.default_rng(1).random((3, 784)).astype(np.float32)
    assert np.allclose(webpage.forward(layers, images), models.predict(params, images), atol=1e-6)


@pytest.fixture(scope="module")
def cnn_run(tmp_path_factory):
    """A small CNN run (Adam, the CNN's default optimizer) written by kata train on the tiny dataset,
    with a cnn_fixes.png as the end of the curriculum adds."""
    out = tmp_path_factory.mktemp("cnn-runs")
    with pytest.MonkeyPatch.context() as patch:
        use_tiny_dataset(patch)
        assert run_command("train", "--solutions", "--model", "cnn", "--filters", "4,6", "--cnn-hidden", "16",
                           "--epochs", "4", "--lr", "0.005", "--out", str(out)) == 0
        run_dir = only_run_dir(out)
        shutil.copy(run_dir / "confusion.png", run_dir / "cnn_fixes.png")
        webpage.write_page(run_dir)
    return run_dir


def test_a_cnn_run_goes_into_the_page_with_its_convolutions(cnn_run):
    text = (cnn_run / webpage.PAGE_FILE).read_text(encoding="utf-8")
    data, params = page_data(text), weights_of(cnn_run)
    layers = data["network"]["layers"]
    assert [layer["shape"] for layer in layers] == [[4, 1, 3, 3], [6, 4, 3, 3], [294, 16], [16, 10]]
    for number, layer in enumerate(layers, 1):
        W = np.frombuffer(base64.b64decode(layer["W"]), dtype="<f4").reshape(layer["shape"])
        assert np.array_equal(W, params[f"W{number}"])
        assert np.array_equal(np.frombuffer(base64.b64decode(layer["b"]), dtype="<f4"), params[f"b{number}"])
    assert len(data["digits"]) >= 5 and 'id="unsupported"' not in text and 'id="board"' in text
    assert "Filters that respond most" in text and "Hidden units that respond most" not in text


def rows_of(text: str) -> dict:
    return dict(re.findall(r'<tr><th scope="row">(.*?)</th><td>(.*?)</td></tr>', text))


def test_a_cnn_run_is_described_as_a_cnn_with_only_the_settings_that_apply(cnn_run):
    text = (cnn_run / webpage.PAGE_FILE).read_text(encoding="utf-8")
    architecture = "conv 3x3x4 - pool 2 - conv 3x3x6 - pool 2 - dense 294-16 - dense 16-10"
    assert f'<div class="stat"><b>CNN</b><span>{architecture}</span></div>' in text
    assert "units per layer" not in text and "?" not in re.search(r'<div class="headline">(.*?)</div>\n', text).group(1)
    rows = rows_of(text)
    weights = sum(p.size for p in weights_of(cnn_run).values())
    assert rows["Network"] == f"CNN {architecture} ({weights:,} weights and biases)"
    assert rows["Optimizer"] == "Adam (beta1 0.9, beta2 0.999)" and rows["Regularisation"] == "none"
    shown = " ".join(rows).lower()
    for absent in ("momentum", "beta", "hidden", "depth", "batchnorm", "filters", "kernel", "architecture", "model"):
        assert absent not in shown, f"{absent} does not apply to a CNN run with Adam: {list(rows)}"
    assert "momentum" not in " ".join(rows.values())
    assert "first_layer_filters.png</code>: The 4 first-layer filters of the CNN and what each makes of a" in text
    assert "cnn_fixes.png</code>: Test digits the CNN reads right that the Part I MLP got wrong." in text


def test_a_figure_over_three_times_as_wide_as_high_gets_the_pages_width(tmp_path):
    from PIL import Image

    for size, expected in (((2400, 360), ' class="wide"'), ((720, 360), ""), ((640, 480), "")):
        Image.new("L", size).save(tmp_path / "figure.png")
        assert webpage.wide(tmp_path / "figure.png") == expected, size


def test_the_settings_shown_are_those_of_the_runs_optimizer_and_network(default_run, tmp_path):
    rows = rows_of((default_run / webpage.PAGE_FILE).read_text(encoding="utf-8"))
    assert rows["Network"] == "MLP 784-384-10 (305,290 weights and biases)" and rows["Optimizer"] == "SGD"
    assert not {"momentum", "beta1", "beta2", "hidden", "depth", "batchnorm", "model", "filters"} & set(rows)
    other = copy_run(default_run, tmp_path)
    config = json.loads((other / "config.json").read_text())
    # As kata train writes a momentum run: its momentum with it (an SGD run's config.json has none).
    config.update(optimizer="momentum", momentum=0.9, l2=0.001, dropout=0.2, first_epoch_eval_every=50,
                  newer_option=[1, 2])
    (other / "config.json").write_text(json.dumps(config))
    settings = rows_of(webpage.build_page(other, tiny_dataset()))
    assert settings["Optimizer"] == "SGD with momentum 0.9"
    assert settings["Regularisation"] == "L2 0.001, dropout 0.2"
    assert settings["Validation passes"] == "2 per epoch, and every 50 iterations in epoch 1"
    assert settings["newer_option"] == "[1, 2]", "a field the page does not know yet is shown as it is"


def test_an_unsupported_network_gets_the_summary_figures_and_a_notice(default_run, tmp_path):
    params = weights_of(default_run)
    other = copy_run(default_run, tmp_path, **params, gamma1=np.ones(384, np.float32))
    text = webpage.write_page(other).read_text(encoding="utf-8")
    assert page_data(text)["network"] is None and page_data(text)["digits"] == []
    assert 'id="unsupported"' in text and "gamma1" in text and 'id="board"' not in text
    assert "The page cannot run this network:</strong> it uses batch normalisation" in text
    assert "with their stages" not in text and "yet" not in re.search(r'id="unsupported">(.*?)</div>', text).group(1)
    assert "MLP 784-384-10, with batch normalisation" in text
    assert text.count('<img src="data:image/png') == 5


def test_kata_report_writes_the_page_of_the_newest_run_and_of_an_older_one(default_run, tmp_path, monkeypatch, capsys):
    older = copy_run(default_run, tmp_path / "runs", "20240101-120000-old")
    for name in ("summary.json", "loss.png", "accuracy.png", "confusion.png", "misclassified.png",
                 "first_layer_weights.png"):
        (older / name).unlink()  # an older run: no summary, no figures
    config = json.loads((older / "config.json").read_text())
    (older / "config.json").write_text(json.dumps({k: config[k] for k in ("hidden", "epochs", "lr", "seed")}))
    use_tiny_dataset(monkeypatch)
    monkeypatch.setattr(runs, "ROOT", tmp_path)
    with pytest.raises(KataError, match="no trained network"):  # without a summary.json it is no finished run ...
        run_command("report")
    assert run_command("report", str(older)) == 0  # ... but named, its page is written
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
    monkeypatch.setattr(runs, "ROOT", tmp_path)
    with pytest.raises(KataError, match="no trained network .* Train one first"):
        run_command("report")
