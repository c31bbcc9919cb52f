"""Deep networks and batch normalisation in kata train (stages 11 and 12): which functions the loop
uses, the batch-norm network the checker composes, and kata predict on every kind of saved network."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest

from checker import gradcheck, network

from checker import models, runs, training
from training_helpers import only_run_dir, run_command, tiny_dataset, use_tiny_dataset

SMALL = training.TrainConfig(hidden=16, epochs=2, batch_size=32, lr=0.2, evals_per_epoch=1)


@pytest.fixture(scope="module")
def dataset():
    return tiny_dataset()


def test_deeper_networks_use_deep_forward_once_stage_11_passes_and_the_chained_stages_before(monkeypatch):
    import solutions.deep as deep

    calls = []
    monkeypatch.setattr(deep, "deep_forward", lambda *a, real=deep.deep_forward: calls.append(a) or real(*a))
    config = replace(SMALL, depth=3)
    rng = np.random.default_rng(0)
    X = rng.random((5, 7)).astype(np.float32)
    from solutions.init import he_init

    weights = {k: v.astype(np.float32) for k, v in he_init([7, 6, 6, 6, 3], rng).items()}
    parts = training.load_parts("solutions", config)
    probs, _ = parts.forward(weights, X)
    assert calls and "stage 11" in parts.network
    chained = training.load_parts("solutions", config, deep=False)  # what a learner's failing stage 11 gets
    assert "does not pass yet" in chained.network
    np.testing.assert_allclose(chained.forward(weights, X)[0], probs, rtol=1e-6)


def batchnorm_case(seed=3, sizes=(5, 4, 4, 3), n=6):
    rng = np.random.default_rng(seed)
    from solutions.init import he_init

    params = network.with_batchnorm(he_init)(list(sizes), rng)
    params = {k: (v + rng.normal(0, 0.3, v.shape) if k.startswith(("gamma", "beta", "b")) else v)
              for k, v in params.items()}
    X = rng.standard_normal((n, sizes[0]))
    targets = np.eye(sizes[-1])[rng.integers(0, sizes[-1], n)]
    return params, X, targets


@pytest.mark.parametrize("p_drop", [0.0, 0.3])
def test_the_batchnorm_network_backward_is_the_gradient_of_its_training_forward(p_drop):
    train_forward, _, backward = network.batchnorm_network("solutions", p_drop)
    params, X, targets = batchnorm_case()

    def loss(candidate):
        copy = {k: v.copy() for k, v in candidate.items()}  # the forward updates running statistics
        probs, _ = train_forward(copy, X, np.random.default_rng(7))
        return -np.sum(targets * np.log(probs)) / len(X)

    _, cache = train_forward({k: v.copy() for k, v in params.items()}, X, np.random.default_rng(7))
    grads = backward(params, cache, targets)
    assert set(grads) == set(network.trainable(params))
    for key, grad in grads.items():
        if key.startswith("b") and key[1:].isdigit() and int(key[1:]) < 3:
            # A bias before batch norm is subtracted again with the batch mean: its gradient is 0.
            np.testing.assert_allclose(grad, 0.0, atol=1e-12)
            continue
        result = gradcheck.check_gradient(lambda v, key=key: loss({**params, key: v}), params[key], grad)
        assert result, f"{key}: {result}"


def test_batchnorm_training_updates_the_running_statistics_and_evaluation_uses_them(dataset):
    config = replace(SMALL, depth=2, batchnorm=True, optimizer="momentum", lr=0.05)
    parts = training.load_parts("solutions", config)
    result = training.train(parts, dataset, config)
    params = result.params
    assert [k for k in params if not (k[0] in "Wb" and k[1:].isdigit())] == [
        "gamma1", "beta1", "running_mean1", "running_var1", "gamma2", "beta2", "running_mean2", "running_var2"]
    for key in ("running_mean1", "running_var2"):
        assert params[key].dtype == np.float32 and np.isfinite(params[key]).all()
        assert not np.allclose(params[key], 0.0 if "mean" in key else 1.0), f"{key} never moved"
    # Evaluation: the running statistics, so one image gets the same answer alone or in a batch.
    images = dataset.test.images[:20]
    together, _ = parts.forward(params, images)
    alone, _ = parts.forward(params, images[3:4])
    np.testing.assert_allclose(alone[0], together[3], rtol=1e-5)
    assert result.history.epochs[-1].validation_accuracy > 0.5


def save(run_dir, config, result):
    run_dir.mkdir()
    np.savez(run_dir / runs.WEIGHTS_FILE, **result.params)
    runs.write_json(run_dir / runs.CONFIG_FILE, {"data_dir": "/nonexistent/tiny"})
    runs.write_json(run_dir / runs.SUMMARY_FILE, {"test_accuracy": 0.9, "stopped": None})


@pytest.mark.parametrize("changes", [dict(depth=1), dict(depth=3), dict(depth=2, dropout=0.2),
                                     dict(depth=1, batchnorm=True), dict(depth=3, batchnorm=True, dropout=0.1)],
                         ids=lambda c: ",".join(f"{k}={v}" for k, v in c.items()))
def test_predict_reads_every_kind_of_network_kata_train_saves(dataset, tmp_path, changes):
    config = replace(SMALL, **changes)
    parts = training.load_parts("solutions", config)
    result = training.train(parts, dataset, config)
    save(tmp_path / "run", config, result)
    params = runs.load_network(tmp_path / "run")
    expected, _ = parts.forward(result.params, dataset.test.images[:4])
    for i in range(4):
        np.testing.assert_allclose(models.predict(params, dataset.test.images[i][None])[0], expected[i], rtol=1e-5, atol=1e-7)


def test_kata_train_depth_batchnorm_dropout_then_predict(monkeypatch, tmp_path, capsys, dataset):
    use_tiny_dataset(monkeypatch, dataset)
    argv = ("--depth", "3", "--batchnorm", "--dropout", "0.1", "--hidden", "16", "--epochs", "1", "--batch-size", "32")
    assert run_command("train", "--solutions", "--out", str(tmp_path), *argv) == 0
    run_dir = only_run_dir(tmp_path)
    described = json.loads((run_dir / runs.CONFIG_FILE).read_text())["network"]
    assert described["layers"] == 4 and described["batchnorm"] is True
    with np.load(run_dir / runs.WEIGHTS_FILE) as weights:
        assert sorted(weights.files) == sorted(described["arrays"])
    assert "batch norm" in capsys.readouterr().out
    assert run_command("predict", "--index", "0", "--run", str(run_dir)) == 0
    assert "Prediction:" in capsys.readouterr().out


def test_a_batch_of_one_in_training_is_normalised_with_the_running_statistics():
    train_forward, forward, _ = network.batchnorm_network("solutions")
    params, X, _ = batchnorm_case()
    before = {k: v.copy() for k, v in params.items()}
    probs, _ = train_forward(params, X[:1], np.random.default_rng(0))
    np.testing.assert_allclose(probs, forward(before, X[:1])[0])
    assert all(np.array_equal(params[k], before[k]) for k in params)


def test_the_optimizer_never_sees_the_running_statistics():
    seen = []

    def optimizer(params):
        seen.append(sorted(params))
        return lambda params, grads, lr: seen.append(sorted(params))

    params, _, _ = batchnorm_case()
    step = network.optimizing_trainable(optimizer)(params)
    step(params, {}, 0.1)
    assert all(not any(network.is_buffer(k) for k in keys) for keys in seen) and len(seen) == 2
