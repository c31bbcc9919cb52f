"""Stage 8: L2 regularisation. Tasks: l2_penalty(params, weight_decay), then l2_gradient(params, grads, weight_decay).

penalty = 0.5 * weight_decay * the sum of squares of every array whose key starts with "W";
its gradient, weight_decay * W, is added to the gradients of the "W" keys only.
The gradient is checked against central differences of an independent penalty written here.
"""

import math
from functools import partial

import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from checker.gradcheck import check_gradient
from checker import teach
from checker.teach import check_close, check_dtype, check_shape, check_unchanged, fail, learner_function

l2_penalty = learner_function("regularization", "l2_penalty")
l2_gradient = learner_function("regularization", "l2_gradient")

WEIGHTS_ONLY = ('Only the weight matrices are penalised: the keys that start with "W" (W1, W2, W3, ...). '
                "Biases (b1, b2) and any other keys are left out.")
FORMULA = "The penalty is 0.5 * lambda * (sum of the squares of every element of every W array); the 0.5 is part of it."
GRADIENT = ("The derivative d/dW of 0.5 * lambda * W^2 is lambda * W: the 0.5 cancels the 2 of the square. "
            "Add lambda * params[k] to grads[k] for the W keys; keep grads[k] as it is for the others.")
VALIDATE = ("check weight_decay first: it must be a finite number >= 0 (np.isfinite); otherwise raise ValueError "
            "naming the value, e.g. f'weight_decay must be a finite number >= 0, got {weight_decay!r}'.")
# Every bad-input test of this stage ends with the same advice.
expect_value_error = partial(teach.expect_value_error, hint=VALIDATE)
NEW_DICT = ("build and return a new dict; grads[k] += ... or grads[k] = ... changes the caller's gradients "
            "(the training loop may still use them for its plots).")


def reference_penalty(params, weight_decay):
    """An independent penalty, in float64: 0.5 * lambda * sum of squares of the W arrays."""
    return 0.5 * weight_decay * sum(float(np.sum(np.asarray(v, np.float64) ** 2))
                                    for k, v in params.items() if k.startswith("W"))


def copies(arrays):
    return {k: v.copy() for k, v in arrays.items()}


def described(params, prefix="params"):
    return {f"{prefix}[{k!r}]": v for k, v in params.items()}


def run_l2_penalty(params, weight_decay):
    """Call the learner's l2_penalty; check it returns a Python float and leaves params alone."""
    before = copies(params)
    given_ = {**described(params), "weight_decay": weight_decay}
    result = l2_penalty(params, weight_decay)
    check_unchanged(before, params, "l2_penalty")
    if not isinstance(result, float):
        kind = f"a NumPy {result.dtype} {'array' if isinstance(result, np.ndarray) else 'scalar'}" \
            if isinstance(result, (np.ndarray, np.generic)) else type(result).__name__
        fail(f"l2_penalty must return a Python float (isinstance(result, float)); it returned {kind}.",
             given=given_, got=result,
             hint="the loss it is added to is a Python float, and a NumPy float32 scalar is not one: "
                  "convert the total with float(...)." if result is not None else "did you forget the return statement?")
    return result


def run_l2_gradient(params, grads, weight_decay):
    """Call the learner's l2_gradient; check it returns a new dict with grads' keys and shapes, inputs untouched."""
    params_before, grads_before = copies(params), copies(grads)
    given_ = {**described(params), **described(grads, "grads"), "weight_decay": weight_decay}
    result = l2_gradient(params, grads, weight_decay)
    check_unchanged(params_before, params, "l2_gradient")
    for key in grads:
        if not np.array_equal(grads_before[key], grads[key], equal_nan=True):
            fail(f"l2_gradient modified grads[{key!r}]: no function of the kata may change its arguments.",
                 given={f"grads[{key!r}] before": grads_before[key]}, got=grads[key], hint=NEW_DICT)
    if not isinstance(result, dict):
        fail(f"l2_gradient must return a dict of gradients; it returned {type(result).__name__}.", given=given_,
             got=result, hint="did you forget the return statement?" if result is None else NEW_DICT)
    if result is grads:
        fail("l2_gradient returned the grads dict it was given: it must return a new dict.", given=given_, hint=NEW_DICT)
    if set(result) != set(grads):
        fail(f"l2_gradient must return a dict with the keys of grads {sorted(grads)}; it returned the keys "
             f"{sorted(result)}.", given=given_,
             hint="every key of grads appears in the result: the W keys with the penalty's gradient added, "
                  "the others (biases) unchanged.")
    for key in grads:
        if not isinstance(result[key], np.ndarray):
            fail(f"l2_gradient's result[{key!r}] must be a NumPy array; it is {type(result[key]).__name__}.",
                 given=given_, got=result[key])
        check_shape(result[key], grads[key].shape, f"l2_gradient (key {key!r})", given=given_,
                    hint="each gradient keeps the shape of its parameter.")
    return result




def small_network(dtype=np.float64):
    return {"W1": np.array([[1.0, 2.0], [0.0, -1.0]], dtype), "b1": np.array([5.0, 5.0], dtype),
            "W2": np.array([[3.0], [-2.0]], dtype), "b2": np.array([7.0], dtype)}


parameter_dicts = st.dictionaries(
    st.sampled_from(["W1", "b1", "W2", "b2", "W3", "b3", "gamma1", "beta1"]),
    hnp.arrays(np.float64, hnp.array_shapes(max_dims=2, max_side=4), elements=st.floats(-10, 10)),
    min_size=1,
)
weight_decays = st.floats(0.0, 1.0)
BAD_WEIGHT_DECAYS = [(-0.1, "-0.1", "a negative weight_decay"), (math.nan, "nan", "weight_decay = nan"),
                     (math.inf, "inf", "weight_decay = inf")]


# Task 1: l2_penalty ----------------------------------------------------------------------------

def test_l2_penalty_worked_example():
    params = small_network()
    got = run_l2_penalty(params, 0.1)
    expected = 0.5 * 0.1 * (1 + 4 + 0 + 1 + 9 + 4)  # W1 and W2 only: 0.95
    if not math.isclose(got, expected, rel_tol=1e-9):
        with_biases = 0.5 * 0.1 * (19 + 25 + 25 + 49)
        diagnosis = {
            2 * expected: "It is twice too large: the factor 0.5 is missing.",
            with_biases: "It includes the biases b1 and b2, which are not penalised.",
            2 * with_biases: "It includes the biases, and the factor 0.5 is missing.",
            expected / 0.1: "The factor weight_decay (lambda) is missing.",
        }
        reason = next((text for value, text in diagnosis.items() if math.isclose(got, value, rel_tol=1e-6)), "")
        fail(f"l2_penalty(params, 0.1) must be 0.5 * 0.1 * (1 + 4 + 0 + 1 + 9 + 4) = 0.95 (W1 and W2 only). {reason}",
             given={**described(params), "weight_decay": 0.1}, got=got, expected=expected,
             hint=WEIGHTS_ONLY + " " + FORMULA)


def test_l2_penalty_of_zero_weight_decay_is_zero():
    got = run_l2_penalty(small_network(), 0.0)
    if got != 0.0:
        fail("l2_penalty with weight_decay = 0 must be 0.0: no regularisation.", got=got, hint=FORMULA)


def test_l2_penalty_leaves_out_biases_and_other_keys():
    params = {"b1": np.array([3.0, -4.0]), "gamma1": np.array([1.0, 1.0]), "beta1": np.array([0.5])}
    got = run_l2_penalty(params, 0.5)
    if not math.isclose(got, 0.0, abs_tol=1e-12):
        fail("l2_penalty of a dict without W keys must be 0.0: biases, gamma and beta are not penalised.",
             given=described(params), got=got, expected=0.0, hint=WEIGHTS_ONLY)


@given(parameter_dicts, weight_decays)
def test_l2_penalty_matches_the_formula_for_any_weights(params, weight_decay):
    got = run_l2_penalty(params, weight_decay)
    expected = reference_penalty(params, weight_decay)
    if not math.isclose(got, expected, rel_tol=1e-9, abs_tol=1e-12):
        fail(f"l2_penalty differs from 0.5 * weight_decay * sum of squares of every W array (keys {sorted(params)}).",
             given={**described(params), "weight_decay": weight_decay}, got=got, expected=expected,
             hint=WEIGHTS_ONLY + " Every W key counts, not only W1 and W2: deeper networks have W3, W4, ...")


def test_l2_penalty_returns_a_python_float_for_float32_weights():
    params = small_network(np.float32)
    got = run_l2_penalty(params, 0.1)
    check_close(got, 0.95, problem="l2_penalty of float32 weights is wrong", given=described(params),
                hint=FORMULA, rtol=1e-6)


def test_l2_penalty_rejects_a_bad_weight_decay():
    params = small_network()
    for value, offending, what in BAD_WEIGHT_DECAYS:
        expect_value_error(lambda: l2_penalty(params, value), "l2_penalty", what, offending,
                           {"weight_decay": value})


def test_l2_penalty_does_not_modify_params():
    run_l2_penalty(small_network(), 0.3)  # checks params afterwards


# Task 2: l2_gradient ---------------------------------------------------------------------------

def test_l2_gradient_worked_example():
    params = small_network()
    grads = {k: np.full_like(v, 0.5) for k, v in params.items()}
    result = run_l2_gradient(params, grads, 0.1)
    expected = {"W1": [[0.6, 0.7], [0.5, 0.4]], "b1": [0.5, 0.5], "W2": [[0.8], [0.3]], "b2": [0.5]}
    for key in ("b1", "b2"):
        check_close(result[key], expected[key], given={f"params[{key!r}]": params[key], f"grads[{key!r}]": grads[key]},
                    problem=f"l2_gradient must leave the bias gradient grads[{key!r}] as it is", hint=WEIGHTS_ONLY)
    for key in ("W1", "W2"):
        got = result[key] - grads[key]
        twice = np.allclose(got, 2 * 0.1 * params[key])
        check_close(result[key], expected[key], given={f"params[{key!r}]": params[key], f"grads[{key!r}]": grads[key],
                                                        "weight_decay": 0.1},
                    problem=f"l2_gradient[{key!r}] must be grads[{key!r}] + 0.1 * params[{key!r}]"
                            + (": the penalty's part is twice too large" if twice else ""),
                    hint=GRADIENT)


def test_l2_gradient_is_the_gradient_of_the_penalty():
    rng = np.random.default_rng(8)
    params = {"W1": rng.standard_normal((4, 3)), "b1": rng.standard_normal(3),
              "W2": rng.standard_normal((3, 2)), "b2": rng.standard_normal(2)}
    zeros = {k: np.zeros_like(v) for k, v in params.items()}
    weight_decay = 0.3
    result = run_l2_gradient(params, zeros, weight_decay)
    for key in params:
        def penalty_of(value, key=key):
            return reference_penalty({**params, key: value}, weight_decay)
        check = check_gradient(penalty_of, params[key], result[key])
        if not check:
            fail(f"with zero data gradients, l2_gradient[{key!r}] must be the gradient of the penalty "
                 f"0.5 * lambda * sum(W^2) with respect to params[{key!r}]: numerical gradient check {check}.",
                 given={f"params[{key!r}]": params[key], "weight_decay": weight_decay}, got=result[key],
                 hint=GRADIENT if key.startswith("W") else WEIGHTS_ONLY)


@given(parameter_dicts, weight_decays, st.data())
def test_l2_gradient_adds_the_penalty_gradient_to_the_weights_only(params, weight_decay, data):
    grads = {k: data.draw(hnp.arrays(np.float64, v.shape, elements=st.floats(-10, 10)), label=f"grads[{k!r}]")
             for k, v in params.items()}
    result = run_l2_gradient(params, grads, weight_decay)
    for key in params:
        expected = grads[key] + weight_decay * params[key] if key.startswith("W") else grads[key]
        check_close(result[key], expected, rtol=1e-9, atol=1e-12,
                    problem=f"l2_gradient[{key!r}] must be "
                            + (f"grads[{key!r}] + weight_decay * params[{key!r}]" if key.startswith("W")
                               else f"grads[{key!r}] unchanged ({key} is not a weight matrix)"),
                    given={f"params[{key!r}]": params[key], f"grads[{key!r}]": grads[key], "weight_decay": weight_decay},
                    hint=(GRADIENT if key.startswith("W") else WEIGHTS_ONLY))


def test_l2_gradient_of_zero_weight_decay_gives_the_gradients_back():
    params = small_network()
    grads = {k: np.full_like(v, -1.5) for k, v in params.items()}
    result = run_l2_gradient(params, grads, 0.0)
    for key in grads:
        check_close(result[key], grads[key], problem=f"with weight_decay = 0, l2_gradient[{key!r}] must equal grads[{key!r}]",
                    hint=GRADIENT)


def test_l2_gradient_keeps_float32():
    params = small_network(np.float32)
    grads = {k: np.ones_like(v) for k, v in params.items()}
    result = run_l2_gradient(params, grads, 1e-3)
    for key in grads:
        check_dtype(result[key], np.float32, f"l2_gradient (key {key!r})", given={f"grads[{key!r}]": grads[key]})
        check_close(result[key], grads[key] + (1e-3 * params[key] if key.startswith("W") else 0),
                    problem=f"l2_gradient[{key!r}] in float32 is wrong", hint=GRADIENT, rtol=1e-5)


def test_l2_gradient_keeps_float64():
    params = small_network(np.float64)
    result = run_l2_gradient(params, {k: np.ones_like(v) for k, v in params.items()}, 1e-3)
    for key in params:
        check_dtype(result[key], np.float64, f"l2_gradient (key {key!r})")


def test_l2_gradient_keeps_the_gradients_dtype_whatever_the_weights_dtype():
    # Weights kept in float64 while the network computes its gradients in float32, and the other way round.
    for params_dtype, grads_dtype in ((np.float64, np.float32), (np.float32, np.float64)):
        params = small_network(params_dtype)
        grads = {k: np.full(v.shape, 0.5, dtype=grads_dtype) for k, v in params.items()}
        result = run_l2_gradient(params, grads, 0.1)
        for key in grads:
            given_ = {f"params[{key!r}]": params[key], f"grads[{key!r}]": grads[key], "weight_decay": 0.1}
            got = np.dtype(result[key].dtype)
            if got != np.dtype(grads_dtype):
                promoted = got == np.result_type(params_dtype, grads_dtype)
                fail(f"l2_gradient must return each gradient in the gradients' dtype: grads[{key!r}] is "
                     f"{np.dtype(grads_dtype)} and params[{key!r}] {np.dtype(params_dtype)}, so result[{key!r}] must "
                     f"be {np.dtype(grads_dtype)}; yours is {got}."
                     + (" NumPy gives float32 combined with float64 a float64 result: adding the penalty's part, "
                        "computed from the weights, promoted the gradient." if promoted else ""),
                     given=given_,
                     hint="the gradient keeps the dtype the network computes in, whatever dtype the weights are "
                          "stored in: convert the penalty's part, weight_decay * params[k], to grads[k]'s dtype "
                          "before adding it (the biases' gradients pass through unchanged).")
            check_close(result[key], grads[key].astype(np.float64) + (0.1 * params[key].astype(np.float64)
                                                                     if key.startswith("W") else 0.0),
                        problem=f"l2_gradient[{key!r}] with {np.dtype(params_dtype)} weights and "
                                f"{np.dtype(grads_dtype)} gradients is wrong", given=given_, hint=GRADIENT, rtol=1e-6)


def test_l2_gradient_rejects_a_bad_weight_decay():
    params = small_network()
    grads = {k: np.ones_like(v) for k, v in params.items()}
    for value, offending, what in BAD_WEIGHT_DECAYS:
        expect_value_error(lambda: l2_gradient(params, grads, value), "l2_gradient", what, offending,
                           {"weight_decay": value})


def test_l2_gradient_does_not_modify_params_or_grads():
    params = small_network()
    grads = {k: np.full_like(v, 0.25) for k, v in params.items()}
    run_l2_gradient(params, grads, 0.5)  # checks both dicts afterwards
