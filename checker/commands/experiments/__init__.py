"""`kata experiment NAME`: controlled experiments, one module each, sharing checker.experiment.

    init             random_init against he_init                                    (Part I)
    regularization   none, L2, dropout and both on a small training set             (stages 8, 9)
    optimizers       SGD, momentum and Adam from the same weights and batches       (stage 10)
    depth            1, 2, 4 and 8 hidden layers, without and with batch norm       (stages 11, 12)

Each module has add_arguments(parser) and run(args) -> exit code, as the kata's commands do.
"""

from __future__ import annotations

import argparse
import importlib
import textwrap

from ...threads import with_blas_threads

EXPERIMENTS = {
    "init": "random_init (scale 0.01) against he_init",
    "regularization": "no regularisation, L2, dropout and both, on a small training set",
    "optimizers": "SGD, momentum and Adam, each with its learning rate tuned on validation",
    "depth": "1, 2, 4 and 8 hidden layers, each without and with batch normalisation",
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = textwrap.fill(
        "Controlled experiments: the same data, batches and seeds in every arm, one factor changed, "
        "mean +- sample sd over --seeds, settings chosen on the validation set, the test set measured "
        "once at the end. Each writes runs/<time>-experiment-<name>/.")
    parser.epilog = "Each experiment has its own options, e.g. kata experiment regularization --help."
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    experiments = parser.add_subparsers(dest="experiment", metavar="EXPERIMENT", required=True,
                                        parser_class=type(parser))
    for name, summary in EXPERIMENTS.items():
        module = importlib.import_module(f"{__name__}.{name}")
        sub = experiments.add_parser(name, help=summary, prog=f"kata experiment {name}")
        module.add_arguments(sub)
        sub.set_defaults(experiment_module=module)


@with_blas_threads  # BLAS on the cores free at the start, the same count for every arm (checker/threads.py)
def run(args: argparse.Namespace) -> int:
    return args.experiment_module.run(args)
