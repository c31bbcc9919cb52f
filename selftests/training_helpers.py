"""A tiny fabricated dataset and command helpers for the tests of kata train, experiment and predict."""

from __future__ import annotations

import contextlib
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from checker import cli
from checker.data import Dataset, Split


def tiny_dataset(train: int = 640, validation: int = 200, test: int = 200, seed: int = 0) -> Dataset:
    """Ten noisy 28x28 prototypes, one per class: learnable in a few epochs of a small network."""
    rng = np.random.default_rng(seed)
    prototypes = (rng.random((10, 784)) < 0.15).astype(np.float32)

    def split(n: int) -> Split:
        labels = rng.integers(0, 10, n)
        images = prototypes[labels] * rng.uniform(0.6, 1.0, (n, 1)) + rng.normal(0, 0.25, (n, 784))
        return Split(images=np.clip(images, 0, 1).astype(np.float32), labels=labels.astype(np.int64))

    return Dataset(train=split(train), validation=split(validation), test=split(test),
                   name="tiny", data_dir=Path("/nonexistent/tiny"))


def use_tiny_dataset(monkeypatch, dataset: Dataset | None = None) -> Dataset:
    """Make checker.data.load_dataset return the tiny dataset, whatever folder it is given."""
    dataset = dataset or tiny_dataset()
    monkeypatch.setattr("checker.data.load_dataset", lambda data_dir=None, *a, **k: dataset)
    return dataset


def all_stages_pass(monkeypatch) -> None:
    monkeypatch.setattr("checker.runner.first_unpassed_stage", lambda impl="exercises", **k: None)


def parse(command: str, *argv: str):
    """The arguments of `kata COMMAND ARGV...`, parsed by the real kata parser."""
    return cli.build_parser(command).parse_args([command, *argv])


def run_command(command: str, *argv: str) -> int:
    args = parse(command, *argv)
    return args.handler.run(args)


def only_run_dir(parent: Path) -> Path:
    (run_dir,) = [p for p in Path(parent).iterdir() if p.is_dir()]
    return run_dir


@contextlib.contextmanager
def busy_loops(count: int):
    """`count` processes spinning on a core each while the block runs (a busy machine); ended on any
    exit, and with the test process if it is killed."""
    from checker.sandbox import die_with_parent

    loops = [subprocess.Popen([sys.executable, "-c", "while True: pass"], stdin=subprocess.DEVNULL,
                              preexec_fn=die_with_parent) for _ in range(count)]
    try:
        time.sleep(0.2)  # running before the block starts
        yield
    finally:
        for loop in loops:
            loop.kill()
            loop.wait()
