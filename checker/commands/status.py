"""`kata` / `kata status`: the progress report, and the training the first time Part I (stages 1-7) passes."""

from __future__ import annotations

import sys

from .. import closing, estimate, status_json
from ..progress import Progress, now, training_lock
from ..status_text import first_completion, part_complete, part_one_passes, render_status
from ..results import RunResult
from ..verdicts import run_stages
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
  kata --all            the report with every suite run again (kata reuses the verdicts of stages
                        whose files did not change since they were last run)
  kata status --json    the status as JSON for teachers and CI (never trains; see docs/teachers.md)
  NO_COLOR=1 kata       the report without colour
"""


def add_arguments(parser) -> None:
    parser.description = DESCRIPTION
    parser.epilog = EXAMPLES
    parser.add_argument("--no-train", action="store_true",
                        help="do not start the training when Part I (or Part III) passes for the first time")
    parser.add_argument("--all", action="store_true",
                        help="run every stage's suite again; by default a stage whose files (your code it "
                             "imports, its suite, the checker) are unchanged since its last verdict keeps it")
    parser.add_argument("--json", action="store_true",
                        help="print only a JSON document (schema: checker/status.schema.json) with every "
                             "stage's state as kata grade gives it (every stage runs, also after one that does "
                             "not pass); implies --no-train and leaves .kata/ untouched")


TRAINING_ELSEWHERE = ("A training run is already under way: another kata command started it. When it "
                      "ends, kata shows its result.")


def run(args) -> int:
    if args.json:  # stdout carries the JSON alone: no training, no report, no progress recorded
        # Every stage runs, also after one that does not pass: a stage broken after later ones passed
        # shows as such, and each stage's state is the verdict `kata grade` gives it.
        result = status_json.run_every_stage()
        document = status_json.status_document(result)
        print(status_json.render(document), end="", flush=True)
        return exit_code(result, document["integrity"])
    style = Style()
    progress = Progress.load()
    result = run_stages(all_stages(), cached=not args.all)
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
        cnn = (not train and free and result.all_passed and part_passes(result, 3) and not args.no_train
               and first_cnn(progress))
        if result.all_passed and free and not cnn:
            closing.make_missing_figure()  # a CNN trained before its figure could be made: make it now
        print(render_status(result, progress, style, newly_passed, training_next=train, cnn_next=cnn), flush=True)
        if train:
            progress.completed = now()
        progress.save()
        if elsewhere:
            print(f"\n{TRAINING_ELSEWHERE}")
        if train:
            return train_now()
        if cnn:
            return train_cnn_now(progress, result)
    return exit_code(result)


def part_passes(result: RunResult, part: int) -> bool:
    results = [r for r in result.stages if r.stage.part == part]
    return bool(results) and all(r.passed for r in results)


def first_cnn(progress: Progress) -> bool:
    """True until a CNN of the learner's code has been trained once."""
    return closing.cnn_trained_before() is False


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
    """The first time stages 13 and 14 pass: `kata train --model cnn`, which closes the curriculum
    with the comparison of the three networks (checker/closing.py) when it trains.

    A run too long to start (slow functions and over 10 minutes, off a terminal or declined on one)
    is a note, not an error of the stages: it is remembered with the versions of conv.py and pool.py,
    and while they stay the same, kata reminds in one line instead of timing them again. Whatever
    happens, the last lines say what to do next.
    """
    files = cnn_files()
    declined = progress.cnn_declined
    if declined and declined.get("files") == files:
        print(f"\n{reminder(declined)}")
        return exit_code(result)
    print("\nStages 13 and 14 pass: training your CNN on MNIST (kata train --model cnn; "
          "kata --no-train skips this).", flush=True)
    try:
        return train_and_save(default_config("cnn"))
    except estimate.LongRunNotStarted as stop:
        progress.cnn_declined = {"files": files, "estimate": stop.estimate,
                                 "slow": [p for p in stop.slow if p in ("conv2d", "maxpool")]}
        progress.save()
        print(f"\n{not_started(stop, 'your CNN')}")
        return exit_code(result)


TRAIN_ANYWAY = "kata train --model cnn --yes"


def not_started(stop, what: str = "your CNN") -> str:
    """The note when the first training of what ("your CNN", "your network") did not start, ending
    with the next step (stop: estimate.LongRunNotStarted)."""
    estimate_text = estimate.duration(stop.estimate)
    anyway = f"{stop.command} --yes"
    if stop.declined:
        return (f"Note: {what} is not trained: you chose not to start a run of about {estimate_text}. Your stages "
                f"all pass.\nNext: {stop.command} when you want it (--yes starts it without asking).")
    again = (", and kata times your functions again when exercises/conv.py or exercises/pool.py changes"
             if stop.command.endswith("--model cnn") else "")
    return (f"Note: {what} is not trained: with your functions the run would take about {estimate_text}, and kata "
            f"starts runs over 10 minutes only when asked to. {stop.advice}\n"
            f"Your stages all pass{again}.\n{next_after_slow(stop.slow, stop.command, anyway)}")


def next_after_slow(slow: list[str], command: str, anyway: str) -> str:
    """The next step when slow functions kept a run from starting: speed them up, or train anyway."""
    if not slow:
        return f"Next: make your functions faster, then run {command}; or train anyway: {anyway}"
    stages = list(dict.fromkeys(estimate.PIECE[piece].module for piece in slow))
    return (f"Next: speed up your {' and '.join(slow)} ({estimate.hint_commands(slow)}), check "
            f"{'it' if len(slow) == 1 else 'them'} ({' and '.join(f'kata check {s}' for s in stages)}), then run "
            f"{'kata' if command.endswith('--model cnn') else command}; or train anyway: {anyway}")


def reminder(declined: dict) -> str:
    """While conv.py and pool.py are the versions whose CNN training did not start: one line, and the
    next step."""
    slow = declined["slow"]
    with_what = f"your {' and '.join(slow)}" if slow else "your functions"
    return (f"Note: your CNN is not trained yet: with {with_what} it would take about "
            f"{estimate.duration(declined['estimate'])}.\n{next_after_slow(slow, 'kata train --model cnn', TRAIN_ANYWAY)}")


def exit_code(result: RunResult, integrity: dict | None = None) -> int:
    """0 when every stage passes and the kata's test files are its own; 1 otherwise."""
    return 0 if result.all_passed and not (integrity or {}).get("modified") else 1


def train_now() -> int:
    """Run `kata train` with its defaults, on the learner's code; a run too long to start is a note
    that ends with the next step."""
    print(flush=True)
    # The report has just run every suite and seen them pass: no need for kata train to run them again.
    try:
        code = train_and_save(default_config(), stages_known_to_pass=True)
    except estimate.LongRunNotStarted as stop:
        print(f"\n{not_started(stop, 'your network')}")
        return 0
    part_two = stages_of_part(2)
    if code == 0 and part_two and not Progress.load().passed_before(part_two[0]):  # next: Part II, optional
        style = Style()
        print("\n" + "\n".join(part_complete(part_two[0], style)))
        print(f"{style.bold('Next:')} run kata to start {part_two[0].label}, or stop here: your network works.")
    return code
