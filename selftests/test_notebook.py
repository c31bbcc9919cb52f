"""The kata in Jupyter (checker/notebook.py, checker/notebooks.py, checker/canvas.py): the notebooks are the
registry's, and they run in a real kernel.

Two kernels run at once, each in a learner's copy of the kata: one where every stage is the reference's,
which executes the three notebooks of notebooks/ (KATA_NOTEBOOK_QUICK=1: the training and experiment
cells on MNIST's first 1,000 images, 2 epochs); one on the untouched stubs, which executes the same three
notebooks, then writes stages from cells (%%kata write), among them an endless loop under KATA_TIMEOUT=5.
Skipped without the notebook extra, except in CI (CI=true), where that is a failure.
"""

from __future__ import annotations

import ast
import json
import os
import re
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

import notebook_helpers as nb
from checker import cli, notebooks
from checker.notebook import ansi_to_html, strip_escapes
from checker.project import ROOT
from checker.stages import all_stages, find_stage, stages_of_part

PARTS = [f"part{part}.ipynb" for part in notebooks.parts()]
STUB_TIMEOUT = 5  # KATA_TIMEOUT of the stubs' kernel: the endless loop is stopped after it


# --- without a kernel -------------------------------------------------------------------------------

def test_the_notebooks_are_generated_from_the_registry():
    assert notebooks.stale() == [], "run: python -m checker.notebooks"
    for part in notebooks.parts():
        text = notebooks.render(part)
        for stage in stages_of_part(part):
            assert f"## Stage {stage.number}: {stage.title}" in text and f"%kata check {stage.id}" in text
            assert stage.goal in text
        for other in all_stages():
            if other.part != part:
                assert f"%kata check {other.id}\"" not in text


def test_every_kata_line_of_the_notebooks_is_a_command_kata_parses():
    for part in notebooks.parts():
        for kind, source in notebooks.cells(part):
            if kind != "code" or source.startswith("%load_ext") or source == "%kata canvas":
                continue
            assert source.startswith("%kata "), source
            args = cli.parse_args(source.split()[1:])
            assert args.handler is not None, source


def test_terminal_colours_become_html_and_everything_else_is_escaped():
    hostile = ("\x1b[1m\x1b[32mpassed\x1b[0m <script>alert(1)</script> & \"q\" \x1b]8;;javascript:alert(1)\x07link"
               "\x1b]8;;\x07 \x1b[2J\x1b[H\u202eevil \x00bell\x07 ../exercises/relu.py:12")
    shown = ansi_to_html(hostile)
    assert '<span style="color:#2e7d32;font-weight:bold">passed</span>' in shown
    assert "<script>" not in shown and "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;q&quot;" in shown
    assert "javascript" not in shown and "\x1b" not in shown and "\u202e" not in shown and "\x00" not in shown
    assert '<a href="../exercises/relu.py" style="color:inherit;text-decoration:underline dotted">../exercises/relu.py:12</a>' in shown
    assert re.fullmatch(r"(?:[^<]|<(?:span|/span|a|/a)\b[^>]*>)*", shown), "only spans and links as tags"
    assert strip_escapes(hostile).startswith("passed <script>")
    from_root = ansi_to_html("write one_hot() in exercises/one_hot.py, then run: kata check one_hot")
    expected = Path(os.path.relpath(ROOT / "exercises" / "one_hot.py")).as_posix()  # from the current folder
    assert f'<a href="{expected}" ' in from_root, from_root


# --- %%kata write, in a copy of the kata ---------------------------------------------------------------

@pytest.fixture
def copy(tmp_path):
    return nb.learner_copy(tmp_path, solved=False)


def without_docstring(source: str, name: str) -> str:
    """The source of function `name` of a module, without its docstring (as a learner writes it in a cell)."""
    tree = ast.parse(source)
    function = next(node for node in tree.body if isinstance(node, ast.FunctionDef) and node.name == name)
    lines = source.splitlines()
    body = function.body[1:]
    return "\n".join(lines[function.lineno - 1:function.body[0].lineno - 1] + lines[body[0].lineno - 1:function.end_lineno])


def test_write_puts_the_cells_function_in_place_keeping_the_files_docstring_and_a_backup(copy):
    from checker.notebook import write_cell

    stage = find_stage("one_hot")
    stub = copy.read(stage.exercise)
    cell = "import numpy as np\nimport math\n\n" + without_docstring((ROOT / stage.solution).read_text(), "one_hot")
    written = write_cell(stage, cell, root=copy.path)
    text = copy.read(stage.exercise)
    assert written.functions == ["one_hot"] and written.imports == ["import math"]
    tree = ast.parse(text)
    (function,) = [n for n in tree.body if isinstance(n, ast.FunctionDef)]
    stub_function = next(n for n in ast.parse(stub).body if isinstance(n, ast.FunctionDef))
    assert ast.get_docstring(function) == ast.get_docstring(stub_function), "the file's docstring stays"
    assert ast.get_docstring(tree) == ast.get_docstring(ast.parse(stub)), "the module's docstring stays"
    assert "raise NotImplementedError" not in text and "import math\n" in text
    (backup,) = (copy.path / ".kata" / "backups").iterdir()
    assert backup.read_text() == stub
    again = write_cell(stage, cell, root=copy.path)
    assert again.replaced is None, "the same cell again changes nothing"
    assert len(list((copy.path / ".kata" / "backups").iterdir())) == 1


@pytest.mark.parametrize("cell, words", [
    ("def one_hot(labels):\n    return labels\nprint(one_hot([1]))\n",
     "line 3 of the cell (print(one_hot([1]))) is neither an import nor a function definition"),
    ("def one_hot(labels:\n    return labels\n", "the cell has a SyntaxError on line 1"),
    ("import numpy as np\n", "the cell defines no function"),
])
def test_write_refuses_what_it_cannot_put_in_the_file_and_changes_nothing(copy, cell, words):
    from checker.errors import KataError
    from checker.notebook import write_cell

    stage = find_stage("one_hot")
    before = copy.read(stage.exercise)
    with pytest.raises(KataError) as refused:
        write_cell(stage, cell, root=copy.path)
    assert words in str(refused.value) and "\n" not in str(refused.value)
    assert copy.read(stage.exercise) == before and not (copy.path / ".kata" / "backups").exists()


def test_write_refuses_a_file_it_cannot_read_as_python(copy):
    from checker.errors import KataError
    from checker.notebook import write_cell

    copy.write("exercises/relu.py", "def relu(z:\n")
    with pytest.raises(KataError, match=r"exercises/relu.py has a SyntaxError on line 1: .* %kata reset relu --yes"):
        write_cell(find_stage("relu"), "def relu(z):\n    return z\n", root=copy.path)
    assert copy.read("exercises/relu.py") == "def relu(z:\n"


# --- the learner's forward functions, asked by the canvas -------------------------------------------------

def a_run(folder: Path) -> Path:
    """A run folder with a small MLP, as kata train leaves it (weights, summary, config)."""
    import numpy as np

    rng = np.random.default_rng(0)
    run_dir = folder / "runs" / "20250101-120000-exercises"
    run_dir.mkdir(parents=True)
    np.savez(run_dir / "weights.npz", W1=rng.normal(0, 0.1, (784, 16)).astype(np.float32),
             b1=np.zeros(16, np.float32), W2=rng.normal(0, 0.1, (16, 10)).astype(np.float32),
             b2=np.zeros(10, np.float32))
    (run_dir / "summary.json").write_text(json.dumps({"test_accuracy": 0.5, "impl": "exercises"}))
    (run_dir / "config.json").write_text(json.dumps({"impl": "exercises", "layer_sizes": [784, 16, 10]}))
    return run_dir


def test_the_learners_forward_answers_like_the_reference_and_an_endless_loop_is_stopped(copy, monkeypatch):
    import numpy as np

    from checker import models, runs
    from checker.live_forward import LearnerForward

    run_dir = a_run(copy.path)
    image = np.random.default_rng(1).random(784).astype(np.float32)
    expected = models.predict(runs.load_network(run_dir), image[None])[0]
    stubs = LearnerForward(run_dir, root=copy.path)
    try:
        answer = stubs(image)
        assert answer.probs is None and answer.problem.startswith("your functions raised NotImplementedError: "
                                                                  "not started yet: write "), answer.problem
    finally:
        stubs.close()
    copy.solve(*[stage.id for stage in stages_of_part(1)])
    forward = LearnerForward(run_dir, root=copy.path)
    try:
        assert np.abs(np.array(forward(image).probs) - expected).max() < 1e-6
        copy.edit("relu", "return np.maximum(z, 0", "while True:\n        pass\n    return np.maximum(z, 0")
        monkeypatch.setenv("KATA_TIMEOUT", "3")
        forward.close()  # a fresh child reads the edited file
        started = time.monotonic()
        with ThreadPoolExecutor(max_workers=1) as pool:  # a forward that never answers fails the test, not hangs it
            asked = pool.submit(forward, image)
            try:
                stopped = asked.result(timeout=3 + 90)
            finally:
                if not asked.done() and forward.process is not None:
                    forward.process.kill()  # the end of the child's socket: the waiting read returns
        assert stopped.probs is None and "did not answer within 3 s: is there an endless loop" in stopped.problem
        assert time.monotonic() - started < 3 + 60, "stopped by the limit (after the child's start-up)"
        assert forward.process is None, "the looping child is gone"
    finally:
        forward.close()


def test_the_canvas_shows_only_answers_it_can_vouch_for():
    nb.require_jupyter()  # checker.canvas imports anywidget
    from checker.canvas import answer_shown
    from checker.live_forward import Answer

    expected = [0.05] * 9 + [0.55]
    assert answer_shown(3, Answer(expected), expected)["state"] == "agrees"
    differs = answer_shown(3, Answer([0.55] + [0.05] * 9), expected)
    assert differs["state"] == "differs" and differs["digit"] == 0 and "differ" in differs["text"]
    failed = answer_shown(4, Answer(None, "your functions raised ValueError: <b>x</b>"), expected)
    assert failed == {"number": 4, "state": "error", "digit": None,
                      "text": "Your forward functions in the kernel: your functions raised ValueError: <b>x</b>"}


# --- the notebooks in real kernels ----------------------------------------------------------------------

HOSTILE = "<img src=x onerror=alert(1)>"
ENDLESS = "%%kata write relu\nimport numpy as np\n\ndef relu(z):\n    while True:\n        pass\n"


@pytest.fixture(scope="module")
def executed(tmp_path_factory):
    """{"reference": Kernel, "stubs": Kernel}, each having run the three notebooks (and the stubs' kernel
    the write cells), both at once."""
    nb.require_jupyter()
    reference = nb.learner_copy(tmp_path_factory.mktemp("reference"), solved=True)
    stubs = nb.learner_copy(tmp_path_factory.mktemp("stubs"), solved=False)
    one_hot = without_docstring((ROOT / "solutions" / "one_hot.py").read_text(), "one_hot")
    started = time.monotonic()

    def run_reference():
        kernel = nb.Kernel(reference.path / "notebooks", nb.kernel_environment())
        for name in PARTS:
            kernel.run_file(name)
        return kernel

    def run_stubs():
        kernel = nb.Kernel(stubs.path / "notebooks", nb.kernel_environment(KATA_TIMEOUT=str(STUB_TIMEOUT)))
        for name in PARTS:
            kernel.run_file(name)
        kernel.run_cells(
            "%load_ext checker.notebook",
            f"%%kata write one_hot\n\ndef one_hot(labels, num_classes=10):\n    raise ValueError({HOSTILE!r})\n",
            f"%%kata write one_hot\nimport numpy as np\n\n{one_hot}\n",
            "one_hot([2], 3)",
            ENDLESS,
            "1 + 1",
        )
        return kernel

    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = {"reference": pool.submit(run_reference), "stubs": pool.submit(run_stubs)}
        kernels = {name: future.result() for name, future in futures.items()}
    kernels["seconds"] = time.monotonic() - started
    kernels["copies"] = {"reference": reference, "stubs": stubs}
    yield kernels
    for name in ("reference", "stubs"):
        kernels[name].close()


def ran(kernels, which: str, name: str):
    return next(notebook for ran_name, notebook in kernels[which].ran if ran_name == name)


def test_the_notebooks_run_on_the_reference_and_every_check_passes(executed):
    for name in PARTS:
        notebook = ran(executed, "reference", name)
        assert nb.errors(notebook) == [], name
        for stage in stages_of_part(int(name[4])):
            checked = nb.cell(notebook, f"%kata check {stage.id}")
            assert nb.exit_code(checked) == 0, nb.text(checked)[-2000:]
            assert f"{stage.label} pass" in nb.text(checked), nb.text(checked)[-1000:]
    first = nb.cell(ran(executed, "reference", "part1.ipynb"), "%kata --no-train")
    assert nb.exit_code(first) == 0 and f"All {len(all_stages())} stages pass" in nb.text(first), nb.text(first)
    assert 'style="color:#2e7d32' in nb.html(first), "the report's colours, as HTML"


def test_training_and_experiment_cells_show_their_progress_and_figures_inline(executed):
    part1 = ran(executed, "reference", "part1.ipynb")
    trained = nb.cell(part1, "%kata train")
    words = nb.text(trained)
    assert nb.exit_code(trained) == 0, words[-2000:]
    assert "KATA_NOTEBOOK_QUICK=1: a short run" in words and "epoch  2/2  train loss" in words
    assert re.search(r"Test accuracy: \d+\.\d\d% on 250 test images, after 2 epochs\.", words), words
    assert nb.pictures(trained) >= 4, "the run's figures under the cell"
    experiment = nb.cell(part1, "%kata experiment init")
    assert nb.exit_code(experiment) == 0 and nb.pictures(experiment) >= 1, nb.text(experiment)[-2000:]
    part3 = ran(executed, "reference", "part3.ipynb")
    cnn = nb.cell(part3, "%kata train --model cnn")
    assert nb.exit_code(cnn) == 0 and nb.pictures(cnn) >= 4, nb.text(cnn)[-2000:]
    closing = nb.code_cells(part3)[-2]
    assert closing.source == "%kata --no-train" and "Your three networks" in nb.text(closing), nb.text(closing)
    canvas = nb.cell(part3, "%kata canvas")
    assert any("application/vnd.jupyter.widget-view+json" in out.get("data", {}) for out in canvas.outputs), \
        nb.text(canvas)


def test_on_the_untouched_stubs_the_first_check_teaches_stage_1_and_nothing_raises(executed):
    part1 = ran(executed, "stubs", "part1.ipynb")
    assert nb.errors(part1) == []
    status = nb.cell(part1, "%kata --no-train")
    assert nb.exit_code(status) == 1 and "▶  1  One-hot encoding    not started" in nb.text(status)
    first = [c for c in nb.code_cells(part1) if c.source.startswith("%kata check")][0]
    words = nb.text(first)
    assert first.source == "%kata check one_hot" and nb.exit_code(first) == 1
    assert "not started yet: write one_hot() in exercises/one_hot.py, then run: kata check one_hot" in words
    assert re.search(r"Stage 1 \(One-hot encoding\): 0 of \d+ tests passing; still to do: one_hot\(\)\.", words), words
    assert "Error:" not in words and "Traceback" not in words
    for name in PARTS:
        notebook = ran(executed, "stubs", name)
        assert nb.errors(notebook) == [], name
        for stage in stages_of_part(int(name[4])):
            assert nb.exit_code(nb.cell(notebook, f"%kata check {stage.id}")) == 1, stage.id
    trained = nb.cell(part1, "%kata train")
    assert nb.exit_code(trained) == 1 and "Error: Stage 1 (One-hot encoding) does not pass yet" in nb.text(trained)
    canvas = nb.cell(part1, "%kata canvas")
    assert "Error: there is no trained network in ../runs/ yet" in nb.text(canvas), nb.text(canvas)


def test_a_cell_writes_a_stage_into_its_file_and_an_endless_loop_leaves_the_kernel_alive(executed):
    box = executed["copies"]["stubs"]
    hostile, solved, tried, endless, alive = nb.code_cells(executed["stubs"].ran[-1][1])[1:]
    assert HOSTILE not in nb.html(hostile) and "&lt;img src=x onerror=alert(1)&gt;" in nb.html(hostile), \
        "a message of the learner's code is escaped"
    words = nb.text(solved)
    assert "Wrote one_hot() into ../exercises/one_hot.py" in words and "saved in ../.kata/backups/" in words, words
    assert nb.exit_code(solved) == 0 and "Stage 1 (One-hot encoding) passed" in words, words[-1500:]
    assert len(list((box.path / ".kata" / "backups").glob("*-one_hot*.py"))) == 2, "a backup before each write"
    assert "raise NotImplementedError" not in box.read("exercises/one_hot.py")
    assert "array([[0., 0., 1.]])" in nb.text(tried), "the cell's function is defined in the notebook too"
    words = nb.text(endless)
    assert nb.exit_code(endless) == 1 and "Wrote relu() into ../exercises/relu.py" in words
    assert f"stopped after {STUB_TIMEOUT} s: is there an endless loop" in words, words[-1500:]
    assert nb.seconds(endless) < STUB_TIMEOUT + 60, "stopped by the kata's limit (after pytest's start-up)"
    assert nb.text(alive) == "2", "the kernel is alive"
