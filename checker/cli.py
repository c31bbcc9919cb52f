"""The `kata` command: the parser and the dispatch, nothing else.

Each command lives in its own module of this package with two functions,

    add_arguments(parser)    its options (and its description and examples)
    run(args) -> int         the exit code

and is imported only when it is used, so one missing or slow module never breaks the others.
Errors the kata expects (KataError) are one line "Error: ..."; anything else is an internal error
whose traceback goes to .kata/last-error.log, never to the learner's screen, and whose exit code is
INTERNAL_ERROR (70), never 1 ("a stage does not pass yet") or 2 (a usage error).
"""

from __future__ import annotations

import argparse
import difflib
import errno
import importlib
import os
import signal
import sys
import threading
import traceback
from datetime import datetime
from types import ModuleType

from .errors import KataError, Terminated, UsageError
from .project import ROOT, NotInAKata, display_path, hand_over, replace_file
from .stages import find_stage

# command -> (its module in checker/commands/, one line for `kata --help`)
COMMANDS = {
    "status": ("status", "where you are and what to do next (the default)"),
    "check": ("check", "run one stage's tests with the full pytest output"),
    "hint": ("hints", "the next hint for a stage, one level at a time"),
    "watch": ("watch", "re-run the report whenever you save a file in exercises/"),
    "reset": ("reset", "put a stage's stub back (your version is backed up first)"),
    "solution": ("solution", "the reference solution of a stage you have passed"),
    "list": ("listing", "the stages: titles, files, goals and states"),
    "train": ("train", "train your network on MNIST, once Part I (stages 1-7) passes"),
    "experiment": ("experiments", "controlled experiments: init, regularization, optimizers, depth"),
    "predict": ("predict", "read a handwritten digit with a trained network"),
    "report": ("report", "write a run's web page: its figures, and a canvas your network reads"),
    "grade": ("grade", "for grading: one stage on its own, its verdict as the exit code"),
    "class-report": ("class_report", "for teachers: a class's progress from many kata status --json files"),
}
# Commands that read only the files they are given: they also run outside a clone of the kata, with the
# checker that is installed (a teacher's folder of artifacts need not be inside one).
ANYWHERE = {"class-report"}

DESCRIPTION = "mnist-kata: build an MNIST digit classifier from scratch in NumPy, one tested stage at a time."
EXAMPLES = """\
examples:
  kata                  where you are and what to do next
  kata --no-train       the same, without the training that starts the first time Part I
                        (or Part III) passes; kata status --help has the report's options
  kata check            run the current stage's tests with full output
  kata check softmax    run stage 3 (by name or number: kata check 3)
  kata hint             a hint for the current stage; again for the next one
  kata watch            re-run the report on every save (Ctrl-C to stop)
  kata reset relu       put the stub of stage 2 back (your file is backed up)
  kata list             all stages

Every command has its own help: kata COMMAND --help.
Colour only on a terminal; set NO_COLOR=1 to turn it off.
"""

ERROR_LOG = ".kata/last-error.log"
# The exit code of an internal error (a bug of the kata, not a stage that does not pass yet, 1, nor a usage
# error, 2): EX_SOFTWARE of sysexits.h. The classroom workflow tells a crash from progress by it.
INTERNAL_ERROR = 70


class KataArgumentParser(argparse.ArgumentParser):
    """argparse with the kata's error format: "Error: ...", exit code 2."""

    def error(self, message):
        raise UsageError(f"{message}. See: {self.prog} --help")


def main(argv: list[str] | None = None) -> int:
    if argv is None:  # the kata command itself (not a test calling main)
        try:
            hand_over(sys.argv[1:])  # the checker of the clone the learner stands in, not another one
        except NotInAKata as error:
            if _command_of(sys.argv[1:]) not in ANYWHERE:
                print(f"Error: {error}", file=sys.stderr)
                return 2
        from .sandbox import become_subreaper, supervise

        supervise()  # the command goes on in a child; what it leaves behind, even killed, is ended
        become_subreaper()  # its runs' orphans are its own
    argv = list(sys.argv[1:] if argv is None else argv)
    previous = _on_sigterm_raise()
    try:
        args = parse_args(argv)
        code = int(args.handler.run(args) or 0)
        if sys.stdout is not None:
            sys.stdout.flush()  # here, not at exit: a reader gone (kata | head) is a BrokenPipeError caught below
        return code
    except Terminated as stop:
        if stop.quiet:  # no one to tell: the terminal closed, or the supervisor was killed
            return 128 + signal.SIGHUP
        _flush_stdout()
        during = f" while testing {stop.during}" if stop.during else ""
        print(f"\nStopped: the kata received SIGTERM{during}. If your code sends signals "
              "(os.kill), remove that call: a kata function returns its result.", file=sys.stderr)
        return 143
    except KataError as error:
        _flush_stdout()
        print(f"Error: {error}", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        print("\nStopped.", file=sys.stderr)
        return 130
    except SystemExit as exit_:  # --help and --version end here
        return exit_.code if isinstance(exit_.code, int) else 0
    except BrokenPipeError:  # `kata | head`: the reader left; say nothing more
        _silence_stdout()
        return 1
    except OSError as error:
        if error.errno not in (errno.ENOSPC, errno.EDQUOT):
            return _report_internal_error(error, argv)
        _silence_stdout()  # the output may be what is full: nothing more goes there
        print(f"Error: no space left to write to ({error.strerror}): the disk, or the device the output goes "
              "to, is full. Free some space or send the output elsewhere, then run the command again.",
              file=sys.stderr)
        return 1
    except Exception as error:  # noqa: BLE001 - the learner must never see the checker's traceback
        return _report_internal_error(error, argv)
    finally:
        for number, handler in (previous or {}).items():
            signal.signal(number, handler)


def _report_internal_error(error: BaseException, argv: list[str]) -> int:
    log = _log_internal_error(argv, error)
    print(f"Error: internal error in the kata (not in your code): {type(error).__name__}: {error}. "
          f"The details are in {log}; please report them with that file.", file=sys.stderr)
    return INTERNAL_ERROR


def _on_sigterm_raise():
    """SIGTERM and SIGHUP become Terminated (a KeyboardInterrupt): runs stop, children die, temporary
    folders go, as on Ctrl-C; after a SIGHUP (a closed terminal, a killed supervisor) without a word.
    Returns {signal: the previous handler} (None outside the main thread)."""
    def handler(signum, frame):
        stop = Terminated()
        stop.quiet = signum == signal.SIGHUP
        raise stop
    if threading.current_thread() is not threading.main_thread():
        return None
    numbers = [signal.SIGTERM]
    if hasattr(signal, "SIGHUP") and signal.getsignal(signal.SIGHUP) is signal.SIG_DFL:
        numbers.append(signal.SIGHUP)  # unless ignored (nohup kata ...)
    return {number: signal.signal(number, handler) for number in numbers}


def _command_of(argv: list[str]) -> str | None:
    return next((a for a in argv if not a.startswith("-")), None)


def parse_args(argv: list[str]) -> argparse.Namespace:
    """Parse a command line; without a command, it is `kata status`."""
    command = _command_of(argv)
    if command is None and not {"-h", "--help"} & set(argv):
        argv, command = ["status", *argv], "status"
    if command is not None and command not in COMMANDS:
        raise UsageError(f"there is no command {command!r}.{_suggestion(command)} "
                         f"The commands are: {', '.join(COMMANDS)}. See: kata --help")
    parser = build_parser(command)
    return parser.parse_args(argv)


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The full parser; only `command`'s module is imported to add its options."""
    parser = KataArgumentParser(prog="kata", usage="kata [-h] [COMMAND] ...", description=DESCRIPTION,
                                epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", title="commands", prog="kata",
                                       parser_class=KataArgumentParser)
    for name, (_, summary) in COMMANDS.items():
        sub = subparsers.add_parser(name, help=summary, description=summary[0].upper() + summary[1:] + ".",
                                    formatter_class=argparse.RawDescriptionHelpFormatter)
        if name == command:
            module = load_command(name)
            module.add_arguments(sub)
            sub.set_defaults(handler=module)
    return parser


def load_command(name: str) -> ModuleType:
    module_name = f"{__package__}.commands.{COMMANDS[name][0]}"
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as error:
        if error.name != module_name:
            raise
        raise KataError(f"kata {name} is not available yet in this version of the kata. "
                        "Update the kata (git pull), or see what there is: kata --help") from None


def default_args(command: str) -> argparse.Namespace:
    """The arguments of `kata COMMAND` without options, e.g. to train with the defaults of `kata train`."""
    return build_parser(command).parse_args([command])


def _suggestion(word: str) -> str:
    if find_stage(word):
        return f" Did you mean: kata check {word}?"
    close = difflib.get_close_matches(word, COMMANDS, n=1)
    return f" Did you mean: kata {close[0]}?" if close else ""


def _log_internal_error(argv: list[str], error: BaseException) -> str:
    text = (f"{datetime.now().isoformat(timespec='seconds')}  kata {' '.join(argv)}\n"
            f"Python {sys.version.split()[0]} at {sys.executable}\n\n"
            + "".join(traceback.format_exception(error)))
    path = ROOT / ERROR_LOG
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        replace_file(path, text)
        return display_path(ERROR_LOG)
    except OSError:  # .kata is a file, or read-only: the temporary folder instead
        import tempfile

        try:
            with tempfile.NamedTemporaryFile("w", prefix="kata-last-error-", suffix=".log", delete=False,
                                             encoding="utf-8") as f:
                f.write(text)
            return f.name
        except OSError:
            return "(could not write the log)"


def _flush_stdout() -> None:
    try:
        sys.stdout.flush()
    except (OSError, ValueError):
        pass


def _silence_stdout() -> None:
    """After a broken pipe, point stdout at /dev/null so that Python's exit flush stays quiet."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # AttributeError: no stdout at all
        pass
