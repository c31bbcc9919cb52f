"""Stage 9: inverted dropout. Tasks: dropout_forward(x, p_drop, rng) -> (out, mask), then dropout_backward(dout, mask).

The mask is random, so these tests never expect a particular mask: they test its statistics (the
fraction dropped, the values 0 and 1 / (1 - p_drop)) and its consistency (out = x * mask, the same
generator state gives the same mask). How the mask is drawn (rng.random, rng.binomial, ...) is yours.
"""

import math
from functools import partial

import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from checker.gradcheck import check_gradient
from checker import teach
from checker.teach import (check_close, check_dtype, check_shape, check_unchanged, fail, learner_function,
                           returned_array, show)

dropout_forward = learner_function("dropout", "dropout_forward")
dropout_backward = learner_function("dropout", "dropout_backward")

INVERTED = ("Inverted dropout scales the kept elements up by 1 / (1 - p_drop), so that the expected value of "
            "each output equals its input and evaluation needs no change.")
KEEP_PROBABILITY = ("Each element is dropped (0) with probability p_drop and kept with probability 1 - p_drop; "
                    "p_drop is the probability of dropping, not of keeping.")
GENERATOR = ("Draw the mask from the generator you are given (rng.random, rng.binomial, ...), never from np.random "
             "and never from a new generator made inside the function.")
VALIDATE = ("check p_drop first: 0 <= p_drop < 1 (p_drop = 1 would drop everything and divide by zero); otherwise "
            "raise ValueError naming the value, e.g. f'p_drop must satisfy 0 <= p_drop < 1, got {p_drop!r}'.")
# Every bad-input test of this stage ends with the same advice.
expect_value_error = partial(teach.expect_value_error, hint=VALIDATE)
BACKWARD = ("The gradient flows back exactly where the forward pass kept an element, scaled like the forward "
            "pass: dx = dout * mask, with the mask dropout_forward returned (its values are 0 and 1 / (1 - p_drop)).")


def run_dropout_forward(x, p_drop, seed=0, rng=None):
    """Call the learner's dropout_forward; check the pair it returns and that x is untouched."""
    original = x.copy()
    given_ = {"x": x, "p_drop": p_drop}
    try:
        result = dropout_forward(x, p_drop, np.random.default_rng(seed) if rng is None else rng)
    except ValueError as error:
        if p_drop != 0:
            raise
        fail(f"dropout_forward refused p_drop = 0 ({error}), but 0 is allowed: 0 <= p_drop < 1. p_drop = 0 means "
             "that nothing is dropped.", given=given_,
             hint="with p_drop = 0 every element is kept, and 1 / (1 - p_drop) = 1: the mask is all ones and out "
                  "equals x. Only p_drop < 0, p_drop >= 1 and nan are refused.")
    check_unchanged({"x": original}, {"x": x}, "dropout_forward")
    if not isinstance(result, tuple) or len(result) != 2:
        fail(f"dropout_forward must return a pair (out, mask); it returned {type(result).__name__}"
             + (f" of length {len(result)}" if isinstance(result, (tuple, list)) else "") + ".",
             given=given_, hint="return out, mask: the backward pass needs the mask the forward pass used.")
    out, mask = result
    for name, array in (("out", out), ("mask", mask)):
        returned_array(array, f"dropout_forward's {name}", given=given_)
        check_shape(array, x.shape, f"dropout_forward's {name}", given=given_,
                    hint="one independent random decision per element of x: the mask has x's shape.")
    return out, mask


def check_mask_values(mask, p_drop, given_):
    """Every element of mask is 0 or 1 / (1 - p_drop), with a diagnosis of the usual wrong scales."""
    scale = 1.0 / (1.0 - p_drop)
    kept = mask[mask != 0]
    if not np.allclose(kept, scale, rtol=1e-6):
        wrong = kept[~np.isclose(kept, scale, rtol=1e-6)]
        value = float(wrong[0])
        if math.isclose(value, 1.0, rel_tol=1e-6):
            why = "the kept elements are 1: the scaling by 1 / (1 - p_drop) is missing."
        elif math.isclose(value, 1.0 - p_drop, rel_tol=1e-6):
            why = "the kept elements are 1 - p_drop: they must be divided by 1 - p_drop, not multiplied."
        elif p_drop > 0 and math.isclose(value, 1.0 / p_drop, rel_tol=1e-6):
            why = "the kept elements are 1 / p_drop: divide by the probability of keeping, 1 - p_drop."
        elif p_drop == 0 and not math.isfinite(value):
            why = (f"found {value:.6g}: a division by p_drop, which is 0 here? Divide by the probability of keeping, "
                   "1 - p_drop.")
        else:
            why = f"found {value:.6g}."
        fail(f"every element of dropout's mask must be 0 or 1 / (1 - p_drop) = {scale:.6g}; {why}",
             given=given_, got=mask, hint=INVERTED)


def drop_fraction_check(p_drop, size, seed):
    """The fraction of zeros in a mask of `size` elements; fails if it is far from p_drop."""
    x = np.ones(size)
    _, mask = run_dropout_forward(x, p_drop, seed)
    dropped = float(np.mean(mask == 0))
    sd = math.sqrt(p_drop * (1 - p_drop) / size)
    if abs(dropped - p_drop) > 6 * sd + 1e-12:  # 6 standard deviations: a correct mask fails once in 10^9 runs
        why = (" That is about 1 - p_drop: the mask keeps elements with probability p_drop." if
               abs(dropped - (1 - p_drop)) <= 6 * sd else "")
        fail(f"dropout_forward with p_drop = {p_drop} dropped {dropped:.2%} of {size} elements; expected "
             f"{p_drop:.0%} give or take {6 * sd:.1%}.{why}",
             given={"x": f"np.ones({size})", "p_drop": p_drop}, got=mask, hint=KEEP_PROBABILITY)




shaped_inputs = hnp.arrays(np.float64, hnp.array_shapes(min_dims=1, max_dims=3, max_side=6),
                           elements=st.floats(-10, 10))
drop_probabilities = st.sampled_from([0.0, 0.1, 0.25, 0.5, 0.75, 0.9])


# Task 1: dropout_forward -----------------------------------------------------------------------

def test_dropout_forward_worked_example_without_dropping():
    x = np.array([[1.0, -2.0, 3.0], [0.5, 0.0, -4.0]])
    out, mask = run_dropout_forward(x, 0.0)
    if not np.all(np.isfinite(mask)):
        fail("with p_drop = 0 nothing is dropped: the mask must be all ones; it holds non-finite values, as if "
             "something were divided by p_drop = 0.", given={"x": x, "p_drop": 0.0}, got=mask,
             hint="divide by the probability of keeping, 1 - p_drop (here 1), never by p_drop. " + INVERTED)
    check_close(mask, np.ones_like(x), problem="with p_drop = 0 nothing is dropped: the mask must be all ones",
                given={"x": x, "p_drop": 0.0}, hint=KEEP_PROBABILITY + " " + INVERTED)
    check_close(out, x, problem="with p_drop = 0, out must equal x", given={"x": x, "p_drop": 0.0}, hint=INVERTED)


def test_dropout_forward_mask_is_zero_or_the_inverted_scale():
    x = np.ones((200, 50))
    for p_drop in (0.2, 0.5, 0.75):
        _, mask = run_dropout_forward(x, p_drop, seed=1)
        if np.all(mask == 0):
            fail(f"dropout_forward with p_drop = {p_drop} dropped every element.", given={"p_drop": p_drop},
                 got=mask, hint=KEEP_PROBABILITY)
        check_mask_values(mask, p_drop, {"x": "np.ones((200, 50))", "p_drop": p_drop})


def test_dropout_forward_drops_the_right_fraction():
    for p_drop, seed in ((0.1, 2), (0.25, 3), (0.5, 4), (0.8, 5)):
        drop_fraction_check(p_drop, 20_000, seed)


def test_dropout_forward_out_is_x_times_mask():
    rng = np.random.default_rng(6)
    x = rng.standard_normal((30, 20))
    out, mask = run_dropout_forward(x, 0.4, seed=7)
    check_close(out, x * mask, problem="dropout_forward's out must equal x * mask, with the mask it returns",
                given={"x": x, "p_drop": 0.4}, hint="compute out from the very mask you return, not from a second draw.")


def test_dropout_forward_keeps_the_expected_value():
    x = np.full(40_000, 3.0)
    out, _ = run_dropout_forward(x, 0.6, seed=8)
    # out's elements are 0 or 7.5, mean 3; the sd of the mean is 3 * sqrt(0.6 / 0.4) / 200 ~ 0.018.
    if abs(float(out.mean()) - 3.0) > 0.12:
        fail(f"inverted dropout must keep the expected value of each element: the mean of out for x = 3 "
             f"everywhere and p_drop = 0.6 is {float(out.mean()):.4g}, expected about 3.",
             given={"x": "np.full(40_000, 3.0)", "p_drop": 0.6}, got=out, hint=INVERTED + " " + KEEP_PROBABILITY)


def test_dropout_forward_drops_each_element_independently():
    x = np.ones((100, 40))
    _, mask = run_dropout_forward(x, 0.5, seed=9)
    rows, columns = np.unique(mask, axis=0).shape[0], np.unique(mask, axis=1).shape[1]
    if rows < 50 or columns < 20:
        fail(f"dropout's mask must be drawn independently for every element; in a (100, 40) mask only {rows} "
             f"different rows and {columns} different columns occur.", given={"x": "np.ones((100, 40))", "p_drop": 0.5},
             got=mask, hint="draw one random number per element of x (shape x.shape), not one per row or per column.")


def test_dropout_forward_drops_a_number_of_elements_that_varies_from_call_to_call():
    # Independent decisions drop a binomial number of the 20 elements: mean 10, variance 20 * 0.5 * 0.5 = 5.
    # Over 300 calls the sample variance falls below 2.5 about 6 standard deviations from its mean: never.
    rng = np.random.default_rng(20)
    x, p_drop, calls = np.ones((4, 5)), 0.5, 300
    counts = np.array([np.count_nonzero(run_dropout_forward(x, p_drop, rng=rng)[1] == 0) for _ in range(calls)])
    expected_variance = x.size * p_drop * (1 - p_drop)
    if np.var(counts, ddof=1) < expected_variance / 2:
        seen = sorted(set(counts.tolist()))
        what = (f"exactly {seen[0]} of the {x.size} elements of x at each of {calls} calls" if len(seen) == 1 else
                f"between {seen[0]} and {seen[-1]} of the {x.size} elements of x over {calls} calls (variance "
                f"{np.var(counts, ddof=1):.2g})")
        fail(f"dropout_forward with p_drop = {p_drop} dropped {what}: the elements "
             f"are not dropped independently. With one independent decision per element, the number dropped "
             f"varies from call to call like the heads in {x.size} coin tosses (variance {expected_variance:g}, so "
             f"anything from about 5 to 15). Choosing a fixed number, round(p_drop * size), of elements to drop (a "
             "permutation, or a choice without replacement) makes the fraction exact but ties the elements "
             "together: once enough are dropped, every other one is sure to be kept.",
             given={"x": "np.ones((4, 5))", "p_drop": p_drop}, shown={"numbers dropped": counts[:12]},
             hint="decide for every element on its own, with one random draw per element of x that is below "
                  "p_drop with probability p_drop; never a fixed count of dropped elements. " + KEEP_PROBABILITY)


def test_dropout_forward_same_generator_state_gives_the_same_mask():
    x = np.ones((20, 30))
    _, first = run_dropout_forward(x, 0.5, seed=10)
    _, again = run_dropout_forward(x, 0.5, seed=10)
    _, other = run_dropout_forward(x, 0.5, seed=11)
    if not np.array_equal(first, again):
        fail("two generators with the same seed must give the same mask: a training run must be reproducible.",
             got=f"{show(first)}\nthen {show(again)}", hint=GENERATOR)
    if np.array_equal(first, other):
        fail("seeds 10 and 11 give the same mask: dropout_forward ignores the generator it is given.", hint=GENERATOR)


def test_dropout_forward_draws_a_fresh_mask_at_every_call():
    rng = np.random.default_rng(12)
    x = np.ones((20, 30))
    _, first = run_dropout_forward(x, 0.5, rng=rng)
    _, second = run_dropout_forward(x, 0.5, rng=rng)
    if np.array_equal(first, second):
        fail("two calls with the same generator must drop different elements: every training step needs a new mask.",
             got=first, hint=GENERATOR)


def test_dropout_forward_leaves_the_global_random_state_alone():
    np.random.seed(99)
    _, keys_before, position_before, *_ = np.random.get_state()
    run_dropout_forward(np.ones((10, 10)), 0.5, seed=13)
    _, keys_after, position_after, *_ = np.random.get_state()
    if position_after != position_before or not np.array_equal(keys_after, keys_before):
        fail("dropout_forward changed NumPy's global random state (np.random).", hint=GENERATOR)


@given(shaped_inputs, drop_probabilities, st.integers(0, 2**32 - 1))
def test_dropout_forward_is_consistent_for_any_shape(x, p_drop, seed):
    out, mask = run_dropout_forward(x, p_drop, seed)
    given_ = {"x": x, "p_drop": p_drop}
    check_mask_values(mask, p_drop, given_)
    check_close(out, x * mask, problem="dropout_forward's out must equal x * mask", given=given_,
                hint="compute out from the very mask you return.")


def test_dropout_forward_keeps_float32():
    x = np.linspace(-1, 1, 60, dtype=np.float32).reshape(6, 10)
    out, mask = run_dropout_forward(x, 0.3, seed=14)
    check_dtype(mask, np.float32, "dropout_forward (mask)", given={"x": x})
    check_dtype(out, np.float32, "dropout_forward (out)", given={"x": x})
    check_mask_values(mask, 0.3, {"x": x, "p_drop": 0.3})
    check_close(out, x.astype(np.float64) * mask, problem="dropout_forward's out in float32 must equal x * mask",
                given={"x": x}, rtol=1e-6)


def test_dropout_forward_keeps_float64():
    x = np.ones((4, 5))
    out, mask = run_dropout_forward(x, 0.5, seed=15)
    check_dtype(mask, np.float64, "dropout_forward (mask)", given={"x": x})
    check_dtype(out, np.float64, "dropout_forward (out)", given={"x": x})


def test_dropout_forward_rejects_a_bad_p_drop():
    x = np.ones((3, 4))
    for p_drop, offending, what in ((-0.1, "-0.1", "a negative p_drop"), (1.5, "1.5", "p_drop = 1.5"),
                                    (math.nan, "nan", "p_drop = nan"), (1.0, None, "p_drop = 1 (everything dropped)")):
        expect_value_error(lambda: dropout_forward(x, p_drop, np.random.default_rng(0)), "dropout_forward", what,
                           offending, {"x": x, "p_drop": p_drop})


def test_dropout_forward_does_not_modify_its_input():
    run_dropout_forward(np.arange(12.0).reshape(3, 4), 0.5, seed=16)  # checks x afterwards


# Task 2: dropout_backward ----------------------------------------------------------------------

def run_dropout_backward(dout, mask):
    given_ = {"dout": dout, "mask": mask}
    originals = {k: v.copy() for k, v in given_.items()}
    dx = returned_array(dropout_backward(dout, mask), "dropout_backward", given=given_)
    check_unchanged(originals, given_, "dropout_backward")
    check_shape(dx, dout.shape, "dropout_backward", given=given_, hint="dx has the shape of dout (and of x).")
    return dx


def test_dropout_backward_worked_example():
    dout = np.array([[1.0, -2.0, 3.0], [4.0, 5.0, -6.0]])
    mask = np.array([[0.0, 2.0, 2.0], [2.0, 0.0, 2.0]])  # p_drop = 0.5
    dx = run_dropout_backward(dout, mask)
    check_close(dx, [[0.0, -4.0, 6.0], [8.0, 0.0, -12.0]], given={"dout": dout, "mask": mask},
                problem="dropout_backward must let no gradient through where the mask is 0 and scale it by the mask "
                        "(here 2 = 1 / (1 - 0.5)) where it is not", hint=BACKWARD)


def test_dropout_backward_passes_the_gradient_of_dropout():
    rng = np.random.default_rng(17)
    x = rng.standard_normal((5, 7))
    dout = rng.standard_normal((5, 7))
    mask = np.where(rng.random((5, 7)) < 0.3, 0.0, 1.0 / 0.7)  # a valid mask of p_drop = 0.3, made here
    dx = run_dropout_backward(dout, mask)
    check = check_gradient(lambda v: np.sum(v * mask * dout), x, dx)
    if not check:
        fail(f"dropout_backward is not the gradient of out = x * mask: numerical gradient check {check}.",
             given={"dout": dout, "mask": mask}, got=dx, hint=BACKWARD)


def test_dropout_backward_is_zero_exactly_where_the_forward_pass_dropped():
    rng = np.random.default_rng(18)
    x = rng.standard_normal((40, 25))
    _, mask = run_dropout_forward(x, 0.5, seed=19)
    dout = rng.standard_normal((40, 25))
    dx = run_dropout_backward(dout, mask)
    dropped = mask == 0
    if np.any(dx[dropped] != 0) or np.any(dx[~dropped] == 0):
        fail("dropout_backward must give 0 exactly where dropout_forward's mask dropped an element and a "
             "non-zero gradient elsewhere.", given={"dout": dout, "mask": mask}, got=dx, hint=BACKWARD)
    check_close(dx, dout * mask, problem="dropout_backward's dx must equal dout * mask", given={"dout": dout, "mask": mask},
                hint=BACKWARD)


def test_dropout_backward_keeps_float32():
    dout = np.array([[0.5, -1.5]], dtype=np.float32)
    mask = np.array([[0.0, 1.25]], dtype=np.float32)
    check_dtype(run_dropout_backward(dout, mask), np.float32, "dropout_backward", given={"dout": dout, "mask": mask})


def test_dropout_backward_keeps_float64():
    dout, mask = np.array([1.0, 2.0]), np.array([2.0, 0.0])
    check_dtype(run_dropout_backward(dout, mask), np.float64, "dropout_backward", given={"dout": dout, "mask": mask})


def test_dropout_backward_does_not_modify_its_inputs():
    run_dropout_backward(np.array([[1.0, -1.0], [2.0, 3.0]]), np.array([[0.0, 4.0], [4.0, 4.0]]))
