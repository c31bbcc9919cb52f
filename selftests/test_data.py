"""checker/data.py: the IDX reader, the loader's checks and split, and the shipped MNIST.

Every error case uses small IDX files fabricated in a temporary folder. The real MNIST is decoded
once for the module (the `mnist` fixture).
"""

from __future__ import annotations

import gzip
import hashlib
import socket
from pathlib import Path

import numpy as np
import pytest

from checker import data
from checker.data import DataError, load_dataset, read_idx, write_idx
from checker.errors import KataError

SHIPPED = data.DEFAULT_DATA_DIR
FASHION_MNIST = Path("/usr/share/datasets/fashion-mnist")

# From /work/shared/data/mnist/README.md (also in data/README.md).
TRAIN_LABEL_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
TEST_LABEL_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
TRAIN_PIXEL_MEAN, TRAIN_PIXEL_STD = 0.1307, 0.3081


# --------------------------------------------------------------------------------------------------
# Helpers


def idx_bytes(array: np.ndarray, *, magic: bytes = b"\0\0", element_type: int = 0x08) -> bytes:
    """An IDX file's bytes built by hand, independently of write_idx."""
    header = magic + bytes([element_type, array.ndim])
    sizes = b"".join(int(size).to_bytes(4, "big") for size in array.shape)
    return header + sizes + array.astype(np.uint8).tobytes()


def fabricate_dataset(folder: Path, n_train: int = 12, n_test: int = 5, *, seed: int = 0,
                      compress: bool = True) -> dict[str, np.ndarray]:
    """Write the four standard files with random content into folder; returns the arrays by file name."""
    rng = np.random.default_rng(seed)
    arrays = {
        data.TRAIN_IMAGES: rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        data.TRAIN_LABELS: rng.integers(0, 10, n_train, dtype=np.uint8),
        data.TEST_IMAGES: rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        data.TEST_LABELS: rng.integers(0, 10, n_test, dtype=np.uint8),
    }
    folder.mkdir(parents=True, exist_ok=True)
    for name, array in arrays.items():
        write_idx(folder / (f"{name}.gz" if compress else name), array)
    return arrays


def data_error(call, *fragments: str) -> str:
    """Run call, expect a DataError whose message holds every fragment; returns the message."""
    with pytest.raises(DataError) as caught:
        call()
    message = str(caught.value)
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} missing from the message: {message}"
    return message


class Notices(list):
    """A `log` that keeps what it was given."""

    def __call__(self, line: str) -> None:
        self.append(line)


@pytest.fixture
def in_tmp(tmp_path, monkeypatch):
    """Work in tmp_path, so that messages show paths relative to it."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


# --------------------------------------------------------------------------------------------------
# The IDX reader


def test_write_idx_writes_the_idx_layout_byte_for_byte(tmp_path):
    array = np.array([[1, 2, 3], [4, 5, 255]], dtype=np.uint8)
    expected = b"\0\0\x08\x02" + b"\0\0\0\x02" + b"\0\0\0\x03" + bytes([1, 2, 3, 4, 5, 255])
    assert write_idx(tmp_path / "raw", array).read_bytes() == expected
    assert gzip.decompress(write_idx(tmp_path / "x.gz", array).read_bytes()) == expected


@pytest.mark.parametrize("compress", [True, False], ids=["gzip", "raw"])
@pytest.mark.parametrize("shape", [(7,), (3, 28, 28), (2, 3, 4, 5), (0,)])
def test_read_idx_round_trip(tmp_path, shape, compress):
    array = np.random.default_rng(1).integers(0, 256, shape, dtype=np.uint8)
    # A neutral name: gzip is recognised by content, not by the name.
    path = tmp_path / "file"
    path.write_bytes(gzip.compress(idx_bytes(array)) if compress else idx_bytes(array))
    decoded = read_idx(path)
    assert decoded.dtype == np.uint8 and decoded.shape == shape
    np.testing.assert_array_equal(decoded, array)
    assert not decoded.flags.writeable, "read_idx returns a read-only view of the decoded bytes"


def test_read_idx_reads_concatenated_gzip_members(tmp_path):
    content = idx_bytes(np.arange(100, dtype=np.uint8).reshape(4, 25))
    path = tmp_path / "two-members.gz"
    path.write_bytes(gzip.compress(content[:30]) + gzip.compress(content[30:]))
    np.testing.assert_array_equal(read_idx(path), np.arange(100).reshape(4, 25))


def test_read_idx_checks_the_checksum_of_the_decompressed_content(tmp_path):
    content = idx_bytes(np.arange(10, dtype=np.uint8))
    path = tmp_path / "labels.gz"
    path.write_bytes(gzip.compress(content))
    read_idx(path, expected_sha256=hashlib.sha256(content).hexdigest())
    data_error(lambda: read_idx(path, expected_sha256=hashlib.sha256(b"other").hexdigest()),
               str(path), "SHA-256", "Replace it")


def test_data_errors_are_kata_errors_shown_without_a_traceback():
    assert issubclass(DataError, KataError)


IMAGES = np.arange(3 * 28 * 28, dtype=np.uint8).reshape(3, 28, 28)
GOOD = idx_bytes(IMAGES)
BROKEN_FILES = {
    # name: (content, fragments the message must hold)
    "missing-bytes": (GOOD[:-1], ["is truncated", "3x28x28 = 2,352 bytes", "only 2,351"]),
    "short-header": (GOOD[:9], ["is truncated", "announces 3 dimensions"]),
    "two-bytes": (b"\0\0", ["is truncated", "4-byte IDX header"]),
    "trailing-bytes": (GOOD + b"\0\0\0", ["3 bytes more than its header promises"]),
    "wrong-magic": (b"\x08\x03" + GOOD[2:], ["is not an IDX file", "08 03 08 03", "two zero bytes"]),
    "web-page": (b"<!DOCTYPE html><html>Not Found</html>", ["is not an IDX file", "web page"]),
    "float-elements": (idx_bytes(IMAGES, element_type=0x0D), ["type 0x0D (4-byte float)", "only type 0x08"]),
    "no-dimensions": (b"\0\0\x08\0", ["0 dimensions"]),
    "cut-gzip": (gzip.compress(GOOD)[:-40], ["is truncated", "compressed file itself is cut off"]),
    "bad-crc": (gzip.compress(GOOD)[:-8] + b"\0" * 8, ["damaged gzip file"]),
}


@pytest.mark.parametrize("name", BROKEN_FILES)
def test_read_idx_refuses_a_broken_file_naming_it_and_the_fix(in_tmp, name):
    content, fragments = BROKEN_FILES[name]
    (in_tmp / name).write_bytes(content)
    message = data_error(lambda: read_idx(name), *fragments)
    assert message.startswith(f"{name} "), "the message starts with the file's name"
    assert message.endswith("Replace it with a good copy of the file.")


def test_read_idx_missing_file(in_tmp):
    data_error(lambda: read_idx("nowhere.gz"), "nowhere.gz is missing")


# --------------------------------------------------------------------------------------------------
# The loader, on fabricated folders


def test_load_dataset_scales_flattens_and_splits_a_fabricated_folder(in_tmp):
    arrays = fabricate_dataset(in_tmp / "tiny", n_train=12, n_test=5, compress=False)
    notices = Notices()
    dataset = load_dataset(in_tmp / "tiny", validation_size=4, log=notices)

    assert dataset.name == "tiny" and not dataset.verified and dataset.data_dir == in_tmp / "tiny"
    assert notices == ["Note: the files in tiny match no known checksum (not MNIST): "
                       "they were checked for structure only."]
    validation_rows, train_rows = data.validation_split(12, 4)
    images = arrays[data.TRAIN_IMAGES].reshape(12, 784)
    for split, rows in [(dataset.train, train_rows), (dataset.validation, validation_rows)]:
        assert split.images.dtype == np.float32 and split.images.shape == (len(rows), 784)
        assert split.labels.dtype == np.int64 and split.labels.shape == (len(rows),)
        np.testing.assert_array_equal(split.images, images[rows] / np.float32(255))
        np.testing.assert_array_equal(split.labels, arrays[data.TRAIN_LABELS][rows])
    np.testing.assert_array_equal(dataset.test.images, arrays[data.TEST_IMAGES].reshape(5, 784) / np.float32(255))
    np.testing.assert_array_equal(dataset.test.labels, arrays[data.TEST_LABELS])
    assert (len(dataset.train), len(dataset.validation), len(dataset.test)) == (8, 4, 5)


def test_validation_split_is_fixed_disjoint_and_ignores_the_global_random_state():
    np.random.seed(0)
    validation_rows, train_rows = data.validation_split(60_000, 10_000)
    np.random.seed(1)
    again = data.validation_split(60_000, 10_000)
    np.testing.assert_array_equal(again[0], validation_rows)
    np.testing.assert_array_equal(again[1], train_rows)
    assert len(validation_rows) == 10_000 and len(train_rows) == 50_000
    np.testing.assert_array_equal(np.sort(np.concatenate([validation_rows, train_rows])), np.arange(60_000))
    assert np.all(np.diff(validation_rows) > 0) and np.all(np.diff(train_rows) > 0)
    # The same images on every machine and every run: a change here changes every reported result.
    assert hashlib.sha256(validation_rows.astype("<i8").tobytes()).hexdigest()[:16] == VALIDATION_FINGERPRINT
    # A smaller validation set is a subset of a larger one.
    assert set(data.validation_split(60_000, 1_000)[0]) <= set(validation_rows)


VALIDATION_FINGERPRINT = "4257800f0532f150"  # the first rows: 7, 19, 21, 30, 32


def test_load_dataset_rejects_counts_that_disagree(in_tmp):
    fabricate_dataset(in_tmp / "d")
    write_idx(in_tmp / "d" / f"{data.TEST_LABELS}.gz", np.zeros(4, dtype=np.uint8))
    data_error(lambda: load_dataset(in_tmp / "d", validation_size=2, log=Notices()),
               f"d/{data.TEST_IMAGES}.gz holds 5 images", f"d/{data.TEST_LABELS}.gz holds 4 labels",
               "must match one to one")


def test_load_dataset_rejects_images_that_are_not_28x28(in_tmp):
    fabricate_dataset(in_tmp / "d")
    write_idx(in_tmp / "d" / f"{data.TRAIN_IMAGES}.gz", np.zeros((12, 32, 32), dtype=np.uint8))
    data_error(lambda: load_dataset(in_tmp / "d", validation_size=2, log=Notices()),
               f"d/{data.TRAIN_IMAGES}.gz holds an array of 12x32x32", "28x28")


def test_load_dataset_rejects_labels_outside_0_to_9(in_tmp):
    fabricate_dataset(in_tmp / "d")
    write_idx(in_tmp / "d" / f"{data.TRAIN_LABELS}.gz", np.array([0] * 7 + [10] + [0] * 4, dtype=np.uint8))
    data_error(lambda: load_dataset(in_tmp / "d", validation_size=2, log=Notices()),
               f"d/{data.TRAIN_LABELS}.gz has a label 10 (at index 7)", "0-9")


def test_load_dataset_names_a_broken_file_and_the_fix_for_the_folder(in_tmp):
    fabricate_dataset(in_tmp / "d")
    path = in_tmp / "d" / f"{data.TRAIN_LABELS}.gz"
    path.write_bytes(path.read_bytes()[:-20])
    data_error(lambda: load_dataset(in_tmp / "d", log=Notices()),
               f"d/{data.TRAIN_LABELS}.gz is truncated", "point --data-dir at another folder")


def test_load_dataset_lists_missing_files_of_another_folder(in_tmp):
    fabricate_dataset(in_tmp / "d")
    (in_tmp / "d" / f"{data.TEST_IMAGES}.gz").unlink()
    data_error(lambda: load_dataset(in_tmp / "d", log=Notices()),
               f"d lacks {data.TEST_IMAGES} (each may end in .gz)", "--data-dir")
    data_error(lambda: load_dataset(in_tmp / "nothing-here", log=Notices()), "does not exist")
    data_error(lambda: load_dataset(in_tmp / "d" / f"{data.TRAIN_LABELS}.gz", log=Notices()), "is a file")


def test_load_dataset_refuses_an_impossible_validation_size(in_tmp):
    fabricate_dataset(in_tmp / "d")
    for size in (-1, 12):
        with pytest.raises(ValueError, match="validation_size must be between 0 and 11"):
            load_dataset(in_tmp / "d", validation_size=size, log=Notices())
    assert len(load_dataset(in_tmp / "d", validation_size=0, log=Notices()).validation) == 0


def test_default_folder_must_hold_mnist_exactly(in_tmp, monkeypatch):
    """A structurally valid file under a known name whose content differs is a checksum mismatch."""
    monkeypatch.setattr(data, "DEFAULT_DATA_DIR", in_tmp / "mnist")
    fabricate_dataset(in_tmp / "mnist")
    message = data_error(lambda: load_dataset(validation_size=2, log=Notices()),
                         f"mnist/{data.TRAIN_IMAGES}.gz is not MNIST's {data.TRAIN_IMAGES}",
                         "SHA-256 of its content is", f"expected {data.MNIST_FILES[data.TRAIN_IMAGES].sha256[:16]}",
                         "git checkout data/mnist")
    assert "Note:" not in message


def test_a_changed_file_among_mnist_files_elsewhere_is_a_checksum_mismatch(in_tmp):
    folder = in_tmp / "my-mnist"
    folder.mkdir()
    for name in (data.TRAIN_IMAGES, data.TRAIN_LABELS, data.TEST_IMAGES):
        (folder / f"{name}.gz").symlink_to(SHIPPED / f"{name}.gz")
    labels = read_idx(SHIPPED / f"{data.TEST_LABELS}.gz").copy()
    labels[0] = (labels[0] + 1) % 10  # one label changed: the structure is fine, the checksum is not
    write_idx(folder / data.TEST_LABELS, labels)
    data_error(lambda: load_dataset(folder, log=Notices()),
               f"my-mnist/{data.TEST_LABELS} is not MNIST's {data.TEST_LABELS}",
               "the other files here are MNIST's")


# --------------------------------------------------------------------------------------------------
# Missing files: the kata ships MNIST, so the loader says how to restore it and never downloads


def test_missing_default_files_say_how_to_restore_them_without_touching_the_network(in_tmp, monkeypatch):
    folder = in_tmp / "data" / "mnist"
    folder.mkdir(parents=True)
    for name in (data.TRAIN_IMAGES, data.TEST_IMAGES):
        (folder / f"{name}.gz").symlink_to(SHIPPED / f"{name}.gz")
    monkeypatch.setattr(data, "DEFAULT_DATA_DIR", folder)

    def no_network(*args, **kwargs):
        raise AssertionError("the loader opened a network connection")

    monkeypatch.setattr(socket, "create_connection", no_network)
    monkeypatch.setattr(socket.socket, "connect", no_network)
    message = data_error(lambda: load_dataset(log=Notices()),
                         f"MNIST is missing from data/mnist ({data.TRAIN_LABELS}, {data.TEST_LABELS})",
                         "`git checkout data/mnist` in your clone restores them", f"in {folder}", "--data-dir")
    assert "download" not in message


# --------------------------------------------------------------------------------------------------
# The shipped MNIST


@pytest.fixture(scope="module")
def mnist():
    notices = Notices()
    dataset = load_dataset(log=notices)
    return dataset, notices


@pytest.fixture(scope="module")
def raw_mnist():
    """The four shipped files as read_idx returns them: uint8 arrays by file name."""
    return {name: read_idx(SHIPPED / f"{name}.gz") for name in data.FILE_NAMES}


def test_shipped_mnist_is_verified_without_notices(mnist):
    dataset, notices = mnist
    assert dataset.name == "MNIST" and dataset.verified and notices == []
    assert Path(dataset.data_dir) == SHIPPED


def test_shipped_mnist_shapes_dtypes_and_ranges(mnist, raw_mnist):
    dataset, _ = mnist
    for split, size in [(dataset.train, 50_000), (dataset.validation, 10_000), (dataset.test, 10_000)]:
        assert split.images.shape == (size, 784) and split.images.dtype == np.float32
        assert split.labels.shape == (size,) and split.labels.dtype == np.int64
        assert split.images.min() == 0.0 and split.images.max() == 1.0
        assert split.labels.min() == 0 and split.labels.max() == 9
    assert raw_mnist[data.TRAIN_IMAGES].shape == (60_000, 28, 28) and raw_mnist[data.TRAIN_LABELS].shape == (60_000,)
    assert raw_mnist[data.TEST_IMAGES].shape == (10_000, 28, 28) and raw_mnist[data.TEST_LABELS].shape == (10_000,)
    assert all(array.dtype == np.uint8 for array in raw_mnist.values())


def test_shipped_mnist_statistics_match_the_published_ones(mnist, raw_mnist):
    dataset, _ = mnist
    training = np.concatenate([dataset.train.labels, dataset.validation.labels])
    assert np.bincount(training, minlength=10).tolist() == TRAIN_LABEL_COUNTS
    assert np.bincount(dataset.test.labels, minlength=10).tolist() == TEST_LABEL_COUNTS
    # Mean and std of pixel / 255 from the histogram of the raw pixels (exact and fast); the next
    # test checks that the loader's images are exactly those pixels / 255.
    counts = sum(np.bincount(block.ravel(), minlength=256) for block in np.array_split(raw_mnist[data.TRAIN_IMAGES], 12))
    values = np.arange(256) / 255
    mean = counts @ values / counts.sum()
    std = np.sqrt(counts @ (values - mean) ** 2 / counts.sum())
    assert abs(mean - TRAIN_PIXEL_MEAN) < 5e-5 and abs(std - TRAIN_PIXEL_STD) < 5e-5


def assert_scaled(images: np.ndarray, raw: np.ndarray, rows: np.ndarray) -> None:
    """images (len(rows), 784) float32 == raw[rows] / 255 exactly, compared in blocks to stay fast."""
    assert images.shape == (len(rows), raw.shape[1])
    for start in range(0, len(rows), 5_000):
        block = slice(start, start + 5_000)
        np.testing.assert_array_equal(images[block], raw[rows[block]] / np.float32(255))


def test_shipped_mnist_split_takes_the_fixed_rows_and_leaves_the_test_set_alone(mnist, raw_mnist):
    dataset, _ = mnist
    raw_images = raw_mnist[data.TRAIN_IMAGES].reshape(60_000, 784)
    raw_labels = raw_mnist[data.TRAIN_LABELS]
    validation_rows, train_rows = data.validation_split(60_000, 10_000)
    np.testing.assert_array_equal(dataset.validation.labels, raw_labels[validation_rows])
    np.testing.assert_array_equal(dataset.train.labels, raw_labels[train_rows])
    assert_scaled(dataset.validation.images, raw_images, validation_rows)
    assert_scaled(dataset.train.images, raw_images, train_rows)
    assert_scaled(dataset.test.images, raw_mnist[data.TEST_IMAGES].reshape(10_000, 784), np.arange(10_000))
    np.testing.assert_array_equal(dataset.test.labels, raw_mnist[data.TEST_LABELS])


@pytest.mark.skipif(not FASHION_MNIST.is_dir(), reason="apt-get install dataset-fashion-mnist")
def test_fashion_mnist_from_another_folder_is_checked_for_structure_with_a_notice():
    notices = Notices()
    dataset = load_dataset(FASHION_MNIST, log=notices)
    assert dataset.name == "fashion-mnist" and not dataset.verified
    assert len(notices) == 1 and "checked for structure only" in notices[0]
    assert (len(dataset.train), len(dataset.validation), len(dataset.test)) == (50_000, 10_000, 10_000)
    assert np.bincount(dataset.test.labels).tolist() == [1000] * 10
