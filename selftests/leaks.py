"""Find the reference code in what a suite prints: a failure message must not hand over the answer.

The NumPy idiom belongs to `kata hint`'s last level. A message may give formulas (the stub's
docstring already does), but not the code between `# BEGIN SOLUTION` and `# END SOLUTION`.

From every solution body this collects code fragments: each statement, the right-hand side of each
assignment, each `return`/`yield` expression and each `if`/`while` condition and `for` iterable.
A fragment becomes a pattern that ignores whitespace and in which the function's own variable names
match any name (`exps.sum(axis=-1, keepdims=True)` also finds `z.sum(axis=-1,keepdims=True)`).
Left out: trivial fragments (no arithmetic, comparison, slicing or call other than plumbing such as
np.asarray, np.zeros or len) and fragments that the stub's text already contains.
"""

from __future__ import annotations

import ast
import io
import re
import tokenize
from dataclasses import dataclass
from functools import lru_cache

from checker.project import ROOT

from checker.stages import Stage
from checker.stubgen import BEGIN, END, stub_for

# Calls that only convert, allocate or iterate: no answer is given away by naming them.
PLUMBING_CALLS = {
    "np.asarray", "np.array", "np.asanyarray", "np.zeros", "np.zeros_like", "np.ones", "np.ones_like",
    "np.empty", "np.empty_like", "np.dtype", "np.issubdtype", "np.isfinite", "float", "int", "bool", "len",
    "range", "enumerate", "zip", "dict", "list", "tuple", "set", "sorted", "isinstance", "ValueError", "TypeError",
}
PLUMBING_METHODS = {"astype", "copy", "item", "items", "keys", "values", "get", "tolist"}


@dataclass(frozen=True)
class Fragment:
    function: str
    code: str  # as written in the solution
    pattern: re.Pattern  # over text with all whitespace removed

    def found_in(self, text: str) -> bool:
        return bool(self.pattern.search(squeeze(text)))


def squeeze(text: str) -> str:
    return re.sub(r"\s+", "", text)


@lru_cache(maxsize=None)
def answer_fragments(stage: Stage) -> tuple[Fragment, ...]:
    """The non-trivial code fragments of the stage's solution bodies that its stub does not give."""
    source = (ROOT / stage.solution).read_text(encoding="utf-8")
    stub = squeeze(stub_for(stage, ROOT))
    marked = _marked_lines(source)
    fragments, seen = [], set()
    for function in ast.walk(ast.parse(source)):  # methods and nested functions too
        if not isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        local_names = _local_names(function)
        for node in ast.walk(function):
            if not isinstance(node, ast.stmt) or node is function or node.lineno not in marked:
                continue
            for part in _parts(node):
                code = ast.get_source_segment(source, part)
                if not code or not _nontrivial(part):
                    continue
                pattern = _pattern(code, local_names)
                if pattern is None or pattern.pattern in seen or pattern.search(stub):
                    continue
                seen.add(pattern.pattern)
                fragments.append(Fragment(function.name, code, pattern))
    return tuple(fragments)


def leaked(stage: Stage, messages) -> list[tuple[Fragment, str]]:
    """(fragment, message) for every message that contains a fragment of the stage's answer."""
    return [(fragment, message) for message in messages for fragment in answer_fragments(stage)
            if fragment.found_in(message)]


def _marked_lines(source: str) -> set[int]:
    lines, inside = set(), False
    for number, line in enumerate(source.splitlines(), start=1):
        if line.strip() == BEGIN:
            inside = True
        elif line.strip() == END:
            inside = False
        elif inside:
            lines.add(number)
    return lines


def _local_names(function: ast.FunctionDef) -> set[str]:
    args = function.args
    names = {a.arg for a in [*args.posonlyargs, *args.args, *args.kwonlyargs]}
    names |= {a.arg for a in (args.vararg, args.kwarg) if a is not None}
    names |= {n.id for n in ast.walk(function) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
    return names


def _parts(node: ast.stmt) -> list[ast.AST]:
    """The fragments a statement gives: itself (simple statements) and its expressions of interest."""
    if isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign)):
        return [node] + ([node.value] if node.value is not None else [])
    if isinstance(node, ast.Return) and node.value is not None:
        return [node, node.value]
    if isinstance(node, ast.Expr):
        value = node.value.value if isinstance(node.value, (ast.Yield, ast.YieldFrom)) else node.value
        return [node] + ([value] if value is not None else [])
    if isinstance(node, (ast.If, ast.While)):
        return [node.test]
    if isinstance(node, ast.For):
        return [node.iter]
    return []


def _dotted(node: ast.AST) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{_dotted(node.value)}.{node.attr}"
    return "?"


def _nontrivial(tree: ast.AST) -> bool:
    for node in ast.walk(tree):
        if isinstance(node, (ast.BinOp, ast.Compare, ast.BoolOp, ast.IfExp, ast.Slice, ast.ListComp,
                             ast.DictComp, ast.GeneratorExp)):
            return True
        if isinstance(node, ast.AugAssign):
            return True
        if isinstance(node, ast.UnaryOp) and not isinstance(node.operand, ast.Constant):
            return True
        if isinstance(node, ast.Call):
            name = _dotted(node.func)
            method = node.func.attr if isinstance(node.func, ast.Attribute) else None
            if name not in PLUMBING_CALLS and method not in PLUMBING_METHODS:
                return True
    return False


def _pattern(code: str, local_names: set[str]) -> re.Pattern | None:
    """A regex for code with whitespace removed, any name standing for each local variable."""
    try:
        tokens = [t for t in tokenize.generate_tokens(io.StringIO(code).readline)
                  if t.type not in (tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT,
                                    tokenize.COMMENT, tokenize.ENDMARKER)]
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return None
    parts, previous = [], None
    for token in tokens:
        if token.type == tokenize.NAME and token.string in local_names and previous != ".":
            parts.append(r"[A-Za-z_]\w*")
        else:
            parts.append(re.escape(squeeze(token.string)))
        previous = token.string
    return re.compile("".join(parts)) if parts else None
