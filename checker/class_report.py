"""A teacher's view of a class, from the learners' `kata status --json` files (`kata class-report`).

Every file is a learner's, so every file is untrusted: it is read bounded and validated
(checker.status_json.load_status), what it says is printed only through term.printable (no escape
sequence reaches the teacher's terminal), written to the CSV neutralised (no cell starts a spreadsheet
formula) and drawn as plain text (no mathtext). A bad file is one skipped line with its reason.

    read_class(folder)        the learners (one per name: the newest file) and the skipped files
    write_csv(learners, path) class-report.csv: one row per learner, one column per stage
    summary(...)              what `kata class-report` prints
    class_figure(...)         the figure of class-report.png: the stage states as a heatmap, beside the
                              most failing tests (plot_class saves it)

A stage's state is the verdict of its own suite, as grading counts it (`kata grade`): a stage that
passes after one that does not is shown passed, and a stage that does not pass while a later one
does is a regression (usually a stage broken after it passed).
"""

from __future__ import annotations

import csv
import os
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from .status_json import STATES, load_status
from .term import printable

CSV_FILE = "class-report.csv"
PNG_FILE = "class-report.png"
STATUS_FILE_STEM = "kata-status"  # the workflow's file name: the learner is then named by the folder
TOP_TESTS = 15
NAME_CHARS = 60  # a learner's name longer than this is cut in the figure (the CSV keeps it whole)
COLOURS = {"passed": "#2ca02c", "failing": "#d62728", "not started": "#f4c542", "locked": "#dddddd",
           "missing": "#ffffff"}
# A spreadsheet reads a cell that starts with one of these as a formula (OWASP, "CSV Injection").
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


@dataclass
class Learner:
    name: str  # as the file says: printed, written and drawn only through term.printable
    file: str  # relative to the class folder
    status: dict

    @property
    def states(self) -> dict[str, str]:
        return {stage["id"]: stage["state"] for stage in self.status["stages"]}

    @property
    def passing(self) -> int:
        """Stages whose suite passes, wherever they are: what grading counts."""
        return sum(stage["state"] == "passed" for stage in self.status["stages"])

    @property
    def regressions(self) -> list[dict]:
        """Stages that do not pass while a later stage does (usually broken after they passed)."""
        stages = self.status["stages"]
        last_passed = max((i for i, s in enumerate(stages) if s["state"] == "passed"), default=-1)
        return [s for s in stages[:max(last_passed, 0)] if s["state"] in ("failing", "not started")]

    @property
    def error(self) -> str | None:
        return self.status.get("error")


def read_class(folder: Path) -> tuple[list[Learner], list[tuple[str, str]]]:
    """The learners of the status files under `folder` (sorted by name), and (file, why) for every other
    *.json file. Two files of the same learner: the newer counts, the other is skipped with a reason.
    Links to folders are not followed."""
    learners, skipped = [], []
    for path in json_files(folder):
        relative = path.relative_to(folder).as_posix()
        document, why = load_status(path)
        if document is None:
            skipped.append((relative, why))
        else:
            learners.append(Learner(learner_name(document, path.relative_to(folder)), relative, document))
    by_name: dict[str, list[Learner]] = {}
    for learner in learners:
        by_name.setdefault(learner.name, []).append(learner)
    kept = []
    for name, files in by_name.items():
        files.sort(key=lambda learner: (learner.status["generated_at"], learner.file), reverse=True)
        kept.append(files[0])
        for older in files[1:]:
            skipped.append((older.file, f"is another status file of {name}, older than {files[0].file} "
                                        f"({older.status['generated_at']}, not {files[0].status['generated_at']}): "
                                        "the newer counts"))
    kept.sort(key=lambda learner: (learner.name, learner.file))
    skipped.sort()
    return kept, skipped


def json_files(folder: Path) -> list[Path]:
    """Every *.json under `folder`, in a stable order, without following links to folders (no loop)."""
    found = []
    for top, folders, files in os.walk(folder, followlinks=False):
        folders.sort()
        found += [Path(top, name) for name in sorted(files) if name.endswith(".json")]
    return sorted(found)


def learner_name(document: dict, relative: Path) -> str:
    """The document's learner; else the file's name; for the workflow's kata-status.json, its folder's."""
    if document.get("learner") and document["learner"].strip():
        name = document["learner"]
    elif relative.stem == STATUS_FILE_STEM and relative.parent != Path("."):
        name = relative.parent.as_posix()
    else:
        name = relative.with_suffix("").as_posix()
    return name.strip()


def stage_columns(learners: list[Learner]) -> list[tuple[int, str, str]]:
    """(number, id, title) of every stage any learner's file has, in curriculum order."""
    seen: dict[str, tuple[int, str, str]] = {}
    for learner in learners:
        for stage in learner.status["stages"]:
            seen.setdefault(stage["id"], (stage["number"], stage["id"], stage["title"][:40]))
    return sorted(seen.values())


def cell(value) -> str | int:
    """A CSV cell that a spreadsheet shows as the text it is: control characters replaced, and a
    leading = + - @ (a formula) neutralised with an apostrophe, as OWASP recommends."""
    if isinstance(value, int):
        return value
    text = "" if value is None else printable(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def write_csv(learners: list[Learner], stages, path: Path) -> None:
    with path.open("w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(["learner", "file", "kata_version", "stages_passed", "stages_passing", "stages_total",
                         "current_stage", "regressions", "integrity", "error",
                         *(stage_id for _, stage_id, _ in stages)])
        for learner in learners:
            status, by_id = learner.status, learner.states
            integrity = status["integrity"]
            verdict = ("not checked" if not integrity["checked"] else "ok" if integrity.get("ok") else "modified")
            writer.writerow([cell(v) for v in (
                learner.name, learner.file, status["kata"]["version"], status["stages_passed"], learner.passing,
                status["stages_total"], status["current_stage"] or "",
                " ".join(s["id"] for s in learner.regressions), verdict, learner.error or "",
                *(by_id.get(stage_id, "") for _, stage_id, _ in stages))])


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
            failing |= {(stage["id"], without_parameters(t)[:120]) for t in stage["failing_tests"]}
        counts.update(failing)
    ranked = sorted(counts.items(), key=lambda item: (-item[1], numbers[item[0][0]], item[0][1]))
    return [(numbers[stage_id], stage_id, test, count) for (stage_id, test), count in ranked[:top]]


def plural(count: int, word: str, many: str | None = None) -> str:
    return f"{count} {word if count == 1 else many or word + 's'}"


def summary(learners: list[Learner], skipped, stages, failing, written: list[str]) -> str:
    """What `kata class-report` prints: how many learners, where every one of them is, the regressions,
    the tests that fail most often, and the files written (`written`: paths as the teacher opens them)."""
    lines = [f"Read the status files of {plural(len(learners), 'learner')}"
             + (f" ({plural(len(skipped), 'other file')} skipped)." if skipped else ".")]
    titles = {stage_id: f"stage {number} ({title})" for number, stage_id, title in stages}
    errors = [learner for learner in learners if learner.error]
    places = Counter(learner.status["current_stage"] for learner in learners if not learner.error)
    done = places.pop(None, 0)
    numbers = {stage_id: number for number, stage_id, _ in stages}
    order = sorted(places.items(), key=lambda item: (-item[1], numbers.get(item[0], 0)))
    lines.append("Where learners are (the first stage that does not pass):")
    lines += [f"  {count:4d}  at {titles.get(stage_id, stage_id)}" for stage_id, count in order]
    if done:
        lines.append(f"  {done:4d}  pass every stage")
    if errors:
        lines.append(f"  {len(errors):4d}  without progress: their kata status did not finish (the CSV's error "
                     "column says why): " + ", ".join(learner.name for learner in errors))
    regressed = [learner for learner in learners if learner.regressions]
    if regressed:
        lines.append("Stages that do not pass while a later one does (a regression?):")
        lines += [f"  {learner.name}: " + ", ".join(f"stage {s['number']}" for s in learner.regressions)
                  + f" ({learner.passing} of {learner.status['stages_total']} stages pass)" for learner in regressed]
    if failing:
        lines.append("Tests that fail most often (learners):")
        lines += [f"  {count:4d}  stage {number}  {test}" for number, _, test, count in failing[:5]]
    lines.append(f"Wrote {' and '.join(written)}.")
    return "\n".join(printable(line, 1000) for line in lines)


def wrapped_test_label(stage_number: int, test: str, width: int = 38) -> str:
    """"4: test_cross_entropy_of_a_uniform..." on lines of about `width` characters, broken before underscores."""
    words = test.split("_")
    lines = [f"{stage_number}: {words[0]}"]
    for word in words[1:]:
        if len(lines[-1]) + 1 + len(word) > width:
            lines.append("   _" + word)
        else:
            lines[-1] += "_" + word
    return "\n".join(lines[:4]) + ("..." if len(lines) > 4 else "")


def plain(text: str) -> str:
    """Text matplotlib draws as it is: a "$" would start mathtext (and a bad formula stops the figure);
    control characters are shown as "?"."""
    return "\n".join(printable(line) for line in text.split("\n")).replace("$", r"\$")


def shown_name(learner: Learner) -> str:
    name = learner.name if len(learner.name) <= NAME_CHARS else learner.name[: NAME_CHARS - 1] + "…"
    return plain(name + (" (error)" if learner.error else ""))


def plot_class(learners: list[Learner], stages, failing, path: Path) -> Path:
    class_figure(learners, stages, failing).savefig(path, dpi=100)
    return path


def class_figure(learners: list[Learner], stages, failing):
    """The heatmap of stage states (learners by stages passing, most on top) beside the most failing tests.

    A regression (a stage that does not pass while a later one does) is marked with a "!" in its cell.
    The figure leaves room on the left for the longest name, as drawn."""
    import numpy as np
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.colors import ListedColormap
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch
    from matplotlib.ticker import MaxNLocator

    order = sorted(learners, key=lambda learner: (-learner.passing, -learner.status["stages_passed"],
                                                  learner.name))
    codes = {state: i for i, state in enumerate((*STATES, "missing"))}
    grid = np.array([[codes[learner.states.get(stage_id, "missing")] for _, stage_id, _ in stages]
                     for learner in order])
    rows = len(order)
    labelled = rows <= 60  # beyond that, a row is too thin for a name: the rows are squeezed, unnamed
    lines = max((len(wrapped_test_label(number, test).splitlines()) for number, _, test, _ in failing), default=1)
    bars_room = 3.4 + 0.16 * lines * len(failing) + 0.1 * len(failing)  # each bar's label whole, none overlapping
    height = max(6.5, 0.18 * rows + 3.5 if labelled else 13.0, bars_room)
    fig = Figure(figsize=(15.0, height))
    FigureCanvasAgg(fig)
    names = [shown_name(learner) for learner in order]
    # Room for the longest name, measured as drawn, so that no name is cut on the left.
    renderer = fig.canvas.get_renderer()
    probe = [fig.text(0, 0, name, fontsize=7) for name in names] if labelled else []
    name_room = max((t.get_window_extent(renderer).width / fig.dpi for t in probe), default=0.0)
    for t in probe:
        t.remove()
    width, label_room = 15.0, 3.3  # inches; the bar chart's labels (wrapped test names) sit left of it
    heat_left = max(0.6, name_room + 0.25)
    heat_width = min(7.0, 0.45 * len(stages) + 1.0)
    width = max(width, heat_left + heat_width + label_room + 4.0)
    fig.set_size_inches(width, height)
    bars_left = heat_left + heat_width + label_room
    bottom, top = 2.4 / height, 1 - 1.0 / height
    heat = fig.add_axes((heat_left / width, bottom, heat_width / width, top - bottom))
    bars = fig.add_axes((bars_left / width, bottom, (width - bars_left - 0.4) / width, top - bottom))

    cmap = ListedColormap([COLOURS[s] for s in (*STATES, "missing")])
    heat.imshow(grid, cmap=cmap, vmin=-0.5, vmax=len(codes) - 0.5, aspect="auto", interpolation="nearest")
    passed_counts = (grid == codes["passed"]).sum(axis=0)
    heat.set_xticks(range(len(stages)), [plain(f"{number} {title}") for number, _, title in stages],
                    fontsize=8, rotation=60, ha="right", rotation_mode="anchor")
    counts_axis = heat.secondary_xaxis("top")
    counts_axis.set_xticks(range(len(stages)), [f"{n}" for n in passed_counts], fontsize=8)
    counts_axis.tick_params(length=0)
    counts_axis.set_xlabel(f"learners who pass the stage (of {rows})", fontsize=8)
    if labelled:
        heat.set_yticks(range(rows), names, fontsize=7)
    else:
        heat.set_yticks([])
        heat.set_ylabel(f"{rows} learners, most stages passing on top")
    regressions = 0
    for row, learner in enumerate(order):
        ids = {s["id"] for s in learner.regressions}
        for column, (_, stage_id, _) in enumerate(stages):
            if stage_id in ids:
                regressions += 1
                heat.text(column, row, "!", ha="center", va="center", fontsize=9 if labelled else 6,
                          fontweight="bold", color="white")
    heat.set_xticks(np.arange(-0.5, len(stages)), minor=True)
    heat.set_yticks(np.arange(-0.5, rows), minor=True)
    heat.grid(which="minor", color="white", linewidth=0.6 if labelled else 0)
    heat.tick_params(which="minor", length=0)
    heat.set_title(f"Stage states of {rows} learners", pad=28)
    legend = [Patch(facecolor=COLOURS[s], edgecolor="0.6", label=s) for s in STATES]
    if regressions:
        legend.append(Patch(facecolor=COLOURS["failing"], edgecolor="0.6",
                            label="! does not pass, a later stage does (regression?)"))
    fig.legend(handles=legend, loc="lower left", bbox_to_anchor=(heat_left / width, 0.1 / height), ncol=3,
               fontsize=8, frameon=False)

    if failing:
        labels = [plain(wrapped_test_label(number, test)) for number, _, test, _ in failing][::-1]
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
    bars.set_title("Tests that fail most often (stage: test)", pad=28)
    return fig
