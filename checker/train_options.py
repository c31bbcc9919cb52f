"""The options of kata train, shared with kata experiment and the first training of kata: the
arguments, the defaults that depend on --model, and the TrainConfig they make.

    add_train_arguments(parser)         every option of kata train
    add_model_arguments(parser, ...)    the options kata train and the experiments share
    apply_model_defaults(args)          fill in the options whose default depends on --model
    config_from_args(args, **changes)   the TrainConfig of the parsed options
    default_config(model)               what `kata train` (or `kata train --model cnn`) trains with no options
"""

from __future__ import annotations

import argparse
import textwrap

from . import parts as pieces
from .cnn import CNN_DEFAULTS, CNN_LR
from .errors import UsageError
from .options import (filter_counts, folder_path, fraction_below_one, non_negative_int, nonnegative_float,
                      positive_float, positive_int, seed_int)
from .parts import MAX_SHIFT
from .training import LR_SCHEDULES, TrainConfig

TRAIN_EXAMPLES = (
    "examples:\n"
    "  kata train                      your network, default options\n"
    "  kata train --solutions          the reference, to see the end result first\n"
    "  kata train --init random        the naive initialisation instead of He's\n"
    "  kata train --hidden 512 --epochs 20 --lr 0.2\n"
    "  kata train --l2 1e-4 --dropout 0.2 --optimizer momentum   Part II options\n"
    "  kata train --model cnn          the convolutional network of Part III\n"
    "  kata train --data-dir /usr/share/datasets/fashion-mnist\n"
    "then: kata predict --index 0, or kata predict my_digit.png")


MAX_EPOCHS = 10_000  # about three hours of the default MLP; more is a typo (and would not fit its schedule)


def epoch_count(text: str) -> int:
    """--epochs: a whole number from 1 to MAX_EPOCHS."""
    value = positive_int(text)
    if value > MAX_EPOCHS:
        raise argparse.ArgumentTypeError(f"expected at most {MAX_EPOCHS:,} epochs (passes over the training set), "
                                         f"got {value:,}")
    return value


def shift_pixels(text: str) -> int:
    """--shift: a whole number of pixels from 0 to parts.MAX_SHIFT."""
    value = non_negative_int(text)
    if value > MAX_SHIFT:
        raise argparse.ArgumentTypeError(f"expected at most {MAX_SHIFT} pixels (a 28x28 digit moved further "
                                         f"leaves the image), got {value}")
    return value


def add_model_arguments(parser: argparse.ArgumentParser, defaults: TrainConfig,
                        lr_help: str | None = None, lr: bool = True, depth: bool = True) -> None:
    """The options kata train and kata experiment share; lr_help: --lr defaults to None, resolved
    by config_from_args; lr=False: no --lr (an experiment that sweeps it); depth=False: no --depth
    (an experiment whose arms set the depth)."""
    parser.add_argument("--hidden", type=positive_int, default=defaults.hidden, metavar="N",
                        help=f"units per hidden layer (default {defaults.hidden})")
    if depth:
        parser.add_argument("--depth", type=positive_int, default=defaults.depth, metavar="D",
                            help=f"hidden layers (default {defaults.depth}: your stage-5 forward/backward; "
                                 f"more: your deep_forward/deep_backward once stage 11 passes, before "
                                 f"that your stage functions chained by the checker)")
    parser.add_argument("--epochs", type=epoch_count, default=defaults.epochs, metavar="E",
                        help=f"passes over the training set (default {defaults.epochs})")
    parser.add_argument("--batch-size", type=positive_int, default=defaults.batch_size,
                        metavar="B", help=f"examples per update (default {defaults.batch_size})")
    if lr:
        parser.add_argument("--lr", type=positive_float, default=None if lr_help else defaults.lr,
                            help=lr_help or f"learning rate at the start (default {defaults.lr:g})")
    parser.add_argument("--lr-schedule", choices=sorted(LR_SCHEDULES), default=defaults.lr_schedule,
                        help=f"linear: decays to 0 by the last update; constant: stays "
                             f"(default {defaults.lr_schedule})")
    parser.add_argument("--seed", type=seed_int, default=defaults.seed,
                        help=f"seed of the initial weights and the batch order (default {defaults.seed})")
    parser.add_argument("--data-dir", type=folder_path, metavar="DIR",
                        help="read the four IDX files from DIR instead of data/mnist/ "
                             "(e.g. Fashion-MNIST)")
    parser.add_argument("--out", type=folder_path, metavar="DIR", default=None,
                        help="create the run folder in DIR (default runs/)")
    parser.add_argument("--solutions", action="store_true",
                        help="use the reference implementation instead of your exercises/")


def add_part2_arguments(parser: argparse.ArgumentParser, defaults) -> None:
    """--l2, --dropout, --optimizer and its settings, --batchnorm: each uses a stage of Part II."""
    group = parser.add_argument_group("Part II options", textwrap.fill(
        "Each uses your functions of a Part II stage, which must pass first: stage 8 for --l2, "
        "9 for --dropout, 10 for --optimizer momentum and adam, 12 for --batchnorm."))
    group.add_argument("--l2", type=nonnegative_float, default=defaults.l2, metavar="LAMBDA",
                       help="L2 regularisation: adds 0.5 * LAMBDA * (sum of every weight squared, "
                            "biases excluded) to the loss and LAMBDA * W to each weight's gradient "
                            f"(default {defaults.l2:g}: none; e.g. 1e-4)")
    group.add_argument("--dropout", type=fraction_below_one, default=defaults.dropout, metavar="P",
                       help="inverted dropout after every hidden ReLU, in training only: each unit "
                            f"is dropped with probability P (default {defaults.dropout:g}: none; e.g. 0.2)")
    group.add_argument("--optimizer", choices=tuple(pieces.OPTIMIZERS), default=defaults.optimizer,
                       help="sgd: sgd_step; momentum: momentum_step; adam: adam_step "
                            f"(default {defaults.optimizer})")
    group.add_argument("--batchnorm", action="store_true",
                       help="batch normalisation after every hidden dense layer, before the ReLU "
                            "(stage 12); evaluation uses the running statistics")
    group.add_argument("--momentum", type=fraction_below_one, default=None, metavar="M",
                       help=f"of --optimizer momentum (default {defaults.momentum:g})")
    group.add_argument("--beta1", type=fraction_below_one, default=None, metavar="B1",
                       help=f"of --optimizer adam: decay of the gradient's average (default {defaults.beta1:g})")
    group.add_argument("--beta2", type=fraction_below_one, default=None, metavar="B2",
                       help=f"of --optimizer adam: decay of the squared gradient's average "
                            f"(default {defaults.beta2:g})")


def add_part3_arguments(parser: argparse.ArgumentParser, defaults: TrainConfig) -> None:
    """--model cnn and its shape; --yes for long runs."""
    group = parser.add_argument_group("Part III options", textwrap.fill(
        "--model cnn uses your conv2d and maxpool functions (stages 13 and 14, which must pass first) with "
        "your relu, dense, softmax and cross-entropy functions: conv 3x3 (16 filters, pad 1), pool 2, ReLU; "
        "conv 3x3 (32 filters, pad 1), pool 2, ReLU; dense to 128, ReLU; dense to 10. Its defaults differ from "
        "the MLP's: "
        + ", ".join(f"--{k.replace('_', '-')} {v}" for k, v in CNN_DEFAULTS.items() if k != "evals_per_epoch")
        + ", --lr " + ", ".join(f"{lr:g} with {name}" for name, lr in CNN_LR.items()) + "."))
    group.add_argument("--model", choices=("mlp", "cnn"), default=defaults.model,
                       help=f"mlp: the network of Part I (and --depth); cnn: the convolutional network "
                            f"(default {defaults.model})")
    group.add_argument("--filters", type=filter_counts, default=None, metavar="F1,F2",
                       help="of --model cnn: filters of each convolution layer, each followed by 2x2 "
                            f"max-pooling and ReLU (default {','.join(map(str, defaults.filters))})")
    group.add_argument("--cnn-hidden", type=non_negative_int, default=None, metavar="N",
                       help="of --model cnn: units of a dense ReLU layer between the last pooling and the "
                            f"output; 0: none (default {CNN_DEFAULTS['cnn_hidden']})")
    group.add_argument("--yes", action="store_true",
                       help="train even when the run is estimated to take over 10 minutes, without asking")


MODEL_OPTIONS = ("epochs", "optimizer", "lr_schedule", "shift")  # options whose default depends on --model


def apply_model_defaults(args: argparse.Namespace) -> None:
    """Fill the options left out (None) with the defaults of the chosen --model."""
    cnn = getattr(args, "model", "mlp") == "cnn"
    reject_other_models_options(args, cnn)
    for name in (*MODEL_OPTIONS, "evals_per_epoch"):
        if getattr(args, name, None) is None and (cnn or name in MODEL_OPTIONS):
            setattr(args, name, CNN_DEFAULTS[name] if cnn else getattr(TrainConfig, name))
    if cnn and getattr(args, "lr", None) is None:
        args.lr = CNN_LR[args.optimizer]
    if cnn and getattr(args, "cnn_hidden", None) is None:
        args.cnn_hidden = CNN_DEFAULTS["cnn_hidden"]


def reject_other_models_options(args: argparse.Namespace, cnn: bool) -> None:
    """An option of the other --model would be ignored without a word: say so instead (exit 2)."""
    if cnn:
        mlp_only = [("--depth", getattr(args, "depth", 1) != 1),
                    ("--hidden", getattr(args, "hidden", TrainConfig.hidden) != TrainConfig.hidden),
                    ("--batchnorm", bool(getattr(args, "batchnorm", False)))]
        given = [name for name, used in mlp_only if used]
        if given:
            raise UsageError(f"{', '.join(given)} shape{'s' if len(given) == 1 else ''} the MLP, not --model cnn. "
                             f"The CNN's layers are set with --filters and --cnn-hidden. See: kata train --help")
    elif getattr(args, "cnn_hidden", None) is not None:
        raise UsageError("--cnn-hidden shapes the CNN's dense layer: use it with --model cnn, or --hidden for "
                         "the MLP. See: kata train --help")


def add_train_arguments(parser: argparse.ArgumentParser) -> None:
    """Every option of kata train, its description and examples."""
    defaults = TrainConfig()
    parser.description = textwrap.fill(
        "Train the digit classifier built from your own stage functions on MNIST: 50,000 training "
        "images, 10,000 for validation (measured during training), 10,000 for the test (reported "
        "once, at the end). Runs once all seven stages pass. Writes runs/<time>-<name>/ with "
        "metrics.csv, config.json, weights.npz, summary.json and the plots.")
    parser.epilog = TRAIN_EXAMPLES
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    add_model_arguments(parser, defaults, lr_help="learning rate at the start (default: "
                        + ", ".join(f"{lr:g} with {name}" for name, lr in pieces.DEFAULT_LR.items()) + ")")
    parser.add_argument("--init", choices=("he", "random"), default=defaults.init,
                        help="he: he_init; random: random_init with scale 0.01 (default he)")
    parser.add_argument("--shift", type=shift_pixels, default=defaults.shift, metavar="PIXELS",
                        help="data augmentation: every time a training image is used, move it by a random "
                             f"0 to PIXELS pixels up or down and left or right (at most {MAX_SHIFT}; "
                             f"default {defaults.shift}: none)")
    parser.add_argument("--name", default=None,
                        help="name of the run folder after the time stamp (default: the implementation)")
    add_part2_arguments(parser, defaults)
    add_part3_arguments(parser, defaults)
    # Their defaults depend on --model (apply_model_defaults fills them in after parsing).
    parser.set_defaults(**{name: None for name in MODEL_OPTIONS})
    for action in parser._actions:
        if action.dest in MODEL_OPTIONS and action.help:
            action.help = action.help.rstrip(")") + "; --model cnn: see below)"


def config_from_args(args: argparse.Namespace, **overrides) -> TrainConfig:
    """The TrainConfig of the parsed options; an option left at None takes TrainConfig's default,
    and --lr left out the default of the optimizer (parts.DEFAULT_LR)."""
    values = {name: getattr(args, name) for name in TrainConfig.__dataclass_fields__
              if getattr(args, name, None) is not None}
    values.setdefault("lr", pieces.DEFAULT_LR[values.get("optimizer", TrainConfig.optimizer)])
    return TrainConfig(**{**values, **overrides})


def check_optimizer_settings(args: argparse.Namespace) -> None:
    """--momentum, --beta1 and --beta2 only with the optimizer they belong to."""
    for flag, optimizer in (("momentum", "momentum"), ("beta1", "adam"), ("beta2", "adam")):
        if getattr(args, flag, None) is not None and args.optimizer != optimizer:
            raise UsageError(f"--{flag} is a setting of --optimizer {optimizer}, and this run uses "
                             f"--optimizer {args.optimizer}. Add --optimizer {optimizer}, or leave "
                             f"--{flag} out. See: kata {args.command} --help")


def default_config(model: str = "mlp") -> TrainConfig:
    """The TrainConfig of `kata train` with no options (`kata train --model cnn` for model "cnn")."""
    parser = argparse.ArgumentParser(prog="kata train")
    add_train_arguments(parser)
    args = parser.parse_args(["--model", model])
    apply_model_defaults(args)
    return config_from_args(args)
