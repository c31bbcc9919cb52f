"""Stage 13: 2-D convolution. Tasks: conv2d_forward(x, w, b, stride, pad), conv2d_backward(dout, cache).

Every result is compared with an independent implementation written here from the loop
definition, and every gradient with central differences of that implementation, so any correct
conv2d passes: six nested loops or one im2col matrix product. The inputs stay small enough for a
loop version to run the whole suite in a few seconds.
"""

import itertools

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from checker.gradcheck import check_gradient, numerical_gradient
from checker import teach
from checker.teach import (check_close, check_dtype, check_shape, check_unchanged, fail, learner_function,
                           returned_array, show)

conv2d_forward = learner_function("conv", "conv2d_forward")
conv2d_backward = learner_function("conv", "conv2d_backward")

DEFINITION = ("out[n, f, i, j] = b[f] + sum over c, p, q of xpad[n, c, i*stride + p, j*stride + q] * w[f, c, p, q], "
              "where xpad is x with `pad` zeros added on every side.")
OUTPUT_SIZE = "H_out = (H + 2*pad - KH) // stride + 1 and W_out = (W + 2*pad - KW) // stride + 1."
BACKWARD = ("every output position (n, f, i, j) adds dout[n, f, i, j] * w[f, c, p, q] to dxpad[n, c, i*stride + p, "
            "j*stride + q], and dout[n, f, i, j] * xpad[n, c, i*stride + p, j*stride + q] to dw[f, c, p, q]; "
            "db[f] sums dout[n, f, i, j] over n, i and j. Crop the padding off dxpad to get dx.")
VALIDATE = ("check the arguments before computing and raise ValueError with the bad value in the message, "
            "e.g. f'stride must be an integer >= 1, got {stride}'.")
SHARES_ADD_UP = ("col2im sends each row of dcols back to its window, and where windows overlap every share must arrive "
                 "and add up. Loop over the KH*KW kernel positions (p, q) and add one strided slice of dxpad per "
                 "position (a slice never holds a pixel twice), or use np.add.at(dxpad, index, values), which adds "
                 "once per repeat of an index (and is slower).")
PAD_EVERY_AXIS_HINT = ("give np.pad one (before, after) pair per axis of x: (0, 0) for the batch and channel axes, "
                       "(pad, pad) for the rows and for the columns.")


# The referee: the loop definition, one output position at a time ----------------------------------

def reference_conv(x, w, b, stride=1, pad=0):
    """conv2d from the definition, in float64: a loop over output positions, a sum per window."""
    x, w, b = (np.asarray(a, dtype=np.float64) for a in (x, w, b))
    n, _, h, width = x.shape
    f, _, kh, kw = w.shape
    xpad = np.zeros((n, x.shape[1], h + 2 * pad, width + 2 * pad))
    xpad[:, :, pad:pad + h, pad:pad + width] = x
    h_out, w_out = (h + 2 * pad - kh) // stride + 1, (width + 2 * pad - kw) // stride + 1
    out = np.empty((n, f, h_out, w_out))
    for i in range(h_out):
        for j in range(w_out):
            window = xpad[:, :, i * stride:i * stride + kh, j * stride:j * stride + kw]  # (N, C, KH, KW)
            out[:, :, i, j] = np.tensordot(window, w, axes=([1, 2, 3], [1, 2, 3])) + b
    return out


# The right values in the wrong places: im2col's matrix product has one row per output position (n, i, j)
# and one column per filter (or the transpose), and a reshape straight to (N, F, H_out, W_out) keeps that
# memory order. The diagnoses below recognise an output (or gradient) that is the right one laid out in another
# axis order and then reshaped.
# Each diagnosis is a pair: a note that ends the problem's sentence (what is wrong) and a hint (why, and what to do);
# the hint also survives when a long message is cut.
LAYOUT_WRONG = ": the values are right but their layout is wrong: "
LAYOUT_HINT = ("out[n, f, i, j] is filter f at position (i, j) of image n: the filter axis comes second. Reshape the "
               "product's result so that each axis stands alone, then move (transpose) the axes into place.")


def close(a, b) -> bool:
    return np.shape(a) == np.shape(b) and np.allclose(a, b, rtol=1e-5, atol=1e-7)


def axis_order(got, right, names, likely=()):
    """The order of right's axes (e.g. "(N, H_out, W_out, F)") in which right, laid out and then reshaped to its
    own shape, is got: the right values in the wrong places. None when got is right or is no such layout.
    The likely orders (axis tuples) are tried first: with ties in the input, several orders can fit."""
    got, right = np.asarray(got, dtype=np.float64), np.asarray(right, dtype=np.float64)
    if got.shape != right.shape or close(got, right):
        return None
    for axes in [*likely, *itertools.permutations(range(right.ndim))]:
        if axes != tuple(range(right.ndim)) and close(got, right.transpose(axes).reshape(got.shape)):
            return "(" + ", ".join(names[a] for a in axes) + ")"
    return None


# The two layouts of im2col's matrix product, as (the axis order, what the product's rows and columns are, the
# axis a reshape cannot move).
PRODUCT_LAYOUTS = {
    "(N, H_out, W_out, F)": ("one row per output position (n, i, j) and one column per filter", "the filter axis"),
    "(F, N, H_out, W_out)": ("one row per filter and one column per output position (n, i, j)", "the batch axis"),
}


def layout_diagnosis(out, expected):
    """(note, hint) when out holds expected's values in the wrong places, else ("", None)."""
    order = axis_order(out, expected, ("N", "F", "H_out", "W_out"), likely=[(0, 2, 3, 1), (1, 0, 2, 3)])
    if order is None:
        return "", None
    note = f"{LAYOUT_WRONG}yours is the expected output laid out as {order} and then reshaped to (N, F, H_out, W_out)"
    if order in PRODUCT_LAYOUTS:
        rows, moved = PRODUCT_LAYOUTS[order]
        single = (" (with one image, N = 1, both orders are the same, which is why one-image examples pass)"
                  if moved == "the batch axis" else "")
        return note, (f"the matrix product gives {rows}, and a reshape alone cannot move {moved} into place: it "
                      f"keeps the numbers in their memory order{single}. {LAYOUT_HINT}")
    return note, f"a reshape alone cannot move an axis: it keeps the numbers in their memory order. {LAYOUT_HINT}"


def forward_diagnosis(out, x, w, b, stride=1, pad=0):
    """(note, hint) naming the classic mistake that out matches, else ("", None); hint None keeps the test's own."""
    out = np.asarray(out, dtype=np.float64)
    if np.allclose(out, reference_conv(x, w[:, :, ::-1, ::-1], b, stride, pad), rtol=1e-5, atol=1e-7):
        return (": it is the output of the kernel flipped upside down and left to right (true convolution); here, "
                "as in PyTorch, the kernel is not flipped (cross-correlation)"), None
    note, hint = layout_diagnosis(out, reference_conv(x, w, b, stride, pad))
    if note:
        return note, hint
    if np.any(b != 0) and np.allclose(out, reference_conv(x, w, np.zeros_like(b), stride, pad), rtol=1e-5, atol=1e-7):
        return ": the bias is missing: add b[f] to every output value of filter f", None
    return "", None


def check_forward(out, x, w, b, stride=1, pad=0, *, problem, given, hint=DEFINITION, expected=None, rtol=1e-6,
                  atol=1e-9):
    """check_close of out against the definition (or expected), with forward_diagnosis's note after the problem
    and its hint, if any, instead of the test's."""
    expected = reference_conv(x, w, b, stride, pad) if expected is None else expected
    if np.allclose(np.asarray(out, dtype=np.float64), expected, rtol=rtol, atol=atol):
        return
    note, diagnosis_hint = forward_diagnosis(out, x, w, b, stride, pad)
    check_close(out, expected, problem=problem + note, given=given, hint=diagnosis_hint or hint, rtol=rtol, atol=atol)


class PaddingSpy:
    """While the learner's conv2d_forward runs, NumPy's np.pad is a wrapper that records every call that pads
    the batch or channel axis of a 4-D array (np.pad(x, pad) pads all four), and otherwise does what np.pad does."""

    def __enter__(self):
        self.original, self.seen = np.pad, []

        def pad(array, pad_width, *args, **kwargs):
            result = self.original(array, pad_width, *args, **kwargs)
            shape = np.shape(array)
            if len(shape) == 4 and np.ndim(result) == 4 and np.shape(result)[:2] != shape[:2]:
                self.seen.append((shape, np.shape(result)))
            return result

        np.pad = pad
        return self

    def __exit__(self, *exc):
        np.pad = self.original
        return False


def padded_every_axis(seen, error=None):
    """The problem of a forward pass that padded the batch and channel axes too, as the spy saw it."""
    before, after = seen
    raised = ""
    if error is not None:
        text = str(error).splitlines()[0] if str(error) else ""
        raised = f" (here it then raised {type(error).__name__}: {text[:160]}{'...' if len(text) > 160 else ''})"
    return (f"conv2d_forward padded every axis of x: np.pad turned x of shape {before} into {after}, so the batch "
            f"and channel axes grew by 2*pad as well, and nothing after it fits{raised}. np.pad(x, pad) with a single "
            "number pads all four axes (N, C, H, W); only the two image axes, H and W, get zeros.")


def random_case(seed, n=2, c=2, h=5, width=5, f=3, kh=3, kw=3, dtype=np.float64):
    rng = np.random.default_rng(seed)
    return (rng.standard_normal((n, c, h, width)).astype(dtype), rng.standard_normal((f, c, kh, kw)).astype(dtype),
            rng.standard_normal(f).astype(dtype))


def copies(arrays):
    return {k: v.copy() for k, v in arrays.items()}


def run_conv2d_forward(x, w, b, stride=1, pad=0, shape_hint=OUTPUT_SIZE):
    """Call the learner's conv2d_forward; check it returns (out, cache), out of the right shape, inputs unchanged."""
    given_ = {"x": x, "w": w, "b": b, "stride": stride, "pad": pad}
    originals = copies({"x": x, "w": w, "b": b})
    with PaddingSpy() as spy:
        try:
            result = conv2d_forward(x, w, b, stride=stride, pad=pad)
        except (teach.Lesson, NotImplementedError):
            raise
        except Exception as error:
            if spy.seen:
                fail(padded_every_axis(spy.seen[0], error), given=given_, hint=PAD_EVERY_AXIS_HINT)
            raise
    check_unchanged(originals, {"x": x, "w": w, "b": b}, "conv2d_forward")
    if spy.seen:  # it may have cut the extra padding off again: then only a wrong result is a mistake
        out = result[0] if isinstance(result, tuple) and len(result) == 2 else None
        if not (isinstance(out, np.ndarray) and close(out, reference_conv(x, w, b, stride, pad))):
            fail(padded_every_axis(spy.seen[0]), given=given_, hint=PAD_EVERY_AXIS_HINT)
    if not isinstance(result, tuple) or len(result) != 2:
        fail(f"conv2d_forward must return a pair (out, cache); it returned {type(result).__name__}.",
             given=given_, hint="return out, cache: conv2d_backward receives the cache.")
    out = returned_array(result[0], "conv2d_forward's out", given=given_)
    h_out = (x.shape[2] + 2 * pad - w.shape[2]) // stride + 1
    w_out = (x.shape[3] + 2 * pad - w.shape[3]) // stride + 1
    check_shape(out, (x.shape[0], w.shape[0], h_out, w_out), "conv2d_forward", given=given_, hint=shape_hint)
    return out, result[1]


def run_conv2d_backward(dout, cache, x, w, given_):
    """Call the learner's conv2d_backward; check it returns (dx, dw, db) with the shapes of x, w and b."""
    original = dout.copy()
    result = conv2d_backward(dout, cache)
    check_unchanged({"dout": original}, {"dout": dout}, "conv2d_backward")
    if not isinstance(result, tuple) or len(result) != 3:
        fail(f"conv2d_backward must return a tuple (dx, dw, db); it returned {type(result).__name__} {show(result)}.",
             given=given_, hint="return dx, dw, db")
    grads = [returned_array(g, f"conv2d_backward's {name}", given=given_) for g, name in zip(result, ("dx", "dw", "db"))]
    for grad, name, shape, of in zip(grads, ("dx", "dw", "db"), (x.shape, w.shape, (w.shape[0],)), ("x", "w", "b")):
        check_shape(grad, shape, f"conv2d_backward's {name}", given=given_,
                    hint=f"a gradient has the shape of what it is the gradient of: {name} like {of}, "
                         "padding cropped off dx.")
    return grads


def forward_and_backward(x, w, b, stride, pad, dout=None, seed=0):
    out, cache = run_conv2d_forward(x, w, b, stride, pad)
    if dout is None:
        dout = np.random.default_rng(seed + 1000).standard_normal(out.shape).astype(x.dtype)
    given_ = {"x": x, "w": w, "b": b, "stride": stride, "pad": pad, "dout": dout}
    return (*run_conv2d_backward(dout, cache, x, w, given_), dout, given_)


def expect_value_error(x, w, b, stride, pad, offending: tuple, what: str):
    """conv2d_forward must raise ValueError whose message contains one of the strings `offending`."""
    given_ = {"x shape": str(x.shape), "w shape": str(w.shape), "b shape": str(b.shape), "stride": stride, "pad": pad}
    teach.expect_value_error(lambda: conv2d_forward(x, w, b, stride=stride, pad=pad), "conv2d_forward",
                             what, offending, given_, hint=VALIDATE)


# Task 1: conv2d_forward -------------------------------------------------------------------------

def test_conv2d_forward_worked_example():
    x = np.arange(9.0).reshape(1, 1, 3, 3)
    w = np.array([[[[1.0, 2.0], [3.0, 4.0]]]])
    b = np.array([1.0])
    out, _ = run_conv2d_forward(x, w, b)
    check_forward(out, x, w, b, expected=[[[[28.0, 38.0], [58.0, 68.0]]]],
                  problem="the docstring's example: the top-left output is 0*1 + 1*2 + 3*3 + 4*4 + 1 = 28",
                  given={"x": x, "w": w, "b": b})


def test_conv2d_forward_worked_example_with_padding_and_stride():
    x = np.arange(9.0).reshape(1, 1, 3, 3)
    w, b = np.ones((1, 1, 3, 3)), np.zeros(1)
    out, _ = run_conv2d_forward(x, w, b, stride=2, pad=1)
    check_close(out, [[[[8.0, 12.0], [20.0, 24.0]]]],
                problem="with pad 1 and stride 2, a 3x3 filter of ones sums the four 3x3 windows of the padded "
                        "image starting at rows and columns 0 and 2",
                given={"x": x, "w": w, "b": b, "stride": 2, "pad": 1},
                hint="pad first (zeros on every side), then window (i, j) starts at (i*stride, j*stride) of the "
                     "padded image. " + DEFINITION)


# Frozen from PyTorch (bench/conv_vs_torch.py prints them): torch.nn.functional.conv2d(x, w, b, stride=2,
# padding=1) in float64, and its backward for the dout below. Rectangular 2x3 kernels, 2 channels, 2 filters,
# an odd 5x4 input.
FROZEN_X = np.arange(40.0).reshape(1, 2, 5, 4) % 7 - 3
FROZEN_W = np.array([[[[1, 0, -1], [2, 1, 0]], [[0, 1, 1], [-1, 0, 2]]],
                     [[[1, 1, 1], [0, 0, 0]], [[2, -2, 0], [1, 0, -1]]]], dtype=np.float64)
FROZEN_B = np.array([0.5, -1.0])
FROZEN_OUT = [[[[-8.5, -3.5], [-6.5, 10.5], [-2.5, 9.5]],
               [[2.0, -3.0], [4.0, -3.0], [3.0, -7.0]]]]
FROZEN_DOUT = np.arange(12.0).reshape(1, 2, 3, 2) % 5 - 1
FROZEN_DX = [[[[-1, 0, 0, 0], [2, 6, 3, 1], [1, 4, 2, 0], [-1, -5, 0, 1], [3, -2, -1, 0]],
              [[0, -1, 0, -1], [-3, 7, -4, 2], [0, 1, 0, 1], [5, 3, -1, -1], [0, 8, 0, -2]]]]
FROZEN_DW = [[[[1, 16, 7], [-2, -3, 1]], [[0, 4, 16], [-3, -14, -3]]],
             [[[6, 9, -8], [-5, -4, 1]], [[3, 5, 9], [-9, -9, -4]]]]
FROZEN_DB = [4.0, 5.0]


def test_conv2d_forward_matches_pytorch_on_a_frozen_example():
    out, _ = run_conv2d_forward(FROZEN_X, FROZEN_W, FROZEN_B, stride=2, pad=1)
    check_forward(out, FROZEN_X, FROZEN_W, FROZEN_B, 2, 1, expected=FROZEN_OUT,
                  problem="conv2d_forward differs from torch.nn.functional.conv2d (stride 2, pad 1, 2x3 kernels, "
                          "2 channels, 2 filters)",
                  given={"x": FROZEN_X, "w": FROZEN_W, "b": FROZEN_B, "stride": 2, "pad": 1})


def test_conv2d_forward_is_cross_correlation_not_flipped():
    x = np.zeros((1, 1, 3, 3))
    x[0, 0, 1, 1] = 1.0  # a single bright pixel in the centre
    w = np.arange(1.0, 10.0).reshape(1, 1, 3, 3)  # no symmetry: a flip shows
    out, _ = run_conv2d_forward(x, w, np.zeros(1), pad=1)
    expected = reference_conv(x, w, np.zeros(1), pad=1)
    flipped = reference_conv(x, w[:, :, ::-1, ::-1], np.zeros(1), pad=1)
    if np.allclose(out, flipped) and not np.allclose(out, expected):
        fail("conv2d_forward flips the kernel (that is the mathematicians' convolution). Here, as in PyTorch, the "
             "kernel is not flipped: weight w[f, c, p, q] multiplies the pixel p rows and q columns from the "
             "window's top-left corner (cross-correlation).",
             given={"x": x, "w": w, "pad": 1}, got=out, expected=expected, hint=DEFINITION)
    check_close(out, expected, problem="a single pixel convolved with a 3x3 kernel must show the kernel, mirrored "
                                       "around the centre, at the pixel", given={"x": x, "w": w, "pad": 1},
                hint=DEFINITION)


@pytest.mark.parametrize("h, width, kh, kw, stride, pad", [
    (5, 5, 3, 3, 1, 0), (5, 5, 3, 3, 2, 0), (6, 6, 3, 3, 2, 0), (7, 4, 2, 3, 3, 1), (4, 4, 3, 3, 2, 0),
    (5, 6, 1, 1, 2, 2), (3, 3, 5, 5, 1, 1), (8, 5, 3, 2, 3, 2),
], ids=lambda v: str(v))
def test_conv2d_forward_output_size_follows_the_formula(h, width, kh, kw, stride, pad):
    x, w, b = random_case(h * 10 + width, n=1, c=1, h=h, width=width, f=2, kh=kh, kw=kw)
    h_out, w_out = (h + 2 * pad - kh) // stride + 1, (width + 2 * pad - kw) // stride + 1
    out, _ = run_conv2d_forward(x, w, b, stride, pad,
                                shape_hint=f"H_out = ({h} + 2*{pad} - {kh}) // {stride} + 1 = {h_out} and W_out = "
                                           f"({width} + 2*{pad} - {kw}) // {stride} + 1 = {w_out}: the last window "
                                           "must fit inside the padded input; leftover rows and columns are skipped.")
    check_forward(out, x, w, b, stride, pad,
                  problem=f"conv2d_forward's output has the right shape (H_out = {h_out}, W_out = {w_out}) but wrong "
                          f"values, with stride {stride}, pad {pad} and a {kh}x{kw} kernel",
                  given={"x": x, "w": w, "b": b, "stride": stride, "pad": pad})


@st.composite
def conv_cases(draw):
    n, c, f = draw(st.integers(1, 2)), draw(st.integers(1, 3)), draw(st.integers(1, 3))
    stride, pad = draw(st.integers(1, 3)), draw(st.integers(0, 2))
    kh, kw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    h = draw(st.integers(max(1, kh - 2 * pad), 7))
    width = draw(st.integers(max(1, kw - 2 * pad), 7))
    seed = draw(st.integers(0, 2**16))
    x, w, b = random_case(seed, n, c, h, width, f, kh, kw)
    return x, w, b, stride, pad


@given(conv_cases())
def test_conv2d_forward_matches_the_loop_definition(case):
    x, w, b, stride, pad = case
    out, _ = run_conv2d_forward(x, w, b, stride, pad)
    check_forward(out, x, w, b, stride, pad,
                  problem=f"conv2d_forward differs from the definition (stride {stride}, pad {pad}, "
                          f"kernel {w.shape[2]}x{w.shape[3]}, {x.shape[1]} channels, {w.shape[0]} filters, "
                          f"{x.shape[0]} images)",
                  given={"x": x, "w": w, "b": b}, rtol=1e-7, atol=1e-9)


def test_conv2d_forward_pads_with_zeros_on_every_side():
    x = np.arange(1.0, 5.0).reshape(1, 1, 2, 2)
    w, b = np.ones((1, 1, 1, 1)), np.zeros(1)  # a 1x1 kernel of one: out is the padded image itself
    out, _ = run_conv2d_forward(x, w, b, pad=1,
                                shape_hint="pad adds `pad` zeros on every side: top, bottom, left and right, so "
                                           "the padded image is (H + 2*pad) x (W + 2*pad).")
    expected = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    check_close(out, expected, problem="with a 1x1 kernel of weight 1, the output is the padded image: x must sit "
                                       "in the middle, with a ring of zeros on every side",
                given={"x": x, "w": w, "pad": 1},
                hint="xpad[n, c, pad + r, pad + s] = x[n, c, r, s]: the image is shifted by pad rows and columns, "
                     "not placed in the top-left corner.")


def test_conv2d_forward_adds_one_bias_per_filter():
    x, w = np.zeros((2, 1, 3, 3)), np.ones((3, 1, 2, 2))
    b = np.array([1.0, -2.0, 0.5])
    out, _ = run_conv2d_forward(x, w, b)
    check_forward(out, x, w, b, expected=np.broadcast_to(b[None, :, None, None], (2, 3, 2, 2)),
                  problem="for an all-zero image, output channel f must be b[f] at every position",
                  given={"x": x, "w": w, "b": b},
                  hint="b[f] is added once to every output value of filter f (output channel f), not to the input "
                     "and not once per input channel.")


def test_conv2d_forward_sums_over_the_input_channels():
    x = np.stack([np.full((3, 3), 1.0), np.full((3, 3), 10.0), np.full((3, 3), 100.0)])[None]  # (1, 3, 3, 3)
    w = np.ones((2, 3, 2, 2))
    w[1, 2] = 0.0  # the second filter ignores the third channel
    out, _ = run_conv2d_forward(x, w, np.zeros(2))
    expected = [[np.full((2, 2), 444.0), np.full((2, 2), 44.0)]]
    # The channel sums are right when out holds the right values in the wrong places: then only the layout is taught.
    problem = ("with x's channels 1, 10 and 100 everywhere, filter 0 (all ones) gives 444 at every position and "
               "filter 1 (third channel zero) 44" if layout_diagnosis(out, expected)[0] else
               "each filter must sum its window over every input channel: 4 * (1 + 10 + 100) = 444, "
               "and 4 * (1 + 10) = 44 for the filter whose third channel is zero")
    check_forward(out, x, w, np.zeros(2), expected=expected, problem=problem,
                  given={"x channel values": [1, 10, 100], "w": w})


def test_conv2d_forward_rejects_a_channel_mismatch():
    x, w, b = np.zeros((1, 3, 5, 5)), np.zeros((2, 4, 3, 3)), np.zeros(2)
    expect_value_error(x, w, b, 1, 0, ("4", "(2, 4, 3, 3)"), "w with 4 input channels while x has 3")


def test_conv2d_forward_rejects_a_bias_of_the_wrong_shape():
    x, w = np.zeros((1, 1, 5, 5)), np.zeros((2, 1, 3, 3))
    expect_value_error(x, w, np.zeros(5), 1, 0, ("(5,)", "5"), "b of shape (5,) for 2 filters (b must be (2,))")
    # The bad value as a shape or in words ("b is a 2-D array of 2 values"), as the other tests accept it.
    expect_value_error(x, w, np.zeros((2, 1)), 1, 0, ("(2, 1)", "(2,1)", "[2, 1]", "2x1", "2 x 1", "2-D", "2-d",
                                                      "2D", "2 dimensions", "ndim 2", "ndim=2", "ndim = 2"),
                       "b of shape (2, 1) (b must be (2,))")


def test_conv2d_forward_rejects_a_kernel_larger_than_the_padded_input():
    x, b = np.zeros((1, 1, 3, 3)), np.zeros(1)
    expect_value_error(x, np.zeros((1, 1, 4, 4)), b, 1, 0, ("4", "3"), "a 4x4 kernel on a 3x3 input without padding")
    expect_value_error(x, np.zeros((1, 1, 2, 6)), b, 1, 1, ("6", "5"), "a 2x6 kernel on a 3x3 input padded to 5x5")
    out, _ = run_conv2d_forward(x, np.ones((1, 1, 5, 5)), b, 1, 1)  # exactly as large as the padded input: fine
    check_close(out, [[[[0.0]]]], problem="a 5x5 kernel on a 3x3 input with pad 1 fits exactly once",
                given={"x": x, "pad": 1}, hint=OUTPUT_SIZE)


def test_conv2d_forward_rejects_a_stride_below_1():
    x, w, b = np.zeros((1, 1, 4, 4)), np.zeros((1, 1, 2, 2)), np.zeros(1)
    expect_value_error(x, w, b, 0, 0, ("0",), "stride 0")
    expect_value_error(x, w, b, -2, 0, ("-2",), "stride -2")


def test_conv2d_forward_rejects_a_negative_pad():
    x, w, b = np.zeros((1, 1, 4, 4)), np.zeros((1, 1, 2, 2)), np.zeros(1)
    expect_value_error(x, w, b, 1, -1, ("-1",), "pad -1")


def test_conv2d_forward_rejects_a_non_integer_stride_or_pad():
    x, w, b = np.zeros((1, 1, 4, 4)), np.zeros((1, 1, 2, 2)), np.zeros(1)
    expect_value_error(x, w, b, 1.5, 0, ("1.5",), "stride 1.5 (not an integer)")
    expect_value_error(x, w, b, 1, 0.5, ("0.5",), "pad 0.5 (not an integer)")


def test_conv2d_forward_does_not_modify_its_inputs():
    x, w, b = random_case(3, 1, 2, 4, 4, 2, 3, 3)
    run_conv2d_forward(x, w, b, stride=1, pad=2)  # checks x, w and b afterwards


def test_conv2d_forward_keeps_float32():
    x, w, b = random_case(4, dtype=np.float32)
    out, _ = run_conv2d_forward(x, w, b, stride=1, pad=1)
    check_dtype(out, np.float32, "conv2d_forward", given={"x": x, "w": w, "b": b})
    check_forward(out, x, w, b, 1, 1, problem="conv2d_forward in float32 must still be right",
                  given={"x": x, "w": w, "b": b}, rtol=1e-4, atol=1e-5)


def test_conv2d_forward_keeps_float64():
    x, w, b = random_case(5)
    out, _ = run_conv2d_forward(x, w, b)
    check_dtype(out, np.float64, "conv2d_forward", given={"x": x, "w": w, "b": b})


# Task 2: conv2d_backward ------------------------------------------------------------------------

def test_conv2d_backward_worked_example():
    x = np.arange(9.0).reshape(1, 1, 3, 3)
    w, b = np.array([[[[1.0, 2.0], [3.0, 4.0]]]]), np.array([1.0])
    dx, dw, db, _, given_ = forward_and_backward(x, w, b, 1, 0, dout=np.ones((1, 1, 2, 2)))
    check_close(db, [4.0], problem="db must sum dout over the 4 output positions", given=given_, hint=BACKWARD)
    flipped = " (yours is the right dw flipped: the kernel is not flipped, forwards or backwards)" \
        if np.allclose(dw, [[[[24.0, 20.0], [12.0, 8.0]]]]) else ""
    check_close(dw, [[[[8.0, 12.0], [20.0, 24.0]]]],
                problem="dw[p, q] must sum, over the windows, dout times the pixel that weight (p, q) saw" + flipped,
                given=given_, hint=BACKWARD)
    overwritten = one_share_note(dx, x, w, 1, 0, np.ones((1, 1, 2, 2)))
    check_close(dx, [[[[1.0, 3.0, 2.0], [4.0, 10.0, 6.0], [3.0, 7.0, 4.0]]]],
                problem="dx of the docstring's example is wrong" + (
                    overwritten or ": the centre pixel is in all 4 windows and collects 1 + 2 + 3 + 4 = 10"),
                given=given_, hint=SHARES_ADD_UP if overwritten else BACKWARD)


def test_conv2d_backward_matches_pytorch_on_a_frozen_example():
    dx, dw, db, _, given_ = forward_and_backward(FROZEN_X, FROZEN_W, FROZEN_B, 2, 1, dout=FROZEN_DOUT)
    for got, expected, name in ((db, FROZEN_DB, "db"), (dw, FROZEN_DW, "dw"), (dx, FROZEN_DX, "dx")):
        note, hint = layout_note(name, got, FROZEN_X, FROZEN_W, 2, 1, FROZEN_DOUT)
        if name == "dx" and not note:
            note = one_share_note(dx, FROZEN_X, FROZEN_W, 2, 1, FROZEN_DOUT)
            hint = SHARES_ADD_UP if note else None
        check_close(got, expected, problem=f"conv2d_backward's {name} differs from PyTorch's gradient (stride 2, "
                                           f"pad 1, 2x3 kernels, 2 filters){note}", given=given_,
                    hint=hint or BACKWARD)


FLIPPED_BACKWARD = (" It is the gradient of a convolution with the kernel flipped upside down and left to right: "
                    "the kernel is not flipped, forwards or backwards (cross-correlation, as in PyTorch).")


def flipped_backward_note(name, got, x, w, b, stride, pad, dout):
    """FLIPPED_BACKWARD when got is the gradient of the flipped-kernel convolution, else ""."""
    if name == "dw":
        loss, point = (lambda v: np.sum(reference_conv(x, v[:, :, ::-1, ::-1], b, stride, pad) * dout)), w
    elif name == "dx":
        loss, point = (lambda v: np.sum(reference_conv(v, w[:, :, ::-1, ::-1], b, stride, pad) * dout)), x
    else:
        return ""
    got = np.asarray(got, dtype=np.float64)
    if got.shape == point.shape and np.allclose(got, numerical_gradient(loss, point), rtol=1e-5, atol=1e-6):
        return FLIPPED_BACKWARD
    return ""


def reference_gradients(x, w, stride, pad, dout):
    """{"dx", "dw", "db"} of sum(conv2d(x, w, b) * dout) from the definition, in float64 (for diagnoses)."""
    x, w, dout = (np.asarray(a, dtype=np.float64) for a in (x, w, dout))
    n, c, h, width = x.shape
    _, _, kh, kw = w.shape
    xpad = np.zeros((n, c, h + 2 * pad, width + 2 * pad))
    xpad[:, :, pad:pad + h, pad:pad + width] = x
    dxpad, dw = np.zeros_like(xpad), np.zeros_like(w)
    for i in range(dout.shape[2]):
        for j in range(dout.shape[3]):
            rows, cols = slice(i * stride, i * stride + kh), slice(j * stride, j * stride + kw)
            dw += np.tensordot(dout[:, :, i, j], xpad[:, :, rows, cols], axes=([0], [0]))
            dxpad[:, :, rows, cols] += np.tensordot(dout[:, :, i, j], w, axes=([1], [0]))
    return {"dx": dxpad[:, :, pad:pad + h, pad:pad + width], "dw": dw, "db": dout.sum(axis=(0, 2, 3))}


def one_share_where_windows_overlap(dx, x, w, stride, pad, dout):
    """(pixel, shares, got) when dx is right except at pixels that several windows cover, each of which holds one
    window's share instead of their sum (= overwriting, or NumPy's buffered += with repeated indices); None when dx
    is right or wrong in another way."""
    dx, w, dout = (np.asarray(a, dtype=np.float64) for a in (dx, w, dout))
    n, c, h, width = x.shape
    _, _, kh, kw = w.shape
    if dx.shape != x.shape:
        return None
    shares = {}  # (row, column) of x: the (N, C) shares of every window that covers it
    for i in range(dout.shape[2]):
        for j in range(dout.shape[3]):
            contribution = np.tensordot(dout[:, :, i, j], w, axes=([1], [0]))  # (N, C, KH, KW)
            for p in range(kh):
                for q in range(kw):
                    row, column = i * stride + p - pad, j * stride + q - pad
                    if 0 <= row < h and 0 <= column < width:
                        shares.setdefault((row, column), []).append(contribution[:, :, p, q])
    lost = None
    for (row, column), parts in shares.items():
        got, total = dx[:, :, row, column], np.sum(parts, axis=0)
        if np.allclose(got, total, rtol=1e-6, atol=1e-9):
            continue
        one = [np.isclose(got, part, rtol=1e-6, atol=1e-9) for part in parts]
        if len(parts) < 2 or not np.logical_or.reduce(one).all():
            return None  # another mistake
        if lost is None or len(parts) > len(lost[1]):  # the pixel of the most windows tells it best
            image, channel = (int(k) for k in np.argwhere(~np.isclose(got, total, rtol=1e-6, atol=1e-9))[0])
            lost = ((image, channel, row, column), [float(part[image, channel]) for part in parts],
                    float(got[image, channel]))
    uncovered = np.ones((h, width), dtype=bool)
    for row, column in shares:
        uncovered[row, column] = False
    return lost if lost and not dx[:, :, uncovered].any() else None


def one_share_note(dx, x, w, stride, pad, dout) -> str:
    """The note of a dx that kept one window's share where windows overlap, or ""."""
    found = one_share_where_windows_overlap(dx, x, w, stride, pad, dout)
    if not found:
        return ""
    pixel, parts, got = found
    terms = " + ".join(f"{part:g}" for part in parts)
    return (f": pixel {pixel} (n, c, row, column) is in {len(parts)} overlapping windows and must collect all their "
            f"shares, {terms} = {sum(parts):g}; yours has {got:g}, one window's share: the shares must add up. "
            "Writing with = keeps only the last one, and so does a += with index arrays that name a pixel "
            "several times (dxpad[:, :, rows, cols] += ...): NumPy buffers it, each pixel read once and written "
            "once, so a repeated index adds only one share")


# dout reshaped straight to the matrix product's layout: the gradient is the right one for a dout whose values were
# moved. Each layout, as (how dout's memory is read, the matrix that reshape gives, what to move).
DOUT_LAYOUTS = [
    ("(N, H_out, W_out, F)", "(N*H_out*W_out, F), one row per output position (n, i, j)", "the output positions",
     "move dout's filter axis to the end"),
    ("(F, N, H_out, W_out)", "(F, N*H_out*W_out), one row per filter", "the filters",
     "move dout's filter axis in front of the batch axis"),
]
def layout_note(name, got, x, w, stride, pad, dout):
    """(note, hint) when the gradient `name` is right but laid out wrongly, or is the gradient for dout reshaped
    straight to the matrix product's layout; ("", None) otherwise."""
    got = np.asarray(got, dtype=np.float64)
    right = reference_gradients(x, w, stride, pad, dout)[name]
    if got.shape != right.shape or close(got, right):
        return "", None
    n, f, h_out, w_out = dout.shape
    scrambled = [dout.reshape(n, h_out, w_out, f).transpose(0, 3, 1, 2),
                 dout.reshape(f, n, h_out, w_out).transpose(1, 0, 2, 3)]
    for moved, (order, matrix, rows, fix) in zip(scrambled, DOUT_LAYOUTS):
        if not close(moved, dout) and close(got, reference_gradients(x, w, stride, pad, moved)[name]):
            return (f": it is the right {name} for dout read in the order {order}, not (N, F, H_out, W_out): dout "
                    f"reshaped straight to {matrix}, without moving its axes first",
                    f"dout reshaped straight to {matrix}, keeps dout's numbers in their memory order (N, F, H_out, "
                    f"W_out), so the rows of that matrix are not {rows}: {fix} (a transpose), then reshape.")
    names = {"dx": ("N", "C", "H", "W"), "dw": ("F", "C", "KH", "KW")}.get(name)
    order = axis_order(got, right, names, likely=[(1, 0, 2, 3), (1, 2, 3, 0)]) if names else None
    if order is None:
        return "", None
    shape = "(N, C, H, W)" if name == "dx" else "(F, C, KH, KW)"
    if order == "(C, KH, KW, F)":
        return (f"{LAYOUT_WRONG}yours is the right dw laid out as the matrix product's (C*KH*KW, F), one row per "
                "weight and one column per filter, and then reshaped to (F, C, KH, KW)",
                "the values are right but their layout is wrong: a reshape alone cannot move the filter axis in "
                "front, it keeps the numbers in their memory order. Move (transpose) the axes into place, then "
                "reshape.")
    return (f"{LAYOUT_WRONG}yours is the right {name} laid out as {order} and then reshaped to {shape}",
            "the values are right but their layout is wrong: a reshape alone cannot move an axis, it keeps the "
            "numbers in their memory order. Move (transpose) the axes into place, then reshape.")


def gradient_lesson(name, result, analytic, numerical, given_, n, positions, note="", note_hint=None):
    """Fail with the check's numbers and, where the ratio or the note says it, the likely mistake."""
    hint = note_hint or BACKWARD
    ratio = None
    if abs(numerical.sum()) > 1e-6 and abs(analytic.sum()) > 1e-6:
        ratio = float(analytic.sum() / numerical.sum())
    if name == "db" and ratio is not None and not note:
        if n > 1 and abs(ratio - 1 / n) < 1e-6:
            hint = (f"db is N = {n} times too small: sum over the batch as well as over the positions, not a mean "
                    "over the batch.")
        elif abs(ratio - 1 / positions) < 1e-6 or abs(ratio - 1 / (n * positions)) < 1e-6:
            hint = "db is an average; it must be a sum: b[f] was added at every position of every image."
    tail = f"{note}." if note.startswith(":") else f".{note}"  # a layout note continues the sentence
    fail(f"conv2d_backward's {name} is not the gradient of sum(conv2d(x, w, b) * dout): numerical gradient check "
         f"{result}{tail}", given=given_, got=analytic, expected=numerical, hint=hint)


GRADIENT_CASES = [  # (N, C, H, W, F, KH, KW, stride, pad)
    (2, 2, 5, 5, 3, 3, 3, 1, 0), (2, 2, 5, 5, 3, 3, 3, 1, 1), (1, 3, 6, 5, 2, 2, 3, 2, 1),
    (2, 1, 7, 7, 2, 3, 3, 2, 0), (1, 2, 7, 6, 2, 3, 2, 3, 2), (3, 1, 4, 4, 2, 1, 1, 1, 0),
]


@pytest.mark.parametrize("case", GRADIENT_CASES, ids=lambda c: "N{}C{}H{}W{}F{}K{}x{}_stride{}_pad{}".format(*c))
def test_conv2d_backward_passes_numerical_gradient_checks(case):
    n, c, h, width, f, kh, kw, stride, pad = case
    x, w, b = random_case(sum(case), n, c, h, width, f, kh, kw)
    dx, dw, db, dout, given_ = forward_and_backward(x, w, b, stride, pad, seed=sum(case))
    positions = dout.shape[2] * dout.shape[3]
    checks = [
        ("db", lambda v: np.sum(reference_conv(x, w, v, stride, pad) * dout), b, db),
        ("dw", lambda v: np.sum(reference_conv(x, v, b, stride, pad) * dout), w, dw),
        ("dx", lambda v: np.sum(reference_conv(v, w, b, stride, pad) * dout), x, dx),
    ]
    for name, loss, point, analytic in checks:
        numerical = numerical_gradient(loss, point)
        result = check_gradient(loss, point, analytic, numerical=numerical)
        if not result:
            flipped = flipped_backward_note(name, analytic, x, w, b, stride, pad, dout)
            note, note_hint = (flipped, None) if flipped else layout_note(name, analytic, x, w, stride, pad, dout)
            if name == "dx" and not note:
                note = one_share_note(analytic, x, w, stride, pad, dout)
                note_hint = SHARES_ADD_UP if note else None
            gradient_lesson(name, result, np.asarray(analytic, dtype=np.float64), numerical, given_, n, positions,
                            note, note_hint)


def test_conv2d_backward_db_sums_over_the_batch_and_every_position():
    x, w, b = random_case(11, n=3, c=1, h=4, width=4, f=2, kh=2, kw=2)
    dout = np.ones((3, 2, 3, 3))
    _, _, db, _, _ = forward_and_backward(x, w, b, 1, 0, dout=dout)
    given_ = {"x shape": str(x.shape), "w shape": str(w.shape), "dout": "1.0 everywhere, shape (3, 2, 3, 3)"}
    if np.allclose(db, 9.0):
        fail("db must sum dout over the batch too: with dout = 1 everywhere, 3 images and 3x3 positions, db[f] = 27; "
             "got 9, the sum over one image.", given=given_, got=db, hint=BACKWARD)
    if np.allclose(db, 1.0) or np.allclose(db, 3.0):
        fail("db is an average; it must be a sum: b[f] was added at every position of every image, so with dout = 1 "
             "at the 3 x 3 x 3 positions (N, H_out, W_out), db[f] must be 27.", given=given_, got=db, hint=BACKWARD)
    check_close(db, [27.0, 27.0], problem="with dout = 1 at each of the 3 x 3 x 3 output positions (N, H_out, W_out), "
                                          "db[f] must be 27", given=given_, hint=BACKWARD)


def test_conv2d_backward_adds_up_where_windows_overlap():
    x = np.arange(9.0).reshape(1, 1, 3, 3)
    w = np.array([[[[1.0, 2.0], [3.0, 4.0]]]])
    dx, _, _, _, given_ = forward_and_backward(x, w, np.zeros(1), 1, 0, dout=np.ones((1, 1, 2, 2)))
    overwritten = one_share_note(dx, x, w, 1, 0, np.ones((1, 1, 2, 2)))
    if overwritten:
        fail("2x2 windows moved by 1 overlap, and where they do their gradients add up" + overwritten + ".",
             given=given_, got=dx, hint=SHARES_ADD_UP)
    flipped = flipped_backward_note("dx", dx, x, w, np.zeros(1), 1, 0, np.ones((1, 1, 2, 2)))
    check_close(dx, [[[[1.0, 3.0, 2.0], [4.0, 10.0, 6.0], [3.0, 7.0, 4.0]]]],
                problem="where windows overlap, a pixel's gradient is the sum over every window it is part of"
                        + ("; yours adds up, but it is the gradient of a convolution with the kernel flipped: the "
                           "kernel is not flipped, forwards or backwards (cross-correlation, as in PyTorch)"
                           if flipped else ""),
                given=given_, hint=BACKWARD)


def test_conv2d_backward_uses_the_stride():
    x, w, b = random_case(21, n=1, c=1, h=6, width=6, f=1, kh=2, kw=2)
    dx, dw, _, dout, given_ = forward_and_backward(x, w, b, 2, 0, seed=21)
    expected_dx = check_gradient(lambda v: np.sum(reference_conv(v, w, b, 2) * dout), x, dx)
    expected_dw = check_gradient(lambda v: np.sum(reference_conv(x, v, b, 2) * dout), w, dw)
    for name, result, got in (("dw", expected_dw, dw), ("dx", expected_dx, dx)):
        if not result:
            flipped = flipped_backward_note(name, got, x, w, b, 2, 0, dout)
            fail(f"with stride 2, conv2d_backward's {name} is wrong ({result})"
                 + (f".{flipped}" if flipped else
                    ": in the backward pass too, window (i, j) starts at row i*stride and column j*stride."),
                 given=given_, got=got, hint=BACKWARD)


def test_conv2d_backward_gives_zero_to_pixels_no_window_reaches():
    x, w, b = random_case(31, n=1, c=1, h=5, width=5, f=1, kh=2, kw=2)  # stride 2: row 4 and column 4 are unused
    dx, _, _, _, given_ = forward_and_backward(x, w, b, 2, 0, seed=31)
    if np.any(dx[0, 0, 4, :] != 0) or np.any(dx[0, 0, :, 4] != 0):
        fail("with H = W = 5, a 2x2 kernel and stride 2, no window reaches the last row and column: their gradient "
             "must be exactly 0.", given=given_, got=dx, hint=BACKWARD)


def test_conv2d_backward_keeps_float32():
    x, w, b = random_case(41, dtype=np.float32)
    dx, dw, db, dout, given_ = forward_and_backward(x, w, b, 1, 1, seed=41)
    for grad, name in ((dx, "dx"), (dw, "dw"), (db, "db")):
        check_dtype(grad, np.float32, f"conv2d_backward's {name}", given=given_)
    note, hint = layout_note("db", db, x, w, 1, 1, dout)
    check_close(db, dout.astype(np.float64).sum(axis=(0, 2, 3)), problem="db in float32 must still be right" + note,
                given=given_, hint=hint or BACKWARD, rtol=1e-4, atol=1e-4)


def test_conv2d_backward_does_not_modify_dout():
    x, w, b = random_case(51)
    forward_and_backward(x, w, b, 2, 1, seed=51)  # run_conv2d_backward checks dout afterwards
