"""--shift: training images moved by a random offset every time they are used (data augmentation),
a piece of train_forward (checker/parts.py), so the one training loop stays as it is."""

import argparse

import numpy as np
import pytest

from checker import cnn, parts, training
from checker import train_options
from checker.train_options import shift_pixels
from training_helpers import parse


def offset_of(moved, image, max_shift):
    """The (rows, columns) offset that turns image (side, side) into moved, or None."""
    side = image.shape[0]
    padded = np.pad(image, max_shift)
    for dy in range(-max_shift, max_shift + 1):
        for dx in range(-max_shift, max_shift + 1):
            window = padded[max_shift + dy:max_shift + dy + side, max_shift + dx:max_shift + dx + side]
            if np.array_equal(window, moved):
                return dy, dx
    return None


def test_each_image_is_moved_by_its_own_offset_within_the_range_with_zeros_moved_in():
    rng = np.random.default_rng(0)
    images = rng.random((300, 49)).astype(np.float32) + 0.5  # no zeros of their own: moved-in zeros show
    before = images.copy()
    moved = parts.shifted_images(images, 2, rng)
    assert moved.shape == images.shape and moved.dtype == np.float32
    np.testing.assert_array_equal(images, before)  # the data set is not changed in place
    offsets = [offset_of(m.reshape(7, 7), x.reshape(7, 7), 2) for m, x in zip(moved, images)]
    assert None not in offsets
    assert set(offsets) == {(dy, dx) for dy in range(-2, 3) for dx in range(-2, 3)}  # every offset, both signs
    assert 0 < sum(o == (0, 0) for o in offsets) < 30  # about 1 in 25 stays where it was


def test_no_shift_keeps_the_images_and_a_new_call_draws_new_offsets():
    rng = np.random.default_rng(1)
    images = rng.random((50, 784)).astype(np.float32)
    np.testing.assert_array_equal(parts.shifted_images(images, 0, rng), images)
    first, second = parts.shifted_images(images, 1, rng), parts.shifted_images(images, 1, rng)
    assert not np.array_equal(first, second)


def test_training_sees_moved_images_and_evaluation_the_originals():
    config = training.TrainConfig(shift=1, hidden=16)
    loaded = training.load_parts("solutions", config)
    params = training.initial_params(loaded, config, 784)
    images = np.random.default_rng(2).random((20, 784)).astype(np.float32)
    probs, _ = loaded.train_forward(params, images, np.random.default_rng(3))
    expected, _ = loaded.forward(params, parts.shifted_images(images, 1, np.random.default_rng(3)))
    np.testing.assert_allclose(probs, expected, rtol=1e-6)
    assert not np.allclose(probs, loaded.forward(params, images)[0])
    assert training.load_parts("solutions", training.TrainConfig()).train_forward is None  # no shift: none


def parse_train(*argv):
    args = parse("train", *argv)
    train_options.apply_model_defaults(args)
    return train_options.config_from_args(args)


def test_the_cnn_moves_its_images_by_default_and_the_mlp_does_not():
    assert parse_train().shift == 0
    assert parse_train("--model", "cnn").shift == cnn.CNN_DEFAULTS["shift"] > 0
    assert parse_train("--model", "cnn", "--shift", "0").shift == 0
    assert parse_train("--shift", "1").shift == 1
    assert "images moved by up to 2 pixels" in parts.describe(training.TrainConfig(shift=2))


@pytest.mark.parametrize("text, message", [("9", "at most 8 pixels"), ("-1", "at least 0"), ("1.5", "whole number")])
def test_a_shift_out_of_range_is_a_usage_error_naming_it(text, message):
    with pytest.raises(argparse.ArgumentTypeError, match=message):
        shift_pixels(text)


def test_the_run_page_says_how_far_the_training_images_were_moved():
    from checker.page import summary_rows

    def row(shift):
        rows = dict(summary_rows({"shift": shift, "model": "cnn"}, {}, "CNN"))
        return rows.get("Training images")

    assert row(1) == "each moved by up to 1 pixel each way, afresh every epoch"
    assert row(2) == "each moved by up to 2 pixels each way, afresh every epoch"
    assert row(0) is None
