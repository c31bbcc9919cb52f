"""`kata` / `kata status`: the progress report, and the training the first time Part I (stages 1-7) passes."""

from __future__ import annotations

import sys

from .. import closing, estimate, status_json
from ..progress import Progress, now, training_lock
from ..status_text import first_completion, part_complete, part_one_passes, render_status
from ..results import RunResult
from ..runner import run_stages
from ..stages import all_stages, stages_of_part
from ..term import Style
from ..train_options import default_config
from ..training_run import train_and_save

DESCRIPTION = """\
Run the stage suites in order on your code in exercises/ and show the progress report: the state of
every stage, the first failing test of the current stage, and the next thing to do. A stage unlocks
when every stage before it passes. The first time every stage of Part I passes (the core, stages
1-7), your network is trained on MNIST right away, with the defaults of kata train. Part II and
later parts go further, and are optional; the first time Part III (stages 13-14) passes, your CNN
is trained (kata train --model cnn) and compared with your earlier networks; a run that would take
over 10 minutes is not started, and kata says which of your functions makes it long."""

EXAMPLES = """\
exit codes: 0 every stage passes, 1 a stage does not pass yet, 2 usage error,
  70 internal error of the kata (see docs/learner.md)

examples:
  kata                  the report (the same as kata status)
  kata --no-train       the report, without starting the training when Part I passes
  kata status --json    the status as JSON for teachers and CI (never trains; see docs/teachers.md)
  NO_COLOR=1 kata       the report without colour
"""


def add_arguments(parser) -> None:
    parser.description = DESCRIPTION
    parser.epilog = EXAMPLES
    parser.add_argument("--no-train", action="store_true",
                        help="do not start the training when Part I (or Part III) passes for the first time")
    parser.add_argument("--json", action="store_true",
                        help="print only a JSON document (schema: checker/status.schema.json); "
                             "implies --no-train and leaves .kata/ untouched")


TRAINING_ELSEWHERE = ("A training run is already under way: another kata command started it. When it "
                      "ends, kata shows its result.")


def run(args) -> int:
    if args.json:  # stdout carries the JSON alone: no training, no report, no progress recorded
        result = run_stages(all_stages())
        document = status_json.status_document(result)
        print(status_json.render(document), end="", flush=True)
        return exit_code(result, document["integrity"])
    style = Style()
    progress = Progress.load()
    result = run_stages(all_stages())
    integrity = status_json.integrity_verdict()
    if integrity.get("modified"):
        # The suites or the code that judges them differ from the kata's copies: whatever the report
        # below says, nothing counts (and nothing is recorded or trained).
        print(render_status(result, progress, style, []), flush=True)
        print(f"\n{status_json.modified_message(integrity['modified'])}", file=sys.stderr, flush=True)
        return 1
    newly_passed = progress.record(result)
    train = part_one_passes(result) and not args.no_train and first_completion(progress)
    with training_lock() as free:
        # Several kata commands at once: one trains. Another that finished meanwhile counts too.
        elsewhere = train and not free
        train = train and free and first_completion(Progress.load())
        print(render_status(result, progress, style, newly_passed, training_next=train), flush=True)
        if train:
            progress.completed = now()
        progress.save()
        if elsewhere:
            print(f"\n{TRAINING_ELSEWHERE}")
        if train:
            return train_now()
        if free and part_passes(result, 3) and not args.no_train and first_cnn(progress):
            return train_cnn_now(progress, result)
    return exit_code(result)


def part_passes(result: RunResult, part: int) -> bool:
    results = [r for r in result.stages if r.stage.part == part]
    return bool(results) and all(r.passed for r in results)


def first_cnn(progress: Progress) -> bool:
    """True until a CNN of the learner's code has been trained once."""
    from ..closing import cnn_trained_before

    return cnn_trained_before() is False


def cnn_files(root=None) -> str:
    """A fingerprint of the learner's exercises/conv.py and exercises/pool.py (their contents)."""
    import hashlib

    from ..project import ROOT

    from ..stages import find_stage

    digest = hashlib.sha256()
    for stage in ("conv", "pool"):
        try:
            digest.update((root or ROOT).joinpath(find_stage(stage).exercise).read_bytes())
        except OSError:
            pass
        digest.update(b"\0")
    return digest.hexdigest()


def train_cnn_now(progress: Progress, result: RunResult) -> int:
    """The first time stages 13 and 14 pass: `kata train --model cnn`, then the closing comparison.

    A run too long to start (over 10 minutes off a terminal, or declined on one) is a note, not an
    error of the stages: it is remembered with the versions of conv.py and pool.py, and while they
    stay the same, kata reminds in one line instead of timing them again.
    """
    files = cnn_files()
    declined = progress.cnn_declined
    if declined and declined.get("files") == files:
        print(f"\n{reminder(declined)}")
        return exit_code(result)
    print("\nStages 13 and 14 pass: training your CNN on MNIST (kata train --model cnn; "
          "kata --no-train skips this).", flush=True)
    try:
        code = train_and_save(default_config("cnn"))
    except estimate.LongRunNotStarted as stop:
        progress.cnn_declined = {"files": files, "estimate": stop.estimate, "slow": stop.slow}
        progress.save()
        print(f"\n{not_started(stop)}")
        return exit_code(result)
    if code == 0:
        print("\n".join(closing.report()))
    return code


TRAIN_ANYWAY = "kata train --model cnn --yes"


def not_started(stop) -> str:
    """The note when the first CNN training did not start (stop: estimate.LongRunNotStarted)."""
    estimate_text = estimate.duration(stop.estimate)
    if stop.declined:
        return (f"Note: your CNN is not trained: you chose not to start a run of about {estimate_text}. Your stages "
                f"all pass. When you want it: kata train --model cnn (--yes starts it without asking).")
    return (f"Note: your CNN is not trained: with your functions the run would take about {estimate_text}, and kata "
            f"starts runs over 10 minutes only when asked to. {stop.advice}\n"
            f"Your stages all pass. To train it anyway: {TRAIN_ANYWAY}  (kata times your functions again "
            f"when exercises/conv.py or exercises/pool.py changes)")


def reminder(declined: dict) -> str:
    """One line while conv.py and pool.py are the versions whose CNN training did not start."""
    slow = declined["slow"] or ["conv2d", "maxpool"]
    hints = " and ".join(f"kata hint {'conv' if piece == 'conv2d' else 'pool'}" for piece in slow)
    return (f"Note: your CNN is not trained yet: with your {' and '.join(slow)} it would take about "
            f"{estimate.duration(declined['estimate'])} ({hints} to speed it up; to train anyway: {TRAIN_ANYWAY}).")


def exit_code(result: RunResult, integrity: dict | None = None) -> int:
    """0 when every stage passes and the kata's test files are its own; 1 otherwise."""
    return 0 if result.all_passed and not (integrity or {}).get("modified") else 1


def train_now() -> int:
    """Run `kata train` with its defaults, on the learner's code."""
    print(flush=True)
    # The report has just run every suite and seen them pass: no need for kata train to run them again.
    code = train_and_save(default_config(), stages_known_to_pass=True)
    part_two = stages_of_part(2)
    if code == 0 and part_two and not Progress.load().passed_before(part_two[0]):  # next: Part II, optional
        style = Style()
        print("\n" + "\n".join(part_complete(part_two[0], style)))
        print(f"{style.bold('Next:')} run kata to start {part_two[0].label}, or stop here: your network works.")
    return code
