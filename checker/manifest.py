"""The manifest of the kata's test files: SHA-256 hashes of every stage suite and of everything else that
decides a verdict (the registry, tests/conftest.py and every Python file of checker/: plumbing()), so that
a suite edited (or rewritten to pass), a stage pointed at another suite or a checker that passes
everything is noticed before its verdict counts.

    python -m checker.manifest           maintainers: write checker/manifest.sha256 after changing a
                                         suite, the registry or any file of checker/; commit it
    python -m checker.manifest --check   say which files differ (exit 1), change nothing

The file has `sha256sum`'s format (`sha256sum -c checker/manifest.sha256` works too). Line endings
are normalised before hashing, so a checkout with CRLF line endings matches.

This catches accidents and the cheap shortcut of editing a test; it is not a defence against code
that rewrites the manifest as well (see the threat model in docs/learner.md).
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

from .project import ROOT

from .stages import all_stages

MANIFEST = "checker/manifest.sha256"
REGENERATE = "python -m checker.manifest"
# Everything besides the suites that decides a verdict: the suites' conftest.py, the registry, and every Python
# file of checker/: the test process's plumbing, the code that starts it and judges what it reports, and all
# else the `kata` command runs, which could change those in its own process (a status_text.py that patched
# StageResult.passed would pass every stage). A file added to checker/ counts too, until it is in the manifest.
VERDICT_FILES = ("tests/conftest.py", "checker/stages.toml")


def plumbing(root: Path = ROOT) -> list[str]:
    """The files besides the suites that the manifest covers, repo-relative: VERDICT_FILES, then every
    checker/**/*.py under root, sorted."""
    code = sorted(path.relative_to(root).as_posix() for path in Path(root, "checker").rglob("*.py")
                  if "__pycache__" not in path.parts)
    return [*VERDICT_FILES, *code]


def covered_files(root: Path = ROOT) -> list[str]:
    """Every file the manifest covers: the registry's suites, then the plumbing (repo-relative)."""
    files = [stage.tests for stage in all_stages()]
    return files + [path for path in plumbing(root) if path not in files]


def file_hash(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes().replace(b"\r\n", b"\n")).hexdigest()


def expected_hashes(root: Path = ROOT) -> dict[str, str]:
    """{relative path: hash} as the committed manifest says; {} when it is missing or unreadable."""
    try:
        text = (Path(root) / MANIFEST).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return {}
    hashes = {}
    for line in text.splitlines():
        digest, _, path = line.partition("  ")
        if len(digest) == 64 and path:
            hashes[path.strip()] = digest
    return hashes


def differing(paths, root: Path = ROOT) -> dict[str, str]:
    """{path: why} for each of `paths` that is missing from the manifest or differs from it."""
    expected = expected_hashes(root)
    problems = {}
    for path in paths:
        if path not in expected:
            problems[path] = "not in the manifest"
            continue
        try:
            actual = file_hash(Path(root) / path)
        except OSError:
            problems[path] = "missing"
            continue
        if actual != expected[path]:
            problems[path] = "changed"
    return problems


def manifest_text(root: Path = ROOT) -> str:
    return "".join(f"{file_hash(Path(root) / path)}  {path}\n" for path in covered_files(root))


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv not in ([], ["--check"]):
        print(f"usage: {REGENERATE} [--check]", file=sys.stderr)
        return 2
    if argv == ["--check"]:
        problems = differing(covered_files())
        for path, why in problems.items():
            print(f"{path}: {why}")
        if problems:
            print(f"If these changes are intended, write the manifest again: {REGENERATE}")
        return 1 if problems else 0
    (ROOT / MANIFEST).write_text(manifest_text(), encoding="utf-8")
    print(f"Wrote {MANIFEST}: {len(covered_files())} files. Commit it with the suites.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
