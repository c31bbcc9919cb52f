"""Every figure of the kata, written as PNG files without a display.

Figures are built on matplotlib.figure.Figure directly, not pyplot: no global state, no GUI
backend, nothing to close; savefig renders with Agg. Each function takes what it draws and a
folder, writes one file and returns its path.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib
import numpy as np
from matplotlib.colors import LogNorm
from matplotlib.figure import Figure
from matplotlib.ticker import PercentFormatter

DPI = 100
LOSS_FILE = "loss.png"
ACCURACY_FILE = "accuracy.png"
CONFUSION_FILE = "confusion.png"
MISCLASSIFIED_FILE = "misclassified.png"
WEIGHTS_FILE = "first_layer_weights.png"
EXPERIMENT_FILE = "init_experiment.png"
TRAIN_COLOUR, VALIDATION_COLOUR = "tab:blue", "tab:orange"
RARE_PIXEL = 0.01  # first-layer weights of pixels lit in fewer of the training images are blanked
# One colour key for weights, here and on the run's page (checker.page paints with the same colour
# maps and writes the same words): each weight on a scale symmetric around 0, positive red.
WEIGHT_COLOURS = "RdBu_r"  # blue (negative), white (0), red (positive)
WEIGHT_KEY = "red: ink there raises the output, blue: lowers it"
MAP_COLOURS = "magma"  # what a filter makes of an image, after ReLU: black 0, bright strong


def running_mean(values, window: int) -> np.ndarray:
    """Mean of the last `window` values at each position (fewer at the start), shape of values."""
    values = np.asarray(values, dtype=np.float64)
    if len(values) == 0:
        return values
    sums = np.cumsum(np.concatenate([[0.0], values]))
    ends = np.arange(1, len(values) + 1)
    starts = np.maximum(ends - window, 0)
    return (sums[ends] - sums[starts]) / (ends - starts)


def smoothing_window(history) -> int:
    return max(1, min(100, history.iterations_per_epoch // 10))


def _save(fig: Figure, folder: Path, name: str) -> Path:
    path = Path(folder) / name
    fig.savefig(path, dpi=DPI)
    return path


def _epoch_axis(ax, iterations_per_epoch: int) -> None:
    """A second x axis on top counting epochs, and a faint line at every epoch boundary."""
    top = ax.secondary_xaxis("top", functions=(lambda i: i / iterations_per_epoch,
                                               lambda e: e * iterations_per_epoch))
    top.set_xlabel("epoch")
    left, right = ax.get_xlim()
    for boundary in range(iterations_per_epoch, int(right) + 1, iterations_per_epoch):
        ax.axvline(boundary, color="0.85", linewidth=0.8, zorder=0)


def plot_loss(history, folder: Path) -> Path:
    """Training loss per iteration (each batch, and its running mean) and validation loss."""
    fig = Figure(figsize=(9, 5.2), layout="constrained")
    ax = fig.add_subplot()
    iterations = np.arange(1, history.iterations + 1)
    window = smoothing_window(history)
    finite = np.isfinite(history.batch_loss)
    ax.plot(iterations[finite], np.asarray(history.batch_loss)[finite], color=TRAIN_COLOUR,
            alpha=0.25, linewidth=0.6, label="training loss of each batch")
    ax.plot(iterations[finite], running_mean(np.asarray(history.batch_loss)[finite], window),
            color=TRAIN_COLOUR, linewidth=1.8, label=f"training loss, mean of the last {window} batches")
    if history.evals:
        at, losses, _ = zip(*history.evals)
        ax.plot(at, losses, "o-", color=VALIDATION_COLOUR, markersize=4, linewidth=1.5,
                label="validation loss")
    ax.set_yscale("log")
    ax.set_xlim(0, max(history.iterations, 1))
    ax.set_xlabel("iteration (one update per batch)")
    ax.set_ylabel("cross-entropy loss (log scale)")
    ax.set_title("Loss during training")
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(loc="upper right")
    _epoch_axis(ax, history.iterations_per_epoch)
    return _save(fig, folder, LOSS_FILE)


def plot_accuracy(history, folder: Path) -> Path:
    """Running training accuracy over batches and validation accuracy, by iteration."""
    fig = Figure(figsize=(9, 5.2), layout="constrained")
    ax = fig.add_subplot()
    iterations = np.arange(1, history.iterations + 1)
    window = smoothing_window(history)
    train = running_mean(history.batch_accuracy, window)
    ax.plot(iterations, train, color=TRAIN_COLOUR, linewidth=1.8,
            label=f"training accuracy, mean of the last {window} batches")
    values = list(train[len(train) // 10:])
    if history.evals:
        at, _, accuracies = zip(*history.evals)
        ax.plot(at, accuracies, "o-", color=VALIDATION_COLOUR, markersize=4, linewidth=1.5,
                label="validation accuracy")
        values += list(accuracies[len(accuracies) // 10:])
    # The first iterations climb from 10%; the axis shows where the run spends its time.
    bottom = min(values) if values else 0.0
    ax.set_ylim(max(0.0, np.floor((bottom - 0.01) * 50) / 50), 1.0)
    ax.set_xlim(0, max(history.iterations, 1))
    ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    ax.set_xlabel("iteration (one update per batch)")
    ax.set_ylabel("accuracy")
    ax.set_title("Accuracy during training")
    ax.grid(True, alpha=0.3)
    ax.legend(loc="lower right")
    _epoch_axis(ax, history.iterations_per_epoch)
    return _save(fig, folder, ACCURACY_FILE)


def confusion_matrix(labels, predictions, classes: int = 10) -> np.ndarray:
    """counts[i, j] = how many examples of true class i were predicted as j, shape (C, C)."""
    return np.bincount(np.asarray(labels) * classes + np.asarray(predictions),
                       minlength=classes * classes).reshape(classes, classes)


def plot_confusion(labels, predictions, folder: Path) -> Path:
    """The confusion matrix on the test set, every count written in its cell."""
    counts = confusion_matrix(labels, predictions)
    classes = len(counts)
    accuracy = np.trace(counts) / max(counts.sum(), 1)
    fig = Figure(figsize=(7.5, 6.5), layout="constrained")
    ax = fig.add_subplot()
    # Log colours: the diagonal holds ~1000 per digit, the mistakes 0 to 20; on a linear scale
    # every mistake would look the same.
    image = ax.imshow(np.maximum(counts, 0.5), cmap="Blues", norm=LogNorm(vmin=0.5, vmax=max(counts.max(), 1)))
    for true in range(classes):
        for predicted in range(classes):
            count = counts[true, predicted]
            if count:
                dark = count > np.sqrt(max(counts.max(), 1))
                ax.text(predicted, true, str(count), ha="center", va="center", fontsize=9,
                        color="white" if dark else "black",
                        fontweight="bold" if true == predicted else "normal")
    ax.set_xticks(range(classes))
    ax.set_yticks(range(classes))
    ax.set_xlabel("predicted digit")
    ax.set_ylabel("true digit")
    ax.set_title(f"Confusion matrix on the {counts.sum():,} test images (accuracy {accuracy:.2%})")
    fig.colorbar(image, ax=ax, label="images (log scale)", shrink=0.85)
    return _save(fig, folder, CONFUSION_FILE)


def mosaic(tiles: np.ndarray, columns: int, gap: int = 1) -> np.ndarray:
    """Tiles (K, h, w) laid out in rows of `columns`, NaN in the gaps and the empty places.

    One imshow of a mosaic draws in a fraction of the time of K subplots.
    """
    count, height, width = tiles.shape
    rows = max(1, -(-count // columns))
    out = np.full((rows * (height + gap) - gap, columns * (width + gap) - gap), np.nan)
    for k, tile in enumerate(tiles):
        top, left = (k // columns) * (height + gap), (k % columns) * (width + gap)
        out[top:top + height, left:left + width] = tile
    return out


def _mosaic_axes(fig: Figure, image: np.ndarray, cmap: str, vmin: float, vmax: float, ax=None):
    ax = ax or fig.add_subplot()
    colours = matplotlib.colormaps[cmap].with_extremes(bad="white")
    ax.imshow(image, cmap=colours, vmin=vmin, vmax=vmax, interpolation="nearest")
    ax.set_axis_off()
    return ax


def _captioned_digits(digits, captions: list[str], title: str, columns: int, rows: int):
    """(fig, ax): digits (K, side*side) in a mosaic of `columns`, each under its two-line caption."""
    side = int(round(np.sqrt(digits.shape[1])))
    gap = 12  # room for each digit's caption
    fig = Figure(figsize=(1.55 * columns, 1.6 * rows + 0.6), layout="constrained")
    fig.suptitle(title, fontsize=13)
    tiles = digits.reshape(-1, side, side)
    canvas = np.pad(mosaic(tiles, columns, gap) if len(digits) else np.full((side, side), np.nan),
                    ((gap, 0), (0, 0)), constant_values=np.nan)
    ax = _mosaic_axes(fig, canvas, "gray_r", 0, 1)
    for k, caption in enumerate(captions):
        x = (k % columns) * (side + gap) + side / 2
        y = (k // columns) * (side + gap) + gap - 1
        ax.text(x, y, caption, ha="center", va="bottom", fontsize=9)
    return fig, ax


def plot_misclassified(images, labels, probs, folder: Path, rows: int = 4, columns: int = 8) -> Path:
    """The test digits the network got wrong, most confident mistakes first.

    images (N, 784), labels (N,), probs (N, C).
    """
    predictions = probs.argmax(axis=1)
    wrong = np.flatnonzero(predictions != labels)
    total_wrong = len(wrong)
    wrong = wrong[np.argsort(-probs[wrong, predictions[wrong]], kind="stable")][: rows * columns]
    title = f"Misclassified test digits ({total_wrong:,} of {len(labels):,}), the most confident mistakes first"
    captions = [f"true {labels[i]}, predicted {predictions[i]}\n({probs[i, predictions[i]]:.0%} sure)" for i in wrong]
    fig, ax = _captioned_digits(images[wrong], captions, title, columns, rows)
    if not len(wrong):
        side = int(round(np.sqrt(images.shape[1])))
        ax.text(side / 2, side / 2, "no mistakes", ha="center", fontsize=14)
    return _save(fig, folder, MISCLASSIFIED_FILE)


def plot_first_layer_weights(W1, folder: Path, W1_start=None, pixel_use=None,
                             rows: int = 6, columns: int = 6) -> Path:
    """First-layer weights as 28x28 images: each hidden unit's (784,) column of W1 (784, H).

    With W1_start (the weights before training, same shape) the figure shows, side by side, the
    weights and what training changed (W1 - W1_start) for the units that changed most: the raw
    weights still carry their random start, the change shows the strokes the unit learned.
    pixel_use (784,), the fraction of training images in which each pixel is lit, blanks the
    pixels lit in fewer than 1%: their weights hardly ever receive a gradient.
    Each image has its own colour scale, symmetric around 0.
    """
    W1 = np.asarray(W1, dtype=np.float64)
    side = int(round(np.sqrt(W1.shape[0])))
    shown = min(rows * columns, W1.shape[1])
    panels = [("the weights after training", W1)]
    units = np.arange(shown)
    if W1_start is not None:
        change = W1 - np.asarray(W1_start, dtype=np.float64)
        units = np.argsort(-np.linalg.norm(change, axis=0), kind="stable")[:shown]
        panels.append(("what training changed: after minus before", change))
    fig = Figure(figsize=(6.3 * len(panels) + 0.6, 1.05 * rows + 1.2), layout="constrained")
    fig.get_layout_engine().set(wspace=0.08)  # keep the two panels visibly apart
    which = "that changed most" if W1_start is not None else "(the first ones)"
    fig.suptitle(f"First-layer weights of {shown} of the {W1.shape[1]} hidden units {which}, each a "
                 f"28x28 image ({WEIGHT_KEY})"
                 + ("\nWhite: pixels lit in fewer than 1% of the training images, whose weights "
                    "hardly ever change" if pixel_use is not None else ""), fontsize=11)
    for ax, (title, weights) in zip(fig.subplots(1, len(panels), squeeze=False).flat, panels):
        tiles = weights[:, units].T.copy()
        if pixel_use is not None:
            tiles[:, np.asarray(pixel_use) < RARE_PIXEL] = np.nan
        tiles /= np.maximum(np.nanmax(np.abs(tiles), axis=1, keepdims=True), 1e-12)
        _mosaic_axes(fig, mosaic(tiles.reshape(-1, side, side), columns, gap=3), WEIGHT_COLOURS, -1, 1, ax)
        ax.set_title(title, fontsize=11)
    return _save(fig, folder, WEIGHTS_FILE)


def _band(ax, x, curves, colour, label):
    """Mean of curves (K, T) as a line, their min-max as a band when K > 1."""
    curves = np.asarray(curves, dtype=np.float64)
    ax.plot(x, curves.mean(axis=0), color=colour, linewidth=1.8, label=label)
    if len(curves) > 1:
        ax.fill_between(x, curves.min(axis=0), curves.max(axis=0), color=colour, alpha=0.2,
                        linewidth=0)


def plot_init_experiment(runs: dict, iterations_per_epoch: int, title: str, folder: Path) -> Path:
    """Loss and validation accuracy of each initialisation, first epoch and whole run.

    runs maps a label ("random_init (scale 0.01)") to a list of Histories, one per seed, all of
    the same length; with several seeds the line is the mean and the band spans min to max.
    """
    colours = ["tab:red", "tab:blue", "tab:green", "tab:purple"]
    fig = Figure(figsize=(13, 8.5), layout="constrained")
    fig.suptitle(title, fontsize=13)
    (loss_first, loss_all), (acc_first, acc_all) = fig.subplots(2, 2)
    # The first epoch is where one hidden layer shows the difference: smooth it lightly.
    detail_window, run_window = max(1, iterations_per_epoch // 100), max(1, iterations_per_epoch // 20)
    lowest_accuracy = 1.0
    for colour, (label, histories) in zip(colours, runs.items()):
        iterations = np.arange(1, len(histories[0].batch_loss) + 1)
        first = iterations <= iterations_per_epoch
        _band(loss_first, iterations[first],
              [running_mean(np.asarray(h.batch_loss)[first], detail_window) for h in histories], colour, label)
        _band(loss_all, iterations, [running_mean(h.batch_loss, run_window) for h in histories], colour, label)
        at = np.array([iteration for iteration, _, _ in histories[0].evals])
        accuracies = np.array([[accuracy for _, _, accuracy in h.evals] for h in histories])
        first_evals = at <= iterations_per_epoch
        _band(acc_first, at[first_evals], accuracies[:, first_evals], colour, label)
        _band(acc_all, at, accuracies, colour, label)
        lowest_accuracy = min(lowest_accuracy, float(accuracies.min()))
    for ax, window in ((loss_first, detail_window), (loss_all, run_window)):
        ax.axhline(np.log(10), color="0.4", linestyle="--", linewidth=1)
        ax.text(0.99, np.log(10) + 0.03, "log 10 = 2.30: a uniform guess", ha="right", va="bottom",
                transform=ax.get_yaxis_transform(), fontsize=9, color="0.3")
        ax.set_ylabel(f"training loss (mean of {window} batches)")
        ax.set_ylim(0, 2.75)
        ax.legend(loc="upper right", bbox_to_anchor=(1, 0.86), fontsize=9)
    for ax in (acc_first, acc_all):
        ax.set_ylabel("validation accuracy")
        ax.set_ylim(np.floor(lowest_accuracy * 10 - 0.2) / 10 if lowest_accuracy > 0.2 else 0, 1)
        ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
        ax.legend(loc="lower right", fontsize=9)
    for ax in (loss_first, acc_first):
        ax.set_xlim(0, iterations_per_epoch)
        ax.set_xlabel("iteration, first epoch")
    for ax in (loss_all, acc_all):
        ax.set_xlim(0, len(next(iter(runs.values()))[0].batch_loss))
        ax.set_xlabel("iteration")
        _epoch_axis(ax, iterations_per_epoch)
    loss_first.set_title("Training loss, first epoch in detail")
    loss_all.set_title("Training loss, whole run")
    acc_first.set_title("Validation accuracy, first epoch in detail")
    acc_all.set_title("Validation accuracy, whole run")
    for ax in (loss_first, loss_all, acc_first, acc_all):
        ax.grid(True, alpha=0.3)
    return _save(fig, folder, EXPERIMENT_FILE)


FILTERS_FILE = "first_layer_filters.png"


def plot_conv_filters(W1, b1, image, folder: Path) -> Path:
    """A CNN's first-layer filters W1 (F, 1, K, K) and what each one makes of one image (28x28).

    Each filter's K x K weights (WEIGHT_KEY), and below it the filter's
    output after ReLU for the image ("same" padding), 8 filters to a band.
    """
    from numpy.lib.stride_tricks import sliding_window_view

    W1 = np.asarray(W1, dtype=np.float64)
    filters, kernel = W1.shape[0], W1.shape[2]
    pad = kernel // 2
    padded = np.pad(np.asarray(image, dtype=np.float64).reshape(28, 28), pad)
    windows = sliding_window_view(padded, (kernel, kernel))  # (28, 28, K, K)
    responses = np.maximum(np.einsum("ijpq,fpq->fij", windows, W1[:, 0]) + np.asarray(b1)[:, None, None], 0)
    per_row = min(filters, 8)  # filters wrap after 8, each above its output, so the figure stays readable
    bands = -(-filters // per_row)
    fig = Figure(figsize=(1.4 * per_row + 1.6, 3.0 * bands + 0.6), layout="constrained")
    fig.suptitle(f"First-layer filters ({WEIGHT_KEY}; each on its own scale)\n"
                 "and below each, its ReLU output for one training digit", fontsize=11)
    axes = fig.subplots(2 * bands, per_row + 1, squeeze=False)
    axes[1, 0].imshow(image.reshape(28, 28), cmap="gray_r")
    axes[1, 0].set_title("input", fontsize=9)
    for f in range(filters):
        band, column = divmod(f, per_row)
        top, bottom = axes[2 * band, column + 1], axes[2 * band + 1, column + 1]
        limit = np.abs(W1[f, 0]).max() or 1.0
        top.imshow(W1[f, 0], cmap=WEIGHT_COLOURS, vmin=-limit, vmax=limit)
        top.set_title(f"filter {f + 1}", fontsize=9)
        bottom.imshow(responses[f], cmap=MAP_COLOURS)
    for f in range(filters, bands * per_row):  # empty places in the last band
        band, column = divmod(f, per_row)
        axes[2 * band, column + 1].axis("off")
        axes[2 * band + 1, column + 1].axis("off")
    for ax in axes.flat:
        ax.set_xticks([])
        ax.set_yticks([])
    for row in range(2 * bands):
        if row != 1:
            axes[row, 0].axis("off")
    return _save(fig, folder, FILTERS_FILE)


def plot_fixed_digits(images, labels, mlp_predictions, fixed, folder: Path, name: str, rows: int = 4,
                      columns: int = 8) -> Path:
    """Test digits the CNN reads and the MLP did not, as folder/name: images (N, 784), labels (N,), the
    MLP's predictions (N,), fixed the indices of those digits."""
    shown = np.asarray(fixed, dtype=int)[: rows * columns]
    title = f"{len(fixed):,} test digits the CNN reads and the Part I MLP got wrong (the first {len(shown)})"
    captions = [f"a {labels[i]}; the MLP\nsaid {mlp_predictions[i]}" for i in shown]
    fig, _ = _captioned_digits(images[shown], captions, title, columns, rows)
    return _save(fig, folder, name)
