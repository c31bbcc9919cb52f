"""Turn the results of a run into the progress report: where the learner is and what to do next."""

from __future__ import annotations

import re
from pathlib import Path

from . import closing, runs
from .progress import Progress
from .project import ROOT, display_path
from .results import RunResult, StageResult
from .stages import Stage, all_stages, part_name, part_title, stages_of_part
from .term import Style

MESSAGE_LINES = 12  # a teaching message longer than this is cut; `kata check` shows it whole
BAR_CELLS = 4  # bar cells per stage
# After stage 13 first passes: a loop conv2d passes its suite, but the CNN trained after stage 14 runs it
# on every batch (no timing here: kata times it before that training).
CONV_BEFORE_THE_CNN = ("Your conv2d passes. The CNN trained after stage 14 runs it on every batch: if it loops over "
                       "pixels, the im2col idea at the top of exercises/conv.py (kata hint conv) makes it hundreds "
                       "of times faster, and its tests tell you it still works.")
# "exercises/relu.py line 12 in relu: ...", the place an exception in the learner's code came from
_LOCATION = re.compile(r"^(?P<path>[\w./\\-]+\.py)(?: line (?P<line>\d+))?(?: in (?P<function>\w+))?")


def render_status(run: RunResult, progress: Progress, style: Style, newly_passed: list[Stage],
                  root: Path = ROOT, training_next: bool = False, watching: bool = False,
                  cnn_next: bool = False) -> str:
    """The whole report of `kata`: celebration, stage list, progress bar, then what to do next.

    training_next: Part I passes for the first time and the training starts right after.
    cnn_next: every stage passes and the first CNN training (or the note that it does not start)
    follows, which then says what to do next.
    watching: shown by `kata watch`, which needs no advice to run `kata`.
    """
    lines: list[str] = []
    if newly_passed:
        lines += [celebration(newly_passed[-1], style), ""]
        if newly_passed[-1].module == "conv" and not training_next:
            lines += [CONV_BEFORE_THE_CNN, ""]
    lines += stage_list(run, progress, style)
    lines += ["", progress_bar(run, style), ""]
    current = run.first_unpassed()
    if training_next:
        lines += [style.good(style.bold(f"Part I complete: all {len(stages_of_part(1))} stages pass, your network "
                                        "is complete!")),
                  "Now it learns: training it on MNIST with your own code (the defaults of kata train; "
                  "kata --no-train skips this)."]
    elif current is None:
        lines += all_passed(style, root, cnn_next=cnn_next)
    else:
        if opens_a_part(current.stage) and not progress.passed_before(current.stage):
            lines += part_complete(current.stage, style, root) + [""]
        lines += current_stage_details(current, run, progress, style, root, watching)
    return "\n".join(lines)


def part_one_passes(run: RunResult) -> bool:
    """Every stage of Part I passes: the network of `kata train` can be built from the learner's code."""
    results = [r for r in run.stages if r.stage.part == 1]
    return bool(results) and all(r.passed for r in results)


def first_completion(progress: Progress) -> bool:
    """True until the first training was started once (or a run of the learner's code exists)."""
    return progress.completed is None and runs.last_learner_run() is None


def opens_a_part(stage: Stage) -> bool:
    """stage is the first of Part II or a later part."""
    return stage.part > 1 and stages_of_part(stage.part)[0] == stage


def part_complete(stage: Stage, style: Style, root: Path = ROOT) -> list[str]:
    """The part before `stage` (the first of its part) is complete; the next one is optional.

    After Part I: "Part I complete: your network reads 98.05% of the test digits." with the test
    accuracy of the learner's last training run, two decimals as kata train prints it.
    """
    done = stage.part - 1
    headline = f"{part_name(done)} complete."
    if done == 1:
        run = runs.last_learner_run(root)
        headline = (f"Part I complete: your network reads {100 * run.test_accuracy:.2f}% of the test digits."
                    if run else "Part I complete: your network is built. Train it on MNIST with: kata train")
    lines = [style.good(style.bold(headline))]
    if done > 1 and unlocked(done):
        lines.append(unlocked(done))
    stages = stages_of_part(stage.part)
    topics = ", ".join(t if t[1:2].isupper() or t[1:2].isdigit() else t[0].lower() + t[1:]
                       for t in (s.title for s in stages))
    span = f"stage {stages[0].number}" if len(stages) == 1 else f"stages {stages[0].number}-{stages[-1].number}"
    return lines + [f"{part_name(stage.part)} goes further: {topics} ({span}).",
                    "It is optional: your network, kata train and kata predict are complete without it."]


# What each part's stages open: kata train's options (stage module -> option) and the experiments
# (name, the module of the stage it needs).
PART_OPTIONS = (("regularization", "--l2"), ("dropout", "--dropout"), ("optimizers", "--optimizer"),
                ("deep", "--depth"), ("batchnorm", "--batchnorm"), ("conv", "--model cnn"))
PART_EXPERIMENTS = (("regularization", "dropout"), ("optimizers", "optimizers"), ("depth", "batchnorm"))


def unlocked(part: int) -> str:
    """What completing `part` opened, in one sentence ('' for none): kata train's options that use
    its stages and the experiments whose stages it holds."""
    modules = {stage.module for stage in stages_of_part(part)}
    options = [option for module, option in PART_OPTIONS if module in modules]
    experiments = [name for name, module in PART_EXPERIMENTS if module in modules]
    opened = []
    if options:
        opened.append(f"kata train's option{'s' if len(options) > 1 else ''} {in_words(options)}")
    if experiments:
        opened.append(f"the experiment{'s' if len(experiments) > 1 else ''} kata experiment {in_words(experiments)}")
    return f"It unlocked {', and '.join(opened)}." if opened else ""


def in_words(items: list[str]) -> str:
    """'a', 'a and b', 'a, b and c'."""
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"


def celebration(stage: Stage, style: Style) -> str:
    stages = all_stages()
    star = style.symbol("star")
    text = f"{stage.label} passed!"
    following = stages[stage.number] if stage.number < len(stages) else None
    if following is not None and following.part != stage.part:
        text += f" {part_name(stage.part)} is complete. {following.label} is unlocked: {part_name(following.part)}, optional."
    elif following is not None:
        text += f" {following.label} is unlocked."
    elif stage.part > 1:
        text += f" {part_name(stage.part)} is complete."
    return style.good(style.bold(f"{star} {text}" if star else text))


def stage_list(run: RunResult, progress: Progress, style: Style) -> list[str]:
    current = run.first_unpassed()
    title_width = max(len(r.stage.title) for r in run.stages)
    number_width = len(str(max(r.stage.number for r in run.stages)))
    lines, previous_part = [], None
    for result in run.stages:
        stage = result.stage
        if stage.part != previous_part:
            lines += ([""] if lines else []) + [style.bold(part_title(stage.part))]
        previous_part = stage.part
        name = f"{stage.number:>{number_width}}  {stage.title:<{title_width}}"
        if result.passed:
            lines.append(f"{style.good(style.symbol('passed'))} {name}  {style.good('passed')}")
        elif result is current:
            broken = progress.passed_before(stage)
            symbol = style.bad(style.symbol("broken")) if broken else style.warn(style.symbol("current"))
            lines.append(f"{symbol} {style.bold(name)}  {current_state(result, broken, style)}")
            lines += task_lines(result, style)
        else:
            state = "locked again (passed before)" if progress.passed_before(stage) else "locked"
            lines.append(style.dim(f"{style.symbol('locked')} {name}  {state}"))
    return lines


def current_state(result: StageResult, broken: bool, style: Style) -> str:
    if result.kata_fault:
        state = "could not run"
    elif result.tests and all(t.kind == "not_started" for t in result.failures()) and result.passing_count == 0:
        state = "not started"
    else:
        state = f"{result.passing_count} of {result.total} tests passing"
    if result.problem and not result.kata_fault:
        state += ", then stopped"
    return style.bad(f"broken: {state}") if broken else style.warn(state)


def task_lines(result: StageResult, style: Style) -> list[str]:
    tasks = result.tasks()
    if len(tasks) < 2 or not any(t.total for t in tasks):  # one task: the stage's own line says it all
        return []
    width = max(len(t.task) for t in tasks) + 2
    lines = []
    for task in tasks:
        if result.problem_task == task.task:
            stopped = result.problem.split(":")[0] if result.problem.startswith("stopped after") else "crashed"
            state, symbol = style.bad(stopped), style.symbol("todo")
        elif task.state == "done":
            state, symbol = style.good("done"), style.good(style.symbol("done"))
        elif task.state == "failing":
            state, symbol = f"{task.passing} of {task.total} tests passing", style.symbol("todo")
        else:
            state, symbol = task.state, style.symbol("todo")
        lines.append(f"     {symbol} {task.task + '()':<{width}}  {state}")
    return lines


def progress_bar(run: RunResult, style: Style) -> str:
    done = 0
    for result in run.stages:
        if not result.passed:
            break
        done += 1
    total = len(run.stages)
    if style.enabled:
        bar = style.good("━" * (done * BAR_CELLS)) + style.dim("─" * ((total - done) * BAR_CELLS))
    else:
        bar = "[" + "#" * (done * BAR_CELLS) + "." * ((total - done) * BAR_CELLS) + "]"
    return f"{bar} {done}/{total} stages"


def current_stage_details(result: StageResult, run: RunResult, progress: Progress, style: Style,
                          root: Path = ROOT, watching: bool = False) -> list[str]:
    stage = result.stage
    lines = []
    if progress.passed_before(stage):
        locked_again = [r.stage.number for r in run.stages if r.stage.number > stage.number
                        and progress.passed_before(r.stage)]
        text = f"{stage.label} passed before, but fails now: a change broke it."
        if locked_again:
            span = f"Stage {locked_again[0]}" if len(locked_again) == 1 else \
                f"Stages {locked_again[0]}-{locked_again[-1]}"
            text += f" {span} {'is' if len(locked_again) == 1 else 'are'} locked until it passes again."
        lines += [style.bad(text), ""]
    failures = result.failures()
    if result.problem:
        lines.append(f"{style.bold(stage.label)}: {result.problem}")
    elif failures and failures[0].kind != "not_started":
        first = failures[0]
        if one_cause(result):  # e.g. a syntax error: every test says the same
            lines.append(f"{style.bold(stage.label)}: {first.message}")
        else:
            lines.append(f"{style.bold(stage.label)}: {first.name} failed:")
            lines += ["  " + line for line in shorten(first.message, stage)]
    else:
        lines.append(f"{style.bold(stage.label)}: {stage.goal}")
    lines += [""] + next_steps(result, progress, style, root, watching)
    return lines


def one_cause(result: StageResult) -> bool:
    """Every test failed with the same one-line message: the file cannot be imported, or the like."""
    failures = result.failures()
    if result.passing_count or len(failures) < 2 or "\n" in failures[0].message.strip():
        return False
    return all(failures[0].message in t.message for t in failures)  # some tests quote it in their own


# The worst element, as teach.check_close and teach.fail name it ("worst at index (0, 1): got 4, expected 10") or
# as a gradient check does ("largest difference at index (0, 1): analytic 4, numerical 10").
_WORST = re.compile(r"(?:worst|largest difference) at index (?P<index>\([\d, ]*\)|\d+): (?:got|analytic) "
                    r"(?P<got>[^,\s]+), (?:expected|numerical) (?P<expected>[^)\s;:,]+)")


def shorten(message: str, stage: Stage, max_lines: int = MESSAGE_LINES) -> list[str]:
    """A long failure message cut to about max_lines, keeping what teaches and cutting the array dumps.

    A Lesson reads: the problem (unindented lines), labelled values ("  input z  [[...", continued by
    deeper-indented lines), then "  hint: ...". The problem and the hint (where the diagnosis is) are
    always kept; each value keeps its first line, and its whole rendering while there is room.
    """
    lines = message.rstrip().splitlines() or ["(no message)"]
    if len(lines) <= max_lines:
        return lines
    blocks: list[list[str]] = []
    for line in lines:
        if blocks and line.startswith("   ") and blocks[-1][0].startswith("  ") and not blocks[-1][0].startswith("  hint:"):
            blocks[-1].append(line)  # the next line of a multi-line value
        else:
            blocks.append([line])
    is_value = [b[0].startswith("  ") and not b[0].startswith("  hint:") for b in blocks]
    room = max_lines - 1 - sum(len(b) for b, value in zip(blocks, is_value) if not value)
    kept = [len(b) if not value else 0 for b, value in zip(blocks, is_value)]  # lines kept of each block
    for i, value in enumerate(is_value):  # first, one line of every value: the learner sees what there is
        if value and room >= 1:
            kept[i], room = 1, room - 1
    for i, (block, value) in enumerate(zip(blocks, is_value)):  # then whole values, in order, while they fit
        if value and kept[i] and len(block) - 1 <= room:
            kept[i], room = len(block), room - (len(block) - 1)
    worst = _WORST.search(message)
    shown: list[str] = []
    for block, count in zip(blocks, kept):
        shown += block[:count]
        if 0 < count < len(block):
            shown[-1] += " ..."
            label = block[0].split()[0]
            if worst and label in ("got", "expected"):  # the first elements may agree: show where they differ
                shown[-1] += f" (at {worst['index']}: {worst[label].rstrip('.')})"
    hidden = len(lines) - len(shown)
    if hidden:
        shown.append(f"... ({hidden} more line{'s' if hidden > 1 else ''}: kata check {stage.number})")
    return shown


def next_action(result: StageResult, root: Path = ROOT) -> str:
    """The one thing to do now for an unpassed stage, with a path the learner can click."""
    stage = result.stage
    failures = result.failures()
    first = failures[0] if failures else None
    task = result.problem_task or (first.task if first else None)
    if result.kata_fault:
        return "Next: restore the kata's own files (git checkout -- tests checker), then run: kata"
    if result.problem and not result.problem_task:
        return f"Next: look at {display_path(stage.exercise, root)}, then run: kata check {stage.number}"
    location = _LOCATION.match(first.message) if first and not result.problem else None
    if location and (task is None or location["function"] in (None, task)):
        # The error surfaced in the function under test (or the test belongs to none): point at its line.
        path = display_path(Path(location["path"]).as_posix(), root)
        where = f"{path}:{location['line']}" if location["line"] else path
        function = location["function"]  # none for a syntax error: it may be outside every function
        return f"Next: fix {function}() in {where}, then run: kata" if function else f"Next: fix {where}, then run: kata"
    where = display_path(stage.exercise, root)
    line = function_line(stage, task, root) if task else None
    where_line = f"{where}:{line}" if line else where
    if first and first.kind == "not_started" and not result.problem:
        return f"Next: open {where_line} and write {task}(), then run: kata"
    if task:
        return f"Next: fix {task}() in {where_line}, then run: kata"
    return f"Next: fix {where}, then run: kata"


def next_steps(result: StageResult, progress: Progress, style: Style, root: Path = ROOT,
               watching: bool = False) -> list[str]:
    stage = result.stage
    action = next_action(result, root)
    if watching:  # the report comes again by itself on every save
        action = action.replace(", then run: kata", ", then save")
    shown = progress.hints_shown.get(stage.id, 0)
    hint = (f"hint {shown + 1} of {len(stage.hints)}" if shown < len(stage.hints) else "all hints again") \
        if stage.hints else "no hints for this stage"
    options = [
        (f"kata hint {stage.number}", hint),
        (f"kata check {stage.number}", "the full test output"),
    ]
    if not watching:
        options.append(("kata watch", "re-run this report on every save"))
    width = max(len(c) for c, _ in options) + 3
    label, rest = action.split(" ", 1)
    return [f"{style.bold(label)} {rest}"] + [
        f"      {style.command(f'{c:<{width}}')}{d}" for c, d in options]


def function_line(stage: Stage, function: str, root: Path = ROOT) -> int | None:
    """The line of `def function(` in the learner's file, for a clickable path:line."""
    try:
        text = (Path(root) / stage.exercise).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    pattern = re.compile(rf"^\s*def\s+{re.escape(function)}\s*\(")
    for number, line in enumerate(text.splitlines(), start=1):
        if pattern.match(line):
            return number
    return None


def all_passed(style: Style, root: Path = ROOT, cnn_next: bool = False) -> list[str]:
    """Every stage passes: the last run and what to do next; cnn_next: the first CNN training
    follows, and it says what to do next (the first line says so here)."""
    count = len(all_stages())
    lines = [style.good(style.bold(f"All {count} stages pass: your network is complete.")), ""]
    if cnn_next:
        return lines[:1]
    run = runs.last_learner_run(root)
    if run:
        plots = ", ".join(run.plots) or "none"
        lines += [
            f"Last training run: {100 * run.test_accuracy:.2f}% test accuracy on MNIST, "
            f"in {display_path(run.dir, root)}",
            f"  plots: {plots}",
            "",
        ]
        first = ("kata train", "train again (options: kata train --help)")
    else:
        first = ("kata train", "train your network on MNIST")
    modules = {stage.module for stage in all_stages()}
    if "conv" in modules:
        three = closing.the_three(root)
        if three["CNN"] is not None:  # the curriculum was closed: the three results, and what else there is
            return lines + cnn_trained(three, style, root)
    options = [first]
    if "conv" in modules:  # Part III: the CNN is the learner's too, but only kata train --model cnn says so
        options.append(("kata train --model cnn", "train a CNN on your convolution and pooling"))
    options.append(("kata experiment init", "He versus random initialisation"))
    if "optimizers" in modules:
        options.append(("kata experiment optimizers", "SGD, momentum and Adam compared"))
    options.append(("kata predict IMAGE.png", "read a digit you wrote"))
    width = max(len(c) for c, _ in options) + 3
    lines.append(f"{style.bold('Next:')}")
    lines += [f"  {style.command(f'{c:<{width}}')}{d}" for c, d in options]
    return lines


def cnn_trained(three: dict, style: Style, root: Path = ROOT) -> list[str]:
    """After the CNN of the learner's code was trained: the three results of the closing comparison
    (checker/closing.py), one line each, and the next things to try."""
    lines = ["Your three networks, on the same 10,000 test digits:", *closing.comparison(three)]
    fixes = three["CNN"].dir / closing.FIXED_FILE
    if fixes.is_file():
        lines.append(f"  the digits your CNN reads and your MLP got wrong: {display_path(fixes, root)}")
    options = closing.next_steps()
    width = max(len(c) for c, _ in options) + 3
    return lines + ["", style.bold("Next:")] + [f"  {style.command(f'{c:<{width}}')}{d}" for c, d in options]
