"""checker.gradcheck against functions whose derivatives are known exactly."""

import numpy as np
import pytest

from checker.gradcheck import check_gradient, numerical_gradient, relative_error

rng = np.random.default_rng(0)
X = rng.standard_normal((3, 4))
A = rng.standard_normal((4, 4))

KNOWN = [
    ("sum of squares", lambda x: np.sum(x ** 2), lambda x: 2 * x),
    ("sum of sines", lambda x: np.sum(np.sin(x)), np.cos),
    ("sum of exponentials", lambda x: np.sum(np.exp(x)), np.exp),
    ("log-sum-exp", lambda x: np.log(np.sum(np.exp(x))), lambda x: np.exp(x) / np.sum(np.exp(x))),
    ("quadratic form", lambda x: float(x[0] @ A @ x[0]) + np.sum(x[1:]),
     lambda x: np.vstack([(A + A.T) @ x[0], np.ones_like(x[1:])])),
]


@pytest.mark.parametrize("name, f, derivative", KNOWN, ids=[k[0] for k in KNOWN])
def test_numerical_gradient_matches_known_derivatives(name, f, derivative):
    numerical = numerical_gradient(f, X)
    assert numerical.shape == X.shape and numerical.dtype == np.float64
    assert relative_error(derivative(X), numerical) < 1e-9
    result = check_gradient(f, X, derivative(X))
    assert result and result.relative_error < 1e-9
    assert str(result).startswith("passed: relative error")


def test_numerical_gradient_leaves_its_input_alone_and_converts_to_float64():
    x = np.array([1.0, 2.0, 3.0], dtype=np.float32)
    before = x.copy()
    seen = []
    numerical_gradient(lambda v: seen.append(v.dtype) or float(np.sum(v)), x)
    assert np.array_equal(x, before) and x.dtype == np.float32
    assert set(seen) == {np.dtype(np.float64)}


def test_a_wrong_gradient_fails_and_names_the_element_that_differs_most():
    analytic = 2 * X
    analytic[1, 2] += 0.5
    result = check_gradient(lambda x: np.sum(x ** 2), X, analytic)
    assert not result
    assert result.worst_index == (1, 2)
    assert result.analytic_value == pytest.approx(2 * X[1, 2] + 0.5)
    assert result.numerical_value == pytest.approx(2 * X[1, 2], abs=1e-8)
    assert str(result).startswith("failed: relative error") and "(1, 2)" in str(result)


def test_a_gradient_off_by_a_constant_factor_is_far_above_the_tolerance():
    result = check_gradient(lambda x: np.sum(x ** 2), X, 2 * X / 4)  # e.g. a forgotten 1/N the other way round
    assert result.relative_error == pytest.approx(0.6)


def test_shape_mismatch_and_non_finite_gradients_are_reported():
    wrong_shape = check_gradient(lambda x: np.sum(x), X, np.ones(4))
    assert not wrong_shape and "shape (4,)" in str(wrong_shape)
    with_nan = np.ones_like(X)
    with_nan[0, 1] = np.nan
    not_finite = check_gradient(lambda x: np.sum(x), X, with_nan)
    assert not not_finite and "not finite at index (0, 1)" in str(not_finite)


def test_relative_error_is_zero_for_equal_gradients_and_one_for_opposite_ones():
    assert relative_error(X, X) == 0
    assert relative_error(X, -X) == pytest.approx(1.0)
    assert relative_error(np.zeros(3), np.zeros(3)) == 0


def test_tiny_elements_of_a_correct_gradient_do_not_fail_it():
    # Rounding error is ~1e-11 on every element; an element of size 1e-9 must not fail the check.
    x = np.array([1.0, 1e-9, -0.5])
    assert check_gradient(lambda v: np.sum(v ** 2) / 2, x, x)
