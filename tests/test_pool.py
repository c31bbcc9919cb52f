"""Stage 14: max pooling. Tasks: maxpool_forward(x, size, stride), maxpool_backward(dout, cache).

Results are compared with an independent loop implementation written here, gradients with central
differences of it on inputs without ties (where the maximum is unambiguous). With ties, any one of
the tied positions may receive the gradient: the tests accept every such choice.
"""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from checker.gradcheck import check_gradient
from checker import teach
from checker.teach import (check_close, check_dtype, check_shape, check_unchanged, fail, learner_function,
                           returned_array)

maxpool_forward = learner_function("pool", "maxpool_forward")
maxpool_backward = learner_function("pool", "maxpool_backward")

DEFINITION = "out[n, c, i, j] = the maximum of x[n, c, i*stride + p, j*stride + q] over p, q in 0..size-1."
OUTPUT_SIZE = ("H_out = (H - size) // stride + 1 and W_out = (W - size) // stride + 1: trailing rows and columns "
               "that fill no whole window are dropped.")
BACKWARD = ("each window sends its whole dout[n, c, i, j] to the one position that held its maximum and nothing to "
            "the others; a position that is the maximum of several overlapping windows adds up their gradients (+=).")
SHARES_ADD_UP = ("each window sends its whole dout[n, c, i, j] to the position of its maximum, and where windows "
                 "share a maximum every share must arrive. Writing with = keeps only the last one; an indexed += "
                 "whose index arrays name a position several times counts that position once. Add the shares in a "
                 "loop, or with a NumPy operation that adds repeated indices (kata hint pool, its last level).")
VALIDATE = ("check the arguments before computing and raise ValueError with the bad value in the message, "
            "e.g. f'size must be an integer >= 1, got {size}'.")


# The referee: the loop definition ----------------------------------------------------------------

def reference_pool(x, size, stride):
    x = np.asarray(x, dtype=np.float64)
    n, c, h, w = x.shape
    h_out, w_out = (h - size) // stride + 1, (w - size) // stride + 1
    out = np.empty((n, c, h_out, w_out))
    for i in range(h_out):
        for j in range(w_out):
            out[:, :, i, j] = x[:, :, i * stride:i * stride + size, j * stride:j * stride + size].max(axis=(2, 3))
    return out


STARTED_AT_ZERO_HINT = "start a running maximum from the window's first value (or -inf), not from 0."


def check_pool(out, x, size, stride, *, problem, given, hint=DEFINITION, expected=None, rtol=1e-6, atol=1e-9):
    """check_close of out against the definition (or expected), naming a running maximum started at 0."""
    expected = reference_pool(x, size, stride) if expected is None else expected
    note = ""
    got = np.asarray(out, dtype=np.float64)
    if (got.shape == np.shape(expected) and not np.allclose(got, expected, rtol=rtol, atol=atol)
            and np.allclose(got, reference_pool(np.maximum(x, 0.0), size, stride), rtol=rtol, atol=atol)):
        note = (": every window whose values are all negative came out as 0, as from a running maximum started at 0 "
                "(np.zeros); the maximum of [-3, -1] is -1")
        hint = STARTED_AT_ZERO_HINT
    check_close(out, expected, problem=problem + note, given=given, hint=hint, rtol=rtol, atol=atol)


def distinct_values(seed, shape, dtype=np.float64):
    """Values without ties, at least 0.5 apart (so a step of 1e-5 never changes which one is the maximum)."""
    rng = np.random.default_rng(seed)
    values = rng.permutation(int(np.prod(shape))).reshape(shape) * 0.5 - int(np.prod(shape)) * 0.25
    return values.astype(dtype)


def run_maxpool_forward(x, size=2, stride=2, shape_hint=OUTPUT_SIZE):
    given_ = {"x": x, "size": size, "stride": stride}
    original = x.copy()
    result = maxpool_forward(x, size=size, stride=stride)
    check_unchanged({"x": original}, {"x": x}, "maxpool_forward")
    if not isinstance(result, tuple) or len(result) != 2:
        fail(f"maxpool_forward must return a pair (out, cache); it returned {type(result).__name__}.",
             given=given_, hint="return out, cache: maxpool_backward receives the cache.")
    out = returned_array(result[0], "maxpool_forward's out", given=given_)
    h_out, w_out = (x.shape[2] - size) // stride + 1, (x.shape[3] - size) // stride + 1
    check_shape(out, (x.shape[0], x.shape[1], h_out, w_out), "maxpool_forward", given=given_, hint=shape_hint)
    if np.may_share_memory(out, x):  # a new array never does: its memory is its own
        fail(f"maxpool_forward (size {size}, stride {stride}) returned x itself or a view of it: out must be a new "
             "array. A view shares x's memory, so writing into out later (an in-place ReLU, out += ...) would change "
             "x too, and writing into x would change out.", given=given_,
             hint="with 1x1 windows every value is its own maximum, so out holds x's values (every stride-th one), "
                  "but in an array of its own: return a copy, as the docstring's edge case says." if size == 1 else
                  "build out as an array of its own: a maximum over the windows makes one; x and its slices do not.")
    return out, result[1]


def forward_and_backward(x, size, stride, dout=None, seed=0):
    out, cache = run_maxpool_forward(x, size, stride)
    if dout is None:
        dout = np.random.default_rng(seed + 1000).standard_normal(out.shape).astype(x.dtype)
    given_ = {"x": x, "size": size, "stride": stride, "dout": dout}
    original = dout.copy()
    dx = returned_array(maxpool_backward(dout, cache), "maxpool_backward", given=given_)
    check_unchanged({"dout": original}, {"dout": dout}, "maxpool_backward")
    check_shape(dx, x.shape, "maxpool_backward", given=given_,
                hint="dx has the shape of x, dropped rows and columns included (their gradient is 0).")
    return dx, dout, given_


def one_share_where_windows_share_a_maximum(x, size, stride, dout, dx):
    """(position, shares, got) when dx is right but for maxima shared by overlapping windows, which hold one window's
    share instead of the sum; None otherwise (or when a window has a tie: then any tied position may receive)."""
    x, dout, dx = (np.asarray(a, dtype=np.float64) for a in (x, dout, dx))
    shares = {}
    for n in range(x.shape[0]):
        for c in range(x.shape[1]):
            for i in range(dout.shape[2]):
                for j in range(dout.shape[3]):
                    window = x[n, c, i * stride:i * stride + size, j * stride:j * stride + size]
                    if np.count_nonzero(window == window.max()) > 1:
                        return None
                    p, q = np.unravel_index(np.argmax(window), window.shape)
                    shares.setdefault((n, c, i * stride + int(p), j * stride + int(q)), []).append(dout[n, c, i, j])
    rest = dx.copy()
    lost = None
    for position, gradients in shares.items():
        got, rest[position] = dx[position], 0.0
        if np.isclose(got, sum(gradients)):
            continue
        if len(gradients) < 2 or not any(np.isclose(got, g) for g in gradients):
            return None  # another mistake
        lost = lost or (position, gradients, got)
    return lost if np.all(rest == 0) else None


def check_shared_maxima_add_up(x, size, stride, dout, dx, given_, problem=""):
    """Fail, naming the two ways to lose them, where a maximum shared by overlapping windows got one share."""
    found = one_share_where_windows_share_a_maximum(x, size, stride, dout, dx)
    if found:
        position, gradients, got = found
        terms = " + ".join(f"{g:g}" for g in gradients)
        fail(f"{problem}{': ' if problem else ''}position {position} (n, c, row, column) is the maximum of "
             f"{len(gradients)} overlapping windows, so it must collect all their gradients, {terms} = "
             f"{sum(gradients):g}; yours has {got:g}, one window's share: the shares must add up. A += that looks "
             "right can lose them too: NumPy's indexed += counts a position that its index arrays repeat only once, "
             "not once per repeat (a known pitfall; kata hint pool shows a way that adds every repeat).",
             given=given_, got=dx, hint=SHARES_ADD_UP)


def expect_value_error(x, size, stride, offending: tuple, what: str):
    """maxpool_forward must raise ValueError whose message contains one of the strings `offending`."""
    given_ = {"x shape": str(x.shape), "size": size, "stride": stride}
    teach.expect_value_error(lambda: maxpool_forward(x, size=size, stride=stride), "maxpool_forward",
                             what, offending, given_, hint=VALIDATE)


EXAMPLE_X = np.array([[[[1.0, 2.0, 5.0, 0.0],
                        [3.0, 4.0, 1.0, 1.0],
                        [0.0, -1.0, 2.0, 2.0],
                        [-2.0, 0.0, 3.0, 9.0]]]])

# Frozen from PyTorch (bench/conv_vs_torch.py prints them): torch.nn.functional.max_pool2d(x, 3, 2) in float64
# and its backward for dout [[1, 2], [3, 4]]. The four overlapping windows share their maximum, 9.12.
FROZEN_X = (np.array([[3, 1, 4, 1, 5], [9, 2, 6, 5, 3], [5, 8, 9, 7, 0], [2, 3, 8, 4, 6], [2, 6, 4, 3, 1]],
                     dtype=np.float64) + np.arange(25).reshape(5, 5) / 100)[None, None]
FROZEN_OUT = [[[[9.12, 9.12], [9.12, 9.12]]]]
FROZEN_DOUT = np.array([[[[1.0, 2.0], [3.0, 4.0]]]])
FROZEN_DX = np.zeros((1, 1, 5, 5))
FROZEN_DX[0, 0, 2, 2] = 10.0


# Task 1: maxpool_forward -------------------------------------------------------------------------

def test_maxpool_forward_worked_example():
    out, _ = run_maxpool_forward(EXAMPLE_X, 2, 2)
    check_pool(out, EXAMPLE_X, 2, 2, expected=[[[[4.0, 5.0], [0.0, 9.0]]]], given={"x": EXAMPLE_X},
               problem="a 4x4 map pooled 2x2 with stride 2 must give the maximum of each quarter")


def test_maxpool_forward_worked_example_with_overlapping_windows():
    out, _ = run_maxpool_forward(EXAMPLE_X, 3, 1)
    check_pool(out, EXAMPLE_X, 3, 1, expected=[[[[5.0, 5.0], [4.0, 9.0]]]],
               problem="3x3 windows moved by 1 overlap: window (i, j) starts at row i and column j",
               given={"x": EXAMPLE_X, "size": 3, "stride": 1})


def test_maxpool_forward_matches_pytorch_on_a_frozen_example():
    out, _ = run_maxpool_forward(FROZEN_X, 3, 2)
    check_pool(out, FROZEN_X, 3, 2, expected=FROZEN_OUT, given={"x": FROZEN_X, "size": 3, "stride": 2},
               problem="maxpool_forward differs from torch.nn.functional.max_pool2d(x, 3, 2)")


def test_maxpool_forward_drops_trailing_rows_and_columns():
    x = np.arange(10.0).reshape(1, 1, 2, 5)
    out, _ = run_maxpool_forward(x, 2, 2, shape_hint="a 2x5 map pooled 2x2 with stride 2 gives 1x2: the last column "
                                                     "fills no whole window and is dropped, as PyTorch does. "
                                                     + OUTPUT_SIZE)
    check_pool(out, x, 2, 2, expected=[[[[6.0, 8.0]]]], given={"x": x},
               problem="the windows cover columns 0-1 and 2-3; column 4 is dropped")


@pytest.mark.parametrize("h, w, size, stride", [
    (4, 4, 2, 2), (5, 5, 2, 2), (7, 6, 3, 2), (6, 6, 3, 3), (5, 8, 2, 1), (3, 3, 3, 1), (9, 7, 2, 3), (4, 6, 1, 1),
], ids=lambda v: str(v))
def test_maxpool_forward_output_size_follows_the_formula(h, w, size, stride):
    x = distinct_values(h * 10 + w, (1, 2, h, w))
    h_out, w_out = (h - size) // stride + 1, (w - size) // stride + 1
    out, _ = run_maxpool_forward(x, size, stride,
                                 shape_hint=f"H_out = ({h} - {size}) // {stride} + 1 = {h_out} and W_out = "
                                            f"({w} - {size}) // {stride} + 1 = {w_out}. " + OUTPUT_SIZE)
    check_pool(out, x, size, stride, problem=f"maxpool_forward with size {size}, stride {stride}",
               given={"x": x, "size": size, "stride": stride})


@st.composite
def pool_cases(draw):
    size, stride = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    n, c = draw(st.integers(1, 2)), draw(st.integers(1, 3))
    h, w = draw(st.integers(size, 7)), draw(st.integers(size, 7))
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    x = rng.integers(-3, 4, (n, c, h, w)).astype(np.float64)  # small integers: ties happen
    return x, size, stride


@given(pool_cases())
def test_maxpool_forward_matches_the_loop_definition(case):
    x, size, stride = case
    out, _ = run_maxpool_forward(x, size, stride)
    check_pool(out, x, size, stride, problem=f"maxpool_forward differs from the definition (size {size}, stride {stride})",
               given={"x": x}, rtol=0, atol=0)


def test_maxpool_forward_keeps_negative_values():
    x = -1.0 - np.arange(16.0).reshape(1, 1, 4, 4)
    out, _ = run_maxpool_forward(x, 2, 2)
    check_pool(out, x, 2, 2, expected=[[[[-1.0, -3.0], [-9.0, -11.0]]]], given={"x": x}, hint=STARTED_AT_ZERO_HINT,
               problem="the maximum of negative values is negative: max(-1, -2, -5, -6) = -1, not 0")


def test_maxpool_forward_pools_each_channel_on_its_own():
    x = np.stack([distinct_values(1, (4, 4)), distinct_values(2, (4, 4)) + 100, distinct_values(3, (4, 4)) - 100])
    x = np.stack([x, x[::-1]])  # (2, 3, 4, 4): two images, three channels on very different levels
    out, _ = run_maxpool_forward(x, 2, 2)
    check_pool(out, x, 2, 2, problem="every channel of every image is pooled on its own: channels and images are "
                                     "never mixed",
               given={"x": x}, hint="take the maximum over the two window axes (rows and columns within the window) "
                                    "only, never over the batch or channel axis.")


def test_maxpool_forward_returns_a_new_array_even_for_1x1_windows():
    x = distinct_values(16, (2, 2, 4, 5))
    for stride in (1, 2):  # run_maxpool_forward checks that out does not share x's memory
        out, _ = run_maxpool_forward(x, 1, stride)
        check_pool(out, x, 1, stride, problem=f"with 1x1 windows and stride {stride}, out[n, c, i, j] is "
                                              f"x[n, c, {stride}*i, {stride}*j]", given={"x": x, "size": 1, "stride": stride})


def test_maxpool_forward_rejects_a_window_larger_than_the_input():
    expect_value_error(np.zeros((1, 1, 3, 5)), 4, 1, ("4", "3"), "a 4x4 window on a 3x5 input")


def test_maxpool_forward_rejects_size_or_stride_below_1():
    x = np.zeros((1, 1, 4, 4))
    expect_value_error(x, 0, 1, ("0",), "size 0")
    expect_value_error(x, 2, 0, ("0",), "stride 0")
    expect_value_error(x, 2, -1, ("-1",), "stride -1")


def test_maxpool_forward_rejects_a_non_integer_size_or_stride():
    x = np.zeros((1, 1, 4, 4))
    expect_value_error(x, 2.5, 2, ("2.5",), "size 2.5 (not an integer)")
    expect_value_error(x, 2, 1.5, ("1.5",), "stride 1.5 (not an integer)")


def test_maxpool_forward_does_not_modify_its_input():
    run_maxpool_forward(distinct_values(7, (2, 2, 5, 5)), 3, 2)  # checks x afterwards


def test_maxpool_forward_keeps_float32():
    x = distinct_values(8, (2, 3, 6, 6), dtype=np.float32)
    out, _ = run_maxpool_forward(x, 2, 2)
    check_dtype(out, np.float32, "maxpool_forward", given={"x": x})


def test_maxpool_forward_keeps_float64():
    x = distinct_values(9, (1, 1, 5, 5))
    out, _ = run_maxpool_forward(x, 3, 1)
    check_dtype(out, np.float64, "maxpool_forward", given={"x": x})


# Task 2: maxpool_backward ------------------------------------------------------------------------

def test_maxpool_backward_worked_example():
    x = EXAMPLE_X.copy()
    x[0, 0, 3, 1] = -0.5  # the docstring's tie removed: the maximum of the lower-left quarter is the 0 at (2, 0)
    dx, _, given_ = forward_and_backward(x, 2, 2, dout=np.array([[[[10.0, 20.0], [30.0, 40.0]]]]))
    expected = np.zeros((1, 1, 4, 4))
    expected[0, 0, 1, 1], expected[0, 0, 0, 2], expected[0, 0, 2, 0], expected[0, 0, 3, 3] = 10.0, 20.0, 30.0, 40.0
    if np.allclose(dx.sum(axis=(2, 3)), 100.0) and np.count_nonzero(dx) == 16:
        fail("maxpool_backward spreads each window's gradient over the whole window: that is average pooling. "
             "For max pooling only the position of the maximum influenced the output, so it gets the whole "
             "gradient and the others get 0.", given=given_, got=dx, expected=expected, hint=BACKWARD)
    check_close(dx, expected, problem="each quarter's gradient must land where its maximum was (4, 5, 0 and 9)",
                given=given_, hint=BACKWARD)


def test_maxpool_backward_matches_pytorch_on_a_frozen_example():
    dx, _, given_ = forward_and_backward(FROZEN_X, 3, 2, dout=FROZEN_DOUT)
    check_shared_maxima_add_up(FROZEN_X, 3, 2, FROZEN_DOUT, dx, given_,
                               problem="maxpool_backward differs from PyTorch's gradient (3x3 windows, stride 2)")
    check_close(dx, FROZEN_DX, problem="maxpool_backward differs from PyTorch's gradient: the four overlapping 3x3 "
                                       "windows share their maximum 9.12 at the centre, which collects 1+2+3+4 = 10",
                given=given_, hint=BACKWARD)


@pytest.mark.parametrize("shape, size, stride", [
    ((2, 2, 4, 4), 2, 2), ((1, 2, 5, 5), 2, 2), ((2, 1, 6, 5), 3, 1), ((1, 2, 7, 7), 3, 2), ((1, 1, 6, 6), 2, 3),
    ((2, 1, 4, 5), 1, 1),
], ids=lambda v: str(v))
def test_maxpool_backward_passes_numerical_gradient_checks(shape, size, stride):
    x = distinct_values(sum(shape) + size * 7 + stride, shape)
    dx, dout, given_ = forward_and_backward(x, size, stride, seed=sum(shape))
    result = check_gradient(lambda v: np.sum(reference_pool(v, size, stride) * dout), x, dx)
    if not result:
        check_shared_maxima_add_up(x, size, stride, dout, dx, given_,
                                   problem=f"maxpool_backward is not the gradient of sum(maxpool(x) * dout) (size "
                                           f"{size}, stride {stride}, no ties)")
        fail(f"maxpool_backward is not the gradient of sum(maxpool(x) * dout) (size {size}, stride {stride}, no "
             f"ties): numerical gradient check {result}.", given=given_, got=dx, hint=BACKWARD)


def test_maxpool_backward_adds_up_where_windows_overlap():
    x = np.zeros((1, 1, 3, 3))
    x[0, 0, 1, 1] = 5.0  # the maximum of all four overlapping 2x2 windows
    dout = np.array([[[[1.0, 2.0], [3.0, 4.0]]]])
    dx, _, given_ = forward_and_backward(x, 2, 1, dout=dout)
    check_shared_maxima_add_up(x, 2, 1, dout, dx, given_, problem="the centre of this 3x3 map pooled 2x2 with stride 1")
    expected = np.zeros((1, 1, 3, 3))
    expected[0, 0, 1, 1] = 10.0
    check_close(dx, expected, problem="2x2 windows with stride 1 overlap; their gradients add up at the shared "
                                      "maximum", given=given_, hint=BACKWARD)


def test_maxpool_backward_uses_the_stride():
    x = distinct_values(12, (1, 1, 7, 7))
    for size, stride in ((2, 3), (3, 2), (2, 1)):
        dx, dout, given_ = forward_and_backward(x, size, stride, seed=size * 10 + stride)
        result = check_gradient(lambda v: np.sum(reference_pool(v, size, stride) * dout), x, dx)
        if not result:
            check_shared_maxima_add_up(x, size, stride, dout, dx, given_,
                                       problem=f"with size {size} and stride {stride}, maxpool_backward is wrong")
            # Every window sends its whole gradient to one position, so dx sums to dout's sum; writing with = where
            # overlapping windows share a maximum loses some of it.
            lost = stride < size and not np.isclose(float(np.sum(dx)), float(np.sum(dout)), rtol=1e-9, atol=1e-9)
            why = (f"these windows overlap (stride {stride} < size {size}), and dx sums to {float(np.sum(dx)):.6g} "
                   f"instead of dout's sum {float(np.sum(dout)):.6g}: a position that is the maximum of several "
                   "windows must collect all their gradients (+=); = keeps only the last one, and an indexed += "
                   "counts a position its index arrays repeat only once (kata hint pool)." if lost else
                   "in the backward pass too, window (i, j) starts at row i*stride and column j*stride (not i*size).")
            fail(f"with size {size} and stride {stride}, maxpool_backward is wrong ({result}): {why}",
                 given=given_, got=dx, hint=BACKWARD)


def test_maxpool_backward_with_ties_sends_the_gradient_to_exactly_one_position():
    x = np.zeros((1, 2, 4, 4))  # every window is a tie (a ReLU output is often all zeros)
    x[0, 1, 0:2, 2:4] = 7.0  # a tie of four 7s in one window of the second channel
    x[0, 1, 2, 2] = x[0, 1, 3, 3] = -1.0  # the lower-right window: two tied zeros and two -1
    dout = np.array([[[[1.0, 2.0], [3.0, 4.0]], [[5.0, 6.0], [7.0, 8.0]]]])
    dx, _, given_ = forward_and_backward(x, 2, 2, dout=dout)
    for c in range(2):
        for i in range(2):
            for j in range(2):
                window = x[0, c, 2 * i:2 * i + 2, 2 * j:2 * j + 2]
                got = dx[0, c, 2 * i:2 * i + 2, 2 * j:2 * j + 2]
                tied = window == window.max()
                where = f"channel {c}, window ({i}, {j}), tied maxima {np.argwhere(tied).tolist()}"
                if np.count_nonzero(got) != 1 or not np.isclose(got.sum(), dout[0, c, i, j]):
                    spread = np.count_nonzero(got) > 1
                    fail(f"with ties, the gradient {dout[0, c, i, j]:g} of a window must go to exactly one of the "
                         f"tied positions (any one), whole; {where}: it went to {np.count_nonzero(got)} positions"
                         + (" (the output changes at the rate of one input, not of all the tied ones)." if spread
                            else "."),
                         given={"window": window, "dout": dout[0, c, i, j]}, got=got,
                         hint="record one position per window in the forward pass (np.argmax picks the first "
                              "maximum) and send the gradient there only, not to every position equal to the max.")
                if not tied[got != 0].all():
                    fail(f"the gradient must go to a position holding the window's maximum; {where}.",
                         given={"window": window}, got=got, hint=BACKWARD)


def test_maxpool_backward_gives_zero_to_dropped_rows_and_columns():
    x = distinct_values(13, (1, 1, 5, 5))
    x[0, 0, 4, :] += 1000.0  # the largest values sit in the dropped row and column: they must not win
    x[0, 0, :, 4] += 1000.0
    dx, _, given_ = forward_and_backward(x, 2, 2, seed=13)
    if np.any(dx[0, 0, 4, :] != 0) or np.any(dx[0, 0, :, 4] != 0):
        fail("the last row and column of a 5x5 map pooled 2x2 with stride 2 are dropped: they are in no window, so "
             "their gradient must be exactly 0.", given=given_, got=dx, hint=BACKWARD + " " + OUTPUT_SIZE)


def test_maxpool_backward_keeps_float32():
    x = distinct_values(14, (2, 2, 4, 4), dtype=np.float32)
    for size, stride in ((2, 2), (3, 1)):
        dx, _, given_ = forward_and_backward(x, size, stride, seed=14)
        check_dtype(dx, np.float32, "maxpool_backward", given=given_)


def test_maxpool_backward_does_not_modify_dout():
    forward_and_backward(distinct_values(15, (1, 2, 6, 6)), 3, 1, seed=15)  # checks dout afterwards
