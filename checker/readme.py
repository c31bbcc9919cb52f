"""The README's stage table, generated from the registry so the two never disagree.

    python -m checker.readme           rewrite the table in README.md
    python -m checker.readme --check   exit 1 if README.md's table is out of date
"""

from __future__ import annotations

import argparse
import sys

from .project import ROOT

from .stages import all_stages, part_title, stages_of_part

README = ROOT / "README.md"
START = "<!-- stage table: generated from checker/stages.toml by `python -m checker.readme` -->"
END = "<!-- end of stage table -->"


def stage_table() -> str:
    """One table per part, under the part's heading."""
    blocks = []
    for part in sorted({stage.part for stage in all_stages()}):
        rows = [f"**{part_title(part)}**", "", "| # | Stage | Your file | Functions | What you learn |",
                "|---|---|---|---|---|"]
        for stage in stages_of_part(part):
            tasks = ", ".join(f"`{t}`" for t in stage.tasks)
            rows.append(f"| {stage.number} | {stage.title} | [`{stage.exercise}`]({stage.exercise}) | {tasks} | {stage.goal} |")
        blocks.append("\n".join(rows))
    return "\n\n".join(blocks)


def with_table(text: str) -> str:
    """text with the block between START and END replaced by the current table."""
    if START not in text or END not in text:
        raise SystemExit(f"README.md has no stage table markers; add the lines\n{START}\n{END}")
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{START}\n{stage_table()}\n{END}{tail}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m checker.readme", description="Regenerate README.md's stage table.")
    parser.add_argument("--check", action="store_true", help="only check; exit 1 if the table is out of date")
    args = parser.parse_args(argv)
    text = README.read_text(encoding="utf-8")
    updated = with_table(text)
    if args.check:
        if updated != text:
            print("README.md's stage table is out of date. Run: python -m checker.readme")
            return 1
        return 0
    README.write_text(updated, encoding="utf-8")
    print("wrote the stage table in README.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
