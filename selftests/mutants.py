"""Deliberately wrong implementations: the mistakes learners really make, one per mutant.

Each mutant is the reference package with one function replaced. selftests/test_mutants.py runs
the stage's suite against every mutant and asserts that it fails, in the named test, with a
message that mentions the named concept. A mistake the suites let through is a hole in the kata.
"""

from __future__ import annotations

import ast
import shutil
import textwrap
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Mutant:
    id: str
    module: str  # stage module of solutions/ that is changed
    function: str  # the function replaced
    source: str  # its wrong version
    caught_by: str  # a test of tests/test_<module>.py that must fail: its name, or name[param] for one case
    says: str = ""  # a phrase that test's failure message must contain
    # The function the report's "Next: fix X()" must name, when not `function`: a forward that caches
    # the wrong array is right in every output the suite can see; only its backward's gradient
    # shows it, and the cache's structure is the learner's own, so the backward is what fails.
    charged_to: str = ""

    @property
    def package(self) -> str:
        return "kata_mutant_" + self.id

    @property
    def blamed(self) -> str:
        return self.charged_to or self.function


def m(id, module, function, caught_by, says, source, charged_to=""):
    return Mutant(id, module, function, textwrap.dedent(source).strip() + "\n", caught_by, says, charged_to)


# Stage 14's backward mutants bring this forward with them (it replaces the reference's, which is
# defined earlier in pool.py), so that they do not depend on the reference's cache.
ARGMAX_POOL_FORWARD = """
def maxpool_forward(x, size=2, stride=2):
    from numpy.lib.stride_tricks import sliding_window_view
    for name, value in (("size", size), ("stride", stride)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
    if x.ndim != 4:
        raise ValueError(f"x must be 4-D (N, C, H, W); got shape {x.shape}")
    n, c, h, w = x.shape
    if size > h or size > w:
        raise ValueError(f"the {size}x{size} window is larger than the {h}x{w} input")
    win = sliding_window_view(x, (size, size), axis=(2, 3))[:, :, ::stride, ::stride]
    flat = win.reshape(*win.shape[:4], size * size)
    where = flat.argmax(axis=-1)
    return flat.max(axis=-1), (x.shape, where, size, stride)
"""


def with_argmax_pool_forward(backward_source):
    return ARGMAX_POOL_FORWARD.strip() + "\n\n\n" + textwrap.dedent(backward_source).strip()


MUTANTS = [
    # Stage 1: one_hot ----------------------------------------------------------------------
    m("one_hot_no_validation", "one_hot", "one_hot", "test_one_hot_rejects_negative_labels", "ValueError", """
        def one_hot(labels, num_classes=10):
            labels = np.asarray(labels)
            out = np.zeros((labels.shape[0], num_classes))
            out[np.arange(labels.shape[0]), labels.astype(int)] = 1.0
            return out
    """),
    m("one_hot_index_error_for_too_large", "one_hot", "one_hot", "test_one_hot_rejects_a_label_equal_to_num_classes",
      "IndexError", """
        def one_hot(labels, num_classes=10):
            labels = np.asarray(labels)
            if labels.ndim != 1 or np.any(labels < 0) or np.any(labels != np.round(labels)):
                raise ValueError(f"bad labels {labels}")
            out = np.zeros((labels.shape[0], num_classes))
            out[np.arange(labels.shape[0]), labels.astype(int)] = 1.0
            return out
    """),
    m("one_hot_off_by_one_range", "one_hot", "one_hot", "test_one_hot_rejects_a_label_equal_to_num_classes",
      "ValueError", """
        def one_hot(labels, num_classes=10):
            labels = np.asarray(labels)
            if labels.ndim != 1:
                raise ValueError(f"labels must be 1-D, got shape {labels.shape}")
            bad = labels[(labels < 0) | (labels > num_classes) | (labels != np.round(labels))]
            if bad.size:
                raise ValueError(f"bad label {bad[0]}")
            out = np.zeros((labels.shape[0], num_classes))
            out[np.arange(labels.shape[0]), labels.astype(int)] = 1.0
            return out
    """),
    m("one_hot_truncates_floats", "one_hot", "one_hot", "test_one_hot_rejects_non_integer_labels", "2.5", """
        def one_hot(labels, num_classes=10):
            labels = np.asarray(labels).astype(int)
            if labels.ndim != 1:
                raise ValueError(f"labels must be 1-D, got shape {labels.shape}")
            bad = labels[(labels < 0) | (labels >= num_classes)]
            if bad.size:
                raise ValueError(f"label {bad[0]} out of range")
            out = np.zeros((labels.shape[0], num_classes))
            out[np.arange(labels.shape[0]), labels] = 1.0
            return out
    """),
    m("one_hot_flattens_2d_input", "one_hot", "one_hot", "test_one_hot_rejects_a_column_of_labels", "1-D", """
        def one_hot(labels, num_classes=10):
            labels = np.asarray(labels).ravel()
            bad = labels[(labels < 0) | (labels >= num_classes) | (labels != np.round(labels))]
            if bad.size:
                raise ValueError(f"label {bad[0]} is invalid")
            out = np.zeros((labels.shape[0], num_classes))
            out[np.arange(labels.shape[0]), labels.astype(int)] = 1.0
            return out
    """),
    m("one_hot_message_without_value", "one_hot", "one_hot", "test_one_hot_rejects_negative_labels",
      "does not name the offending value", """
        def one_hot(labels, num_classes=10):
            labels = np.asarray(labels)
            if labels.ndim != 1 or np.any((labels < 0) | (labels >= num_classes) | (labels != np.round(labels))):
                raise ValueError("invalid labels")
            out = np.zeros((labels.shape[0], num_classes))
            out[np.arange(labels.shape[0]), labels.astype(int)] = 1.0
            return out
    """),
    m("one_hot_integer_output", "one_hot", "one_hot", "test_one_hot_worked_example", "floats", """
        def one_hot(labels, num_classes=10):
            labels = np.asarray(labels)
            out = np.zeros((labels.shape[0], num_classes), dtype=int)
            out[np.arange(labels.shape[0]), labels] = 1
            return out
    """),
    m("one_hot_transposed", "one_hot", "one_hot", "test_one_hot_worked_example", "shape", """
        def one_hot(labels, num_classes=10):
            labels = np.asarray(labels)
            out = np.zeros((num_classes, labels.shape[0]))
            out[labels, np.arange(labels.shape[0])] = 1.0
            return out
    """),
    m("one_hot_ignores_num_classes", "one_hot", "one_hot", "test_one_hot_worked_example", "shape", """
        def one_hot(labels, num_classes=10):
            labels = np.asarray(labels)
            out = np.zeros((labels.shape[0], 10))
            out[np.arange(labels.shape[0]), labels] = 1.0
            return out
    """),
    # Stage 2: relu -------------------------------------------------------------------------
    m("relu_in_place", "relu", "relu", "test_relu_does_not_modify_its_input", "modified its input", """
        def relu(z):
            z[z < 0] = 0
            return z
    """),
    m("relu_leaky", "relu", "relu", "test_relu_worked_example", "leaky ReLU", """
        def relu(z):
            return np.where(z > 0, z, 0.01 * z)
    """),
    m("relu_upcasts_to_float64", "relu", "relu", "test_relu_keeps_float32", "dtype", """
        def relu(z):
            return np.maximum(z, 0).astype(np.float64)
    """),
    m("relu_backward_kink_ge", "relu", "relu_backward", "test_relu_backward_is_zero_at_the_kink", "z > 0", """
        def relu_backward(dout, z):
            return dout * (z >= 0)
    """),
    m("relu_backward_mask_on_dout", "relu", "relu_backward", "test_relu_backward_takes_the_mask_from_z_not_from_dout",
      "the mask was taken from dout", """
        def relu_backward(dout, z):
            return dout * (dout > 0)
    """),
    m("relu_backward_mask_only", "relu", "relu_backward", "test_relu_backward_worked_example", "the mask itself", """
        def relu_backward(dout, z):
            return (z > 0).astype(dout.dtype)
    """),
    m("relu_backward_no_mask", "relu", "relu_backward", "test_relu_backward_worked_example", "dout unchanged", """
        def relu_backward(dout, z):
            return dout.copy()
    """),
    # Stage 3: softmax ----------------------------------------------------------------------
    m("softmax_no_max_shift", "softmax", "softmax", "test_softmax_huge_logits_do_not_overflow", "maximum", """
        def softmax(z):
            e = np.exp(z)
            return e / e.sum(axis=-1, keepdims=True)
    """),
    m("softmax_no_max_shift_in_a_batch", "softmax", "softmax", "test_softmax_rows_of_very_different_scale_in_one_batch",
      "inf / inf", """
        def softmax(z):
            e = np.exp(z)
            return e / e.sum(axis=-1, keepdims=True)
    """),
    m("softmax_global_max", "softmax", "softmax", "test_softmax_rows_of_very_different_scale_in_one_batch",
      "its own maximum", """
        def softmax(z):
            e = np.exp(z - z.max())
            return e / e.sum(axis=-1, keepdims=True)
    """),
    m("softmax_wrong_axis", "softmax", "softmax", "test_softmax_worked_example_batch", "axis", """
        def softmax(z):
            e = np.exp(z - z.max(axis=-1, keepdims=True))
            return e / e.sum(axis=0, keepdims=True)
    """),
    m("softmax_axis_1_only", "softmax", "softmax", "test_softmax_worked_example_vector", "", """
        def softmax(z):
            e = np.exp(z - z.max(axis=1, keepdims=True))
            return e / e.sum(axis=1, keepdims=True)
    """),
    m("softmax_no_keepdims", "softmax", "softmax", "test_softmax_worked_example_batch", "(N, 1)", """
        def softmax(z):
            e = np.exp(z - np.max(z))
            return e / e.sum(axis=-1)
    """),
    m("softmax_divides_by_max", "softmax", "softmax", "test_softmax_rows_are_probability_distributions", "sum to 1", """
        def softmax(z):
            e = np.exp(z - z.max(axis=-1, keepdims=True))
            return e / e.max(axis=-1, keepdims=True)
    """),
    m("softmax_shifts_in_place", "softmax", "softmax", "test_softmax_does_not_modify_its_input", "modified its input", """
        def softmax(z):
            z -= z.max(axis=-1, keepdims=True)
            e = np.exp(z)
            return e / e.sum(axis=-1, keepdims=True)
    """),
    m("softmax_upcasts_to_float64", "softmax", "softmax", "test_softmax_keeps_float32", "dtype", """
        def softmax(z):
            z = np.asarray(z, dtype=np.float64)
            e = np.exp(z - z.max(axis=-1, keepdims=True))
            return e / e.sum(axis=-1, keepdims=True)
    """),
    # Stage 4: cross_entropy ------------------------------------------------------------------
    m("cross_entropy_summed", "cross_entropy", "cross_entropy", "test_cross_entropy_worked_example_batch_is_the_mean",
      "mean", """
        def cross_entropy(probs, targets):
            return float(-np.sum(targets * np.log(np.clip(probs, 1e-12, 1.0))))
    """),
    m("cross_entropy_mean_over_all_entries", "cross_entropy", "cross_entropy",
      "test_cross_entropy_worked_example_one_row", "divided by the number of classes", """
        def cross_entropy(probs, targets):
            return float(-np.mean(targets * np.log(np.clip(probs, 1e-12, 1.0))))
    """),
    m("cross_entropy_no_clip", "cross_entropy", "cross_entropy",
      "test_cross_entropy_is_finite_when_probabilities_are_exactly_zero", "clip", """
        def cross_entropy(probs, targets):
            return float(-np.sum(targets * np.log(probs)) / probs.shape[0])
    """),
    m("cross_entropy_returns_per_example_losses", "cross_entropy", "cross_entropy",
      "test_cross_entropy_worked_example_one_row", "Python float", """
        def cross_entropy(probs, targets):
            return -np.sum(targets * np.log(np.clip(probs, 1e-12, 1.0)), axis=1)
    """),
    m("cross_entropy_clips_in_place", "cross_entropy", "cross_entropy",
      "test_cross_entropy_does_not_modify_its_inputs", "modified its input", """
        def cross_entropy(probs, targets):
            np.clip(probs, 1e-12, 1.0, out=probs)
            return float(-np.sum(targets * np.log(probs)) / probs.shape[0])
    """),
    m("cross_entropy_adds_epsilon", "cross_entropy", "cross_entropy",
      "test_cross_entropy_matches_an_independent_implementation", "adding a constant", """
        def cross_entropy(probs, targets):
            return float(-np.sum(targets * np.log(probs + 1e-7)) / probs.shape[0])
    """),
    m("cross_entropy_clips_to_a_large_floor", "cross_entropy", "cross_entropy",
      "test_cross_entropy_is_large_but_finite_when_the_true_class_has_probability_zero", "tiny floor", """
        def cross_entropy(probs, targets):
            return float(-np.sum(targets * np.log(np.clip(probs, 0.01, 1.0))) / probs.shape[0])
    """),
    m("cross_entropy_log2", "cross_entropy", "cross_entropy", "test_cross_entropy_worked_example_one_row", "base 2", """
        def cross_entropy(probs, targets):
            return float(-np.sum(targets * np.log2(np.clip(probs, 1e-12, 1.0))) / probs.shape[0])
    """),
    m("ce_backward_missing_1_over_n", "cross_entropy", "softmax_cross_entropy_backward",
      "test_softmax_cross_entropy_backward_worked_example", "times too large", """
        def softmax_cross_entropy_backward(probs, targets):
            return probs - targets
    """),
    m("ce_backward_sign_flipped", "cross_entropy", "softmax_cross_entropy_backward",
      "test_softmax_cross_entropy_backward_is_probs_minus_targets_over_n", "sign", """
        def softmax_cross_entropy_backward(probs, targets):
            return (targets - probs) / probs.shape[0]
    """),
    m("ce_backward_divides_by_classes", "cross_entropy", "softmax_cross_entropy_backward",
      "test_softmax_cross_entropy_backward_passes_a_numerical_gradient_check", "number of classes", """
        def softmax_cross_entropy_backward(probs, targets):
            return (probs - targets) / probs.shape[1]
    """),
    m("ce_backward_upcasts", "cross_entropy", "softmax_cross_entropy_backward",
      "test_softmax_cross_entropy_backward_keeps_float32", "dtype", """
        def softmax_cross_entropy_backward(probs, targets):
            return (np.asarray(probs, dtype=float) - targets) / len(probs)
    """),
    # Stage 5: backprop -------------------------------------------------------------------------
    m("dense_forward_forgets_bias", "backprop", "dense_forward", "test_dense_forward_worked_example", "x W + b", """
        def dense_forward(x, W, b):
            return x @ W
    """),
    m("dense_backward_bias_not_summed", "backprop", "dense_backward", "test_dense_backward_worked_example", "db", """
        def dense_backward(dout, x, W):
            return dout @ W.T, x.T @ dout, dout
    """),
    m("dense_backward_bias_averaged", "backprop", "dense_backward", "test_dense_backward_worked_example", "sum", """
        def dense_backward(dout, x, W):
            return dout @ W.T, x.T @ dout, dout.mean(axis=0)
    """),
    m("dense_backward_dW_transposed", "backprop", "dense_backward", "test_dense_backward_worked_example", "dW", """
        def dense_backward(dout, x, W):
            return dout @ W.T, dout.T @ x, dout.sum(axis=0)
    """),
    m("dense_backward_dx_forgets_transpose", "backprop", "dense_backward",
      "test_dense_backward_passes_numerical_gradient_checks", "", """
        def dense_backward(dout, x, W):
            return dout @ W, x.T @ dout, dout.sum(axis=0)
    """),
    m("forward_without_relu", "backprop", "forward", "test_forward_matches_an_independent_implementation", "ReLU", """
        def forward(params, X):
            z1 = X @ params["W1"] + params["b1"]
            probs = softmax(z1 @ params["W2"] + params["b2"])
            return probs, {"X": X, "z1": z1, "h": z1, "probs": probs}
    """),
    m("forward_returns_logits", "backprop", "forward", "test_forward_worked_example", "not the logits", """
        def forward(params, X):
            z1 = X @ params["W1"] + params["b1"]
            h = relu(z1)
            z2 = h @ params["W2"] + params["b2"]
            return z2, {"X": X, "z1": z1, "h": h, "probs": softmax(z2)}
    """),
    m("forward_own_softmax_without_shift", "backprop", "forward", "test_forward_handles_large_logits", "stage 3", """
        def forward(params, X):
            z1 = X @ params["W1"] + params["b1"]
            h = np.maximum(z1, 0)
            e = np.exp(h @ params["W2"] + params["b2"])
            probs = e / e.sum(axis=1, keepdims=True)
            return probs, {"X": X, "z1": z1, "h": h, "probs": probs}
    """),
    m("forward_returns_a_list", "backprop", "forward", "test_forward_worked_example", "a tuple", """
        def forward(params, X):
            z1 = dense_forward(X, params["W1"], params["b1"])
            h = relu(z1)
            probs = softmax(dense_forward(h, params["W2"], params["b2"]))
            return [probs, {"X": X, "z1": z1, "h": h, "probs": probs}]
    """),
    m("backward_missing_1_over_n", "backprop", "backward",
      "test_backward_passes_numerical_gradient_checks_for_every_parameter", "times too large", """
        def backward(params, cache, targets):
            dz2 = cache["probs"] - targets
            dh, dW2, db2 = dense_backward(dz2, cache["h"], params["W2"])
            dz1 = relu_backward(dh, cache["z1"])
            _, dW1, db1 = dense_backward(dz1, cache["X"], params["W1"])
            return {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2}
    """),
    m("backward_relu_mask_on_wrong_array", "backprop", "backward",
      "test_backward_passes_numerical_gradient_checks_for_every_parameter", "numerical gradient check", """
        def backward(params, cache, targets):
            dz2 = softmax_cross_entropy_backward(cache["probs"], targets)
            dh, dW2, db2 = dense_backward(dz2, cache["h"], params["W2"])
            dz1 = relu_backward(dh, dh)
            _, dW1, db1 = dense_backward(dz1, cache["X"], params["W1"])
            return {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2}
    """),
    m("backward_forgets_relu", "backprop", "backward",
      "test_backward_passes_numerical_gradient_checks_for_every_parameter", "numerical gradient check", """
        def backward(params, cache, targets):
            dz2 = softmax_cross_entropy_backward(cache["probs"], targets)
            dh, dW2, db2 = dense_backward(dz2, cache["h"], params["W2"])
            _, dW1, db1 = dense_backward(dh, cache["X"], params["W1"])
            return {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2}
    """),
    m("backward_uses_z1_for_dW2", "backprop", "backward",
      "test_backward_passes_numerical_gradient_checks_for_every_parameter", "W2", """
        def backward(params, cache, targets):
            dz2 = softmax_cross_entropy_backward(cache["probs"], targets)
            dh, dW2, db2 = dense_backward(dz2, cache["z1"], params["W2"])
            dz1 = relu_backward(dh, cache["z1"])
            _, dW1, db1 = dense_backward(dz1, cache["X"], params["W1"])
            return {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2}
    """),
    m("backward_swaps_bias_gradients", "backprop", "backward", "test_backward_worked_example", "shape", """
        def backward(params, cache, targets):
            dz2 = softmax_cross_entropy_backward(cache["probs"], targets)
            dh, dW2, db2 = dense_backward(dz2, cache["h"], params["W2"])
            dz1 = relu_backward(dh, cache["z1"])
            _, dW1, db1 = dense_backward(dz1, cache["X"], params["W1"])
            return {"W1": dW1, "b1": db2, "W2": dW2, "b2": db1}
    """),
    # Stage 6: init -------------------------------------------------------------------------------
    m("he_init_fan_out", "init", "he_init", "test_he_init_scales_by_fan_in", "scaled by fan_out", """
        def he_init(layer_sizes, rng):
            params = {}
            for l, (fan_in, fan_out) in enumerate(zip(layer_sizes[:-1], layer_sizes[1:]), start=1):
                params[f"W{l}"] = rng.standard_normal((fan_in, fan_out)) * np.sqrt(2.0 / fan_out)
                params[f"b{l}"] = np.zeros(fan_out)
            return params
    """),
    m("he_init_xavier_variance", "init", "he_init", "test_he_init_scales_by_fan_in", "ReLU zeroes half", """
        def he_init(layer_sizes, rng):
            params = {}
            for l, (fan_in, fan_out) in enumerate(zip(layer_sizes[:-1], layer_sizes[1:]), start=1):
                params[f"W{l}"] = rng.standard_normal((fan_in, fan_out)) * np.sqrt(1.0 / fan_in)
                params[f"b{l}"] = np.zeros(fan_out)
            return params
    """),
    m("he_init_glorot", "init", "he_init", "test_he_init_scales_by_fan_in", "Glorot", """
        def he_init(layer_sizes, rng):
            params = {}
            for l, (fan_in, fan_out) in enumerate(zip(layer_sizes[:-1], layer_sizes[1:]), start=1):
                params[f"W{l}"] = rng.standard_normal((fan_in, fan_out)) * np.sqrt(2.0 / (fan_in + fan_out))
                params[f"b{l}"] = np.zeros(fan_out)
            return params
    """),
    m("he_init_variance_as_deviation", "init", "he_init", "test_he_init_scales_by_fan_in", "it is the variance", """
        def he_init(layer_sizes, rng):
            params = {}
            for l, (fan_in, fan_out) in enumerate(zip(layer_sizes[:-1], layer_sizes[1:]), start=1):
                params[f"W{l}"] = rng.standard_normal((fan_in, fan_out)) * (2.0 / fan_in)
                params[f"b{l}"] = np.zeros(fan_out)
            return params
    """),
    m("he_init_uniform", "init", "he_init", "test_he_init_scales_by_fan_in", "normally distributed", """
        def he_init(layer_sizes, rng):
            params = {}
            for l, (fan_in, fan_out) in enumerate(zip(layer_sizes[:-1], layer_sizes[1:]), start=1):
                limit = np.sqrt(6.0 / fan_in)
                params[f"W{l}"] = rng.uniform(-limit, limit, (fan_in, fan_out))
                params[f"b{l}"] = np.zeros(fan_out)
            return params
    """),
    m("he_init_global_random_state", "init", "he_init",
      "test_random_init_and_he_init_leave_the_global_random_state_alone[he_init]", "global random state", """
        def he_init(layer_sizes, rng):
            params = {}
            for l, (fan_in, fan_out) in enumerate(zip(layer_sizes[:-1], layer_sizes[1:]), start=1):
                params[f"W{l}"] = np.random.randn(fan_in, fan_out) * np.sqrt(2.0 / fan_in)
                params[f"b{l}"] = np.zeros(fan_out)
            return params
    """),
    m("he_init_fixed_seed_inside", "init", "he_init",
      "test_random_init_and_he_init_give_the_same_weights_for_the_same_seed[he_init]", "ignores the generator", """
        def he_init(layer_sizes, rng):
            rng = np.random.default_rng(0)
            params = {}
            for l, (fan_in, fan_out) in enumerate(zip(layer_sizes[:-1], layer_sizes[1:]), start=1):
                params[f"W{l}"] = rng.standard_normal((fan_in, fan_out)) * np.sqrt(2.0 / fan_in)
                params[f"b{l}"] = np.zeros(fan_out)
            return params
    """),
    m("he_init_random_biases", "init", "he_init",
      "test_random_init_and_he_init_return_the_right_keys_shapes_and_zero_biases[he_init]", "zeros", """
        def he_init(layer_sizes, rng):
            params = {}
            for l, (fan_in, fan_out) in enumerate(zip(layer_sizes[:-1], layer_sizes[1:]), start=1):
                params[f"W{l}"] = rng.standard_normal((fan_in, fan_out)) * np.sqrt(2.0 / fan_in)
                params[f"b{l}"] = rng.standard_normal(fan_out) * 0.01
            return params
    """),
    m("he_init_2d_biases", "init", "he_init",
      "test_random_init_and_he_init_return_the_right_keys_shapes_and_zero_biases[he_init]", "shape", """
        def he_init(layer_sizes, rng):
            params = {}
            for l, (fan_in, fan_out) in enumerate(zip(layer_sizes[:-1], layer_sizes[1:]), start=1):
                params[f"W{l}"] = rng.standard_normal((fan_in, fan_out)) * np.sqrt(2.0 / fan_in)
                params[f"b{l}"] = np.zeros((1, fan_out))
            return params
    """),
    m("he_init_keys_from_zero", "init", "he_init",
      "test_random_init_and_he_init_return_the_right_keys_shapes_and_zero_biases[he_init]", "keys", """
        def he_init(layer_sizes, rng):
            params = {}
            for l, (fan_in, fan_out) in enumerate(zip(layer_sizes[:-1], layer_sizes[1:])):
                params[f"W{l}"] = rng.standard_normal((fan_in, fan_out)) * np.sqrt(2.0 / fan_in)
                params[f"b{l}"] = np.zeros(fan_out)
            return params
    """),
    m("random_init_ignores_scale", "init", "random_init", "test_random_init_uses_its_scale_argument", "scale", """
        def random_init(layer_sizes, rng, scale=0.01):
            params = {}
            for l, (fan_in, fan_out) in enumerate(zip(layer_sizes[:-1], layer_sizes[1:]), start=1):
                params[f"W{l}"] = 0.01 * rng.standard_normal((fan_in, fan_out))
                params[f"b{l}"] = np.zeros(fan_out)
            return params
    """),
    m("random_init_unscaled", "init", "random_init", "test_random_init_has_the_default_scale_of_0_01",
      "not multiplied by scale", """
        def random_init(layer_sizes, rng, scale=0.01):
            params = {}
            for l, (fan_in, fan_out) in enumerate(zip(layer_sizes[:-1], layer_sizes[1:]), start=1):
                params[f"W{l}"] = rng.standard_normal((fan_in, fan_out))
                params[f"b{l}"] = np.zeros(fan_out)
            return params
    """),
    m("random_init_uniform_0_1", "init", "random_init", "test_random_init_has_the_default_scale_of_0_01", "", """
        def random_init(layer_sizes, rng, scale=0.01):
            params = {}
            for l, (fan_in, fan_out) in enumerate(zip(layer_sizes[:-1], layer_sizes[1:]), start=1):
                params[f"W{l}"] = scale * rng.random((fan_in, fan_out))
                params[f"b{l}"] = np.zeros(fan_out)
            return params
    """),
    # Stage 7: gradient_descent --------------------------------------------------------------------
    m("sgd_step_not_in_place", "gradient_descent", "sgd_step", "test_sgd_step_worked_example", "in place", """
        def sgd_step(params, grads, lr):
            for key in grads:
                params[key] = params[key] - lr * grads[key]
            return params
    """),
    m("sgd_step_returns_a_new_dict", "gradient_descent", "sgd_step", "test_sgd_step_worked_example", "in place", """
        def sgd_step(params, grads, lr):
            return {key: params[key] - lr * grads[key] for key in params}
    """),
    m("sgd_step_wrong_sign", "gradient_descent", "sgd_step", "test_sgd_step_worked_example", "downhill", """
        def sgd_step(params, grads, lr):
            for key in grads:
                params[key] += lr * grads[key]
            return params
    """),
    m("sgd_step_only_weights", "gradient_descent", "sgd_step",
      "test_sgd_step_moves_every_parameter_against_its_gradient", "every key", """
        def sgd_step(params, grads, lr):
            for key in grads:
                if key.startswith("W"):
                    params[key] -= lr * grads[key]
            return params
    """),
    m("minibatches_not_shuffled", "gradient_descent", "minibatches", "test_minibatches_are_shuffled", "shuffle", """
        def minibatches(num_examples, batch_size, rng):
            order = np.arange(num_examples)
            for start in range(0, num_examples, batch_size):
                yield order[start:start + batch_size]
    """),
    m("minibatches_drop_last", "gradient_descent", "minibatches", "test_minibatches_worked_example", "last", """
        def minibatches(num_examples, batch_size, rng):
            order = rng.permutation(num_examples)
            for start in range(0, num_examples - batch_size + 1, batch_size):
                yield order[start:start + batch_size]
    """),
    m("minibatches_with_replacement", "gradient_descent", "minibatches",
      "test_minibatches_visit_every_example_exactly_once_per_epoch", "exactly once", """
        def minibatches(num_examples, batch_size, rng):
            for start in range(0, num_examples, batch_size):
                yield rng.integers(0, num_examples, min(batch_size, num_examples - start))
    """),
    m("minibatches_off_by_one_slice", "gradient_descent", "minibatches",
      "test_minibatches_visit_every_example_exactly_once_per_epoch", "exactly once", """
        def minibatches(num_examples, batch_size, rng):
            order = rng.permutation(num_examples)
            for start in range(0, num_examples, batch_size):
                yield order[start:start + batch_size - 1] if batch_size > 1 else order[start:start + 1]
    """),
    m("minibatches_global_random_state", "gradient_descent", "minibatches",
      "test_minibatches_leave_the_global_random_state_alone", "global random state", """
        def minibatches(num_examples, batch_size, rng):
            order = np.random.permutation(num_examples)
            for start in range(0, num_examples, batch_size):
                yield order[start:start + batch_size]
    """),
    m("minibatches_fixed_seed_inside", "gradient_descent", "minibatches",
      "test_minibatches_reshuffle_every_epoch", "different orders", """
        def minibatches(num_examples, batch_size, rng):
            order = np.random.default_rng(0).permutation(num_examples)
            for start in range(0, num_examples, batch_size):
                yield order[start:start + batch_size]
    """),
    # Stage 8: regularization (Part II) ------------------------------------------------------
    m("l2_penalty_includes_biases", "regularization", "l2_penalty", "test_l2_penalty_worked_example", "biases", """
        def l2_penalty(params, weight_decay):
            if not np.isfinite(weight_decay) or weight_decay < 0:
                raise ValueError(f"weight_decay must be a finite number >= 0, got {weight_decay!r}")
            return float(0.5 * weight_decay * sum(np.sum(v ** 2) for v in params.values()))
    """),
    m("l2_penalty_missing_half", "regularization", "l2_penalty", "test_l2_penalty_worked_example", "0.5", """
        def l2_penalty(params, weight_decay):
            if not np.isfinite(weight_decay) or weight_decay < 0:
                raise ValueError(f"weight_decay must be a finite number >= 0, got {weight_decay!r}")
            return float(weight_decay * sum(np.sum(v ** 2) for k, v in params.items() if k.startswith("W")))
    """),
    m("l2_penalty_only_w1_and_w2", "regularization", "l2_penalty", "test_l2_penalty_matches_the_formula_for_any_weights",
      "Every W key", """
        def l2_penalty(params, weight_decay):
            if not np.isfinite(weight_decay) or weight_decay < 0:
                raise ValueError(f"weight_decay must be a finite number >= 0, got {weight_decay!r}")
            return float(0.5 * weight_decay * sum(np.sum(params[k] ** 2) for k in ("W1", "W2") if k in params))
    """),
    m("l2_penalty_returns_a_numpy_scalar", "regularization", "l2_penalty",
      "test_l2_penalty_returns_a_python_float_for_float32_weights", "Python float", """
        def l2_penalty(params, weight_decay):
            if not np.isfinite(weight_decay) or weight_decay < 0:
                raise ValueError(f"weight_decay must be a finite number >= 0, got {weight_decay!r}")
            return 0.5 * weight_decay * sum(np.sum(v * v) for k, v in params.items() if k.startswith("W"))
    """),
    m("l2_penalty_no_validation", "regularization", "l2_penalty", "test_l2_penalty_rejects_a_bad_weight_decay",
      "ValueError", """
        def l2_penalty(params, weight_decay):
            return float(0.5 * weight_decay * sum(np.sum(v ** 2) for k, v in params.items() if k.startswith("W")))
    """),
    m("l2_gradient_two_lambda", "regularization", "l2_gradient", "test_l2_gradient_is_the_gradient_of_the_penalty",
      "gradient of the penalty", """
        def l2_gradient(params, grads, weight_decay):
            if not np.isfinite(weight_decay) or weight_decay < 0:
                raise ValueError(f"weight_decay must be a finite number >= 0, got {weight_decay!r}")
            return {k: g + 2 * weight_decay * params[k] if k.startswith("W") else g for k, g in grads.items()}
    """),
    m("l2_gradient_includes_biases", "regularization", "l2_gradient", "test_l2_gradient_worked_example", "bias", """
        def l2_gradient(params, grads, weight_decay):
            if not np.isfinite(weight_decay) or weight_decay < 0:
                raise ValueError(f"weight_decay must be a finite number >= 0, got {weight_decay!r}")
            return {k: g + weight_decay * params[k] for k, g in grads.items()}
    """),
    m("l2_gradient_in_place", "regularization", "l2_gradient", "test_l2_gradient_does_not_modify_params_or_grads",
      "modified grads", """
        def l2_gradient(params, grads, weight_decay):
            if not np.isfinite(weight_decay) or weight_decay < 0:
                raise ValueError(f"weight_decay must be a finite number >= 0, got {weight_decay!r}")
            for k in grads:
                if k.startswith("W"):
                    grads[k] += weight_decay * params[k]
            return dict(grads)
    """),
    m("l2_gradient_sign_like_l1", "regularization", "l2_gradient", "test_l2_gradient_is_the_gradient_of_the_penalty",
      "numerical gradient check", """
        def l2_gradient(params, grads, weight_decay):
            if not np.isfinite(weight_decay) or weight_decay < 0:
                raise ValueError(f"weight_decay must be a finite number >= 0, got {weight_decay!r}")
            return {k: g + weight_decay * np.sign(params[k]) if k.startswith("W") else g for k, g in grads.items()}
    """),
    m("l2_gradient_drops_the_bias_keys", "regularization", "l2_gradient", "test_l2_gradient_worked_example", "keys", """
        def l2_gradient(params, grads, weight_decay):
            if not np.isfinite(weight_decay) or weight_decay < 0:
                raise ValueError(f"weight_decay must be a finite number >= 0, got {weight_decay!r}")
            return {k: g + weight_decay * params[k] for k, g in grads.items() if k.startswith("W")}
    """),
    m("l2_gradient_no_validation", "regularization", "l2_gradient", "test_l2_gradient_rejects_a_bad_weight_decay",
      "ValueError", """
        def l2_gradient(params, grads, weight_decay):
            return {k: g + weight_decay * params[k] if k.startswith("W") else g for k, g in grads.items()}
    """),
    # Stage 9: dropout (Part II) -------------------------------------------------------------
    m("dropout_without_inverted_scaling", "dropout", "dropout_forward",
      "test_dropout_forward_mask_is_zero_or_the_inverted_scale", "scaling by 1 / (1 - p_drop) is missing", """
        def dropout_forward(x, p_drop, rng):
            if not 0 <= p_drop < 1:
                raise ValueError(f"p_drop must satisfy 0 <= p_drop < 1, got {p_drop!r}")
            mask = (rng.random(x.shape) >= p_drop).astype(x.dtype)
            return x * mask, mask
    """),
    m("dropout_multiplies_by_keep_probability", "dropout", "dropout_forward",
      "test_dropout_forward_mask_is_zero_or_the_inverted_scale", "not multiplied", """
        def dropout_forward(x, p_drop, rng):
            if not 0 <= p_drop < 1:
                raise ValueError(f"p_drop must satisfy 0 <= p_drop < 1, got {p_drop!r}")
            mask = (rng.random(x.shape) >= p_drop).astype(x.dtype) * (1.0 - p_drop)
            return x * mask, mask
    """),
    m("dropout_keeps_with_probability_p", "dropout", "dropout_forward", "test_dropout_forward_drops_the_right_fraction",
      "keeps elements with probability p_drop", """
        def dropout_forward(x, p_drop, rng):
            if not 0 <= p_drop < 1:
                raise ValueError(f"p_drop must satisfy 0 <= p_drop < 1, got {p_drop!r}")
            mask = (rng.random(x.shape) < p_drop).astype(x.dtype) / (1.0 - p_drop)
            return x * mask, mask
    """),
    m("dropout_global_random_state", "dropout", "dropout_forward",
      "test_dropout_forward_leaves_the_global_random_state_alone", "global random state", """
        def dropout_forward(x, p_drop, rng):
            if not 0 <= p_drop < 1:
                raise ValueError(f"p_drop must satisfy 0 <= p_drop < 1, got {p_drop!r}")
            mask = (np.random.rand(*x.shape) >= p_drop).astype(x.dtype) / (1.0 - p_drop)
            return x * mask, mask
    """),
    m("dropout_fixed_seed_inside", "dropout", "dropout_forward", "test_dropout_forward_draws_a_fresh_mask_at_every_call",
      "new mask", """
        def dropout_forward(x, p_drop, rng):
            if not 0 <= p_drop < 1:
                raise ValueError(f"p_drop must satisfy 0 <= p_drop < 1, got {p_drop!r}")
            mask = (np.random.default_rng(0).random(x.shape) >= p_drop).astype(x.dtype) / (1.0 - p_drop)
            return x * mask, mask
    """),
    m("dropout_one_mask_for_the_whole_batch", "dropout", "dropout_forward",
      "test_dropout_forward_drops_each_element_independently", "independently", """
        def dropout_forward(x, p_drop, rng):
            if not 0 <= p_drop < 1:
                raise ValueError(f"p_drop must satisfy 0 <= p_drop < 1, got {p_drop!r}")
            mask = (rng.random(x.shape[-1]) >= p_drop).astype(x.dtype) / (1.0 - p_drop)
            mask = np.broadcast_to(mask, x.shape).copy()
            return x * mask, mask
    """),
    m("dropout_float64_mask", "dropout", "dropout_forward", "test_dropout_forward_keeps_float32", "dtype", """
        def dropout_forward(x, p_drop, rng):
            if not 0 <= p_drop < 1:
                raise ValueError(f"p_drop must satisfy 0 <= p_drop < 1, got {p_drop!r}")
            mask = (rng.random(x.shape) >= p_drop) / (1.0 - p_drop)
            return x * mask, mask
    """),
    m("dropout_in_place_on_x", "dropout", "dropout_forward", "test_dropout_forward_does_not_modify_its_input",
      "modified its input x", """
        def dropout_forward(x, p_drop, rng):
            if not 0 <= p_drop < 1:
                raise ValueError(f"p_drop must satisfy 0 <= p_drop < 1, got {p_drop!r}")
            mask = (rng.random(x.shape) >= p_drop).astype(x.dtype) / (1.0 - p_drop)
            x *= mask
            return x, mask
    """),
    m("dropout_accepts_p_drop_one", "dropout", "dropout_forward", "test_dropout_forward_rejects_a_bad_p_drop",
      "p_drop = 1", """
        def dropout_forward(x, p_drop, rng):
            if not 0 <= p_drop <= 1:
                raise ValueError(f"p_drop must satisfy 0 <= p_drop <= 1, got {p_drop!r}")
            with np.errstate(divide="ignore", invalid="ignore"):
                mask = (rng.random(x.shape) >= p_drop).astype(x.dtype) / (1.0 - p_drop)
            return x * mask, mask
    """),
    m("dropout_backward_unscaled", "dropout", "dropout_backward", "test_dropout_backward_passes_the_gradient_of_dropout",
      "numerical gradient check", """
        def dropout_backward(dout, mask):
            return dout * (mask != 0)
    """),
    m("dropout_backward_mask_from_dout", "dropout", "dropout_backward", "test_dropout_backward_worked_example",
      "where the mask is 0", """
        def dropout_backward(dout, mask):
            return dout * (dout > 0) * mask
    """),
    m("dropout_backward_ignores_the_mask", "dropout", "dropout_backward",
      "test_dropout_backward_is_zero_exactly_where_the_forward_pass_dropped", "exactly where", """
        def dropout_backward(dout, mask):
            return dout.copy()
    """),
    m("dropout_backward_in_place", "dropout", "dropout_backward", "test_dropout_backward_does_not_modify_its_inputs",
      "modified its input dout", """
        def dropout_backward(dout, mask):
            dout *= mask
            return dout
    """),
    # Stage 10: optimizers (Part II) ---------------------------------------------------------
    m("momentum_init_float64", "optimizers", "momentum_init", "test_momentum_init_keeps_float32", "dtype", """
        def momentum_init(params):
            return {key: np.zeros(value.shape) for key, value in params.items()}
    """),
    m("momentum_init_shares_the_weights", "optimizers", "momentum_init", "test_momentum_init_worked_example",
      "start at zero", """
        def momentum_init(params):
            return dict(params)
    """),
    m("momentum_with_dampening", "optimizers", "momentum_step", "test_momentum_step_matches_pytorch_sgd_with_momentum",
      "dampening", """
        def momentum_step(params, grads, velocity, lr, momentum=0.9):
            if not np.isfinite(lr) or lr < 0:
                raise ValueError(f"lr must be a finite number >= 0, got {lr!r}")
            if not 0 <= momentum < 1:
                raise ValueError(f"momentum must satisfy 0 <= momentum < 1, got {momentum!r}")
            for key in params:
                velocity[key] *= momentum
                velocity[key] += (1 - momentum) * grads[key]
                params[key] -= lr * velocity[key]
            return params
    """),
    m("momentum_steps_with_the_old_velocity", "optimizers", "momentum_step",
      "test_momentum_step_matches_pytorch_sgd_with_momentum", "old velocity", """
        def momentum_step(params, grads, velocity, lr, momentum=0.9):
            if not np.isfinite(lr) or lr < 0:
                raise ValueError(f"lr must be a finite number >= 0, got {lr!r}")
            if not 0 <= momentum < 1:
                raise ValueError(f"momentum must satisfy 0 <= momentum < 1, got {momentum!r}")
            for key in params:
                params[key] -= lr * velocity[key]
                velocity[key] *= momentum
                velocity[key] += grads[key]
            return params
    """),
    m("momentum_cs231n_velocity", "optimizers", "momentum_step", "test_momentum_step_matches_pytorch_sgd_with_momentum",
      "without lr and without a minus sign", """
        def momentum_step(params, grads, velocity, lr, momentum=0.9):
            if not np.isfinite(lr) or lr < 0:
                raise ValueError(f"lr must be a finite number >= 0, got {lr!r}")
            if not 0 <= momentum < 1:
                raise ValueError(f"momentum must satisfy 0 <= momentum < 1, got {momentum!r}")
            for key in params:
                velocity[key] *= momentum
                velocity[key] -= lr * grads[key]
                params[key] += velocity[key]
            return params
    """),
    m("momentum_velocity_not_in_place", "optimizers", "momentum_step",
      "test_momentum_step_updates_params_and_velocity_in_place", "in place", """
        def momentum_step(params, grads, velocity, lr, momentum=0.9):
            if not np.isfinite(lr) or lr < 0:
                raise ValueError(f"lr must be a finite number >= 0, got {lr!r}")
            if not 0 <= momentum < 1:
                raise ValueError(f"momentum must satisfy 0 <= momentum < 1, got {momentum!r}")
            for key in params:
                velocity[key] = momentum * velocity[key] + grads[key]
                params[key] -= lr * velocity[key]
            return params
    """),
    m("momentum_only_the_keys_of_the_first_layer", "optimizers", "momentum_step",
      "test_momentum_step_follows_the_formula_over_several_steps", "every key", """
        def momentum_step(params, grads, velocity, lr, momentum=0.9):
            if not np.isfinite(lr) or lr < 0:
                raise ValueError(f"lr must be a finite number >= 0, got {lr!r}")
            if not 0 <= momentum < 1:
                raise ValueError(f"momentum must satisfy 0 <= momentum < 1, got {momentum!r}")
            for key in ("W1", "b1"):
                if key in params:
                    velocity[key] *= momentum
                    velocity[key] += grads[key]
                    params[key] -= lr * velocity[key]
            return params
    """),
    m("momentum_accepts_momentum_one", "optimizers", "momentum_step", "test_momentum_step_rejects_bad_arguments",
      "momentum = 1", """
        def momentum_step(params, grads, velocity, lr, momentum=0.9):
            if not np.isfinite(lr) or lr < 0:
                raise ValueError(f"lr must be a finite number >= 0, got {lr!r}")
            if not 0 <= momentum <= 1:
                raise ValueError(f"momentum must satisfy 0 <= momentum <= 1, got {momentum!r}")
            for key in params:
                velocity[key] *= momentum
                velocity[key] += grads[key]
                params[key] -= lr * velocity[key]
            return params
    """),
    m("adam_init_m_and_v_share_arrays", "optimizers", "adam_init", "test_adam_init_worked_example", "separate", """
        def adam_init(params):
            zeros = {key: np.zeros_like(value) for key, value in params.items()}
            return {"t": 0, "m": zeros, "v": zeros}
    """),
    m("adam_init_starts_at_step_one", "optimizers", "adam_init", "test_adam_init_worked_example", "integer 0", """
        def adam_init(params):
            return {"t": 1, "m": {k: np.zeros_like(p) for k, p in params.items()},
                    "v": {k: np.zeros_like(p) for k, p in params.items()}}
    """),
    m("adam_without_bias_correction", "optimizers", "adam_step", "test_adam_step_matches_pytorch_adam",
      "bias correction is missing", """
        def adam_step(params, grads, state, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
            if not np.isfinite(lr) or lr < 0 or not 0 <= beta1 < 1 or not 0 <= beta2 < 1 or not eps > 0:
                raise ValueError(f"bad Adam arguments: lr={lr!r}, beta1={beta1!r}, beta2={beta2!r}, eps={eps!r}")
            state["t"] += 1
            for key in params:
                m, v = state["m"][key], state["v"][key]
                m *= beta1
                m += (1 - beta1) * grads[key]
                v *= beta2
                v += (1 - beta2) * grads[key] ** 2
                params[key] -= lr * m / (np.sqrt(v) + eps)
            return params
    """),
    m("adam_t_not_incremented", "optimizers", "adam_step", "test_adam_step_first_step_moves_every_parameter_by_about_lr",
      "state['t'] must be 1", """
        def adam_step(params, grads, state, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
            if not np.isfinite(lr) or lr < 0 or not 0 <= beta1 < 1 or not 0 <= beta2 < 1 or not eps > 0:
                raise ValueError(f"bad Adam arguments: lr={lr!r}, beta1={beta1!r}, beta2={beta2!r}, eps={eps!r}")
            t = state["t"] + 1
            for key in params:
                m, v = state["m"][key], state["v"][key]
                m *= beta1
                m += (1 - beta1) * grads[key]
                v *= beta2
                v += (1 - beta2) * grads[key] ** 2
                params[key] -= lr * (m / (1 - beta1**t)) / (np.sqrt(v / (1 - beta2**t)) + eps)
            return params
    """),
    m("adam_eps_inside_the_square_root", "optimizers", "adam_step", "test_adam_step_adds_eps_after_the_square_root",
      "after the square root", """
        def adam_step(params, grads, state, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
            if not np.isfinite(lr) or lr < 0 or not 0 <= beta1 < 1 or not 0 <= beta2 < 1 or not eps > 0:
                raise ValueError(f"bad Adam arguments: lr={lr!r}, beta1={beta1!r}, beta2={beta2!r}, eps={eps!r}")
            state["t"] += 1
            t = state["t"]
            for key in params:
                m, v = state["m"][key], state["v"][key]
                m *= beta1
                m += (1 - beta1) * grads[key]
                v *= beta2
                v += (1 - beta2) * grads[key] ** 2
                params[key] -= lr * (m / (1 - beta1**t)) / np.sqrt(v / (1 - beta2**t) + eps)
            return params
    """),
    m("adam_eps_outside_the_division", "optimizers", "adam_step", "test_adam_step_with_a_zero_gradient_stays_finite",
      "0 / 0 is nan", """
        def adam_step(params, grads, state, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
            if not np.isfinite(lr) or lr < 0 or not 0 <= beta1 < 1 or not 0 <= beta2 < 1 or not eps > 0:
                raise ValueError(f"bad Adam arguments: lr={lr!r}, beta1={beta1!r}, beta2={beta2!r}, eps={eps!r}")
            state["t"] += 1
            t = state["t"]
            for key in params:
                m, v = state["m"][key], state["v"][key]
                m *= beta1
                m += (1 - beta1) * grads[key]
                v *= beta2
                v += (1 - beta2) * grads[key] ** 2
                params[key] -= lr * (m / (1 - beta1**t)) / np.sqrt(v / (1 - beta2**t)) + eps
            return params
    """),
    m("adam_state_not_in_place", "optimizers", "adam_step", "test_adam_step_updates_params_and_state_in_place",
      "in place", """
        def adam_step(params, grads, state, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
            if not np.isfinite(lr) or lr < 0 or not 0 <= beta1 < 1 or not 0 <= beta2 < 1 or not eps > 0:
                raise ValueError(f"bad Adam arguments: lr={lr!r}, beta1={beta1!r}, beta2={beta2!r}, eps={eps!r}")
            state["t"] += 1
            t = state["t"]
            for key in params:
                state["m"][key] = beta1 * state["m"][key] + (1 - beta1) * grads[key]
                state["v"][key] = beta2 * state["v"][key] + (1 - beta2) * grads[key] ** 2
                m_hat = state["m"][key] / (1 - beta1**t)
                v_hat = state["v"][key] / (1 - beta2**t)
                params[key] -= lr * m_hat / (np.sqrt(v_hat) + eps)
            return params
    """),
    m("adam_v_from_the_gradient_not_its_square", "optimizers", "adam_step", "test_adam_step_matches_pytorch_adam",
      "squared gradient", """
        def adam_step(params, grads, state, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
            if not np.isfinite(lr) or lr < 0 or not 0 <= beta1 < 1 or not 0 <= beta2 < 1 or not eps > 0:
                raise ValueError(f"bad Adam arguments: lr={lr!r}, beta1={beta1!r}, beta2={beta2!r}, eps={eps!r}")
            state["t"] += 1
            t = state["t"]
            for key in params:
                m, v = state["m"][key], state["v"][key]
                m *= beta1
                m += (1 - beta1) * grads[key]
                v *= beta2
                v += (1 - beta2) * np.abs(grads[key])
                params[key] -= lr * (m / (1 - beta1**t)) / (np.sqrt(v / (1 - beta2**t)) + eps)
            return params
    """),
    m("adam_accepts_eps_zero", "optimizers", "adam_step", "test_adam_step_rejects_bad_arguments", "eps = 0", """
        def adam_step(params, grads, state, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
            if not np.isfinite(lr) or lr < 0 or not 0 <= beta1 < 1 or not 0 <= beta2 < 1 or eps < 0:
                raise ValueError(f"bad Adam arguments: lr={lr!r}, beta1={beta1!r}, beta2={beta2!r}, eps={eps!r}")
            state["t"] += 1
            t = state["t"]
            for key in params:
                m, v = state["m"][key], state["v"][key]
                m *= beta1
                m += (1 - beta1) * grads[key]
                v *= beta2
                v += (1 - beta2) * grads[key] ** 2
                params[key] -= lr * (m / (1 - beta1**t)) / (np.sqrt(v / (1 - beta2**t)) + eps)
            return params
    """),

    # Stage 11: deep ------------------------------------------------------------------------
    m("deep_forward_relu_after_last_layer", "deep", "deep_forward",
      "test_deep_forward_equals_stage_5_forward_for_two_layers", "ReLU to the output layer", """
        def deep_forward(params, X, p_drop=0.0, rng=None):
            if not 0 <= p_drop < 1:
                raise ValueError(f"p_drop must satisfy 0 <= p_drop < 1, got {p_drop!r}")
            if p_drop > 0 and rng is None:
                raise ValueError(f"p_drop = {p_drop} needs an rng")
            layers = sum(1 for key in params if key.startswith("W"))
            inputs, pre_activations, masks = [], [], []
            a = X
            for layer in range(1, layers + 1):
                inputs.append(a)
                z = dense_forward(a, params[f"W{layer}"], params[f"b{layer}"])
                pre_activations.append(z)
                a = relu(z)
                if p_drop > 0:
                    a, mask = dropout_forward(a, p_drop, rng)
                    masks.append(mask)
            probs = softmax(a)
            return probs, {"inputs": inputs, "pre_activations": pre_activations, "masks": masks, "probs": probs}
    """),
    m("deep_forward_dropout_on_output_layer", "deep", "deep_forward",
      "test_deep_forward_with_dropout_draws_one_mask_per_hidden_layer", "once per hidden layer", """
        def deep_forward(params, X, p_drop=0.0, rng=None):
            if not 0 <= p_drop < 1:
                raise ValueError(f"p_drop must satisfy 0 <= p_drop < 1, got {p_drop!r}")
            if p_drop > 0 and rng is None:
                raise ValueError(f"p_drop = {p_drop} needs an rng")
            layers = sum(1 for key in params if key.startswith("W"))
            inputs, pre_activations, masks = [], [], []
            a = X
            for layer in range(1, layers):
                inputs.append(a)
                z = dense_forward(a, params[f"W{layer}"], params[f"b{layer}"])
                pre_activations.append(z)
                a = relu(z)
                if p_drop > 0:
                    a, mask = dropout_forward(a, p_drop, rng)
                    masks.append(mask)
            inputs.append(a)
            logits = dense_forward(a, params[f"W{layers}"], params[f"b{layers}"])
            if p_drop > 0:
                logits, _ = dropout_forward(logits, p_drop, rng)
            probs = softmax(logits)
            return probs, {"inputs": inputs, "pre_activations": pre_activations, "masks": masks, "probs": probs}
    """),
    m("deep_forward_dropout_on_input", "deep", "deep_forward",
      "test_deep_forward_with_dropout_draws_one_mask_per_hidden_layer", "once per hidden layer", """
        def deep_forward(params, X, p_drop=0.0, rng=None):
            if not 0 <= p_drop < 1:
                raise ValueError(f"p_drop must satisfy 0 <= p_drop < 1, got {p_drop!r}")
            if p_drop > 0 and rng is None:
                raise ValueError(f"p_drop = {p_drop} needs an rng")
            layers = sum(1 for key in params if key.startswith("W"))
            inputs, pre_activations, masks = [], [], []
            a = X
            if p_drop > 0:
                a, _ = dropout_forward(a, p_drop, rng)
            for layer in range(1, layers):
                inputs.append(a)
                z = dense_forward(a, params[f"W{layer}"], params[f"b{layer}"])
                pre_activations.append(z)
                a = relu(z)
                if p_drop > 0:
                    a, mask = dropout_forward(a, p_drop, rng)
                    masks.append(mask)
            inputs.append(a)
            probs = softmax(dense_forward(a, params[f"W{layers}"], params[f"b{layers}"]))
            return probs, {"inputs": inputs, "pre_activations": pre_activations, "masks": masks, "probs": probs}
    """),
    m("deep_forward_p_drop_checked_only_by_dropout", "deep", "deep_forward",
      "test_deep_forward_validates_p_drop_whatever_the_depth", "ValueError", """
        def deep_forward(params, X, p_drop=0.0, rng=None):
            if p_drop > 0 and rng is None:
                raise ValueError(f"p_drop = {p_drop} needs an rng")
            layers = sum(1 for key in params if key.startswith("W"))
            inputs, pre_activations, masks = [], [], []
            a = X
            for layer in range(1, layers):
                inputs.append(a)
                z = dense_forward(a, params[f"W{layer}"], params[f"b{layer}"])
                pre_activations.append(z)
                a = relu(z)
                if p_drop > 0:
                    a, mask = dropout_forward(a, p_drop, rng)
                    masks.append(mask)
            inputs.append(a)
            probs = softmax(dense_forward(a, params[f"W{layers}"], params[f"b{layers}"]))
            return probs, {"inputs": inputs, "pre_activations": pre_activations, "masks": masks, "probs": probs}
    """),
    m("deep_forward_no_rng_check", "deep", "deep_forward",
      "test_deep_forward_needs_an_rng_for_dropout", "ValueError", """
        def deep_forward(params, X, p_drop=0.0, rng=None):
            if not 0 <= p_drop < 1:
                raise ValueError(f"p_drop must satisfy 0 <= p_drop < 1, got {p_drop!r}")
            layers = sum(1 for key in params if key.startswith("W"))
            inputs, pre_activations, masks = [], [], []
            a = X
            for layer in range(1, layers):
                inputs.append(a)
                z = dense_forward(a, params[f"W{layer}"], params[f"b{layer}"])
                pre_activations.append(z)
                a = relu(z)
                if p_drop > 0:
                    a, mask = dropout_forward(a, p_drop, rng)
                    masks.append(mask)
            inputs.append(a)
            probs = softmax(dense_forward(a, params[f"W{layers}"], params[f"b{layers}"]))
            return probs, {"inputs": inputs, "pre_activations": pre_activations, "masks": masks, "probs": probs}
    """),
    m("deep_forward_no_dropout_at_all", "deep", "deep_forward",
      "test_deep_forward_with_dropout_is_reproducible_and_random", "not applied", """
        def deep_forward(params, X, p_drop=0.0, rng=None):
            if not 0 <= p_drop < 1:
                raise ValueError(f"p_drop must satisfy 0 <= p_drop < 1, got {p_drop!r}")
            if p_drop > 0 and rng is None:
                raise ValueError(f"p_drop = {p_drop} needs an rng")
            layers = sum(1 for key in params if key.startswith("W"))
            inputs, pre_activations, masks = [], [], []
            a = X
            for layer in range(1, layers):
                inputs.append(a)
                z = dense_forward(a, params[f"W{layer}"], params[f"b{layer}"])
                pre_activations.append(z)
                a = relu(z)
                pass
            inputs.append(a)
            probs = softmax(dense_forward(a, params[f"W{layers}"], params[f"b{layers}"]))
            return probs, {"inputs": inputs, "pre_activations": pre_activations, "masks": masks, "probs": probs}
    """),
    m("deep_forward_caches_input_before_dropout", "deep", "deep_forward",
      "test_deep_backward_with_dropout_passes_numerical_gradient_checks", "after its dropout mask", """
        def deep_forward(params, X, p_drop=0.0, rng=None):
            if not 0 <= p_drop < 1:
                raise ValueError(f"p_drop must satisfy 0 <= p_drop < 1, got {p_drop!r}")
            if p_drop > 0 and rng is None:
                raise ValueError(f"p_drop = {p_drop} needs an rng")
            layers = sum(1 for key in params if key.startswith("W"))
            inputs, pre_activations, masks = [], [], []
            a = X
            inputs.append(a)
            for layer in range(1, layers):
                z = dense_forward(a, params[f"W{layer}"], params[f"b{layer}"])
                pre_activations.append(z)
                a = relu(z)
                inputs.append(a)
                if p_drop > 0:
                    a, mask = dropout_forward(a, p_drop, rng)
                    masks.append(mask)
            probs = softmax(dense_forward(a, params[f"W{layers}"], params[f"b{layers}"]))
            return probs, {"inputs": inputs, "pre_activations": pre_activations, "masks": masks, "probs": probs}
    """, charged_to="deep_backward"),
    m("deep_backward_ignores_dropout_masks", "deep", "deep_backward",
      "test_deep_backward_with_dropout_passes_numerical_gradient_checks", "dropout_backward(da, mask)", """
        def deep_backward(params, cache, targets):
            layers = sum(1 for key in params if key.startswith("W"))
            masks = cache["masks"]
            grads = {}
            dz = softmax_cross_entropy_backward(cache["probs"], targets)
            for layer in range(layers, 1, -1):
                da, grads[f"W{layer}"], grads[f"b{layer}"] = dense_backward(
                    dz, cache["inputs"][layer - 1], params[f"W{layer}"])
                dz = relu_backward(da, cache["pre_activations"][layer - 2])
            grads["W1"] = cache["inputs"][0].T @ dz
            grads["b1"] = dz.sum(axis=0)
            return grads
    """),
    m("deep_backward_missing_1_over_n", "deep", "deep_backward",
      "test_deep_backward_passes_numerical_gradient_checks", "N = 5 times too large", """
        def deep_backward(params, cache, targets):
            layers = sum(1 for key in params if key.startswith("W"))
            masks = cache["masks"]
            grads = {}
            dz = cache["probs"] - targets
            for layer in range(layers, 1, -1):
                da, grads[f"W{layer}"], grads[f"b{layer}"] = dense_backward(
                    dz, cache["inputs"][layer - 1], params[f"W{layer}"])
                if masks:
                    da = dropout_backward(da, masks[layer - 2])
                dz = relu_backward(da, cache["pre_activations"][layer - 2])
            grads["W1"] = cache["inputs"][0].T @ dz
            grads["b1"] = dz.sum(axis=0)
            return grads
    """),
    m("deep_backward_skips_the_first_layer", "deep", "deep_backward",
      "test_deep_backward_worked_example", "every key of params", """
        def deep_backward(params, cache, targets):
            layers = sum(1 for key in params if key.startswith("W"))
            masks = cache["masks"]
            grads = {}
            dz = softmax_cross_entropy_backward(cache["probs"], targets)
            for layer in range(layers, 1, -1):
                da, grads[f"W{layer}"], grads[f"b{layer}"] = dense_backward(
                    dz, cache["inputs"][layer - 1], params[f"W{layer}"])
                if masks:
                    da = dropout_backward(da, masks[layer - 2])
                dz = relu_backward(da, cache["pre_activations"][layer - 2])
            return grads
    """),

    # Stage 12: batchnorm -------------------------------------------------------------------
    m("batchnorm_unbiased_variance_in_normalisation", "batchnorm", "batchnorm_forward",
      "test_batchnorm_forward_normalises_with_the_biased_batch_variance", "biased variance", """
        def batchnorm_forward(x, gamma, beta, running, training=True, momentum=0.1, eps=1e-5):
            x = np.asarray(x)
            if x.ndim != 2:
                raise ValueError(f"x must be 2-D, got shape {x.shape}")
            n, d = x.shape
            for name, value in (("gamma", gamma), ("beta", beta), ("mean", running["mean"]), ("var", running["var"])):
                if np.shape(value) != (d,):
                    raise ValueError(f"{name} must have shape ({d},), got {np.shape(value)}")
            if not 0.0 <= momentum <= 1.0:
                raise ValueError(f"momentum must be in [0, 1], got {momentum}")
            if not eps > 0.0:
                raise ValueError(f"eps must be > 0, got {eps}")
            if training:
                if n < 2:
                    raise ValueError(f"training needs N >= 2, got N = {n}")
                mu, var = x.mean(axis=0), x.var(axis=0, ddof=1)
                running["mean"] = (1 - momentum) * running["mean"] + momentum * mu
                running["var"] = (1 - momentum) * running["var"] + momentum * var
            else:
                mu, var = running["mean"], running["var"]
            inv_std = 1.0 / np.sqrt(var + eps)
            x_hat = (x - mu) * inv_std
            return gamma * x_hat + beta, {"x_hat": x_hat, "inv_std": inv_std, "gamma": gamma, "training": training}
    """),
    m("batchnorm_running_var_without_bessel", "batchnorm", "batchnorm_forward",
      "test_batchnorm_forward_updates_running_statistics", "N/(N-1)", """
        def batchnorm_forward(x, gamma, beta, running, training=True, momentum=0.1, eps=1e-5):
            x = np.asarray(x)
            if x.ndim != 2:
                raise ValueError(f"x must be 2-D, got shape {x.shape}")
            n, d = x.shape
            for name, value in (("gamma", gamma), ("beta", beta), ("mean", running["mean"]), ("var", running["var"])):
                if np.shape(value) != (d,):
                    raise ValueError(f"{name} must have shape ({d},), got {np.shape(value)}")
            if not 0.0 <= momentum <= 1.0:
                raise ValueError(f"momentum must be in [0, 1], got {momentum}")
            if not eps > 0.0:
                raise ValueError(f"eps must be > 0, got {eps}")
            if training:
                if n < 2:
                    raise ValueError(f"training needs N >= 2, got N = {n}")
                mu, var = x.mean(axis=0), x.var(axis=0)
                running["mean"] = (1 - momentum) * running["mean"] + momentum * mu
                running["var"] = (1 - momentum) * running["var"] + momentum * var
            else:
                mu, var = running["mean"], running["var"]
            inv_std = 1.0 / np.sqrt(var + eps)
            x_hat = (x - mu) * inv_std
            return gamma * x_hat + beta, {"x_hat": x_hat, "inv_std": inv_std, "gamma": gamma, "training": training}
    """),
    m("batchnorm_momentum_wrong_way_round", "batchnorm", "batchnorm_forward",
      "test_batchnorm_forward_updates_running_statistics", "wrong way round", """
        def batchnorm_forward(x, gamma, beta, running, training=True, momentum=0.1, eps=1e-5):
            x = np.asarray(x)
            if x.ndim != 2:
                raise ValueError(f"x must be 2-D, got shape {x.shape}")
            n, d = x.shape
            for name, value in (("gamma", gamma), ("beta", beta), ("mean", running["mean"]), ("var", running["var"])):
                if np.shape(value) != (d,):
                    raise ValueError(f"{name} must have shape ({d},), got {np.shape(value)}")
            if not 0.0 <= momentum <= 1.0:
                raise ValueError(f"momentum must be in [0, 1], got {momentum}")
            if not eps > 0.0:
                raise ValueError(f"eps must be > 0, got {eps}")
            if training:
                if n < 2:
                    raise ValueError(f"training needs N >= 2, got N = {n}")
                mu, var = x.mean(axis=0), x.var(axis=0)
                running["mean"] = momentum * running["mean"] + (1 - momentum) * mu
                running["var"] = momentum * running["var"] + (1 - momentum) * var * (n / (n - 1))
            else:
                mu, var = running["mean"], running["var"]
            inv_std = 1.0 / np.sqrt(var + eps)
            x_hat = (x - mu) * inv_std
            return gamma * x_hat + beta, {"x_hat": x_hat, "inv_std": inv_std, "gamma": gamma, "training": training}
    """),
    m("batchnorm_eval_uses_batch_statistics", "batchnorm", "batchnorm_forward",
      "test_batchnorm_forward_eval_mode_uses_running_statistics", "running mean and variance", """
        def batchnorm_forward(x, gamma, beta, running, training=True, momentum=0.1, eps=1e-5):
            x = np.asarray(x)
            if x.ndim != 2:
                raise ValueError(f"x must be 2-D, got shape {x.shape}")
            n, d = x.shape
            for name, value in (("gamma", gamma), ("beta", beta), ("mean", running["mean"]), ("var", running["var"])):
                if np.shape(value) != (d,):
                    raise ValueError(f"{name} must have shape ({d},), got {np.shape(value)}")
            if not 0.0 <= momentum <= 1.0:
                raise ValueError(f"momentum must be in [0, 1], got {momentum}")
            if not eps > 0.0:
                raise ValueError(f"eps must be > 0, got {eps}")
            if training:
                if n < 2:
                    raise ValueError(f"training needs N >= 2, got N = {n}")
                mu, var = x.mean(axis=0), x.var(axis=0)
                running["mean"] = (1 - momentum) * running["mean"] + momentum * mu
                running["var"] = (1 - momentum) * running["var"] + momentum * var * (n / (n - 1))
            else:
                mu, var = x.mean(axis=0), x.var(axis=0)
            inv_std = 1.0 / np.sqrt(var + eps)
            x_hat = (x - mu) * inv_std
            return gamma * x_hat + beta, {"x_hat": x_hat, "inv_std": inv_std, "gamma": gamma, "training": training}
    """),
    m("batchnorm_eps_outside_sqrt", "batchnorm", "batchnorm_forward",
      "test_batchnorm_forward_adds_eps_inside_the_square_root", "inside the square root", """
        def batchnorm_forward(x, gamma, beta, running, training=True, momentum=0.1, eps=1e-5):
            x = np.asarray(x)
            if x.ndim != 2:
                raise ValueError(f"x must be 2-D, got shape {x.shape}")
            n, d = x.shape
            for name, value in (("gamma", gamma), ("beta", beta), ("mean", running["mean"]), ("var", running["var"])):
                if np.shape(value) != (d,):
                    raise ValueError(f"{name} must have shape ({d},), got {np.shape(value)}")
            if not 0.0 <= momentum <= 1.0:
                raise ValueError(f"momentum must be in [0, 1], got {momentum}")
            if not eps > 0.0:
                raise ValueError(f"eps must be > 0, got {eps}")
            if training:
                if n < 2:
                    raise ValueError(f"training needs N >= 2, got N = {n}")
                mu, var = x.mean(axis=0), x.var(axis=0)
                running["mean"] = (1 - momentum) * running["mean"] + momentum * mu
                running["var"] = (1 - momentum) * running["var"] + momentum * var * (n / (n - 1))
            else:
                mu, var = running["mean"], running["var"]
            inv_std = 1.0 / (np.sqrt(var) + eps)
            x_hat = (x - mu) * inv_std
            return gamma * x_hat + beta, {"x_hat": x_hat, "inv_std": inv_std, "gamma": gamma, "training": training}
    """),
    m("batchnorm_no_running_update", "batchnorm", "batchnorm_forward",
      "test_batchnorm_forward_updates_running_statistics", "must update the running statistics", """
        def batchnorm_forward(x, gamma, beta, running, training=True, momentum=0.1, eps=1e-5):
            x = np.asarray(x)
            if x.ndim != 2:
                raise ValueError(f"x must be 2-D, got shape {x.shape}")
            n, d = x.shape
            for name, value in (("gamma", gamma), ("beta", beta), ("mean", running["mean"]), ("var", running["var"])):
                if np.shape(value) != (d,):
                    raise ValueError(f"{name} must have shape ({d},), got {np.shape(value)}")
            if not 0.0 <= momentum <= 1.0:
                raise ValueError(f"momentum must be in [0, 1], got {momentum}")
            if not eps > 0.0:
                raise ValueError(f"eps must be > 0, got {eps}")
            if training:
                if n < 2:
                    raise ValueError(f"training needs N >= 2, got N = {n}")
                mu, var = x.mean(axis=0), x.var(axis=0)
            else:
                mu, var = running["mean"], running["var"]
            inv_std = 1.0 / np.sqrt(var + eps)
            x_hat = (x - mu) * inv_std
            return gamma * x_hat + beta, {"x_hat": x_hat, "inv_std": inv_std, "gamma": gamma, "training": training}
    """),
    m("batchnorm_copies_running_dict", "batchnorm", "batchnorm_forward",
      "test_batchnorm_forward_changes_only_the_running_dict", "the dict you are given", """
        def batchnorm_forward(x, gamma, beta, running, training=True, momentum=0.1, eps=1e-5):
            x = np.asarray(x)
            if x.ndim != 2:
                raise ValueError(f"x must be 2-D, got shape {x.shape}")
            n, d = x.shape
            for name, value in (("gamma", gamma), ("beta", beta), ("mean", running["mean"]), ("var", running["var"])):
                if np.shape(value) != (d,):
                    raise ValueError(f"{name} must have shape ({d},), got {np.shape(value)}")
            if not 0.0 <= momentum <= 1.0:
                raise ValueError(f"momentum must be in [0, 1], got {momentum}")
            if not eps > 0.0:
                raise ValueError(f"eps must be > 0, got {eps}")
            if training:
                if n < 2:
                    raise ValueError(f"training needs N >= 2, got N = {n}")
                mu, var = x.mean(axis=0), x.var(axis=0)
                running = dict(running)
                running["mean"] = (1 - momentum) * running["mean"] + momentum * mu
                running["var"] = (1 - momentum) * running["var"] + momentum * var * (n / (n - 1))
            else:
                mu, var = running["mean"], running["var"]
            inv_std = 1.0 / np.sqrt(var + eps)
            x_hat = (x - mu) * inv_std
            return gamma * x_hat + beta, {"x_hat": x_hat, "inv_std": inv_std, "gamma": gamma, "training": training}
    """),
    m("batchnorm_single_example_training", "batchnorm", "batchnorm_forward",
      "test_batchnorm_forward_rejects_a_batch_of_one_in_training_mode", "ValueError", """
        def batchnorm_forward(x, gamma, beta, running, training=True, momentum=0.1, eps=1e-5):
            mu, var = (x.mean(axis=0), x.var(axis=0)) if training else (running["mean"], running["var"])
            if training:
                running["mean"] = (1 - momentum) * running["mean"] + momentum * mu
                running["var"] = (1 - momentum) * running["var"] + momentum * var * (len(x) / max(len(x) - 1, 1))
            inv_std = 1.0 / np.sqrt(var + eps)
            x_hat = (x - mu) * inv_std
            return gamma * x_hat + beta, {"x_hat": x_hat, "inv_std": inv_std, "gamma": gamma, "training": training}
    """),
    m("batchnorm_backward_mu_var_constant", "batchnorm", "batchnorm_backward",
      "test_batchnorm_backward_passes_numerical_gradient_checks_in_training_mode", "as constants", """
        def batchnorm_backward(dout, cache):
            x_hat, inv_std, gamma = cache["x_hat"], cache["inv_std"], cache["gamma"]
            n = dout.shape[0]
            dx_hat = dout * gamma
            return dx_hat * inv_std, np.sum(dout * x_hat, axis=0), np.sum(dout, axis=0)
    """),
    m("batchnorm_backward_dgamma_not_summed", "batchnorm", "batchnorm_backward",
      "test_batchnorm_backward_worked_example", "dgamma", """
        def batchnorm_backward(dout, cache):
            x_hat, inv_std, gamma = cache["x_hat"], cache["inv_std"], cache["gamma"]
            n = dout.shape[0]
            dx_hat = dout * gamma
            dx = (inv_std / n) * (n * dx_hat - dx_hat.sum(axis=0) - x_hat * np.sum(dx_hat * x_hat, axis=0))
            if not cache["training"]:
                dx = dx_hat * inv_std
            return dx, dout * x_hat, np.sum(dout, axis=0)
    """),
    m("batchnorm_backward_forgets_gamma", "batchnorm", "batchnorm_backward",
      "test_batchnorm_backward_passes_numerical_gradient_checks_in_training_mode", "gradient check", """
        def batchnorm_backward(dout, cache):
            x_hat, inv_std, gamma = cache["x_hat"], cache["inv_std"], cache["gamma"]
            n = dout.shape[0]
            dx_hat = dout * gamma
            dx_hat = dout
            dx = (inv_std / n) * (n * dx_hat - dx_hat.sum(axis=0) - x_hat * np.sum(dx_hat * x_hat, axis=0))
            if not cache["training"]:
                dx = dx_hat * inv_std
            return dx, np.sum(dout * x_hat, axis=0), np.sum(dout, axis=0)
    """),
    m("batchnorm_backward_training_formula_in_eval", "batchnorm", "batchnorm_backward",
      "test_batchnorm_backward_passes_numerical_gradient_checks_in_eval_mode", "evaluation mode", """
        def batchnorm_backward(dout, cache):
            x_hat, inv_std, gamma = cache["x_hat"], cache["inv_std"], cache["gamma"]
            n = dout.shape[0]
            dx_hat = dout * gamma
            dx = (inv_std / n) * (n * dx_hat - dx_hat.sum(axis=0) - x_hat * np.sum(dx_hat * x_hat, axis=0))
            return dx, np.sum(dout * x_hat, axis=0), np.sum(dout, axis=0)
    """),
    # Stage 13: conv (Part III) --------------------------------------------------------------------
    # Forward-only mutants need not keep the reference's cache: only the test that must catch them runs.
    m("conv_true_convolution_flipped_kernel", "conv", "conv2d_forward",
      "test_conv2d_forward_is_cross_correlation_not_flipped", "flips the kernel", """
        def conv2d_forward(x, w, b, stride=1, pad=0):
            from numpy.lib.stride_tricks import sliding_window_view
            w = w[:, :, ::-1, ::-1]  # the textbook convolution: the kernel turned by 180 degrees
            xpad = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
            win = sliding_window_view(xpad, w.shape[2:], axis=(2, 3))[:, :, ::stride, ::stride]
            return np.einsum("nchwpq,fcpq->nfhw", win, w) + b[:, None, None], None
    """),
    m("conv_output_size_without_plus_one", "conv", "conv2d_forward",
      "test_conv2d_forward_output_size_follows_the_formula", "H_out = (", """
        def conv2d_forward(x, w, b, stride=1, pad=0):
            n, c, h, width = x.shape
            f, _, kh, kw = w.shape
            xpad = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
            h_out = (h + 2 * pad - kh + 1) // stride
            w_out = (width + 2 * pad - kw + 1) // stride
            out = np.zeros((n, f, h_out, w_out), dtype=x.dtype)
            for i in range(h_out):
                for j in range(w_out):
                    window = xpad[:, :, i * stride:i * stride + kh, j * stride:j * stride + kw]
                    out[:, :, i, j] = np.tensordot(window, w, axes=([1, 2, 3], [1, 2, 3])) + b
            return out, None
    """),
    m("conv_image_in_the_top_left_of_the_padding", "conv", "conv2d_forward",
      "test_conv2d_forward_pads_with_zeros_on_every_side", "every side", """
        def conv2d_forward(x, w, b, stride=1, pad=0):
            n, c, h, width = x.shape
            f, _, kh, kw = w.shape
            xpad = np.zeros((n, c, h + 2 * pad, width + 2 * pad), dtype=x.dtype)
            xpad[:, :, :h, :width] = x
            h_out, w_out = (h + 2 * pad - kh) // stride + 1, (width + 2 * pad - kw) // stride + 1
            out = np.zeros((n, f, h_out, w_out), dtype=x.dtype)
            for i in range(h_out):
                for j in range(w_out):
                    window = xpad[:, :, i * stride:i * stride + kh, j * stride:j * stride + kw]
                    out[:, :, i, j] = np.tensordot(window, w, axes=([1, 2, 3], [1, 2, 3])) + b
            return out, None
    """),
    m("conv_pads_only_top_and_left", "conv", "conv2d_forward",
      "test_conv2d_forward_pads_with_zeros_on_every_side", "every side", """
        def conv2d_forward(x, w, b, stride=1, pad=0):
            from numpy.lib.stride_tricks import sliding_window_view
            xpad = np.pad(x, ((0, 0), (0, 0), (pad, 0), (pad, 0)))
            win = sliding_window_view(xpad, w.shape[2:], axis=(2, 3))[:, :, ::stride, ::stride]
            return np.einsum("nchwpq,fcpq->nfhw", win, w) + b[:, None, None], None
    """),
    m("conv_coerces_stride_and_pad_to_int", "conv", "conv2d_forward",
      "test_conv2d_forward_rejects_a_non_integer_stride_or_pad", "must raise ValueError", """
        def conv2d_forward(x, w, b, stride=1, pad=0):
            from numpy.lib.stride_tricks import sliding_window_view
            stride, pad = int(stride), int(pad)
            if stride < 1 or pad < 0:
                raise ValueError(f"bad stride {stride} or pad {pad}")
            xpad = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
            win = sliding_window_view(xpad, w.shape[2:], axis=(2, 3))[:, :, ::stride, ::stride]
            return np.einsum("nchwpq,fcpq->nfhw", win, w) + b[:, None, None], None
    """),
    m("conv_no_check_of_pad", "conv", "conv2d_forward", "test_conv2d_forward_rejects_a_negative_pad",
      "does not name the bad value", """
        def conv2d_forward(x, w, b, stride=1, pad=0):
            from numpy.lib.stride_tricks import sliding_window_view
            xpad = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))  # NumPy's own error for pad < 0
            win = sliding_window_view(xpad, w.shape[2:], axis=(2, 3))[:, :, ::stride, ::stride]
            return np.einsum("nchwpq,fcpq->nfhw", win, w) + b[:, None, None], None
    """),
    # Backward mutants read the reference's cache: (x.shape, cols (C*KH*KW, N*H_out*W_out), w, stride, pad).
    m("conv_backward_ignores_the_stride", "conv", "conv2d_backward", "test_conv2d_backward_uses_the_stride",
      "starts at row i*stride", """
        def conv2d_backward(dout, cache):
            x_shape, cols, w, stride, pad = cache
            n, c, h, width = x_shape
            f, _, kh, kw = w.shape
            _, _, h_out, w_out = dout.shape
            dout_mat = dout.transpose(1, 0, 2, 3).reshape(f, -1)
            dw = (dout_mat @ cols.T).reshape(w.shape)
            dcols = (w.reshape(f, -1).T @ dout_mat).reshape(c, kh, kw, n, h_out, w_out)
            dxpad = np.zeros((n, c, h + 2 * pad, width + 2 * pad), dtype=dout.dtype)
            for p in range(kh):
                for q in range(kw):
                    dxpad[:, :, p:p + h_out, q:q + w_out] += dcols[:, p, q].transpose(1, 0, 2, 3)
            return dxpad[:, :, pad:pad + h, pad:pad + width], dw, dout_mat.sum(axis=1)
    """),
    m("conv_backward_db_is_a_mean", "conv", "conv2d_backward",
      "test_conv2d_backward_db_sums_over_the_batch_and_every_position", "must be 27", """
        def conv2d_backward(dout, cache):
            x_shape, cols, w, stride, pad = cache
            n, c, h, width = x_shape
            f, _, kh, kw = w.shape
            _, _, h_out, w_out = dout.shape
            dout_mat = dout.transpose(1, 0, 2, 3).reshape(f, -1)
            dw = (dout_mat @ cols.T).reshape(w.shape)
            dcols = (w.reshape(f, -1).T @ dout_mat).reshape(c, kh, kw, n, h_out, w_out)
            dxpad = np.zeros((n, c, h + 2 * pad, width + 2 * pad), dtype=dout.dtype)
            for p in range(kh):
                for q in range(kw):
                    dxpad[:, :, p:p + stride * h_out:stride, q:q + stride * w_out:stride] += \\
                        dcols[:, p, q].transpose(1, 0, 2, 3)
            return dxpad[:, :, pad:pad + h, pad:pad + width], dw, dout.mean(axis=(0, 2, 3))
    """),
    m("conv_backward_db_of_the_first_image_only", "conv", "conv2d_backward",
      "test_conv2d_backward_db_sums_over_the_batch_and_every_position", "over the batch too", """
        def conv2d_backward(dout, cache):
            x_shape, cols, w, stride, pad = cache
            n, c, h, width = x_shape
            f, _, kh, kw = w.shape
            _, _, h_out, w_out = dout.shape
            dout_mat = dout.transpose(1, 0, 2, 3).reshape(f, -1)
            dw = (dout_mat @ cols.T).reshape(w.shape)
            dcols = (w.reshape(f, -1).T @ dout_mat).reshape(c, kh, kw, n, h_out, w_out)
            dxpad = np.zeros((n, c, h + 2 * pad, width + 2 * pad), dtype=dout.dtype)
            for p in range(kh):
                for q in range(kw):
                    dxpad[:, :, p:p + stride * h_out:stride, q:q + stride * w_out:stride] += \\
                        dcols[:, p, q].transpose(1, 0, 2, 3)
            return dxpad[:, :, pad:pad + h, pad:pad + width], dw, dout[0].sum(axis=(1, 2))
    """),
    m("conv_backward_overlapping_windows_overwrite", "conv", "conv2d_backward",
      "test_conv2d_backward_adds_up_where_windows_overlap", "add up", """
        def conv2d_backward(dout, cache):
            x_shape, cols, w, stride, pad = cache
            n, c, h, width = x_shape
            f, _, kh, kw = w.shape
            _, _, h_out, w_out = dout.shape
            dout_mat = dout.transpose(1, 0, 2, 3).reshape(f, -1)
            dw = (dout_mat @ cols.T).reshape(w.shape)
            dcols = (w.reshape(f, -1).T @ dout_mat).reshape(c, kh, kw, n, h_out, w_out)
            dxpad = np.zeros((n, c, h + 2 * pad, width + 2 * pad), dtype=dout.dtype)
            for p in range(kh):
                for q in range(kw):
                    dxpad[:, :, p:p + stride * h_out:stride, q:q + stride * w_out:stride] = \\
                        dcols[:, p, q].transpose(1, 0, 2, 3)
            return dxpad[:, :, pad:pad + h, pad:pad + width], dw, dout_mat.sum(axis=1)
    """),
    m("conv_backward_crops_with_minus_pad", "conv", "conv2d_backward", "test_conv2d_backward_worked_example",
      "padding cropped off dx", """
        def conv2d_backward(dout, cache):
            x_shape, cols, w, stride, pad = cache
            n, c, h, width = x_shape
            f, _, kh, kw = w.shape
            _, _, h_out, w_out = dout.shape
            dout_mat = dout.transpose(1, 0, 2, 3).reshape(f, -1)
            dw = (dout_mat @ cols.T).reshape(w.shape)
            dcols = (w.reshape(f, -1).T @ dout_mat).reshape(c, kh, kw, n, h_out, w_out)
            dxpad = np.zeros((n, c, h + 2 * pad, width + 2 * pad), dtype=dout.dtype)
            for p in range(kh):
                for q in range(kw):
                    dxpad[:, :, p:p + stride * h_out:stride, q:q + stride * w_out:stride] += \\
                        dcols[:, p, q].transpose(1, 0, 2, 3)
            return dxpad[:, :, pad:-pad, pad:-pad], dw, dout_mat.sum(axis=1)  # empty when pad == 0
    """),
    # Stage 14: pool (Part III) --------------------------------------------------------------------
    m("pool_ceil_mode_keeps_trailing_rows", "pool", "maxpool_forward",
      "test_maxpool_forward_drops_trailing_rows_and_columns", "dropped", """
        def maxpool_forward(x, size=2, stride=2):
            n, c, h, w = x.shape
            h_out, w_out = -(-(h - size) // stride) + 1, -(-(w - size) // stride) + 1
            out = np.empty((n, c, h_out, w_out), dtype=x.dtype)
            for i in range(h_out):
                for j in range(w_out):
                    out[:, :, i, j] = x[:, :, i * stride:i * stride + size, j * stride:j * stride + size].max(axis=(2, 3))
            return out, None
    """),
    m("pool_reshape_without_transpose", "pool", "maxpool_forward", "test_maxpool_forward_worked_example",
      "maximum of each quarter", """
        def maxpool_forward(x, size=2, stride=2):
            n, c, h, w = x.shape
            h_out, w_out = (h - size) // stride + 1, (w - size) // stride + 1
            windows = x[:, :, :h_out * size, :w_out * size].reshape(n, c, h_out, w_out, size * size)
            where = windows.argmax(axis=-1)
            return windows.max(axis=-1), (x.shape, where, size, stride)
    """),
    m("pool_running_maximum_starts_at_zero", "pool", "maxpool_forward", "test_maxpool_forward_keeps_negative_values",
      "negative", """
        def maxpool_forward(x, size=2, stride=2):
            n, c, h, w = x.shape
            h_out, w_out = (h - size) // stride + 1, (w - size) // stride + 1
            out = np.zeros((n, c, h_out, w_out), dtype=x.dtype)
            for p in range(size):
                for q in range(size):
                    out = np.maximum(out, x[:, :, p:p + stride * h_out:stride, q:q + stride * w_out:stride])
            return out, None
    """),
    m("pool_no_check_of_the_window_size", "pool", "maxpool_forward",
      "test_maxpool_forward_rejects_a_window_larger_than_the_input", "does not name the bad value", """
        def maxpool_forward(x, size=2, stride=2):
            from numpy.lib.stride_tricks import sliding_window_view
            win = sliding_window_view(x, (size, size), axis=(2, 3))[:, :, ::stride, ::stride]  # NumPy's own error
            return win.max(axis=(4, 5)), None
    """),
    # Backward mutants come with ARGMAX_POOL_FORWARD: cache (x.shape, where, size, stride), where = argmax per window.
    # That forward validates as the contract says, so each mutant is charged to its backward alone.
    m("pool_backward_spreads_the_gradient_evenly", "pool", "maxpool_backward", "test_maxpool_backward_worked_example",
      "average pooling", with_argmax_pool_forward("""
        def maxpool_backward(dout, cache):
            shape, where, size, stride = cache
            dx = np.zeros(shape, dtype=dout.dtype)
            for i in range(dout.shape[2]):
                for j in range(dout.shape[3]):
                    dx[:, :, i * stride:i * stride + size, j * stride:j * stride + size] += \\
                        dout[:, :, i:i + 1, j:j + 1] / (size * size)
            return dx
    """)),
    m("pool_backward_ignores_the_stride", "pool", "maxpool_backward", "test_maxpool_backward_uses_the_stride",
      "not i*size", with_argmax_pool_forward("""
        def maxpool_backward(dout, cache):
            (n, c, h, w), where, size, stride = cache
            dx = np.zeros((n, c, h, w), dtype=dout.dtype)
            for i in range(dout.shape[2]):
                for j in range(dout.shape[3]):
                    for a in range(n):
                        for b in range(c):
                            k = where[a, b, i, j]
                            dx[a, b, i * size + k // size, j * size + k % size] += dout[a, b, i, j]
            return dx
    """)),
    m("pool_backward_fancy_index_plus_equals", "pool", "maxpool_backward",
      "test_maxpool_backward_adds_up_where_windows_overlap", "counts that position once", with_argmax_pool_forward("""
        def maxpool_backward(dout, cache):
            (n, c, h, w), where, size, stride = cache
            _, _, h_out, w_out = dout.shape
            rows = np.arange(h_out)[:, None] * stride + where // size
            cols = np.arange(w_out)[None, :] * stride + where % size
            dx = np.zeros((n, c, h, w), dtype=dout.dtype)
            dx[np.arange(n)[:, None, None, None], np.arange(c)[None, :, None, None], rows, cols] += dout  # no repeats summed
            return dx
    """)),
    m("pool_backward_decodes_the_argmax_transposed", "pool", "maxpool_backward",
      "test_maxpool_backward_passes_numerical_gradient_checks", "numerical gradient check", with_argmax_pool_forward("""
        def maxpool_backward(dout, cache):
            (n, c, h, w), where, size, stride = cache
            dx = np.zeros((n, c, h, w), dtype=dout.dtype)
            for i in range(dout.shape[2]):
                for j in range(dout.shape[3]):
                    for a in range(n):
                        for b in range(c):
                            k = where[a, b, i, j]
                            dx[a, b, i * stride + k % size, j * stride + k // size] += dout[a, b, i, j]
            return dx
    """)),
    # Replaces maxpool_backward (the module's last function) with a new forward and backward: the later
    # definition of maxpool_forward wins, so the pair keeps x in its own cache.
    m("pool_backward_gradient_to_every_tied_maximum", "pool", "maxpool_backward",
      "test_maxpool_backward_with_ties_sends_the_gradient_to_exactly_one_position", "exactly one", """
        def maxpool_forward(x, size=2, stride=2):
            for name, value in (("size", size), ("stride", stride)):
                if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                    raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
            if x.ndim != 4:
                raise ValueError(f"x must be 4-D (N, C, H, W); got shape {x.shape}")
            n, c, h, w = x.shape
            if size > h or size > w:
                raise ValueError(f"the {size}x{size} window is larger than the {h}x{w} input")
            h_out, w_out = (h - size) // stride + 1, (w - size) // stride + 1
            out = np.empty((n, c, h_out, w_out), dtype=x.dtype)
            for i in range(h_out):
                for j in range(w_out):
                    out[:, :, i, j] = x[:, :, i * stride:i * stride + size, j * stride:j * stride + size].max(axis=(2, 3))
            return out, (x, size, stride)


        def maxpool_backward(dout, cache):
            x, size, stride = cache
            dx = np.zeros(x.shape, dtype=dout.dtype)
            for i in range(dout.shape[2]):
                for j in range(dout.shape[3]):
                    window = x[:, :, i * stride:i * stride + size, j * stride:j * stride + size]
                    mask = window == window.max(axis=(2, 3), keepdims=True)
                    dx[:, :, i * stride:i * stride + size, j * stride:j * stride + size] += \\
                        mask * dout[:, :, i:i + 1, j:j + 1]
            return dx
    """),
    # Playtest (a new learner's first tries at Part II and III) ----------------------------------------
    m("dropout_refuses_p_drop_zero", "dropout", "dropout_forward",
      "test_dropout_forward_worked_example_without_dropping", "0 is allowed", """
        def dropout_forward(x, p_drop, rng):
            if not 0 < p_drop < 1:
                raise ValueError(f"p_drop must satisfy 0 < p_drop < 1, got {p_drop!r}")
            mask = (rng.random(x.shape) >= p_drop).astype(x.dtype) / (1.0 - p_drop)
            return x * mask, mask
    """),
    m("dropout_divides_by_p_drop", "dropout", "dropout_forward",
      "test_dropout_forward_worked_example_without_dropping", "divided by p_drop", """
        def dropout_forward(x, p_drop, rng):
            if not 0 <= p_drop < 1:
                raise ValueError(f"p_drop must satisfy 0 <= p_drop < 1, got {p_drop!r}")
            with np.errstate(divide="ignore", invalid="ignore"):
                mask = (rng.random(x.shape) >= p_drop).astype(x.dtype) / x.dtype.type(p_drop)
            return x * mask, mask
    """),
    m("dropout_boolean_mask", "dropout", "dropout_forward", "test_dropout_forward_keeps_float64", "True and False", """
        def dropout_forward(x, p_drop, rng):
            if not 0 <= p_drop < 1:
                raise ValueError(f"p_drop must satisfy 0 <= p_drop < 1, got {p_drop!r}")
            mask = rng.random(x.shape) >= p_drop
            return x * mask / (1.0 - p_drop), mask
    """),
    m("adam_t_incremented_per_parameter", "optimizers", "adam_step",
      "test_adam_step_keeps_float32", "once per parameter", """
        def adam_step(params, grads, state, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
            if not np.isfinite(lr) or lr < 0 or not 0 <= beta1 < 1 or not 0 <= beta2 < 1 or not eps > 0:
                raise ValueError(f"bad Adam arguments: lr={lr!r}, beta1={beta1!r}, beta2={beta2!r}, eps={eps!r}")
            for key in params:
                state["t"] += 1
                t = state["t"]
                m, v = state["m"][key], state["v"][key]
                m *= beta1
                m += (1 - beta1) * grads[key]
                v *= beta2
                v += (1 - beta2) * grads[key] ** 2
                params[key] -= lr * (m / (1 - beta1**t)) / (np.sqrt(v / (1 - beta2**t)) + eps)
            return params
    """),
    m("conv_without_the_bias", "conv", "conv2d_forward", "test_conv2d_forward_worked_example", "bias is missing", """
        def conv2d_forward(x, w, b, stride=1, pad=0):
            n, c, h, width = x.shape
            f, _, kh, kw = w.shape
            xpad = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
            h_out, w_out = (h + 2 * pad - kh) // stride + 1, (width + 2 * pad - kw) // stride + 1
            out = np.zeros((n, f, h_out, w_out), dtype=x.dtype)
            for i in range(h_out):
                for j in range(w_out):
                    window = xpad[:, :, i * stride:i * stride + kh, j * stride:j * stride + kw]
                    out[:, :, i, j] = np.tensordot(window, w, axes=([1, 2, 3], [1, 2, 3]))
            return out, (x, w, stride, pad)
    """),
    m("conv_backward_flips_dw", "conv", "conv2d_backward", "test_conv2d_backward_uses_the_stride",
      "kernel flipped upside down", """
        def conv2d_backward(dout, cache):
            x_shape, cols, w, stride, pad = cache
            n, c, h, width = x_shape
            f, _, kh, kw = w.shape
            _, _, h_out, w_out = dout.shape
            dout_mat = dout.transpose(1, 0, 2, 3).reshape(f, -1)
            dw = (dout_mat @ cols.T).reshape(w.shape)[:, :, ::-1, ::-1]
            dcols = (w.reshape(f, -1).T @ dout_mat).reshape(c, kh, kw, n, h_out, w_out)
            dxpad = np.zeros((n, c, h + 2 * pad, width + 2 * pad), dtype=dout.dtype)
            for p in range(kh):
                for q in range(kw):
                    dxpad[:, :, p:p + stride * h_out:stride, q:q + stride * w_out:stride] += \\
                        dcols[:, p, q].transpose(1, 0, 2, 3)
            return dxpad[:, :, pad:pad + h, pad:pad + width], np.ascontiguousarray(dw), dout_mat.sum(axis=1)
    """),
    # Replaces maxpool_backward with a loop pair (the later maxpool_forward wins): = where overlapping windows share a
    # maximum keeps the last window's gradient only.
    m("pool_backward_loop_overwrites_where_windows_overlap", "pool", "maxpool_backward",
      "test_maxpool_backward_uses_the_stride", "= keeps only the last one", """
        def maxpool_forward(x, size=2, stride=2):
            for name, value in (("size", size), ("stride", stride)):
                if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                    raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
            if x.ndim != 4 or size > x.shape[2] or size > x.shape[3]:
                raise ValueError(f"the {size}x{size} window does not fit the input of shape {x.shape}")
            n, c, h, w = x.shape
            h_out, w_out = (h - size) // stride + 1, (w - size) // stride + 1
            out = np.empty((n, c, h_out, w_out), dtype=x.dtype)
            for i in range(h_out):
                for j in range(w_out):
                    out[:, :, i, j] = x[:, :, i * stride:i * stride + size, j * stride:j * stride + size].max(axis=(2, 3))
            return out, (x, size, stride)


        def maxpool_backward(dout, cache):
            x, size, stride = cache
            dx = np.zeros(x.shape, dtype=dout.dtype)
            for a in range(dout.shape[0]):
                for b in range(dout.shape[1]):
                    for i in range(dout.shape[2]):
                        for j in range(dout.shape[3]):
                            window = x[a, b, i * stride:i * stride + size, j * stride:j * stride + size]
                            p, q = np.unravel_index(np.argmax(window), window.shape)
                            dx[a, b, i * stride + p, j * stride + q] = dout[a, b, i, j]
            return dx
    """),
    m("deep_forward_layers_in_text_order", "deep", "deep_forward",
      "test_deep_forward_takes_ten_or_more_layers_in_numeric_order", "sorted as text", """
        def deep_forward(params, X, p_drop=0.0, rng=None):
            if not 0 <= p_drop < 1:
                raise ValueError(f"p_drop must satisfy 0 <= p_drop < 1, got {p_drop!r}")
            if p_drop > 0 and rng is None:
                raise ValueError(f"p_drop = {p_drop} needs a random generator: pass rng=np.random.default_rng(seed)")
            names = [key[1:] for key in sorted(params) if key.startswith("W")]
            inputs, pre_activations, masks = [], [], []
            a = X
            for name in names[:-1]:
                inputs.append(a)
                z = dense_forward(a, params["W" + name], params["b" + name])
                pre_activations.append(z)
                a = relu(z)
                if p_drop > 0:
                    a, mask = dropout_forward(a, p_drop, rng)
                    masks.append(mask)
            inputs.append(a)
            probs = softmax(dense_forward(a, params["W" + names[-1]], params["b" + names[-1]]))
            return probs, {"inputs": inputs, "pre_activations": pre_activations, "masks": masks, "probs": probs}
    """),
    m("adam_without_bias_correction_blamed_on_eps", "optimizers", "adam_step",
      "test_adam_step_adds_eps_after_the_square_root", "bias correction is missing", """
        def adam_step(params, grads, state, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
            if not np.isfinite(lr) or lr < 0 or not 0 <= beta1 < 1 or not 0 <= beta2 < 1 or not eps > 0:
                raise ValueError(f"bad Adam arguments: lr={lr!r}, beta1={beta1!r}, beta2={beta2!r}, eps={eps!r}")
            state["t"] += 1
            for key in params:
                m, v = state["m"][key], state["v"][key]
                m *= beta1
                m += (1 - beta1) * grads[key]
                v *= beta2
                v += (1 - beta2) * grads[key] ** 2
                params[key] -= lr * m / (np.sqrt(v) + eps)
            return params
    """),
    # Learner walkthrough of Part III: im2col's axis order, and NumPy's indexed += --------------------
    # The classic im2col mistake: the product is right, then reshaped straight to (N, F, H_out, W_out).
    # With F = 1 (the docstring's examples) the layout cannot show; the frozen example (F = 2) shows it first.
    m("conv_im2col_rows_reshaped_without_moving_the_filter_axis", "conv", "conv2d_forward",
      "test_conv2d_forward_matches_pytorch_on_a_frozen_example", "one row per output position", """
        def conv2d_forward(x, w, b, stride=1, pad=0):
            from numpy.lib.stride_tricks import sliding_window_view
            n, c, h, width = x.shape
            f, _, kh, kw = w.shape
            xpad = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
            win = sliding_window_view(xpad, (kh, kw), axis=(2, 3))[:, :, ::stride, ::stride]
            h_out, w_out = win.shape[2], win.shape[3]
            cols = win.transpose(0, 2, 3, 1, 4, 5).reshape(n * h_out * w_out, c * kh * kw)
            out = (cols @ w.reshape(f, -1).T + b).reshape(n, f, h_out, w_out)  # (N*H_out*W_out, F) reshaped
            return out, None
    """),
    # The same with one row per filter: right whenever N = 1, so the frozen example passes; N = 2 shows it.
    m("conv_im2col_filter_rows_reshaped_without_moving_the_batch_axis", "conv", "conv2d_forward",
      "test_conv2d_forward_adds_one_bias_per_filter", "one row per filter", """
        def conv2d_forward(x, w, b, stride=1, pad=0):
            from numpy.lib.stride_tricks import sliding_window_view
            n, c, h, width = x.shape
            f, _, kh, kw = w.shape
            xpad = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
            win = sliding_window_view(xpad, (kh, kw), axis=(2, 3))[:, :, ::stride, ::stride]
            h_out, w_out = win.shape[2], win.shape[3]
            cols = win.transpose(1, 4, 5, 0, 2, 3).reshape(c * kh * kw, n * h_out * w_out)
            out = (w.reshape(f, -1) @ cols + b[:, None]).reshape(n, f, h_out, w_out)  # (F, N*H_out*W_out) reshaped
            return out, None
    """),
    # Backwards, dout reshaped straight to the product's layout: every gradient is computed from a scrambled dout.
    m("conv_backward_dout_reshaped_to_filter_rows_without_moving_the_batch_axis", "conv", "conv2d_backward",
      "test_conv2d_backward_passes_numerical_gradient_checks", "dout reshaped", """
        def conv2d_backward(dout, cache):
            x_shape, cols, w, stride, pad = cache
            n, c, h, width = x_shape
            f, _, kh, kw = w.shape
            _, _, h_out, w_out = dout.shape
            dout_mat = dout.reshape(f, n * h_out * w_out)  # should be (F, N*H_out*W_out) in cols' column order
            dw = (dout_mat @ cols.T).reshape(w.shape)
            dcols = (w.reshape(f, -1).T @ dout_mat).reshape(c, kh, kw, n, h_out, w_out)
            dxpad = np.zeros((c, n, h + 2 * pad, width + 2 * pad), dtype=dout.dtype)
            for p in range(kh):
                for q in range(kw):
                    dxpad[:, :, p:p + stride * h_out:stride, q:q + stride * w_out:stride] += dcols[:, p, q]
            return np.ascontiguousarray(dxpad[:, :, pad:pad + h, pad:pad + width].transpose(1, 0, 2, 3)), dw, \
                dout_mat.sum(axis=1)
    """),
    m("conv_backward_dout_reshaped_to_position_rows_without_moving_the_filter_axis", "conv", "conv2d_backward",
      "test_conv2d_backward_matches_pytorch_on_a_frozen_example", "dout reshaped", """
        def conv2d_backward(dout, cache):
            x_shape, cols, w, stride, pad = cache
            n, c, h, width = x_shape
            f, _, kh, kw = w.shape
            _, _, h_out, w_out = dout.shape
            dout_mat = dout.reshape(n * h_out * w_out, f)  # one row per position (n, i, j) wanted
            dw = (cols @ dout_mat).T.reshape(w.shape)
            dcols = (dout_mat @ w.reshape(f, -1)).T.reshape(c, kh, kw, n, h_out, w_out)
            dxpad = np.zeros((c, n, h + 2 * pad, width + 2 * pad), dtype=dout.dtype)
            for p in range(kh):
                for q in range(kw):
                    dxpad[:, :, p:p + stride * h_out:stride, q:q + stride * w_out:stride] += dcols[:, p, q]
            return np.ascontiguousarray(dxpad[:, :, pad:pad + h, pad:pad + width].transpose(1, 0, 2, 3)), dw, \
                dout_mat.sum(axis=0)
    """),
    # col2im built channel first, (C, N, H, W), then reshaped to x's shape: right values, wrong places (N, C > 1).
    m("conv_backward_dx_reshaped_without_moving_the_channel_axis", "conv", "conv2d_backward",
      "test_conv2d_backward_passes_numerical_gradient_checks", "the values are right but their layout is wrong", """
        def conv2d_backward(dout, cache):
            x_shape, cols, w, stride, pad = cache
            n, c, h, width = x_shape
            f, _, kh, kw = w.shape
            _, _, h_out, w_out = dout.shape
            dout_mat = dout.transpose(1, 0, 2, 3).reshape(f, n * h_out * w_out)
            dw = (dout_mat @ cols.T).reshape(w.shape)
            dcols = (w.reshape(f, -1).T @ dout_mat).reshape(c, kh, kw, n, h_out, w_out)
            dxpad = np.zeros((c, n, h + 2 * pad, width + 2 * pad), dtype=dout.dtype)
            for p in range(kh):
                for q in range(kw):
                    dxpad[:, :, p:p + stride * h_out:stride, q:q + stride * w_out:stride] += dcols[:, p, q]
            dx = np.ascontiguousarray(dxpad[:, :, pad:pad + h, pad:pad + width]).reshape(n, c, h, width)
            return dx, dw, dout_mat.sum(axis=1)
    """),
    # dw as (C*KH*KW, F), the product's layout, reshaped straight to w's shape (F, C, KH, KW).
    m("conv_backward_dw_reshaped_without_moving_the_filter_axis", "conv", "conv2d_backward",
      "test_conv2d_backward_matches_pytorch_on_a_frozen_example", "the values are right but their layout is wrong", """
        def conv2d_backward(dout, cache):
            x_shape, cols, w, stride, pad = cache
            n, c, h, width = x_shape
            f, _, kh, kw = w.shape
            _, _, h_out, w_out = dout.shape
            dout_mat = dout.transpose(1, 0, 2, 3).reshape(f, n * h_out * w_out)
            dw = (cols @ dout_mat.T).reshape(w.shape)  # (C*KH*KW, F) reshaped
            dcols = (w.reshape(f, -1).T @ dout_mat).reshape(c, kh, kw, n, h_out, w_out)
            dxpad = np.zeros((c, n, h + 2 * pad, width + 2 * pad), dtype=dout.dtype)
            for p in range(kh):
                for q in range(kw):
                    dxpad[:, :, p:p + stride * h_out:stride, q:q + stride * w_out:stride] += dcols[:, p, q]
            return np.ascontiguousarray(dxpad[:, :, pad:pad + h, pad:pad + width].transpose(1, 0, 2, 3)), dw, \
                dout_mat.sum(axis=1)
    """),
    # The learner's vectorised backward: an indexed += over index arrays adds once where positions repeat, so
    # the frozen example (four overlapping windows sharing one maximum) is the first to show it.
    m("pool_backward_fancy_index_plus_equals_loses_shared_maxima", "pool", "maxpool_backward",
      "test_maxpool_backward_matches_pytorch_on_a_frozen_example", "counts that position once",
      with_argmax_pool_forward("""
        def maxpool_backward(dout, cache):
            (n, c, h, w), where, size, stride = cache
            _, _, h_out, w_out = dout.shape
            rows = np.arange(h_out)[:, None] * stride + where // size
            cols = np.arange(w_out)[None, :] * stride + where % size
            n_idx, c_idx, _, _ = np.indices(dout.shape)
            dx = np.zeros((n, c, h, w), dtype=dout.dtype)
            dx[n_idx, c_idx, rows, cols] += dout
            return dx
    """)),
]


# Correct implementations in other styles than the reference: every suite must pass on them
# (selftests/test_mutants.py). A suite tests behaviour, not the path, nor the wording of a message.
STYLES = [
    m("one_hot_message_with_a_list_shape", "one_hot", "one_hot", "", "", """
        def one_hot(labels, num_classes=10):
            labels = np.asarray(labels)
            if labels.ndim != 1:
                raise ValueError(f"labels must be 1-D, got a {labels.ndim}-D array of shape {list(labels.shape)}")
            bad = labels[(labels < 0) | (labels >= num_classes) | (labels != np.round(labels))]
            if bad.size:
                raise ValueError(f"invalid label {bad[0]}")
            return np.eye(num_classes)[labels.astype(int)]
    """),
    m("one_hot_message_with_an_x", "one_hot", "one_hot", "", "", """
        def one_hot(labels, num_classes=10):
            labels = np.asarray(labels)
            if labels.ndim == 0:
                raise ValueError("expected a 1-D array of labels, got a 0-d array (a scalar)")
            if labels.ndim != 1:
                raise ValueError("expected a 1-D array of labels, got a " + "x".join(map(str, labels.shape)) + " array")
            for value in labels:
                if value < 0 or value >= num_classes or value != int(value):
                    raise ValueError(f"label {value} is not a class in 0..{num_classes - 1}")
            out = np.zeros((len(labels), num_classes))
            for row, value in enumerate(labels):
                out[row, int(value)] = 1.0
            return out
    """),
    m("softmax_log_sum_exp", "softmax", "softmax", "", "", """
        def softmax(z):
            m = np.max(z, axis=-1, keepdims=True)
            return np.exp(z - m - np.log(np.sum(np.exp(z - m), axis=-1, keepdims=True)))
    """),
    m("cross_entropy_true_class_only", "cross_entropy", "cross_entropy", "", "", """
        def cross_entropy(probs, targets):
            picked = probs[np.arange(len(probs)), np.argmax(targets, axis=1)]
            return float(-np.mean(np.log(np.maximum(picked, 1e-12))))
    """),
    m("forward_own_stable_softmax", "backprop", "forward", "", "", """
        def forward(params, X):
            z1 = X @ params["W1"] + params["b1"]
            h = np.where(z1 > 0, z1, 0)
            z2 = h @ params["W2"] + params["b2"]
            e = np.exp(z2 - z2.max(axis=1, keepdims=True))
            probs = e / e.sum(axis=1, keepdims=True)
            return probs, {"X": X, "z1": z1, "h": h, "probs": probs}
    """),
]


def build_package(mutant: Mutant | None, solutions: Path, dest: Path, name: str | None = None) -> Path:
    """Copy the reference package to dest/<name> and swap in the mutant's function (None: no change)."""
    package = dest / (name or mutant.package)
    shutil.copytree(solutions, package, ignore=shutil.ignore_patterns("__pycache__"))
    if mutant is not None:
        swap_function(package, mutant)
    return package


def swap_function(package: Path, mutant: Mutant) -> None:
    """Replace mutant.function in package/<mutant.module>.py by mutant.source."""
    path = package / f"{mutant.module}.py"
    text = path.read_text(encoding="utf-8")
    node = next(n for n in ast.parse(text).body if isinstance(n, ast.FunctionDef) and n.name == mutant.function)
    lines = text.splitlines(keepends=True)
    start = (node.decorator_list[0].lineno if node.decorator_list else node.lineno) - 1
    path.write_text("".join(lines[:start]) + mutant.source + "".join(lines[node.end_lineno:]), encoding="utf-8")
