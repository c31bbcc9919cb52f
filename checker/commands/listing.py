"""`kata list`: every stage with its title, file, learning goal and state."""

from __future__ import annotations

from ..progress import Progress
from ..verdicts import run_stages
from ..stages import all_stages, part_title
from ..term import Style
from ..project import display_path

DESCRIPTION = """\
List the stages in order, grouped by part (Part I, the core; the later parts go further and are
optional): number and name (either one names a stage in other commands), title, the file you
write, the state (passed, current, locked) and what you learn in it."""

EXAMPLES = """\
examples:
  kata list
  kata check gradient_descent      any stage by the name in the list
"""


def add_arguments(parser) -> None:
    parser.description = DESCRIPTION
    parser.epilog = EXAMPLES


def run(args) -> int:
    style = Style()
    progress = Progress.load()
    result = run_stages(all_stages())
    progress.record(result)
    progress.save()
    current = result.first_unpassed()
    stages = [r.stage for r in result.stages]
    id_width = max(len(s.id) for s in stages)
    title_width = max(len(s.title) for s in stages)
    path_width = max(len(display_path(s.exercise)) for s in stages)
    previous_part = None
    for stage_result in result.stages:
        stage = stage_result.stage
        if stage.part != previous_part:  # the stages grouped by part, each under its heading
            print(("\n" if previous_part is not None else "") + style.bold(part_title(stage.part)))
            previous_part = stage.part
        if stage_result.passed:
            state = style.good("passed")
        elif stage_result is current:
            state = style.bad("current (broken)") if progress.passed_before(stage) else style.warn("current")
        else:
            state = style.dim("locked")
        print(f"{stage.number:>2}  {stage.id:<{id_width}}  {style.bold(f'{stage.title:<{title_width}}')}  "
              f"{display_path(stage.exercise):<{path_width}}  {state}")
        print(style.dim(f"    {stage.goal}"))
    print()
    print("Name a stage by its number or its name: kata check 3, kata hint softmax.")
    return 0
