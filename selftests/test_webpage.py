"""kata report: the page's content without a browser (selftests/test_webpage_browser.py runs it).

Self-contained (inline script and style, data-URI figures, base64 weights), at most 3 MB for the
default networks (MLP, batch norm, CNN), any depth, batch normalisation, CNNs, the training curves
from metrics.csv, one colour key with the figures and the docs, a notice for weights the page cannot
run, older runs, bad input.
"""

from __future__ import annotations

import base64
import json
import re
import shutil

import numpy as np
import pytest

from checker import cnn, models, plots, runs
from checker import page as webpage
from checker.errors import KataError
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
    assert not re.search(r"https?://", text.replace('"http://www.w3.org/2000/svg"', "")), "no address of any server"
    assert "<script src" not in text and "<link" not in text and "@import" not in text
    images = re.findall(r'<img src="([^"]{0,30})', text)
    # loss.png and accuracy.png are drawn in the page from metrics.csv; the three others are embedded
    assert len(images) == 3 and all(src.startswith("data:image/png;base64,") for src in images)
    assert "<code>loss.png</code>:" not in text and 'id="chart-loss"' in text and 'id="chart-accuracy"' in text
    assert "default-src 'none'" in text, "the page forbids itself any request"


def default_network_run(default_run, tmp_path, kind: str):
    """A copy of default_run whose weights are the default network of kind (random, as initialised)."""
    rng = np.random.default_rng(0)
    if kind == "cnn":
        params = cnn.initializer("solutions")([784, 10], rng)
        config = {"model": "cnn", "architecture": cnn.describe(params)}
    else:
        from checker import network
        from solutions.init import he_init

        params = network.with_batchnorm(he_init)([784, 384, 10], rng)
        config = {"layer_sizes": [784, 384, 10]}
    other = copy_run(default_run, tmp_path, f"20250101-120000-{kind}", **params)
    (other / "config.json").write_text(json.dumps(config))
    return other


@pytest.mark.parametrize("kind", ["batchnorm", "cnn"])
def test_the_pages_of_the_other_default_networks_are_under_3_mb_too(default_run, tmp_path, kind):
    page = webpage.write_page(default_network_run(default_run, tmp_path, kind), tiny_dataset())
    assert page.problem == "" and page.path.stat().st_size <= 3_000_000, f"{page.path.stat().st_size / 1e6:.2f} MB"
    assert page_data(page.path.read_text(encoding="utf-8"))["network"]["kind"] == kind


def test_the_weights_go_into_the_page_exactly(default_run):
    data = page_data((default_run / webpage.PAGE_FILE).read_text(encoding="utf-8"))
    params = weights_of(default_run)
    layers = data["network"]["layers"]
    assert data["network"]["kind"] == "mlp" and [layer["shape"] for layer in layers] == [[784, 384], [384, 10]]
    assert not any("batchnorm" in layer for layer in layers)
    for number, layer in enumerate(layers, 1):
        W = np.frombuffer(base64.b64decode(layer["W"]), dtype="<f4").reshape(layer["shape"])
        b = np.frombuffer(base64.b64decode(layer["b"]), dtype="<f4")
        assert np.array_equal(W, params[f"W{number}"]) and np.array_equal(b, params[f"b{number}"])


def test_the_test_digits_include_right_and_wrong_ones_with_their_predictions(default_run):
    from training_helpers import tiny_dataset

    test = tiny_dataset().test
    params = weights_of(default_run)
    params["b2"] = params["b2"] + np.eye(10, dtype=np.float32)[3] * 2.5  # some digits now read as 3
    digits, note = webpage.sample_digits(params, {}, tiny_dataset())
    right = [d for d in digits if d["label"] == d["predicted"]]
    wrong = [d for d in digits if d["label"] != d["predicted"]]
    assert note == "" and 1 <= len(wrong) <= webpage.WRONG_DIGITS and len(right) >= 5
    assert len({d["label"] for d in right}) == len(right), "one right digit per class"
    for digit in digits:
        pixels = np.frombuffer(base64.b64decode(digit["pixels"]), dtype=np.uint8)
        assert np.abs(pixels / 255 - test.images[digit["index"]]).max() <= 0.5 / 255 + 1e-7
        assert digit["label"] == test.labels[digit["index"]]
        assert models.predict(params, (pixels / 255)[None])[0].argmax() == digit["predicted"]
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
    found, problem = webpage.page_network(params, {"layer_sizes": sizes})
    assert problem == "" and found.shapes == tuple(zip(sizes, sizes[1:]))
    data = webpage.network_data(found, params)
    assert [layer["shape"] for layer in data["layers"]] == [list(shape) for shape in zip(sizes, sizes[1:])]


def small_params(**changes):
    rng = np.random.default_rng(1)
    params = {"W1": rng.normal(size=(784, 8)).astype(np.float32), "b1": np.zeros(8, np.float32),
              "W2": rng.normal(size=(8, 10)).astype(np.float32), "b2": np.zeros(10, np.float32)}
    params.update(changes)
    return {k: v for k, v in params.items() if v is not None}


@pytest.mark.parametrize("params, config, words", [
    (small_params(gamma1=np.ones(8), beta1=np.zeros(8), running_mean1=np.zeros(8)), {},
     "hidden layer 1 has some of gamma, beta, running_mean and running_var but not running_var1"),
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
    found, problem = webpage.page_network(params, config)
    assert found is None and words in problem


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
    found, problem = webpage.page_network(params, config)
    assert found is None and words in problem


@pytest.mark.parametrize("shapes", [
    [(4, 1, 3, 3), (6, 4, 3, 3), (294, 10)],
    [(3, 1, 5, 5), (4, 3, 5, 5), (2, 4, 3, 3), (18, 7), (7, 10)],  # 28 -> 14 -> 7 -> 3 (a row dropped)
])
def test_cnns_go_into_the_page_layer_by_layer(shapes):
    params = conv_params(*shapes)
    found, problem = webpage.page_network(params, {"architecture": cnn.describe(params)})
    assert problem == "" and found.kind == "cnn" and list(found.shapes) == shapes
    assert [layer["shape"] for layer in webpage.network_data(found, params)["layers"]] == [list(s) for s in shapes]


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
    assert data["network"]["kind"] == "cnn"


def rows_of(text: str) -> dict:
    """Every row of the run's table, the short one and the folded one."""
    return dict(re.findall(r'<tr><th scope="row">(.*?)</th><td>(.*?)</td></tr>', text))


def diagram_of(text: str) -> list[tuple[str, str]]:
    """The network's shape as the page draws it: (size, what) per layer."""
    shape = re.search(r'<ol class="shape"[^>]*>(.*?)</ol>', text).group(1)
    return re.findall(r"<li><b>(.*?)</b><span>(.*?)</span></li>", shape)


def test_a_cnn_run_is_described_as_a_cnn_with_only_the_settings_that_apply(cnn_run):
    text = (cnn_run / webpage.PAGE_FILE).read_text(encoding="utf-8")
    architecture = "conv 3x3x4 - pool 2 - conv 3x3x6 - pool 2 - dense 294-16 - dense 16-10"
    weights = sum(p.size for p in weights_of(cnn_run).values())
    assert diagram_of(text) == [("28x28", "image"), ("4x14x14", "conv 3x3 · pool 2 · ReLU"),
                                ("6x7x7", "conv 3x3 · pool 2 · ReLU"), ("16", "dense · ReLU"), ("10", "dense · softmax")]
    assert f'<div class="stat"><b>{weights:,}</b><span>weights and biases</span></div>' in text
    assert "units per layer" not in text and "?" not in re.search(r'<div class="headline">(.*?)</div>\n', text).group(1)
    rows = rows_of(text)
    assert rows["Network"] == f"CNN {architecture} ({weights:,} weights and biases)"
    assert rows["Optimizer"] == "Adam (beta1 0.9, beta2 0.999)" and rows["Regularisation"] == "none"
    shown = " ".join(rows).lower()
    for absent in ("momentum", "beta", "hidden", "depth", "batchnorm", "filters", "kernel", "architecture", "model"):
        assert absent not in shown, f"{absent} does not apply to a CNN run with Adam: {list(rows)}"
    assert "momentum" not in " ".join(rows.values())
    assert (f"first_layer_filters.png</code>: The 4 first-layer filters of the CNN ({plots.WEIGHT_KEY}) and what "
            "each makes of a") in text
    assert "cnn_fixes.png</code>: Test digits the CNN reads right that the Part I MLP got wrong." in text


def test_the_settings_shown_are_those_of_the_runs_optimizer_and_network(default_run, tmp_path):
    text = (default_run / webpage.PAGE_FILE).read_text(encoding="utf-8")
    rows = rows_of(text)
    assert rows["Network"] == "MLP 784-384-10 (305,290 weights and biases)" and rows["Optimizer"] == "SGD"
    assert diagram_of(text) == [("784", "pixels"), ("384", "dense · ReLU"), ("10", "dense · softmax")]
    # the first rows in a short table, the others folded under "More settings and results"
    short, folded = text.split("<details>", 1)
    assert set(rows_of(short)) == set(webpage.SHORT_TABLE) and len(rows_of(folded)) == len(rows) - len(webpage.SHORT_TABLE)
    assert f"More settings and results ({len(rows) - len(webpage.SHORT_TABLE)})" in folded
    assert not {"momentum", "beta1", "beta2", "hidden", "depth", "batchnorm", "model", "filters"} & set(rows)
    other = copy_run(default_run, tmp_path)
    config = json.loads((other / "config.json").read_text())
    # As kata train writes a momentum run: its momentum with it (an SGD run's config.json has none).
    config.update(optimizer="momentum", momentum=0.9, l2=0.001, dropout=0.2, first_epoch_eval_every=50,
                  newer_option=[1, 2])
    (other / "config.json").write_text(json.dumps(config))
    settings = rows_of(webpage.build_page(other, tiny_dataset())[0])
    assert settings["Optimizer"] == "SGD with momentum 0.9"
    assert settings["Regularisation"] == "L2 0.001, dropout 0.2"
    assert settings["Validation passes"] == "2 per epoch, and every 50 iterations in epoch 1"
    assert settings["newer_option"] == "[1, 2]", "a field the page does not know yet is shown as it is"


def test_weights_the_page_cannot_run_get_the_summary_figures_and_a_notice(default_run, tmp_path):
    params = weights_of(default_run)
    other = copy_run(default_run, tmp_path, **params, gamma1=np.ones(384, np.float32))  # gamma without the rest
    written = webpage.write_page(other)
    text = written.path.read_text(encoding="utf-8")
    assert page_data(text)["network"] is None and page_data(text)["digits"] == []
    assert 'id="unsupported"' in text and "gamma1" not in text.split('id="unsupported"')[0] and 'id="board"' not in text
    assert ("The page cannot run this network:</strong> hidden layer 1 has some of gamma, beta, running_mean and "
            "running_var but not beta1") in text
    assert written.problem.startswith("hidden layer 1 has some of gamma")
    assert "cannot run this network" in written.what_to_do and "draw" not in written.what_to_do
    assert "reads digits" not in text and "Draw a digit" not in text, "no promise the page cannot keep"
    assert "MLP 784-384-10, with batch normalisation" in text
    assert text.count('<img src="data:image/png') == 3


def test_kata_report_says_when_the_page_cannot_run_the_network(default_run, tmp_path, capsys):
    params = weights_of(default_run)
    other = copy_run(default_run, tmp_path, **params, gamma1=np.ones(384, np.float32))
    with pytest.MonkeyPatch.context() as patch:
        use_tiny_dataset(patch)
        assert run_command("report", str(other)) == 0
    out = capsys.readouterr().out
    assert ("It shows the run's summary and figures; it cannot run this network: hidden layer 1 has some of "
            "gamma, beta, running_mean and running_var but not beta1.") in out


@pytest.fixture(scope="module")
def batchnorm_run(tmp_path_factory):
    """kata train --batchnorm's default network (784-384-10 with batch normalisation), on the tiny dataset."""
    out = tmp_path_factory.mktemp("bn-runs")
    with pytest.MonkeyPatch.context() as patch:
        use_tiny_dataset(patch)
        assert run_command("train", "--solutions", "--batchnorm", "--out", str(out), "--epochs", "1", "--lr", "0.1") == 0
    return only_run_dir(out)


def test_a_batchnorm_network_goes_into_the_page_with_its_scale_and_shift(batchnorm_run):
    text = (batchnorm_run / webpage.PAGE_FILE).read_text(encoding="utf-8")
    data, params = page_data(text), weights_of(batchnorm_run)
    network = data["network"]
    assert network["kind"] == "batchnorm" and network["eps"] == 1e-5 and 'id="board"' in text
    hidden, output = network["layers"]
    assert sorted(hidden["batchnorm"]) == ["beta", "gamma", "running_mean", "running_var"] and "batchnorm" not in output
    for name, encoded in hidden["batchnorm"].items():
        assert np.array_equal(np.frombuffer(base64.b64decode(encoded), dtype="<f4"), params[f"{name}1"]), name
    assert len(data["digits"]) >= 5 and "reads digits" in text
    rows = rows_of(text)
    assert rows["Network"] == "MLP 784-384-10, with batch normalisation (306,058 weights, biases, gamma and beta)"
    assert '<div class="stat"><b>306,058</b><span>weights, biases, gamma and beta</span></div>' in text
    assert diagram_of(text)[1] == ("384", "dense · batch norm · ReLU")


def test_kata_train_batchnorm_says_its_page_reads_digits(tmp_path, monkeypatch, capsys):
    use_tiny_dataset(monkeypatch)
    assert run_command("train", "--solutions", "--batchnorm", "--hidden", "16", "--out", str(tmp_path),
                       "--epochs", "1") == 0
    assert "report.html  (open it in a browser and draw a digit)" in capsys.readouterr().out


def test_the_training_curves_are_those_of_metrics_csv(default_run):
    data = page_data((default_run / webpage.PAGE_FILE).read_text(encoding="utf-8"))["curves"]
    history = runs.read_metrics(default_run / "metrics.csv")
    window = plots.smoothing_window(history)
    assert data["iterations"] == history.iterations and data["perEpoch"] == history.iterations_per_epoch
    assert data["window"] == window and data["train"]["at"][0] == 1 and data["train"]["at"][-1] == history.iterations
    loss, accuracy = plots.running_mean(history.batch_loss, window), plots.running_mean(history.batch_accuracy, window)
    at = np.array(data["train"]["at"]) - 1
    assert np.allclose(data["train"]["loss"], loss[at], rtol=1e-4) and np.allclose(data["train"]["accuracy"], accuracy[at], rtol=1e-4)
    assert data["validation"]["at"] == [i for i, _, _ in history.evals]
    assert np.allclose(data["validation"]["accuracy"], [a for _, _, a in history.evals], rtol=1e-4)


def test_a_long_run_sends_the_page_at_most_curve_points_per_curve():
    from checker.training import History

    history = History(iterations_per_epoch=782)
    history.batch_loss = list(np.linspace(2.3, 0.05, 782 * 30))
    history.batch_accuracy = list(np.linspace(0.1, 1.0, 782 * 30))
    history.batch_loss[-1] = float("inf")  # a run that diverged at its last update
    data = webpage.curve_data(history)
    assert len(data["train"]["at"]) <= webpage.CURVE_POINTS + 2 and data["train"]["at"][-1] == 782 * 30
    assert data["train"]["loss"][-1] is None, "a non-finite loss is left out (JSON has no inf)"
    json.dumps(data, allow_nan=False)


@pytest.mark.parametrize("metrics", [
    "",  # empty
    "scope,epoch\niteration,1\n",  # columns missing
    "scope,epoch,iteration,train_loss,train_accuracy,validation_loss,validation_accuracy,seconds\n"
    "iteration,1,1,lots,0.5,,,\n",  # a word for a number
    "scope,epoch,iteration,train_loss,train_accuracy,validation_loss,validation_accuracy,seconds\n"
    "epoch,1,0,0.5,0.5,0.5,0.5,1\n",  # zero iterations per epoch
    b"\xff\xfe\x00garbage",  # not text
])
def test_a_metrics_csv_that_cannot_be_read_leaves_the_curves_to_the_png_figures(default_run, tmp_path, metrics):
    other = copy_run(default_run, tmp_path)
    path = other / "metrics.csv"
    path.write_bytes(metrics if isinstance(metrics, bytes) else metrics.encode())
    assert runs.history_of(other) is None
    text = webpage.write_page(other, tiny_dataset()).path.read_text(encoding="utf-8")
    assert page_data(text)["curves"] is None and 'id="chart-loss"' not in text
    assert "<code>loss.png</code>:" in text and "<code>accuracy.png</code>:" in text


def test_a_huge_metrics_csv_is_not_read(default_run, tmp_path, monkeypatch):
    other = copy_run(default_run, tmp_path)
    monkeypatch.setattr(runs, "MAX_METRICS_BYTES", 100)
    assert runs.history_of(other) is None


def test_one_colour_key_on_the_page_in_the_figures_and_in_the_docs(default_run, cnn_run, tmp_path, monkeypatch):
    import matplotlib
    from matplotlib.figure import Figure

    from checker.project import ROOT

    key = plots.WEIGHT_KEY
    assert key.startswith("red: ink there raises") and "blue: lowers" in key
    for run_dir in (default_run, cnn_run):
        text = (run_dir / webpage.PAGE_FILE).read_text(encoding="utf-8")
        assert f'<span class="ramp" aria-hidden="true"></span> {key}</p>' in text
        assert "blue: ink there excites" not in text and "red: inhibits" not in text
        colours = page_data(text)["colours"]
        expected = matplotlib.colormaps[plots.WEIGHT_COLOURS]
        assert colours["weights"][0] == matplotlib.colors.to_hex(expected(0.0))
        red, blue = (int(colours["weights"][i][1:3], 16) - int(colours["weights"][i][5:7], 16) for i in (-1, 0))
        assert red > 0 > blue, "the page paints positive weights red and negative ones blue, as RdBu_r does"
    assert key in (ROOT / "docs" / "learner.md").read_text(encoding="utf-8")
    titles = []
    monkeypatch.setattr(Figure, "suptitle", lambda self, text, **k: titles.append(text))
    rng = np.random.default_rng(0)
    plots.plot_first_layer_weights(rng.normal(size=(784, 8)), tmp_path, rows=2, columns=2)
    plots.plot_conv_filters(rng.normal(size=(4, 1, 3, 3)), np.zeros(4), rng.random(784), tmp_path)
    assert len(titles) == 2 and all(key in title for title in titles), titles


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
    assert "cannot run" not in out
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
