"""`kata status --json`: a learner's progress as one JSON document, for teachers and CI.

The format is versioned ("schema": 1) and described by checker/status.schema.json and docs/teachers.md
("`kata status --json`"). Stages come in curriculum order and every object's fields in a fixed order,
so two runs on the same code print the same bytes apart from "generated_at".

    status_document(run)      the document (a dict) for a RunResult of every stage
    render(document)          its text: indented JSON and a final newline
    load_status(path)         (document, None) or (None, why the file is not a status document)
    markdown_summary(doc)     the Markdown table the GitHub workflow writes as the job summary

    python -m checker.status_json --summary FILE    print that table (used by .github/workflows/kata.yml)
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from datetime import datetime, timezone
from functools import lru_cache
from pathlib import Path

from . import manifest, runs
from .results import RunResult, StageResult
from .schema_check import problems
from .project import ROOT

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

SCHEMA_VERSION = 1
SCHEMA_PATH = Path(__file__).with_name("status.schema.json")
FAILURE_LINES = 6  # first_failure keeps this many lines of the message ...
FAILURE_CHARS = 600  # ... and at most this many characters (the schema allows 800)
STATES = ("passed", "failing", "not started", "locked")


def status_document(run: RunResult, root: Path = ROOT, generated_at: str | None = None) -> dict:
    """The status document of `run` (a run of every stage, in order, as `kata status` makes it)."""
    passed = 0
    for result in run.stages:
        if not result.passed:
            break
        passed += 1
    current = run.first_unpassed()
    training = runs.last_learner_run(root)
    return {
        "schema": SCHEMA_VERSION,
        "kata": {"name": "mnist-kata", "version": kata_version(root)},
        "generated_at": generated_at or timestamp(),
        "learner": os.environ.get("KATA_LEARNER", "").strip() or None,
        "stages_passed": passed,
        "stages_total": len(run.stages),
        "current_stage": current.stage.id if current else None,
        "stages": [stage_entry(result) for result in run.stages],
        "integrity": integrity_verdict(root),
        "last_training_run": None if training is None else {
            "test_accuracy": training.test_accuracy, "path": training.relative_dir(root)},
    }


def stage_entry(result: StageResult) -> dict:
    stage = result.stage
    state = stage_state(result)
    failing = [t for t in result.failures() if t.kind != "not_started"]
    if result.problem:
        first = result.problem
    elif failing:
        first = f"{failing[0].name}: {failing[0].message.strip()}"
    else:
        first = None
    return {
        "number": stage.number,
        "id": stage.id,
        "title": stage.title,
        "part": stage.part,
        "state": state,
        "tests_passed": result.passing_count if result.ran else 0,
        "tests_total": result.total,
        "failing_tests": [t.name for t in failing],
        "first_failure": shorten(first, stage.number) if first else None,
    }


def stage_state(result: StageResult) -> str:
    """passed, failing, not started (every test meets a stub that still raises), or locked (not run)."""
    if result.passed:
        return "passed"
    if not result.ran:
        return "locked"
    failures = result.failures()
    if (not result.problem and result.passing_count == 0 and failures
            and all(t.kind == "not_started" for t in failures)):
        return "not started"
    return "failing"


def shorten(message: str, stage_number: int) -> str:
    lines = message.rstrip().splitlines() or ["(no message)"]
    text = "\n".join(lines[:FAILURE_LINES])
    if len(lines) > FAILURE_LINES or len(text) > FAILURE_CHARS:
        text = text[:FAILURE_CHARS].rstrip() + f"\n... (kata check {stage_number} shows all of it)"
    return text


def timestamp() -> str:
    """Now in UTC, to the second; SOURCE_DATE_EPOCH (the reproducible-builds convention) fixes it."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    moment = datetime.fromtimestamp(int(epoch), timezone.utc) if epoch.isdigit() else datetime.now(timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def kata_version(root: Path = ROOT) -> str:
    """The version in pyproject.toml (a learner works in a checkout), else the installed package's."""
    try:
        with Path(root, "pyproject.toml").open("rb") as file:
            return str(tomllib.load(file)["project"]["version"])
    except (OSError, ValueError, KeyError, TypeError):
        pass
    try:
        from importlib.metadata import PackageNotFoundError, version

        return version("mnist-kata")
    except (ImportError, PackageNotFoundError):
        return "unknown"


def integrity_verdict(root: Path = ROOT) -> dict:
    """Whether the suites and the test plumbing match checker/manifest.sha256 (see checker/manifest.py)."""
    if not Path(root, manifest.MANIFEST).is_file():
        return {"checked": False, "reason": f"{manifest.MANIFEST} is missing"}
    modified = sorted(manifest.differing(manifest.covered_files(root), root))
    return {"checked": True, "ok": not modified, "modified": modified}


def modified_message(modified: list[str]) -> str:
    """The learner's one line when the files integrity_verdict() names differ from the kata's copies."""
    shown = ", ".join(modified[:4]) + (f" and {len(modified) - 4} more" if len(modified) > 4 else "")
    one = len(modified) == 1
    return (f"Error: {shown} {'differs' if one else 'differ'} from the kata's copy (the kata's tests, or the code that "
            f"runs and judges them), so no stage counts as passed, whatever the report above says. Restore "
            f"{'it' if one else 'them'} with: git checkout -- {' '.join(modified)}")


def render(document: dict) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


@lru_cache(maxsize=None)
def schema() -> dict:
    return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))


def load_status(path: Path) -> tuple[dict | None, str | None]:
    """A status document read from `path`, or None and one line saying why it is not one."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        return None, f"cannot be read ({error.__class__.__name__}: {error})"
    try:
        document = json.loads(text)
    except ValueError as error:
        return None, f"is not JSON ({error})"
    if not isinstance(document, dict) or "schema" not in document or "stages" not in document:
        return None, "is JSON, but not the output of kata status --json"
    if document["schema"] != SCHEMA_VERSION:
        return None, (f"has schema {document['schema']!r}; this kata reads schema {SCHEMA_VERSION} "
                      "(update the kata, or make the file with the same version)")
    found = problems(document, schema(), limit=3)
    if found:
        return None, "does not match the status schema: " + "; ".join(found)
    return document, None


def markdown_summary(document: dict) -> str:
    """The job summary: a table of stage, state and tests passed, then the integrity verdict."""
    symbols = {"passed": "✅", "failing": "❌", "not started": "⬜", "locked": "🔒"}
    lines = [f"### mnist-kata: {document['stages_passed']} of {document['stages_total']} stages pass", "",
             "| # | Stage | State | Tests passed |", "|---|---|---|---|"]
    for stage in document["stages"]:
        tests = f"{stage['tests_passed']} of {stage['tests_total']}" if stage["state"] != "locked" else ""
        lines.append(f"| {stage['number']} | {stage['title']} | {symbols[stage['state']]} {stage['state']} | {tests} |")
    integrity = document["integrity"]
    if not integrity["checked"]:
        verdict = f"integrity not checked: {integrity.get('reason', 'no reason given')}"
    elif integrity.get("ok"):
        verdict = "integrity: every suite matches the kata's hash manifest"
    else:
        verdict = "integrity: modified: " + ", ".join(integrity.get("modified") or ["(unknown files)"])
    lines += ["", f"Suites restored from the assignment's starting commit; {verdict}.", ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m checker.status_json",
                                     description="Print the Markdown summary of a kata status --json file.")
    parser.add_argument("--summary", metavar="FILE", required=True, help="a file written by kata status --json")
    args = parser.parse_args(argv)
    document, why = load_status(Path(args.summary))
    if document is None:
        print(f"Error: {args.summary} {why}.", file=sys.stderr)
        return 2
    sys.stdout.write(markdown_summary(document))
    return 0


if __name__ == "__main__":
    sys.exit(main())
