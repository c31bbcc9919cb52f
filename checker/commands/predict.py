"""`kata predict`: read one digit with a trained network from a run folder.

    kata predict my_digit.png      a picture of your own handwriting
    kata predict --index 7         image 7 of the MNIST test set

The network is the one saved by `kata train` (the newest usable run in runs/ unless --run DIR says
otherwise: checker.runs), run by checker.models; pictures are brought to MNIST's form by
checker.images, and every step taken is printed as a note.
"""

from __future__ import annotations

import argparse
import textwrap
from pathlib import Path

from .. import models, options, runs
from ..errors import KataError, UsageError
from ..images import ascii_image, read_image, to_mnist
from ..project import display_path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = textwrap.fill(
        "Read one digit with a network you trained: a picture of your own handwriting, or an "
        "image of the MNIST test set. Prints the digit and the probability of each of the ten.")
    parser.epilog = (
        "examples:\n"
        "  kata predict my_digit.png          a picture (any size; dark on light is fine)\n"
        "  kata predict --index 0             test image 0\n"
        "  kata predict 7.png --run runs/20250101-120000-exercises\n"
        "Tip: draw a thick digit that fills most of a square picture.")
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument("image", nargs="?", type=Path, help="a picture of one digit (PNG, JPEG, ...)")
    parser.add_argument("--index", type=int, metavar="N", help="use image N of the test set instead")
    parser.add_argument("--run", type=options.folder_path, metavar="DIR",
                        help="the run folder whose network to use (default: the newest in runs/; a run made "
                             "with kata train --out DIR is DIR/<time>-<name>, and kata train prints its name)")
    parser.add_argument("--data-dir", type=options.folder_path, metavar="DIR",
                        help="for --index: the folder of the IDX files (default: the run's)")


def run(args: argparse.Namespace) -> int:
    if (args.image is None) == (args.index is None):
        raise UsageError("give either a picture or --index N, e.g. kata predict my_digit.png, "
                         "or kata predict --index 0")
    skipped: list[str] = []
    run = runs.Run.load(args.run) if args.run else runs.newest_usable(runs.runs_folder(), skipped)
    params = runs.load_network(run.dir)
    network = models.network_of(params)
    true_label = None
    if args.index is not None:
        from ..data import load_dataset

        trained_on = run.config.get("data_dir")
        # The run's own data folder, unless it is gone (a moved clone): then the shipped MNIST.
        data_dir = args.data_dir or (trained_on if isinstance(trained_on, str) and trained_on and Path(trained_on).is_dir()
                                     else None)
        test = load_dataset(data_dir).test
        if not 0 <= args.index < len(test.labels):
            raise UsageError(f"there is no test image {args.index}: the test set has "
                             f"{len(test.labels):,}, numbered 0 to {len(test.labels) - 1}. "
                             f"Choose one in that range.")
        image, notes = test.images[args.index], []
        true_label = int(test.labels[args.index])
        source = f"test image {args.index} (true label {true_label})"
    else:
        image, notes = to_mnist(read_image(args.image))
        source = str(args.image)
    if image.size != network.inputs:
        raise KataError(f"the network of {display_path(run.dir, folder=True)} takes {network.inputs} "
                        f"pixels, the image has {image.size}. Use a run trained on 28x28 images.")

    for note in skipped:
        print(f"Note:    {note}")
    probs = models.predict(params, image[None])[0]
    digit = int(probs.argmax())
    accuracy = run.test_accuracy
    described = f"{display_path(run.dir, folder=True)} ({network.describe()}" + (
        f", test accuracy {accuracy:.2%})" if accuracy is not None else ")")
    print(f"Network: {described}")
    print(f"Image:   {source}")
    for note in notes:
        print(f"Note:    {note}")
    print("\n".join("         " + line for line in ascii_image(image)))
    verdict = "" if true_label is None else ("  (right)" if digit == true_label else f"  (wrong: it is a {true_label})")
    print(f"\nPrediction: {digit}, {probs[digit]:.1%} sure{verdict}")
    for candidate, p in enumerate(probs):
        bar = "#" * int(round(p * 40))
        print(f"  {candidate}  {p:6.1%}  {bar}")
    return 0
