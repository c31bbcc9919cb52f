"""The notebooks in notebooks/, one per part, generated from the registry so they never drift from it.

Each is a guided path through its part's stages (checker/stages.toml): per stage its goal, the idea
in a few lines (the opening of the stage file's docstring), its file and functions, and the cell that
checks it; at the end of the part, the training run and its experiment, whose figures show inline,
and the draw-a-digit canvas. Their cells are `%kata` magics (checker/notebook.py), the commands of the
terminal.

    python -m checker.notebooks           write notebooks/part1.ipynb, part2.ipynb, ...
    python -m checker.notebooks --check   exit 1 if a committed notebook differs from what would be written
"""

from __future__ import annotations

import argparse
import ast
import json
import sys
from pathlib import Path

from .closing import PART_TWO_RECIPE
from .project import ROOT
from .stages import Stage, part_name, part_title, stages_of_part

FOLDER = "notebooks"
# What ends each part: the training run, its experiment (or the closing comparison), and what they show.
ENDINGS = {
    1: [("Train your network on MNIST",
         "The seven stages pass: your functions make a whole network. This cell trains it on MNIST's 50,000 "
         "training images with the defaults of `kata train` (a minute or two), its progress live, then shows "
         "its figures: the loss and accuracy curves, the confusion matrix, the digits it gets wrong and what "
         "the first layer learned. `%kata train --help` lists the options.",
         "%kata train"),
        ("The initialisation experiment",
         "He initialisation against the naive random one: the same data, batches and seeds in both arms, only "
         "the initial weights differ. The figure shows what the start costs.",
         "%kata experiment init")],
    2: [("Train with the Part II recipe",
         "Your L2 penalty and dropout against overfitting, on a wider network: the recipe of the kata's results "
         "(docs/results.md). Any other mix works too: `%kata train --help`.",
         "%" + PART_TWO_RECIPE),
        ("The regularisation experiment",
         "No regularisation, L2, dropout and both, on a small training set where overfitting shows, each arm "
         "with the same data, batches and seeds. Two more experiments of Part II: `%kata experiment optimizers` "
         "(SGD, momentum and Adam) and `%kata experiment depth` (1 to 8 hidden layers, with and without batch "
         "norm).",
         "%kata experiment regularization")],
    3: [("Train your CNN",
         "Your convolution and pooling, with your Part I functions, make a convolutional network. kata first "
         "times one batch of your functions: a run estimated over 10 minutes (loop versions of conv2d or "
         "maxpool) starts only with `--yes`, and kata says which function makes it long.",
         "%kata train --model cnn"),
        ("Your three networks",
         "Every stage passes: the report compares your Part I network, your best Part II run and your CNN on "
         "the same 10,000 test digits.",
         "%kata --no-train")],
}
CANVAS = ("Draw a digit",
          "Your newest network reads what you draw, with the same script as its web page (`kata report`). Under "
          "it, your own forward functions in `exercises/` read the same 28x28 image in the kernel: the two "
          "answers agree when your functions do what the reference does.",
          "%kata canvas")


def notebook_path(part: int, root: Path = ROOT) -> Path:
    return Path(root) / FOLDER / f"part{part}.ipynb"


def parts() -> list[int]:
    from .stages import all_stages

    return sorted({stage.part for stage in all_stages()})


def idea(stage: Stage, root: Path = ROOT) -> str:
    """The opening of the stage file's docstring (after its title line), as Markdown: its first
    paragraph, and the formula block after it when the paragraph ends with a colon."""
    try:
        docstring = ast.get_docstring(ast.parse((Path(root) / stage.solution).read_text(encoding="utf-8"))) or ""
    except (OSError, SyntaxError):
        return ""
    paragraphs = [p for p in docstring.split("\n\n")[1:] if p.strip()]
    if not paragraphs:
        return ""
    kept = [" ".join(paragraphs[0].split())]
    if kept[0].endswith(":") and len(paragraphs) > 1:
        kept.append("\n".join("    " + line.strip() if line.strip() else "" for line in paragraphs[1].splitlines()))
    return "\n\n".join(kept)


def stage_cells(stage: Stage, root: Path = ROOT) -> list[tuple[str, str]]:
    functions = ", ".join(f"`{task}()`" for task in stage.tasks)
    text = (f"## Stage {stage.number}: {stage.title}\n\n"
            f"**{stage.goal}**\n\n"
            f"{idea(stage, root)}\n\n"
            f"Your file: [{stage.exercise}](../{stage.exercise}), with {functions}. Its docstrings give the "
            f"formula, the shapes, the edge cases and an example. Write the functions there, or in a cell of your "
            f"own whose first line is `%%kata write {stage.id}`, then run the check. Stuck? `%kata hint {stage.id}` "
            f"gives the next hint.")
    return [("markdown", text), ("code", f"%kata check {stage.id}")]


def introduction(part: int) -> str:
    stages = stages_of_part(part)
    span = f"stage {stages[0].number}" if len(stages) == 1 else f"stages {stages[0].number}-{stages[-1].number}"
    optional = "" if part == 1 else (f" {part_name(part)} is optional: your network, `kata train` and `kata predict` "
                                     "are complete without it.")
    return (f"# {part_title(part)} ({span})\n\n"
            f"The kata in a notebook: you build a handwritten-digit classifier from scratch in NumPy, one concept "
            f"at a time, and train it on MNIST with your own code.{optional}\n\n"
            "**How it works.** Your code lives in `exercises/`, one file per stage: the kata checks and trains "
            "those files, whatever this notebook holds. Write a stage's functions in its file (its section below "
            "links to it), "
            "or in a cell of your own that starts with `%%kata write STAGE`: the cell's functions go into the file "
            "(your previous version is saved in `.kata/backups/` first), and the stage is checked at once. For "
            "example:\n\n"
            "```python\n%%kata write one_hot\nimport numpy as np\n\ndef one_hot(labels, num_classes=10):\n"
            "    ...\n```\n\n"
            "Every command of the terminal works here as a magic: `%kata` (where you are), `%kata check STAGE`, "
            "`%kata hint STAGE`, `%kata train`, `%kata experiment NAME`, `%kata predict`, `%kata --help`. Your code "
            "runs in a separate process with the kata's time limit, so an endless loop in a stage is stopped and "
            "this notebook carries on. The first cell loads the magics; the second shows where you are (it never "
            "starts a training: that has its own cell at the end).")


def cells(part: int, root: Path = ROOT) -> list[tuple[str, str]]:
    found = [("markdown", introduction(part)),
             ("code", "%load_ext checker.notebook"),
             ("code", "%kata --no-train")]
    for stage in stages_of_part(part):
        found += stage_cells(stage, root)
    for title, text, command in ENDINGS.get(part, []) + [CANVAS]:
        found += [("markdown", f"## {title}\n\n{text}"), ("code", command)]
    return found


def render(part: int, root: Path = ROOT) -> str:
    """The notebook of a part as nbformat 4.5 JSON, as Jupyter writes it (indent 1), without outputs."""
    notebook_cells = []
    for number, (kind, text) in enumerate(cells(part, root), start=1):
        cell = {"cell_type": kind, "id": f"part{part}-{number:02d}", "metadata": {},
                "source": text.splitlines(keepends=True)}
        if kind == "code":
            cell.update(execution_count=None, outputs=[])
        notebook_cells.append(cell)
    notebook = {
        "cells": notebook_cells,
        "metadata": {"kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"},
                     "language_info": {"name": "python"}},
        "nbformat": 4, "nbformat_minor": 5,
    }
    return json.dumps(notebook, indent=1, ensure_ascii=False) + "\n"


def stale(root: Path = ROOT) -> list[Path]:
    """The notebooks whose committed file differs from what would be written (or is missing)."""
    out = []
    for part in parts():
        path = notebook_path(part, root)
        try:
            if path.read_text(encoding="utf-8") == render(part, root):
                continue
        except OSError:
            pass
        out.append(path)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m checker.notebooks",
                                     description="Write notebooks/part<N>.ipynb, one per part, from the registry.")
    parser.add_argument("--check", action="store_true", help="only check; exit 1 if a notebook is out of date")
    args = parser.parse_args(argv)
    if args.check:
        differing = stale()
        for path in differing:
            print(f"{path.relative_to(ROOT).as_posix()} is out of date. Run: python -m checker.notebooks")
        return 1 if differing else 0
    for part in parts():
        path = notebook_path(part)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(render(part), encoding="utf-8")
        print(f"wrote {path.relative_to(ROOT).as_posix()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
