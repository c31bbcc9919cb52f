"""MNIST-style data: a from-scratch IDX reader that checks every byte, and the loader that splits it.

An IDX file (the format of MNIST, Fashion-MNIST and their kin) is a big-endian header followed by
the raw elements in C order:

    bytes 0-1   two zero bytes
    byte  2     element type: 0x08 = unsigned byte (the only type MNIST uses)
    byte  3     number of dimensions D
    then        D sizes, each a 4-byte big-endian unsigned integer
    then        prod(sizes) elements

`read_idx` decodes one file (gzip or raw, told apart by content, not by name) and refuses anything
that does not add up. `load_dataset` reads the four standard files of a folder, checks them against
each other and against the known SHA-256 checksums, scales the pixels to [0, 1] and splits a fixed
validation set off the training images. Every failure is a DataError that names the file, what is
wrong and what to do; no function here ever returns data it could not check.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import math
import os
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from .errors import KataError
from .project import ROOT, display_path

DEFAULT_DATA_DIR = ROOT / "data" / "mnist"

# The four standard file names (MNIST's, which Fashion-MNIST and others reuse); each may end in .gz.
TRAIN_IMAGES = "train-images-idx3-ubyte"
TRAIN_LABELS = "train-labels-idx1-ubyte"
TEST_IMAGES = "t10k-images-idx3-ubyte"
TEST_LABELS = "t10k-labels-idx1-ubyte"
FILE_NAMES = (TRAIN_IMAGES, TRAIN_LABELS, TEST_IMAGES, TEST_LABELS)


@dataclass(frozen=True)
class KnownFile:
    sha256: str  # of the decompressed content: the .gz bytes differ between copies, the content does not
    size: int  # decompressed bytes


# The one table of known checksums. A folder is taken to be MNIST when it is the default folder or
# when any of its files matches this table; then every file must match.
MNIST_FILES = {
    TRAIN_IMAGES: KnownFile("ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db", 47_040_016),
    TRAIN_LABELS: KnownFile("65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5", 60_008),
    TEST_IMAGES: KnownFile("0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7", 7_840_016),
    TEST_LABELS: KnownFile("ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2", 10_008),
}

# Fixed once and independent of the training seed, so that every run, whatever its seed, chooses its
# model on the same validation images.
VALIDATION_SEED = 1998
IMAGE_SHAPE = (28, 28)
PIXELS = IMAGE_SHAPE[0] * IMAGE_SHAPE[1]
NUM_CLASSES = 10

UNSIGNED_BYTE = 0x08
ELEMENT_TYPES = {0x08: "unsigned byte", 0x09: "signed byte", 0x0B: "2-byte integer",
                 0x0C: "4-byte integer", 0x0D: "4-byte float", 0x0E: "8-byte float"}
GZIP_MAGIC = b"\x1f\x8b"


class DataError(KataError):
    """A data file is missing, damaged or not what it should be; the message says which and what to do."""


@dataclass(frozen=True)
class Split:
    """One part of a dataset: N images, one row of 784 pixels each, and their labels."""

    images: np.ndarray  # (N, 784) float32 in [0, 1], rows of the 28x28 image in C order
    labels: np.ndarray  # (N,) int64 in 0..9

    def __len__(self) -> int:
        return len(self.labels)


@dataclass(frozen=True)
class Dataset:
    """The three splits: train for fitting, validation for every choice, test only for the final report."""

    train: Split
    validation: Split
    test: Split
    name: str  # "MNIST" when the checksums say so, otherwise the folder's name (e.g. "fashion-mnist")
    data_dir: Path
    verified: bool = False  # True when every file matched a known SHA-256, not only the structure checks


# --------------------------------------------------------------------------------------------------
# Reading one IDX file


def read_idx(path: str | os.PathLike, *, expected_sha256: str | None = None) -> np.ndarray:
    """The array stored in one IDX file, gzip-compressed or raw: uint8, of the shape its header gives.

    MNIST's image files give (N, 28, 28), its label files (N,). The array is read-only: it is a view
    of the decoded bytes. Raises DataError if the file is missing, is not IDX, holds another element
    type than unsigned bytes, has fewer or more bytes than its header promises, or (when
    expected_sha256 is given) if the SHA-256 of its decompressed content differs.
    """
    path = Path(path)
    fix = "Replace it with a good copy of the file."
    array, sha256 = _decode_idx(path, fix)
    if expected_sha256 is not None and sha256 != expected_sha256.lower():
        raise DataError(f"{_shown(path)} is not the expected file: the SHA-256 of its content is "
                        f"{sha256[:16]}..., expected {expected_sha256[:16]}... {fix}")
    return array


def write_idx(path: str | os.PathLike, array: np.ndarray, *, compress: bool | None = None) -> Path:
    """Write a uint8 array of 1 to 255 dimensions as an IDX file; gzip it when compress is True
    (default: when the name ends in .gz). For making small test data; returns the path."""
    path = Path(path)
    array = np.ascontiguousarray(array)
    if array.dtype != np.uint8 or not 1 <= array.ndim <= 255:
        raise ValueError(f"write_idx writes uint8 arrays of 1 to 255 dimensions, got {array.dtype} {array.shape}")
    content = (bytes([0, 0, UNSIGNED_BYTE, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
               + array.tobytes())
    if path.suffix == ".gz" if compress is None else compress:
        # Level 9, no file name and time stamp 0: how the shipped files were made (see data/README.md).
        buffer = io.BytesIO()
        with gzip.GzipFile(filename="", mode="wb", fileobj=buffer, compresslevel=9, mtime=0) as gz:
            gz.write(content)
        content = buffer.getvalue()
    path.write_bytes(content)
    return path


class _Gunzip:
    """Reads decompressed bytes from gzip data held in memory, n at a time (the standard library's
    gzip does the work: CRC and length checks, several members, trailing zero padding), so that a
    header claiming more than the file holds costs nothing and a file with trailing bytes is caught."""

    def __init__(self, compressed: bytes):
        self._compressed = compressed
        self._file = gzip.GzipFile(fileobj=io.BytesIO(compressed), mode="rb")
        self._position = 0
        self.cut_short = False  # the compressed data ended before the gzip stream did

    def read(self, n: int) -> bytes:
        try:
            data = self._file.read(n)
        except EOFError:  # cut off: read again in small steps, to know how much there is
            self.cut_short = True
            return self._read_until_cut(n)
        self._position += len(data)
        return data

    def _read_until_cut(self, n: int) -> bytes:
        file = gzip.GzipFile(fileobj=io.BytesIO(self._compressed), mode="rb")
        file.read(self._position)
        parts: list[bytes] = []
        while n > 0:
            try:
                chunk = file.read(min(n, 4096))
            except EOFError:
                break
            if not chunk:
                break
            parts.append(chunk)
            n -= len(chunk)
        return b"".join(parts)


class _Raw:
    """The same interface over an uncompressed file's bytes (slices are views, not copies)."""

    cut_short = False

    def __init__(self, content: bytes):
        self._view = memoryview(content)
        self._position = 0

    def read(self, n: int) -> memoryview:
        start, self._position = self._position, min(self._position + n, len(self._view))
        return self._view[start:self._position]


def _decode_idx(path: Path, fix: str) -> tuple[np.ndarray, str]:
    """(the file's array, the SHA-256 hex digest of its decompressed content); DataError ending in fix."""
    try:
        return _decode_idx_bytes(path.read_bytes())
    except FileNotFoundError:
        raise DataError(f"{_shown(path)} is missing. {fix}") from None
    except OSError as error:
        raise DataError(f"{_shown(path)} cannot be read: {error.strerror or error}. {fix}") from None
    except _NotIdx as problem:
        raise DataError(f"{_shown(path)} {problem}. {fix}") from None


class _NotIdx(Exception):
    """What is wrong with some bytes, phrased to follow a file name: "is truncated: ..."."""


def _decode_idx_bytes(content: bytes) -> tuple[np.ndarray, str]:
    stream = _Gunzip(content) if content[:2] == GZIP_MAGIC else _Raw(content)
    try:
        header = stream.read(4)
        if len(header) >= 2 and bytes(header[:2]) != b"\0\0":
            raise _NotIdx(f"is not an IDX file: it starts with the bytes {bytes(header).hex(' ')}, "
                          f"not with two zero bytes{_looks_like(content)}")
        if len(header) < 4:
            raise _truncated(stream, f"it holds {len(header)} bytes, less than the 4-byte IDX header")
        element_type, ndim = header[2], header[3]
        if element_type != UNSIGNED_BYTE:
            kind = ELEMENT_TYPES.get(element_type, "not an IDX type")
            raise _NotIdx(f"holds elements of type 0x{element_type:02X} ({kind}); this reader reads only "
                          f"type 0x08 (unsigned byte), as MNIST uses")
        if ndim == 0:
            raise _NotIdx("has a header with 0 dimensions; an IDX file has at least one")
        size_bytes = stream.read(4 * ndim)
        if len(size_bytes) < 4 * ndim:
            raise _truncated(stream, f"its header ends after {4 + len(size_bytes)} bytes, but announces "
                             f"{ndim} dimensions ({4 + 4 * ndim} bytes)")
        shape = struct.unpack(f">{ndim}I", size_bytes)
        expected = math.prod(shape)
        body = stream.read(expected)
        if len(body) < expected:
            raise _truncated(stream, f"its header promises {_amount(shape)} of data, "
                             f"but only {len(body):,} follow")
        extra = len(stream.read(1 << 20))
        if extra:
            more = "at least " if extra == 1 << 20 else ""
            raise _NotIdx(f"has {more}{extra:,} bytes more than its header promises ({_amount(shape)} of data): "
                          f"it is damaged or not what its name says")
        if stream.cut_short:
            raise _truncated(stream, "its data is complete but the gzip stream is cut off")
    except (zlib.error, gzip.BadGzipFile) as error:
        raise _NotIdx(f"is a damaged gzip file ({error})") from None

    digest = hashlib.sha256(header)
    digest.update(size_bytes)
    digest.update(body)
    return np.frombuffer(body, dtype=np.uint8).reshape(shape), digest.hexdigest()


def _truncated(stream: _Gunzip | _Raw, detail: str) -> _NotIdx:
    cause = " (the compressed file itself is cut off: an interrupted copy or download?)" if stream.cut_short else ""
    return _NotIdx(f"is truncated: {detail}{cause}")


def _looks_like(content: bytes) -> str:
    start = content[:64].lstrip().lower()
    if start.startswith((b"<!doctype", b"<html", b"<?xml", b"<")):
        return " (it looks like a web page: a failed download?)"
    if start.startswith(b"version https://git-lfs"):
        return " (it is a Git LFS pointer, not the data)"
    if content[:2] == b"PK":
        return " (it is a zip archive: unpack it first)"
    return ""


def _dims(shape: Sequence[int]) -> str:
    return "x".join(str(size) for size in shape)


def _amount(shape: Sequence[int]) -> str:
    """How much data a header promises: "60000x28x28 = 47,040,000 bytes", or "60,000 bytes" for one dimension."""
    total = f"{math.prod(shape):,} bytes"
    return total if len(shape) == 1 else f"{_dims(shape)} = {total}"


def _shown(path: Path) -> str:
    """A path the user gave (relative to the current folder) as checker.project shows every path."""
    return display_path(os.path.abspath(path))


# --------------------------------------------------------------------------------------------------
# The loader


def load_dataset(data_dir: str | os.PathLike | None = None, validation_size: int = 10_000, *,
                 log: Callable[[str], object] = print) -> Dataset:
    """The four standard IDX files of data_dir (default: the shipped MNIST), checked, scaled and split.

    - train: the training images less the validation ones, (60000 - validation_size, 784) on MNIST;
    - validation: validation_size training images chosen by VALIDATION_SEED, the same on every run;
    - test: the test images, untouched, (10000, 784) on MNIST.

    Images are float32 in [0, 1] (pixel / 255), labels int64; train and validation keep the order of
    the training file. The kata ships MNIST in data/mnist/; a missing file is a DataError that says how
    to restore it. Files that match no known checksum (another dataset) are checked for structure only,
    with a one-line notice through log. Raises DataError for anything wrong.
    """
    is_default = data_dir is None or _same_folder(Path(data_dir), DEFAULT_DATA_DIR)
    folder = DEFAULT_DATA_DIR if data_dir is None else Path(data_dir)
    fix = _restore_hint() if is_default else (f"Replace it with a good copy, or point --data-dir at another "
                                              f"folder (the default is {_shown(DEFAULT_DATA_DIR)}).")
    paths = _find_files(folder, is_default)

    arrays, checksums = {}, {}
    for name in FILE_NAMES:
        arrays[name], checksums[name] = _decode_idx(paths[name], fix)

    matching = [name for name in FILE_NAMES if checksums[name] == MNIST_FILES[name].sha256]
    if is_default or matching:
        for name in FILE_NAMES:
            if name not in matching:
                why = ("it was changed or damaged" if is_default else
                       f"the other files here are MNIST's ({', '.join(matching)}), so this one was changed or damaged")
                raise DataError(f"{_shown(paths[name])} is not MNIST's {name}: the SHA-256 of its content is "
                                f"{checksums[name][:16]}..., expected {MNIST_FILES[name].sha256[:16]}... ({why}). {fix}")
        name_of_dataset, verified = "MNIST", True
    else:
        name_of_dataset, verified = Path(os.path.abspath(folder)).name, False
        log(f"Note: the files in {_shown(folder)} match no known checksum (not MNIST): "
            f"they were checked for structure only.")

    train_images = _check_images(arrays[TRAIN_IMAGES], paths[TRAIN_IMAGES], fix)
    train_labels = _check_labels(arrays[TRAIN_LABELS], paths[TRAIN_LABELS], train_images, paths[TRAIN_IMAGES], fix)
    test_images = _check_images(arrays[TEST_IMAGES], paths[TEST_IMAGES], fix)
    test_labels = _check_labels(arrays[TEST_LABELS], paths[TEST_LABELS], test_images, paths[TEST_IMAGES], fix)

    if not 0 <= validation_size < len(train_labels):
        raise ValueError(f"validation_size must be between 0 and {len(train_labels) - 1} "
                         f"(the training file holds {len(train_labels):,} images), got {validation_size}")
    validation_rows, train_rows = validation_split(len(train_labels), validation_size)
    return Dataset(
        train=_split(train_images, train_labels, train_rows),
        validation=_split(train_images, train_labels, validation_rows),
        test=_split(test_images, test_labels, None),
        name=name_of_dataset,
        data_dir=Path(os.path.abspath(folder)),
        verified=verified,
    )


def validation_split(n_train: int, validation_size: int) -> tuple[np.ndarray, np.ndarray]:
    """(validation rows, train rows): disjoint, sorted int64 indices into the n_train training images.

    Fixed by VALIDATION_SEED alone. A smaller validation_size takes a subset of a larger one's rows.
    """
    order = np.random.default_rng(VALIDATION_SEED).permutation(n_train)
    return np.sort(order[:validation_size]), np.sort(order[validation_size:])


def _split(images: np.ndarray, labels: np.ndarray, rows: np.ndarray | None) -> Split:
    """images (N, 28, 28) uint8 and labels (N,) uint8, restricted to rows -> Split of float32/int64."""
    if rows is None:
        rows = np.arange(len(labels))
    flat = images.reshape(len(images), PIXELS)
    scaled = np.empty((len(rows), PIXELS), dtype=np.float32)
    # Gathering a few thousand rows at a time keeps the uint8 copy small: fresh memory is slow to touch.
    for start in range(0, len(rows), 4096):
        chunk = rows[start:start + 4096]
        # Dividing in float32 gives the correctly rounded k/255 for every pixel value k.
        np.divide(flat[chunk], np.float32(255), out=scaled[start:start + len(chunk)], dtype=np.float32)
    return Split(images=scaled, labels=labels[rows].astype(np.int64))


def _check_images(images: np.ndarray, path: Path, fix: str) -> np.ndarray:
    if images.ndim != 3 or images.shape[1:] != IMAGE_SHAPE:
        raise DataError(f"{_shown(path)} holds an array of {_dims(images.shape)}, not images of 28x28 pixels "
                        f"(N x 28 x 28), which is what the network's 784 inputs take. {fix}")
    if len(images) == 0:
        raise DataError(f"{_shown(path)} holds no images. {fix}")
    return images


def _check_labels(labels: np.ndarray, path: Path, images: np.ndarray, images_path: Path, fix: str) -> np.ndarray:
    if labels.ndim != 1:
        raise DataError(f"{_shown(path)} holds an array of {_dims(labels.shape)}, not a list of labels (N). {fix}")
    if len(labels) != len(images):
        raise DataError(f"{_shown(images_path)} holds {len(images):,} images but {_shown(path)} holds "
                        f"{len(labels):,} labels; they must match one to one (are they from different "
                        f"datasets, or is one damaged?). {fix}")
    too_large = np.flatnonzero(labels >= NUM_CLASSES)
    if too_large.size:
        where = int(too_large[0])
        raise DataError(f"{_shown(path)} has a label {labels[where]} (at index {where:,}); labels must be "
                        f"classes 0-{NUM_CLASSES - 1}. {fix}")
    return labels


def _same_folder(a: Path, b: Path) -> bool:
    return os.path.realpath(a) == os.path.realpath(b)


def _restore_hint() -> str:
    where = "" if _same_folder(Path.cwd(), ROOT) else f" in {ROOT}"
    return f"Restore the shipped files with `git checkout data/mnist`{where}."


def _file_in(folder: Path, name: str) -> Path | None:
    """folder/name.gz or folder/name, whichever exists (the .gz first)."""
    for candidate in (folder / f"{name}.gz", folder / name):
        if candidate.is_file():
            return candidate
    return None


def _find_files(folder: Path, is_default: bool) -> dict[str, Path]:
    """The path of each of the four files; DataError saying what to do when one is missing."""
    if folder.exists() and not folder.is_dir():
        raise DataError(f"{_shown(folder)} is a file; the data folder must be a folder holding the four IDX "
                        f"files {', '.join(FILE_NAMES)} (each may end in .gz).")
    if folder.is_symlink() and not folder.exists():
        raise DataError(f"{_shown(folder)} is a symbolic link that leads nowhere (to a missing folder, or in a "
                        f"loop: {os.readlink(folder)}). Point --data-dir at the real folder of the four IDX files.")
    folders = [f"{name}{ending}" for name in FILE_NAMES for ending in (".gz", "")
               if (folder / f"{name}{ending}").is_dir() and _file_in(folder, name) is None]
    if folders:
        raise DataError(f"{_shown(folder / folders[0])} is a folder, not a file: the data folder must hold the IDX "
                        f"files themselves. Put the file {folders[0]} in place of that folder, or point --data-dir "
                        f"at the folder that holds the files.")
    missing = [name for name in FILE_NAMES if _file_in(folder, name) is None]
    if missing and is_default:
        raise DataError(f"MNIST is missing from {_shown(folder)} ({', '.join(missing)}). " + _where_to_put(folder))
    elif missing:
        present = sorted(p.name for p in folder.iterdir())[:8] if folder.is_dir() else []
        holds = f" It holds: {', '.join(present)}." if present else (" It is empty." if folder.is_dir()
                                                                     else " The folder does not exist.")
        raise DataError(f"{_shown(folder)} lacks {', '.join(missing)} (each may end in .gz).{holds} "
                        f"Point --data-dir at a folder with the four standard IDX files "
                        f"{', '.join(FILE_NAMES)}.")
    return {name: _file_in(folder, name) for name in FILE_NAMES}


def _where_to_put(folder: Path) -> str:
    return (f"The kata ships them: `git checkout data/mnist` in your clone restores them. Or put the four files "
            f"{', '.join(f'{name}.gz' for name in FILE_NAMES)} (gzip or not) in {os.path.abspath(folder)}, or point "
            f"--data-dir at a folder that has them.")
