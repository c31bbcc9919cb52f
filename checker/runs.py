"""The run folder: what one training run leaves behind, and the one place that reads runs/.

    runs/<YYYYmmdd-HHMMSS>-<name>/
        metrics.csv     one row per update and one per epoch (write_metrics / read_metrics)
        config.json     the options, and what the network is (checker.models rebuilds it from the weights)
        weights.npz     every array of the network, plain (no pickle)
        summary.json    the results: test and validation accuracy, plots, times, how it ended
        *.png           the figures (checker.plots), report.html (checker.page)

Everything here reads files that anyone may have edited, truncated or handed over: a file that cannot
be read, is too large, or holds the wrong kind of value is treated as missing, never as an internal
error. A folder whose summary.json is missing or unreadable is not a finished run: listings skip it.
While a run is saved, its summary.json says "stopped": "incomplete" until the real one replaces it, so
a run that could not be finished (a full disk, kill -9) is marked so; newest_usable skips such runs,
and any other whose network cannot read digits, with a note naming the folder and why.

    new_run_dir(parent, name)        a fresh folder parent/<time>-<name>
    write_json(path, value), read_json(path) -> dict ({} when it is not a readable JSON object)
    Run.load(folder) -> Run          summary and config of one folder, with checked accessors
    history_of(folder)               its metrics.csv as a History, or None when it cannot be read
    all_runs(parent), learner_runs(root), newest_usable(parent, notes)
    load_weights(run_dir), load_network(run_dir), network_problem(run_dir)
"""

from __future__ import annotations

import csv
import json
import math
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np

from . import models
from .errors import KataError
from .project import ROOT, display_path, replace_file
from .training import EpochRow, History

WEIGHTS_FILE = "weights.npz"
CONFIG_FILE = "config.json"
METRICS_FILE = "metrics.csv"
SUMMARY_FILE = "summary.json"
PAGE_FILE = "report.html"
METRICS_COLUMNS = ("scope", "epoch", "iteration", "train_loss", "train_accuracy",
                   "validation_loss", "validation_accuracy", "seconds")
MAX_JSON_BYTES = 4 * 2**20  # a run's JSON files are a few kB; anything far larger is not one of them
MAX_WEIGHTS_BYTES = 2**30  # the kata's networks weigh a few MB; a file that unpacks to more is not one of them
MAX_METRICS_BYTES = 64 * 2**20  # a row per update: about 5 MB for 100 epochs of the default run
MAX_NOTES = 3  # runs skipped by newest_usable named one by one; more are counted
MAX_FIGURE_BYTES = 32 * 2**20  # the kata's figures weigh under a megabyte; a page embeds none larger than this
# summary.json's "stopped" while a run is being saved: replaced by the real summary once everything is written,
# so a run killed while saving (a full disk, kill -9, a power cut) says so.
INCOMPLETE = "incomplete"


def runs_folder(root: Path | None = None) -> Path:
    """The kata's runs/ (of root, default the kata's own)."""
    return Path(root or ROOT) / "runs"


def new_run_dir(parent: Path, name: str) -> Path:
    """A fresh folder parent/<timestamp>-<name>, e.g. runs/20250101-120000-solutions."""
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    for attempt in range(1, 1000):
        run_dir = Path(parent) / (f"{stamp}-{name}" if attempt == 1 else f"{stamp}-{name}-{attempt}")
        try:
            run_dir.mkdir(parents=True)
            return run_dir
        except FileExistsError:
            continue
        except OSError as error:
            raise KataError(f"cannot create the run folder {run_dir}: {error.strerror}. "
                            f"Choose another folder with --out DIR.") from None
    raise KataError(f"too many runs named {name} in {parent} this second. Try again.")


# --- JSON ----------------------------------------------------------------------------------------

def write_json(path: Path, value: dict) -> None:
    """path holds value as indented JSON, written in one step and never through a symbolic link."""
    replace_file(path, json.dumps(value, indent=2) + "\n")


def read_json(path: Path) -> dict:
    """The JSON object in path; {} when the file is missing, not a regular file, too large, not JSON,
    nested too deep, or holds something other than an object."""
    try:
        path = Path(path)
        if not path.is_file() or path.stat().st_size > MAX_JSON_BYTES:
            return {}
        with path.open("rb") as file:  # never more than the limit, whatever the file became since
            data = file.read(MAX_JSON_BYTES + 1)
        if len(data) > MAX_JSON_BYTES:
            return {}
        value = json.loads(data.decode("utf-8"))
    except (OSError, ValueError, RecursionError):
        return {}
    return value if isinstance(value, dict) else {}


def number(value) -> float | None:
    """value as a finite float; None for anything else (a string, a bool, a list, nan)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return float(value)


def fraction(value) -> float | None:
    """value as an accuracy in [0, 1]; None for anything else."""
    value = number(value)
    return value if value is not None and 0 <= value <= 1 else None


# --- one run -------------------------------------------------------------------------------------

@dataclass
class Run:
    """One run folder as its files describe it. The dicts are as read (they may hold anything); use
    the properties, which check what they return."""

    dir: Path
    summary: dict
    config: dict

    @classmethod
    def load(cls, folder: Path) -> Run:
        folder = Path(folder)
        return cls(folder, read_json(folder / SUMMARY_FILE), read_json(folder / CONFIG_FILE))

    @property
    def name(self) -> str:
        return self.dir.name

    @property
    def impl(self) -> str | None:
        impl = self.summary.get("impl", self.config.get("impl"))
        return impl if isinstance(impl, str) else None

    @property
    def test_accuracy(self) -> float | None:
        return fraction(self.summary.get("test_accuracy"))

    @property
    def validation_accuracy(self) -> float | None:
        return fraction(self.summary.get("validation_accuracy"))

    @property
    def model(self) -> str:
        """"cnn" or "mlp" (the default of runs made before there was a choice)."""
        return "cnn" if self.config.get("model") == "cnn" else "mlp"

    @property
    def plots(self) -> list[str]:
        """The figure files summary.json lists: plain file names only."""
        plots = self.summary.get("plots")
        if not isinstance(plots, list):
            return []
        return [name for name in plots if isinstance(name, str) and name == Path(name).name and name not in ("", ".", "..")]

    @property
    def has_summary(self) -> bool:
        return bool(self.summary)

    @property
    def usable(self) -> bool:
        """A network to read digits with: finished saving, not diverged, learned, and its weights a network
        the kata can run (see unusable_because)."""
        return self.unusable_because() is None

    def of_training(self) -> bool:
        """The folder of a training run, finished or not (weights.npz or summary.json, or nothing yet: a run
        stopped before saving), not of an experiment, which writes neither."""
        try:
            return (any(self.dir.joinpath(name).exists() for name in (WEIGHTS_FILE, SUMMARY_FILE))
                    or not any(self.dir.iterdir()))
        except OSError:
            return False

    def unusable_because(self) -> str | None:
        """Why the run's network is not one to read digits with, in words ("its summary.json is missing:
        ..."); None when it is. Reads weights.npz, so ask it of one run at a time."""
        summary = self.dir / SUMMARY_FILE
        if not self.has_summary:
            if not summary.exists():
                return f"it has no {SUMMARY_FILE}: the run never finished (it was stopped, or the disk was full)"
            return f"its {SUMMARY_FILE} is not the summary of a run (unreadable, too large, or not a JSON object)"
        if self.summary.get("stopped") == INCOMPLETE:
            return "it could not be finished: it stopped while the run was being saved"
        if self.summary.get("stopped") == "diverged":
            return "it diverged (its loss was no longer finite)"
        if self.summary.get("learned") is False:
            return "it did not learn"
        return network_problem(self.dir)

    def figures(self) -> list[Path]:
        """The run's PNG figures: those summary.json lists, in its order, then any others in the folder.
        Only PNG files in the run folder itself count: a listed name that leads elsewhere (a path, a
        symbolic link out of the folder) is never read, say into a page that may be shared; nor is a
        FIFO or a device, or a file over MAX_FIGURE_BYTES."""
        listed = [self.dir / name for name in self.plots]
        others = sorted(path for path in self.dir.glob("*.png") if path not in listed)
        return [path for path in dict.fromkeys(listed + others) if _own_png(path, self.dir)]

    def relative_dir(self, root: Path = ROOT) -> str:
        """The folder relative to the kata's root (as status documents give it), else absolute."""
        try:
            return self.dir.resolve().relative_to(Path(root).resolve()).as_posix()
        except (ValueError, OSError):
            return self.dir.as_posix()

    def modified(self) -> float:
        """When the run last changed (its summary, else its folder), for "newest"."""
        for path in (self.dir / SUMMARY_FILE, self.dir):
            try:
                return path.stat().st_mtime
            except OSError:
                continue
        return 0.0


def _own_png(path: Path, folder: Path) -> bool:
    try:
        if not path.is_file() or path.resolve().parent != folder.resolve() or path.stat().st_size > MAX_FIGURE_BYTES:
            return False
        with path.open("rb") as file:
            return file.read(8) == b"\x89PNG\r\n\x1a\n"
    except OSError:
        return False


def all_runs(parent: Path) -> list[Run]:
    """Every folder in parent, as a Run, oldest first (by the time its summary was written)."""
    try:
        folders = [entry for entry in Path(parent).iterdir() if entry.is_dir()]
    except OSError:
        return []
    runs = [Run.load(folder) for folder in folders]
    return sorted(runs, key=lambda run: (run.modified(), run.name))


def learner_runs(root: Path = ROOT) -> list[Run]:
    """Runs of the learner's code (not the reference's) that measured a test accuracy, oldest first."""
    return [run for run in all_runs(runs_folder(root)) if run.impl == "exercises" and run.test_accuracy is not None]


def last_learner_run(root: Path = ROOT) -> Run | None:
    runs = learner_runs(root)
    return runs[-1] if runs else None


def newest_usable(parent: Path, notes: list[str] | None = None) -> Run:
    """The newest run in parent whose network can read digits (see Run.unusable_because); KataError if none.

    notes: if given, gets one line for each newer run that was skipped, naming its folder and why
    ("skipped runs/...-exercises/: its weights.npz cannot be read (it is empty) ..."), for the learner,
    who may have expected that one."""
    skipped = []
    for run in reversed(all_runs(parent)):
        why = run.unusable_because()
        if why is None:
            break
        # A run that diverged or did not learn was announced so by kata train: only the others are news.
        if run.of_training() and run.summary.get("stopped") != "diverged" and run.summary.get("learned") is not False:
            skipped.append(f"skipped {display_path(run.dir, folder=True)}: {why.rstrip('.')}.")
    else:
        run = None
    if notes is not None:
        notes += skipped[:MAX_NOTES] + ([f"skipped {len(skipped) - MAX_NOTES} more runs that cannot read digits "
                                         f"either."] if len(skipped) > MAX_NOTES else [])
    if run is None:
        raise KataError(f"there is no trained network in {display_path(parent, folder=True)} yet. Train one first: "
                        "kata train (or kata train --solutions), or name a run folder with --run DIR (a run made "
                        "with kata train --out DIR is in DIR: --run DIR/<time>-<name>).")
    return run


# --- weights.npz -------------------------------------------------------------------------------

def load_weights(run_dir: Path) -> dict:
    """Every array of run_dir/weights.npz as float32 (no pickle, at most MAX_WEIGHTS_BYTES unpacked);
    KataError saying what is wrong with the file otherwise."""
    params, why = _read_weights(Path(run_dir))
    if params is None:
        raise KataError(why)
    return params


def load_network(run_dir: Path) -> dict:
    """The weights of run_dir as float32, checked to be a network the kata can run (checker.models);
    KataError naming what is wrong otherwise."""
    params = load_weights(run_dir)
    try:
        models.network_of(params)
    except models.NotANetwork as problem:
        raise KataError(f"{display_path(Path(run_dir) / WEIGHTS_FILE)} is not a network the kata can run: {problem}. "
                        f"{RETRAIN}") from None
    return models.as_float32(params)


def network_problem(run_dir: Path) -> str | None:
    """Why run_dir's weights.npz is not a network the kata can run, in a few words; None when it is."""
    params, why = _read_weights(Path(run_dir), short=True)
    if params is None:
        return why
    try:
        models.network_of(params)
    except models.NotANetwork as problem:
        return f"its {WEIGHTS_FILE} is not a network the kata can run: {problem}"
    return None


RETRAIN = "Train again (kata train), or name another run."


def _read_weights(run_dir: Path, short: bool = False) -> tuple[dict | None, str]:
    """(the arrays of run_dir/weights.npz, "") or (None, what is wrong): the whole message, or with
    short=True a few words starting with "its weights.npz" for a note."""
    import zipfile

    weights = run_dir / WEIGHTS_FILE
    name = f"its {WEIGHTS_FILE}" if short else display_path(weights)
    retrain = "" if short else f" {RETRAIN}"
    if not weights.is_file():
        if short:
            return None, f"it holds no {WEIGHTS_FILE}"
        return None, (f"{display_path(run_dir, folder=True)} holds no {WEIGHTS_FILE}, so it is not the folder of a "
                      f"training run. Name one written by kata train, e.g. runs/<time>-<name>, or leave it out for "
                      f"the newest.")
    try:
        with zipfile.ZipFile(weights) as archive:
            unpacked = sum(member.file_size for member in archive.infolist())
        if unpacked > MAX_WEIGHTS_BYTES:
            return None, (f"{name} would unpack to {unpacked / 2**20:,.0f} MB, far more than any network of the "
                          f"kata.{retrain}")
        with np.load(weights, allow_pickle=False) as archive:
            params = {key: archive[key] for key in archive.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, zipfile.LargeZipFile, KeyError, RuntimeError,
            NotImplementedError) as error:
        try:
            empty = weights.stat().st_size == 0
        except OSError:
            empty = False
        why = "it is empty" if empty else f"{type(error).__name__}: {error}"
        return None, (f"{name} cannot be read ({why}): the run was cut short (a full disk?) or the file was "
                      f"changed.{retrain}")
    if not params:
        return None, f"{name} holds no arrays.{retrain}"
    return params, ""


# --- metrics.csv ---------------------------------------------------------------------------------

def write_metrics(path: Path, history: History) -> None:
    """metrics.csv: one row per iteration (batch loss and accuracy, validation where measured),
    and after each epoch's last iteration one row for the epoch (means over the epoch)."""
    evals = {iteration: (loss, accuracy) for iteration, loss, accuracy in history.evals}
    epochs = {row.iteration: row for row in history.epochs}
    number_text = lambda value: f"{value:.6g}"  # noqa: E731
    with Path(path).open("w", newline="") as f:
        out = csv.writer(f)
        out.writerow(METRICS_COLUMNS)
        for i, (loss, accuracy) in enumerate(zip(history.batch_loss, history.batch_accuracy), 1):
            val = evals.get(i)
            epoch = (i - 1) // history.iterations_per_epoch + 1
            out.writerow(["iteration", epoch, i, number_text(loss), number_text(accuracy),
                          number_text(val[0]) if val else "", number_text(val[1]) if val else "", ""])
            row = epochs.get(i)
            if row:
                out.writerow(["epoch", row.epoch, row.iteration, number_text(row.train_loss),
                              number_text(row.train_accuracy), number_text(row.validation_loss),
                              number_text(row.validation_accuracy), f"{row.seconds:.3f}"])


def read_metrics(path: Path) -> History:
    """The History of a metrics.csv written by write_metrics (for plots of a saved run)."""
    with Path(path).open(newline="") as f:
        rows = list(csv.DictReader(f))
    iteration_rows = [r for r in rows if r["scope"] == "iteration"]
    epoch_rows = [r for r in rows if r["scope"] == "epoch"]
    per_epoch = int(epoch_rows[0]["iteration"]) if epoch_rows else len(iteration_rows)
    history = History(per_epoch)
    for r in iteration_rows:
        history.batch_loss.append(float(r["train_loss"]))
        history.batch_accuracy.append(float(r["train_accuracy"]))
        if r["validation_accuracy"]:
            history.evals.append((int(r["iteration"]), float(r["validation_loss"]),
                                  float(r["validation_accuracy"])))
    for r in epoch_rows:
        history.epochs.append(EpochRow(int(r["epoch"]), int(r["iteration"]), float(r["train_loss"]),
                                       float(r["train_accuracy"]), float(r["validation_loss"]),
                                       float(r["validation_accuracy"]), float(r["seconds"])))
    return history


def history_of(run_dir: Path) -> History | None:
    """The History of run_dir's metrics.csv (read_metrics), or None when the file is missing, larger
    than MAX_METRICS_BYTES, or not one write_metrics wrote (a column missing, a word for a number)."""
    path = Path(run_dir) / METRICS_FILE
    try:
        if not path.is_file() or path.stat().st_size > MAX_METRICS_BYTES:
            return None
        history = read_metrics(path)
    except (OSError, ValueError, KeyError, TypeError, IndexError, csv.Error):
        return None
    return history if history.iterations_per_epoch >= 1 and history.iterations >= 1 else None


def time_of(run_dir: Path) -> str:
    """When the run was made, from its folder name (runs/<YYYYmmdd-HHMMSS>-<name>); '' if it does not say."""
    try:
        return datetime.strptime(Path(run_dir).name[:15], "%Y%m%d-%H%M%S").strftime("%Y-%m-%d %H:%M")
    except ValueError:
        return ""


def kept_files(run_dir: Path) -> list[str]:
    try:
        return sorted(entry.name for entry in Path(run_dir).iterdir())
    except OSError:
        return []
