"""kata train --model cnn: the CNN of Part III in the one loop, built from the stage functions, its
defaults, kata predict on a CNN run, and the closing comparison (the time estimate: test_estimate.py)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from checker import cnn, gradcheck, parts as pieces
from checker import training
from checker import train_options
from checker.errors import KataError
from training_helpers import only_run_dir, parse, run_command, tiny_dataset, use_tiny_dataset


@pytest.fixture(scope="module")
def dataset():
    return tiny_dataset()


@pytest.mark.parametrize("filters, hidden", [((3, 4), 0), ((2,), 5)])
def test_the_cnn_backward_matches_finite_differences(filters, hidden):
    init = cnn.initializer("solutions", filters=filters, kernel=3, hidden=hidden)
    rng = np.random.default_rng(0)
    params = {k: np.asarray(v, np.float64) for k, v in init([64, 10], rng).items()}  # 8x8 images
    forward, backward = cnn.network("solutions")
    X, targets = rng.random((3, 64)), np.eye(10)[[1, 4, 7]]
    grads = backward(params, forward(params, X)[1], targets)
    assert set(grads) == set(params)
    for key in params:
        def loss(value, key=key):
            return -np.sum(targets * np.log(forward({**params, key: value}, X)[0])) / len(X)

        assert gradcheck.check_gradient(loss, params[key], grads[key]), key


def test_the_cnn_is_described_by_its_weights():
    params = cnn.initializer("solutions")([784, 10], np.random.default_rng(0))
    assert {k: v.shape for k, v in params.items()} == {
        "W1": (16, 1, 3, 3), "b1": (16,), "W2": (32, 16, 3, 3), "b2": (32,), "W3": (1568, 128), "b3": (128,),
        "W4": (128, 10), "b4": (10,)}
    assert cnn.is_cnn(params)
    assert cnn.describe(params) == "conv 3x3x16 - pool 2 - conv 3x3x32 - pool 2 - dense 1568-128 - dense 128-10"
    assert np.std(params["W2"]) == pytest.approx(np.sqrt(2 / 144), rel=0.1)  # He: fan_in = C*KH*KW
    no_hidden = cnn.initializer("solutions", filters=(8, 16), hidden=0)([784, 10], np.random.default_rng(0))
    assert cnn.describe(no_hidden) == "conv 3x3x8 - pool 2 - conv 3x3x16 - pool 2 - dense 784-10"


def test_the_cnn_trains_in_the_one_loop_with_every_option(dataset):
    config = training.TrainConfig(model="cnn", filters=(2, 4), epochs=2, batch_size=32, optimizer="adam",
                                  lr=0.01, l2=1e-4, dropout=0.1, cnn_hidden=32, evals_per_epoch=1)
    parts = training.load_parts("solutions", config)
    assert parts.train_forward is not None and parts.penalty is not None
    result = training.train(parts, dataset, config)
    assert result.stopped is None and result.params["W1"].dtype == np.float32
    assert result.params["W3"].shape == (4 * 7 * 7, 32) and result.params["W4"].shape == (32, 10)
    assert result.history.epochs[-1].validation_accuracy > 0.5  # ten classes: chance is 0.1


def test_kata_train_model_cnn_writes_a_run_that_predict_reads(monkeypatch, tmp_path, capsys):
    use_tiny_dataset(monkeypatch)
    # A learning rate that learns on the tiny data in one epoch: a run that does not learn exits 1.
    assert run_command("train", "--solutions", "--model", "cnn", "--filters", "2,3", "--epochs", "1",
                       "--lr", "0.02", "--out", str(tmp_path)) == 0
    run_dir = only_run_dir(tmp_path)
    config = json.loads((run_dir / "config.json").read_text())
    assert config["model"] == "cnn" and config["filters"] == [2, 3] and config["optimizer"] == "adam"
    assert config["architecture"] == "conv 3x3x2 - pool 2 - conv 3x3x3 - pool 2 - dense 147-128 - dense 128-10"
    # Only what applies to a CNN trained with Adam: no MLP width or depth, no momentum.
    assert not {"hidden", "depth", "batchnorm", "momentum"} & set(config) and config["beta1"] == 0.9
    assert (run_dir / "first_layer_filters.png").is_file()
    out = capsys.readouterr().out
    assert "One batch of 64 takes about" in out and "this run should take about" in out
    assert run_command("predict", "--index", "0", "--run", str(run_dir)) == 0
    out = capsys.readouterr().out
    assert "Prediction:" in out and f"(CNN {config['architecture']}, test accuracy" in out


def test_the_cnn_has_its_own_defaults_and_explicit_options_win():
    def config(*argv):
        args = parse("train", *argv)
        train_options.apply_model_defaults(args)
        return train_options.config_from_args(args)

    assert config() == training.TrainConfig()
    cnn_config = config("--model", "cnn")
    assert (cnn_config.epochs, cnn_config.optimizer, cnn_config.lr, cnn_config.evals_per_epoch) == (
        cnn.CNN_DEFAULTS["epochs"], cnn.CNN_DEFAULTS["optimizer"], cnn.CNN_LR["adam"], 1)
    assert (cnn_config.filters, cnn_config.cnn_hidden) == (cnn.DEFAULT_FILTERS, cnn.CNN_DEFAULTS["cnn_hidden"])
    mine = config("--model", "cnn", "--epochs", "3", "--optimizer", "sgd", "--filters", "4,8,8", "--cnn-hidden", "0")
    assert (mine.epochs, mine.optimizer, mine.lr, mine.filters, mine.cnn_hidden) == (
        3, "sgd", cnn.CNN_LR["sgd"], (4, 8, 8), 0)
    with pytest.raises(KataError, match="--cnn-hidden shapes the CNN"):  # the MLP would ignore it
        config("--cnn-hidden", "64")
    assert config("--model", "cnn", "--lr", "0.5").lr == 0.5


def test_model_cnn_needs_the_conv_and_pool_stages():
    assert pieces.required_modules(training.TrainConfig(model="cnn")) == ["conv", "pool"]
    assert pieces.required_modules(training.TrainConfig()) == []


def fake_run(root, name, config, accuracy, params):
    """A finished run of the learner's code in root/runs/name, as kata train writes it."""
    run_dir = root / "runs" / name
    run_dir.mkdir(parents=True)
    (run_dir / "config.json").write_text(json.dumps({"model": "mlp", "l2": 0.0, "dropout": 0.0, "optimizer": "sgd",
                                                     "depth": 1, **config}))
    (run_dir / "summary.json").write_text(json.dumps({"impl": "exercises", "test_accuracy": accuracy,
                                                      "validation_accuracy": accuracy, "finished": True}))
    np.savez(run_dir / "weights.npz", **{k: np.asarray(v, np.float32) for k, v in params.items()})
    return run_dir


def test_the_closing_comparison_shows_the_three_networks_and_the_digits_the_cnn_fixed(tmp_path, dataset, monkeypatch):
    from checker import closing
    from solutions.init import he_init

    rng = np.random.default_rng(0)
    assert not closing.cnn_trained_before(tmp_path)
    fake_run(tmp_path, "1-mlp", {}, 0.9805, he_init([784, 16, 10], rng))
    fake_run(tmp_path, "2-adam", {"optimizer": "adam"}, 0.9841, he_init([784, 16, 10], rng))
    fake_run(tmp_path, "3-sgd-l2", {"l2": 1e-4}, 0.9811, he_init([784, 16, 10], rng))
    cnn_dir = fake_run(tmp_path, "4-cnn", {"model": "cnn"}, 0.9912,
                       cnn.initializer("solutions", filters=(2, 2))([784, 10], rng))
    assert closing.cnn_trained_before(tmp_path)
    three = closing.the_three(tmp_path)
    assert [r.name for r in three.values()] == ["1-mlp", "2-adam", "4-cnn"]
    monkeypatch.chdir(tmp_path)  # paths are shown from where the learner stands: here, the kata's root
    text = "\n".join(closing.report(tmp_path, dataset=dataset))
    assert "Part I MLP" in text and "98.05%" in text and "98.41%" in text and "99.12%" in text
    assert "test digits that the MLP got wrong" in text
    assert text.endswith(f"runs/4-cnn/{closing.FIXED_FILE}, also on the run's web page runs/4-cnn/report.html")
    assert (cnn_dir / closing.FIXED_FILE).is_file()
    # The figure joins the run's plots and its web page, as if it had been drawn with the others.
    assert json.loads((cnn_dir / "summary.json").read_text())["plots"] == [closing.FIXED_FILE]
    assert f"<code>{closing.FIXED_FILE}</code>" in (cnn_dir / "report.html").read_text()
    page = (cnn_dir / "report.html").read_text(encoding="utf-8")
    assert "cnn_fixes.png</code>: Test digits the CNN reads right that the Part I MLP got wrong" in page


def test_the_first_time_part_three_passes_kata_trains_the_cnn(monkeypatch, capsys, tmp_path):
    from types import SimpleNamespace

    from checker.commands import status
    from checker.progress import Progress

    calls = []
    monkeypatch.setattr(status, "train_and_save", lambda config, **options: calls.append(config.model) or 0)
    assert status.train_cnn_now(Progress(tmp_path / "progress.json"), SimpleNamespace(all_passed=True)) == 0
    assert calls == ["cnn"]
    out = capsys.readouterr().out
    assert "Stages 13 and 14 pass: training your CNN" in out and "kata --no-train skips this" in out


@pytest.mark.parametrize("argv, named", [
    (("--model", "cnn", "--depth", "3"), "--depth shapes the MLP"),
    (("--model", "cnn", "--hidden", "100", "--batchnorm"), "--hidden, --batchnorm shape the MLP"),
    (("--cnn-hidden", "64"), "--cnn-hidden shapes the CNN's dense layer"),
])
def test_an_option_of_the_other_model_is_a_usage_error_not_ignored(argv, named):
    args = parse("train", "--solutions", *argv)
    with pytest.raises(KataError) as error:
        train_options.apply_model_defaults(args)
    assert error.value.exit_code == 2 and named in str(error.value)


def test_the_default_options_of_either_model_pass():
    for argv in ((), ("--model", "cnn"), ("--model", "cnn", "--cnn-hidden", "0", "--hidden", "384")):
        train_options.apply_model_defaults(parse("train", "--solutions", *argv))


@pytest.fixture
def learner_solved_everything(tmp_path, monkeypatch):
    """exercises/ is a correct package (a copy of the reference) and runs/ is tmp_path/runs, for
    the time of the test; the stages pass."""
    import shutil
    import sys

    from checker.project import ROOT
    from training_helpers import all_stages_pass

    code = tmp_path / "code"
    shutil.copytree(ROOT / "solutions", code / "exercises", ignore=shutil.ignore_patterns("__pycache__"))
    before = {name: module for name, module in sys.modules.items() if name.split(".")[0] == "exercises"}
    for name in before:
        del sys.modules[name]
    sys.path.insert(0, str(code))
    monkeypatch.setattr("checker.runs.runs_folder", lambda root=None: (root or tmp_path) / "runs")
    all_stages_pass(monkeypatch)
    yield tmp_path
    sys.path.remove(str(code))
    for name in [name for name in sys.modules if name.split(".")[0] == "exercises"]:
        del sys.modules[name]
    sys.modules.update(before)


def test_kata_train_model_cnn_yes_as_the_learners_first_cnn_closes_the_curriculum(learner_solved_everything, dataset,
                                                                                    monkeypatch, capsys):
    """The route the kata recommends when the first CNN training did not start: the closing follows it."""
    from checker import closing
    from solutions.init import he_init

    root = learner_solved_everything
    use_tiny_dataset(monkeypatch, dataset)
    fake_run(root, "1-mlp", {}, 0.9805, he_init([784, 16, 10], np.random.default_rng(0)))
    assert run_command("train", "--model", "cnn", "--yes", "--filters", "2,3", "--epochs", "1", "--lr", "0.02") == 0
    (cnn_dir,) = [path for path in (root / "runs").iterdir() if path.name.endswith("-exercises")]
    assert (cnn_dir / closing.FIXED_FILE).is_file()
    assert closing.FIXED_FILE in json.loads((cnn_dir / "summary.json").read_text())["plots"]
    out = capsys.readouterr().out
    assert "\nThe curriculum is complete. Your three networks, on the same 10,000 test digits:\n" in out
    assert "  Part I MLP            98.05%  (1-mlp)\n" in out and "test digits that the MLP got wrong" in out
    assert out.endswith("\n".join(closing.next_lines()) + "\n")  # the last lines: what to do next
    # A second CNN run is not the first: no closing again.
    assert run_command("train", "--model", "cnn", "--filters", "2,3", "--epochs", "1", "--lr", "0.02") == 0
    out = capsys.readouterr().out
    assert "The curriculum is complete" not in out and out.rstrip().splitlines()[-1].startswith("Try it on a digit:")


def test_kata_makes_the_figure_of_a_cnn_trained_before_it_could(tmp_path, dataset, monkeypatch):
    from checker import closing
    from solutions.init import he_init

    monkeypatch.setattr("checker.data.load_dataset", lambda *a, **k: dataset)
    rng = np.random.default_rng(0)
    assert closing.make_missing_figure(tmp_path) is None  # nothing to compare yet
    cnn_dir = fake_run(tmp_path, "2-cnn", {"model": "cnn"}, 0.9912,
                       cnn.initializer("solutions", filters=(2, 2))([784, 10], rng))
    assert closing.make_missing_figure(tmp_path) is None  # no MLP to compare with
    fake_run(tmp_path, "1-mlp", {}, 0.9805, he_init([784, 16, 10], rng))
    assert closing.make_missing_figure(tmp_path) == cnn_dir / closing.FIXED_FILE
    assert (cnn_dir / closing.FIXED_FILE).is_file()
    assert closing.make_missing_figure(tmp_path) is None  # made once


def test_config_json_records_only_the_options_that_apply():
    mlp = training.TrainConfig(optimizer="momentum").applying()
    assert mlp["hidden"] == 384 and mlp["momentum"] == 0.9
    assert not {"filters", "kernel", "cnn_hidden", "beta1", "beta2"} & set(mlp)
    cnn_config = training.TrainConfig(model="cnn", optimizer="adam").applying()
    assert cnn_config["filters"] == (16, 32) and cnn_config["beta2"] == 0.999
    assert not {"hidden", "depth", "batchnorm", "momentum"} & set(cnn_config)
