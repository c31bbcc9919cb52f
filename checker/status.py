"""`kata` / `kata status`: the progress report, and the training the first time Part I (stages 1-7) passes."""

from __future__ import annotations

from . import cli
from .errors import KataError
from .progress import Progress, now
from .report import last_training_run, part_complete, part_one_passes, render_status
from .runner import RunResult, run_stages
from .stages import all_stages, stages_of_part
from .term import Style

DESCRIPTION = """\
Run the stage suites in order on your code in exercises/ and show the progress report: the state of
every stage, the first failing test of the current stage, and the next thing to do. A stage unlocks
when every stage before it passes. The first time every stage of Part I passes (the core, stages
1-7), your network is trained on MNIST right away, with the defaults of kata train. Part II and
later parts go further, and are optional."""

EXAMPLES = """\
exit codes: 0 every stage passes, 1 a stage does not pass yet, 2 usage error

examples:
  kata                  the report (the same as kata status)
  kata --no-train       the report, without starting the training when Part I passes
  NO_COLOR=1 kata       the report without colour
"""


def add_arguments(parser) -> None:
    parser.description = DESCRIPTION
    parser.epilog = EXAMPLES
    parser.add_argument("--no-train", action="store_true",
                        help="do not start the training when Part I passes for the first time")


def run(args) -> int:
    style = Style()
    progress = Progress.load()
    result = run_stages(all_stages())
    newly_passed = progress.record(result)
    train = part_one_passes(result) and not args.no_train and first_completion(progress)
    print(render_status(result, progress, style, newly_passed, training_next=train), flush=True)
    if train:
        progress.completed = now()
    progress.save()
    if train:
        return train_now()
    return exit_code(result)


def exit_code(result: RunResult) -> int:
    return 0 if result.all_passed else 1


def first_completion(progress: Progress) -> bool:
    """True until the first training was started once (or a run of the learner's code exists)."""
    return progress.completed is None and last_training_run() is None


def train_now() -> int:
    """Run `kata train` with its defaults, on the learner's code."""
    print(flush=True)
    try:
        train = cli.load_command("train")
    except KataError:
        print("The training command is not available yet in this version of the kata: update it "
              "(git pull), then run: kata train")
        return 0
    # The report has just run every suite and seen them pass: no need for kata train to run them again.
    code = int(train.run(cli.default_args("train"), stages_known_to_pass=True) or 0)
    part_two = stages_of_part(2)
    if code == 0 and part_two and not Progress.load().passed_before(part_two[0]):  # next: Part II, optional
        style = Style()
        print("\n" + "\n".join(part_complete(part_two[0], style)))
        print(f"{style.bold('Next:')} run kata to start {part_two[0].label}, or stop here: your network works.")
    return code
