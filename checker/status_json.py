"""`kata status --json`: a learner's progress as one JSON document, for teachers and CI.

The format is versioned ("schema": 1) and described by checker/status.schema.json and docs/teachers.md
("`kata status --json`"). Stages come in curriculum order and every object's fields in a fixed order,
so two runs on the same code print the same bytes apart from "generated_at".

    run_every_stage()         a RunResult of every stage, each run also after one that does not pass
    status_document(run)      the document (a dict) for a RunResult of every stage
    failure_document(error)   a document that says kata status did not give the learner's progress, and why
    render(document)          its text: indented JSON and a final newline
    load_status(path)         (document, None) or (None, why the file is not a status document); the
                              file may be anyone's: it is read bounded (size, nesting, regular files only)
                              and must agree with itself (stages_passed, current_stage, stages_total)
    markdown_summary(doc)     the Markdown table the GitHub workflow writes as the job summary

    python -m checker.status_json --summary FILE    print that table (used by .github/workflows/kata.yml)
    python -m checker.status_json --ensure FILE --error TEXT [--log LOG]
                              leave FILE alone if it is a status document, else write a failure document
                              there (TEXT, why FILE is not one, LOG's last line): every learner then has one
"""

from __future__ import annotations

import argparse
import json
import os
import stat
import sys
from datetime import datetime, timezone
from functools import lru_cache
from pathlib import Path

from . import manifest
from .results import RunResult, StageResult
from .schema_check import problems
from .project import ROOT
from .stages import all_stages
from .term import printable

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

SCHEMA_VERSION = 1
SCHEMA_PATH = Path(__file__).with_name("status.schema.json")
FAILURE_LINES = 6  # first_failure keeps this many lines of the message ...
FAILURE_CHARS = 600  # ... and at most this many characters (the schema allows 800)
STATES = ("passed", "failing", "not started", "locked")
MAX_BYTES = 1_000_000  # a status document is about 10 kB; a file larger than this is not read
MAX_DEPTH = 8  # a status document nests 4 deep (document, stages, a stage, its failing tests)
ERROR_CHARS = 800  # the schema's maxLength of "error"


def run_every_stage(stages=None, root: Path = ROOT) -> RunResult:
    """Every stage's suite run on the learner's code, also after a stage that does not pass, as grading
    runs each stage on its own (`kata grade`). A stage that ends the test process (an endless loop
    stopped at the time limit, a crash) leaves the stages after it unreached: they run again in a
    fresh process."""
    from .runner import run_stages

    stages = list(all_stages() if stages is None else stages)
    results = {}
    pending = stages
    while pending:
        run = run_stages(pending, root=root, stop_after_failing_stage=False)
        results.update({r.stage.id: r for r in run.stages})
        unreached = [r.stage for r in run.stages if not r.ran]
        if len(unreached) == len(pending):  # nothing ran at all: they stay as they are (locked)
            break
        pending = unreached
    return RunResult([results[s.id] for s in stages])


def status_document(run: RunResult, root: Path = ROOT, generated_at: str | None = None) -> dict:
    """The status document of `run` (a run of every stage, in order; `kata status --json` runs each one,
    also after a stage that does not pass, as grading does)."""
    from . import runs  # NumPy: not needed to read or check documents (failure_document, --ensure)

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
        "error": None,
    }


def failure_document(error: str, generated_at: str | None = None) -> dict:
    """A status document for a learner whose `kata status --json` gave none: every stage "locked" (not run),
    and `error` saying what happened, so that the learner still has a row in the class report."""
    stages = all_stages()
    return {
        "schema": SCHEMA_VERSION,
        "kata": {"name": "mnist-kata", "version": kata_version()},
        "generated_at": generated_at or timestamp(),
        "learner": os.environ.get("KATA_LEARNER", "").strip() or None,
        "stages_passed": 0,
        "stages_total": len(stages),
        "current_stage": stages[0].id,
        "stages": [{"number": s.number, "id": s.id, "title": s.title, "part": s.part, "state": "locked",
                    "tests_passed": 0, "tests_total": 0, "failing_tests": [], "first_failure": None}
                   for s in stages],
        "integrity": {"checked": False, "reason": "kata status --json did not finish"},
        "last_training_run": None,
        "error": printable(error.strip() or "kata status --json did not finish", ERROR_CHARS),
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


def integrity_error(root: Path = ROOT) -> str | None:
    """The one line that stops `kata check` and `kata grade` before any suite runs, when the suites or the
    code that runs and judges them differ from the kata's copies; None when they match."""
    modified = integrity_verdict(root).get("modified")
    return _modified_line(modified, "no stage can count as passed and none was run") if modified else None


def modified_message(modified: list[str]) -> str:
    """The learner's one line when the files integrity_verdict() names differ from the kata's copies."""
    return _modified_line(modified, "no stage counts as passed, whatever the report above says")


def _modified_line(modified: list[str], consequence: str) -> str:
    shown = ", ".join(modified[:4]) + (f" and {len(modified) - 4} more" if len(modified) > 4 else "")
    one = len(modified) == 1
    return (f"Error: {shown} {'differs' if one else 'differ'} from the kata's copy (the kata's tests, or the code that "
            f"runs and judges them), so {consequence}. Restore {'it' if one else 'them'} with: git checkout -- "
            f"{' '.join(modified)}")


def render(document: dict) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


@lru_cache(maxsize=None)
def schema() -> dict:
    return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))


def load_status(path: Path) -> tuple[dict | None, str | None]:
    """A status document read from `path`, or None and one line saying why it is not one.

    The file may come from anyone (a learner's artifact): only a regular file of at most MAX_BYTES is
    read (a FIFO or a link to /dev/zero is never opened for reading), nesting beyond MAX_DEPTH is
    refused, NaN and Infinity are not JSON, and the document must agree with itself."""
    data, why = read_bounded(Path(path), MAX_BYTES)
    if data is None:
        return None, why
    try:
        document = json.loads(data.decode("utf-8"), parse_constant=_refuse_constant)
    except UnicodeDecodeError as error:
        return None, f"is not UTF-8 text ({error.reason} at byte {error.start})"
    except RecursionError:
        return None, f"is nested too deeply (a status document nests {MAX_DEPTH} levels at most)"
    except ValueError as error:
        return None, f"is not JSON ({printable(str(error), 200)})"
    if _depth(document) > MAX_DEPTH:
        return None, f"is nested too deeply (a status document nests {MAX_DEPTH} levels at most)"
    if not isinstance(document, dict) or "schema" not in document or "stages" not in document:
        return None, "is JSON, but not the output of kata status --json"
    if document["schema"] != SCHEMA_VERSION:
        return None, (f"has schema {printable(repr(document['schema']), 40)}; this kata reads schema "
                      f"{SCHEMA_VERSION} (update the kata, or make the file with the same version)")
    found = problems(document, schema(), limit=3) or inconsistencies(document, limit=3)
    if found:
        return None, "does not match the status schema: " + "; ".join(printable(p, 200) for p in found)
    return document, None


def read_bounded(path: Path, limit: int) -> tuple[bytes | None, str | None]:
    """The bytes of a regular file of at most `limit` bytes, or None and why not (one line).

    Opened without blocking and checked on the open file itself: a FIFO, a device (a link to
    /dev/zero), a folder or a file that grows past the limit is never read whole."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
    try:
        fd = os.open(path, flags)
    except OSError as error:
        return None, f"cannot be read ({error.strerror or error.__class__.__name__})"
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            return None, "is a folder, not a file"
        if not stat.S_ISREG(info.st_mode):
            return None, "is not a regular file (a FIFO, a device or a socket): it was not read"
        if info.st_size > limit:
            return None, f"is too large ({info.st_size:,} bytes; a status document has at most {limit:,})"
        chunks, size = [], 0
        while size <= limit:
            chunk = os.read(fd, min(65536, limit + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        if size > limit:
            return None, f"is too large (over {limit:,} bytes; a status document has at most {limit:,})"
        return b"".join(chunks), None
    except OSError as error:
        return None, f"cannot be read ({error.strerror or error.__class__.__name__})"
    finally:
        os.close(fd)


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not a JSON number")


def _depth(value) -> int:
    """How deeply arrays and objects nest in `value` (a scalar: 0), without recursion."""
    deepest, pending = 0, [(value, 1)]
    while pending:
        item, level = pending.pop()
        if isinstance(item, (dict, list)):
            deepest = max(deepest, level)
            if level > MAX_DEPTH:
                return level
            pending.extend((child, level + 1) for child in (item.values() if isinstance(item, dict) else item))
    return deepest


def inconsistencies(document: dict, limit: int = 3) -> list[str]:
    """What a schema-valid document says that its own stages contradict, one line each."""
    found = []
    stages = document["stages"]
    if document["stages_total"] != len(stages):
        found.append(f"$.stages_total: {document['stages_total']}, but there are {len(stages)} stages")
    if [s["number"] for s in stages] != list(range(1, len(stages) + 1)):
        found.append("$.stages: the stage numbers are not 1, 2, 3, ... in order")
    if len({s["id"] for s in stages}) != len(stages):
        found.append("$.stages: a stage id appears twice")
    leading = next((i for i, s in enumerate(stages) if s["state"] != "passed"), len(stages))
    if document["stages_passed"] != leading:
        found.append(f"$.stages_passed: {document['stages_passed']}, but the stages say {leading} pass "
                     "from stage 1 on")
    current = stages[leading]["id"] if leading < len(stages) else None
    if document["current_stage"] != current:
        found.append(f"$.current_stage: {document['current_stage']!r}, but the stages say {current!r}")
    for i, stage in enumerate(stages):
        if stage["tests_passed"] > stage["tests_total"]:
            found.append(f"$.stages[{i}]: {stage['tests_passed']} of {stage['tests_total']} tests passed")
        if stage["failing_tests"] and stage["state"] != "failing":
            found.append(f"$.stages[{i}]: {stage['state']}, with failing tests")
    return found[:limit]


def markdown_summary(document: dict) -> str:
    """The job summary: a table of stage, state and tests passed, then the integrity verdict."""
    symbols = {"passed": "✅", "failing": "❌", "not started": "⬜", "locked": "🔒"}
    lines = [f"### mnist-kata: {document['stages_passed']} of {document['stages_total']} stages pass", "",
             "| # | Stage | State | Tests passed |", "|---|---|---|---|"]
    for stage in document["stages"]:
        tests = f"{stage['tests_passed']} of {stage['tests_total']}" if stage["state"] != "locked" else ""
        lines.append(f"| {stage['number']} | {stage['title']} | {symbols[stage['state']]} {stage['state']} | {tests} |")
    if document.get("error"):
        lines += ["", f"**kata status --json did not finish**: {printable(document['error'])}"]
    integrity = document["integrity"]
    if not integrity["checked"]:
        verdict = f"integrity not checked: {integrity.get('reason', 'no reason given')}"
    elif integrity.get("ok"):
        verdict = "integrity: every suite matches the kata's hash manifest"
    else:
        verdict = "integrity: modified: " + ", ".join(integrity.get("modified") or ["(unknown files)"])
    lines += ["", f"Suites restored from the assignment's starting commit; {verdict}.", ""]
    return "\n".join(lines)


def ensure(path: Path, error: str, log: Path | None = None) -> bool:
    """Make `path` a status document: leave it if it is one (True), else write a failure document (False)."""
    document, why = load_status(path)
    if document is not None:
        return True
    reasons = [error.strip(), f"{path.name} {why}"]
    if log is not None:
        data, _ = read_bounded(log, MAX_BYTES)
        lines = [line.strip() for line in (data or b"").decode("utf-8", "replace").splitlines() if line.strip()]
        if lines:
            reasons.append(f"its last message: {lines[-1]}")
    path.write_text(render(failure_document(". ".join(r.rstrip(".") for r in reasons if r) + ".")),
                    encoding="utf-8")
    return False


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m checker.status_json",
                                     description="Print the Markdown summary of a kata status --json file, or make "
                                                 "sure a file is one (used by .github/workflows/kata.yml).")
    action = parser.add_mutually_exclusive_group(required=True)
    action.add_argument("--summary", metavar="FILE", help="a file written by kata status --json")
    action.add_argument("--ensure", metavar="FILE", help="if FILE is not a status document, write one there that "
                                                         "records --error (and --log's last line)")
    parser.add_argument("--error", default="", metavar="TEXT", help="with --ensure: what went wrong")
    parser.add_argument("--log", metavar="LOG", help="with --ensure: the stderr of kata status --json")
    args = parser.parse_args(argv)
    if args.ensure:
        if not ensure(Path(args.ensure), args.error, Path(args.log) if args.log else None):
            print(f"{args.ensure} was not a status document: it now records what went wrong.", file=sys.stderr)
        return 0
    document, why = load_status(Path(args.summary))
    if document is None:
        print(f"Error: {printable(args.summary)} {why}. Make it with kata status --json > FILE.", file=sys.stderr)
        return 2
    sys.stdout.write(markdown_summary(document))
    return 0


if __name__ == "__main__":
    sys.exit(main())
