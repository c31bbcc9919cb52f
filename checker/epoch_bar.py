"""What a training run shows on the console while it trains: a bar per epoch with the running loss
on a terminal, one line per epoch when the output is piped."""

from __future__ import annotations

import sys
import time

from .term import redraws
from .training import Silent


class EpochBar(Silent):
    """A per-epoch progress bar with the running loss on a terminal (or a notebook cell's live output),
    plain lines when piped."""

    WIDTH = 30

    def __init__(self, stream=None):
        self.stream = stream or sys.stdout
        self.tty = redraws(self.stream)

    def epoch_start(self, epoch, epochs, batches):
        self.epoch, self.epochs, self.batches = epoch, epochs, batches
        self.next_draw = 0.0

    def batch(self, done, running_loss):
        now = time.perf_counter()
        if not self.tty or now < self.next_draw:
            return
        self.next_draw = now + 0.1
        filled = self.WIDTH * done // self.batches
        bar = "#" * filled + "." * (self.WIDTH - filled)
        self.stream.write(f"\repoch {self.epoch:>2}/{self.epochs} [{bar}] "
                          f"{done}/{self.batches}  loss {running_loss:.4f}")
        self.stream.flush()

    def epoch_end(self, row, epochs):
        clear = "\r" + " " * (self.WIDTH + 50) + "\r" if self.tty else ""
        l2_term = "" if row.penalty is None else f" + L2 term {row.penalty:.4f}"
        self.stream.write(
            f"{clear}epoch {row.epoch:>2}/{epochs}  train loss {row.train_loss:.4f}{l2_term}  "
            f"train acc {row.train_accuracy:6.2%}  val acc {row.validation_accuracy:6.2%}  "
            f"({row.seconds:.2f} s)\n")
        self.stream.flush()
