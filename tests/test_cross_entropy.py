"""Stage 4: cross-entropy. Tasks: cross_entropy(probs, targets), then softmax_cross_entropy_backward(probs, targets)."""

import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from checker.gradcheck import check_gradient
from checker.teach import (check_close, check_dtype, check_shape, check_unchanged, fail, learner_function,
                           returned_array, show)

cross_entropy = learner_function("cross_entropy", "cross_entropy")
softmax_cross_entropy_backward = learner_function("cross_entropy", "softmax_cross_entropy_backward")

MEAN = ("The loss is the mean over the N examples (the rows): add up -targets * log(probs) over the whole batch "
        "and divide by N. Not the sum (it grows with the batch), not the mean over all N * C entries.")
CLIP = ("log(0) is -inf and 0 * -inf is nan: keep the probabilities away from 0 before the log, by clipping them "
        "to a tiny floor such as 1e-12, or take the log only of the true classes' probabilities.")
GRADIENT = "The gradient of the mean loss with respect to the logits is (probs - targets) / N, N = the number of rows."


def diagnose_loss(loss, expected, probs, targets) -> str:
    """What a wrong loss did, when its value tells (a sum, a mean over classes too, log base 2, p + epsilon)."""
    n, c = probs.shape
    if not (np.isfinite(loss) and np.isfinite(expected)) or expected == 0:
        return MEAN
    ratio = loss / expected
    if c > 1 and abs(ratio * c - 1) < 1e-6:
        return (f"your loss is exactly 1/C = 1/{c} of the right value: it was divided by the number of classes too "
                "(a mean over all N * C entries). Divide by the number of examples N only. " + MEAN)
    if n > 1 and abs(ratio / n - 1) < 1e-6:
        return f"your loss is N = {n} times too large: it is the sum over the batch, not the mean. " + MEAN
    if abs(ratio * np.log(2) - 1) < 1e-6:
        return "your loss is in bits (log base 2); the kata uses the natural logarithm, log."
    for epsilon in (1e-7, 1e-8, 1e-9, 1e-10, 1e-6, 1e-5, 1e-12):
        shifted = float(-np.sum(targets * np.log(np.asarray(probs, dtype=np.float64) + epsilon)) / n)
        if loss < expected and np.isclose(loss, shifted, rtol=1e-9, atol=0):
            return (f"your loss is that of log(probs + {epsilon:g}): adding a constant to the probabilities shifts "
                    "every term of the loss, most of all where a probability is small (the mean over the batch is fine). To keep "
                    "log(0) finite, clip the probabilities to a tiny floor instead, which leaves all others alone, "
                    "or take the log of the true classes' probabilities only.")
    return MEAN


def reference_loss(probs, targets):
    probs = np.asarray(probs, dtype=np.float64)
    picked = np.sum(np.asarray(targets, dtype=np.float64) * np.log(np.maximum(probs, 1e-300)), axis=1)
    return float(-picked.mean())


def reference_softmax(z):
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def one_hot_rows(labels, num_classes):
    return np.eye(num_classes)[labels]


def diagnose_gradient(grad, probs, targets) -> str:
    n, c = probs.shape
    mistakes = {
        f"your gradient is N = {n} times too large: the loss is a mean over the N examples, so divide by N.":
            probs - targets,
        "the sign is flipped: the gradient is probs - targets (over N), not targets - probs.": (targets - probs) / n,
        f"you divided by the number of classes C = {c}; divide by the number of examples N = {n}.": (probs - targets) / c,
    }
    told = [text for text, wrong in mistakes.items()
            if grad.shape == wrong.shape and np.allclose(grad, wrong) and not np.allclose(wrong, (probs - targets) / n)]
    return f"{told[0]} {GRADIENT}" if len(told) == 1 else GRADIENT


def check_loss(loss, expected, probs, targets, problem, rtol=1e-6):
    check_close(loss, expected, problem=problem, given={"probs": probs, "targets": targets},
                hint=diagnose_loss(loss, expected, probs, targets), rtol=rtol)


def run_cross_entropy(probs, targets):
    originals = {"probs": probs.copy(), "targets": targets.copy()}
    given_ = {"probs": probs, "targets": targets}
    loss = cross_entropy(probs, targets)
    check_unchanged(originals, given_, "cross_entropy")
    if isinstance(loss, np.ndarray) or not isinstance(loss, float):
        fail(f"cross_entropy must return a Python float, got {type(loss).__name__} {show(loss)}.", given=given_,
             hint="return float(loss): one number for the whole batch.")
    if not np.isfinite(loss):
        fail(f"cross_entropy returned {loss}.", given=given_, hint=CLIP)
    return loss


def run_backward(probs, targets):
    originals = {"probs": probs.copy(), "targets": targets.copy()}
    given_ = {"probs": probs, "targets": targets}
    grad = returned_array(softmax_cross_entropy_backward(probs, targets), "softmax_cross_entropy_backward",
                          given=given_)
    check_unchanged(originals, given_, "softmax_cross_entropy_backward")
    check_shape(grad, probs.shape, "softmax_cross_entropy_backward", given=given_,
                hint="one gradient per logit: shape (N, C), like probs.")
    return grad


@st.composite
def predictions(draw, min_classes=2):
    """(probs, targets): softmax of random logits, and one-hot targets of random labels."""
    n = draw(st.integers(1, 6))
    c = draw(st.integers(min_classes, 8))
    logits = draw(hnp.arrays(np.float64, (n, c), elements=st.floats(-8, 8, allow_subnormal=False)))
    labels = draw(hnp.arrays(np.int64, n, elements=st.integers(0, c - 1)))
    return reference_softmax(logits), one_hot_rows(labels, c)


# Task 1: cross_entropy ------------------------------------------------------------------------

def test_cross_entropy_worked_example_one_row():
    probs, targets = np.array([[0.25, 0.75]]), np.array([[0.0, 1.0]])
    loss = run_cross_entropy(probs, targets)
    hint = diagnose_loss(loss, -np.log(0.75), probs, targets)
    check_close(loss, -np.log(0.75),
                problem="the loss of one example is minus the log of the probability of its true class, -log 0.75 = 0.2877",
                given={"probs": probs, "targets": targets},
                hint="L = -sum_j targets[j] * log(probs[j])." if hint == MEAN else hint)


def test_cross_entropy_worked_example_batch_is_the_mean():
    probs = np.array([[0.5, 0.5], [1.0, 0.0]])
    targets = np.array([[1.0, 0.0], [1.0, 0.0]])
    check_loss(run_cross_entropy(probs, targets), np.log(2.0) / 2, probs, targets,
               "for two examples with losses log 2 and 0 the batch loss is their mean, 0.3466")


@given(predictions())
def test_cross_entropy_matches_an_independent_implementation(case):
    probs, targets = case
    check_loss(run_cross_entropy(probs, targets), reference_loss(probs, targets), probs, targets,
               "cross_entropy differs from -(1/N) sum_i sum_j targets[i, j] log probs[i, j]")


@given(predictions())
def test_cross_entropy_is_zero_for_a_perfect_prediction(case):
    _, targets = case
    probs = targets.copy()  # probability 1 on the true class, exact 0 elsewhere
    loss = run_cross_entropy(probs, targets)
    if abs(loss) > 1e-6:
        fail(f"a perfect prediction must cost 0, got {loss:.6g}.", given={"probs": probs, "targets": targets},
             hint="-log(1) = 0, and the zeros of the other classes are multiplied by targets = 0. " + CLIP)


@given(st.integers(1, 8), st.integers(2, 12), st.data())
def test_cross_entropy_of_a_uniform_prediction_is_log_of_the_number_of_classes(n, c, data):
    labels = data.draw(hnp.arrays(np.int64, n, elements=st.integers(0, c - 1)), label="labels")
    probs, targets = np.full((n, c), 1.0 / c), one_hot_rows(labels, c)
    check_loss(run_cross_entropy(probs, targets), np.log(c), probs, targets,
               f"guessing uniformly over {c} classes must cost log {c} = {np.log(c):.4f} whatever N is")


@given(predictions())
def test_cross_entropy_does_not_grow_with_the_batch_size(case):
    probs, targets = case
    twice = run_cross_entropy(np.vstack([probs, probs]), np.vstack([targets, targets]))
    check_close(twice, run_cross_entropy(probs, targets),
                problem="repeating the batch twice must not change the loss: it is a mean, not a sum",
                given={"probs": probs, "targets": targets}, hint=MEAN)


def test_cross_entropy_is_finite_when_probabilities_are_exactly_zero():
    probs = np.array([[0.0, 1.0, 0.0], [0.2, 0.0, 0.8]])
    targets = np.array([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    with np.errstate(divide="ignore", invalid="ignore"):
        loss = run_cross_entropy(probs, targets)
        # The property itself, on your own function: exact zeros cost what tiny probabilities cost. (Whether
        # the value is right is what the tests above check.)
        nearly_zero = run_cross_entropy(np.where(probs == 0, 1e-30, probs), targets)
    check_close(loss, nearly_zero, problem="zeros on the wrong classes must not change the loss: probabilities "
                "of exactly 0 must cost what probabilities of 1e-30 cost", given={"probs": probs, "targets": targets},
                hint=CLIP, rtol=1e-9)


def test_cross_entropy_is_large_but_finite_when_the_true_class_has_probability_zero():
    probs = np.array([[1.0, 0.0]])
    targets = np.array([[0.0, 1.0]])
    with np.errstate(divide="ignore", invalid="ignore"):
        loss = run_cross_entropy(probs, targets)
    # Compared with your own loss of a 50/50 guess, so that only the floor matters here, not the scale.
    guess = run_cross_entropy(np.array([[0.5, 0.5]]), targets)
    if not loss > 14 * guess:  # a floor of 1e-12 gives -log 1e-12 / log 2 = 40 times as much
        fail(f"a confident wrong answer (probability 0 on the true class) must cost a lot more than a 50/50 guess: "
             f"it costs {loss:.4g}, {loss / guess if guess else float('inf'):.3g} times the guess's {guess:.4g}.",
             given={"probs": probs, "targets": targets},
             hint="clip to a tiny floor such as 1e-12 (-log 1e-12 = 27.6, 40 times log 2), not to something like 0.01.")


def test_cross_entropy_works_in_float32():
    probs = np.array([[0.1, 0.7, 0.2], [0.3, 0.3, 0.4]], dtype=np.float32)
    targets = np.array([[0, 1, 0], [0, 0, 1]], dtype=np.float32)
    in_float64 = run_cross_entropy(probs.astype(np.float64), targets.astype(np.float64))
    check_close(run_cross_entropy(probs, targets), in_float64, given={"probs": probs, "targets": targets},
                problem="cross_entropy on float32 inputs must give the loss it gives on the same values in float64",
                hint="compute with the arrays you are given and return float(...) of the result: float32 inputs "
                     "are as valid as float64 ones.", rtol=1e-5)


def test_cross_entropy_does_not_modify_its_inputs():
    probs, targets = np.array([[0.0, 0.6, 0.4]]), np.array([[0.0, 1.0, 0.0]])
    originals = {"probs": probs.copy(), "targets": targets.copy()}
    with np.errstate(divide="ignore", invalid="ignore"):
        cross_entropy(probs, targets)  # only this property here: the value is the other tests' business
    check_unchanged(originals, {"probs": probs, "targets": targets}, "cross_entropy")


# Task 2: softmax_cross_entropy_backward ---------------------------------------------------------

def test_softmax_cross_entropy_backward_worked_example():
    probs = np.array([[0.25, 0.75], [0.5, 0.5]])
    targets = np.array([[0.0, 1.0], [1.0, 0.0]])
    grad = run_backward(probs, targets)
    check_close(grad, [[0.125, -0.125], [-0.25, 0.25]],
                problem="(probs - targets) / N with N = 2 must be [[0.125, -0.125], [-0.25, 0.25]]",
                given={"probs": probs, "targets": targets}, hint=diagnose_gradient(grad, probs, targets))


@given(predictions(min_classes=1))
def test_softmax_cross_entropy_backward_is_probs_minus_targets_over_n(case):
    probs, targets = case
    grad = run_backward(probs, targets)
    hint = diagnose_gradient(grad, probs, targets)
    check_close(grad, (probs - targets) / probs.shape[0], problem="the gradient must be (probs - targets) / N",
                given={"probs": probs, "targets": targets},
                hint=hint if hint != GRADIENT else GRADIENT + " Check the sign and the 1/N.")


@given(predictions())
def test_softmax_cross_entropy_backward_rows_sum_to_zero(case):
    probs, targets = case
    grad = run_backward(probs, targets)
    sums = grad.sum(axis=1)
    if np.any(np.abs(sums) > 1e-9):
        fail(f"each row of the gradient must sum to 0 (probs and targets both sum to 1); row sums {show(sums)}.",
             given={"probs": probs, "targets": targets}, got=grad, hint=GRADIENT)


def test_softmax_cross_entropy_backward_passes_a_numerical_gradient_check():
    rng = np.random.default_rng(4)
    logits = rng.standard_normal((5, 4)) * 2
    targets = one_hot_rows(np.array([0, 3, 1, 1, 2]), 4)
    probs = reference_softmax(logits)
    grad = run_backward(probs, targets)
    result = check_gradient(lambda z: reference_loss(reference_softmax(z), targets), logits, grad)
    if not result:
        fail(f"softmax_cross_entropy_backward is not the gradient of the mean loss: numerical gradient check {result}.",
             given={"logits": logits, "targets": targets}, got=grad, hint=diagnose_gradient(grad, probs, targets))


def test_softmax_cross_entropy_backward_keeps_float32():
    probs = np.array([[0.2, 0.8]], dtype=np.float32)
    targets = np.array([[0.0, 1.0]], dtype=np.float32)
    check_dtype(run_backward(probs, targets), np.float32, "softmax_cross_entropy_backward",
                given={"probs": probs, "targets": targets})


def test_softmax_cross_entropy_backward_does_not_modify_its_inputs():
    run_backward(np.array([[0.2, 0.8], [0.6, 0.4]]), np.array([[0.0, 1.0], [1.0, 0.0]]))  # checks afterwards
