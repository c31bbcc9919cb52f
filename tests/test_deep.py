"""Stage 11: a network of any depth. Tasks: deep_forward, deep_backward.

a0 = X; z_l = a_{l-1} W_l + b_l; for l < L: a_l = relu(z_l), then dropout_forward(a_l, p_drop, rng)
if p_drop > 0; probs = softmax(z_L). The gradients are checked against central differences of an
independent implementation written here.

Dropout is random, and how your dropout_forward draws is your business. These tests rely only on
the contract: deep_forward calls dropout_forward(a_l, p_drop, rng) once per hidden layer, in order
l = 1 .. L-1, and the same generator state gives the same mask. So a generator seeded alike, given
to your dropout_forward layer by layer here, yields the very masks your deep_forward used.
"""

import numpy as np
import pytest

from checker.gradcheck import check_gradient
from checker.teach import (check_close, expect_value_error, check_dtype, check_shape, check_unchanged, fail, learner_function,
                           returned_array)

deep_forward = learner_function("deep", "deep_forward")
deep_backward = learner_function("deep", "deep_backward")
dropout_forward = learner_function("dropout", "dropout_forward")  # stage 9, which passes by now
stage5_forward = learner_function("backprop", "forward")

FORWARD = ("a0 = X; for each hidden layer l = 1 .. L-1: z_l = a_{l-1} W_l + b_l, a_l = relu(z_l) (then "
           "dropout_forward(a_l, p_drop, rng) if p_drop > 0); the output layer: probs = softmax(a_{L-1} W_L + b_L), "
           "no ReLU and no dropout.")
BACKWARD = ("dz_L = (probs - targets) / N; for l = L .. 1: (da, dW_l, db_l) = dense_backward(dz_l, a_{l-1}, W_l) "
            "with a_{l-1} the layer's input as the forward pass used it (after dropout); for l > 1: "
            "da = dropout_backward(da, mask_{l-1}) if dropout was on, dz_{l-1} = relu_backward(da, z_{l-1}).")


# An independent implementation, the referee ---------------------------------------------------

def num_layers(params):
    return sum(1 for key in params if key.startswith("W"))


def reference_logits(params, X, masks=None):
    """(z_L, [z_1 .. z_{L-1}]); masks: one per hidden layer, or None for no dropout."""
    a, zs = X, []
    layers = num_layers(params)
    for layer in range(1, layers):
        z = a @ params[f"W{layer}"] + params[f"b{layer}"]
        zs.append(z)
        a = np.maximum(z, 0.0)
        if masks is not None:
            a = a * masks[layer - 1]
    return a @ params[f"W{layers}"] + params[f"b{layers}"], zs


def reference_probs(params, X, masks=None):
    z = reference_logits(params, X, masks)[0]
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def reference_loss(params, X, targets, masks=None):
    z = reference_logits(params, X, masks)[0]
    m = z.max(axis=1, keepdims=True)
    log_probs = z - m - np.log(np.exp(z - m).sum(axis=1, keepdims=True))
    return float(-np.sum(targets * log_probs) / X.shape[0])


def reference_gradients(params, X, targets, masks=None, *, masks_in_backward=True, inputs_after_dropout=True):
    """Every gradient of the mean cross-entropy by backpropagation, written here. With masks, the two ways to get
    dropout wrong can be made on purpose, for the diagnoses: the masks left out of the backward pass
    (masks_in_backward=False), or each layer's input cached before its mask (inputs_after_dropout=False)."""
    layers = num_layers(params)
    a, inputs, zs = X, [X], []
    for layer in range(1, layers):
        z = a @ params[f"W{layer}"] + params[f"b{layer}"]
        zs.append(z)
        a = np.maximum(z, 0.0)
        if masks is None:
            inputs.append(a)
            continue
        inputs.append(a * masks[layer - 1] if inputs_after_dropout else a)
        a = a * masks[layer - 1]
    z = a @ params[f"W{layers}"] + params[f"b{layers}"]
    e = np.exp(z - z.max(axis=1, keepdims=True))
    dz = (e / e.sum(axis=1, keepdims=True) - targets) / X.shape[0]
    grads = {}
    for layer in range(layers, 0, -1):
        grads[f"W{layer}"], grads[f"b{layer}"] = inputs[layer - 1].T @ dz, dz.sum(axis=0)
        if layer > 1:
            da = dz @ params[f"W{layer}"].T
            if masks is not None and masks_in_backward:
                da = da * masks[layer - 2]
            dz = da * (zs[layer - 2] > 0)
    return grads


def dropout_mistake(params, X, targets, masks, grads):
    """Which of the two dropout mistakes (or both) the learner's grads are, as (masks_in_backward,
    inputs_after_dropout); None when the grads are right or are neither."""
    def same(expected):
        return all(np.allclose(np.asarray(grads[k], dtype=np.float64), expected[k], rtol=1e-6, atol=1e-9)
                   for k in params)
    if masks is None or same(reference_gradients(params, X, targets, masks)):
        return None
    for wrong in ((True, False), (False, True), (False, False)):
        if same(reference_gradients(params, X, targets, masks, masks_in_backward=wrong[0],
                                    inputs_after_dropout=wrong[1])):
            return wrong
    return None


CACHED_BEFORE_DROPOUT = (
    "deep_forward caches each hidden layer's input before its dropout mask: deep_backward's weight gradients are "
    "those of a cache holding a_l = relu(z_l), not the masked a_l that the next layer received. The next layer "
    "multiplied the masked activations by its weights, so dW_{l+1} = a_l^T dz_{l+1} needs the masked ones.")
CACHED_BEFORE_DROPOUT_HINT = (
    "in deep_forward, put each layer's input into the cache after dropout_forward has replaced it (the masked "
    "activation, the one the next dense layer multiplies), not before. The masks still go in the cache too, for "
    "the backward pass. (If your cache keeps both activations, deep_backward must take the masked one.)")
MASKS_LEFT_OUT = (
    "deep_backward leaves the dropout masks out of the backward pass: its gradients are those of a network whose "
    "gradient flows back through dropped units as if they had been kept.")
MASKS_LEFT_OUT_HINT = (
    "the forward pass multiplied each hidden activation by its mask, so going back the gradient must be "
    "multiplied by the same mask: da = dropout_backward(da, mask_{l-1}) before relu_backward, for every hidden "
    "layer, with the mask of that layer from the cache.")


def learner_masks(params, X, p_drop, seed):
    """The masks deep_forward(params, X, p_drop, default_rng(seed)) must use: your dropout_forward,
    called once per hidden layer in order with a generator seeded alike."""
    rng = np.random.default_rng(seed)
    a, masks = X, []
    for layer in range(1, num_layers(params)):
        a = np.maximum(a @ params[f"W{layer}"] + params[f"b{layer}"], 0.0)
        a, mask = dropout_forward(a, p_drop, rng)
        masks.append(np.array(mask, dtype=np.float64))
    return masks, rng


def make_network(seed, sizes, n=4, p_drop=0.0, dtype=np.float64):
    """params, X, one-hot targets (and the masks for p_drop > 0) with every hidden pre-activation at
    least 0.05 from ReLU's kink, where the numerical gradient would be meaningless."""
    rng = np.random.default_rng(seed)
    for _ in range(1000):
        params = {}
        for layer, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:]), start=1):
            params[f"W{layer}"] = rng.standard_normal((fan_in, fan_out)) * np.sqrt(2.0 / fan_in)
            params[f"b{layer}"] = rng.standard_normal(fan_out) * 0.3
        X = rng.standard_normal((n, sizes[0]))
        masks = learner_masks(params, X, p_drop, seed)[0] if p_drop > 0 else None
        zs = reference_logits(params, X, masks)[1]
        if all(np.abs(z).min() > 0.05 for z in zs):
            break
    targets = np.eye(sizes[-1])[rng.integers(0, sizes[-1], n)]
    return ({k: v.astype(dtype) for k, v in params.items()}, X.astype(dtype), targets.astype(dtype), masks)


def copies(arrays):
    return {k: v.copy() for k, v in arrays.items()}


def run_forward(params, X, *args, **kwargs):
    originals = copies({**params, "X": X})
    result = deep_forward(params, X, *args, **kwargs)
    check_unchanged(originals, {**params, "X": X}, "deep_forward")
    if not isinstance(result, tuple) or len(result) != 2:
        fail(f"deep_forward must return a pair (probs, cache); it returned {type(result).__name__}.",
             hint="return probs, cache: deep_backward needs the cache.")
    probs = returned_array(result[0], "deep_forward's probs")
    classes = params[f"W{num_layers(params)}"].shape[1]
    check_shape(probs, (X.shape[0], classes), "deep_forward's probs", given={"X": X},
                hint="probs has one row per example and one column per class: (N, C), from the last layer W_L.")
    return probs, result[1]


def arrays_in(value, path="cache", depth=0):
    """(path, array) for every NumPy array in the learner's cache: in dicts, lists and tuples, a few levels deep."""
    if isinstance(value, np.ndarray):
        yield path, value
    elif depth < 4 and isinstance(value, dict):
        for key, item in value.items():
            yield from arrays_in(item, f"{path}[{key!r}]", depth + 1)
    elif depth < 4 and isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            yield from arrays_in(item, f"{path}[{index}]", depth + 1)


IN_PLACE_ON_THE_CACHE = (
    "an in-place operation on an array of the cache (dz = cache[...] and then dz -= targets or dz /= N, or "
    "[...] = ...) changes that array itself: the name dz is only another name for it. Compute dz as a new array "
    "instead (stage 4's softmax_cross_entropy_backward returns one).")


def check_probs_and_cache_unchanged(probs, probs_before, cache_before, targets):
    """deep_backward left alone the probs deep_forward returned and every array of the cache."""
    if not np.array_equal(probs, probs_before, equal_nan=True):
        labels = targets.argmax(axis=1)
        before, after = (float(np.mean(p.argmax(axis=1) == labels)) for p in (probs_before, probs))
        misread = f", and on this batch it would read {after:.0%} instead of {before:.0%}" if after != before else ""
        fail(f"deep_backward changed the probs that deep_forward returned (the cache holds that very array): the "
             f"gradients can still be right, but kata train reads the training accuracy from these probs after the "
             f"backward pass{misread}.",
             shown={"probs before deep_backward": probs_before, "probs after deep_backward": probs},
             hint=IN_PLACE_ON_THE_CACHE)
    for path, (array, original) in cache_before.items():
        if not np.array_equal(array, original, equal_nan=True):
            fail(f"deep_backward changed {path}, an array of the cache deep_forward returned: no function of the "
                 "kata may change its arguments, and the cache is one.",
                 shown={f"{path} before": original, f"{path} after": array}, hint=IN_PLACE_ON_THE_CACHE)


def run_backward(params, cache, targets, probs):
    """Call the learner's deep_backward; check its result's keys and shapes, and that it changed nothing it was
    given: params, targets, the cache, and the probs deep_forward returned with it."""
    originals = copies({**params, "targets": targets})
    probs_before = probs.copy()
    cache_before = {path: (array, array.copy()) for path, array in arrays_in(cache)}
    grads = deep_backward(params, cache, targets)
    check_unchanged(originals, {**params, "targets": targets}, "deep_backward")
    check_probs_and_cache_unchanged(probs, probs_before, cache_before, targets)
    if not isinstance(grads, dict):
        fail(f"deep_backward must return a dict of gradients, got {type(grads).__name__}.",
             hint='return {"W1": dW1, "b1": db1, ..., "WL": dWL, "bL": dbL}')
    missing, extra = sorted(set(params) - set(grads)), sorted(set(grads) - set(params))
    if missing or extra:
        fail(f"deep_backward must return a gradient for every key of params, and only those: "
             f"missing {missing}, unexpected {extra}.",
             hint="the backward loop runs over every layer, l = L down to 1 (range(L, 0, -1)): the first layer "
                  "has weights too, even though the gradient with respect to X is never needed.")
    for key in params:
        grad = returned_array(grads[key], f'deep_backward\'s grads["{key}"]')
        check_shape(grad, params[key].shape, f'deep_backward\'s grads["{key}"]',
                    hint=f"a gradient has the shape of its parameter: {key} is {params[key].shape}.")
    return grads


# Task 1: deep_forward -----------------------------------------------------------------------------

def docstring_network():
    return {"W1": np.array([[1.0, -1.0]]), "b1": np.zeros(2), "W2": np.eye(2), "b2": np.zeros(2),
            "W3": np.array([[1.0, 0.0], [0.0, 0.0]]), "b3": np.zeros(2)}


def test_deep_forward_worked_example():
    params, X = docstring_network(), np.array([[2.0]])
    probs, _ = run_forward(params, X)
    check_close(probs, [[0.8807970779778823, 0.11920292202211755]],
                problem="for three layers, z1 = [2, -2], a1 = [2, 0], z2 = a2 = [2, 0], z3 = [2, 0]: probs must be "
                        "softmax([2, 0]) = [[0.881, 0.119]]", given={"X": X, **params}, hint=FORWARD)


def check_no_relu_on_the_output(probs, params, X, layers):
    z = reference_logits(params, X)[0]
    e = np.exp(np.maximum(z, 0) - np.maximum(z, 0).max(axis=1, keepdims=True))
    if np.allclose(probs, e / e.sum(axis=1, keepdims=True), rtol=1e-6) and (z < 0).any():
        fail(f"deep_forward applies a ReLU to the output layer's logits (L = {layers}): only the hidden layers "
             "l = 1 .. L-1 have a ReLU; the softmax needs the raw logits, negative ones included.",
             given={"X": X}, got=probs, expected=reference_probs(params, X), hint=FORWARD)


def test_deep_forward_equals_stage_5_forward_for_two_layers():
    params, X, _, _ = make_network(1, [5, 6, 3], n=6)
    probs, _ = run_forward(params, X)
    check_no_relu_on_the_output(probs, params, X, 2)
    stage5, _ = stage5_forward(params, X)
    check_close(probs, stage5, problem="with L = 2 and p_drop = 0, deep_forward must equal your stage-5 forward",
                given={"X": X}, hint=FORWARD)
    check_close(probs, reference_probs(params, X), problem="deep_forward's probs for two layers are wrong",
                given={"X": X}, hint=FORWARD)


def test_deep_forward_with_one_layer_is_softmax_regression():
    params, X, _, _ = make_network(2, [4, 3], n=5)
    probs, _ = run_forward(params, X)
    check_no_relu_on_the_output(probs, params, X, 1)
    z = X @ params["W1"] + params["b1"]
    e = np.exp(z - z.max(axis=1, keepdims=True))
    check_close(probs, e / e.sum(axis=1, keepdims=True),
                problem="with L = 1 (only W1, b1) deep_forward is softmax regression: probs = softmax(X W1 + b1)",
                given={"X": X, **params}, hint="no hidden layer means no ReLU and no dropout. " + FORWARD)


@pytest.mark.parametrize("sizes", [[5, 4, 4, 3], [3, 6, 5, 4, 2], [4, 3, 3, 3, 3, 3, 5]], ids=lambda s: f"L={len(s) - 1}")
def test_deep_forward_matches_an_independent_implementation(sizes):
    params, X, _, _ = make_network(len(sizes), sizes)
    probs, _ = run_forward(params, X)
    check_no_relu_on_the_output(probs, params, X, len(sizes) - 1)
    check_close(probs, reference_probs(params, X), problem=f"deep_forward's probs for L = {len(sizes) - 1} layers "
                f"({'-'.join(map(str, sizes))}) are wrong", given={"X": X}, hint=FORWARD)


def test_deep_forward_takes_ten_or_more_layers_in_numeric_order():
    layers = 11  # W1 .. W11: sorted as text, the keys would run W1, W10, W11, W2, ...
    rng = np.random.default_rng(12)
    params = {}
    for layer in range(1, layers + 1):
        params[f"W{layer}"] = rng.standard_normal((3, 3)) * np.sqrt(2.0 / 3)
        params[f"b{layer}"] = rng.standard_normal(3) * 0.3
    X = rng.standard_normal((4, 3))
    probs, _ = run_forward(params, X)
    text_order = sorted(range(1, layers + 1), key=str)
    renamed = {f"{kind}{new}": params[f"{kind}{old}"] for new, old in enumerate(text_order, start=1) for kind in "Wb"}
    why = ""
    if np.allclose(probs, reference_probs(renamed, X), rtol=1e-6, atol=1e-9):
        why = (": your network takes the layers in the order of the keys sorted as text (W1, W10, W11, W2, ...); "
               "layer l is W{l} with b{l}, for l = 1, 2, ..., L counted as numbers")
    check_close(probs, reference_probs(params, X), problem=f"deep_forward's probs for L = {layers} layers are wrong"
                + why, given={"X": X}, hint=FORWARD)


@pytest.mark.parametrize("sizes", [[4, 5, 3], [4, 6, 5, 4, 3]], ids=lambda s: f"L={len(s) - 1}")
def test_deep_forward_with_dropout_draws_one_mask_per_hidden_layer(sizes):
    layers, p_drop, seed = len(sizes) - 1, 0.4, 11
    params, X, _, masks = make_network(seed, sizes, n=6, p_drop=p_drop)
    expected_rng = learner_masks(params, X, p_drop, seed)[1]
    rng = np.random.default_rng(seed)
    probs, _ = run_forward(params, X, p_drop, rng)
    hint = ("call dropout_forward(a_l, p_drop, rng) on each hidden activation, after its ReLU, once per hidden "
            "layer in order l = 1 .. L-1; never on the input X or on the output logits.")
    if rng.bit_generator.state != expected_rng.bit_generator.state:
        fail(f"with p_drop = {p_drop} and L = {layers}, deep_forward must call dropout_forward exactly once per "
             f"hidden layer ({layers - 1} call{'s' if layers > 2 else ''}), and draw nothing else from rng: the "
             f"generator did not end where {layers - 1} such call{'s' if layers > 2 else ''} would leave it.",
             given={"X": X}, hint=hint)
    check_close(probs, reference_probs(params, X, masks), given={"X": X}, hint=hint,
                problem=f"with p_drop = {p_drop}, probs must be those of the network whose hidden activations are "
                        f"multiplied by your dropout_forward's masks, drawn layer by layer from rng")


def test_deep_forward_with_dropout_is_reproducible_and_random():
    params, X, _, _ = make_network(12, [4, 8, 8, 3], n=5)
    first, _ = run_forward(params, X, 0.5, np.random.default_rng(3))
    again, _ = run_forward(params, X, 0.5, np.random.default_rng(3))
    check_close(again, first, problem="the same rng state must give the same dropout masks, so the same probs",
                given={"X": X}, hint="draw randomness only through dropout_forward(a_l, p_drop, rng), never np.random.")
    others = [run_forward(params, X, 0.5, np.random.default_rng(seed))[0] for seed in range(4, 9)]
    if all(np.allclose(other, first) for other in others):
        fail("deep_forward with p_drop = 0.5 gives the same probs for 6 different generators: dropout is not "
             "applied to the hidden layers.", given={"X": X}, got=first,
             hint="with p_drop above 0, every hidden activation goes through dropout_forward (with p_drop and "
                  "rng) after its ReLU, and the masked activation goes on to the next layer.")




@pytest.mark.parametrize("sizes", [[4, 6, 3], [3, 6, 5, 3]], ids=lambda s: f"L={len(s) - 1}")
def test_deep_forward_caches_each_layers_input_after_its_dropout_mask(sizes):
    # What the cache holds is the learner's own business: only deep_backward's gradients show what deep_forward
    # cached. This test fails only when they are exactly those of a cache holding every layer's input before its
    # dropout mask; until deep_backward is written, or while it fails in another way, its own tests report it.
    p_drop, seed = 0.3, 50 + len(sizes)
    params, X, targets, masks = make_network(seed, sizes, n=6, p_drop=p_drop)
    probs, cache = run_forward(params, X, p_drop, np.random.default_rng(seed))
    if not np.allclose(probs, reference_probs(params, X, masks), rtol=1e-6):
        return  # the other deep_forward tests say what is wrong with the forward pass
    try:
        grads = deep_backward(params, cache, targets)
        if not isinstance(grads, dict) or set(grads) != set(params):
            return
        mistake = dropout_mistake(params, X, targets, masks, grads)
    except Exception:  # noqa: BLE001 - deep_backward unwritten or failing: its own tests say so
        return
    if mistake and not mistake[1]:
        seen, hint = dropout_diagnosis(mistake)
        fail(f"with p_drop = {p_drop} and L = {len(sizes) - 1}: {seen}", given={"X": X, "targets": targets},
             got=grads[f"W{len(sizes) - 1}"], expected=reference_gradients(params, X, targets, masks)[f"W{len(sizes) - 1}"],
             hint=hint)


@pytest.mark.parametrize("p_drop", [-0.1, 1.0, 1.5, float("nan")])
@pytest.mark.parametrize("sizes", [[3, 2], [3, 4, 2]], ids=lambda s: f"L={len(s) - 1}")
def test_deep_forward_validates_p_drop_whatever_the_depth(sizes, p_drop):
    params, X, _, _ = make_network(13, sizes)
    layers = len(sizes) - 1
    expect_value_error(lambda: deep_forward(params, X, p_drop, np.random.default_rng(0)), "deep_forward",
                       f"p_drop = {p_drop} with L = {layers}" + (" (no hidden layer to drop)" if layers == 1 else ""),
                       str(p_drop),
                       hint="check p_drop at the start of deep_forward, as dropout_forward does (0 <= p_drop < 1, which "
                       "nan fails), whatever L: with L = 1 dropout_forward is never called, so it cannot check it.")


def test_deep_forward_needs_an_rng_for_dropout():
    params, X, _, _ = make_network(14, [3, 4, 2])
    expect_value_error(lambda: deep_forward(params, X, 0.3), "deep_forward", "p_drop = 0.3 without an rng", None,
                       hint="dropout needs a random generator: when p_drop is above 0 and no rng is given, raise "
                            "ValueError saying that an rng is needed.")


def test_deep_forward_keeps_float32():
    params, X, _, _ = make_network(15, [4, 5, 5, 3], dtype=np.float32)
    for p_drop, rng in ((0.0, None), (0.3, np.random.default_rng(0))):
        probs, _ = run_forward(params, X, p_drop, rng)
        check_dtype(probs, np.float32, f"deep_forward (p_drop = {p_drop})", given={"X": X})


# Task 2: deep_backward ----------------------------------------------------------------------------

def test_deep_backward_worked_example():
    params, X, targets = docstring_network(), np.array([[2.0]]), np.array([[0.0, 1.0]])
    probs, cache = run_forward(params, X)
    grads = run_backward(params, cache, targets, probs)
    p = 0.8807970779778823
    expected = {"W3": [[2 * p, -2 * p], [0, 0]], "b3": [p, -p], "W2": [[2 * p, 0], [0, 0]], "b2": [p, 0],
                "W1": [[2 * p, 0]], "b1": [p, 0]}
    for key in ("W3", "b3", "W2", "b2", "W1", "b1"):  # in the order backpropagation computes them
        check_close(grads[key], expected[key], problem=f'grads["{key}"] is wrong for the docstring\'s example',
                    given={"X": X, "targets": targets}, hint=BACKWARD)


def test_deep_backward_leaves_the_probs_of_the_forward_pass_alone():
    # A batch the network classifies right: kata train, which reads the training accuracy from the probs after the
    # backward pass, must see 100%. run_backward checks the probs and every array of the cache after the call.
    params, X, _, _ = make_network(42, [4, 5, 3], n=6)
    probs, cache = run_forward(params, X)
    targets = np.eye(3)[probs.argmax(axis=1)]
    run_backward(params, cache, targets, probs)


def dropout_diagnosis(mistake) -> tuple[str, str]:
    """(what was seen, what to do) for dropout_mistake's answer."""
    masks_in_backward, inputs_after_dropout = mistake
    if not inputs_after_dropout and not masks_in_backward:
        return (f"{MASKS_LEFT_OUT} And {CACHED_BEFORE_DROPOUT}", f"{MASKS_LEFT_OUT_HINT} Then: {CACHED_BEFORE_DROPOUT_HINT}")
    if not inputs_after_dropout:
        return CACHED_BEFORE_DROPOUT, CACHED_BEFORE_DROPOUT_HINT
    return MASKS_LEFT_OUT, MASKS_LEFT_OUT_HINT


def gradient_check(params, X, targets, grads, masks, what):
    mistake = dropout_mistake(params, X, targets, masks, grads) if masks is not None else None
    for key in sorted(params, key=lambda k: (-int(k[1:]), k)):  # from the output back, as backprop goes
        result = check_gradient(lambda v, key=key: reference_loss({**params, key: v}, X, targets, masks),
                                params[key], grads[key])
        if result:
            continue
        hint, seen = BACKWARD, ""
        analytic, numerical = result.analytic_value, result.numerical_value
        if numerical and abs(analytic / numerical - X.shape[0]) < 1e-3:
            hint = f"your gradient is N = {X.shape[0]} times too large: the loss is a mean, so dz_L = (probs - targets) / N."
        elif mistake:
            seen, hint = dropout_diagnosis(mistake)
            seen = " " + seen
        elif masks is not None:
            hint = ("with dropout, the gradient flows only through the kept units, scaled as in the forward "
                    "pass: da = dropout_backward(da, mask) before relu_backward, and each layer's input in the "
                    "cache must be the activation after its dropout mask. " + BACKWARD)
        fail(f'deep_backward\'s grads["{key}"] is not the gradient of the mean cross-entropy ({what}): numerical '
             f"gradient check {result}.{seen}", given={"X": X, "targets": targets}, got=grads[key], hint=hint)


@pytest.mark.parametrize("sizes", [[4, 3], [4, 5, 3], [3, 5, 4, 3], [4, 4, 5, 3, 4, 2]], ids=lambda s: f"L={len(s) - 1}")
def test_deep_backward_passes_numerical_gradient_checks(sizes):
    params, X, targets, _ = make_network(20 + len(sizes), sizes, n=5)
    probs, cache = run_forward(params, X)
    grads = run_backward(params, cache, targets, probs)
    gradient_check(params, X, targets, grads, None, f"L = {len(sizes) - 1}, no dropout")


@pytest.mark.parametrize("sizes", [[4, 6, 3], [3, 6, 5, 3], [4, 5, 6, 5, 2]], ids=lambda s: f"L={len(s) - 1}")
def test_deep_backward_with_dropout_passes_numerical_gradient_checks(sizes):
    p_drop, seed = 0.3, 30 + len(sizes)
    params, X, targets, masks = make_network(seed, sizes, n=6, p_drop=p_drop)
    probs, cache = run_forward(params, X, p_drop, np.random.default_rng(seed))
    check_close(probs, reference_probs(params, X, masks), given={"X": X},
                problem="deep_forward with dropout does not give the probs of the masked network (see the "
                        "deep_forward tests first)", hint=FORWARD)
    grads = run_backward(params, cache, targets, probs)
    gradient_check(params, X, targets, grads, masks, f"L = {len(sizes) - 1}, p_drop = {p_drop}, masks fixed")


def test_deep_backward_with_a_bigger_batch_divides_by_n():
    params, X, targets, _ = make_network(40, [3, 4, 4, 5], n=16)
    probs, cache = run_forward(params, X)
    grads = run_backward(params, cache, targets, probs)
    result = check_gradient(lambda v: reference_loss({**params, "b3": v}, X, targets), params["b3"], grads["b3"])
    if not result:
        fail(f'grads["b3"] for a batch of 16 is wrong: {result}.', given={"targets": targets}, got=grads["b3"],
             hint="the loss is the mean over the batch: dz_L = (probs - targets) / N, and db_L sums dz_L over the rows.")


def test_deep_backward_keeps_float32():
    params, X, targets, _ = make_network(41, [4, 5, 5, 3], dtype=np.float32)
    for p_drop, rng in ((0.0, None), (0.3, np.random.default_rng(0))):
        probs, cache = run_forward(params, X, p_drop, rng)
        grads = run_backward(params, cache, targets, probs)
        for key in params:
            check_dtype(np.asarray(grads[key]), np.float32, f'deep_backward\'s grads["{key}"] (p_drop = {p_drop})',
                        given={"X": X})

