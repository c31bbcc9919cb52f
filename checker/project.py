"""The kata's root: the clone of mnist-kata the learner works in, found from the current folder as
git finds its repository, and the one way the kata shows a path.

A folder is a kata's root when it holds the registry, checker/stages.toml: `kata` run anywhere
inside a clone works on that clone (its exercises, its suites, its checker), whichever clone the
command was installed from. `hand_over()` makes that so: when the checker that is running is not
the clone's own (`kata` installed from another clone, or a regular install), it starts the clone's
checker instead, in this process, before anything else is done. Outside any clone it says so in
one line.

    ROOT                  the root of the kata whose checker is running (after hand_over(): the
                          clone the learner stands in)
    find_root(folder)     the root that contains folder (default: the current folder), or None
    display_path(path)    a path as the learner can open it from where they are
    replace_file(path, text)  write a file in place of path, never through a symbolic link there
"""

from __future__ import annotations

import os
import stat
import sys
import tempfile
from pathlib import Path

MARKER = Path("checker", "stages.toml")  # what makes a folder a clone of the kata
ROOT = Path(__file__).resolve().parent.parent  # the clone this checker belongs to
HANDED_OVER = "KATA_HANDED_OVER"  # set in the environment of a checker started by hand_over()
PACKAGES = ("checker", "exercises", "solutions")  # the kata's own packages, at its root

# A finder that serves the kata's own packages from its folder and nothing else from there: no module
# of the learner's folder (a numpy.py, pytest.py, json.py, sitecustomize.py) can shadow an installed
# one, and another clone's installed checker cannot stand in for this one. Source code, because the
# processes the kata starts (hand_over, checker.sandbox) run it first, before importing anything.
FINDER = """\
import importlib.machinery as _machinery
import sys as _sys


class _KataPackages:
    def __init__(self, root, names):
        self.root, self.names = root, set(names)

    def find_spec(self, name, path=None, target=None):
        if name in self.names:
            return _machinery.PathFinder.find_spec(name, [self.root])
        return None


def _serve_kata_packages(root, names):
    _sys.meta_path.insert(0, _KataPackages(str(root), names))
"""


def is_root(folder: Path) -> bool:
    return (Path(folder) / MARKER).is_file()


def find_root(folder: Path | None = None) -> Path | None:
    """The kata's root containing folder (itself or a parent), or None outside every clone."""
    try:
        start = Path(folder or Path.cwd()).resolve()
    except OSError:  # the current folder was deleted
        return None
    for candidate in (start, *start.parents):
        if is_root(candidate):
            return candidate
    return None


class NotInAKata(Exception):
    """`kata` was run outside every clone of the kata; the message says what to do."""


def hand_over(argv: list[str]) -> None:
    """Make sure the running checker is the one of the clone the current folder is in.

    Returns when it is (or when only help is asked for, which needs no clone). Otherwise starts that
    clone's checker with the same arguments in place of this process (os.execv: it never returns), or
    raises NotInAKata outside every clone."""
    root = find_root()
    if root is None:
        if {"-h", "--help"} & set(argv):
            return
        raise NotInAKata(
            f"{Path.cwd() if _cwd_exists() else 'this folder'} is not inside a clone of mnist-kata: there is no "
            f"{MARKER.as_posix()} here or in a folder above. Run kata in your clone of the kata (the folder "
            "with exercises/ and tests/), or get one: git clone <the kata's address>")
    if root == ROOT and sys.flags.isolated:
        serve_kata_packages(root)
        return
    # Not isolated (the `kata` script; python -m checker is started with -I by checker/__main__.py): start
    # again with -I, the clone's own checker included, so that a sitecustomize.py that PYTHONPATH reaches, or
    # the current folder, does not share the process that judges the verdicts.
    if sys.flags.isolated and os.environ.get(HANDED_OVER) == str(root):  # started here, still not it: never loop
        raise NotInAKata(f"the checker of {root} could not be started (its checker/ folder is damaged). "
                         "Restore it with: git checkout -- checker")
    os.environ[HANDED_OVER] = str(root)
    # -I: the learner's PYTHONPATH, user site-packages and current folder do not decide which code runs.
    bootstrap = FINDER + (f"_serve_kata_packages(_sys.argv.pop(1), {PACKAGES!r}); _sys.argv[0] = 'kata'\n"
                          "from checker.cli import main\n_sys.exit(main())\n")
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(sys.executable, [sys.executable, "-I", "-c", bootstrap, str(root), *argv])


def serve_kata_packages(root: Path = ROOT, names=PACKAGES) -> None:
    """Make the kata's packages (names) importable from root in this process, and only them."""
    if not any(type(finder).__name__ == "_KataPackages" for finder in sys.meta_path):
        namespace: dict = {}
        exec(FINDER, namespace)  # noqa: S102 - the kata's own code, above
        namespace["_serve_kata_packages"](root, names)


def _cwd_exists() -> bool:
    try:
        Path.cwd()
        return True
    except OSError:
        return False


def display_path(path: str | os.PathLike, root: Path = ROOT, folder: bool = False) -> str:
    """path (absolute, or relative to the kata's root) as the learner can open it from where they are:
    relative to the current folder when the path is inside it, or when both are inside the kata;
    otherwise absolute. folder: end it with "/" (a run folder)."""
    return _displayed(path, root) + ("/" if folder else "")


def _displayed(path: str | os.PathLike, root: Path) -> str:
    target = Path(root, path)
    try:
        here = Path.cwd().resolve()
    except OSError:
        return str(target)
    absolute = Path(os.path.realpath(target))
    resolved_root = Path(root).resolve()
    if _inside(absolute, here) or (_inside(here, resolved_root) and _inside(absolute, resolved_root)):
        return os.path.relpath(absolute, here)
    return str(absolute)


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def replace_file(path: str | os.PathLike, data: str | bytes) -> None:
    """Write data (text as UTF-8) to a new file that then takes path's place, in one step: a symbolic link at
    path is replaced, never written through (a run folder or an exercise someone handed over must not make
    the kata overwrite a file elsewhere), and a reader never sees half a file. OSError as open() raises it."""
    path = Path(path)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data.encode("utf-8") if isinstance(data, str) else data)
        try:  # the mode of the file replaced (not of what a link pointed at); a new file's usual one
            status = os.lstat(path)
            mode = status.st_mode & 0o777 if stat.S_ISREG(status.st_mode) else 0o644
        except OSError:
            mode = 0o644
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        try:
            os.unlink(temporary)
        except OSError:
            pass
        raise
