"""kata experiment depth: the arms differ in depth and batch normalisation only, and a small run
writes its figure, table and CSVs."""

from __future__ import annotations

import json
from dataclasses import asdict

from checker import training
from checker.commands.experiments import depth
from training_helpers import only_run_dir, run_command, use_tiny_dataset


def test_the_arms_differ_only_in_depth_and_batch_normalisation():
    config = training.TrainConfig(hidden=16, epochs=1, lr=0.3)
    arms = depth.arms_of(config, (1, 4))
    assert list(arms) == ["1 hidden", "1 hidden + batch norm", "4 hidden", "4 hidden + batch norm"]
    for arm in arms.values():
        changed = {k for k, v in asdict(arm).items() if asdict(config)[k] != v}
        assert changed <= {"depth", "batchnorm"} and arm.init == "he"


def test_a_small_depth_experiment_writes_its_figure_and_table(monkeypatch, tmp_path, capsys):
    use_tiny_dataset(monkeypatch)
    argv = ("--solutions", "--out", str(tmp_path), "--depths", "1,3", "--seeds", "2", "--epochs", "2",
            "--hidden", "16", "--batch-size", "32", "--validation-size", "100", "--threshold", "0.5")
    assert run_command("experiment", "depth", *argv) == 0
    run_dir = only_run_dir(tmp_path)
    assert run_dir.name.endswith("experiment-depth")
    for name in (depth.FIGURE_FILE, "metrics.csv", "table.csv", "table.txt", "config.json"):
        assert (run_dir / name).is_file(), name
    table = (run_dir / "table.txt").read_text()
    for arm in ("1 hidden", "1 hidden + batch norm", "3 hidden", "3 hidden + batch norm"):
        assert arm in table
    config = json.loads((run_dir / "config.json").read_text())
    assert config["depths"] == [1, 3] and config["seeds"] == [0, 1] and config["experiment"] == "depth"
    assert not {"depth", "batchnorm", "filters", "momentum"} & set(config)  # the arms' own, or not this network's
    out = capsys.readouterr().out
    assert "mean +- sd over 2 seeds" in out and "iterations to 50%" in out and "2 epochs" in out
    assert "found between the validation passes" in out


def test_depth_help_has_no_depth_option_and_one_epoch_is_singular(monkeypatch, tmp_path, capsys):
    from checker import cli

    assert cli.main(["experiment", "depth", "--help"]) == 0
    help_text = capsys.readouterr().out
    assert "--depths" in help_text and "--depth " not in help_text and "not used" not in help_text
    from training_helpers import parse

    assert parse("experiment", "depth", "--depth", "3").depths == (3,)  # argparse's abbreviation of --depths
    use_tiny_dataset(monkeypatch)
    assert run_command("experiment", "depth", "--solutions", "--out", str(tmp_path), "--depths", "1", "--seeds", "1",
                       "--epochs", "1", "--hidden", "8", "--validation-size", "50") == 0
    out = capsys.readouterr().out
    assert ", 1 epoch, " in out and "1 epochs" not in out and "one seed: no sd" in out
