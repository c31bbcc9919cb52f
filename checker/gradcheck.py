"""Numerical gradient checking with central differences, for the suites and for you.

The derivative of f at x is approximately (f(x + h) - f(x - h)) / (2h). Doing that for every
element of an array gives a numerical gradient that is slow but hard to get wrong, which makes it
the referee for the analytic gradients your backward functions compute:

    from checker.gradcheck import check_gradient

    z = np.random.default_rng(0).standard_normal((4, 5))
    dout = np.random.default_rng(1).standard_normal((4, 5))
    result = check_gradient(lambda z: np.sum(relu(z) * dout), z, relu_backward(dout, z))
    print(result)          # passed: relative error 3e-12 ...

For a function with an array output g(x), check the scalar np.sum(g(x) * dout): its gradient is
exactly what a backward function receiving the upstream gradient dout must return.

Use float64 (everything here converts to it): in float32 the differences drown in rounding error.
Keep inputs away from kinks such as ReLU's at 0, where the numerical derivative is meaningless.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

DEFAULT_H = 1e-5
DEFAULT_TOLERANCE = 1e-7
DENOMINATOR_FLOOR = 1e-8  # ||a|| + ||n|| below this counts as this, so two zero gradients agree


def numerical_gradient(f, x, h: float = DEFAULT_H) -> np.ndarray:
    """Central-difference gradient of a scalar function f at x.

    Args:
        f: callable taking an array of x's shape and returning a number.
        x: array-like; converted to a float64 copy, which is what f receives. x itself is untouched.
        h: the step.

    Returns:
        float64 array of x's shape: grad[i] = (f(x + h e_i) - f(x - h e_i)) / (2h).
    """
    point = np.array(x, dtype=np.float64)  # a copy, perturbed in place one element at a time
    grad = np.zeros_like(point)
    flat_point = point.reshape(-1)
    flat_grad = grad.reshape(-1)
    for i in range(flat_point.size):
        original = flat_point[i]
        flat_point[i] = original + h
        plus = float(f(point))
        flat_point[i] = original - h
        minus = float(f(point))
        flat_point[i] = original
        flat_grad[i] = (plus - minus) / (2 * h)
    return grad


def relative_error(analytic, numerical) -> float:
    """||a - n|| / (||a|| + ||n||), with Euclidean norms over all elements.

    0 for a perfect match, 1 when the two point in opposite directions. Measured over the whole
    array rather than element by element, so that an element that is nearly zero (where rounding
    error is as large as the value itself) cannot fail a correct gradient, while any real mistake
    (a missing factor, a wrong sign, a wrong mask) still shows as an error far above 1e-7.
    """
    a = np.asarray(analytic, dtype=np.float64)
    n = np.asarray(numerical, dtype=np.float64)
    return float(np.linalg.norm(a - n) / max(np.linalg.norm(a) + np.linalg.norm(n), DENOMINATOR_FLOOR))


@dataclass
class GradientCheck:
    """The outcome of check_gradient; truthy when the check passed."""

    passed: bool
    relative_error: float
    worst_index: tuple  # the element where analytic and numerical differ most
    analytic_value: float
    numerical_value: float
    tolerance: float
    problem: str = ""

    def __bool__(self) -> bool:
        return self.passed

    def __str__(self) -> str:
        if self.problem:
            return f"failed: {self.problem}"
        verdict = "passed" if self.passed else "failed"
        return (
            f"{verdict}: relative error {self.relative_error:.3g} (tolerance {self.tolerance:g}); "
            f"largest difference at index {self.worst_index}: analytic {self.analytic_value:.10g}, "
            f"numerical {self.numerical_value:.10g}"
        )


def check_gradient(f, x, analytic, *, h: float = DEFAULT_H, tolerance: float = DEFAULT_TOLERANCE,
                   numerical=None) -> GradientCheck:
    """Compare an analytic gradient with the central-difference gradient of f at x.

    Args:
        f: scalar function of one array (see numerical_gradient).
        x: the point, an array.
        analytic: your gradient of f at x, same shape as x.
        numerical: the numerical gradient if already computed (saves recomputing it).

    Returns:
        GradientCheck: passed when relative_error(analytic, numerical) is below tolerance;
        str() of it names the element where the two differ most, with both values.
    """
    x = np.asarray(x)
    analytic_arr = np.asarray(analytic)
    nan = float("nan")
    if analytic_arr.shape != x.shape:
        return GradientCheck(False, nan, (), nan, nan, tolerance,
                             problem=f"the analytic gradient has shape {analytic_arr.shape}, "
                                     f"but x has shape {x.shape}")
    if numerical is None:
        numerical = numerical_gradient(f, x, h)
    numerical = np.asarray(numerical, dtype=np.float64)
    analytic64 = analytic_arr.astype(np.float64)
    if not np.all(np.isfinite(analytic64)):
        index = tuple(int(i) for i in np.argwhere(~np.isfinite(analytic64))[0])
        return GradientCheck(False, nan, index, float(analytic64[index]), float(numerical[index]), tolerance,
                             problem=f"the analytic gradient is not finite at index {index}")
    if x.size == 0:
        return GradientCheck(True, 0.0, (), 0.0, 0.0, tolerance)
    error = relative_error(analytic64, numerical)
    index = np.unravel_index(int(np.argmax(np.abs(analytic64 - numerical))), x.shape)
    return GradientCheck(
        passed=error < tolerance,
        relative_error=error,
        worst_index=tuple(int(i) for i in index),
        analytic_value=float(analytic64[index]),
        numerical_value=float(numerical[index]),
        tolerance=tolerance,
    )
