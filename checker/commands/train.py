"""`kata train`: train a digit classifier on MNIST with the learner's own functions.

The options are checker.train_options', the run itself checker.training_run's.
"""

from __future__ import annotations

import argparse

from ..train_options import add_train_arguments, apply_model_defaults, check_optimizer_settings, config_from_args
from ..training_run import train_and_save


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_train_arguments(parser)


def run(args: argparse.Namespace) -> int:
    apply_model_defaults(args)
    check_optimizer_settings(args)
    return train_and_save(config_from_args(args), solutions=args.solutions, data_dir=args.data_dir, out=args.out,
                          name=args.name, yes=args.yes)
