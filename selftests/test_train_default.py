"""The promise of kata train: its defaults take the reference to 98% test accuracy on the real MNIST.

The one slow test of the kata's own (about 7 s on 2 cores): the full default training run, without
the figures, on the kata's BLAS thread count as kata train runs it (checker/threads.py: on a busy
machine one BLAS thread per core made it several times slower). It times nothing; bench/bench.py
measures speed.
"""

from __future__ import annotations

from dataclasses import replace

import pytest
from checker import training
from checker.data import load_dataset
from checker.threads import blas_threads


@pytest.mark.timeout(900, func_only=True)  # a full training run: 7 s on a quiet machine, far more on a busy one
def test_the_default_run_of_the_reference_reaches_98_percent_test_accuracy():
    dataset = load_dataset()
    # Validation passes change nothing in the weights; one per epoch is enough here.
    config = replace(training.TrainConfig(), evals_per_epoch=1)
    parts = training.load_parts("solutions", config)
    with blas_threads():  # as kata train (checker/commands/train.py: @with_blas_threads)
        result = training.train(parts, dataset, config)
        assert result.stopped is None
        _, accuracy, _ = training.evaluate(parts, result.params, dataset.test.images,
                                           training.one_hot_targets("solutions", dataset.test.labels))
    assert accuracy >= 0.98, f"test accuracy {accuracy:.2%} at the end of the default run"
    assert result.history.epochs[-1].validation_accuracy >= 0.975
