"""Stage 3: softmax. Task: softmax(z) over the last axis, for a vector (C,) or a batch (N, C)."""

import os

import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from checker.teach import (check_close, check_dtype, check_shape, check_unchanged, fail, learner_frame, learner_function,
                           returned_array)

softmax = learner_function("softmax", "softmax")

WRONG_AXIS = ("Divide each row by its own total, summed over the last axis (the classes of one example); a sum "
              "over axis 0 mixes the examples, and a sum over the whole array mixes everything.")
SHIFT = ("exp(1000) is inf in floating point and inf / inf is nan. Subtract each row's maximum from that row "
         "before exponentiating: the factor exp(-max) cancels in the division, so the result is the same, and "
         "no exponent can overflow.")
OWN_MAXIMUM = ("each row needs its own maximum: one maximum for the whole batch leaves the row near -1000 as "
               "exp(-2000) = 0 everywhere, and 0 / 0 is nan. Take the maximum over the last axis, one per row.")
KEEPDIMS = ("a maximum or a total taken over the last axis of an (N, C) batch has shape (N,), which NumPy lines "
            "up with the columns of z, not with its rows. Keep it as a column of shape (N, 1) (keepdims) so that "
            "each row is shifted and divided by its own number; this also works for a single vector (C,).")


def reference_softmax(z):
    """An independent softmax: exp(z - logsumexp(z)), computed in float64."""
    z = np.asarray(z, dtype=np.float64)
    m = z.max(axis=-1, keepdims=True)
    return np.exp(z - m - np.log(np.exp(z - m).sum(axis=-1, keepdims=True)))


def run_softmax(z, nan_hint=SHIFT):
    """Call the learner's softmax; check it returns a finite array of z's shape and leaves z alone.

    nan_hint: the hint for a result that is not finite, or a function of that result giving it.
    """
    original = z.copy()
    try:
        result = softmax(z)
    except ValueError as error:
        if "broadcast" not in str(error):
            raise
        frame = learner_frame(error)
        where = f" at {os.path.relpath(frame.filename)} line {frame.lineno}" if frame else ""
        fail(f"softmax raised NumPy's broadcasting error{where} for a batch of shape {z.shape}: "
             f"{str(error).strip()}.", given={"z": z}, hint=KEEPDIMS)
    probs = returned_array(result, "softmax", given={"z": z})
    check_unchanged({"z": original}, {"z": z}, "softmax")
    check_shape(probs, z.shape, "softmax", given={"z": z},
                hint="softmax keeps the shape of its input: (C,) -> (C,), (N, C) -> (N, C).")
    if not np.all(np.isfinite(probs)):
        fail("softmax returned nan or inf.", given={"z": z}, got=probs,
             hint=nan_hint(probs) if callable(nan_hint) else nan_hint)
    return probs


def check_rows_sum_to_one(probs, z):
    sums = probs.sum(axis=-1)
    bad = np.flatnonzero(np.abs(sums - 1.0) > 1e-6)
    if bad.size:
        row = int(bad[0])
        where = f"row {row} sums" if z.ndim > 1 else "the vector sums"
        fail(f"softmax rows must sum to 1; {where} to {float(sums.reshape(-1)[row]):.6g}.",
             given={"z": z}, got=probs, hint=diagnose_normalisation(probs))


def diagnose_normalisation(probs) -> str:
    """Which total a softmax divided by, when its rows do not sum to 1."""
    if probs.ndim == 2 and probs.shape[0] > 1 and np.allclose(probs.sum(axis=0), 1.0):
        return ("your columns sum to 1: you divided by totals over axis 0, across the examples; divide each row "
                "by its own total, over the last axis (the classes).")
    if probs.size > probs.shape[-1] and np.isclose(probs.sum(), 1.0):
        return ("the whole array sums to 1: you divided by one total for everything; divide each row by its own "
                "total, over the last axis (the classes).")
    if np.allclose(probs.max(axis=-1), 1.0):
        return ("the largest entry of every row is 1: you divided by the row's maximum; divide by its total, "
                "the sum over the last axis (the classes).")
    return WRONG_AXIS


logit_batches = hnp.arrays(
    np.float64,
    shape=st.tuples(st.integers(1, 6), st.integers(1, 8)),
    elements=st.floats(-50, 50, allow_subnormal=False),
)


# Worked examples -----------------------------------------------------------------------------

def test_softmax_worked_example_vector():
    z = np.array([0.0, np.log(3.0)])
    check_close(run_softmax(z), [0.25, 0.75], problem="softmax([0, log 3]) must be [1/4, 3/4] (exp: [1, 3], total 4)",
                given={"z": z}, hint="softmax(z)_j = exp(z_j) / sum_k exp(z_k).")


def test_softmax_worked_example_batch():
    z = np.array([[1.0, 2.0, 3.0], [5.0, 5.0, 5.0]])
    expected = [[0.09003057, 0.24472847, 0.66524096], [1 / 3, 1 / 3, 1 / 3]]
    probs = run_softmax(z)
    check_close(probs, expected, problem="softmax of a batch must normalise each row on its own",
                given={"z": z}, hint=diagnose_normalisation(probs), rtol=1e-6)


def test_softmax_single_class_is_certain():
    z = np.array([[-3.0], [7.5]])
    check_close(run_softmax(z), [[1.0], [1.0]], problem="with one class, every probability must be 1",
                given={"z": z}, hint=WRONG_AXIS)


# Properties ------------------------------------------------------------------------------------

@given(logit_batches)
def test_softmax_rows_are_probability_distributions(z):
    probs = run_softmax(z)
    if np.any(probs <= 0) or np.any(probs > 1):
        fail("softmax outputs must lie in (0, 1]: exp is positive, and each is divided by a larger sum.",
             given={"z": z}, got=probs, hint="exponentiate before dividing, and divide by the row's total.")
    check_rows_sum_to_one(probs, z)


@given(logit_batches)
def test_softmax_matches_an_independent_implementation(z):
    probs = run_softmax(z)
    check_close(probs, reference_softmax(z), problem="softmax differs from exp(z_j) / sum_k exp(z_k)",
                given={"z": z}, hint=diagnose_normalisation(probs), rtol=1e-6, atol=1e-12)


@given(logit_batches, st.data())
def test_softmax_is_unchanged_by_adding_a_constant_to_a_row(z, data):
    shifts = data.draw(hnp.arrays(np.float64, (z.shape[0], 1), elements=st.floats(-100, 100)), label="shifts")
    check_close(run_softmax(z + shifts), run_softmax(z),
                problem="adding the same constant to every logit of a row must not change that row's softmax",
                given={"z": z, "shift per row": shifts[:, 0]},
                hint="subtract each row's own maximum, one number per row, not one number for the whole batch.",
                rtol=1e-6, atol=1e-12)


@given(logit_batches)
def test_softmax_keeps_the_order_of_the_scores(z):
    probs = run_softmax(z)
    at_top_logit = np.take_along_axis(probs, np.argmax(z, axis=-1)[:, None], axis=-1)[:, 0]
    if np.any(at_top_logit < probs.max(axis=-1)):
        fail("the largest logit of a row must get the largest probability.", given={"z": z}, got=probs,
             hint="softmax is increasing in each score: exponentiate the scores, do not negate or reorder them.")


@given(hnp.arrays(np.float64, st.integers(1, 8), elements=st.floats(-50, 50, allow_subnormal=False)))
def test_softmax_of_a_vector_equals_softmax_of_a_batch_of_one(z):
    vector = run_softmax(z)
    check_rows_sum_to_one(vector, z)
    check_close(vector, run_softmax(z[None, :])[0],
                problem="softmax of a vector (C,) must equal the single row of softmax of the batch (1, C)",
                given={"z": z}, hint="work over the last axis, which is the classes for both shapes; axis 1 does "
                                     "not exist for a vector (C,).")


# Numerical stability -------------------------------------------------------------------------

def test_softmax_huge_logits_do_not_overflow():
    for z, expected in [
        (np.array([1000.0, 1000.0]), [0.5, 0.5]),
        (np.array([1000.0, 0.0]), [1.0, 0.0]),
        (np.array([[-1000.0, -1000.0]]), [[0.5, 0.5]]),
        (np.array([[-1000.0, 0.0]]), [[0.0, 1.0]]),
        (np.array([[710.0, 709.0, 700.0]]), reference_softmax([[710.0, 709.0, 700.0]])),
    ]:
        with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
            probs = run_softmax(z)
        check_close(probs, expected, problem="softmax must handle logits of any magnitude", given={"z": z},
                    hint=SHIFT, atol=1e-12)


def test_softmax_rows_of_very_different_scale_in_one_batch():
    z = np.array([[1000.0, 999.0], [-1000.0, -1001.0], [0.0, 0.0], [3.0, -3.0]])

    def which_shift(probs):  # row 0 overflows only without any shift; row 1 only with one maximum for the batch
        return SHIFT if not np.all(np.isfinite(probs[0])) else OWN_MAXIMUM

    with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
        probs = run_softmax(z, nan_hint=which_shift)
    check_close(probs, reference_softmax(z), problem="each row must be normalised with its own maximum",
                given={"z": z}, hint=OWN_MAXIMUM, atol=1e-12)


# Contract: inputs and dtypes -----------------------------------------------------------------

def test_softmax_keeps_float32():
    z = np.array([[1.0, 2.0, 3.0], [80.0, -80.0, 0.0]], dtype=np.float32)
    probs = run_softmax(z)
    check_dtype(probs, np.float32, "softmax", given={"z": z})
    check_close(probs, reference_softmax(z), problem="softmax in float32 must still be right",
                given={"z": z}, hint=SHIFT, rtol=1e-5, atol=1e-7)


def test_softmax_keeps_float64():
    z = np.array([[0.1, 0.2]], dtype=np.float64)
    check_dtype(run_softmax(z), np.float64, "softmax", given={"z": z})


def test_softmax_does_not_modify_its_input():
    z = np.array([[3.0, 1.0, -2.0], [0.5, 0.5, 9.0]])
    run_softmax(z)  # checks z afterwards
