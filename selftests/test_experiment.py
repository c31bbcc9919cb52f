"""kata experiment init on a tiny fabricated dataset: both arms alike but for the init, the table, the figure."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from PIL import Image

from checker import plots
from checker.commands.experiments import init as experiment
from checker import training
from checker.errors import KataError, UsageError
from checker.stages import find_stage
from training_helpers import only_run_dir, parse, run_command, tiny_dataset, use_tiny_dataset

TINY = ("--hidden", "32", "--batch-size", "4", "--epochs", "1", "--lr", "0.1", "--lr-schedule", "constant")


def test_kata_experiment_init_draws_the_comparison_and_prints_the_table(monkeypatch, tmp_path, capsys):
    use_tiny_dataset(monkeypatch)
    assert run_command("experiment", "init", "--solutions", "--seeds", "2", "--out", str(tmp_path), *TINY) == 0
    run_dir = only_run_dir(tmp_path)
    assert run_dir.name.endswith("-experiment-init")
    assert {p.name for p in run_dir.iterdir()} == {plots.EXPERIMENT_FILE, "experiment.json", "experiment.csv"}
    with Image.open(run_dir / plots.EXPERIMENT_FILE) as image:
        assert image.width >= 1000 and image.height >= 700
    saved = json.loads((run_dir / "experiment.json").read_text())
    assert saved["config"]["seeds"] == [0, 1] and saved["impl"] == "solutions"
    rows = {row["measure"]: row for row in saved["rows"]}
    assert len(rows["test accuracy at the end"]["he"]) == 2
    # 160 iterations: 100 is measured, 500 is beyond the run.
    assert all(v is not None for v in rows["validation loss after 100 iterations"]["random"])
    assert rows["validation loss after 500 iterations"]["he"] == [None, None]
    out = capsys.readouterr().out
    assert "random_init (scale 0.01)" in out and "he_init" in out
    assert "validation accuracy after epoch 1" in out and "+-" in out and "2 seeds" in out
    assert not list(run_dir.glob("summary.json"))  # not a training run: kata's status ignores it


def test_only_the_initialisation_differs_between_the_arms():
    config = training.TrainConfig(hidden=16, epochs=1, batch_size=16, lr=0.1, lr_schedule="constant")
    results = experiment.run_experiment("solutions", tiny_dataset(train=160), config, seeds=[3])
    random_run, he_run = results["random"][0], results["he"][0]
    assert random_run.seed == he_run.seed == 3
    assert random_run.history.iterations == he_run.history.iterations == 10
    assert random_run.history.batch_loss != he_run.history.batch_loss
    # A naive start predicts a uniform 1/10 for everything: its first loss is log 10.
    assert random_run.history.batch_loss[0] == pytest.approx(math.log(10), abs=0.01)


def test_with_depth_the_naive_start_stays_at_log_10_and_he_learns():
    config = training.TrainConfig(hidden=32, depth=4, epochs=3, batch_size=16, lr=0.1, lr_schedule="constant")
    results = experiment.run_experiment("solutions", tiny_dataset(), config, seeds=[0])
    random_losses = results["random"][0].history.batch_loss
    he_losses = results["he"][0].history.batch_loss
    assert np.mean(random_losses[-20:]) == pytest.approx(math.log(10), abs=0.02)
    assert np.mean(he_losses[-20:]) < 1.0


def test_the_table_formats_means_spreads_and_missing_values():
    assert experiment.format_cell([0.5], percent=True) == "50.00%"
    assert experiment.format_cell([0.9, 1.0], percent=True) == "95.00% +- 7.07"  # the sample sd (ddof=1)
    assert experiment.format_cell([2.302, 2.302], percent=False) == "2.302 +- 0.000"
    assert experiment.format_cell([1.0, None], percent=False) == "-"


def test_experiment_needs_every_stage_to_pass(monkeypatch):
    monkeypatch.setattr("checker.runner.first_unpassed_stage", lambda **k: find_stage("init"))
    with pytest.raises(KataError, match="kata check init"):
        run_command("experiment", "init")


@pytest.mark.parametrize("argv", [(), ("speed",), ("init", "--seeds", "0"), ("init", "--depth", "x")])
def test_bad_experiment_arguments_are_usage_errors(argv):
    with pytest.raises(UsageError):
        parse("experiment", *argv)


def test_the_spread_over_seeds_is_the_sample_standard_deviation():
    from checker.experiment import mean_sd, spread_note

    assert mean_sd([1.0, 2.0, 3.0]) == (2.0, 1.0)  # ddof=1: sqrt(2 / 2); ddof=0 would say 0.816
    assert mean_sd([4.0]) == (4.0, 0.0) and mean_sd([1.0, None]) is None
    assert spread_note(3) == "mean +- sd over 3 seeds" and spread_note(1) == "one seed: no sd"


def test_iterations_to_a_threshold_are_found_to_the_iteration_between_the_validation_passes():
    """One validation pass per epoch (20 iterations apart): the watcher still finds the first iteration
    whose weights reach the threshold, checked here by measuring the weights after every update."""
    from checker.experiment import ThresholdWatcher, Watchers

    dataset = tiny_dataset()
    config = training.TrainConfig(hidden=16, epochs=3, batch_size=32, lr=0.05, lr_schedule="constant",
                                  evals_per_epoch=1)
    parts = training.load_parts("solutions", config)
    targets = training.one_hot_targets("solutions", dataset.validation.labels)

    class EveryUpdate(training.Silent):
        accuracies = {}

        def stepped(self, iteration, params):
            self.accuracies[iteration] = training.evaluate(parts, params, dataset.validation.images, targets)[1]

    every = EveryUpdate()
    passes = [accuracy for _, _, accuracy in training.train(parts, dataset, config).history.evals]
    threshold = float(np.round((passes[0] + passes[1]) / 2, 3))  # crossed between the first two passes
    watcher = ThresholdWatcher(parts, dataset.validation.images, targets, threshold)
    result = training.train(parts, dataset, config, Watchers(watcher, every))
    assert [at for at, _, _ in result.history.evals] == [20, 40, 60]
    reached = watcher.first_reach
    assert 20 < reached <= 40 and reached != 40 or every.accuracies[39] >= threshold, reached
    assert every.accuracies[reached] >= threshold > every.accuracies[reached - 1]
    # The weights of training were never touched: the same run without the watcher ends the same.
    assert np.array_equal(result.params["W1"], training.train(parts, dataset, config).params["W1"])
