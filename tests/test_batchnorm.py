"""Stage 12: batch normalisation. Tasks: batchnorm_forward, batchnorm_backward.

Training mode: out = gamma * (x - mu) / sqrt(var + eps) + beta with the batch's mean and biased
variance, and running averages updated as torch.nn.BatchNorm1d does (the running variance
averages var * N / (N - 1)). Evaluation mode: the running statistics instead, left unchanged.
Every gradient is checked against central differences of an independent implementation written
here; in training mode that is the full gradient, in which mu and var depend on x.
"""

import copy

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from checker.gradcheck import check_gradient
from checker.teach import (check_close, expect_value_error, check_dtype, check_shape, check_unchanged, fail, learner_function,
                           returned_array, show)

batchnorm_forward = learner_function("batchnorm", "batchnorm_forward")
batchnorm_backward = learner_function("batchnorm", "batchnorm_backward")

EPS = 1e-5
FORMULA = ("training mode, per feature (column): mu = the mean over the batch, var = the mean of (x - mu)^2 "
           "over the batch (biased: divide by N), x_hat = (x - mu) / sqrt(var + eps), out = gamma * x_hat + beta.")
RUNNING = ("the new running mean is (1 - momentum) times the old one plus momentum times mu; the new running "
           "variance is (1 - momentum) times the old one plus momentum times var * N / (N - 1), as "
           "torch.nn.BatchNorm1d does.")
FULL_GRADIENT = ("in training mode mu and var depend on every row of x: with dxh = dout * gamma, "
                 "dx = (dxh - mean_i(dxh) - x_hat * mean_i(dxh * x_hat)) / sqrt(var + eps), means over the batch.")


# An independent implementation, the referee --------------------------------------------------

def reference_forward(x, gamma, beta, mean=None, var=None, eps=EPS):
    """out for training mode (mean, var None: the batch's) or evaluation mode (the given ones)."""
    if mean is None:
        mean = x.sum(axis=0) / x.shape[0]
        var = ((x - mean) ** 2).sum(axis=0) / x.shape[0]
    return gamma * (x - mean) / np.sqrt(var + eps) + beta


def reference_running(x, running, momentum=0.1):
    n = x.shape[0]
    mean = x.sum(axis=0) / n
    unbiased = ((x - mean) ** 2).sum(axis=0) / (n - 1)
    return ((1 - momentum) * running["mean"] + momentum * mean,
            (1 - momentum) * running["var"] + momentum * unbiased)


# The classic mistakes, recognised wherever a training-mode result is checked: the first test that fails names them.
UNBIASED_NOTE = (": it normalises with the unbiased variance, divided by N - 1 (ddof=1); the normalisation uses the "
                 "biased variance, the mean of (x - mu)^2, divided by N")
UNBIASED_HINT = ("the variance that normalises divides by N (biased); only the running variance uses N/(N-1). In "
                 + FORMULA)
EPS_OUTSIDE_NOTE = (": eps is added after the square root, sqrt(var) + eps; it belongs inside, sqrt(var + eps), where "
                    "it keeps a constant feature finite without changing the others")
UNCHANGED_HINT = ('training mode updates the running statistics in the dict you are given, which the caller keeps: '
                  'assign running["mean"] = ... (or write into its array, running["mean"][...] = ...), and likewise '
                  'running["var"]. A new value bound to another name (running_mean = ...) or stored in a copy of the '
                  "dict never reaches the caller. Then " + RUNNING)


def forward_diagnosis(out, x, gamma, beta):
    """(note, hint) when a training-mode out is a classic mistake (the unbiased variance, eps outside the square
    root), else ("", None)."""
    n = x.shape[0]
    out = np.asarray(out, dtype=np.float64)
    if n < 2 or out.shape != x.shape:
        return "", None
    mean = x.sum(axis=0) / n
    unbiased = ((x - mean) ** 2).sum(axis=0) / (n - 1)
    if np.allclose(out, reference_forward(x, gamma, beta), rtol=1e-6, atol=1e-9):
        return "", None
    if np.allclose(out, reference_forward(x, gamma, beta, mean, unbiased), rtol=1e-6, atol=1e-9):
        return UNBIASED_NOTE, UNBIASED_HINT
    biased = ((x - mean) ** 2).sum(axis=0) / n
    if np.allclose(out, gamma * (x - mean) / (np.sqrt(biased) + EPS) + beta, rtol=1e-6, atol=1e-9):
        return EPS_OUTSIDE_NOTE, "x_hat = (x - mu) / np.sqrt(var + eps), not / (np.sqrt(var) + eps)."
    return "", None


def check_training_out(out, x, gamma, beta, *, problem, given, expected=None, hint=FORMULA, rtol=1e-6, atol=1e-9):
    """check_close of a training-mode out, with forward_diagnosis's note and hint when it recognises the mistake."""
    expected = reference_forward(x, gamma, beta) if expected is None else expected
    note, diagnosis_hint = forward_diagnosis(out, x, gamma, beta)
    check_close(out, expected, problem=problem + note, given=given, hint=diagnosis_hint or hint, rtol=rtol, atol=atol)


def running_diagnosis(key, running, before, x, momentum):
    """(note, hint) for running[key] after one training batch from `before`: the classic mistakes, else ("", RUNNING)."""
    got = np.asarray(running[key], dtype=np.float64)
    if np.array_equal(got, before[key]):
        return f': running["{key}"] is unchanged after a training batch, as if it had not been updated', UNCHANGED_HINT
    n = x.shape[0]
    batch = x.sum(axis=0) / n if key == "mean" else ((x - x.sum(axis=0) / n) ** 2).sum(axis=0) / n
    right = batch * (n / (n - 1)) if key == "var" else batch
    if momentum != 0.5 and np.allclose(got, momentum * before[key] + (1 - momentum) * right, rtol=1e-6):
        return (f": the momentum is applied the wrong way round: the new batch's weight is momentum ({momentum:g} "
                f"here), the old running {key} keeps 1 - momentum"), RUNNING
    if key == "var" and np.allclose(got, (1 - momentum) * before[key] + momentum * batch, rtol=1e-6):
        return (f': running["var"] averages the biased variance; torch.nn.BatchNorm1d averages the unbiased one, '
                f"var * N/(N-1) (N = {n} here), because it estimates the variance of all the data"), RUNNING
    return "", RUNNING


def check_running(running, before, x, momentum, *, problem, given, expected=None, rtol=1e-6, atol=1e-9):
    """check_close of running["mean"] and running["var"] after one training batch, with running_diagnosis's note.
    problem: a format string with {key} and {what} (mu, or var * N/(N-1))."""
    expected = dict(zip(("mean", "var"), reference_running(x, before, momentum))) if expected is None else expected
    for key, what in (("mean", "mu"), ("var", "var * N/(N-1)")):
        note, hint = running_diagnosis(key, running, before, x, momentum)
        check_close(running[key], expected[key], problem=problem.format(key=key, what=what) + note, given=given,
                    hint=hint, rtol=rtol, atol=atol)


def make_case(seed, n=5, d=3, dtype=np.float64):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, d)) * rng.uniform(0.5, 3.0, d) + rng.uniform(-2, 2, d)
    gamma = rng.uniform(0.5, 2.0, d) * rng.choice([-1.0, 1.0], d)
    beta = rng.standard_normal(d)
    running = {"mean": rng.standard_normal(d) * 0.3, "var": rng.uniform(0.5, 2.0, d)}
    return (x.astype(dtype), gamma.astype(dtype), beta.astype(dtype),
            {k: v.astype(dtype) for k, v in running.items()})


def fresh(running):
    return {k: np.array(v, copy=True) for k, v in running.items()}


def run_forward(x, gamma, beta, running, **options):
    """Call the learner's batchnorm_forward; check the result's form and that x, gamma and beta
    are unchanged. Returns (out, cache, running after the call)."""
    given_ = {"x": x, "gamma": gamma, "beta": beta}
    originals = {k: v.copy() for k, v in given_.items()}
    result = batchnorm_forward(x, gamma, beta, running, **options)
    check_unchanged(originals, given_, "batchnorm_forward")
    if not isinstance(result, tuple) or len(result) != 2:
        fail(f"batchnorm_forward must return a pair (out, cache); it returned {type(result).__name__}.",
             given=given_, hint="return out, cache: batchnorm_backward needs the cache.")
    out = returned_array(result[0], "batchnorm_forward's out", given=given_)
    check_shape(out, x.shape, "batchnorm_forward's out", given=given_,
                hint="batch norm keeps the shape of x: (N, D) in, (N, D) out; mu and var are (D,).")
    for key in ("mean", "var"):
        if key not in running or not isinstance(running[key], np.ndarray) or running[key].shape != gamma.shape:
            fail(f'after batchnorm_forward, running["{key}"] must still be an array of shape {gamma.shape}; '
                 f"it is {show(running.get(key))}.", given=given_, hint=RUNNING)
    return out, result[1], running


def run_backward(dout, cache, shape):
    original = dout.copy()
    result = batchnorm_backward(dout, cache)
    check_unchanged({"dout": original}, {"dout": dout}, "batchnorm_backward")
    if not isinstance(result, tuple) or len(result) != 3:
        fail(f"batchnorm_backward must return a tuple (dx, dgamma, dbeta); it returned {type(result).__name__}.",
             given={"dout": dout}, hint="return dx, dgamma, dbeta")
    dx, dgamma, dbeta = (returned_array(g, f"batchnorm_backward's {name}", given={"dout": dout})
                         for g, name in zip(result, ("dx", "dgamma", "dbeta")))
    check_shape(dx, shape, "batchnorm_backward's dx", given={"dout": dout},
                hint="dx has the shape of x, (N, D).")
    for grad, name in ((dgamma, "dgamma"), (dbeta, "dbeta")):
        check_shape(grad, (shape[1],), f"batchnorm_backward's {name}", given={"dout": dout},
                    hint=f"{name} has the shape of {name[1:]}, (D,): the same {name[1:]} scales every row, "
                         f"so its gradient sums over the batch (the rows).")
    return dx, dgamma, dbeta


# Task 1: batchnorm_forward ------------------------------------------------------------------------

def test_batchnorm_forward_worked_example():
    x = np.array([[1.0, 2.0], [3.0, 6.0]])
    gamma, beta = np.array([1.0, 2.0]), np.array([0.0, 1.0])
    running = {"mean": np.zeros(2), "var": np.ones(2)}
    before = fresh(running)
    out, _, running = run_forward(x, gamma, beta, running)
    s = 1 / np.sqrt(1 + EPS), 2 / np.sqrt(4 + EPS)
    check_training_out(out, x, gamma, beta, expected=[[-s[0], -2 * s[1] + 1], [s[0], 2 * s[1] + 1]],
                       problem="for x = [[1, 2], [3, 6]] (mu = [2, 4], var = [1, 4]), x_hat is [[-1, -1], [1, 1]] "
                               "and out = gamma * x_hat + beta = [[-1, -1], [1, 3]] (nearly: eps = 1e-5)",
                       given={"x": x, "gamma": gamma, "beta": beta})
    check_running(running, before, x, 0.1, expected={"mean": [0.2, 0.4], "var": [1.1, 1.7]}, given={"x": x},
                  problem='running["{key}"] after one batch with momentum 0.1, from running = {{"mean": [0, 0], '
                          '"var": [1, 1]}} (mu = [2, 4], var * N/(N-1) = [2, 8])')


# Frozen from torch.nn.functional.batch_norm(x, running_mean, running_var, gamma, beta, training, 0.1, 1e-5)
# in float64 (torch 2.13.0), run once when the stage was written; torch is not needed to run this suite.
TORCH_X = np.array([[0.5, -1.0, 2.0], [1.5, 0.0, -2.0], [-0.5, 3.0, 1.0], [2.5, 1.0, 0.0]])
TORCH_GAMMA, TORCH_BETA = np.array([1.5, 0.5, -1.0]), np.array([0.1, -0.2, 0.3])
TORCH_RUNNING = {"mean": np.array([0.2, -0.1, 0.0]), "var": np.array([1.0, 2.0, 0.5])}
TORCH_TRAIN_OUT = np.array([
    [-0.5708177099844634, -0.7916066260677903, -0.8832132521355804],
    [0.7708177099844635, -0.45354569688619584, 1.821274181317175],
    [-1.9124531299533902, 0.5606370906585874, -0.2070913937723916],
    [2.1124531299533906, -0.11548476770460142, 0.4690304645907972]])
TORCH_RUNNING_AFTER = {"mean": np.array([0.28, -0.015, 0.025]),
                       "var": np.array([1.0666666666666667, 2.091666666666667, 0.7416666666666667])}
TORCH_EVAL_X = np.array([[1.0, 0.0, -1.0], [0.0, 2.0, 0.5]])  # then, with the updated running statistics
TORCH_EVAL_OUT = np.array([[1.14570060176592, -0.19481422120505404, 1.4901907133330605],
                           [-0.30666134513119114, 0.49662295145440954, -0.25155179398361344]])
# torch.autograd of sum(out * TORCH_DOUT) in training mode
TORCH_DOUT = np.array([[1.0, -0.5, 0.2], [0.3, 0.8, -1.0], [-0.7, 0.1, 0.4], [0.2, -0.3, 0.6]])
TORCH_DX = np.array([
    [1.2074708046722848, -0.14874694020011925, 0.27044704338951703],
    [1.0732997495691422e-06, 0.27431224052440045, 0.23181539423906855],
    [-0.804984471880605, -0.011590491537374775, -0.07727179807968954],
    [-0.4024874060914293, -0.11397480878690645, -0.4249906395488961]])
TORCH_DGAMMA = np.array([0.8944236133126179, 0.2873517898043553, 1.8593351104987692])
TORCH_DBETA = np.array([0.8, 0.1, 0.2])


def test_batchnorm_forward_matches_torch_in_both_modes():
    running = fresh(TORCH_RUNNING)
    given_ = {"x": TORCH_X, "gamma": TORCH_GAMMA, "beta": TORCH_BETA}
    out, _, running = run_forward(TORCH_X, TORCH_GAMMA, TORCH_BETA, running)
    check_training_out(out, TORCH_X, TORCH_GAMMA, TORCH_BETA, expected=TORCH_TRAIN_OUT, given=given_, rtol=1e-7,
                       problem="training-mode out differs from torch's batch_norm")
    check_running(running, TORCH_RUNNING, TORCH_X, 0.1, expected=TORCH_RUNNING_AFTER, given=given_, rtol=1e-7,
                  problem='running["{key}"] after a training batch differs from torch.nn.BatchNorm1d\'s')
    out, _, _ = run_forward(TORCH_EVAL_X, TORCH_GAMMA, TORCH_BETA, running, training=False)
    check_close(out, TORCH_EVAL_OUT, problem="evaluation-mode out differs from torch's batch_norm",
                given={"x": TORCH_EVAL_X, 'running["mean"]': running["mean"], 'running["var"]': running["var"]},
                hint="evaluation mode: x_hat = (x - running mean) / sqrt(running var + eps).", rtol=1e-7)


def test_batchnorm_forward_normalises_with_the_biased_batch_variance():
    x = np.array([[0.0], [1.0], [5.0]])  # mu = 2, biased var = 14/3, unbiased 7
    gamma, beta = np.ones(1), np.zeros(1)
    out, _, _ = run_forward(x, gamma, beta, {"mean": np.zeros(1), "var": np.ones(1)})
    expected = reference_forward(x, gamma, beta)
    if np.allclose(out, (x - 2.0) / np.sqrt(7.0 + EPS), rtol=1e-6):
        fail("batchnorm_forward normalises with the unbiased variance (divided by N - 1); the normalisation "
             "uses the biased variance, the mean of (x - mu)**2 (divided by N).", given={"x": x}, got=out,
             expected=expected, hint="the variance that normalises divides by N (biased); only the running variance uses N/(N-1).")
    check_close(out, expected, problem="x_hat of [0, 1, 5] (mu = 2, var = 14/3) is wrong", given={"x": x},
                hint=FORMULA)


def test_batchnorm_forward_adds_eps_inside_the_square_root():
    x = np.array([[0.0, 1.0], [0.004, 1.0], [0.002, 1.0]])  # a tiny variance, then a constant feature
    gamma, beta = np.ones(2), np.array([0.0, 0.5])
    out, _, _ = run_forward(x, gamma, beta, {"mean": np.zeros(2), "var": np.ones(2)})
    if not np.all(np.isfinite(out)):
        fail("batchnorm_forward returned nan or inf for a feature that is constant over the batch.",
             given={"x": x}, got=out, hint="add eps to the variance before the square root: sqrt(var + eps).")
    check_training_out(out, x, gamma, beta,
                       problem="for a feature of tiny variance (2.7e-6, smaller than eps), eps must be added inside "
                               "the square root, sqrt(var + eps); and a constant feature gives out = beta",
                       given={"x": x}, hint="x_hat = (x - mu) / np.sqrt(var + eps), not / (np.sqrt(var) + eps).")


@st.composite
def batches(draw):
    n, d = draw(st.integers(2, 8)), draw(st.integers(1, 4))
    x = draw(hnp.arrays(np.float64, (n, d), elements=st.floats(-20, 20, allow_subnormal=False)))
    gamma = draw(hnp.arrays(np.float64, d, elements=st.floats(-3, 3, allow_subnormal=False)))
    beta = draw(hnp.arrays(np.float64, d, elements=st.floats(-3, 3, allow_subnormal=False)))
    momentum = draw(st.floats(0, 1))
    return x, gamma, beta, momentum


@given(batches())
def test_batchnorm_forward_matches_an_independent_implementation(case):
    x, gamma, beta, momentum = case
    running = {"mean": np.linspace(-1, 1, x.shape[1]), "var": np.linspace(0.5, 2, x.shape[1])}
    before = fresh(running)
    out, _, running = run_forward(x, gamma, beta, running, momentum=momentum)
    given_ = {"x": x, "gamma": gamma, "beta": beta, "momentum": momentum}
    check_training_out(out, x, gamma, beta, problem="training-mode out is wrong", given=given_, rtol=1e-6, atol=1e-6)
    check_running(running, before, x, momentum, problem='running["{key}"] is wrong', given=given_)


@given(batches(), st.floats(-100, 100))
def test_batchnorm_forward_ignores_a_shift_of_the_batch(case, shift):
    x, gamma, beta, _ = case
    x = x * 3.0 + np.linspace(1, 2, x.shape[1])  # keep the variance of each feature well above eps
    out, _, _ = run_forward(x, gamma, beta, {"mean": np.zeros(x.shape[1]), "var": np.ones(x.shape[1])})
    shifted, _, _ = run_forward(x + shift, gamma, beta, {"mean": np.zeros(x.shape[1]), "var": np.ones(x.shape[1])})
    check_close(shifted, out, problem=f"adding {shift:g} to every example must not change the training-mode "
                                      "output: the batch mean is subtracted", given={"x": x}, hint=FORMULA,
                rtol=1e-5, atol=1e-5)


def test_batchnorm_forward_updates_running_statistics():
    x, gamma, beta, running = make_case(3, n=6, d=4)
    before = fresh(running)
    _, _, running = run_forward(x, gamma, beta, running, momentum=0.25)
    given_ = {"x": x, 'running["mean"] before': before["mean"], 'running["var"] before': before["var"],
              "momentum": 0.25}
    check_running(running, before, x, 0.25, given=given_,
                  problem='running["{key}"] must be (1 - momentum) * old + momentum * {what}')


def test_batchnorm_forward_eval_mode_uses_running_statistics():
    x, gamma, beta, running = make_case(4, n=4, d=3)
    before = fresh(running)
    arrays = {k: running[k] for k in running}
    out, _, after = run_forward(x, gamma, beta, running, training=False)
    given_ = {"x": x, 'running["mean"]': before["mean"], 'running["var"]': before["var"]}
    expected = reference_forward(x, gamma, beta, before["mean"], before["var"])
    if np.allclose(out, reference_forward(x, gamma, beta), rtol=1e-6):
        fail("evaluation mode (training=False) normalised with the batch's statistics; it must use the running "
             "mean and variance, so that one image is classified the same whatever batch it comes in.",
             given=given_, got=out, expected=expected, hint="evaluation mode: x_hat = (x - running mean) / sqrt(running var + eps); the batch's "
                  "own mean and variance play no part.")
    check_close(out, expected, problem="evaluation mode: out = gamma * (x - running mean) / sqrt(running var + eps) + beta",
                given=given_, hint="the running variance is used as it is: no N/(N-1) at evaluation.")
    for key in ("mean", "var"):
        check_unchanged({f'running["{key}"]': before[key]}, {f'running["{key}"]': after[key]},
                        "batchnorm_forward in evaluation mode")
        check_unchanged({f'running["{key}"] (the array)': before[key]}, {f'running["{key}"] (the array)': arrays[key]},
                        "batchnorm_forward in evaluation mode")


def test_batchnorm_forward_eval_mode_accepts_a_single_example():
    x, gamma, beta, running = make_case(5, n=1, d=3)
    out, _, _ = run_forward(x, gamma, beta, running, training=False)
    check_close(out, reference_forward(x, gamma, beta, running["mean"], running["var"]),
                problem="evaluation mode must work for a batch of one image", given={"x": x},
                hint="evaluation mode uses only the running statistics, so any N >= 1 works.")


def test_batchnorm_forward_changes_only_the_running_dict():
    # Writing into running's arrays and replacing its entries are both accepted: the values are read
    # from the caller's dict after the call. x, gamma and beta must stay as they were (run_forward).
    x, gamma, beta, running = make_case(6, n=5, d=2)
    before = fresh(running)
    _, _, running = run_forward(x, gamma, beta, running)
    check_running(running, before, x, 0.1, given={"x": x},
                  problem='the caller\'s running["{key}"] after a training batch')


def test_batchnorm_forward_keeps_float32():
    x, gamma, beta, running = make_case(7, dtype=np.float32)
    out, _, running = run_forward(x, gamma, beta, running)
    check_dtype(out, np.float32, "batchnorm_forward", given={"x": x})
    for key in ("mean", "var"):
        check_dtype(running[key], np.float32, f'batchnorm_forward\'s running["{key}"]', given={"x": x})
    out, _, _ = run_forward(x, gamma, beta, running, training=False)
    check_dtype(out, np.float32, "batchnorm_forward in evaluation mode", given={"x": x})




def test_batchnorm_forward_rejects_a_batch_of_one_in_training_mode():
    x, gamma, beta, running = make_case(8, n=1, d=3)
    expect_value_error(lambda: batchnorm_forward(x, gamma, beta, running), "batchnorm_forward",
                       "a training batch of N = 1", "1", hint="the variance of one example is 0, and N/(N-1) divides by zero: raise ValueError(f\"... "
                       "N = {n}\") when training with N < 2.")


@pytest.mark.parametrize("case", ["x 1-D", "gamma of the wrong length", "momentum 1.5", "eps 0"])
def test_batchnorm_forward_rejects_bad_arguments(case):
    x, gamma, beta, running = make_case(9, n=4, d=3)
    # The bad value may be named as the tests of the other stages accept it: as a shape or in words ("gamma has 2").
    options, needle = {}, ()
    if case == "x 1-D":
        x, needle = x[0], ("(3,)", "1-D", "1-d", "1D", "1 dimension", "ndim 1", "ndim=1", "ndim = 1")
    elif case == "gamma of the wrong length":
        gamma, needle = np.ones(2), ("(2,)", "2")
    elif case == "momentum 1.5":
        options, needle = {"momentum": 1.5}, ("1.5",)
    else:
        options, needle = {"eps": 0.0}, ("0",)
    expect_value_error(lambda: batchnorm_forward(x, gamma, beta, running, **options), "batchnorm_forward", case,
                       needle, hint="check the arguments first: x 2-D (N, D); gamma, beta and the running arrays (D,); "
                       "0 <= momentum <= 1; eps > 0. Name the bad value in the message.")


# Task 2: batchnorm_backward -----------------------------------------------------------------------

def test_batchnorm_backward_worked_example():
    x = np.array([[0.0], [1.0], [5.0]])
    gamma, beta = np.array([2.0]), np.array([0.0])
    _, cache, _ = run_forward(x, gamma, beta, {"mean": np.zeros(1), "var": np.ones(1)})
    dout = np.array([[1.0], [0.0], [0.0]])
    dx, dgamma, dbeta = run_backward(dout, cache, x.shape)
    given_ = {"x": x, "gamma": gamma, "dout": dout}
    check_close(dbeta, [1.0], problem="dbeta must sum dout over the batch", given=given_,
                hint="dbeta = the sum of dout over the batch (rows).")
    check_close(dgamma, [-2 / np.sqrt(14 / 3 + EPS)], problem="dgamma must be the sum over the batch of dout * x_hat (x_hat[0] = (0 - 2) / sqrt(14/3 + eps))", given=given_,
                hint="dgamma = the sum over the batch (rows) of dout * x_hat.", rtol=1e-6)
    constants = " It is dout * gamma / sqrt(var + eps), as if the batch mean and variance were constants: in " \
        "training mode they depend on every row of x, so each x[i] also reaches the output through them." \
        if np.allclose(dx, dout * gamma / np.sqrt(x.var(axis=0) + EPS), rtol=1e-6) else ""
    check_close(dx, [[0.35273], [-0.44091], [0.08818]], given=given_, hint=FULL_GRADIENT, rtol=1e-4, atol=1e-5,
                problem="dx for the docstring's example is wrong (the columns of dx sum to 0 in training mode)"
                        + (f" (they sum to {float(np.sum(dx)):.4g}).{constants}" if constants else ""))


def test_batchnorm_backward_matches_torch_autograd():
    _, cache, _ = run_forward(TORCH_X, TORCH_GAMMA, TORCH_BETA, fresh(TORCH_RUNNING))
    dx, dgamma, dbeta = run_backward(TORCH_DOUT, cache, TORCH_X.shape)
    given_ = {"x": TORCH_X, "dout": TORCH_DOUT}
    check_close(dbeta, TORCH_DBETA, problem="dbeta differs from torch's", given=given_, hint="dbeta = the sum of dout over the batch (rows).", rtol=1e-7)
    check_close(dgamma, TORCH_DGAMMA, problem="dgamma differs from torch's", given=given_,
                hint="dgamma = the sum over the batch (rows) of dout * x_hat.", rtol=1e-7)
    check_close(dx, TORCH_DX, problem="dx differs from torch's autograd", given=given_, hint=FULL_GRADIENT,
                rtol=1e-7, atol=1e-10)


def gradient_failure(name, result, analytic, given_, hint):
    fail(f"batchnorm_backward's {name} is not the gradient of sum(out * dout): numerical gradient check {result}.",
         given=given_, got=analytic, hint=hint)


@pytest.mark.parametrize("shape", [(4, 3), (2, 2), (7, 1), (16, 5)], ids=lambda s: "N,D=%d,%d" % s)
def test_batchnorm_backward_passes_numerical_gradient_checks_in_training_mode(shape):
    n, d = shape
    x, gamma, beta, running = make_case(10 * n + d, n=n, d=d)
    dout = np.random.default_rng(n * d).standard_normal((n, d))
    _, cache, _ = run_forward(x, gamma, beta, fresh(running))
    dx, dgamma, dbeta = run_backward(dout, cache, x.shape)
    given_ = {"x": x, "gamma": gamma, "dout": dout}
    result = check_gradient(lambda v: np.sum(reference_forward(v, gamma, beta) * dout), x, dx)
    if not result:
        var = x.var(axis=0)
        constants = dout * gamma / np.sqrt(var + EPS)
        if np.allclose(dx, constants, rtol=1e-6):
            fail("batchnorm_backward treats the batch mean and variance as constants: dx = dout * gamma / "
                 f"sqrt(var + eps) is only the first of three paths. In training mode mu and var depend on every "
                 f"row of x; numerical gradient check {result}.", given=given_, got=dx, hint=FULL_GRADIENT)
        gradient_failure("dx", result, dx, given_, FULL_GRADIENT)
    for name, f, point, analytic, hint in (
            ("dgamma", lambda v: np.sum(reference_forward(x, v, beta) * dout), gamma, dgamma,
             "dgamma = the sum over the batch of dout * x_hat: gamma multiplies x_hat in every row."),
            ("dbeta", lambda v: np.sum(reference_forward(x, gamma, v) * dout), beta, dbeta,
             "dbeta = the sum of dout over the batch: beta is added to every row.")):
        result = check_gradient(f, point, analytic)
        if not result:
            gradient_failure(name, result, analytic, given_, hint)


@pytest.mark.parametrize("n", [1, 5])
def test_batchnorm_backward_passes_numerical_gradient_checks_in_eval_mode(n):
    x, gamma, beta, running = make_case(20 + n, n=n, d=3)
    dout = np.random.default_rng(n).standard_normal((n, 3))
    _, cache, _ = run_forward(x, gamma, beta, running, training=False)
    dx, dgamma, dbeta = run_backward(dout, cache, x.shape)
    given_ = {"x": x, "dout": dout, 'running["var"]': running["var"]}
    mean, var = running["mean"], running["var"]
    hint = ("in evaluation mode the running mean and variance are constants: dx = dout * gamma / "
            "sqrt(running var + eps); the batch statistics play no part. The cache must say which mode made it.")
    for name, f, point, analytic in (
            ("dx", lambda v: np.sum(reference_forward(v, gamma, beta, mean, var) * dout), x, dx),
            ("dgamma", lambda v: np.sum(reference_forward(x, v, beta, mean, var) * dout), gamma, dgamma),
            ("dbeta", lambda v: np.sum(reference_forward(x, gamma, v, mean, var) * dout), beta, dbeta)):
        result = check_gradient(f, point, analytic)
        if not result:
            gradient_failure(f"{name} (evaluation mode)", result, analytic, given_, hint)


def test_batchnorm_backward_keeps_float32():
    x, gamma, beta, running = make_case(11, dtype=np.float32)
    dout = np.ones_like(x)
    for training in (True, False):
        _, cache, _ = run_forward(x, gamma, beta, copy.deepcopy(running), training=training)
        for grad, name in zip(run_backward(dout, cache, x.shape), ("dx", "dgamma", "dbeta")):
            check_dtype(grad, np.float32, f"batchnorm_backward's {name}", given={"dout": dout})
