"""Stage 5: backpropagation. Tasks: dense_forward, dense_backward, forward, backward.

The network: probs = softmax(relu(X W1 + b1) W2 + b2), loss = mean cross-entropy.
Every gradient is checked against central differences of an independent implementation of the
loss written here, so a mistake in the forward pass cannot hide one in the backward pass.
"""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from checker.gradcheck import check_gradient
from checker.teach import (check_close, check_dtype, check_shape, check_unchanged, fail, learner_function,
                           returned_array, show)

dense_forward = learner_function("backprop", "dense_forward")
dense_backward = learner_function("backprop", "dense_backward")
forward = learner_function("backprop", "forward")
backward = learner_function("backprop", "backward")

PARAM_KEYS = ("W1", "b1", "W2", "b2")
DENSE_GRADIENTS = ("dx = dout W^T (N, fan_in); dW = x^T dout (fan_in, fan_out); db = the sum of dout's rows "
                   "(fan_out,): b was added to every row, so its gradient sums over them.")
CHAIN = ("Go backwards one step at a time, as in the module's docstring: the gradient of the logits (stage 4), "
         "the second dense layer, ReLU (stage 2), the first dense layer; check each step against backward()'s "
         "worked example.")


# An independent implementation of the network, the referee for every test below ---------------

def reference_forward(params, X):
    z1 = X @ params["W1"] + params["b1"]
    z2 = np.maximum(z1, 0.0) @ params["W2"] + params["b2"]
    e = np.exp(z2 - z2.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True), z1


def reference_loss(params, X, targets):
    """Mean cross-entropy, computed from the logits with log-sum-exp."""
    z1 = X @ params["W1"] + params["b1"]
    z2 = np.maximum(z1, 0.0) @ params["W2"] + params["b2"]
    m = z2.max(axis=1, keepdims=True)
    log_probs = z2 - m - np.log(np.exp(z2 - m).sum(axis=1, keepdims=True))
    return float(-np.sum(targets * log_probs) / X.shape[0])


def make_network(seed, n=4, d=5, h=7, c=3, dtype=np.float64):
    """A small random network and batch with every hidden pre-activation at least 0.05 from ReLU's kink,
    and each hidden unit active for some examples and not others where possible."""
    rng = np.random.default_rng(seed)
    while True:
        params = {"W1": rng.standard_normal((d, h)), "b1": rng.standard_normal(h) * 0.5,
                  "W2": rng.standard_normal((h, c)), "b2": rng.standard_normal(c) * 0.5}
        X = rng.standard_normal((n, d))
        z1 = X @ params["W1"] + params["b1"]
        if np.abs(z1).min() > 0.05 and (z1 > 0).any() and (z1 < 0).any():
            break
    targets = np.eye(c)[rng.integers(0, c, n)]
    cast = {k: v.astype(dtype) for k, v in params.items()}
    return cast, X.astype(dtype), targets.astype(dtype)


def copies(arrays):
    return {k: v.copy() for k, v in arrays.items()}


# Task 1: dense_forward -------------------------------------------------------------------------

def run_dense_forward(x, W, b):
    given_ = {"x": x, "W": W, "b": b}
    originals = copies(given_)
    out = returned_array(dense_forward(x, W, b), "dense_forward", given=given_)
    check_unchanged(originals, given_, "dense_forward")
    check_shape(out, (x.shape[0], W.shape[1]), "dense_forward", given=given_,
                hint="a matrix product of (N, fan_in) and (fan_in, fan_out) gives (N, fan_out); then add b to every row.")
    return out


def test_dense_forward_worked_example():
    x = np.array([[1.0, 2.0]])
    W = np.array([[1.0, 0.0, 2.0], [0.0, 1.0, 0.5]])
    b = np.array([0.0, 0.0, 1.0])
    out = run_dense_forward(x, W, b)
    hint = "out = x W + b: the matrix product, then the bias added to every row."
    if np.allclose(out, x @ W):
        hint = "the bias is missing: " + hint
    check_close(out, [[1.0, 2.0, 4.0]], problem="x W + b is wrong", given={"x": x, "W": W, "b": b}, hint=hint)


@st.composite
def dense_layers(draw):
    n, fan_in, fan_out = draw(st.integers(1, 5)), draw(st.integers(1, 6)), draw(st.integers(1, 6))
    floats = st.floats(-5, 5, allow_subnormal=False)
    return (draw(hnp.arrays(np.float64, (n, fan_in), elements=floats)),
            draw(hnp.arrays(np.float64, (fan_in, fan_out), elements=floats)),
            draw(hnp.arrays(np.float64, fan_out, elements=floats)))


@given(dense_layers())
def test_dense_forward_is_x_times_W_plus_b(layer):
    x, W, b = layer
    check_close(run_dense_forward(x, W, b), x @ W + b, problem="dense_forward(x, W, b) must be x W + b",
                given={"x": x, "W": W, "b": b},
                hint="use the matrix product (not the elementwise one) and add b to every row.", atol=1e-9)


def test_dense_forward_keeps_float32():
    x, W, b = (np.ones((2, 3), np.float32), np.ones((3, 4), np.float32), np.zeros(4, np.float32))
    check_dtype(run_dense_forward(x, W, b), np.float32, "dense_forward", given={"x": x, "W": W, "b": b})


# Task 2: dense_backward -------------------------------------------------------------------------

def run_dense_backward(dout, x, W):
    given_ = {"dout": dout, "x": x, "W": W}
    originals = copies(given_)
    result = dense_backward(dout, x, W)
    check_unchanged(originals, given_, "dense_backward")
    if not isinstance(result, tuple) or len(result) != 3:
        fail(f"dense_backward must return a tuple (dx, dW, db); it returned {type(result).__name__} {show(result)}.",
             given=given_, hint="return dx, dW, db")
    dx, dW, db = (returned_array(g, f"dense_backward's {name}", given=given_)
                  for g, name in zip(result, ("dx", "dW", "db")))
    for grad, name, shape, of in ((dx, "dx", x.shape, "x"), (dW, "dW", W.shape, "W"), (db, "db", (W.shape[1],), "b")):
        hint = f"a gradient has the shape of what it is the gradient of: {name} like {of}. " + DENSE_GRADIENTS
        if grad.shape == dout.shape and name == "db":
            hint = "db has dout's shape: the rows of dout (one per example) must be summed into one row. " + hint
        elif len(shape) == 2 and grad.shape == shape[::-1] and shape[0] != shape[1]:
            hint = f"{name} has the shape of {of} transposed: check the order of the factors. " + hint
        check_shape(grad, shape, f"dense_backward's {name}", given=given_, hint=hint)
    return dx, dW, db


def diagnose_db(db, dout) -> str:
    n = dout.shape[0]
    if n > 1 and np.allclose(db * n, dout.sum(axis=0)):
        return f"db is N = {n} times too small: you averaged dout over the batch; the bias gradient is a sum. " + DENSE_GRADIENTS
    return DENSE_GRADIENTS


def test_dense_backward_worked_example():
    dout = np.array([[1.0, -1.0], [2.0, 0.0]])
    x = np.array([[1.0], [3.0]])
    W = np.array([[2.0, 5.0]])
    dx, dW, db = run_dense_backward(dout, x, W)
    given_ = {"dout": dout, "x": x, "W": W}
    check_close(dx, [[-3.0], [4.0]], problem="dx must be dout W^T", given=given_, hint=DENSE_GRADIENTS)
    check_close(dW, [[7.0, -1.0]], problem="dW must be x^T dout", given=given_, hint=DENSE_GRADIENTS)
    check_close(db, [3.0, -1.0], problem="db must sum dout over the batch (rows), not average it",
                given=given_, hint=diagnose_db(db, dout))


@pytest.mark.parametrize("shape", [(4, 3, 5), (1, 6, 2), (3, 3, 3)], ids=lambda s: "N,fan_in,fan_out=%d,%d,%d" % s)
def test_dense_backward_passes_numerical_gradient_checks(shape):
    n, fan_in, fan_out = shape
    rng = np.random.default_rng(n * 100 + fan_in * 10 + fan_out)
    x, W, b = rng.standard_normal((n, fan_in)), rng.standard_normal((fan_in, fan_out)), rng.standard_normal(fan_out)
    dout = rng.standard_normal((n, fan_out))
    dx, dW, db = run_dense_backward(dout, x, W)
    given_ = {"dout": dout, "x": x, "W": W}
    checks = [
        ("dx", lambda v: np.sum((v @ W + b) * dout), x, dx),
        ("dW", lambda v: np.sum((x @ v + b) * dout), W, dW),
        ("db", lambda v: np.sum((x @ W + v) * dout), b, db),
    ]
    for name, f, point, analytic in checks:
        result = check_gradient(f, point, analytic)
        if not result:
            fail(f"dense_backward's {name} is not the gradient of sum((x W + b) * dout): numerical gradient "
                 f"check {result}.", given=given_, got=analytic,
                 hint=diagnose_db(db, dout) if name == "db" else DENSE_GRADIENTS)


def test_dense_backward_keeps_float32():
    dout, x, W = np.ones((2, 4), np.float32), np.ones((2, 3), np.float32), np.ones((3, 4), np.float32)
    for grad, name in zip(run_dense_backward(dout, x, W), ("dx", "dW", "db")):
        check_dtype(grad, np.float32, f"dense_backward's {name}", given={"dout": dout, "x": x, "W": W})


# Task 3: forward ----------------------------------------------------------------------------------

def run_forward(params, X):
    originals = copies({**params, "X": X})
    result = forward(params, X)
    check_unchanged(originals, {**params, "X": X}, "forward")
    if not isinstance(result, tuple) or len(result) != 2:
        if isinstance(result, (list, tuple)):
            what = f"a {type(result).__name__} of {len(result)}"
        else:
            what = type(result).__name__
        fail(f"forward must return a tuple (probs, cache); it returned {what}.",
             hint="return probs, cache (the comma makes the tuple): the training loop and backward() need both.")
    probs = returned_array(result[0], "forward's probs")
    check_shape(probs, (X.shape[0], params["W2"].shape[1]), "forward's probs", given={"X": X},
                hint="probs has one row per example and one column per class: (N, C).")
    return probs, result[1]


def test_forward_worked_example():
    params = {"W1": np.array([[1.0, -1.0]]), "b1": np.zeros(2), "W2": np.eye(2), "b2": np.zeros(2)}
    X = np.array([[2.0]])
    probs, _ = run_forward(params, X)
    check_close(probs, [[0.8807970779778823, 0.11920292202211755]],
                problem="for z1 = [[2, -2]], h = [[2, 0]], z2 = [[2, 0]], probs must be softmax([2, 0]) = [[0.881, 0.119]]",
                given={"X": X, **params},
                hint="follow the network of the docstring layer by layer, and return the probabilities "
                     "softmax(z2), not the logits z2.")


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_forward_matches_an_independent_implementation(seed):
    params, X, _ = make_network(seed)
    probs, _ = run_forward(params, X)
    expected, _ = reference_forward(params, X)
    check_close(probs, expected, problem="forward's probs differ from softmax(relu(X W1 + b1) W2 + b2)",
                given={"X": X}, hint="apply ReLU to the hidden layer only, and softmax to the output.", rtol=1e-6)


def test_forward_handles_large_logits():
    params, X, _ = make_network(8)
    _, z1 = reference_forward(params, X)
    z2 = np.maximum(z1, 0.0) @ params["W2"] + params["b2"]
    scale = 1000.0 / np.abs(z2).max()  # logits up to 1000, as a network that is far too confident produces
    params = {**params, "W2": params["W2"] * scale, "b2": params["b2"] * scale}
    with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
        probs, _ = run_forward(params, X)
    expected, _ = reference_forward(params, X)
    hint = ("compute the probabilities with your softmax from stage 3 (the module imports it), which subtracts "
            "each row's maximum; exp of a logit near 1000 is inf, and inf / inf is nan.")
    if not np.all(np.isfinite(probs)):
        fail("forward's probs are nan or inf for logits up to 1000.", given={"X": X}, got=probs, hint=hint)
    check_close(probs, expected, problem="forward's probs are wrong for logits up to 1000", given={"X": X},
                hint=hint, rtol=1e-6, atol=1e-12)


def test_forward_keeps_float32():
    params, X, _ = make_network(3, dtype=np.float32)
    probs, _ = run_forward(params, X)
    check_dtype(probs, np.float32, "forward", given={"X": X})


def gradients_with(params, X, targets, mask_from="z1", second_input="h", mean=True):
    """The gradients an independent backward pass gets, optionally with one of the usual mistakes."""
    probs, z1 = reference_forward(params, X)
    h = np.maximum(z1, 0.0)
    dz2 = (probs - targets) / (X.shape[0] if mean else 1)
    dW2 = (h if second_input == "h" else z1).T @ dz2
    dh = dz2 @ params["W2"].T
    dz1 = dh * (z1 > 0) if mask_from == "z1" else dh * (dh > 0) if mask_from == "dh" else dh
    return {"W1": X.T @ dz1, "b1": dz1.sum(axis=0), "W2": dW2, "b2": dz2.sum(axis=0)}


def diagnose_backward(grads, params, X, targets) -> str:
    """Which step of the backward pass went wrong, when the gradients tell; else the general advice."""
    def matches(expected, keys=PARAM_KEYS):
        return all(np.shape(grads[k]) == np.shape(expected[k]) and np.allclose(grads[k], expected[k], rtol=1e-5, atol=1e-9)
                   for k in keys)

    right = gradients_with(params, X, targets)
    n = X.shape[0]
    if matches(gradients_with(params, X, targets, mean=False)):
        return f"your gradient is N = {n} times too large: the loss is a mean, so dz2 = (probs - targets) / N."
    if matches(gradients_with(params, X, targets, second_input="z1"), ("W2",)):
        return ('grads["W2"] used z1, the input of ReLU: the second dense layer\'s input is h = relu(z1), so dW2 = '
                "h^T dz2. " + CHAIN)
    if matches(right, ("W2", "b2")):
        if matches(gradients_with(params, X, targets, mask_from=None), ("W1", "b1")):
            return ("the gradient skipped ReLU on its way back: where z1 <= 0 the units were off, so dz1 must be 0 "
                    "there; pass dh through relu_backward with the forward input z1.")
        if matches(gradients_with(params, X, targets, mask_from="dh"), ("W1", "b1")):
            return ("the ReLU mask was taken from dh, the gradient; whether a unit was on is decided by z1, the "
                    "input ReLU saw in the forward pass.")
        return ('grads["W2"] and grads["b2"] are right, so the mistake is after them: in the step back through ReLU '
                "or in the first dense layer. " + CHAIN)
    return CHAIN


# Task 4: backward ---------------------------------------------------------------------------------

def run_backward(params, X, targets):
    probs, cache = run_forward(params, X)
    originals = copies({**params, "targets": targets})
    grads = backward(params, cache, targets)
    check_unchanged(originals, {**params, "targets": targets}, "backward")
    if not isinstance(grads, dict):
        fail(f"backward must return a dict of gradients, got {type(grads).__name__}.",
             hint="a dict with the keys W1, b1, W2, b2, each holding the gradient of that parameter.")
    if set(grads) != set(PARAM_KEYS):
        fail(f"backward must return exactly the keys W1, b1, W2, b2; got {sorted(grads)}.",
             hint='the gradient of params["W1"] goes in grads["W1"], and so on.')
    for key in PARAM_KEYS:
        grad = returned_array(grads[key], f'backward\'s grads["{key}"]')
        check_shape(grad, params[key].shape, f'backward\'s grads["{key}"]',
                    hint=f"a gradient has the shape of its parameter: {key} is {params[key].shape}. " + CHAIN)
    return grads


def test_backward_worked_example():
    params = {"W1": np.array([[1.0, -1.0]]), "b1": np.zeros(2), "W2": np.eye(2), "b2": np.zeros(2)}
    X, targets = np.array([[2.0]]), np.array([[0.0, 1.0]])
    grads = run_backward(params, X, targets)
    p = 0.8807970779778823
    expected = {"W2": [[2 * p, -2 * p], [0.0, 0.0]], "b2": [p, -p], "W1": [[2 * p, 0.0]], "b1": [p, 0.0]}
    for key in ("W2", "b2", "W1", "b1"):  # in the order backpropagation computes them
        check_close(grads[key], expected[key], problem=f'grads["{key}"] is wrong for the docstring\'s example',
                    given={"X": X, "targets": targets, **params}, hint=diagnose_backward(grads, params, X, targets))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_backward_passes_numerical_gradient_checks_for_every_parameter(seed):
    params, X, targets = make_network(seed)
    grads = run_backward(params, X, targets)
    for key in ("W2", "b2", "W1", "b1"):
        def loss_at(value, key=key):
            return reference_loss({**params, key: value}, X, targets)

        result = check_gradient(loss_at, params[key], grads[key])
        if not result:
            hint = diagnose_backward(grads, params, X, targets)
            analytic, numerical = result.analytic_value, result.numerical_value
            if numerical and abs(analytic / numerical - X.shape[0]) < 1e-3:
                hint = f"your gradient is N = {X.shape[0]} times too large: the loss is a mean, so dz2 = (probs - targets) / N."
            fail(f'backward\'s grads["{key}"] is not the gradient of the mean cross-entropy: numerical gradient '
                 f"check {result}.", given={"X": X, "targets": targets}, got=grads[key], hint=hint)


def test_backward_with_a_bigger_batch_divides_by_n():
    params, X, targets = make_network(7, n=16, d=3, h=4, c=5)
    grads = run_backward(params, X, targets)
    result = check_gradient(lambda v: reference_loss({**params, "b2": v}, X, targets), params["b2"], grads["b2"])
    if not result:
        fail(f'grads["b2"] for a batch of 16 is wrong: {result}.', given={"targets": targets}, got=grads["b2"],
             hint="the loss is the mean over the batch: dz2 = (probs - targets) / N, and db2 sums dz2 over the rows.")


def test_backward_keeps_float32():
    params, X, targets = make_network(5, dtype=np.float32)
    grads = run_backward(params, X, targets)
    for key in PARAM_KEYS:
        check_dtype(np.asarray(grads[key]), np.float32, f'backward\'s grads["{key}"]', given={"X": X})
