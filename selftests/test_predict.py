"""kata predict: a saved run read back, test images by index, pictures of any size, and bad input."""

from __future__ import annotations

import os

import numpy as np
import pytest
from PIL import Image

from checker import images, models, runs, training
from checker.errors import KataError, UsageError
from training_helpers import run_command, tiny_dataset, use_tiny_dataset


@pytest.fixture(scope="module")
def dataset():
    return tiny_dataset()


@pytest.fixture(scope="module")
def saved_run(dataset, tmp_path_factory):
    """A run folder as kata train leaves it (without the figures, which predict does not read)."""
    config = training.TrainConfig(hidden=32, epochs=3, batch_size=32)
    result = training.train(training.load_parts("solutions", config), dataset, config)
    run_dir = tmp_path_factory.mktemp("runs") / "20250101-120000-solutions"
    run_dir.mkdir()
    np.savez(run_dir / runs.WEIGHTS_FILE, **result.params)
    runs.write_json(run_dir / runs.CONFIG_FILE, {"hidden": 32, "data_dir": "/nonexistent/tiny"})
    runs.write_json(run_dir / runs.SUMMARY_FILE, {"test_accuracy": 0.97, "stopped": None})
    return run_dir


def network_says(run_dir, image):
    params = runs.load_network(run_dir)
    return int(models.predict(params, image[None])[0].argmax())


def save_png(path, pixels):
    Image.fromarray((np.clip(pixels, 0, 1) * 255).astype(np.uint8), mode="L").save(path)
    return path


def test_predict_a_test_image_by_index(monkeypatch, saved_run, dataset, capsys):
    use_tiny_dataset(monkeypatch, dataset)
    assert run_command("predict", "--index", "5", "--run", str(saved_run)) == 0
    out = capsys.readouterr().out
    expected = network_says(saved_run, dataset.test.images[5])
    assert f"Prediction: {expected}," in out
    assert f"test image 5 (true label {dataset.test.labels[5]})" in out
    assert "(MLP 784-32-10, test accuracy 97.00%)" in out, "what network read the digit"
    assert len([line for line in out.splitlines() if line.strip().startswith(tuple("0123456789")) and "%" in line]) == 10


def test_predict_a_28x28_png_as_it_is(saved_run, dataset, tmp_path, capsys):
    png = save_png(tmp_path / "digit.png", dataset.test.images[7].reshape(28, 28))
    run_command("predict", str(png), "--run", str(saved_run))
    out = capsys.readouterr().out
    assert f"Prediction: {network_says(saved_run, dataset.test.images[7])}," in out
    assert "Note:" not in out


def test_a_large_dark_on_light_picture_is_inverted_scaled_and_centred(saved_run, tmp_path, capsys):
    picture = np.ones((200, 160))
    picture[40:150, 70:90] = 0.0  # a dark vertical bar, off-centre: a "1"
    run_command("predict", str(save_png(tmp_path / "one.png", picture)), "--run", str(saved_run))
    out = capsys.readouterr().out
    assert "inverted" in out and "160x200" in out and "Prediction:" in out
    image, _ = images.to_mnist(picture)
    square = image.reshape(28, 28)
    assert square.max() == pytest.approx(1.0)
    rows, columns = np.nonzero(square > 0.1)
    assert rows.max() - rows.min() + 1 == 20  # fitted into 20x20, as MNIST's digits are
    assert abs(np.average(np.arange(28), weights=square.sum(axis=1)) - 13.5) < 1.5


def test_a_transparent_background_counts_as_paper(tmp_path):
    rgba = np.zeros((56, 56, 4), dtype=np.uint8)
    rgba[10:46, 25:31] = [0, 0, 0, 255]  # an opaque black stroke on a fully transparent picture
    Image.fromarray(rgba, mode="RGBA").save(tmp_path / "stroke.png")
    image, notes = images.to_mnist(images.read_image(tmp_path / "stroke.png"))
    assert any("inverted" in note for note in notes)
    assert image.reshape(28, 28)[14, 14] > 0.5


def test_the_newest_run_is_used_by_default(monkeypatch, saved_run, tmp_path):
    folder = saved_run.parent
    older = folder / "20240101-000000-exercises"
    older.mkdir()
    (older / runs.WEIGHTS_FILE).write_bytes((saved_run / runs.WEIGHTS_FILE).read_bytes())
    diverged = folder / "20990101-000000-exercises"
    diverged.mkdir()
    (diverged / runs.WEIGHTS_FILE).write_bytes(b"")
    runs.write_json(diverged / runs.SUMMARY_FILE, {"stopped": "diverged"})
    os.utime(older / runs.WEIGHTS_FILE, (1, 1))
    assert runs.newest_usable(folder).dir == saved_run


@pytest.mark.parametrize("make, message", [
    (lambda d: d / "missing.png", "does not exist"),
    (lambda d: d, "is a folder"),
    (lambda d: (d / "notes.png").write_text("not a picture") and d / "notes.png", "not a picture"),
    (lambda d: save_png(d / "blank.png", np.ones((40, 40))), "looks empty"),
])
def test_bad_pictures_are_clear_errors(saved_run, tmp_path, make, message):
    with pytest.raises(KataError, match=message):
        run_command("predict", str(make(tmp_path)), "--run", str(saved_run))


def test_bad_runs_and_indexes_are_clear_errors(monkeypatch, saved_run, dataset, tmp_path):
    with pytest.raises(KataError, match=r"no trained network .*kata train.*--out DIR is in DIR: --run DIR/<time>-<name>"):
        runs.newest_usable(tmp_path / "runs")
    with pytest.raises(KataError, match="not the folder of a training run"):
        run_command("predict", "--index", "0", "--run", str(tmp_path))
    use_tiny_dataset(monkeypatch, dataset)
    with pytest.raises(KataError, match="no test image 200: the test set has 200"):
        run_command("predict", "--index", "200", "--run", str(saved_run))
    broken = tmp_path / "broken"
    broken.mkdir()
    np.savez(broken / runs.WEIGHTS_FILE, W1=np.full((784, 4), np.nan, dtype=np.float32),
             b1=np.zeros(4), W2=np.zeros((4, 10)), b2=np.zeros(10))
    with pytest.raises(KataError, match="not finite"):
        run_command("predict", "--index", "0", "--run", str(broken))


@pytest.mark.parametrize("argv", [(), ("a.png", "--index", "3")])
def test_a_picture_or_an_index_not_both(argv):
    with pytest.raises(UsageError, match="either a picture or --index"):
        run_command("predict", *argv)


def seven_on_paper() -> Image.Image:
    """A dark 7 on light paper, wider than high, as a photo shows it."""
    from PIL import ImageDraw

    upright = Image.new("L", (180, 135), 235)
    ImageDraw.Draw(upright).line([(75, 30), (120, 31), (100, 75), (90, 110)], fill=30, width=7)
    return upright


@pytest.mark.parametrize("suffix", [".png", ".jpg"])
def test_a_photo_is_turned_upright_as_its_exif_orientation_says(tmp_path, suffix):
    upright = seven_on_paper()
    exif = Image.Exif()
    exif[0x0112] = 6  # the camera held upright, the sensor's picture turned: "rotate 90 degrees clockwise"
    stored = tmp_path / f"photo{suffix}"
    upright.transpose(Image.Transpose.ROTATE_90).save(stored, exif=exif.tobytes(), quality=95)
    plain = tmp_path / f"plain{suffix}"
    upright.save(plain, quality=95)
    got, expected = images.read_image(stored), images.read_image(plain)
    assert got.shape == expected.shape == (135, 180)
    assert np.abs(got - expected).mean() < 0.02  # the same picture (a JPEG's blocks move with the turn)


def test_a_picture_with_a_corrupt_exif_block_is_read_as_it_is_without_a_warning(tmp_path):
    import warnings

    path = tmp_path / "corrupt.jpg"
    seven_on_paper().save(path, exif=b"Exif\x00\x00II*\x00\xff\xff\xff\x7f")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        gray = images.read_image(path)
    assert gray.shape == (135, 180) and caught == []


def test_a_run_made_with_out_is_named_by_kata_train_as_kata_predict_needs_it(monkeypatch, dataset, tmp_path, capsys):
    use_tiny_dataset(monkeypatch, dataset)
    assert run_command("train", "--solutions", "--hidden", "16", "--epochs", "1", "--out", str(tmp_path)) == 0
    last = capsys.readouterr().out.rstrip().splitlines()[-1]
    (run_dir,) = tmp_path.iterdir()
    assert last == (f"Try it on a digit: kata predict --index 0 --run {run_dir}  (kata predict looks in runs/ unless "
                    "--run names a run folder)")
    command = last.split(": ", 1)[1].split("  (")[0].split()
    assert command[:2] == ["kata", "predict"] and run_command(*command[1:]) == 0
    assert f"Network: {run_dir}/" in capsys.readouterr().out
