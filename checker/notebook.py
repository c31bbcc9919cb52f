"""The kata in Jupyter: an IPython extension, a front-end of the `kata` command as checker/cli.py is.

In a notebook of the kata (notebooks/ holds one per part), the first cell is

    %load_ext checker.notebook

and then every `kata` command is a line magic with the same words, parsed by the same parser and run
by the same command code (checker.cli.main): `%kata`, `%kata check softmax`, `%kata hint`,
`%kata train --epochs 5`, `%kata experiment init`, `%kata predict --index 0`, ... Their report is shown
in the cell as HTML with the terminal's words and colours (checker.term paints, this module turns the
escape codes into HTML, everything from files and messages escaped), live while it runs (a training's
progress bar included), and the figures of a run a command wrote are shown under it. The learner's
code still runs in the kata's sandboxed test process (checker.runner), so an endless loop in a stage
is stopped by the kata's time limit and the kernel stays alive; Interrupt (the stop button) is Ctrl-C.

Two commands exist only here:

    %%kata write STAGE     (a cell magic) writes the cell's functions and imports into the stage's file in
                           exercises/, the one source of truth, after saving the file to .kata/backups/ as
                           kata reset does; says which file changed; then checks the stage
    %kata canvas [--run DIR] [--no-kernel]
                           the draw-a-digit canvas (checker/canvas.py, needs the notebook extra): the
                           newest run's network reads what you draw, and your own forward functions in
                           exercises/ answer too

KATA_NOTEBOOK_QUICK=1 in the kernel's environment (the kata's selftests set it) makes the training and
experiment cells short: MNIST's first QUICK_IMAGES training images (and a quarter as many for validation
and test) and QUICK_EPOCHS epochs, said on the cell's first line. The same code runs, on less data; the
notebooks as shipped train on all of MNIST.
"""

from __future__ import annotations

import ast
import contextlib
import html
import importlib
import io
import os
import re
import shlex
import sys
import time
from pathlib import Path

from .project import PACKAGES, ROOT, display_path, find_root, serve_kata_packages

QUICK = "KATA_NOTEBOOK_QUICK"
QUICK_IMAGES = 1000  # training images with KATA_NOTEBOOK_QUICK=1 (validation and test: a quarter each)
QUICK_EPOCHS = 2  # and epochs of every training and experiment
MAX_SHOWN = 400_000  # characters of a command's output a cell shows at most
REFRESH_SECONDS = 0.25  # the live output is redrawn at most this often
ONLY_IN_A_TERMINAL = {
    "watch": "kata watch runs until Ctrl-C and re-runs the report on every save: in a notebook, run %kata "
             "again after saving (it answers at once for the stages whose files did not change)",
}
NOTEBOOK_EXAMPLES = """\
In a notebook every kata command is a line magic: %kata, %kata check softmax, %kata hint, %kata train,
%kata experiment init, %kata predict --index 0 (%kata --help, %kata COMMAND --help). Two more:
  %%kata write STAGE     at the top of a cell: write the cell's functions into the stage's file
                         (your version is saved in .kata/backups/ first), then check the stage
  %kata canvas           draw a digit: your newest network reads it, and your forward() in exercises/
"""


# --- loading the extension ---------------------------------------------------------------------

def load_ipython_extension(ipython) -> None:
    """%load_ext checker.notebook: the magics of the kata whose clone holds the notebook.

    As `kata` does (checker.project.hand_over), the checker that runs is the one of the clone the
    kernel works in (its current folder, the notebook's): when the checker imported first belongs
    to another clone or to a regular install, the clone's own is imported in its place."""
    root = find_root()
    if root is None:
        show_error(f"{Path.cwd()} is not inside a clone of mnist-kata: there is no checker/stages.toml here or "
                   "in a folder above. Open the notebooks of your clone (its notebooks/ folder) and run this "
                   "cell again.")
        return
    if root != ROOT:
        for name in [name for name in sys.modules if name.split(".")[0] in PACKAGES]:
            del sys.modules[name]
        serve_kata_packages(root)
        try:
            own = importlib.import_module(__name__)
        except ModuleNotFoundError:
            show_error(f"the kata in {root} has no notebook front-end yet (checker/notebook.py): it is older than "
                       "the kata installed in this kernel. Update it (git pull in that folder), then restart the kernel.")
            return
        own.load_ipython_extension(ipython)
        return
    serve_kata_packages(root)
    ipython.register_magic_function(kata_magic, magic_kind="line_cell", magic_name="kata")


def kata_magic(line: str, cell: str | None = None):
    """%kata ARGS (a kata command) and %%kata write STAGE (a cell into a stage's file)."""
    try:
        argv = shlex.split(line)
    except ValueError as error:
        show_error(f"cannot read the command line ({error}). Quote a path with spaces, e.g. "
                   "%kata predict \"my digit.png\"", exit_code=2)
        return None
    if cell is not None:
        return write_cell_command(argv, cell)
    command = next((word for word in argv if not word.startswith("-")), None)
    if command == "write":
        show_error("%%kata write STAGE goes on the first line of a cell, over the functions to write into the "
                   "stage's file (two %: it takes the whole cell). See: %kata --help", exit_code=2)
        return None
    if command == "canvas":
        return canvas_command(argv[argv.index("canvas") + 1:])
    if command in ONLY_IN_A_TERMINAL:
        show_error(f"{ONLY_IN_A_TERMINAL[command]}. In a terminal: kata {command}", exit_code=2)
        return None
    run_kata(argv)
    return None


# --- running a kata command in a cell ----------------------------------------------------------

def run_kata(argv: list[str]) -> int:
    """`kata ARGV` through checker.cli.main, its output live in the cell as HTML, then the figures of the
    run folders it wrote. Returns its exit code (also in the output's metadata, under "kata")."""
    from . import cli

    folder = runs_parent(argv)
    before = folders_in(folder)
    output = LiveOutput(argv)
    quick = quick_mode() and folder is not None
    with output.capturing(), quick_data(quick):
        if quick:
            print(f"{QUICK}=1: a short run (for the kata's own tests): MNIST's first {QUICK_IMAGES:,} training "
                  f"images and --epochs {QUICK_EPOCHS}. Unset it to train for real.", flush=True)
            argv = [*argv, "--epochs", str(QUICK_EPOCHS)]
        code = cli.main(list(argv))
        if argv and argv[0] in ("-h", "--help"):
            print("\n" + NOTEBOOK_EXAMPLES, end="")
    output.finish(code)
    if folder is not None:
        show_figures([path for path in folders_in(folder) if path not in before])
    return code


def runs_parent(argv: list[str]) -> Path | None:
    """Where `kata ARGV` writes its run folders (train, experiment): --out, else runs/; None for the
    commands that write none (or a command line that does not parse: kata says why)."""
    from . import cli, runs

    command = next((word for word in argv if not word.startswith("-")), None)
    if command not in ("train", "experiment"):
        return None
    try:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            args = cli.parse_args(list(argv))
    except (Exception, SystemExit):  # noqa: BLE001 - kata itself reports the problem when it runs
        return None
    return Path(args.out) if getattr(args, "out", None) else runs.runs_folder()


def folders_in(folder: Path | None) -> set[Path]:
    try:
        return {path for path in folder.iterdir() if path.is_dir()} if folder else set()
    except OSError:
        return set()


def show_figures(folders: list[Path]) -> None:
    """Every figure of the new run folders under the cell: its file name, caption and picture."""
    from IPython.display import HTML, Image, display

    from . import page, runs

    for folder in sorted(folders):
        figures = runs.Run.load(folder).figures()
        if not figures:
            continue
        display(HTML(f'<p style="margin:.6em 0 .2em"><b>Figures of {html.escape(display_path(folder, folder=True))}</b></p>'))
        for path in figures:
            caption = page.FIGURE_CAPTIONS.get(path.name, "")
            display(HTML(f"<p style=\"margin:.4em 0 .1em\"><code>{html.escape(path.name)}</code>"
                         f"{': ' + html.escape(caption) if caption else ''}</p>"))
            try:
                display(Image(data=path.read_bytes(), format="png"))
            except OSError:
                continue


def quick_mode() -> bool:
    return os.environ.get(QUICK, "").strip().lower() in ("1", "true", "yes")


@contextlib.contextmanager
def quick_data(on: bool):
    """When on (KATA_NOTEBOOK_QUICK=1): checker.data.load_dataset gives the first QUICK_IMAGES training
    images (validation and test: a quarter as many) of what it would give, for a short run."""
    if not on:
        yield
        return
    from . import data

    real = data.load_dataset

    def small(*args, **kwargs):
        full = real(*args, **kwargs)
        part = QUICK_IMAGES // 4

        def cut(split, count):
            return data.Split(split.images[:count], split.labels[:count])

        return data.Dataset(train=cut(full.train, QUICK_IMAGES), validation=cut(full.validation, part),
                            test=cut(full.test, part), name=f"{full.name} (first {QUICK_IMAGES} images: {QUICK}=1)",
                            data_dir=full.data_dir)

    data.load_dataset = small
    try:
        yield
    finally:
        data.load_dataset = real


class LiveOutput:
    """What a command prints, shown in the cell as HTML while it runs: a line ended by a carriage
    return is drawn again, as on a terminal, so a training's progress bar moves in place."""

    redraws_lines = True  # checker.term.redraws: the epoch bar draws itself again on one line

    def __init__(self, argv: list[str]):
        from IPython.display import display

        self.argv = argv
        self.lines: list[str] = []
        self.current = ""
        self.replace = False  # a carriage return came: the next text replaces the current line
        self.size = 0
        self.cut = False
        self.last_shown = 0.0
        data, metadata = self._bundle(running=True)
        self.handle = display(data, raw=True, metadata=metadata, display_id=True)

    @contextlib.contextmanager
    def capturing(self):
        from .term import colour

        errors = _ErrorStream(self)
        with contextlib.redirect_stdout(self), contextlib.redirect_stderr(errors), \
                colour(not os.environ.get("NO_COLOR")):
            yield

    # the file-like interface the kata's code writes to
    encoding = "utf-8"
    errors = "replace"

    def isatty(self) -> bool:
        return False

    def writable(self) -> bool:
        return True

    def flush(self) -> None:
        self._refresh()

    def write(self, text: str) -> int:
        text = str(text)
        if self.cut:
            return len(text)
        if self.size + len(text) > MAX_SHOWN:
            text = text[: max(0, MAX_SHOWN - self.size)] + "\n... (output cut here: it is longer than a cell shows)\n"
            self.cut = True
        self.size += len(text)
        for piece in re.split(r"(\r\n|\r|\n)", text):
            if piece in ("\n", "\r\n"):
                self.lines.append(self.current)
                self.current, self.replace = "", False
            elif piece == "\r":
                self.replace = True
            elif piece:
                self.current = piece if self.replace else self.current + piece
                self.replace = False
        self._refresh()
        return len(text)

    def text(self) -> str:
        return "\n".join(self.lines + ([self.current] if self.current else []))

    def _refresh(self, force: bool = False) -> None:
        now = time.monotonic()
        if force or now - self.last_shown >= REFRESH_SECONDS:
            self.last_shown = now
            data, metadata = self._bundle(running=not force)
            self.handle.update(data, raw=True, metadata=metadata)

    def _bundle(self, running: bool, exit_code: int | None = None) -> tuple[dict, dict]:
        """The output's data (HTML, and the plain words) and its metadata (the command, its exit code)."""
        text = self.text()
        body = ansi_to_html(text) if text else ("<i>running...</i>" if running else "")
        metadata = {"kata": {"argv": self.argv, "exit_code": exit_code, "running": running}}
        return ({"text/html": f'<pre class="kata-output" style="{PRE_STYLE}">{body}</pre>',
                 "text/plain": strip_escapes(text) or ("running..." if running else "")}, metadata)

    def finish(self, exit_code: int) -> None:
        if self.current:
            self.lines.append(self.current)
            self.current = ""
        data, metadata = self._bundle(running=False, exit_code=exit_code)
        self.handle.update(data, raw=True, metadata=metadata)


class _ErrorStream:
    """stderr of a command: into the same output, in red."""

    encoding = "utf-8"
    errors = "replace"

    def __init__(self, output: LiveOutput):
        self.output = output

    def isatty(self) -> bool:
        return False

    def writable(self) -> bool:
        return True

    def flush(self) -> None:
        self.output.flush()

    def write(self, text: str) -> int:
        text = str(text)
        lines = text.split("\n")
        self.output.write("\n".join(f"\x1b[31m{line}\x1b[0m" if line else line for line in lines))
        return len(text)


def show_error(message: str, exit_code: int = 1) -> None:
    """One "Error: ..." line in the cell, as the terminal shows it."""
    from IPython.display import display

    text = f"Error: {message}"
    display({"text/html": f'<pre class="kata-output" style="{PRE_STYLE}"><span style="color:{COLOURS["31"]}">'
                          f"{html.escape(text)}</span></pre>", "text/plain": text},
            raw=True, metadata={"kata": {"exit_code": exit_code, "running": False}})


# --- the terminal's escape codes as HTML --------------------------------------------------------

PRE_STYLE = ("white-space:pre-wrap;word-break:break-word;font-size:13px;line-height:1.35;margin:0;"
             "padding:.4em 0;background:transparent")
COLOURS = {"30": "#555", "31": "#c62828", "32": "#2e7d32", "33": "#a15c00", "34": "#1565c0", "35": "#8e24aa",
           "36": "#00796b", "37": "#777", "90": "#777", "91": "#c62828", "92": "#2e7d32", "93": "#a15c00",
           "94": "#1565c0", "95": "#8e24aa", "96": "#00796b", "97": "#777"}
_SGR = re.compile(r"\x1b\[([0-9;]*)m")
_OTHER_ESCAPES = re.compile(r"\x1b(?:\[[0-9;?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)?|[@-Z\\-_])?")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
# A path to a file of the learner's (relative, as display_path gives it), with its line: a link that
# JupyterLab opens in its editor.
_LEARNER_FILE = re.compile(r"(?<![\w/.])((?:\.\./)*exercises/\w+\.py)(:\d+)?")


def ansi_to_html(text: str) -> str:
    """text as it would look on a terminal, in HTML: the colours and bold of SGR escape codes as spans
    with inline styles (JupyterLab keeps them), every other escape sequence and control character
    dropped or shown as "?", everything else escaped; a path to a file of exercises/ becomes a link."""
    out = []
    bold = dim = False
    colour = None
    position = 0
    for match in _SGR.finditer(text):
        out.append(_span(text[position:match.start()], bold, dim, colour))
        for code in (match.group(1) or "0").split(";"):
            code = code.lstrip("0") or "0"
            if code == "0":
                bold = dim = False
                colour = None
            elif code == "1":
                bold = True
            elif code == "2":
                dim = True
            elif code == "22":
                bold = dim = False
            elif code == "39":
                colour = None
            elif code in COLOURS:
                colour = COLOURS[code]
        position = match.end()
    out.append(_span(text[position:], bold, dim, colour))
    return "".join(out)


def _span(text: str, bold: bool, dim: bool, colour: str | None) -> str:
    text = _CONTROL.sub("?", _OTHER_ESCAPES.sub("", text))
    if not text:
        return ""
    escaped = _LEARNER_FILE.sub(lambda m: f'<a href="{_href(m.group(1))}" style="color:inherit;text-decoration:'
                                          f'underline dotted">{m.group(0)}</a>', html.escape(text, quote=True))
    styles = ([f"color:{colour}"] if colour else []) + (["font-weight:bold"] if bold else []) + \
        (["opacity:.65"] if dim else [])
    return f'<span style="{";".join(styles)}">{escaped}</span>' if styles else escaped


def _href(path: str) -> str:
    """A link to a learner's file named as display_path names it (relative to the current folder, the
    notebook's) or as a stage's message names it (relative to the kata's root): relative to the notebook."""
    if (Path.cwd() / path).is_file():
        return path
    try:
        return Path(os.path.relpath(ROOT / path, Path.cwd())).as_posix()
    except (ValueError, OSError):
        return path


def strip_escapes(text: str) -> str:
    """The plain words of text: every escape sequence gone, control characters shown as "?"."""
    return _CONTROL.sub("?", _OTHER_ESCAPES.sub("", _SGR.sub("", text)))


# --- %%kata write STAGE -----------------------------------------------------------------------

def write_cell_command(argv: list[str], cell: str) -> None:
    """%%kata write STAGE: the cell's functions into the stage's file, then `kata check STAGE`."""
    from .errors import KataError
    from .stages import find_stage

    if len(argv) != 2 or argv[0] != "write":
        show_error("the cell magic is %%kata write STAGE (e.g. %%kata write softmax) on the first line, over the "
                   "functions to write into the stage's file. See: %kata --help", exit_code=2)
        return None
    stage = find_stage(argv[1])
    if stage is None:
        show_error(f"there is no stage {argv[1]!r}. Name one by number or name, e.g. %%kata write 3 or "
                   "%%kata write softmax (the stages: %kata list)", exit_code=2)
        return None
    try:
        written = write_cell(stage, cell)
    except KataError as error:
        show_error(str(error), exit_code=getattr(error, "exit_code", 1))
        return None
    show_written(written)
    if written.functions:
        define_in_notebook(cell)
    run_kata(["check", stage.id])
    return None


class Written:
    """What %%kata write did: the stage, the functions replaced and added, the imports added, and the
    file written (None when the file already held the cell's code)."""

    def __init__(self, stage, functions, added, imports, replaced):
        self.stage, self.functions, self.added, self.imports, self.replaced = stage, functions, added, imports, replaced


def write_cell(stage, cell: str, root: Path | None = None) -> Written:
    """Put the cell's functions in place of the same functions of the stage's file (a function the file
    does not have goes at its end; one without a docstring keeps the file's) and add its imports the
    file lacks, saving the file to .kata/backups/ first. KataError when the cell or the file cannot be
    read as Python, or the cell holds anything but imports and functions."""
    from .backups import replace_stage_file
    from .errors import KataError

    root = Path(root or ROOT)
    path = root / stage.exercise
    shown = display_path(stage.exercise, root)
    cell_lines = cell.splitlines()
    try:
        tree = ast.parse(cell)
    except SyntaxError as error:
        where = f"line {error.lineno}" if error.lineno else "a line"
        raise KataError(f"the cell has a {type(error).__name__} on {where}: {error.msg}. Nothing was written to "
                        f"{shown}. Fix the cell and run it again.") from None
    functions, imports = {}, []
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            functions[node.name] = node
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            imports.append(node)
        elif isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
            continue  # a docstring or a string as a comment
        else:
            statement = cell_lines[node.lineno - 1].strip()
            raise KataError(f"line {node.lineno} of the cell ({statement[:60]}) is neither an import nor a function "
                            f"definition, and %%kata write puts only those into {shown}. Move it to a cell of its "
                            "own (say, to try your function), then run this cell again. Nothing was written.")
    if not functions:
        raise KataError(f"the cell defines no function, so there is nothing to write into {shown}. Write "
                        f"{stage.tasks[0]}() under the line %%kata write {stage.id}.")
    try:
        text = path.read_text(encoding="utf-8")
        file_tree = ast.parse(text)
    except OSError as error:
        raise KataError(f"cannot read {shown} ({error.strerror or error}). Put the stub back with: "
                        f"%kata reset {stage.id} --yes, then run this cell again.") from None
    except SyntaxError as error:
        raise KataError(f"{shown} has a {type(error).__name__} on line {error.lineno}: {error.msg}, so the cell's "
                        f"functions cannot be put in place of its own. Fix the file, or put the stub back with "
                        f"%kata reset {stage.id} --yes (your version is saved first), then run this cell "
                        "again. Nothing was written.") from None
    lines = text.splitlines()
    edits: list[tuple[int, int, list[str]]] = []  # (first line index, end index, new lines), 0-based
    own = {node.name: node for node in file_tree.body if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))}
    replaced, added = [], []
    for name, node in functions.items():
        new = _source_lines(cell_lines, node)
        old = own.get(name)
        if old is None:
            added.append((name, new))
            continue
        if ast.get_docstring(node) is None and ast.get_docstring(old) is not None:
            new = _with_docstring(new, node, lines, old)
        edits.append((_first_line(old) - 1, old.end_lineno, new))
        replaced.append(name)
    file_imports = {ast.unparse(node) for node in file_tree.body if isinstance(node, (ast.Import, ast.ImportFrom))}
    new_imports = [ast.unparse(node) for node in imports if ast.unparse(node) not in file_imports]
    new_imports = list(dict.fromkeys(new_imports))
    if new_imports:
        after = [node.end_lineno for node in file_tree.body if isinstance(node, (ast.Import, ast.ImportFrom))]
        docstring = file_tree.body[0] if file_tree.body and isinstance(file_tree.body[0], ast.Expr) and \
            isinstance(getattr(file_tree.body[0], "value", None), ast.Constant) else None
        at = max(after) if after else (docstring.end_lineno if docstring else 0)
        edits.append((at, at, new_imports if after else ["", *new_imports]))
    for start, end, new in sorted(edits, key=lambda edit: edit[0], reverse=True):
        lines[start:end] = new
    for name, new in added:
        lines += ["", "", *new]
    updated = "\n".join(lines) + "\n"
    result = None
    if updated != text:
        result = replace_stage_file(stage, updated, retry="this cell again", root=root)
    return Written(stage, replaced, [name for name, _ in added], new_imports, result)


def _first_line(node) -> int:
    return min([node.lineno, *(decorator.lineno for decorator in node.decorator_list)])


def _source_lines(lines: list[str], node) -> list[str]:
    return lines[_first_line(node) - 1:node.end_lineno]


def _with_docstring(new: list[str], node, file_lines: list[str], old) -> list[str]:
    """The cell's function (its lines, new) with the docstring of the file's function put first in its body."""
    first = old.body[0]
    docstring = file_lines[first.lineno - 1:first.end_lineno]
    old_indent = re.match(r"\s*", docstring[0]).group(0)
    body_line = node.body[0].lineno - _first_line(node)  # index in new of the body's first line
    body_indent = re.match(r"\s*", new[body_line]).group(0) if body_line < len(new) else "    "
    if node.body[0].lineno == node.lineno:  # def f(x): return x, on one line: leave it as it is
        return new
    moved = [body_indent + line[len(old_indent):] if line.startswith(old_indent) else line for line in docstring]
    return new[:body_line] + moved + new[body_line:]


def show_written(written: Written) -> None:
    from IPython.display import display

    stage = written.stage
    shown = display_path(stage.exercise)
    names = [f"{name}()" for name in written.functions] + [f"{name}() (new)" for name in written.added]
    if written.replaced is None:
        text = f"{shown} already holds these functions ({', '.join(names)}): nothing was written."
    else:
        text = f"Wrote {', '.join(names)} into {shown}"
        if written.imports:
            text += f", and added: {'; '.join(written.imports)}"
        text += "."
        backup = written.replaced.backup_shown()
        text += f" Your previous version is saved in {backup}." if backup else ""
    text += " The file is what the kata checks and trains: the cell is a way to write it."
    display({"text/html": f'<pre class="kata-output" style="{PRE_STYLE}"><b>{ansi_to_html(text)}</b></pre>',
             "text/plain": text}, raw=True, metadata={"kata": {"written": stage.exercise if written.replaced else None}})


def define_in_notebook(cell: str) -> None:
    """The cell's functions and imports defined in the notebook too, to try them in the next cells."""
    from IPython import get_ipython

    shell = get_ipython()
    if shell is not None:
        try:
            exec(compile(cell, "<%%kata write>", "exec"), shell.user_ns)  # noqa: S102 - defs and imports only
        except Exception as error:  # noqa: BLE001 - an import that fails here is the check's to report
            show_error(f"the cell's code could not be defined in the notebook ({type(error).__name__}: {error}); "
                       "the file was written and is checked below.")


# --- %kata canvas --------------------------------------------------------------------------------

def canvas_command(argv: list[str]):
    """%kata canvas [--run DIR] [--no-kernel]: the draw-a-digit widget (checker.canvas)."""
    from .cli import KataArgumentParser
    from .errors import KataError
    from .options import folder_path

    parser = KataArgumentParser(prog="%kata canvas", description=(
        "Draw a digit: the network of the newest usable run (or --run DIR) reads it on every stroke in the "
        "browser, with the page's own script (report.html's), and your forward functions in exercises/ "
        "read the same 28x28 image in the kernel, in a process of their own with the kata's time limit."))
    parser.add_argument("--run", type=folder_path, metavar="DIR", help="the run folder whose network to use")
    parser.add_argument("--no-kernel", action="store_true",
                        help="only the network in the browser: do not run your functions in the kernel")
    try:
        with contextlib.redirect_stdout(io.StringIO()):  # --help: shown once, below
            args = parser.parse_args(argv)
        from . import canvas

        return canvas.KataCanvas(run=args.run, kernel=not args.no_kernel)
    except SystemExit:  # --help
        help_text = parser.format_help()
        from IPython.display import display

        display({"text/plain": help_text, "text/html": f'<pre style="{PRE_STYLE}">{html.escape(help_text)}</pre>'},
                raw=True)
    except ModuleNotFoundError as error:
        show_error(f"the canvas needs {error.name}, which the notebook extra installs: pip install -e \".[notebook]\" "
                   "in the clone, then restart the kernel.")
    except KataError as error:
        show_error(str(error), exit_code=error.exit_code)
    return None
