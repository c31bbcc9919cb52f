"""Speed and accuracy of `kata train`'s reference against a tight NumPy baseline, scikit-learn and PyTorch.

    pip install -e ".[bench]"      optional: scikit-learn and torch 2.13.0 (CPU); skipped when absent
    python bench/bench.py          a few minutes on 2 cores
    python bench/bench.py --repeats 7 --only reference,numpy
    python bench/bench.py --hidden 256 --lr 0.2 --lr-schedule constant --epochs 8
    python bench/bench.py --load 2 --only reference,numpy --skip-accuracy
                                   seconds per epoch quiet, then with 2 busy loops running, and the
                                   targets of kata train's thread choice in both

Every implementation trains the configuration of `kata train` (network, batch size, plain SGD with
the same learning rate and schedule, epochs, float32) on the same 50,000 training images, in one
run on this machine, and is measured twice:

1. seconds per epoch: the median over --repeats epochs. The implementations take turns epoch by
   epoch, so whatever else the machine is doing falls on all of them alike.
2. time to 98% test accuracy: one full run each, the test accuracy measured after every epoch
   (inside the clock, the same for all); the training seconds until it first reaches 98.0%, and
   the accuracy at the end.

Ratios are against the tight NumPy baseline (bench/baseline.py) measured in the same run. The
reference is measured through checker.training's loop itself, as `kata train --solutions` runs it:
on the BLAS threads `kata train` chooses, the cores free when the epoch starts (checker/threads.py);
"reference, 1 BLAS thread" and "reference, default BLAS threads" (one per core) are the same loop
on a fixed count, whatever the load.

--load N times the epochs twice: on the machine as it is ("quiet"), then with N busy loops (one
process each, spinning) running for the duration, and reports both, their ratio, the threads kata
train chose in each, and issue 19's targets: quiet, within 1.15x of the tight baseline; with 2 busy
loops, within 2.0x of the quiet epoch. The busy loops end with the bench, on Ctrl-C too. Timings
show wall seconds and, beside them, the CPU seconds of this process (all its threads), which a busy
machine disturbs less; the load average says how quiet "quiet" was.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import signal
import statistics
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script from anywhere
sys.path.insert(0, str(Path(__file__).resolve().parent))

from baseline import TightNetwork  # noqa: E402

from checker import training  # noqa: E402
from checker.data import Dataset, load_dataset  # noqa: E402
from checker.sandbox import die_with_parent  # noqa: E402
from checker import threads as threads_module  # noqa: E402
from checker.threads import blas_threads  # noqa: E402

TARGET = 0.98
# Issue 19's targets for kata train's reference: quiet, within this of the tight baseline per epoch;
# with two busy loops, within this of its own quiet epoch.
QUIET_TARGET = 1.15
BUSY_TARGET = 2.0


def learning_rates(config: training.TrainConfig, iterations_per_epoch: int, epoch: int) -> list[float]:
    """The lr of every update of epoch (0-based), as checker.training's schedule gives it."""
    total = iterations_per_epoch * config.epochs
    schedule = training.LR_SCHEDULES[config.lr_schedule]
    first = epoch * iterations_per_epoch
    return [config.lr * schedule(t / total) for t in range(first, first + iterations_per_epoch)]


class Contender:
    """One implementation: start a fresh model, train one epoch, measure test accuracy."""

    name = ""

    def __init__(self, data: Dataset, config: training.TrainConfig):
        self.data, self.config = data, config
        self.iterations_per_epoch = -(-len(data.train.labels) // config.batch_size)

    def epoch_seconds(self, seed: int) -> tuple[float, float]:
        """(wall seconds, CPU seconds of this process) of one epoch."""
        self.start(seed)
        started, cpu = time.perf_counter(), time.process_time()
        self.epoch(0)
        return time.perf_counter() - started, time.process_time() - cpu

    def run(self, seed: int) -> list[tuple[float, float]]:
        """(training seconds so far, test accuracy) after each epoch of a full run."""
        self.start(seed)
        curve, seconds = [], 0.0
        for epoch in range(self.config.epochs):
            started = time.perf_counter()
            self.epoch(epoch)
            accuracy = self.test_accuracy()
            seconds += time.perf_counter() - started
            curve.append((seconds, accuracy))
        return curve


class Reference(Contender):
    """checker.training.train with the reference solutions: the loop of `kata train --solutions`,
    on the BLAS threads kata train chooses (the cores free, checker/threads.py); `chosen` records
    them, one per epoch timed."""

    name = "reference (kata train: BLAS on the cores free)"

    def __init__(self, data, config):
        super().__init__(data, config)
        self.chosen: list[int] = []

    @contextlib.contextmanager
    def threads(self):
        with blas_threads() as active:
            yield
            self.chosen.append(active.choice.threads)

    def epoch_seconds(self, seed: int) -> tuple[float, float]:
        # One epoch of the real loop; its end-of-epoch validation pass runs on 100 images only.
        tiny = replace(self.data, validation=type(self.data.test)(self.data.test.images[:100],
                                                                  self.data.test.labels[:100]))
        config = replace(self.config, epochs=1, evals_per_epoch=1, seed=seed)
        cpu = time.process_time()
        with self.threads():
            seconds = training.train(training.load_parts("solutions", config), tiny, config).history.epochs[0].seconds
        return seconds, time.process_time() - cpu

    def run(self, seed: int) -> list[tuple[float, float]]:
        # The test split stands in for validation: the loop then measures test accuracy once per
        # epoch, inside its epoch clock, as the other contenders do.
        on_test = replace(self.data, validation=self.data.test)
        config = replace(self.config, evals_per_epoch=1, seed=seed)
        with self.threads():
            history = training.train(training.load_parts("solutions", config), on_test, config).history
        seconds = np.cumsum([row.seconds for row in history.epochs])
        return [(float(s), row.validation_accuracy) for s, row in zip(seconds, history.epochs)]


class ReferenceDefaultThreads(Reference):
    """The same loop on BLAS's default threads (one per core), whatever the load."""

    name = "reference, default BLAS threads"

    def threads(self):
        return contextlib.nullcontext()


class ReferenceOneThread(Reference):
    """The same loop on one BLAS thread, whatever the load: kata train before it chose by the load."""

    name = "reference, 1 BLAS thread"

    def threads(self):
        return blas_threads(1)


class NumpyTight(Contender):
    name = "numpy-tight (baseline)"

    def start(self, seed):
        self.net = TightNetwork(self.config.layer_sizes(784), self.config.batch_size, seed)

    def epoch(self, epoch):
        lrs = learning_rates(self.config, self.iterations_per_epoch, epoch)
        self.net.train_epoch(self.data.train.images, self.data.train.labels, lrs)

    def test_accuracy(self):
        return self.net.accuracy(self.data.test.images, self.data.test.labels)


class SklearnMLP(Contender):
    """MLPClassifier, solver sgd: no momentum, no L2, constant rate changed by hand every epoch
    (its own schedules are not linear), Glorot init (its only one)."""

    name = "scikit-learn MLPClassifier"

    def start(self, seed):
        from sklearn.neural_network import MLPClassifier

        self.model = MLPClassifier(
            hidden_layer_sizes=(self.config.hidden,) * self.config.depth, activation="relu",
            solver="sgd", alpha=0.0, batch_size=self.config.batch_size, learning_rate="constant",
            learning_rate_init=self.config.lr, momentum=0.0, nesterovs_momentum=False,
            shuffle=True, random_state=seed, n_iter_no_change=10**9, tol=0.0)

    def epoch(self, epoch):
        lr = float(np.mean(learning_rates(self.config, self.iterations_per_epoch, epoch)))
        self.model.learning_rate_init = lr
        if hasattr(self.model, "_optimizer"):
            self.model._optimizer.learning_rate = lr
        self.model.partial_fit(self.data.train.images, self.data.train.labels, classes=np.arange(10))

    def test_accuracy(self):
        return float(self.model.score(self.data.test.images, self.data.test.labels))


class TorchCPU(Contender):
    """torch.nn Linear-ReLU-Linear, cross_entropy, torch.optim.SGD, He (kaiming normal) init."""

    name = "PyTorch CPU"

    def start(self, seed):
        import torch

        self.torch = torch
        torch.manual_seed(seed)
        sizes = self.config.layer_sizes(784)
        layers = []
        for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
            linear = torch.nn.Linear(fan_in, fan_out)
            torch.nn.init.kaiming_normal_(linear.weight, nonlinearity="relu")
            torch.nn.init.zeros_(linear.bias)
            layers += [linear, torch.nn.ReLU()]
        self.model = torch.nn.Sequential(*layers[:-1])
        self.optimizer = torch.optim.SGD(self.model.parameters(), lr=self.config.lr)
        self.images = torch.from_numpy(self.data.train.images)
        self.labels = torch.from_numpy(self.data.train.labels)
        self.generator = torch.Generator().manual_seed(seed)

    def epoch(self, epoch):
        torch, B = self.torch, self.config.batch_size
        order = torch.randperm(len(self.labels), generator=self.generator)
        lrs = learning_rates(self.config, self.iterations_per_epoch, epoch)
        group = self.optimizer.param_groups[0]
        for start, lr in zip(range(0, len(order), B), lrs):
            index = order[start:start + B]
            loss = torch.nn.functional.cross_entropy(self.model(self.images[index]), self.labels[index])
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            group["lr"] = lr
            self.optimizer.step()

    def test_accuracy(self):
        torch = self.torch
        with torch.no_grad():
            logits = self.model(torch.from_numpy(self.data.test.images))
        return float((logits.argmax(dim=1).numpy() == self.data.test.labels).mean())


def available(name: str) -> str | None:
    try:
        module = __import__(name)
        return getattr(module, "__version__", "?")
    except ImportError:
        return None


def table(rows: list[list[str]]) -> str:
    widths = [max(len(r[c]) for r in rows) for c in range(len(rows[0]))]
    return "\n".join("  ".join(cell.ljust(w) if c == 0 else cell.rjust(w)
                               for c, (cell, w) in enumerate(zip(row, widths))) for row in rows)


@contextlib.contextmanager
def busy_loops(count: int):
    """`count` processes spinning on a core each while the block runs; ended on any exit."""
    loops = []
    previous = signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # finally blocks run on SIGTERM
    try:
        for _ in range(count):
            loops.append(subprocess.Popen([sys.executable, "-c", "while True: pass"], stdin=subprocess.DEVNULL,
                                          preexec_fn=die_with_parent))  # and on SIGKILL of the bench
        yield
    finally:
        for loop in loops:
            loop.kill()
            loop.wait()
        signal.signal(signal.SIGTERM, previous)


def time_epochs(contenders: dict, repeats: int, seed: int, label: str) -> dict[str, list[tuple[float, float]]]:
    """(wall, CPU) seconds of `repeats` epochs per contender, taking turns epoch by epoch."""
    seconds = {key: [] for key in contenders}
    for repeat in range(repeats):
        for key, contender in contenders.items():
            seconds[key].append(contender.epoch_seconds(seed + repeat))
        print(f"  {label} round {repeat + 1}/{repeats}: "
              + ", ".join(f"{k} {s[-1][0]:.3f} s (CPU {s[-1][1]:.3f})" for k, s in seconds.items()), flush=True)
    return seconds


def median_of(values: list[tuple[float, float]], which: int = 0) -> float:
    return statistics.median(v[which] for v in values)


def load_average() -> str:
    try:
        return ", ".join(f"{value:.2f}" for value in os.getloadavg()) + " (1, 5, 15 minutes)"
    except OSError:
        return "unknown"


def targets(quiet: dict, loaded: dict, load: int, quiet_threads: list, busy_threads: list) -> str:
    """Issue 19's two targets for kata train's reference, from medians measured in this run."""
    lines = [f"targets (kata train's reference; BLAS threads it chose: quiet {sorted(set(quiet_threads))}, "
             f"{load} busy loops {sorted(set(busy_threads))}):"]
    cores = threads_module.usable_cores()
    if quiet_threads and max(quiet_threads) < cores:  # kata's own measure: other programs held cores
        lines.append(f"  quiet: not measured: the machine was not quiet (kata train chose {max(quiet_threads)} of "
                     f"{cores} cores, other programs holding the rest; load average {load_average()})")
    elif "numpy" in quiet:
        ratio = quiet["reference"] / quiet["numpy"]
        lines.append(f"  quiet: {ratio:.2f}x the tight baseline per epoch (target <= {QUIET_TARGET}x): "
                     + ("met" if ratio <= QUIET_TARGET else "NOT met"))
    ratio = loaded["reference"] / quiet["reference"]
    lines.append(f"  {load} busy loops: {ratio:.2f}x its quiet epoch (target <= {BUSY_TARGET}x): "
                 + ("met" if ratio <= BUSY_TARGET else "NOT met"))
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=5, help="epochs timed per implementation (median)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--only", default="", help="comma-separated subset: reference,numpy,sklearn,torch")
    parser.add_argument("--skip-accuracy", action="store_true", help="measure seconds per epoch only")
    parser.add_argument("--load", type=int, default=0, metavar="N",
                        help="time the epochs again with N busy loops running (e.g. as many as cores) and "
                             "report quiet, loaded and their ratio")
    defaults = training.TrainConfig()
    for option in ("hidden", "batch_size", "epochs"):
        parser.add_argument(f"--{option.replace('_', '-')}", type=int, default=getattr(defaults, option),
                            help=f"default: kata train's, {getattr(defaults, option)}")
    parser.add_argument("--lr", type=float, default=defaults.lr, help=f"default: kata train's, {defaults.lr}")
    parser.add_argument("--lr-schedule", choices=sorted(training.LR_SCHEDULES), default=defaults.lr_schedule)
    args = parser.parse_args(argv)

    config = replace(defaults, hidden=args.hidden, batch_size=args.batch_size, epochs=args.epochs,
                     lr=args.lr, lr_schedule=args.lr_schedule)
    started = time.perf_counter()
    data = load_dataset()
    print(f"data loaded in {time.perf_counter() - started:.2f} s")
    kinds = {"reference": Reference, "reference-1-thread": ReferenceOneThread,
             "reference-default-threads": ReferenceDefaultThreads, "numpy": NumpyTight}
    versions = {"numpy": np.__version__}
    if (version := available("sklearn")) is not None:
        kinds["sklearn"], versions["scikit-learn"] = SklearnMLP, version
    else:
        print("scikit-learn is not installed (pip install -e '.[bench]'): skipped")
    if (version := available("torch")) is not None:
        import torch

        kinds["torch"], versions["torch"] = TorchCPU, f"{version} ({torch.get_num_threads()} threads)"
    else:
        print("torch is not installed (pip install -e '.[bench]'): skipped")
    if args.only:
        kinds = {k: v for k, v in kinds.items() if k.split("-")[0] in args.only.split(",")}
    contenders = {key: kind(data, config) for key, kind in kinds.items()}
    sizes = "-".join(map(str, config.layer_sizes(784)))
    print(f"configuration{' of kata train' if config == defaults else ''}: {sizes}, batch {config.batch_size}, plain SGD lr {config.lr:g} "
          f"({config.lr_schedule}), {config.epochs} epochs, float32, "
          f"{len(data.train.labels):,} training images")
    print(f"machine: {os.cpu_count()} cores, Python {platform.python_version()}, "
          + ", ".join(f"{k} {v}" for k, v in versions.items()))

    seconds = time_epochs(contenders, args.repeats, args.seed, "timing")
    # The median is the figure to report; the fastest epoch, least touched by whatever else ran,
    # is a check on it when the machine was busy (then the two ratios differ).
    median = {key: median_of(values) for key, values in seconds.items()}
    fastest = {key: min(v[0] for v in values) for key, values in seconds.items()}
    rows = [["seconds per epoch", f"median of {args.repeats}", "vs numpy-tight", "fastest", "vs numpy-tight",
             "CPU s (median)"]]
    for key, contender in contenders.items():
        rows.append([contender.name, f"{median[key]:.3f}",
                     f"{median[key] / median['numpy']:.2f}x" if "numpy" in median else "-",
                     f"{fastest[key]:.3f}",
                     f"{fastest[key] / fastest['numpy']:.2f}x" if "numpy" in fastest else "-",
                     f"{median_of(seconds[key], 1):.3f}"])
    print("\n" + table(rows) + "\n", flush=True)

    quiet_threads = list(getattr(contenders.get("reference"), "chosen", []))
    print(f"machine load before and after the quiet timing: {load_average()}")
    if args.load > 0:
        with busy_loops(args.load):
            loaded = time_epochs(contenders, args.repeats, args.seed, f"{args.load} busy loops")
        rows = [["seconds per epoch (median)", "quiet", f"{args.load} busy loops", "loaded / quiet",
                 "CPU s quiet", "CPU s loaded"]]
        for key, contender in contenders.items():
            rows.append([contender.name, f"{median[key]:.3f}", f"{median_of(loaded[key]):.3f}",
                         f"{median_of(loaded[key]) / median[key]:.2f}x", f"{median_of(seconds[key], 1):.3f}",
                         f"{median_of(loaded[key], 1):.3f}"])
        print("\n" + table(rows) + "\n", flush=True)
        if "reference" in contenders:
            busy_threads = contenders["reference"].chosen[len(quiet_threads):]
            print(targets(median, {key: median_of(values) for key, values in loaded.items()}, args.load,
                          quiet_threads, busy_threads), flush=True)

    if args.skip_accuracy:
        return 0
    curves = {}
    for key, contender in contenders.items():
        curves[key] = contender.run(args.seed)
        print(f"  {contender.name}: trained {config.epochs} epochs", flush=True)
    reached = {}
    for key, curve in curves.items():
        hit = next((epoch for epoch, (_, accuracy) in enumerate(curve, 1) if accuracy >= TARGET), None)
        reached[key] = (hit, curve[hit - 1][0]) if hit else (None, None)
    rows = [[f"time to {TARGET:.0%} test accuracy", "epochs", "seconds", "vs numpy-tight",
             "test accuracy after each epoch"]]
    base = reached.get("numpy", (None, None))[1]
    for key, curve in curves.items():
        hit, seconds_to_target = reached[key]
        rows.append([contenders[key].name, str(hit) if hit else f"not in {config.epochs}",
                     f"{seconds_to_target:.2f}" if hit else f"({curve[-1][0]:.2f})",
                     f"{seconds_to_target / base:.2f}x" if hit and base else "-",
                     " ".join(f"{accuracy:.2%}" for _, accuracy in curve)])
    print("\n" + table(rows))
    print(f"\nbench finished in {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
