"""The kata's Markdown: every relative link and image in every Markdown file of the repository
points to a file that exists (and, with a #fragment, to a heading that exists), so that moving a
section or renaming a file cannot leave a dead link behind.

External links (http, https, mailto) are not followed: the tests run offline.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from urllib.parse import unquote

import pytest

from checker.project import ROOT

# Folders that are not the kata's own Markdown: a virtual environment made in the clone (the
# Quick start makes .venv/), build output, the learner's runs and progress.
SKIPPED_DIRS = {"runs", "build", "dist", "venv", "node_modules", "__pycache__"}
FENCE = re.compile(r"^\s*(```|~~~)")
HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
# [text](target) and ![alt](target); the text may hold `code` and brackets one level deep.
LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\[\]]*\])*\]\(\s*<?([^()\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
INLINE_CODE = re.compile(r"`[^`]*`")


def markdown_files() -> list[Path]:
    found = []
    for folder, dirs, files in os.walk(ROOT):
        dirs[:] = sorted(d for d in dirs if d not in SKIPPED_DIRS and not d.endswith(".egg-info")
                         and (not d.startswith(".") or d in (".github", ".ci")))
        found += [Path(folder) / name for name in sorted(files) if name.endswith(".md")]
    return found


def prose_lines(text: str) -> list[str]:
    """The lines outside fenced code blocks."""
    lines, fenced = [], False
    for line in text.splitlines():
        if FENCE.match(line):
            fenced = not fenced
            continue
        if not fenced:
            lines.append(line)
    return lines


def github_anchor(heading: str) -> str:
    """The id GitHub gives a heading: its text without markup, lower case, punctuation dropped
    (letters, digits, '_' and '-' stay), each space a '-'."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading)
    text = re.sub(r"[^\w\- ]", "", text.lower())
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    seen: dict[str, int] = {}
    for line in prose_lines(path.read_text(encoding="utf-8")):
        match = HEADING.match(line)
        if match:
            slug = github_anchor(match.group(2))
            count = seen.get(slug, 0)
            seen[slug] = count + 1
            if count:
                seen[f"{slug}-{count}"] = 1
    return set(seen)


def relative_links(path: Path) -> list[str]:
    links = []
    for line in prose_lines(path.read_text(encoding="utf-8")):
        # `code` is not a link, though a link's text may be code: drop brackets inside code spans
        links += LINK.findall(INLINE_CODE.sub(lambda m: re.sub(r"[\[\]()]", "", m.group(0)), line))
    return [link for link in links if not re.match(r"^[a-z][a-z0-9+.-]*:", link)]


def test_the_kata_has_markdown_files_and_they_are_found():
    names = {path.relative_to(ROOT).as_posix() for path in markdown_files()}
    assert {"README.md", "data/README.md"} <= names, names
    assert not any(name.startswith((".venv/", ".git/")) for name in names)


@pytest.mark.parametrize("path", markdown_files(), ids=lambda p: p.relative_to(ROOT).as_posix())
def test_every_relative_link_points_to_a_file_and_heading_that_exist(path):
    dead = []
    for link in relative_links(path):
        target, _, fragment = link.partition("#")
        file = (path.parent / unquote(target)).resolve() if target else path
        if not file.is_relative_to(ROOT.resolve()):
            dead.append(f"{link}: outside the repository")
        elif not file.exists():
            dead.append(f"{link}: no such file")
        elif fragment and file.suffix == ".md" and fragment not in anchors(file):
            dead.append(f"{link}: {file.relative_to(ROOT.resolve()).as_posix()} has no heading #{fragment}")
    assert not dead, f"{path.relative_to(ROOT)} has dead links:\n" + "\n".join(dead)


def test_the_link_checker_sees_links_images_and_anchors(tmp_path):
    page = tmp_path / "page.md"
    page.write_text("# The CNN: `kata train --model cnn`\n\n## Speed\n\n## Speed\n\n"
                    "See [`a.py`](a.py), ![picture](docs/x.png \"title\") and [the CNN](#the-cnn-kata-train---model-cnn),\n"
                    "[again](#speed-1), [web](https://example.org) and `[not a link](b.py)`.\n"
                    "```\n[in code](c.py)\n```\n", encoding="utf-8")
    assert relative_links(page) == ["a.py", "docs/x.png", "#the-cnn-kata-train---model-cnn", "#speed-1"]
    assert anchors(page) == {"the-cnn-kata-train---model-cnn", "speed", "speed-1"}


def test_the_readme_stays_a_front_door():
    """README.md is what a newcomer reads first: short, with the details a link away in docs/ and
    CONTRIBUTING.md, each of which it links to."""
    readme = ROOT / "README.md"
    length = len(readme.read_text(encoding="utf-8").splitlines())
    assert length < 160, f"README.md has {length} lines: move the details to docs/ or CONTRIBUTING.md"
    linked = {(ROOT / link.partition("#")[0]).resolve() for link in relative_links(readme)}
    pages = sorted((ROOT / "docs").glob("*.md")) + [ROOT / "CONTRIBUTING.md"]
    unlinked = [page.relative_to(ROOT).as_posix() for page in pages if page.resolve() not in linked]
    assert not unlinked, f"README.md links to none of: {unlinked}"
