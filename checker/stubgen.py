"""Derive the learner's stubs (exercises/) from the reference solutions (solutions/).

Every solution body sits between two marker lines:

        # BEGIN SOLUTION
        ...reference code...
        # END SOLUTION

A stub is the solution module with each marked block replaced by a `raise NotImplementedError`
that names the stage, the function and the next step. Everything outside the markers (module and
function docstrings, signatures, imports) is copied verbatim, so stubs and solutions cannot drift.

    python -m checker.stubgen           write exercises/<module>.py for every stage
    python -m checker.stubgen --check   exit 1 if a committed stub differs from what would be written
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from .project import ROOT

from .stages import Stage, all_stages

BEGIN = "# BEGIN SOLUTION"
END = "# END SOLUTION"
_DEF = re.compile(r"^\s*def\s+(\w+)\s*\(")


class MarkerError(ValueError):
    pass


def not_started_message(stage: Stage, function: str) -> str:
    return f"not started yet: write {function}() in {stage.exercise}, then run: kata check {stage.id}"


def render_stub(stage: Stage, solution_text: str) -> str:
    """The stub for one stage, from the text of its solution module."""
    out: list[str] = []
    function = None
    inside = False
    for number, line in enumerate(solution_text.splitlines(keepends=True), start=1):
        stripped = line.strip()
        if stripped == BEGIN:
            if inside:
                raise MarkerError(f"{stage.solution} line {number}: {BEGIN} inside another solution block")
            if function is None:
                raise MarkerError(f"{stage.solution} line {number}: {BEGIN} outside a function")
            inside = True
            indent = line[: len(line) - len(line.lstrip())]
            message = not_started_message(stage, function)
            out.append(f"{indent}# Your code here: replace the raise below.\n")
            out.append(f"{indent}raise NotImplementedError(\n{indent}    {message!r}\n{indent})\n")
        elif stripped == END:
            if not inside:
                raise MarkerError(f"{stage.solution} line {number}: {END} without {BEGIN}")
            inside = False
        elif not inside:
            match = _DEF.match(line)
            if match:
                function = match.group(1)
            out.append(line)
    if inside:
        raise MarkerError(f"{stage.solution}: {BEGIN} is never closed by {END}")
    return "".join(out)


def stub_for(stage: Stage, root: Path = ROOT) -> str:
    return render_stub(stage, (root / stage.solution).read_text(encoding="utf-8"))


def stale_stubs(root: Path = ROOT) -> list[Stage]:
    """Stages whose committed exercises/ file differs from the generated stub."""
    stale = []
    for stage in all_stages():
        path = root / stage.exercise
        if not path.exists() or path.read_text(encoding="utf-8") != stub_for(stage, root):
            stale.append(stage)
    return stale


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m checker.stubgen", description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="only report stubs that differ; exit 1 if any")
    args = parser.parse_args(argv)
    if args.check:
        stale = stale_stubs()
        for stage in stale:
            print(f"{stage.exercise} differs from the stub generated from {stage.solution}")
        if stale:
            print("Run: python -m checker.stubgen")
        return 1 if stale else 0
    for stage in all_stages():
        (ROOT / stage.exercise).write_text(stub_for(stage), encoding="utf-8")
        print(f"wrote {stage.exercise}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
