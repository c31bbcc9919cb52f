"""kata train --model cnn: the CNN of Part III in the one loop, built from the stage functions, its
defaults, the time estimate that asks before a long run, and kata predict on a CNN run."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest

from checker import cnn, gradcheck, parts as pieces
from checker import training
from checker import estimate, train_options
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


def test_a_long_run_asks_first_and_off_a_terminal_needs_yes(monkeypatch):
    args = parse("train", "--model", "cnn")
    estimate.confirm_long_run(estimate.LONG_RUN_SECONDS - 1, args.yes)  # short: no question
    monkeypatch.setattr("sys.stdin.isatty", lambda: False)
    with pytest.raises(KataError, match="would take about 17 minutes.*im2col.*add --yes"):
        estimate.confirm_long_run(1000, args.yes)
    estimate.confirm_long_run(1000, parse("train", "--model", "cnn", "--yes").yes)


def test_on_a_terminal_a_long_run_goes_on_only_when_the_learner_says_yes(monkeypatch, capsys):
    args = parse("train", "--model", "cnn")
    monkeypatch.setattr("sys.stdin.isatty", lambda: True)
    monkeypatch.setattr("sys.stdout.isatty", lambda: True)
    estimate.confirm_long_run(5000, args.yes, ask=lambda question: "y")
    assert "im2col" in capsys.readouterr().out
    with pytest.raises(KataError, match="training not started"):
        estimate.confirm_long_run(5000, args.yes, ask=lambda question: "")


def test_the_estimate_times_a_few_images_of_a_slow_implementation_only(dataset, monkeypatch):
    config = training.TrainConfig(model="cnn", filters=(2, 2), batch_size=64, epochs=1, evals_per_epoch=1)
    parts = training.load_parts("solutions", config)
    seen, clock = [], [0.0]

    def slow_forward(params, X):
        seen.append(len(X))
        clock[0] += 5  # 5 s for 4 images
        return parts.forward(params, X)

    monkeypatch.setattr(training.time, "perf_counter", lambda: clock[0])
    per_batch = estimate.seconds_per_batch(replace(parts, forward=slow_forward), config, dataset)
    assert seen == [4] and per_batch == 5 * 64 / 4
    seconds = estimate.estimated_run_seconds(per_batch, config, dataset)
    assert seconds > per_batch * len(dataset.train.labels) / 64


def test_the_time_of_conv2d_and_of_maxpool_is_measured_apart_and_the_functions_are_put_back(dataset, monkeypatch):
    import solutions.conv
    import solutions.pool

    config = training.TrainConfig(model="cnn", filters=(2, 2), batch_size=64, epochs=1, evals_per_epoch=1)
    parts = training.load_parts("solutions", config)
    clock = [0.0]
    conv_forward, pool_backward = solutions.conv.conv2d_forward, solutions.pool.maxpool_backward

    def slow_conv_forward(*args, **kwargs):
        clock[0] += 3  # 3 s per call, on 4 images
        return conv_forward(*args, **kwargs)

    def slow_pool_backward(*args, **kwargs):
        clock[0] += 1
        return pool_backward(*args, **kwargs)

    monkeypatch.setattr(solutions.conv, "conv2d_forward", slow_conv_forward)
    monkeypatch.setattr(solutions.pool, "maxpool_backward", slow_pool_backward)
    monkeypatch.setattr(training.time, "perf_counter", lambda: clock[0])
    batch = estimate.time_one_batch(parts, config, dataset)
    # Two convolution layers, each pooled: conv2d_forward twice (6 s), maxpool_backward twice (2 s); 4 images of 64.
    assert batch == estimate.BatchTime(seconds=8 * 16, pieces={"conv2d": 6 * 16, "maxpool": 2 * 16}, probed=4)
    assert solutions.conv.conv2d_forward is slow_conv_forward and solutions.pool.maxpool_backward is slow_pool_backward


ADVICE_TAIL = {
    "conv2d": "For conv2d, the im2col idea at the top of exercises/conv.py (kata hint conv, whose third level is "
              "the NumPy idiom) turns each convolution into one matrix product, hundreds of times faster.",
    "maxpool": "For maxpool, the reshape or window-view idea at the top of exercises/pool.py (kata hint pool) pools "
               "a whole batch at once.",
}


def test_a_long_run_names_the_piece_that_makes_it_long_and_by_how_much(dataset):
    def advice(seconds, conv, pool, run_seconds):
        batch = estimate.BatchTime(seconds, {"conv2d": conv, "maxpool": pool}, probed=4)
        return estimate.long_run_advice(batch, run_seconds)

    assert advice(80.0, 79.5, 0.25, 8000) == (["conv2d"], (
        "Your conv2d makes it long: 79.5 s of the 80 s a batch takes (99%), 318 times as long as your maxpool; "
        "with a fast conv2d the run would take about 50 s. A loop version is right, but every step of its "
        "loops is a Python step. " + ADVICE_TAIL["conv2d"]))
    assert advice(1.25, 0.02, 1.2, 9000) == (["maxpool"], (
        "Your maxpool makes it long: 1.2 s of the 1.25 s a batch takes (96%), 60 times as long as your conv2d; "
        "with a fast maxpool the run would take about 6 minutes. A loop version is right, but every step of its "
        "loops is a Python step. " + ADVICE_TAIL["maxpool"]))
    # Without the slow conv2d the run would still take 100 minutes, most of it in maxpool: both are named.
    assert advice(82.0, 60.0, 21.9, 246_000) == (["conv2d", "maxpool"], (
        "Your conv2d and maxpool both make it long: conv2d takes 60 s and maxpool 21.9 s of the 82 s a batch takes; "
        "with both fast the run would take about 5 minutes. Loop versions are right, but every step of their "
        "loops is a Python step. " + ADVICE_TAIL["conv2d"] + " " + ADVICE_TAIL["maxpool"]))
    # A maxpool much faster than the loop conv2d is not called slow (timed on 4 images, a fast one looks
    # slower than it is), even if the run would still be long without the conv2d: kata times it again then.
    assert advice(82.0, 80.0, 1.9, 246_000) == (["conv2d"], (
        "Your conv2d makes it long: 80 s of the 82 s a batch takes (98%), 42 times as long as your maxpool; with a "
        "fast conv2d the run would still take about 1.7 hours, and kata will time your functions again then. "
        "A loop version is right, but every step of its loops is a Python step. " + ADVICE_TAIL["conv2d"]))
    assert advice(2.0, 0.01, 0.01, 20_000) == ([], estimate.IM2COL_ADVICE)  # the time goes elsewhere
    assert estimate.long_run_advice(None, 5000) == ([], estimate.IM2COL_ADVICE)


def test_kata_train_stops_a_too_long_run_with_an_error_naming_the_slow_piece(monkeypatch):
    monkeypatch.setattr("sys.stdin.isatty", lambda: False)
    batch = estimate.BatchTime(1.25, {"conv2d": 0.02, "maxpool": 1.2}, probed=4)
    with pytest.raises(estimate.LongRunNotStarted) as stop:
        estimate.confirm_long_run(12_500, parse("train", "--model", "cnn").yes, batch=batch)
    assert stop.value.exit_code == 1 and (stop.value.slow, stop.value.declined) == (["maxpool"], False)
    assert str(stop.value).startswith("this run would take about 3.5 hours with your functions, so it did not "
                                      "start. Your maxpool makes it long: ")
    assert str(stop.value).endswith(ADVICE_TAIL["maxpool"] + " To train anyway, add --yes.")


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


def test_the_first_time_part_three_passes_kata_trains_the_cnn_and_closes(monkeypatch, capsys, tmp_path):
    from types import SimpleNamespace

    from checker import closing
    from checker.commands import status
    from checker.progress import Progress

    calls = []
    monkeypatch.setattr(status, "train_and_save", lambda config, **options: calls.append(config.model) or 0)
    monkeypatch.setattr(closing, "report", lambda: ["", "The curriculum is complete."])
    assert status.train_cnn_now(Progress(tmp_path / "progress.json"), SimpleNamespace(all_passed=True)) == 0
    assert calls == ["cnn"]
    out = capsys.readouterr().out
    assert "Stages 13 and 14 pass: training your CNN" in out and "kata --no-train skips this" in out
    assert out.rstrip().endswith("The curriculum is complete.")


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
