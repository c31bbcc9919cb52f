"""`kata class-report DIR`: a teacher's view of a class, from the learners' `kata status --json` files.

Reads every *.json file under DIR (e.g. the kata-status artifacts of the learners' repositories),
skips and names those that are not status documents, and writes

    class-report.csv   one row per learner, one column per stage (its state)
    class-report.png   the stage states of every learner as a heatmap, beside the tests that fail
                       most often: the concepts to revisit in class
"""

from __future__ import annotations

import csv
import re
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from ..errors import KataError, UsageError
from ..status_json import STATES, load_status
from ..project import display_path

CSV_FILE = "class-report.csv"
PNG_FILE = "class-report.png"
STATUS_FILE_STEM = "kata-status"  # the workflow's file name: the learner is then named by the folder
TOP_TESTS = 15
COLOURS = {"passed": "#2ca02c", "failing": "#d62728", "not started": "#f4c542", "locked": "#dddddd",
           "missing": "#ffffff"}

DESCRIPTION = """\
Read the kata status --json files of a class (one per learner, e.g. the kata-status artifacts the
GitHub workflow uploads) from DIR and its subfolders, and write class-report.csv (one row per
learner, one column per stage) and class-report.png (a heatmap of stage states across learners, and
the tests that fail most often). Files that are not status documents are named and skipped."""

EXAMPLES = """\
exit codes: 0 report written, 1 no status file found, 2 usage error

examples:
  kata class-report class/               read class/**/*.json, write the report into class/
  kata class-report class/ --out report  write class-report.csv and .png into report/
"""


@dataclass
class Learner:
    name: str
    file: str  # relative to DIR
    status: dict


def add_arguments(parser) -> None:
    parser.description = DESCRIPTION
    parser.epilog = EXAMPLES
    parser.add_argument("dir", metavar="DIR", help="a folder of kata status --json files (searched recursively)")
    parser.add_argument("--out", metavar="FOLDER", help="where to write the report (default: DIR)")


def run(args) -> int:
    folder = Path(args.dir)
    if not folder.is_dir():
        raise UsageError(f"{args.dir} is not a folder. Give the folder that holds the learners' "
                         "kata status --json files, e.g. kata class-report class/")
    out = Path(args.out) if args.out else folder
    learners, skipped = read_class(folder)
    for file, why in skipped:
        print(f"skipped {file}: it {why}", file=sys.stderr)
    if not learners:
        raise KataError(f"no kata status --json file in {args.dir} ({len(skipped)} other JSON file(s) skipped). "
                        "Put one file per learner there (kata status --json > NAME.json), then run this again.")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise UsageError(f"cannot create the folder {args.out}: {error.strerror}. Choose another --out.") from None
    stages = stage_columns(learners)
    write_csv(learners, stages, out / CSV_FILE)
    failing = most_failing_tests(learners)
    plot_class(learners, stages, failing, out / PNG_FILE)
    print(summary(learners, skipped, stages, failing, out))
    return 0


def read_class(folder: Path) -> tuple[list[Learner], list[tuple[str, str]]]:
    """The learners of every status file under `folder` (sorted by name), and (file, why) for the others."""
    learners, skipped = [], []
    for path in sorted(folder.rglob("*.json")):
        relative = path.relative_to(folder).as_posix()
        document, why = load_status(path)
        if document is None:
            skipped.append((relative, why))
        else:
            learners.append(Learner(learner_name(document, path.relative_to(folder)), relative, document))
    learners.sort(key=lambda learner: (learner.name, learner.file))
    return learners, skipped


def learner_name(document: dict, relative: Path) -> str:
    """The document's learner; else the file's name; for the workflow's kata-status.json, its folder's."""
    if document.get("learner"):
        return document["learner"]
    if relative.stem == STATUS_FILE_STEM and relative.parent != Path("."):
        return relative.parent.as_posix()
    return relative.with_suffix("").as_posix()


def stage_columns(learners: list[Learner]) -> list[tuple[int, str, str]]:
    """(number, id, title) of every stage any learner's file has, in curriculum order."""
    seen: dict[str, tuple[int, str, str]] = {}
    for learner in learners:
        for stage in learner.status["stages"]:
            seen.setdefault(stage["id"], (stage["number"], stage["id"], stage["title"]))
    return sorted(seen.values())


def states(learner: Learner) -> dict[str, str]:
    return {stage["id"]: stage["state"] for stage in learner.status["stages"]}


def write_csv(learners: list[Learner], stages, path: Path) -> None:
    with path.open("w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(["learner", "file", "kata_version", "stages_passed", "stages_total", "current_stage",
                         "integrity", *(stage_id for _, stage_id, _ in stages)])
        for learner in learners:
            status, by_id = learner.status, states(learner)
            integrity = status["integrity"]
            verdict = ("not checked" if not integrity["checked"] else "ok" if integrity.get("ok") else "modified")
            writer.writerow([learner.name, learner.file, status["kata"]["version"], status["stages_passed"],
                             status["stages_total"], status["current_stage"] or "", verdict,
                             *(by_id.get(stage_id, "") for _, stage_id, _ in stages)])


def without_parameters(name: str) -> str:
    """A test's name without its parameters: test_softmax_sums_to_one[case 3] -> test_softmax_sums_to_one."""
    return re.sub(r"\[.*\]$", "", name)


def most_failing_tests(learners: list[Learner], top: int = TOP_TESTS) -> list[tuple[int, str, str, int]]:
    """(stage number, stage id, test, learners failing it), most learners first; each learner counts once per test."""
    counts: Counter = Counter()
    numbers = {}
    for learner in learners:
        failing = set()
        for stage in learner.status["stages"]:
            numbers[stage["id"]] = stage["number"]
            failing |= {(stage["id"], without_parameters(t)) for t in stage["failing_tests"]}
        counts.update(failing)
    ranked = sorted(counts.items(), key=lambda item: (-item[1], numbers[item[0][0]], item[0][1]))
    return [(numbers[stage_id], stage_id, test, count) for (stage_id, test), count in ranked[:top]]


def summary(learners, skipped, stages, failing, out: Path) -> str:
    lines = [f"Read the status files of {len(learners)} learner{'s' if len(learners) != 1 else ''}"
             + (f" ({len(skipped)} other file{'s' if len(skipped) != 1 else ''} skipped)." if skipped else ".")]
    stuck = Counter(learner.status["current_stage"] for learner in learners)
    titles = {stage_id: f"stage {number} ({title})" for number, stage_id, title in stages}
    done = stuck.pop(None, 0)
    places = [f"{n} at {titles.get(s, s)}" for s, n in sorted(stuck.items(), key=lambda item: -item[1])[:3]]
    if done:
        places.append(f"{done} passed every stage")
    lines.append(f"Where learners are: {', '.join(places)}.")
    if failing:
        lines.append("Tests that fail most often (learners):")
        lines += [f"  {count:4d}  stage {number}  {test}" for number, _, test, count in failing[:5]]
    lines.append(f"Wrote {display_path(out / CSV_FILE)} and {display_path(out / PNG_FILE)}.")
    return "\n".join(lines)


def wrapped_test_label(stage_number: int, test: str, width: int = 38) -> str:
    """"4: test_cross_entropy_of_a_uniform..." on lines of about `width` characters, broken before underscores."""
    words = test.split("_")
    lines = [f"{stage_number}: {words[0]}"]
    for word in words[1:]:
        if len(lines[-1]) + 1 + len(word) > width:
            lines.append("   _" + word)
        else:
            lines[-1] += "_" + word
    return "\n".join(lines)


def plot_class(learners: list[Learner], stages, failing, path: Path) -> Path:
    """The heatmap of stage states (learners by progress, most advanced on top) beside the most failing tests."""
    import numpy as np
    from matplotlib.colors import ListedColormap
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch
    from matplotlib.ticker import MaxNLocator

    order = sorted(learners, key=lambda learner: (-learner.status["stages_passed"], learner.name))
    codes = {state: i for i, state in enumerate((*STATES, "missing"))}
    grid = np.array([[codes[states(learner).get(stage_id, "missing")] for _, stage_id, _ in stages]
                     for learner in order])
    rows = len(order)
    labelled = rows <= 60  # beyond that, a row is too thin for a name: the rows are squeezed, unnamed
    height = max(5.5, 0.18 * rows + 2.5) if labelled else 12.0
    width, label_room = 15.0, 3.3  # inches; the bar chart's labels (wrapped test names) sit left of it
    heat_left, heat_width = 1.0, min(7.0, 0.45 * len(stages) + 1.0)
    bars_left = heat_left + heat_width + label_room
    fig = Figure(figsize=(width, height))
    bottom, top = 1.4 / height, 1 - 0.9 / height
    heat = fig.add_axes((heat_left / width, bottom, heat_width / width, top - bottom))
    bars = fig.add_axes((bars_left / width, bottom, (width - bars_left - 0.4) / width, top - bottom))

    cmap = ListedColormap([COLOURS[s] for s in (*STATES, "missing")])
    heat.imshow(grid, cmap=cmap, vmin=-0.5, vmax=len(codes) - 0.5, aspect="auto", interpolation="nearest")
    passed_counts = (grid == codes["passed"]).sum(axis=0)
    heat.set_xticks(range(len(stages)),
                    [f"{number}\n{passed_counts[i]}/{rows}" for i, (number, _, _) in enumerate(stages)], fontsize=8)
    heat.set_xlabel("stage (learners who passed it)")
    if labelled:
        heat.set_yticks(range(rows), [learner.name for learner in order], fontsize=7)
    else:
        heat.set_yticks([])
        heat.set_ylabel(f"{rows} learners, most advanced on top")
    heat.set_xticks(np.arange(-0.5, len(stages)), minor=True)
    heat.set_yticks(np.arange(-0.5, rows), minor=True)
    heat.grid(which="minor", color="white", linewidth=0.6 if labelled else 0)
    heat.tick_params(which="minor", length=0)
    heat.set_title(f"Stage states of {rows} learners")
    legend = [Patch(facecolor=COLOURS[s], edgecolor="0.6", label=s) for s in STATES]
    fig.legend(handles=legend, loc="lower left", bbox_to_anchor=(0.09, 0.15 / height), ncol=4, fontsize=8,
               frameon=False)

    if failing:
        labels = [wrapped_test_label(number, test) for number, _, test, _ in failing][::-1]
        counts = [count for *_, count in failing][::-1]
        bars.barh(range(len(failing)), counts, color=COLOURS["failing"])
        bars.set_ylim(len(failing) - 0.5 - max(len(failing), 8), len(failing) - 0.5)  # a few bars stay thin, on top
        bars.set_yticks(range(len(failing)), labels, fontsize=8)
        bars.set_xlim(0, max(counts) * 1.15)
        bars.xaxis.set_major_locator(MaxNLocator(integer=True))
        for y, count in enumerate(counts):
            bars.text(count, y, f" {count}", va="center", fontsize=8)
        bars.set_xlabel("learners whose code fails the test")
    else:
        bars.text(0.5, 0.5, "no test fails on code a learner wrote", ha="center", va="center",
                  transform=bars.transAxes)
        bars.set_xticks([])
        bars.set_yticks([])
    bars.set_title("Tests that fail most often (stage: test)")
    fig.savefig(path, dpi=100)
    return path
