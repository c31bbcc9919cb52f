"""The kata's notebooks run in a real Jupyter kernel (ipykernel, driven by nbclient) in a learner's copy of
the kata (checker_sandbox.Sandbox), for selftests/test_notebook.py and test_notebook_browser.py.

The kernel imports the checker under test (PYTHONPATH: this clone), whose %load_ext checker.notebook
then hands over to the copy's own checker, as it does for a learner whose installed kata belongs to
another clone. KATA_NOTEBOOK_QUICK=1 makes the training and experiment cells short (checker/notebook.py).
"""

from __future__ import annotations

import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from checker.project import ROOT
from checker.stages import all_stages

from checker_sandbox import Sandbox

CELL_TIMEOUT = 600  # seconds a cell may take on a busy machine (a training, an experiment)


def missing_jupyter() -> str:
    """Why a kernel cannot be started here, or "" when it can."""
    for module in ("nbclient", "nbformat", "ipykernel", "anywidget"):
        try:
            __import__(module)
        except ImportError:
            return f"{module} is not installed (pip install -e '.[notebook]')"
    return ""


def require_jupyter() -> None:
    reason = missing_jupyter()
    if reason:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true but the notebook tests cannot run: {reason}")
        pytest.skip(f"no Jupyter kernel for the notebook tests: {reason}")


def learner_copy(path: Path, solved: bool | int) -> Sandbox:
    """A learner's copy with the notebooks and MNIST (linked); solved: every stage the reference's (True),
    or the stages of Part I to Part `solved` (a number)."""
    box = Sandbox(path)
    if solved:
        box.solve(*[stage.id for stage in all_stages() if solved is True or stage.part <= solved])
    shutil.copytree(ROOT / "notebooks", path / "notebooks")
    (path / "data").symlink_to(ROOT / "data", target_is_directory=True)
    return box


def kernel_environment(**extra: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KATA_") and k not in ("NO_COLOR", "COLUMNS")}
    env.update(PYTHONPATH=str(ROOT), KATA_NOTEBOOK_QUICK="1", MPLBACKEND="Agg", **extra)
    return env


@dataclass
class Kernel:
    """One kernel working in folder (a copy's notebooks/), running notebooks and cells one after another."""

    folder: Path
    env: dict
    ran: list = field(default_factory=list)  # (name, notebook) of every notebook run, in order

    def __post_init__(self):
        from jupyter_client.manager import start_new_kernel

        self.manager, self.client = start_new_kernel(kernel_name="python3", cwd=str(self.folder), env=self.env,
                                                     startup_timeout=120)

    def run(self, notebook, name: str = ""):
        """Execute notebook (an nbformat node) in this kernel; errors stay in the outputs."""
        from nbclient import NotebookClient

        NotebookClient(notebook, km=self.manager, timeout=CELL_TIMEOUT, allow_errors=True,
                       resources={"metadata": {"path": str(self.folder)}}).execute()
        self.ran.append((name, notebook))
        keep = os.environ.get("KATA_NOTEBOOKS")  # a folder to keep the executed notebooks in, to look at them
        if keep:
            import nbformat

            Path(keep).mkdir(parents=True, exist_ok=True)
            nbformat.write(notebook, Path(keep) / f"{self.folder.parent.name}-{Path(name).stem}.ipynb")
        return notebook

    def run_file(self, name: str):
        import nbformat

        return self.run(nbformat.read(self.folder / name, as_version=4), name)

    def run_cells(self, *sources: str):
        import nbformat

        notebook = nbformat.v4.new_notebook()
        notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
        notebook.cells = [nbformat.v4.new_code_cell(source) for source in sources]
        return self.run(notebook, "cells")

    def close(self) -> None:
        try:
            self.client.stop_channels()
        finally:
            self.manager.shutdown_kernel(now=True)


def code_cells(notebook) -> list:
    return [cell for cell in notebook.cells if cell.cell_type == "code"]


def cell(notebook, source: str):
    """The code cell whose source is exactly source (the first one)."""
    found = [c for c in code_cells(notebook) if c.source.strip() == source]
    assert found, f"no cell {source!r} in the notebook"
    return found[0]


def kata_outputs(c) -> list[dict]:
    """The metadata["kata"] of each output of a cell that carries one (the %kata magics' outputs)."""
    return [out.metadata["kata"] for out in c.outputs if "kata" in out.get("metadata", {})]


def exit_code(c):
    codes = [m.get("exit_code") for m in kata_outputs(c) if "exit_code" in m]
    return codes[-1] if codes else None


def text(c) -> str:
    """Everything the cell shows, as plain text (streams, the plain words of displays, errors)."""
    parts = []
    for out in c.outputs:
        if out.output_type == "stream":
            parts.append(out.text)
        elif out.output_type == "error":
            parts.append(f"{out.ename}: {out.evalue}")
        elif "text/plain" in out.get("data", {}):
            parts.append(out.data["text/plain"])
    return "\n".join(parts)


def html(c) -> str:
    return "\n".join(out.data["text/html"] for out in c.outputs if "text/html" in out.get("data", {}))


def errors(notebook) -> list[str]:
    """Cells that raised (a Python traceback in the output), as 'source: error'."""
    return [f"{c.source[:60]}: {out.ename}: {out.evalue}" for c in code_cells(notebook)
            for out in c.outputs if out.output_type == "error"]


def pictures(c) -> int:
    return sum(1 for out in c.outputs if "image/png" in out.get("data", {}))


def seconds(c) -> float:
    """How long the cell ran, from nbclient's timing in its metadata."""
    from datetime import datetime

    timing = c.metadata.get("execution", {})
    start, end = timing.get("iopub.execute_input"), timing.get("shell.execute_reply")
    parse = lambda stamp: datetime.fromisoformat(stamp.replace("Z", "+00:00"))  # noqa: E731
    return (parse(end) - parse(start)).total_seconds() if start and end else float("nan")


def wait_for(predicate, timeout: float, what: str, step: float = 0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(step)
    raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
