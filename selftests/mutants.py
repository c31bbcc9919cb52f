"""Deliberately wrong implementations: the mistakes learners really make, one per mutant.

A mutant is the reference package with one mistake made in one function, written as small edits of
the reference module solutions/<module>.py: (old, new) pairs, where `old` is text of the raw file (the
# BEGIN/END SOLUTION markers included) that occurs in it exactly once, inside the function the mutant
changes. So each mutant reads as the mistake it describes, and it stays that mistake while the
reference evolves: an edit whose text the reference no longer holds is a MutantError naming the mutant
and the text (selftests/test_mutants.py applies every edit before anything runs), never a stale copy.

A few mistakes need a body that the reference has no counterpart for (a loop version, a reshape the
vectorised reference never does): those mutants replace the whole function, and a comment says why.

selftests/test_mutants.py runs the stage's suite against every mutant and asserts that it fails, in the
named test, with a message that mentions the named concept. A mistake the suites let through is a hole
in the kata.
"""

from __future__ import annotations

import ast
import shutil
import textwrap
from dataclasses import dataclass
from pathlib import Path


class MutantError(Exception):
    """A mutant that cannot be made from the reference: an edit's text is missing, repeated or misplaced."""


@dataclass(frozen=True)
class Mutant:
    id: str
    module: str  # stage module of solutions/ that is changed
    function: str  # the function the mistake is in
    caught_by: str  # a test of tests/test_<module>.py that must fail: its name, or name[param] for one case
    says: str = ""  # a phrase that test's failure message must contain
    # The function the report's "Next: fix X()" must name, when not `function` (none does today: a mistake
    # that only another function's results can show is still charged to the function that has it, by a test
    # named after that function).
    charged_to: str = ""
    edits: tuple[tuple[str, str], ...] = ()  # (old, new), made in this order on the reference's text
    source: str = ""  # instead of edits: the whole wrong function, which replaces the reference's

    @property
    def package(self) -> str:
        return "kata_mutant_" + self.id

    @property
    def blamed(self) -> str:
        return self.charged_to or self.function


def m(id, module, function, caught_by, says, *edits, charged_to=""):
    """A mutant made by edits: each an (old, new) pair of text of solutions/<module>.py."""
    return Mutant(id, module, function, caught_by, says, charged_to, edits=tuple(edits))


def replaced(id, module, function, caught_by, says, source, charged_to=""):
    """A mutant that replaces the whole function: a style (STYLES), or a mistake no edit of the reference makes."""
    return Mutant(id, module, function, caught_by, says, charged_to, source=textwrap.dedent(source).strip() + "\n")


MUTANTS = [
    # Stage 1: one_hot ----------------------------------------------------------------------
    m("one_hot_no_validation", "one_hot", "one_hot", "test_one_hot_rejects_negative_labels", "ValueError",
      ('    if isinstance(num_classes, bool) or not isinstance(num_classes, (int, np.integer)) or num_classes < 1:\n'
       '        raise ValueError(f"num_classes must be a positive integer, got {num_classes!r}")\n', ''),
      ('    if labels.ndim != 1:\n'
       '        raise ValueError(\n'
       '            f"labels must be a 1-D array of N class labels, got an array of shape {labels.shape}"\n'
       '        )\n'
       '    if labels.size and not (\n'
       '        np.issubdtype(labels.dtype, np.integer) or np.issubdtype(labels.dtype, np.floating)\n'
       '    ):\n'
       '        raise ValueError(f"labels must be whole numbers, got values of type {labels.dtype}: '
       '{labels[0].item()!r}")\n'
       '    if np.issubdtype(labels.dtype, np.floating):\n'
       '        not_whole = labels[~np.isfinite(labels) | (labels != np.round(labels))]\n'
       '        if not_whole.size:\n'
       '            raise ValueError(f"labels must be whole numbers, got {not_whole[0].item()!r}")\n'
       '    out_of_range = labels[(labels < 0) | (labels >= num_classes)]\n'
       '    if out_of_range.size:\n'
       '        raise ValueError(\n'
       '            f"labels must lie in [0, {num_classes}), got {out_of_range[0].item()!r}"\n'
       '        )\n', '')),
    m("one_hot_index_error_for_too_large", "one_hot", "one_hot", "test_one_hot_rejects_a_label_equal_to_num_classes",
      "IndexError",
      ("out_of_range = labels[(labels < 0) | (labels >= num_classes)]", "out_of_range = labels[labels < 0]")),
    m("one_hot_off_by_one_range", "one_hot", "one_hot", "test_one_hot_rejects_a_label_equal_to_num_classes",
      "ValueError",
      ("(labels < 0) | (labels >= num_classes)", "(labels < 0) | (labels > num_classes)")),
    m("one_hot_truncates_floats", "one_hot", "one_hot", "test_one_hot_rejects_non_integer_labels", "2.5",
      ("    labels = np.asarray(labels)\n", "    labels = np.asarray(labels).astype(int)\n")),
    m("one_hot_flattens_2d_input", "one_hot", "one_hot", "test_one_hot_rejects_a_column_of_labels", "1-D",
      ("    labels = np.asarray(labels)\n", "    labels = np.asarray(labels).ravel()\n")),
    m("one_hot_message_without_value", "one_hot", "one_hot", "test_one_hot_rejects_negative_labels",
      "does not name the offending value",
      ('f"labels must lie in [0, {num_classes}), got {out_of_range[0].item()!r}"', '"invalid labels"')),
    m("one_hot_integer_output", "one_hot", "one_hot", "test_one_hot_worked_example", "floats",
      ("out = np.zeros((labels.shape[0], num_classes))", "out = np.zeros((labels.shape[0], num_classes), dtype=int)")),
    m("one_hot_transposed", "one_hot", "one_hot", "test_one_hot_worked_example", "shape",
      ("out = np.zeros((labels.shape[0], num_classes))", "out = np.zeros((num_classes, labels.shape[0]))"),
      ("out[np.arange(labels.shape[0]), labels.astype(np.intp)] = 1.0",
       "out[labels.astype(np.intp), np.arange(labels.shape[0])] = 1.0")),
    m("one_hot_ignores_num_classes", "one_hot", "one_hot", "test_one_hot_worked_example", "shape",
      ("out = np.zeros((labels.shape[0], num_classes))", "out = np.zeros((labels.shape[0], 10))")),
    # Stage 2: relu -------------------------------------------------------------------------
    m("relu_in_place", "relu", "relu", "test_relu_does_not_modify_its_input", "modified its input",
      ("    return np.maximum(z, 0)\n", "    z[z < 0] = 0\n    return z\n")),
    m("relu_leaky", "relu", "relu", "test_relu_worked_example", "leaky ReLU",
      ("return np.maximum(z, 0)", "return np.where(z > 0, z, 0.01 * z)")),
    m("relu_upcasts_to_float64", "relu", "relu", "test_relu_keeps_float32", "dtype",
      ("return np.maximum(z, 0)", "return np.maximum(z, 0).astype(np.float64)")),
    m("relu_backward_kink_ge", "relu", "relu_backward", "test_relu_backward_is_zero_at_the_kink", "z > 0",
      ("return dout * (z > 0)", "return dout * (z >= 0)")),
    m("relu_backward_mask_on_dout", "relu", "relu_backward", "test_relu_backward_takes_the_mask_from_z_not_from_dout",
      "the mask was taken from dout",
      ("return dout * (z > 0)", "return dout * (dout > 0)")),
    m("relu_backward_mask_only", "relu", "relu_backward", "test_relu_backward_worked_example", "the mask itself",
      ("return dout * (z > 0)", "return (z > 0).astype(dout.dtype)")),
    m("relu_backward_no_mask", "relu", "relu_backward", "test_relu_backward_worked_example", "dout unchanged",
      ("return dout * (z > 0)", "return dout.copy()")),
    # Stage 3: softmax ----------------------------------------------------------------------
    m("softmax_no_max_shift", "softmax", "softmax", "test_softmax_huge_logits_do_not_overflow", "maximum",
      ("    shifted = z - z.max(axis=-1, keepdims=True)\n    exps = np.exp(shifted)\n", "    exps = np.exp(z)\n")),
    m("softmax_no_max_shift_in_a_batch", "softmax", "softmax", "test_softmax_rows_of_very_different_scale_in_one_batch",
      "inf / inf",
      ("    shifted = z - z.max(axis=-1, keepdims=True)\n    exps = np.exp(shifted)\n", "    exps = np.exp(z)\n")),
    m("softmax_global_max", "softmax", "softmax", "test_softmax_rows_of_very_different_scale_in_one_batch",
      "its own maximum",
      ("shifted = z - z.max(axis=-1, keepdims=True)", "shifted = z - z.max()")),
    m("softmax_wrong_axis", "softmax", "softmax", "test_softmax_worked_example_batch", "axis",
      ("exps /= exps.sum(axis=-1, keepdims=True)", "exps /= exps.sum(axis=0, keepdims=True)")),
    m("softmax_axis_1_only", "softmax", "softmax", "test_softmax_worked_example_vector", "",
      ("z.max(axis=-1, keepdims=True)", "z.max(axis=1, keepdims=True)"),
      ("exps.sum(axis=-1, keepdims=True)", "exps.sum(axis=1, keepdims=True)")),
    m("softmax_no_keepdims", "softmax", "softmax", "test_softmax_worked_example_batch", "(N, 1)",
      ("exps /= exps.sum(axis=-1, keepdims=True)", "exps /= exps.sum(axis=-1)")),
    m("softmax_divides_by_max", "softmax", "softmax", "test_softmax_rows_are_probability_distributions", "sum to 1",
      ("exps /= exps.sum(axis=-1, keepdims=True)", "exps /= exps.max(axis=-1, keepdims=True)")),
    m("softmax_shifts_in_place", "softmax", "softmax", "test_softmax_does_not_modify_its_input", "modified its input",
      ("    shifted = z - z.max(axis=-1, keepdims=True)\n    exps = np.exp(shifted)\n",
       "    z -= z.max(axis=-1, keepdims=True)\n    exps = np.exp(z)\n")),
    m("softmax_upcasts_to_float64", "softmax", "softmax", "test_softmax_keeps_float32", "dtype",
      ("    shifted = z - z.max(axis=-1, keepdims=True)\n",
       "    z = np.asarray(z, dtype=np.float64)\n    shifted = z - z.max(axis=-1, keepdims=True)\n")),
    # Stage 4: cross_entropy ------------------------------------------------------------------
    m("cross_entropy_summed", "cross_entropy", "cross_entropy", "test_cross_entropy_worked_example_batch_is_the_mean",
      "mean",
      ("return float(-np.sum(targets * np.log(np.clip(probs, EPS, 1.0))) / n)",
       "return float(-np.sum(targets * np.log(np.clip(probs, EPS, 1.0))))")),
    m("cross_entropy_mean_over_all_entries", "cross_entropy", "cross_entropy",
      "test_cross_entropy_worked_example_one_row", "divided by the number of classes",
      ("return float(-np.sum(targets * np.log(np.clip(probs, EPS, 1.0))) / n)",
       "return float(-np.mean(targets * np.log(np.clip(probs, EPS, 1.0))))")),
    m("cross_entropy_no_clip", "cross_entropy", "cross_entropy",
      "test_cross_entropy_is_finite_when_probabilities_are_exactly_zero", "clip",
      ("np.log(np.clip(probs, EPS, 1.0))", "np.log(probs)")),
    m("cross_entropy_returns_per_example_losses", "cross_entropy", "cross_entropy",
      "test_cross_entropy_worked_example_one_row", "Python float",
      ("return float(-np.sum(targets * np.log(np.clip(probs, EPS, 1.0))) / n)",
       "return -np.sum(targets * np.log(np.clip(probs, EPS, 1.0)), axis=1)")),
    m("cross_entropy_clips_in_place", "cross_entropy", "cross_entropy",
      "test_cross_entropy_does_not_modify_its_inputs", "modified its input",
      ("    n = probs.shape[0]\n", "    np.clip(probs, EPS, 1.0, out=probs)\n    n = probs.shape[0]\n"),
      ("np.log(np.clip(probs, EPS, 1.0))", "np.log(probs)")),
    m("cross_entropy_adds_epsilon", "cross_entropy", "cross_entropy",
      "test_cross_entropy_matches_an_independent_implementation", "adding a constant",
      ("np.log(np.clip(probs, EPS, 1.0))", "np.log(probs + 1e-7)")),
    m("cross_entropy_clips_to_a_large_floor", "cross_entropy", "cross_entropy",
      "test_cross_entropy_is_large_but_finite_when_the_true_class_has_probability_zero", "tiny floor",
      ("np.clip(probs, EPS, 1.0)", "np.clip(probs, 0.01, 1.0)")),
    m("cross_entropy_log2", "cross_entropy", "cross_entropy", "test_cross_entropy_worked_example_one_row", "base 2",
      ("np.log(np.clip(probs, EPS, 1.0))", "np.log2(np.clip(probs, EPS, 1.0))")),
    m("ce_backward_missing_1_over_n", "cross_entropy", "softmax_cross_entropy_backward",
      "test_softmax_cross_entropy_backward_worked_example", "times too large",
      ("((probs - targets) / probs.shape[0]).astype", "(probs - targets).astype")),
    m("ce_backward_sign_flipped", "cross_entropy", "softmax_cross_entropy_backward",
      "test_softmax_cross_entropy_backward_is_probs_minus_targets_over_n", "sign",
      ("((probs - targets) / probs.shape[0])", "((targets - probs) / probs.shape[0])")),
    m("ce_backward_divides_by_classes", "cross_entropy", "softmax_cross_entropy_backward",
      "test_softmax_cross_entropy_backward_passes_a_numerical_gradient_check", "number of classes",
      ("((probs - targets) / probs.shape[0])", "((probs - targets) / probs.shape[1])")),
    m("ce_backward_upcasts", "cross_entropy", "softmax_cross_entropy_backward",
      "test_softmax_cross_entropy_backward_keeps_float32", "dtype",
      ("return ((probs - targets) / probs.shape[0]).astype(probs.dtype, copy=False)",
       "return (np.asarray(probs, dtype=float) - targets) / probs.shape[0]")),
    # Stage 5: backprop -------------------------------------------------------------------------
    m("dense_forward_forgets_bias", "backprop", "dense_forward", "test_dense_forward_worked_example", "x W + b",
      ("return x @ W + b", "return x @ W")),
    m("dense_backward_bias_not_summed", "backprop", "dense_backward", "test_dense_backward_worked_example", "db",
      ("return dout @ W.T, x.T @ dout, dout.sum(axis=0)", "return dout @ W.T, x.T @ dout, dout")),
    m("dense_backward_bias_averaged", "backprop", "dense_backward", "test_dense_backward_worked_example", "sum",
      ("return dout @ W.T, x.T @ dout, dout.sum(axis=0)", "return dout @ W.T, x.T @ dout, dout.mean(axis=0)")),
    m("dense_backward_dW_transposed", "backprop", "dense_backward", "test_dense_backward_worked_example", "dW",
      ("return dout @ W.T, x.T @ dout, dout.sum(axis=0)", "return dout @ W.T, dout.T @ x, dout.sum(axis=0)")),
    m("dense_backward_dx_forgets_transpose", "backprop", "dense_backward",
      "test_dense_backward_passes_numerical_gradient_checks", "",
      ("return dout @ W.T, x.T @ dout, dout.sum(axis=0)", "return dout @ W, x.T @ dout, dout.sum(axis=0)")),
    m("forward_without_relu", "backprop", "forward", "test_forward_matches_an_independent_implementation", "ReLU",
      ("h = relu(z1)", "h = z1")),
    m("forward_returns_logits", "backprop", "forward", "test_forward_worked_example", "not the logits",
      ('    probs = softmax(dense_forward(h, params["W2"], params["b2"]))\n'
       '    return probs, {"X": X, "z1": z1, "h": h, "probs": probs}\n',
       '    z2 = dense_forward(h, params["W2"], params["b2"])\n'
       '    return z2, {"X": X, "z1": z1, "h": h, "probs": softmax(z2)}\n')),
    m("forward_own_softmax_without_shift", "backprop", "forward", "test_forward_handles_large_logits", "stage 3",
      ('    probs = softmax(dense_forward(h, params["W2"], params["b2"]))\n',
       '    e = np.exp(dense_forward(h, params["W2"], params["b2"]))\n'
       '    probs = e / e.sum(axis=1, keepdims=True)\n')),
    m("forward_returns_a_list", "backprop", "forward", "test_forward_worked_example", "a tuple",
      ('return probs, {"X": X, "z1": z1, "h": h, "probs": probs}',
       'return [probs, {"X": X, "z1": z1, "h": h, "probs": probs}]')),
    m("backward_missing_1_over_n", "backprop", "backward",
      "test_backward_passes_numerical_gradient_checks_for_every_parameter", "times too large",
      ('dz2 = softmax_cross_entropy_backward(cache["probs"], targets)', 'dz2 = cache["probs"] - targets')),
    m("backward_relu_mask_on_wrong_array", "backprop", "backward",
      "test_backward_passes_numerical_gradient_checks_for_every_parameter", "numerical gradient check",
      ('dz1 = relu_backward(dh, cache["z1"])', 'dz1 = relu_backward(dh, dh)')),
    m("backward_forgets_relu", "backprop", "backward",
      "test_backward_passes_numerical_gradient_checks_for_every_parameter", "numerical gradient check",
      ('dz1 = relu_backward(dh, cache["z1"])', 'dz1 = dh')),
    m("backward_uses_z1_for_dW2", "backprop", "backward",
      "test_backward_passes_numerical_gradient_checks_for_every_parameter", "W2",
      ('dense_backward(dz2, cache["h"], params["W2"])', 'dense_backward(dz2, cache["z1"], params["W2"])')),
    m("backward_swaps_bias_gradients", "backprop", "backward", "test_backward_worked_example", "shape",
      ('return {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2}', 'return {"W1": dW1, "b1": db2, "W2": dW2, "b2": db1}')),
    # Stage 6: init -------------------------------------------------------------------------------
    # random_init and he_init share their loop and bias lines: an edit of he_init names its weight line too.
    m("he_init_fan_out", "init", "he_init", "test_he_init_scales_by_fan_in", "scaled by fan_out",
      ("np.sqrt(2.0 / fan_in)", "np.sqrt(2.0 / fan_out)")),
    m("he_init_xavier_variance", "init", "he_init", "test_he_init_scales_by_fan_in", "ReLU zeroes half",
      ("np.sqrt(2.0 / fan_in)", "np.sqrt(1.0 / fan_in)")),
    m("he_init_glorot", "init", "he_init", "test_he_init_scales_by_fan_in", "Glorot",
      ("np.sqrt(2.0 / fan_in)", "np.sqrt(2.0 / (fan_in + fan_out))")),
    m("he_init_variance_as_deviation", "init", "he_init", "test_he_init_scales_by_fan_in", "it is the variance",
      ("np.sqrt(2.0 / fan_in)", "(2.0 / fan_in)")),
    m("he_init_uniform", "init", "he_init", "test_he_init_scales_by_fan_in", "normally distributed",
      ('        params[f"W{layer}"] = rng.standard_normal((fan_in, fan_out)) * np.sqrt(2.0 / fan_in)\n',
       '        limit = np.sqrt(6.0 / fan_in)\n'
       '        params[f"W{layer}"] = rng.uniform(-limit, limit, (fan_in, fan_out))\n')),
    m("he_init_global_random_state", "init", "he_init",
      "test_random_init_and_he_init_leave_the_global_random_state_alone[he_init]", "global random state",
      ("rng.standard_normal((fan_in, fan_out)) * np.sqrt(2.0 / fan_in)",
       "np.random.randn(fan_in, fan_out) * np.sqrt(2.0 / fan_in)")),
    m("he_init_fixed_seed_inside", "init", "he_init",
      "test_random_init_and_he_init_give_the_same_weights_for_the_same_seed[he_init]", "ignores the generator",
      ('    params = {}\n'
       '    for layer, (fan_in, fan_out) in enumerate(zip(layer_sizes[:-1], layer_sizes[1:]), start=1):\n'
       '        params[f"W{layer}"] = rng.standard_normal((fan_in, fan_out)) * np.sqrt(2.0 / fan_in)\n',
       '    rng = np.random.default_rng(0)\n'
       '    params = {}\n'
       '    for layer, (fan_in, fan_out) in enumerate(zip(layer_sizes[:-1], layer_sizes[1:]), start=1):\n'
       '        params[f"W{layer}"] = rng.standard_normal((fan_in, fan_out)) * np.sqrt(2.0 / fan_in)\n')),
    m("he_init_random_biases", "init", "he_init",
      "test_random_init_and_he_init_return_the_right_keys_shapes_and_zero_biases[he_init]", "zeros",
      ('np.sqrt(2.0 / fan_in)\n        params[f"b{layer}"] = np.zeros(fan_out)',
       'np.sqrt(2.0 / fan_in)\n        params[f"b{layer}"] = rng.standard_normal(fan_out) * 0.01')),
    m("he_init_2d_biases", "init", "he_init",
      "test_random_init_and_he_init_return_the_right_keys_shapes_and_zero_biases[he_init]", "shape",
      ('np.sqrt(2.0 / fan_in)\n        params[f"b{layer}"] = np.zeros(fan_out)',
       'np.sqrt(2.0 / fan_in)\n        params[f"b{layer}"] = np.zeros((1, fan_out))')),
    m("he_init_keys_from_zero", "init", "he_init",
      "test_random_init_and_he_init_return_the_right_keys_shapes_and_zero_biases[he_init]", "keys",
      ('layer_sizes[1:]), start=1):\n        params[f"W{layer}"] = rng.standard_normal',
       'layer_sizes[1:])):\n        params[f"W{layer}"] = rng.standard_normal')),
    m("random_init_ignores_scale", "init", "random_init", "test_random_init_uses_its_scale_argument", "scale",
      ("scale * rng.standard_normal((fan_in, fan_out))", "0.01 * rng.standard_normal((fan_in, fan_out))")),
    m("random_init_unscaled", "init", "random_init", "test_random_init_has_the_default_scale_of_0_01",
      "not multiplied by scale",
      ("scale * rng.standard_normal((fan_in, fan_out))", "rng.standard_normal((fan_in, fan_out))")),
    m("random_init_uniform_0_1", "init", "random_init", "test_random_init_has_the_default_scale_of_0_01", "",
      ("scale * rng.standard_normal((fan_in, fan_out))", "scale * rng.random((fan_in, fan_out))")),
    # Stage 7: gradient_descent --------------------------------------------------------------------
    m("sgd_step_not_in_place", "gradient_descent", "sgd_step", "test_sgd_step_worked_example", "in place",
      ("params[key] -= lr * grad", "params[key] = params[key] - lr * grad")),
    m("sgd_step_returns_a_new_dict", "gradient_descent", "sgd_step", "test_sgd_step_worked_example", "in place",
      ("    for key, grad in grads.items():\n        params[key] -= lr * grad\n    return params\n",
       "    return {key: params[key] - lr * grads[key] for key in params}\n")),
    m("sgd_step_wrong_sign", "gradient_descent", "sgd_step", "test_sgd_step_worked_example", "downhill",
      ("params[key] -= lr * grad", "params[key] += lr * grad")),
    m("sgd_step_only_weights", "gradient_descent", "sgd_step",
      "test_sgd_step_moves_every_parameter_against_its_gradient", "every key",
      ("        params[key] -= lr * grad\n", '        if key.startswith("W"):\n            params[key] -= lr * grad\n')),
    m("minibatches_not_shuffled", "gradient_descent", "minibatches", "test_minibatches_are_shuffled", "shuffle",
      ("order = rng.permutation(num_examples)", "order = np.arange(num_examples)")),
    m("minibatches_drop_last", "gradient_descent", "minibatches", "test_minibatches_worked_example", "last",
      ("range(0, num_examples, batch_size)", "range(0, num_examples - batch_size + 1, batch_size)")),
    m("minibatches_with_replacement", "gradient_descent", "minibatches",
      "test_minibatches_visit_every_example_exactly_once_per_epoch", "exactly once",
      ("    order = rng.permutation(num_examples)\n", ""),
      ("yield order[start:start + batch_size]",
       "yield rng.integers(0, num_examples, min(batch_size, num_examples - start))")),
    m("minibatches_off_by_one_slice", "gradient_descent", "minibatches",
      "test_minibatches_visit_every_example_exactly_once_per_epoch", "exactly once",
      ("yield order[start:start + batch_size]",
       "yield order[start:start + batch_size - 1] if batch_size > 1 else order[start:start + 1]")),
    m("minibatches_global_random_state", "gradient_descent", "minibatches",
      "test_minibatches_leave_the_global_random_state_alone", "global random state",
      ("order = rng.permutation(num_examples)", "order = np.random.permutation(num_examples)")),
    m("minibatches_fixed_seed_inside", "gradient_descent", "minibatches",
      "test_minibatches_reshuffle_every_epoch", "different orders",
      ("order = rng.permutation(num_examples)", "order = np.random.default_rng(0).permutation(num_examples)")),
    # Stage 8: regularization (Part II) ------------------------------------------------------
    m("l2_penalty_includes_biases", "regularization", "l2_penalty", "test_l2_penalty_worked_example", "biases",
      ('for key, value in params.items() if key.startswith("W"))', "for key, value in params.items())")),
    m("l2_penalty_missing_half", "regularization", "l2_penalty", "test_l2_penalty_worked_example", "0.5",
      ("return float(0.5 * weight_decay * total)", "return float(weight_decay * total)")),
    m("l2_penalty_only_w1_and_w2", "regularization", "l2_penalty", "test_l2_penalty_matches_the_formula_for_any_weights",
      "Every W key",
      ('sum(float(np.sum(np.square(value))) for key, value in params.items() if key.startswith("W"))',
       'sum(float(np.sum(np.square(params[key]))) for key in ("W1", "W2") if key in params)')),
    # Both conversions to a Python float must go: the sum of Python floats would be one.
    m("l2_penalty_returns_a_numpy_scalar", "regularization", "l2_penalty",
      "test_l2_penalty_returns_a_python_float_for_float32_weights", "Python float",
      ("sum(float(np.sum(np.square(value))) for key", "sum(np.sum(np.square(value)) for key"),
      ("return float(0.5 * weight_decay * total)", "return 0.5 * weight_decay * total")),
    m("l2_penalty_no_validation", "regularization", "l2_penalty", "test_l2_penalty_rejects_a_bad_weight_decay",
      "ValueError",
      ('    if not np.isfinite(weight_decay) or weight_decay < 0:\n'
       '        raise ValueError(f"weight_decay must be a finite number >= 0, got {weight_decay!r}")\n'
       '    total = ', '    total = ')),
    m("l2_gradient_two_lambda", "regularization", "l2_gradient", "test_l2_gradient_is_the_gradient_of_the_penalty",
      "gradient of the penalty",
      ("grad + (weight_decay * params[key])", "grad + (2 * weight_decay * params[key])")),
    m("l2_gradient_includes_biases", "regularization", "l2_gradient", "test_l2_gradient_worked_example", "bias",
      ('grad + (weight_decay * params[key]).astype(grad.dtype, copy=False) if key.startswith("W") else grad',
       "grad + (weight_decay * params[key]).astype(grad.dtype, copy=False)")),
    m("l2_gradient_in_place", "regularization", "l2_gradient", "test_l2_gradient_does_not_modify_params_or_grads",
      "modified grads",
      ('    return {key: grad + (weight_decay * params[key]).astype(grad.dtype, copy=False) if key.startswith("W") else grad\n'
       '            for key, grad in grads.items()}\n',
       '    for key in grads:\n'
       '        if key.startswith("W"):\n'
       '            grads[key] += weight_decay * params[key]\n'
       '    return dict(grads)\n')),
    m("l2_gradient_sign_like_l1", "regularization", "l2_gradient", "test_l2_gradient_is_the_gradient_of_the_penalty",
      "numerical gradient check",
      ("weight_decay * params[key]", "weight_decay * np.sign(params[key])")),
    m("l2_gradient_drops_the_bias_keys", "regularization", "l2_gradient", "test_l2_gradient_worked_example", "keys",
      (' if key.startswith("W") else grad\n            for key, grad in grads.items()}',
       '\n            for key, grad in grads.items() if key.startswith("W")}')),
    # The penalty's part left in the parameters' dtype: float32 gradients of float64 weights come back float64.
    m("l2_gradient_float64_for_float32_gradients_of_float64_weights", "regularization", "l2_gradient",
      "test_l2_gradient_keeps_the_gradients_dtype_whatever_the_weights_dtype", "gradients' dtype",
      ("(weight_decay * params[key]).astype(grad.dtype, copy=False)", "weight_decay * params[key]")),
    m("l2_gradient_no_validation", "regularization", "l2_gradient", "test_l2_gradient_rejects_a_bad_weight_decay",
      "ValueError",
      ('    if not np.isfinite(weight_decay) or weight_decay < 0:\n'
       '        raise ValueError(f"weight_decay must be a finite number >= 0, got {weight_decay!r}")\n'
       '    weight_decay = float(weight_decay)', '    weight_decay = float(weight_decay)')),
    # Stage 9: dropout (Part II) -------------------------------------------------------------
    m("dropout_without_inverted_scaling", "dropout", "dropout_forward",
      "test_dropout_forward_mask_is_zero_or_the_inverted_scale", "scaling by 1 / (1 - p_drop) is missing",
      ("mask = keep.astype(x.dtype) / (1.0 - float(p_drop))  # a Python float keeps x's dtype",
       "mask = keep.astype(x.dtype)")),
    m("dropout_multiplies_by_keep_probability", "dropout", "dropout_forward",
      "test_dropout_forward_mask_is_zero_or_the_inverted_scale", "not multiplied",
      ("keep.astype(x.dtype) / (1.0 - float(p_drop))", "keep.astype(x.dtype) * (1.0 - float(p_drop))")),
    m("dropout_keeps_with_probability_p", "dropout", "dropout_forward", "test_dropout_forward_drops_the_right_fraction",
      "keeps elements with probability p_drop",
      ("keep = rng.random(x.shape) >= p_drop", "keep = rng.random(x.shape) < p_drop")),
    m("dropout_global_random_state", "dropout", "dropout_forward",
      "test_dropout_forward_leaves_the_global_random_state_alone", "global random state",
      ("keep = rng.random(x.shape) >= p_drop", "keep = np.random.rand(*x.shape) >= p_drop")),
    m("dropout_fixed_seed_inside", "dropout", "dropout_forward", "test_dropout_forward_draws_a_fresh_mask_at_every_call",
      "new mask",
      ("keep = rng.random(x.shape) >= p_drop", "keep = np.random.default_rng(0).random(x.shape) >= p_drop")),
    m("dropout_one_mask_for_the_whole_batch", "dropout", "dropout_forward",
      "test_dropout_forward_drops_each_element_independently", "independently",
      ("keep = rng.random(x.shape) >= p_drop", "keep = np.broadcast_to(rng.random(x.shape[-1]) >= p_drop, x.shape)")),
    # An exact fraction: round(p * size) elements chosen by a permutation. Every statistic of one mask is right; the
    # number dropped never varies, so the elements are not independent.
    m("dropout_exact_count_chosen_by_a_permutation", "dropout", "dropout_forward",
      "test_dropout_forward_drops_a_number_of_elements_that_varies_from_call_to_call", "not dropped independently",
      ("    keep = rng.random(x.shape) >= p_drop\n",
       "    keep = np.ones(x.size, dtype=bool)\n"
       "    keep[rng.permutation(x.size)[:round(p_drop * x.size)]] = False\n"
       "    keep = keep.reshape(x.shape)\n")),
    m("dropout_float64_mask", "dropout", "dropout_forward", "test_dropout_forward_keeps_float32", "dtype",
      ("mask = keep.astype(x.dtype) / (1.0 - float(p_drop))", "mask = keep / (1.0 - float(p_drop))")),
    m("dropout_in_place_on_x", "dropout", "dropout_forward", "test_dropout_forward_does_not_modify_its_input",
      "modified its input x",
      ("    return x * mask, mask\n", "    x *= mask\n    return x, mask\n")),
    m("dropout_accepts_p_drop_one", "dropout", "dropout_forward", "test_dropout_forward_rejects_a_bad_p_drop",
      "p_drop = 1",
      ("if not 0 <= p_drop < 1:", "if not 0 <= p_drop <= 1:")),
    m("dropout_backward_unscaled", "dropout", "dropout_backward", "test_dropout_backward_passes_the_gradient_of_dropout",
      "numerical gradient check",
      ("return dout * mask", "return dout * (mask != 0)")),
    m("dropout_backward_mask_from_dout", "dropout", "dropout_backward", "test_dropout_backward_worked_example",
      "where the mask is 0",
      ("return dout * mask", "return dout * (dout > 0) * mask")),
    m("dropout_backward_ignores_the_mask", "dropout", "dropout_backward",
      "test_dropout_backward_is_zero_exactly_where_the_forward_pass_dropped", "exactly where",
      ("return dout * mask", "return dout.copy()")),
    m("dropout_backward_in_place", "dropout", "dropout_backward", "test_dropout_backward_does_not_modify_its_inputs",
      "modified its input dout",
      ("    return dout * mask\n", "    dout *= mask\n    return dout\n")),
    # Stage 10: optimizers (Part II) ---------------------------------------------------------
    m("momentum_init_float64", "optimizers", "momentum_init", "test_momentum_init_keeps_float32", "dtype",
      ("return {key: np.zeros_like(value) for key, value in params.items()}",
       "return {key: np.zeros(value.shape) for key, value in params.items()}")),
    m("momentum_init_shares_the_weights", "optimizers", "momentum_init", "test_momentum_init_worked_example",
      "start at zero",
      ("return {key: np.zeros_like(value) for key, value in params.items()}", "return dict(params)")),
    m("momentum_with_dampening", "optimizers", "momentum_step", "test_momentum_step_matches_pytorch_sgd_with_momentum",
      "dampening",
      ("velocity[key] += grads[key]", "velocity[key] += (1 - momentum) * grads[key]")),
    m("momentum_steps_with_the_old_velocity", "optimizers", "momentum_step",
      "test_momentum_step_matches_pytorch_sgd_with_momentum", "old velocity",
      ("        velocity[key] *= momentum\n"
       "        velocity[key] += grads[key]\n"
       "        params[key] -= lr * velocity[key]\n",
       "        params[key] -= lr * velocity[key]\n"
       "        velocity[key] *= momentum\n"
       "        velocity[key] += grads[key]\n")),
    m("momentum_cs231n_velocity", "optimizers", "momentum_step", "test_momentum_step_matches_pytorch_sgd_with_momentum",
      "without lr and without a minus sign",
      ("        velocity[key] += grads[key]\n        params[key] -= lr * velocity[key]\n",
       "        velocity[key] -= lr * grads[key]\n        params[key] += velocity[key]\n")),
    m("momentum_velocity_not_in_place", "optimizers", "momentum_step",
      "test_momentum_step_updates_params_and_velocity_in_place", "in place",
      ("        velocity[key] *= momentum\n        velocity[key] += grads[key]\n",
       "        velocity[key] = momentum * velocity[key] + grads[key]\n")),
    m("momentum_only_the_keys_of_the_first_layer", "optimizers", "momentum_step",
      "test_momentum_step_follows_the_formula_over_several_steps", "every key",
      ("    for key in params:\n        velocity[key] *= momentum\n",
       '    for key in ("W1", "b1"):\n'
       "        if key not in params:\n"
       "            continue\n"
       "        velocity[key] *= momentum\n")),
    m("momentum_accepts_momentum_one", "optimizers", "momentum_step", "test_momentum_step_rejects_bad_arguments",
      "momentum = 1",
      ("if not 0 <= momentum < 1:", "if not 0 <= momentum <= 1:")),
    m("adam_init_m_and_v_share_arrays", "optimizers", "adam_init", "test_adam_init_worked_example", "separate",
      ('    return {\n        "t": 0,\n',
       '    zeros = {key: np.zeros_like(value) for key, value in params.items()}\n    return {\n        "t": 0,\n'),
      ('        "m": {key: np.zeros_like(value) for key, value in params.items()},\n'
       '        "v": {key: np.zeros_like(value) for key, value in params.items()},\n',
       '        "m": zeros,\n        "v": zeros,\n')),
    m("adam_init_starts_at_step_one", "optimizers", "adam_init", "test_adam_init_worked_example", "integer 0",
      ('        "t": 0,\n', '        "t": 1,\n')),
    m("adam_without_bias_correction", "optimizers", "adam_step", "test_adam_step_matches_pytorch_adam",
      "bias correction is missing",
      ("        m_hat = m / (1 - beta1**t)\n"
       "        v_hat = v / (1 - beta2**t)\n"
       "        params[key] -= lr * m_hat / (np.sqrt(v_hat) + eps)\n",
       "        params[key] -= lr * m / (np.sqrt(v) + eps)\n")),
    m("adam_t_not_incremented", "optimizers", "adam_step", "test_adam_step_first_step_moves_every_parameter_by_about_lr",
      "state['t'] must be 1",
      ('    state["t"] += 1\n    t = state["t"]\n', '    t = state["t"] + 1\n')),
    m("adam_eps_inside_the_square_root", "optimizers", "adam_step", "test_adam_step_adds_eps_after_the_square_root",
      "after the square root",
      ("(np.sqrt(v_hat) + eps)", "np.sqrt(v_hat + eps)")),
    m("adam_eps_outside_the_division", "optimizers", "adam_step", "test_adam_step_with_a_zero_gradient_stays_finite",
      "0 / 0 is nan",
      ("lr * m_hat / (np.sqrt(v_hat) + eps)", "lr * m_hat / np.sqrt(v_hat) + eps")),
    # m and v are new arrays every step, put back into state's dicts: the arrays state held do not change.
    m("adam_state_not_in_place", "optimizers", "adam_step", "test_adam_step_updates_params_and_state_in_place",
      "in place",
      ("        m *= beta1\n"
       "        m += (1 - beta1) * grad\n"
       "        v *= beta2\n"
       "        v += (1 - beta2) * grad * grad\n",
       '        m = state["m"][key] = beta1 * m + (1 - beta1) * grad\n'
       '        v = state["v"][key] = beta2 * v + (1 - beta2) * grad * grad\n')),
    m("adam_v_from_the_gradient_not_its_square", "optimizers", "adam_step", "test_adam_step_matches_pytorch_adam",
      "squared gradient",
      ("v += (1 - beta2) * grad * grad", "v += (1 - beta2) * np.abs(grad)")),
    m("adam_accepts_eps_zero", "optimizers", "adam_step", "test_adam_step_rejects_bad_arguments", "eps = 0",
      ("if not eps > 0:", "if eps < 0:")),

    # Stage 11: deep ------------------------------------------------------------------------
    m("deep_forward_relu_after_last_layer", "deep", "deep_forward",
      "test_deep_forward_equals_stage_5_forward_for_two_layers", "ReLU to the output layer",
      ("for layer in range(1, layers):", "for layer in range(1, layers + 1):"),
      ('    inputs.append(a)\n    probs = softmax(dense_forward(a, params[f"W{layers}"], params[f"b{layers}"]))\n',
       "    probs = softmax(a)\n")),
    m("deep_forward_dropout_on_output_layer", "deep", "deep_forward",
      "test_deep_forward_with_dropout_draws_one_mask_per_hidden_layer", "once per hidden layer",
      ('    probs = softmax(dense_forward(a, params[f"W{layers}"], params[f"b{layers}"]))\n',
       '    logits = dense_forward(a, params[f"W{layers}"], params[f"b{layers}"])\n'
       "    if p_drop > 0:\n"
       "        logits, _ = dropout_forward(logits, p_drop, rng)\n"
       "    probs = softmax(logits)\n")),
    m("deep_forward_dropout_on_input", "deep", "deep_forward",
      "test_deep_forward_with_dropout_draws_one_mask_per_hidden_layer", "once per hidden layer",
      ("    a = X\n", "    a = X\n    if p_drop > 0:\n        a, _ = dropout_forward(a, p_drop, rng)\n")),
    m("deep_forward_p_drop_checked_only_by_dropout", "deep", "deep_forward",
      "test_deep_forward_validates_p_drop_whatever_the_depth", "ValueError",
      ("    if not 0 <= p_drop < 1:\n"
       '        raise ValueError(f"p_drop must satisfy 0 <= p_drop < 1, got {p_drop!r}")\n', "")),
    m("deep_forward_no_rng_check", "deep", "deep_forward", "test_deep_forward_needs_an_rng_for_dropout", "ValueError",
      ("    if p_drop > 0 and rng is None:\n"
       '        raise ValueError(f"p_drop = {p_drop} needs a random generator: pass rng=np.random.default_rng(seed)")\n',
       "")),
    m("deep_forward_no_dropout_at_all", "deep", "deep_forward",
      "test_deep_forward_with_dropout_is_reproducible_and_random", "not applied",
      ("        if p_drop > 0:\n"
       "            a, mask = dropout_forward(a, p_drop, rng)\n"
       "            masks.append(mask)\n", "")),
    # Each layer's input is cached before its dropout mask: what the backward multiplies with is not what the
    # next layer saw. Three appends move. Only deep_backward's gradients can show it; a deep_forward test reads
    # them, so that the report charges deep_forward.
    m("deep_forward_caches_input_before_dropout", "deep", "deep_forward",
      "test_deep_forward_caches_each_layers_input_after_its_dropout_mask", "caches each hidden layer's input before",
      ("    for layer in range(1, layers):\n        inputs.append(a)\n",
       "    inputs.append(a)\n    for layer in range(1, layers):\n"),
      ("        a = relu(z)\n", "        a = relu(z)\n        inputs.append(a)\n"),
      ("    inputs.append(a)\n    probs = softmax(", "    probs = softmax(")),
    m("deep_backward_ignores_dropout_masks", "deep", "deep_backward",
      "test_deep_backward_with_dropout_passes_numerical_gradient_checks", "leaves the dropout masks out",
      ("        if masks:\n            da = dropout_backward(da, masks[layer - 2])\n", "")),
    # The gradients are right, but dz is the cache's probs array itself: deep_forward's probs are overwritten, and
    # kata train reads its training accuracy from them after the backward pass.
    m("deep_backward_dz_in_place_in_the_cached_probs", "deep", "deep_backward",
      "test_deep_backward_leaves_the_probs_of_the_forward_pass_alone", "kata train reads the training accuracy",
      ('    dz = softmax_cross_entropy_backward(cache["probs"], targets)\n',
       '    dz = cache["probs"]\n    dz -= targets\n    dz /= targets.shape[0]\n')),
    m("deep_backward_missing_1_over_n", "deep", "deep_backward",
      "test_deep_backward_passes_numerical_gradient_checks", "N = 5 times too large",
      ('dz = softmax_cross_entropy_backward(cache["probs"], targets)', 'dz = cache["probs"] - targets')),
    m("deep_backward_skips_the_first_layer", "deep", "deep_backward",
      "test_deep_backward_worked_example", "every key of params",
      ('    grads["W1"] = cache["inputs"][0].T @ dz\n    grads["b1"] = dz.sum(axis=0)\n', "")),

    # Stage 12: batchnorm -------------------------------------------------------------------
    # The running variance stays right: var * N/(N-1) of an unbiased var would be a second mistake. The first test
    # to fail (what the report shows) names it.
    m("batchnorm_unbiased_variance_in_normalisation", "batchnorm", "batchnorm_forward",
      "test_batchnorm_forward_worked_example", "unbiased variance, divided by N - 1 (ddof=1)",
      ("var = x.var(axis=0)", "var = x.var(axis=0, ddof=1)"),
      ("momentum * var * (n / (n - 1))", "momentum * var")),
    m("batchnorm_running_var_without_bessel", "batchnorm", "batchnorm_forward",
      "test_batchnorm_forward_updates_running_statistics", "N/(N-1)",
      ("momentum * var * (n / (n - 1))", "momentum * var")),
    m("batchnorm_momentum_wrong_way_round", "batchnorm", "batchnorm_forward",
      "test_batchnorm_forward_updates_running_statistics", "wrong way round",
      ('running["mean"] = (1 - momentum) * running["mean"] + momentum * mu',
       'running["mean"] = momentum * running["mean"] + (1 - momentum) * mu'),
      ('running["var"] = (1 - momentum) * running["var"] + momentum * var * (n / (n - 1))',
       'running["var"] = momentum * running["var"] + (1 - momentum) * var * (n / (n - 1))')),
    m("batchnorm_eval_uses_batch_statistics", "batchnorm", "batchnorm_forward",
      "test_batchnorm_forward_eval_mode_uses_running_statistics", "running mean and variance",
      ('mu, var = running["mean"], running["var"]', "mu, var = x.mean(axis=0), x.var(axis=0)")),
    m("batchnorm_eps_outside_sqrt", "batchnorm", "batchnorm_forward",
      "test_batchnorm_forward_adds_eps_inside_the_square_root", "inside the square root",
      ("inv_std = 1.0 / np.sqrt(var + eps)", "inv_std = 1.0 / (np.sqrt(var) + eps)")),
    m("batchnorm_no_running_update", "batchnorm", "batchnorm_forward",
      "test_batchnorm_forward_worked_example", "is unchanged after a training batch",
      ('        running["mean"] = (1 - momentum) * running["mean"] + momentum * mu\n'
       '        running["var"] = (1 - momentum) * running["var"] + momentum * var * (n / (n - 1))\n', "")),
    # The new averages bound to local names: the caller's running dict is left unchanged.
    m("batchnorm_running_statistics_bound_to_local_names", "batchnorm", "batchnorm_forward",
      "test_batchnorm_forward_worked_example", "running_mean = ...",
      ('        running["mean"] = (1 - momentum) * running["mean"] + momentum * mu\n'
       '        running["var"] = (1 - momentum) * running["var"] + momentum * var * (n / (n - 1))\n',
       '        running_mean, running_var = running["mean"], running["var"]\n'
       '        running_mean = (1 - momentum) * running_mean + momentum * mu\n'
       '        running_var = (1 - momentum) * running_var + momentum * var * (n / (n - 1))\n')),
    m("batchnorm_copies_running_dict", "batchnorm", "batchnorm_forward",
      "test_batchnorm_forward_changes_only_the_running_dict", "the dict you are given",
      ('        running["mean"] = (1 - momentum)', '        running = dict(running)\n        running["mean"] = (1 - momentum)')),
    # No check of N: a batch of one trains silently (its N/(N-1) guarded, so that no ZeroDivisionError gives it away).
    m("batchnorm_single_example_training", "batchnorm", "batchnorm_forward",
      "test_batchnorm_forward_rejects_a_batch_of_one_in_training_mode", "ValueError",
      ("        if n < 2:\n"
       '            raise ValueError(f"training mode needs a batch of N >= 2 to estimate a variance, got N = {n}")\n', ""),
      ("(n / (n - 1))", "(n / max(n - 1, 1))")),
    m("batchnorm_backward_mu_var_constant", "batchnorm", "batchnorm_backward",
      "test_batchnorm_backward_passes_numerical_gradient_checks_in_training_mode", "as constants",
      ("dx = (inv_std / n) * (n * dx_hat - dx_hat.sum(axis=0) - x_hat * np.sum(dx_hat * x_hat, axis=0))",
       "dx = dx_hat * inv_std")),
    m("batchnorm_backward_dgamma_not_summed", "batchnorm", "batchnorm_backward",
      "test_batchnorm_backward_worked_example", "dgamma",
      ("dgamma = np.sum(dout * x_hat, axis=0)", "dgamma = dout * x_hat")),
    m("batchnorm_backward_forgets_gamma", "batchnorm", "batchnorm_backward",
      "test_batchnorm_backward_passes_numerical_gradient_checks_in_training_mode", "gradient check",
      ("dx_hat = dout * gamma", "dx_hat = dout")),
    m("batchnorm_backward_training_formula_in_eval", "batchnorm", "batchnorm_backward",
      "test_batchnorm_backward_passes_numerical_gradient_checks_in_eval_mode", "evaluation mode",
      ('    if not cache["training"]:\n        return dx_hat * inv_std, dgamma, dbeta\n', "")),
    # Stage 13: conv (Part III) --------------------------------------------------------------------
    # The textbook convolution: the kernel turned by 180 degrees.
    m("conv_true_convolution_flipped_kernel", "conv", "conv2d_forward",
      "test_conv2d_forward_is_cross_correlation_not_flipped", "flips the kernel",
      ("out = w.reshape(f, c * kh * kw) @ cols", "out = w[:, :, ::-1, ::-1].reshape(f, c * kh * kw) @ cols")),
    # Replaced: the mistake is in the output-size formula, which the reference never writes (it takes the size
    # from its view of the windows); a loop version computes it, and gets it wrong.
    replaced("conv_output_size_without_plus_one", "conv", "conv2d_forward",
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
      "test_conv2d_forward_pads_with_zeros_on_every_side", "every side",
      ("xpad = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad))) if pad else x",
       "xpad = np.zeros((n, c, h + 2 * pad, width + 2 * pad), dtype=x.dtype)\n    xpad[:, :, :h, :width] = x")),
    # np.pad with one number pads all four axes: the batch and channel axes grow too, and the next step fails
    # inside the learner's code (here the reshape to cols; NumPy's matmul error in the learner's own version).
    m("conv_np_pad_pads_every_axis", "conv", "conv2d_forward",
      "test_conv2d_forward_worked_example_with_padding_and_stride", "padded every axis of x",
      ("xpad = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad))) if pad else x",
       "xpad = np.pad(x, pad) if pad else x")),
    m("conv_pads_only_top_and_left", "conv", "conv2d_forward",
      "test_conv2d_forward_pads_with_zeros_on_every_side", "every side",
      ("np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))", "np.pad(x, ((0, 0), (0, 0), (pad, 0), (pad, 0)))")),
    m("conv_coerces_stride_and_pad_to_int", "conv", "conv2d_forward",
      "test_conv2d_forward_rejects_a_non_integer_stride_or_pad", "must raise ValueError",
      ('    check_int("stride", stride, 1)\n',
       '    stride, pad = int(stride), int(pad)\n    check_int("stride", stride, 1)\n')),
    m("conv_no_check_of_pad", "conv", "conv2d_forward", "test_conv2d_forward_rejects_a_negative_pad",
      "does not name the bad value",
      ('    check_int("pad", pad, 0)\n', "")),  # np.pad's own error for pad < 0
    # Backward mutants read the reference's cache: (x.shape, cols (C*KH*KW, N*H_out*W_out), w, stride, pad).
    m("conv_backward_ignores_the_stride", "conv", "conv2d_backward", "test_conv2d_backward_uses_the_stride",
      "starts at row i*stride",
      ("dxpad[:, :, p:p + stride * h_out:stride, q:q + stride * w_out:stride] += dcols[:, p, q]",
       "dxpad[:, :, p:p + h_out, q:q + w_out] += dcols[:, p, q]")),
    m("conv_backward_db_is_a_mean", "conv", "conv2d_backward",
      "test_conv2d_backward_db_sums_over_the_batch_and_every_position", "must be 27",
      ("db = dout_mat.sum(axis=1)", "db = dout_mat.mean(axis=1)")),
    m("conv_backward_db_of_the_first_image_only", "conv", "conv2d_backward",
      "test_conv2d_backward_db_sums_over_the_batch_and_every_position", "over the batch too",
      ("db = dout_mat.sum(axis=1)", "db = dout[0].sum(axis=(1, 2))")),
    m("conv_backward_overlapping_windows_overwrite", "conv", "conv2d_backward",
      "test_conv2d_backward_adds_up_where_windows_overlap", "add up",
      ("q:q + stride * w_out:stride] += dcols[:, p, q]", "q:q + stride * w_out:stride] = dcols[:, p, q]")),
    # col2im in one indexed += over every (kernel position, window) pair: where windows overlap, the index arrays
    # name a pixel several times, and NumPy's buffered += adds only one of its shares.
    m("conv_col2im_with_a_fancy_index_plus_equals", "conv", "conv2d_backward", "test_conv2d_backward_worked_example",
      "NumPy buffers it, each pixel read once and written once",
      ("    for p in range(kh):\n"
       "        for q in range(kw):\n"
       "            dxpad[:, :, p:p + stride * h_out:stride, q:q + stride * w_out:stride] += dcols[:, p, q]\n",
       "    rows = np.arange(kh)[:, None, None, None] + stride * np.arange(h_out)[None, None, :, None]\n"
       "    cols = np.arange(kw)[None, :, None, None] + stride * np.arange(w_out)[None, None, None, :]\n"
       "    dxpad[:, :, rows, cols] += dcols.transpose(0, 3, 1, 2, 4, 5)  # (C, N, KH, KW, H_out, W_out)\n")),
    m("conv_backward_crops_with_minus_pad", "conv", "conv2d_backward", "test_conv2d_backward_worked_example",
      "padding cropped off dx",
      ("dx = dxpad[:, :, pad:pad + h, pad:pad + width].transpose(1, 0, 2, 3)",
       "dx = dxpad[:, :, pad:-pad, pad:-pad].transpose(1, 0, 2, 3)  # empty when pad == 0")),
    # Stage 14: pool (Part III) --------------------------------------------------------------------
    # Replaced: ceil mode keeps partial windows at the edges, which the reference's equal-sized strided views
    # cannot hold; a loop version does, its slices cut short at the edge.
    replaced("pool_ceil_mode_keeps_trailing_rows", "pool", "maxpool_forward",
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
    # Replaced: the windows cut out by a reshape without the transpose that puts each window's rows together;
    # the reference takes the maximum over strided views and never reshapes x.
    replaced("pool_reshape_without_transpose", "pool", "maxpool_forward", "test_maxpool_forward_worked_example",
             "maximum of each quarter", """
        def maxpool_forward(x, size=2, stride=2):
            n, c, h, w = x.shape
            h_out, w_out = (h - size) // stride + 1, (w - size) // stride + 1
            windows = x[:, :, :h_out * size, :w_out * size].reshape(n, c, h_out, w_out, size * size)
            where = windows.argmax(axis=-1)
            return windows.max(axis=-1), (x.shape, where, size, stride)
    """),
    # Named by the first test to fail, what the report shows.
    m("pool_running_maximum_starts_at_zero", "pool", "maxpool_forward",
      "test_maxpool_forward_output_size_follows_the_formula", "as from a running maximum started at 0",
      ("        out = None\n", "        out = np.zeros((n, c, h_out, w_out), dtype=x.dtype)\n")),
    # 1x1 windows are the identity, so x itself is returned: out shares x's memory.
    m("pool_1x1_windows_return_x_itself", "pool", "maxpool_forward",
      "test_maxpool_forward_returns_a_new_array_even_for_1x1_windows", "returned x itself or a view of it",
      ("    if size == stride:\n",
       "    if size == stride == 1:  # every value is its own maximum\n"
       '        return x, ("views", x, x, 1)\n'
       "    if size == stride:\n")),
    m("pool_no_check_of_the_window_size", "pool", "maxpool_forward",
      "test_maxpool_forward_rejects_a_window_larger_than_the_input", "does not name the bad value",
      ("    if size > h or size > w:\n"
       '        raise ValueError(f"the {size}x{size} window is larger than the {h}x{w} input")\n', "")),
    # The reference's backward has two paths: windows that tile the map (size == stride, the cache holds x and
    # out) and overlapping windows (the cache holds each window's argmax). Each mistake is made in the path where
    # it exists: spreading the gradient and ties in the first; the stride, decoding the argmax and adding up
    # shared maxima only matter in the second.
    m("pool_backward_spreads_the_gradient_evenly", "pool", "maxpool_backward", "test_maxpool_backward_worked_example",
      "average pooling",
      ("dx[:, :, rows, cols] = dout * hit", "dx[:, :, rows, cols] = dout / (size * size)")),
    m("pool_backward_ignores_the_stride", "pool", "maxpool_backward", "test_maxpool_backward_uses_the_stride",
      "not i*size",
      ("rows = np.arange(h_out)[:, None] * stride + where // size",
       "rows = np.arange(h_out)[:, None] * size + where // size"),
      ("cols = np.arange(w_out)[None, :] * stride + where % size",
       "cols = np.arange(w_out)[None, :] * size + where % size")),
    m("pool_backward_fancy_index_plus_equals", "pool", "maxpool_backward",
      "test_maxpool_backward_adds_up_where_windows_overlap", "counts that position once",
      ("    images = np.arange(n * c).reshape(n, c, 1, 1)\n"
       "    flat_index = (images * h + rows) * w + cols\n"
       "    dx = np.bincount(flat_index.ravel(), weights=dout.ravel(), minlength=n * c * h * w)\n"
       "    return dx.reshape(n, c, h, w).astype(dout.dtype, copy=False)\n",
       "    dx = np.zeros((n, c, h, w), dtype=dout.dtype)\n"
       "    dx[np.arange(n)[:, None, None, None], np.arange(c)[None, :, None, None], rows, cols] += dout  # no repeats"
       " summed\n"
       "    return dx\n")),
    m("pool_backward_decodes_the_argmax_transposed", "pool", "maxpool_backward",
      "test_maxpool_backward_passes_numerical_gradient_checks", "numerical gradient check",
      ("rows = np.arange(h_out)[:, None] * stride + where // size",
       "rows = np.arange(h_out)[:, None] * stride + where % size"),
      ("cols = np.arange(w_out)[None, :] * stride + where % size",
       "cols = np.arange(w_out)[None, :] * stride + where // size")),
    m("pool_backward_gradient_to_every_tied_maximum", "pool", "maxpool_backward",
      "test_maxpool_backward_with_ties_sends_the_gradient_to_exactly_one_position", "exactly one",
      ("hit = (x[:, :, rows, cols] == out) & pending", "hit = x[:, :, rows, cols] == out")),
    # Playtest (a new learner's first tries at Part II and III) ----------------------------------------
    m("dropout_refuses_p_drop_zero", "dropout", "dropout_forward",
      "test_dropout_forward_worked_example_without_dropping", "0 is allowed",
      ("if not 0 <= p_drop < 1:", "if not 0 < p_drop < 1:")),
    m("dropout_divides_by_p_drop", "dropout", "dropout_forward",
      "test_dropout_forward_worked_example_without_dropping", "divided by p_drop",
      ("keep.astype(x.dtype) / (1.0 - float(p_drop))", "keep.astype(x.dtype) / float(p_drop)")),
    m("dropout_boolean_mask", "dropout", "dropout_forward", "test_dropout_forward_keeps_float64", "True and False",
      ("    mask = keep.astype(x.dtype) / (1.0 - float(p_drop))  # a Python float keeps x's dtype\n"
       "    return x * mask, mask\n",
       "    return x * keep / (1.0 - float(p_drop)), keep\n")),
    m("adam_t_incremented_per_parameter", "optimizers", "adam_step",
      "test_adam_step_keeps_float32", "once per parameter",
      ('    state["t"] += 1\n    t = state["t"]\n    for key in params:\n',
       '    for key in params:\n        state["t"] += 1\n        t = state["t"]\n')),
    m("conv_without_the_bias", "conv", "conv2d_forward", "test_conv2d_forward_worked_example", "bias is missing",
      ("    out += b[:, None]\n", "")),
    m("conv_backward_flips_dw", "conv", "conv2d_backward", "test_conv2d_backward_uses_the_stride",
      "kernel flipped upside down",
      ("dw = (dout_mat @ cols.T).reshape(w.shape)", "dw = (dout_mat @ cols.T).reshape(w.shape)[:, :, ::-1, ::-1]")),
    # Replaced: a loop backward that writes with = where overlapping windows share a maximum (the reference adds
    # with np.bincount and has no loop). It brings the loop forward it is written for, which keeps x in its
    # cache: maxpool_backward is the module's last function, so this later maxpool_forward wins.
    replaced("pool_backward_loop_overwrites_where_windows_overlap", "pool", "maxpool_backward",
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
      "test_deep_forward_takes_ten_or_more_layers_in_numeric_order", "sorted as text",
      ('    layers = sum(1 for key in params if key.startswith("W"))\n    inputs, pre_activations, masks',
       '    names = [key[1:] for key in sorted(params) if key.startswith("W")]\n    inputs, pre_activations, masks'),
      ("for layer in range(1, layers):", "for name in names[:-1]:"),
      ('z = dense_forward(a, params[f"W{layer}"], params[f"b{layer}"])',
       'z = dense_forward(a, params["W" + name], params["b" + name])'),
      ('dense_forward(a, params[f"W{layers}"], params[f"b{layers}"])',
       'dense_forward(a, params["W" + names[-1]], params["b" + names[-1]])')),
    m("adam_without_bias_correction_blamed_on_eps", "optimizers", "adam_step",
      "test_adam_step_adds_eps_after_the_square_root", "bias correction is missing",
      ("        m_hat = m / (1 - beta1**t)\n"
       "        v_hat = v / (1 - beta2**t)\n"
       "        params[key] -= lr * m_hat / (np.sqrt(v_hat) + eps)\n",
       "        params[key] -= lr * m / (np.sqrt(v) + eps)\n")),
    # Learner walkthrough of Part III: im2col's axis order, and NumPy's indexed += --------------------
    # The classic im2col mistake: the product is right, then reshaped straight to (N, F, H_out, W_out).
    # With F = 1 (the docstring's examples) the layout cannot show; the frozen example (F = 2) shows it first.
    # The reference builds cols transposed (one column per position), so the edits first turn it into the
    # docstring's layout, one row per position, in which the learner made the mistake: the last edit.
    m("conv_im2col_rows_reshaped_without_moving_the_filter_axis", "conv", "conv2d_forward",
      "test_conv2d_forward_matches_pytorch_on_a_frozen_example", "one row per output position",
      ("cols = windows.transpose(1, 4, 5, 0, 2, 3).reshape(c * kh * kw, n * h_out * w_out)",
       "cols = windows.transpose(0, 2, 3, 1, 4, 5).reshape(n * h_out * w_out, c * kh * kw)"),
      ("out = w.reshape(f, c * kh * kw) @ cols  # (F, N*H_out*W_out): the one matrix product",
       "out = cols @ w.reshape(f, c * kh * kw).T  # (N*H_out*W_out, F)"),
      ("out += b[:, None]", "out += b"),
      ("out = out.reshape(f, n, h_out, w_out).transpose(1, 0, 2, 3)", "out = out.reshape(n, f, h_out, w_out)")),
    # The same with one row per filter: right whenever N = 1, so the frozen example passes; N = 2 shows it.
    m("conv_im2col_filter_rows_reshaped_without_moving_the_batch_axis", "conv", "conv2d_forward",
      "test_conv2d_forward_adds_one_bias_per_filter", "one row per filter",
      ("out = out.reshape(f, n, h_out, w_out).transpose(1, 0, 2, 3)", "out = out.reshape(n, f, h_out, w_out)")),
    # Backwards, dout reshaped straight to the product's layout: every gradient is computed from a scrambled dout.
    m("conv_backward_dout_reshaped_to_filter_rows_without_moving_the_batch_axis", "conv", "conv2d_backward",
      "test_conv2d_backward_passes_numerical_gradient_checks", "dout reshaped",
      ("dout_mat = dout.transpose(1, 0, 2, 3).reshape(f, n * h_out * w_out)  # like out before its transpose",
       "dout_mat = dout.reshape(f, n * h_out * w_out)  # should be (F, N*H_out*W_out) in cols' column order")),
    # In the docstring's layout, one row per position: dout_mat and the three products that use it.
    m("conv_backward_dout_reshaped_to_position_rows_without_moving_the_filter_axis", "conv", "conv2d_backward",
      "test_conv2d_backward_matches_pytorch_on_a_frozen_example", "dout reshaped",
      ("    dout_mat = dout.transpose(1, 0, 2, 3).reshape(f, n * h_out * w_out)  # like out before its transpose\n"
       "    db = dout_mat.sum(axis=1)\n"
       "    dw = (dout_mat @ cols.T).reshape(w.shape)\n"
       "    dcols = (w.reshape(f, c * kh * kw).T @ dout_mat).reshape(c, kh, kw, n, h_out, w_out)\n",
       "    dout_mat = dout.reshape(n * h_out * w_out, f)  # one row per position (n, i, j) wanted\n"
       "    db = dout_mat.sum(axis=0)\n"
       "    dw = (cols @ dout_mat).T.reshape(w.shape)\n"
       "    dcols = (dout_mat @ w.reshape(f, c * kh * kw)).T.reshape(c, kh, kw, n, h_out, w_out)\n")),
    # col2im built channel first, (C, N, H, W), then reshaped to x's shape: right values, wrong places (N, C > 1).
    m("conv_backward_dx_reshaped_without_moving_the_channel_axis", "conv", "conv2d_backward",
      "test_conv2d_backward_passes_numerical_gradient_checks", "the values are right but their layout is wrong",
      ("dx = dxpad[:, :, pad:pad + h, pad:pad + width].transpose(1, 0, 2, 3)",
       "dx = np.ascontiguousarray(dxpad[:, :, pad:pad + h, pad:pad + width]).reshape(n, c, h, width)")),
    # dw as (C*KH*KW, F), the product's layout, reshaped straight to w's shape (F, C, KH, KW).
    m("conv_backward_dw_reshaped_without_moving_the_filter_axis", "conv", "conv2d_backward",
      "test_conv2d_backward_matches_pytorch_on_a_frozen_example", "the values are right but their layout is wrong",
      ("dw = (dout_mat @ cols.T).reshape(w.shape)", "dw = (cols @ dout_mat.T).reshape(w.shape)  # (C*KH*KW, F) reshaped")),
    # The learner's vectorised backward: an indexed += over index arrays adds once where positions repeat, so
    # the frozen example (four overlapping windows sharing one maximum) is the first to show it.
    m("pool_backward_fancy_index_plus_equals_loses_shared_maxima", "pool", "maxpool_backward",
      "test_maxpool_backward_matches_pytorch_on_a_frozen_example", "counts that position once",
      ("    images = np.arange(n * c).reshape(n, c, 1, 1)\n"
       "    flat_index = (images * h + rows) * w + cols\n"
       "    dx = np.bincount(flat_index.ravel(), weights=dout.ravel(), minlength=n * c * h * w)\n"
       "    return dx.reshape(n, c, h, w).astype(dout.dtype, copy=False)\n",
       "    n_idx, c_idx, _, _ = np.indices(dout.shape)\n"
       "    dx = np.zeros((n, c, h, w), dtype=dout.dtype)\n"
       "    dx[n_idx, c_idx, rows, cols] += dout\n"
       "    return dx\n")),
]


# Correct implementations in other styles than the reference: every suite must pass on them
# (selftests/test_mutants.py). A suite tests behaviour, not the path, nor the wording of a message.
STYLES = [
    replaced("one_hot_message_with_a_list_shape", "one_hot", "one_hot", "", "", """
        def one_hot(labels, num_classes=10):
            labels = np.asarray(labels)
            if labels.ndim != 1:
                raise ValueError(f"labels must be 1-D, got a {labels.ndim}-D array of shape {list(labels.shape)}")
            bad = labels[(labels < 0) | (labels >= num_classes) | (labels != np.round(labels))]
            if bad.size:
                raise ValueError(f"invalid label {bad[0]}")
            return np.eye(num_classes)[labels.astype(int)]
    """),
    replaced("one_hot_message_with_an_x", "one_hot", "one_hot", "", "", """
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
    replaced("softmax_log_sum_exp", "softmax", "softmax", "", "", """
        def softmax(z):
            m = np.max(z, axis=-1, keepdims=True)
            return np.exp(z - m - np.log(np.sum(np.exp(z - m), axis=-1, keepdims=True)))
    """),
    replaced("cross_entropy_true_class_only", "cross_entropy", "cross_entropy", "", "", """
        def cross_entropy(probs, targets):
            picked = probs[np.arange(len(probs)), np.argmax(targets, axis=1)]
            return float(-np.mean(np.log(np.maximum(picked, 1e-12))))
    """),
    # The docstring asks for a ValueError when p_drop > 0 comes without an rng, nothing about its message.
    m("deep_forward_rng_error_that_does_not_repeat_p_drop", "deep", "deep_forward", "", "",
      ('raise ValueError(f"p_drop = {p_drop} needs a random generator: pass rng=np.random.default_rng(seed)")',
       'raise ValueError("p_drop > 0 needs an rng")')),
    # Bad arguments named in words, as a learner wrote them: "x has 3 features, gamma has 2".
    m("batchnorm_messages_in_words", "batchnorm", "batchnorm_forward", "", "",
      ('raise ValueError(f"x must be a 2-D batch (N, D), got shape {x.shape}")',
       'raise ValueError(f"x must be a 2-D batch (N, D), got a {x.ndim}-D array")'),
      ('raise ValueError(f"{name} must have shape ({d},) for x of shape {x.shape}, got {np.shape(value)}")',
       'raise ValueError(f"x has {d} features, {name} has {np.size(value)}")')),
    # Styles a learner wrote in the playtest of Part II and III, which the suites must keep accepting.
    # Adam with both bias corrections folded into one step size alpha_t, as Kingma and Ba's paper suggests, and eps
    # scaled by sqrt(1 - beta2^t) to stay the docstring's formula exactly (the paper's unscaled eps is another
    # optimizer, which test_adam_step_adds_eps_after_the_square_root tells apart).
    m("adam_alpha_t", "optimizers", "adam_step", "", "",
      ("        m_hat = m / (1 - beta1**t)\n"
       "        v_hat = v / (1 - beta2**t)\n"
       "        params[key] -= lr * m_hat / (np.sqrt(v_hat) + eps)\n",
       "        alpha_t = lr * (1 - beta2**t) ** 0.5 / (1 - beta1**t)\n"
       "        params[key] -= alpha_t * m / (np.sqrt(v) + eps * (1 - beta2**t) ** 0.5)\n")),
    replaced("dropout_rng_binomial_mask", "dropout", "dropout_forward", "", "", """
        def dropout_forward(x, p_drop, rng):
            if not (0 <= p_drop < 1):
                raise ValueError(f"p_drop must be in [0, 1), got {p_drop}")
            mask = rng.binomial(1, 1 - p_drop, size=x.shape).astype(x.dtype) / x.dtype.type(1 - p_drop)
            return x * mask, mask
    """),
    # The backward pass node by node through the computational graph (mean, centring, variance, square root,
    # inverse), as many tutorials derive it, from the reference's cache.
    replaced("batchnorm_backward_step_by_step", "batchnorm", "batchnorm_backward", "", "", """
        def batchnorm_backward(dout, cache):
            x_hat, inv_std, gamma = cache["x_hat"], cache["inv_std"], cache["gamma"]
            n, d = dout.shape
            dbeta = np.sum(dout, axis=0)
            dgamma = np.sum(dout * x_hat, axis=0)
            dxhat = dout * gamma
            if not cache["training"]:
                return dxhat * inv_std, dgamma, dbeta
            xmu = x_hat / inv_std
            sqrtvar = 1 / inv_std
            divar = np.sum(dxhat * xmu, axis=0)
            dxmu1 = dxhat * inv_std
            dsqrtvar = -1 / sqrtvar**2 * divar
            dvar = 0.5 * inv_std * dsqrtvar
            dsq = np.ones((n, d), dtype=dout.dtype) / n * dvar
            dxmu2 = 2 * xmu * dsq
            dx1 = dxmu1 + dxmu2
            dmu = -np.sum(dx1, axis=0)
            dx2 = np.ones((n, d), dtype=dout.dtype) / n * dmu
            return dx1 + dx2, dgamma, dbeta
    """),
    # The definition as loops, forwards and backwards, with every bad argument named in words. It replaces
    # conv2d_backward, the module's last function, and brings its own conv2d_forward, which then wins.
    replaced("conv_six_loops_with_messages_in_words", "conv", "conv2d_backward", "", "", """
        def conv2d_forward(x, w, b, stride=1, pad=0):
            for name, value, smallest in (("stride", stride, 1), ("pad", pad, 0)):
                if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < smallest:
                    raise ValueError(f"{name} must be an integer >= {smallest}, got {value!r}")
            if x.ndim != 4 or w.ndim != 4:
                raise ValueError(f"x and w must be 4-D, got a {x.ndim}-D x and a {w.ndim}-D w")
            n, c, h, width = x.shape
            f, wc, kh, kw = w.shape
            if wc != c:
                raise ValueError(f"w has {wc} channels, x has {c}")
            if b.shape != (f,):
                raise ValueError(f"b is a {b.ndim}-D array of {b.size} values; it needs one bias per filter ({f})")
            if kh > h + 2 * pad or kw > width + 2 * pad:
                raise ValueError(f"the {kh}x{kw} kernel does not fit in the {h + 2 * pad}x{width + 2 * pad} padded input")
            xpad = np.zeros((n, c, h + 2 * pad, width + 2 * pad), dtype=x.dtype)
            xpad[:, :, pad:pad + h, pad:pad + width] = x
            h_out, w_out = (h + 2 * pad - kh) // stride + 1, (width + 2 * pad - kw) // stride + 1
            out = np.zeros((n, f, h_out, w_out), dtype=x.dtype)
            for image in range(n):
                for filt in range(f):
                    for i in range(h_out):
                        for j in range(w_out):
                            total = b[filt]
                            for channel in range(c):
                                for p in range(kh):
                                    for q in range(kw):
                                        total += xpad[image, channel, i * stride + p, j * stride + q] * w[filt, channel, p, q]
                            out[image, filt, i, j] = total
            return out, (x, w, stride, pad)


        def conv2d_backward(dout, cache):
            x, w, stride, pad = cache
            n, c, h, width = x.shape
            f, _, kh, kw = w.shape
            xpad = np.zeros((n, c, h + 2 * pad, width + 2 * pad), dtype=x.dtype)
            xpad[:, :, pad:pad + h, pad:pad + width] = x
            dxpad = np.zeros(xpad.shape, dtype=dout.dtype)
            dw = np.zeros(w.shape, dtype=dout.dtype)
            db = np.zeros(f, dtype=dout.dtype)
            for image in range(n):
                for filt in range(f):
                    for i in range(dout.shape[2]):
                        for j in range(dout.shape[3]):
                            g = dout[image, filt, i, j]
                            db[filt] += g
                            for channel in range(c):
                                for p in range(kh):
                                    for q in range(kw):
                                        dw[filt, channel, p, q] += g * xpad[image, channel, i * stride + p, j * stride + q]
                                        dxpad[image, channel, i * stride + p, j * stride + q] += g * w[filt, channel, p, q]
            return dxpad[:, :, pad:pad + h, pad:pad + width], dw, db
    """),
    replaced("forward_own_stable_softmax", "backprop", "forward", "", "", """
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
    """Copy the reference package to dest/<name> with the mutant's change made (None: no change).

    Raises MutantError, before copying anything, when the change cannot be made."""
    text = None if mutant is None else mutated_source(mutant, (solutions / f"{mutant.module}.py").read_text("utf-8"))
    package = dest / (name or mutant.package)
    shutil.copytree(solutions, package, ignore=shutil.ignore_patterns("__pycache__"))
    if text is not None:
        (package / f"{mutant.module}.py").write_text(text, encoding="utf-8")
    return package


def mutated_source(mutant: Mutant, reference: str) -> str:
    """The text of the reference module with the mutant's edits made in order, or its function replaced."""
    where = f"solutions/{mutant.module}.py"
    if bool(mutant.edits) == bool(mutant.source):
        raise MutantError(f"the mutant {mutant.id} needs either edits or the source of a replacing function "
                          f"(it has {'both' if mutant.edits else 'neither'})")
    start, end = _function_span(reference, mutant.function, f"{where} (the mutant {mutant.id})")
    text = reference
    for old, new in mutant.edits:
        count = reference.count(old) if old else 0
        if count != 1:
            raise MutantError(
                f"the mutant {mutant.id}: the text {old!r} occurs {count} times in {where}; an edit must name text "
                "that occurs exactly once " + ("(add the context that makes it unique)" if count else
                                               "(has the reference changed? make the mutant's mistake in it again)"))
        at = reference.index(old)
        if not start <= at < at + len(old) <= end:
            raise MutantError(f"the mutant {mutant.id} changes {mutant.function}(), but the text {old!r} of one of its "
                              f"edits is outside {mutant.function}() in {where}")
        if text.count(old) != 1:
            raise MutantError(f"the mutant {mutant.id}: an earlier edit of its own changed the text {old!r}; make "
                              "every edit on text that the others leave alone")
        text = text.replace(old, new)
    if mutant.source:
        text = _with_function(text, mutant.function, mutant.source)
    if text == reference:
        raise MutantError(f"the mutant {mutant.id} leaves {where} unchanged")
    try:
        ast.parse(text)
    except SyntaxError as error:
        raise MutantError(f"the mutant {mutant.id} is not valid Python: line {error.lineno} of its {where} "
                          f"reads {error.text!r} ({error.msg})") from None
    return text


def swap_function(package: Path, mutant: Mutant) -> None:
    """Replace mutant.function in package/<mutant.module>.py by mutant.source (a whole function)."""
    path = package / f"{mutant.module}.py"
    path.write_text(_with_function(path.read_text(encoding="utf-8"), mutant.function, mutant.source), encoding="utf-8")


def _function_span(text: str, function: str, where: str) -> tuple[int, int]:
    """Offsets in text of the module-level function, from its first decorator to the end of its last line."""
    node = next((n for n in ast.parse(text).body if isinstance(n, ast.FunctionDef) and n.name == function), None)
    if node is None:
        raise MutantError(f"{where} has no function {function}()")
    lines = text.splitlines(keepends=True)
    first = (node.decorator_list[0].lineno if node.decorator_list else node.lineno) - 1
    return sum(map(len, lines[:first])), sum(map(len, lines[:node.end_lineno]))


def _with_function(text: str, function: str, source: str) -> str:
    start, end = _function_span(text, function, "the module")
    return text[:start] + source + text[end:]
