"""kata experiment regularization and optimizers on a tiny fabricated dataset: one factor changed,
sweeps on validation, the table, the figure and the files."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import replace

import pytest
from PIL import Image

from checker import training
from checker.errors import KataError, UsageError
from checker import experiment as common
from checker.commands.experiments import optimizers, regularization
from checker.stages import find_stage
from training_helpers import only_run_dir, parse, run_command, tiny_dataset, use_tiny_dataset

TINY = ("--hidden", "16", "--batch-size", "32", "--seeds", "2")
FILES = {common.METRICS_FILE, common.CONFIG_FILE, common.TABLE_CSV, common.TABLE_TEXT}


@pytest.fixture(scope="module")
def dataset():
    return tiny_dataset(train=320, validation=100, test=100)


def bench(dataset, **options):
    return common.Bench("solutions", dataset, out=io.StringIO(), **options)


def test_the_regularization_arms_differ_in_their_regularisation_only(dataset):
    config = replace(regularization.DEFAULTS, hidden=16, epochs=2, batch_size=32)
    results, sweeps = regularization.run_experiment(
        bench(dataset, measure_train=True), config, [0, 1], (1e-3, 1e-2), (0.5,), io.StringIO())
    assert list(results) == ["none", "L2", "dropout", "both"]
    l2, p_drop = sweeps["L2"][0], sweeps["dropout"][0]
    for arm, (want_l2, want_p) in {"none": (0, 0), "L2": (l2, 0), "dropout": (0, p_drop), "both": (l2, p_drop)}.items():
        for seed, run in zip([0, 1], results[arm]):
            assert run.config == replace(config, seed=seed, l2=want_l2, dropout=want_p)
            assert len(run.train_evals) == len(run.history.evals) == 2  # train set measured at each pass
            assert run.test_accuracy is not None
    # Same weights and first batch: the data loss of the first batch is the same with or without L2.
    assert results["L2"][0].history.batch_loss[0] == results["none"][0].history.batch_loss[0]
    dropped = results["dropout"][0].history.batch_loss[0] != results["none"][0].history.batch_loss[0]
    assert dropped == (p_drop > 0)  # the sweep may keep p = 0 on this easy data
    # The sweeps train every value with every seed, lambda 0 and p 0 for comparison, pick the best
    # mean validation accuracy among the others, and never measure test but on the arms' runs.
    for name, (best, trained) in sweeps.items():
        assert [value for value, _ in trained][0] == 0.0 and best != 0.0
        assert all([run.config.seed for run in runs] == [0, 1] for _, runs in trained)
        means = {value: sum(r.validation_accuracy for r in runs) / 2 for value, runs in trained if value != 0.0}
        assert means[best] == max(means.values())
        assert all(run.test_accuracy is None for value, runs in trained if value not in (best, 0.0) for run in runs)
    # The arms none, L2 and dropout are runs of the sweeps (memoised), not trained again.
    assert results["none"][0] is dict(sweeps["L2"][1])[0.0][0] is dict(sweeps["dropout"][1])[0.0][0]
    assert results["L2"][1] is dict(sweeps["L2"][1])[l2][1]


def test_a_factor_without_effect_is_said_so_and_coinciding_curves_are_noted(dataset):
    """What the figure and the output say: an arm within the noise of none has 'no effect the seeds can
    tell from noise'; two arms whose curves lie on each other are named; a pick at the edge is said."""
    config = replace(regularization.DEFAULTS, hidden=16, epochs=2, batch_size=32)
    runs = common.Bench("solutions", dataset, out=io.StringIO(), measure_train=True)
    none = [runs.train(replace(config, seed=seed), "none") for seed in (0, 1)]
    results = {"none": none, "L2": none, "dropout": none, "both": none}  # every arm the same: no effect
    lines = regularization.verdicts(results)
    assert len(lines) == 3 and all("+0.00 points against none; within 2 sd" in line and
                                   "no effect the seeds can tell from noise" in line for line in lines), lines
    assert regularization.coinciding(results, 2, regularization.COINCIDE) == [
        ("none", "L2"), ("none", "dropout"), ("none", "both"), ("L2", "dropout"), ("L2", "both"), ("dropout", "both")]
    assert common.edge_note(0.9, [0.25, 0.5, 0.9], "p") == "; it is the largest p of the grid, so a wider grid might find better"
    assert common.edge_note(0.5, [0.25, 0.5, 0.9], "p") == ""
    low, high = regularization.accuracy_limits([0.893, 0.894])  # a tenth of a point apart: the axis spans 5
    assert high - low == pytest.approx(regularization.MIN_SPAN) and low < 0.893 and high > 0.894


def test_the_default_grids_reach_from_no_effect_to_a_clear_one_with_the_picks_inside():
    """The defaults were chosen on the reference (see regularization.py): L2 from 1e-4 to 0.1, p up to 0.9."""
    assert min(regularization.L2_GRID) <= 1e-4 and max(regularization.L2_GRID) >= 0.1
    assert max(regularization.DROPOUT_GRID) >= 0.9


def test_kata_experiment_regularization_writes_the_table_figure_and_files(monkeypatch, tmp_path, capsys):
    use_tiny_dataset(monkeypatch)
    assert run_command("experiment", "regularization", "--solutions", "--out", str(tmp_path), *TINY,
                       "--epochs", "3", "--train-size", "200", "--validation-size", "100",
                       "--l2-grid", "0.001,0.01", "--dropout-grid", "0.5") == 0
    run_dir = only_run_dir(tmp_path)
    assert run_dir.name.endswith("-experiment-regularization")
    assert {p.name for p in run_dir.iterdir()} == FILES | {regularization.FIGURE_FILE}
    with Image.open(run_dir / regularization.FIGURE_FILE) as image:
        assert image.width >= 1200 and image.height >= 800
    config = json.loads((run_dir / common.CONFIG_FILE).read_text())
    assert (config["train_size"], config["validation_size"], config["seeds"]) == (200, 100, [0, 1])
    assert config["picked_l2"] in (0.001, 0.01) and config["picked_dropout"] == 0.5  # never 0: an arm has it on
    assert config["l2_grid"] == [0.0, 0.001, 0.01] and not {"l2", "dropout"} & set(config)
    with (run_dir / common.METRICS_FILE).open() as f:
        rows = list(csv.DictReader(f))
    assert {r["arm"] for r in rows} == {"none", "L2", "dropout", "both"} and len(rows) == 4 * 2 * 3
    assert all(r["train_set_accuracy"] for r in rows)
    out = capsys.readouterr().out
    assert "Sweep of the L2 lambda on validation" in out and "lambda 0.01, seed 0" in out and "lambda 0.01, seed 1" in out
    for measure in ("train accuracy (final)", "validation accuracy (final)", "gap: train - validation",
                    "test accuracy (once, at the end)", "+-", "points against none"):
        assert measure in out
    assert "validation accuracy" in (run_dir / common.TABLE_TEXT).read_text()


def test_the_optimizers_start_from_the_same_weights_and_batches(dataset):
    config = replace(optimizers.DEFAULTS, hidden=16, epochs=1, batch_size=32, evals_per_epoch=2)
    grids = {"sgd": (0.1, 0.5), "momentum": (0.05,), "adam": (0.005,)}
    results, sweeps = optimizers.run_experiment(bench(dataset), config, [3], grids, io.StringIO())
    assert list(results) == ["sgd", "momentum", "adam"]
    assert [run.config.lr for run in (results[n][0] for n in results)] == [sweeps[n][0] for n in results]
    first_losses = {results[name][0].history.batch_loss[0] for name in results}
    assert len(first_losses) == 1  # the first batch, before any step: the same weights and images
    assert len({tuple(results[name][0].history.batch_loss[:3]) for name in results}) == 3
    assert all(results[name][0].config.seed == 3 for name in results)


def test_kata_experiment_optimizers_writes_the_table_figure_and_files(monkeypatch, tmp_path, capsys):
    use_tiny_dataset(monkeypatch)
    assert run_command("experiment", "optimizers", "--solutions", "--out", str(tmp_path), *TINY,
                       "--epochs", "1", "--sgd-lrs", "0.1,0.5", "--momentum-lrs", "0.05",
                       "--adam-lrs", "0.005", "--threshold", "0.5") == 0
    run_dir = only_run_dir(tmp_path)
    assert {p.name for p in run_dir.iterdir()} == FILES | {optimizers.FIGURE_FILE}
    with Image.open(run_dir / optimizers.FIGURE_FILE) as image:
        assert image.width >= 1200 and image.height >= 800
    config = json.loads((run_dir / common.CONFIG_FILE).read_text())
    assert config["lr_grids"]["sgd"] == [0.1, 0.5] and config["picked_lr"]["momentum"] == 0.05
    assert config["threshold"] == 0.5 and config["optimizers"] == ["sgd", "momentum", "adam"]
    assert not {"lr", "optimizer"} & set(config) and config["beta2"] == 0.999  # the arms' own: picked_lr
    out = capsys.readouterr().out
    assert "Sweep of the learning rate of sgd on validation" in out and "sgd lr 0.5, seed 0" in out
    assert "iterations to 50.0% validation accuracy" in out and "test accuracy (once, at the end)" in out


def test_iterations_to_reach_the_benchs_threshold_are_exact_and_another_accuracy_counts_at_the_passes():
    history = training.History(10, evals=[(5, 1.0, 0.4), (10, 0.8, 0.7), (15, 0.7, 0.65)])
    run = common.RunRecord(training.TrainConfig(), history, {}, 0.0, False, threshold=0.7, first_reach=7)
    assert run.iterations_to_reach(0.7) == 7  # found between the passes (ThresholdWatcher)
    assert run.iterations_to_reach(0.6) == 10 and run.iterations_to_reach(0.8) is None
    assert optimizers.format_row("iterations to 70%", [10, 20], 2) == "15 +- 7"  # the sample sd
    assert optimizers.format_row("iterations to 70%", [None, None], 2) == "not reached (2 of 2)"
    assert optimizers.format_row("iterations to 70%", [10, None], 2) == "10 (1 of 2 not)"


def test_a_diverged_sweep_run_is_never_picked(dataset):
    config = replace(optimizers.DEFAULTS, hidden=16, epochs=1, batch_size=32, evals_per_epoch=1)
    best, runs = bench(dataset).sweep("sgd lr", [1e9, 0.1], lambda lr: replace(config, lr=lr))
    assert best == 0.1 and runs[0][1].diverged


@pytest.mark.parametrize("argv, problem", [
    (("regularization", "--dropout-grid", "0.5,x"), "numbers separated by commas"),
    (("regularization", "--l2-grid", "-1"), "finite numbers >= 0"),
    (("regularization", "--train-size", "0"), "at least 1"),
    (("optimizers", "--sgd-lrs", "0,0.1"), "positive numbers"),
    (("optimizers", "--threshold", "1.5"), "up to, but not including, 1"),
    (("optimizers", "--threshold", "0"), "accuracy between 0 and 1"),
    (("speed",), "invalid choice"),
    ((), "required"),
])
def test_bad_experiment_options_are_usage_errors(argv, problem):
    with pytest.raises(UsageError, match=problem):
        parse("experiment", *argv)


@pytest.mark.parametrize("argv, problem", [
    (("regularization", "--dropout-grid", "0.5,1"), "must be below 1"),
    (("optimizers", "--lr", "0.1"), "comes from its sweep on validation"),
])
def test_experiment_options_checked_when_run_are_usage_errors(argv, problem):
    with pytest.raises(UsageError, match=problem):
        run_command("experiment", *argv, "--solutions")


@pytest.mark.parametrize("experiment, stage", [("regularization", "dropout"), ("optimizers", "optimizers")])
def test_the_experiments_need_their_stages(monkeypatch, experiment, stage):
    def first_unpassed_stage(impl="exercises", stages=None, **k):
        return next((s for s in stages if s.id == stage), None)

    monkeypatch.setattr("checker.runner.first_unpassed_stage", first_unpassed_stage)
    with pytest.raises(KataError, match=rf"Stage {find_stage(stage).number} .*kata check {stage}"):
        run_command("experiment", experiment)


def test_a_grid_without_a_value_above_0_is_a_usage_error():
    with pytest.raises(UsageError, match=r"--l2-grid 0.0: it needs a value above 0 \(0, no regularisation, is always "
                                         r"trained for comparison\)"):
        run_command("experiment", "regularization", "--solutions", "--l2-grid", "0")
