"""The draw-a-digit canvas in a notebook (`%kata canvas`, checker/notebook.py): an anywidget that shares
report.html's script, and asks the learner's own functions in the kernel.

In the browser, KataDigits (checker/assets/digits.js, the script report.html inlines too) draws, brings
the drawing to MNIST's form as `kata predict` does, and runs the run's network (the newest usable run,
or the one given) on every stroke. At the end of each stroke the 28x28 image comes to the kernel,
where the learner's own forward functions in exercises/ read it with the run's weights, in a child
process with the kata's limits (checker.live_forward): their answer is shown under the bars, with
whether it agrees. Front-end only, like checker/notebook.py: nothing in the core imports it.
"""

from __future__ import annotations

import math
from pathlib import Path

import anywidget
import traitlets

from . import page, runs
from .errors import KataError
from .project import display_path

ASSETS = Path(__file__).with_name("assets")
PIXELS = page.SIDE * page.SIDE
KERNEL_NOTE = "At the end of each stroke, your forward functions in exercises/ read the same 28x28 image here."
AGREE = 1e-4  # the kernel's probabilities and the page's agree when no two differ by more than this


def _asset(name: str) -> str:
    return (ASSETS / name).read_text(encoding="utf-8")


class KataCanvas(anywidget.AnyWidget):
    """Draw a digit: the run's network reads it in the browser, the learner's functions in the kernel."""

    _esm = _asset("digits.js") + "\n" + _asset("canvas.js")
    _css = _asset("canvas.css")
    network = traitlets.Dict().tag(sync=True)  # checker.page.network_data: the weights as base64 float32
    about = traitlets.Unicode("").tag(sync=True)
    unsure_below = traitlets.Float(page.UNSURE_BELOW).tag(sync=True)
    small_drawing = traitlets.Float(page.SMALL_DRAWING).tag(sync=True)
    kernel_on = traitlets.Bool(True).tag(sync=True)
    kernel_note = traitlets.Unicode(KERNEL_NOTE).tag(sync=True)
    image = traitlets.Dict().tag(sync=True)  # from the browser: {"number": n, "pixels": [784 values]}
    kernel = traitlets.Dict().tag(sync=True)  # to the browser: the learner's answer to image number n

    _newest = None  # the last canvas made with the kernel's answers

    def __init__(self, run: Path | None = None, kernel: bool = True, **kwargs):
        found_run = runs.Run.load(run) if run else runs.newest_usable(runs.runs_folder())
        params = runs.load_network(found_run.dir)
        found, problem = page.page_network(params, found_run.config)
        if found is None:
            raise KataError(f"the canvas cannot run the network of {display_path(found_run.dir, folder=True)}: {problem}. "
                            "Train one with: %kata train, or name another run with --run DIR.")
        accuracy = found_run.test_accuracy
        whose = "your functions" if found_run.impl == "exercises" else "the reference"
        about = (f"{found.describe()}, trained with {whose}, from {display_path(found_run.dir, folder=True)}"
                 + (f" (test accuracy {accuracy:.2%})" if accuracy is not None else ""))
        super().__init__(network=page.network_data(found, params), about=about, kernel_on=kernel,
                         kernel_note=KERNEL_NOTE if kernel else "Your functions in the kernel are not asked (--no-kernel).",
                         **kwargs)
        self.run = found_run
        self.params = params
        self.forward = None
        if kernel:
            from .live_forward import LearnerForward

            if KataCanvas._newest is not None and KataCanvas._newest.forward is not None:
                KataCanvas._newest.forward.close()  # one child at a time: an earlier canvas starts its own again if used
            self.forward = LearnerForward(found_run.dir)
            KataCanvas._newest = self
        self.observe(self._on_image, names="image")

    def _on_image(self, change) -> None:
        image = change["new"]
        number = image.get("number") if isinstance(image, dict) else None
        pixels = image.get("pixels") if isinstance(image, dict) else None
        if self.forward is None or not isinstance(number, int):
            return
        if not (isinstance(pixels, list) and len(pixels) == PIXELS
                and all(isinstance(v, (int, float)) and math.isfinite(v) and 0 <= v <= 1 for v in pixels)):
            self.kernel = {"number": number, "state": "error", "digit": None,
                           "text": f"The image that came from the canvas is not {PIXELS} values in [0, 1]: not read."}
            return
        self.kernel = answer_shown(number, self.forward(pixels), page_probs(self.params, pixels))

    def close(self) -> None:
        if self.forward is not None:
            self.forward.close()
            self.forward = None
        super().close()


def page_probs(params: dict, pixels: list[float]) -> list[float]:
    """The network's probabilities for the image, as the canvas computes them (the reference's forward
    pass: checker.models.predict, which the page's script matches)."""
    import numpy as np

    from . import models

    return [float(p) for p in models.predict(params, np.asarray(pixels, dtype=np.float32)[None])[0]]


def answer_shown(number: int, answer, expected: list[float]) -> dict:
    """What the canvas shows of the learner's answer (checker.live_forward.Answer) to image number."""
    if answer.probs is None:
        return {"number": number, "state": "error", "digit": None,
                "text": f"Your forward functions in the kernel: {answer.problem}"}
    probs = answer.probs
    digit = max(range(len(probs)), key=probs.__getitem__)
    text = f"Your forward functions in the kernel read {digit} ({probs[digit]:.1%} sure)"
    if len(probs) != len(expected):
        return {"number": number, "state": "differs", "digit": digit,
                "text": text + f", but give {len(probs)} probabilities, not {len(expected)}."}
    worst = max(abs(p - q) for p, q in zip(probs, expected))
    if worst <= AGREE:
        return {"number": number, "state": "agrees", "digit": digit, "text": text + ": the same as the network above."}
    return {"number": number, "state": "differs", "digit": digit,
            "text": text + f": their probabilities differ from the network's above by up to {worst:.2g}, so your "
                           "forward pass does something else than the reference's (kata check, stage by stage, says where)."}
