"""What the stage suites use to reach the learner's code and to fail with a lesson, not a traceback.

The suites never import the learner's module at collection time: a syntax error or a missing
function must fail the tests of that stage with a clear message, not crash pytest. Instead they
declare the functions they test,

    softmax = learner_function("softmax", "softmax")

and the module is imported when the test first calls it, from the package chosen with
`pytest --impl=NAME` (default: exercises).

A failed check raises Lesson, an AssertionError whose message is the whole explanation: which
property failed, on what input, and what to revisit. The suites' conftest shows it without a
traceback.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import traceback

import numpy as np

DEFAULT_IMPL = "exercises"
CALL_NOTE_PREFIX = "(raised inside your "  # the note added to an exception from the learner's code
IMPL = os.environ.get("KATA_IMPL") or DEFAULT_IMPL  # replaced by the suites' conftest from --impl


class Lesson(AssertionError):
    """A failed check whose message explains the mistake; shown without a traceback."""


def _display_path(filename: str | None) -> str:
    if not filename:
        return "?"
    try:
        return os.path.relpath(filename)
    except ValueError:  # another drive on Windows
        return filename


def _module_path(module: str) -> str:
    name = f"{IMPL}.{module}"
    try:
        spec = importlib.util.find_spec(name)
    except Exception:
        spec = None
    if spec is not None and spec.origin:
        return _display_path(spec.origin)
    return f"{IMPL.replace('.', '/')}/{module}.py"


def learner_frame(exc: BaseException, impl: str | None = None) -> traceback.FrameSummary | None:
    """The deepest frame of exc's traceback inside the package impl (default IMPL): the learner's line."""
    marker = os.sep + (impl or IMPL).replace(".", os.sep) + os.sep
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if marker in f.filename]
    return frames[-1] if frames else None


def _where(exc: BaseException) -> str:
    """'<path> line N' of the learner's frame in exc's traceback, or ''."""
    frame = learner_frame(exc)
    return f"{_display_path(frame.filename)} line {frame.lineno}" if frame else ""


def load_module(module: str):
    """Import IMPL.module, turning every way it can fail into a Lesson that says what to fix."""
    name = f"{IMPL}.{module}"
    path = _module_path(module)
    try:
        return importlib.import_module(name)
    except SyntaxError as exc:  # IndentationError included
        where = f"{_display_path(exc.filename)} line {exc.lineno}" if exc.lineno else path
        raise Lesson(f"{where}: {type(exc).__name__}: {exc.msg}. Fix the file, then run the tests again.") from None
    except ModuleNotFoundError as exc:
        if exc.name in (name, IMPL):
            raise Lesson(
                f"{path} is missing. Put it back with: kata reset {module} (or restore it from git)."
            ) from None
        raise Lesson(f"{path} could not be imported: {exc}. Only numpy and the kata's own modules are available.") from None
    except SystemExit:
        raise Lesson(f"{path} called sys.exit() while being imported. Remove that call.") from None
    except Exception as exc:
        where = _where(exc) or path
        raise Lesson(f"{where}: importing {path} raised {type(exc).__name__}: {exc}") from None


class LearnerFunction:
    """A function of the learner's module, looked up when it is first called."""

    def __init__(self, module: str, name: str):
        self.module = module
        self.__name__ = name

    def resolve(self):
        mod = load_module(self.module)
        func = getattr(mod, self.__name__, None)
        if func is None or not callable(func):
            raise Lesson(
                f"{_module_path(self.module)} has no function {self.__name__}(). Keep the name and "
                f"signature from the stub (see it again with: kata reset {self.module})."
            )
        return func

    def __call__(self, *args, **kwargs):
        __tracebackhide__ = True  # pytest shows the learner's frames, not this wrapper
        func = self.resolve()
        try:
            return func(*args, **kwargs)
        except (Lesson, NotImplementedError):
            raise
        except Exception as exc:
            arguments = ", ".join([_describe(a) for a in args] + [f"{k}={_describe(v)}" for k, v in kwargs.items()])
            note = f"{CALL_NOTE_PREFIX}{self.__name__}, called as {self.__name__}({arguments}))"
            exc.__notes__ = [*getattr(exc, "__notes__", []), note]
            raise

    def __repr__(self):
        return f"{IMPL}.{self.module}.{self.__name__}"


def _describe(value) -> str:
    """An argument in a call summary: arrays by shape and dtype, small values as they are."""
    if isinstance(value, np.ndarray):
        return f"<array {value.shape} {value.dtype}>"
    text = repr(value)
    return text if len(text) <= 40 else f"<{type(value).__name__}>"


def learner_function(module: str, name: str) -> LearnerFunction:
    return LearnerFunction(module, name)


# ---------------------------------------------------------------------------------------------
# Formatting values for messages


def show(value, precision: int = 4) -> str:
    """A compact, one-or-few-line rendering of a value for a failure message."""
    if isinstance(value, np.ndarray):
        # A row of up to 10 columns (a one-hot row, ten class scores) is shown whole: its "..." would hide the bug.
        edgeitems = 5 if value.ndim and value.shape[-1] <= 10 else 3
        body = np.array2string(
            value, precision=precision, threshold=24, edgeitems=edgeitems, suppress_small=False,
            max_line_width=100, separator=", ",
        )
        meta = f"  (shape {value.shape}, {value.dtype})" if value.ndim else f"  ({value.dtype})"
        return body + meta
    if isinstance(value, float):
        return f"{value:.{precision + 2}g}"
    if isinstance(value, (list, tuple)) and value:
        try:
            array = np.asarray(value)
        except (TypeError, ValueError):
            array = None
        if array is not None and array.dtype.kind in "iuf":
            return show(array, precision).rsplit("  (shape", 1)[0]
    text = repr(value)
    return text if len(text) <= 200 else text[:197] + "..."


def fail(problem: str, *, given: dict | None = None, shown: dict | None = None, got=None, expected=None,
         hint: str | None = None):
    """Raise a Lesson: the problem first, then the input, what came out, what should have, a hint.

    shown: more values, each under its own label ("z after the call"), between the input and got.
    """
    values = [(f"input {name}", value) for name, value in (given or {}).items()]
    values += list((shown or {}).items())
    values += [(label, value) for label, value in (("got", got), ("expected", expected)) if value is not None]
    width = max([10] + [len(label) for label, _ in values])  # every value starts in the same column
    lines = [problem] + [_labelled(label, value, width) for label, value in values]
    if WORST_PHRASE not in problem and "largest difference at index" not in problem:
        # kata's report cuts got and expected to their first elements: name the worst one, as check_close does.
        worst = _worst_element(got, expected)
        if worst and "\n" in show(got):
            lines.insert(1, f"({worst})")
    if hint:
        lines.append(f"  hint: {hint}")
    raise Lesson("\n".join(lines))


def _labelled(label: str, value, width: int = 10) -> str:
    prefix = f"  {label:<{width}} "
    rendered = value if isinstance(value, str) else show(value)
    return prefix + rendered.replace("\n", "\n" + " " * len(prefix))


# ---------------------------------------------------------------------------------------------
# Checks shared by the suites


def returned_array(result, func: str, *, given: dict | None = None) -> np.ndarray:
    """result, if it is a NumPy array; a Lesson otherwise."""
    if not isinstance(result, np.ndarray):
        fail(
            f"{func} must return a NumPy array, but it returned {type(result).__name__}.",
            given=given, got=result,
            hint="did you forget the return statement?" if result is None else "build the result with NumPy operations.",
        )
    return result


def check_shape(result: np.ndarray, shape: tuple, func: str, *, given: dict | None = None, hint: str | None = None):
    if result.shape != tuple(shape):
        what = f"{func} has" if "'s " in func else f"{func} returned an array of"  # "he_init's b1 has shape ..."
        fail(f"{what} shape {result.shape}; expected shape {tuple(shape)}.", given=given, hint=hint)


def check_dtype(result: np.ndarray, dtype, func: str, *, given: dict | None = None):
    if result.dtype != np.dtype(dtype):
        if result.dtype.kind == "b":
            hint = ("a comparison (a < b, a == b) gives an array of True and False, not of numbers: turn it into "
                    "numbers of the input's own dtype before returning it (training runs in float32 to be fast).")
        elif result.dtype.kind in "iu":
            hint = ("integer results come from integer draws or conversions (rng.integers, rng.binomial, "
                    "astype(int), ...): turn them into numbers of the input's own dtype before returning them.")
        elif result.dtype == np.float64:
            hint = ("something converted to float64 on the way: an array made with np.zeros(...), np.ones(...) or "
                    "np.empty(...) without the input's dtype (they default to float64), a conversion such as "
                    "np.asarray(..., dtype=float), np.array(...) without a dtype, .astype(float) or np.float64(...), "
                    "or an operation with a float64 array (rng.random and rng.standard_normal give float64 unless "
                    "told otherwise). Compute with the input arrays as they are, or make and convert arrays in the "
                    "input's own dtype (training runs in float32 to be fast).")
        else:
            hint = (f"something converted to {result.dtype} on the way (a conversion to a fixed dtype, or an array "
                    f"of {result.dtype} mixed in): keep the input's own dtype.")
        fail(
            f"{func} must keep the floating dtype it is given: {np.dtype(dtype)} in, {np.dtype(dtype)} out; "
            f"it returned {result.dtype}.",
            given=given,
            hint=hint,
        )


def check_close(got, expected, *, problem: str, given: dict | None = None, hint: str | None = None,
                rtol: float = 1e-6, atol: float = 1e-9):
    """Fail unless got and expected agree elementwise; the message names the worst element."""
    got_arr = np.asarray(got, dtype=np.float64)
    exp_arr = np.asarray(expected, dtype=np.float64)
    if got_arr.shape != exp_arr.shape:
        fail(f"{problem}: got shape {got_arr.shape}, expected shape {exp_arr.shape}.", given=given,
             got=got, expected=expected, hint=hint)
    with np.errstate(invalid="ignore"):
        bad = ~np.isclose(got_arr, exp_arr, rtol=rtol, atol=atol, equal_nan=False)
    if bad.any():
        worst = _worst_element(got_arr, exp_arr, rtol, atol)
        fail(f"{problem} ({worst})." if worst else f"{problem}.", given=given, got=got, expected=expected, hint=hint)


WORST_PHRASE = "worst at index"  # checker/report.py reads "worst at index I: got G, expected E" back


def _worst_element(got, expected, rtol: float = 1e-6, atol: float = 1e-9) -> str:
    """'worst at index (i, j): got G, expected E' for the element farthest from expected, or '' when got and
    expected are not numeric arrays of one shape (at least 1-D) that differ."""
    try:
        got_arr = np.asarray(got, dtype=np.float64)
        exp_arr = np.asarray(expected, dtype=np.float64)
    except (TypeError, ValueError):
        return ""
    if got_arr.shape != exp_arr.shape or not got_arr.ndim:
        return ""
    with np.errstate(invalid="ignore"):
        bad = ~np.isclose(got_arr, exp_arr, rtol=rtol, atol=atol, equal_nan=False)
    if not bad.any():
        return ""
    distance = np.where(bad, np.nan_to_num(np.abs(got_arr - exp_arr), nan=np.inf), -1)
    index = np.unravel_index(np.argmax(distance), got_arr.shape)
    shown = tuple(int(i) for i in index) if len(index) > 1 else int(index[0])
    got, expected = _distinct(float(got_arr[index]), float(exp_arr[index]))
    return f"{WORST_PHRASE} {shown}: got {got}, expected {expected}"


def _distinct(got: float, expected: float) -> tuple[str, str]:
    """got and expected with 6 significant digits, or as many more as it takes for them to read differently."""
    for digits in range(6, 18):
        pair = f"{got:.{digits}g}", f"{expected:.{digits}g}"
        if pair[0] != pair[1]:
            break
    return pair


def check_unchanged(before: dict, after: dict, func: str):
    """Fail if any input array changed during the call (compare copies taken before)."""
    for name, original in before.items():
        current = after[name]
        if not np.array_equal(original, current, equal_nan=True):
            fail(
                f"{func} modified its input {name}: no function of the kata may change its arguments.",
                shown={f"{name} before the call": original, f"{name} after the call": current},
                hint="an in-place operation (x[...] = ..., x -= ..., np.exp(x, out=x)) on an argument "
                     "changes the caller's array; compute into a new array instead.",
            )


def expect_value_error(call, func: str, what: str, offending: str | tuple[str, ...] | None,
                       given: dict | None = None, *, hint: str | None = None):
    """call() must raise ValueError that names the bad value: `offending` is its text, or a tuple
    of acceptable renderings (any one will do), or None for any message. A Lesson naming func and
    what was wrong otherwise."""
    try:
        result = call()
    except ValueError as error:
        names = offending if isinstance(offending, tuple) else (offending,)
        if offending is not None and not any(name in str(error) for name in names):
            shown = names[0] if len(names) == 1 else f"({' or '.join(names)})"
            fail(f"{func} raised ValueError for {what}, but its message does not name the bad value "
                 f"{shown}: {str(error)!r}.", given=given, hint=hint)
        return
    except (NotImplementedError, Lesson):
        raise
    except Exception as error:  # noqa: BLE001 - any other exception is the lesson
        fail(f"{func} must raise ValueError for {what}; it raised {type(error).__name__}: {error}.",
             given=given, hint=hint)
    fail(f"{func} must raise ValueError for {what}; it returned {type(result).__name__} instead.", given=given,
         hint=hint)
