"""Errors the `kata` command expects and shows as one clear message, never as a traceback."""


class KataError(Exception):
    """Shown by the CLI as "Error: <message>" on stderr, exit code 1.

    Write the message as "What happened. What to do.", e.g.
    "data/mnist/train-labels-idx1-ubyte.gz is truncated: 1000 bytes, expected 60008. Restore it with git checkout data/mnist."
    """

    exit_code = 1


class UsageError(KataError):
    """A wrong command line: exit code 2."""

    exit_code = 2


class Terminated(KeyboardInterrupt):
    """A SIGTERM or SIGHUP arrived (the `kata` command turns them into this): stop like Ctrl-C, cleaning up.

    during: what was running then, e.g. "relu() of Stage 2 (ReLU)", when the runner knows.
    """

    during = ""
    quiet = False  # a SIGHUP: the terminal (or the supervisor, checker.sandbox.supervise) is gone; say nothing
