"""kata train's Part II pieces (checker.parts): L2, dropout, momentum and Adam in the one loop, the
options and their checks, and the gate that asks for each option's stage."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest

from checker import gradcheck, network, parts as pieces
from checker import training
from checker import train_options
from checker.errors import KataError, UsageError
from checker.stages import find_stage
from solutions.cross_entropy import cross_entropy
from solutions.init import he_init
from solutions.regularization import l2_penalty
from training_helpers import only_run_dir, parse, run_command, tiny_dataset, use_tiny_dataset

SMALL = training.TrainConfig(hidden=32, epochs=2, batch_size=32, lr=0.5, evals_per_epoch=1)


@pytest.fixture(scope="module")
def dataset():
    return tiny_dataset()


def train(dataset, config=SMALL, **parts_changes):
    parts = replace(training.load_parts("solutions", config), **parts_changes)
    return training.train(parts, dataset, config)


def squared_weights(params):
    return sum(float(np.sum(params[k].astype(np.float64) ** 2)) for k in params if k.startswith("W"))


def recorded_batches(parts):
    """(parts that record every batch of indices, the list they record into)."""
    order = []

    def batches(n, size, rng):
        for index in parts.batches(n, size, rng):
            order.append(index.copy())
            yield index

    return replace(parts, batches=batches), order


def test_without_part2_options_the_pieces_are_those_of_part_one():
    parts = training.load_parts("solutions", SMALL)
    assert parts.train_forward is None and parts.penalty is None and parts.penalty_gradient is None
    from solutions.backprop import backward, forward
    from solutions.gradient_descent import sgd_step

    assert parts.forward is forward and parts.backward is backward
    assert parts.optimizer({}) is sgd_step


def test_l2_shrinks_the_weights_and_its_term_is_reported_apart_from_the_data_loss(dataset):
    plain = train(dataset)
    decayed = train(dataset, replace(SMALL, l2=0.01))
    # The same first batch from the same weights: the reported loss is the data loss alone.
    assert decayed.history.batch_loss[0] == plain.history.batch_loss[0]
    assert squared_weights(decayed.params) < 0.9 * squared_weights(plain.params)
    assert all(row.penalty is None for row in plain.history.epochs)
    last = decayed.history.epochs[-1]
    assert last.penalty == pytest.approx(l2_penalty(decayed.params, 0.01), rel=1e-6)


def test_dropout_drops_in_training_only_and_keeps_the_batches(dataset):
    plain_parts, plain_order = recorded_batches(training.load_parts("solutions", SMALL))
    plain = training.train(plain_parts, dataset, SMALL)
    config = replace(SMALL, dropout=0.5)
    dropout_parts, dropout_order = recorded_batches(training.load_parts("solutions", config))
    dropped = training.train(dropout_parts, dataset, config)
    assert all(np.array_equal(a, b) for a, b in zip(plain_order, dropout_order, strict=True))
    # Half the hidden units off (the rest doubled): the first training loss differs from the
    # plain network's, on the very same weights and batch.
    assert dropped.history.batch_loss[0] != pytest.approx(plain.history.batch_loss[0], rel=1e-3)
    # Evaluation keeps every unit: the evaluation forward is the plain network, deterministic.
    from solutions.backprop import forward

    images = dataset.validation.images
    probs = dropout_parts.forward(dropped.params, images)[0]
    np.testing.assert_allclose(probs, forward(dropped.params, images)[0], rtol=1e-5, atol=1e-7)
    np.testing.assert_array_equal(probs, dropout_parts.forward(dropped.params, images)[0])
    assert dropped.history.epochs[-1].validation_accuracy > 0.9


@pytest.mark.parametrize("depth", [1, 3])
def test_the_dropout_network_backward_matches_finite_differences(depth):
    """The gradient of the loss of train_forward, with the masks a fixed rng state draws."""
    from solutions.dropout import dropout_backward, dropout_forward

    rng = np.random.default_rng(0)
    sizes = [6, *[5] * depth, 4]
    params = he_init(sizes, rng)
    params = {k: v + 0.1 * rng.standard_normal(v.shape) for k, v in params.items()}  # biases too
    X = rng.standard_normal((7, 6))
    targets = np.eye(4)[rng.integers(0, 4, 7)]
    train_forward, _, backward = network.layered("solutions", dropout=(dropout_forward, dropout_backward, 0.4))

    def loss(params):
        return cross_entropy(train_forward(params, X, np.random.default_rng(5))[0], targets)

    _, cache = train_forward(params, X, np.random.default_rng(5))
    assert len(cache["masks"]) == depth and any(np.any(m == 0) for m in cache["masks"])
    grads = backward(params, cache, targets)
    for key in params:
        def loss_of(value, key=key):
            return loss({**params, key: value})
        result = gradcheck.check_gradient(loss_of, params[key], grads[key])
        assert result.passed, f"{key}: {result}"


def test_momentum_0_is_sgd_and_each_run_starts_its_optimizer_afresh(dataset):
    sgd = train(dataset)
    momentum_0 = train(dataset, replace(SMALL, optimizer="momentum", momentum=0.0))
    assert momentum_0.history.batch_loss == sgd.history.batch_loss
    config = replace(SMALL, optimizer="momentum", lr=0.05)
    parts = training.load_parts("solutions", config)
    first, second = training.train(parts, dataset, config), training.train(parts, dataset, config)
    assert first.history.batch_loss == second.history.batch_loss  # no velocity left from the first run
    assert first.history.batch_loss != sgd.history.batch_loss
    assert first.history.epochs[-1].validation_accuracy > 0.9


def test_adam_trains_with_float32_weights_and_state(dataset):
    config = replace(SMALL, optimizer="adam", lr=0.003, beta1=0.8, beta2=0.99)
    result = train(dataset, config)
    assert result.stopped is None and result.history.epochs[-1].validation_accuracy > 0.9
    assert all(p.dtype == np.float32 for p in result.params.values())
    # The betas reach adam_step: other betas, other numbers.
    assert result.history.batch_loss != train(dataset, replace(config, beta1=0.9)).history.batch_loss


def test_every_option_together_on_a_deeper_network(dataset):
    config = replace(SMALL, depth=2, l2=1e-4, dropout=0.2, optimizer="adam", lr=0.003)
    result = train(dataset, config)
    assert sorted(result.params) == ["W1", "W2", "W3", "b1", "b2", "b3"]
    assert result.history.epochs[-1].validation_accuracy > 0.9


def test_kata_train_records_the_options_and_says_what_the_loss_includes(monkeypatch, tmp_path, capsys):
    use_tiny_dataset(monkeypatch)
    argv = ("--hidden", "16", "--epochs", "1", "--l2", "0.001", "--dropout", "0.25", "--optimizer", "adam",
            "--beta2", "0.99")
    assert run_command("train", "--solutions", "--out", str(tmp_path), *argv) == 0
    run_dir = only_run_dir(tmp_path)
    config = json.loads((run_dir / "config.json").read_text())
    assert (config["l2"], config["dropout"], config["optimizer"], config["beta2"]) == (0.001, 0.25, "adam", 0.99)
    assert config["lr"] == pieces.DEFAULT_LR["adam"] and config["beta1"] == 0.9
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["l2_term"] > 0
    out = capsys.readouterr().out
    assert "L2 0.001, dropout 0.25, adam (beta1 0.9, beta2 0.99)" in out
    assert "+ L2 term" in out and "data loss (cross-entropy) alone" in out


def test_the_learning_rate_defaults_to_the_optimizers():
    for optimizer, lr in pieces.DEFAULT_LR.items():
        assert train_options.config_from_args(parse("train", "--optimizer", optimizer)).lr == lr
    assert train_options.config_from_args(parse("train", "--optimizer", "adam", "--lr", "0.01")).lr == 0.01
    assert train_options.config_from_args(parse("train")) == training.TrainConfig()


@pytest.mark.parametrize("argv, problem", [
    (("--l2", "-1"), "finite number >= 0"),
    (("--l2", "inf"), "finite number >= 0"),
    (("--dropout", "1"), "up to, but not including, 1"),
    (("--dropout", "-0.1"), "up to, but not including, 1"),
    (("--optimizer", "rmsprop"), "invalid choice"),
    (("--optimizer", "momentum", "--momentum", "1"), "up to, but not including, 1"),
    (("--optimizer", "adam", "--beta2", "x"), "expected a number"),
])
def test_bad_part2_options_are_usage_errors(argv, problem):
    with pytest.raises(UsageError, match=problem):
        parse("train", *argv)


@pytest.mark.parametrize("argv, problem", [
    (("--momentum", "0.5"), "--momentum is a setting of --optimizer momentum.*--optimizer sgd"),
    (("--optimizer", "momentum", "--beta1", "0.5"), "--beta1 is a setting of --optimizer adam"),
])
def test_settings_of_another_optimizer_are_usage_errors(argv, problem):
    with pytest.raises(UsageError, match=problem):
        run_command("train", "--solutions", *argv)


def test_the_options_are_checked_for_code_that_builds_a_config_itself():
    with pytest.raises(ValueError, match="dropout"):
        training.load_parts("solutions", replace(SMALL, dropout=1.0))
    with pytest.raises(ValueError, match="optimizer"):
        training.load_parts("solutions", replace(SMALL, optimizer="rmsprop"))


def asked_stages(monkeypatch, unpassed: str | None = None) -> list:
    """Make the gate see `unpassed` (a stage id) as the one stage that fails; returns the stages asked."""
    asked = []

    def first_unpassed_stage(impl="exercises", stages=None, **k):
        asked.extend(stages)
        return next((s for s in stages if s.id == unpassed), None)

    monkeypatch.setattr("checker.runner.first_unpassed_stage", first_unpassed_stage)
    return asked


@pytest.mark.parametrize("argv, stage, option", [
    (("--l2", "1e-4"), "regularization", "--l2"),
    (("--dropout", "0.2"), "dropout", "--dropout"),
    (("--optimizer", "adam"), "optimizers", "--optimizer momentum or adam"),
])
def test_a_part2_option_needs_its_stage_to_pass(monkeypatch, argv, stage, option):
    asked = asked_stages(monkeypatch, unpassed=stage)
    monkeypatch.setattr("checker.data.load_dataset", lambda *a, **k: pytest.fail("trained"))
    number = find_stage(stage).number
    with pytest.raises(KataError, match=rf"Stage {number} .* {option} uses your .*kata check {stage}.*--solutions"):
        run_command("train", *argv)
    assert {s.part for s in asked} == {1, 2} and find_stage(stage) in asked


def test_plain_training_asks_part_one_only(monkeypatch):
    asked = asked_stages(monkeypatch)
    monkeypatch.setattr("checker.data.load_dataset", lambda *a, **k: pytest.skip("reached the data"))
    with pytest.raises(pytest.skip.Exception):
        run_command("train")
    assert asked and {s.part for s in asked} == {1}
