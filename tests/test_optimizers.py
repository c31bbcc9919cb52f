"""Stage 10: momentum and Adam. Tasks: momentum_init, momentum_step, adam_init, adam_step.

momentum_step is PyTorch's SGD with momentum (no dampening, no Nesterov) and adam_step is
torch.optim.Adam (no weight decay, no amsgrad). The worked examples below hold values computed
once with torch 2.13.0 (torch.optim.SGD(momentum=0.9, dampening=0, nesterov=False) and
torch.optim.Adam(lr=0.1) in float64, from p = [1, -2] with the three gradients of GRADIENTS), so
that these tests check the match without needing torch. bench/optimizers_vs_torch.py redoes that
check (six steps, several settings) and prints these values.
"""

import math
from functools import partial

import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from checker import teach
from checker.teach import check_close, check_dtype, check_unchanged, fail, learner_function

momentum_init = learner_function("optimizers", "momentum_init")
momentum_step = learner_function("optimizers", "momentum_step")
adam_init = learner_function("optimizers", "adam_init")
adam_step = learner_function("optimizers", "adam_step")

START = [1.0, -2.0]
GRADIENTS = [[0.5, -1.0], [-0.2, 3.0], [0.1, 0.4]]
# torch.optim.SGD([p], lr=0.1, momentum=0.9, dampening=0, nesterov=False), p after each step; momentum_buffer at the end
TORCH_MOMENTUM = [[0.95, -1.9], [0.925, -2.11], [0.8925, -2.339]]
TORCH_MOMENTUM_BUFFER = [0.325, 2.29]
# torch.optim.Adam([p], lr=0.1) (betas 0.9, 0.999, eps 1e-8), p after each step; exp_avg and exp_avg_sq at the end
TORCH_ADAM = [[0.900000002, -1.900000001], [0.8654394181165108, -1.9494189841087441],
              [0.8275002408356956, -1.9953385723789494]]
TORCH_ADAM_M = [0.0325, 0.229]
TORCH_ADAM_V = [0.00029946025, 0.010149001]

MOMENTUM = ("velocity[k] = momentum * velocity[k] + grads[k] (no dampening: the gradient is not multiplied by "
            "1 - momentum), then params[k] -= lr * velocity[k], with the new velocity. This is PyTorch's SGD with "
            "momentum; the velocity holds the sum of gradients, without lr and without a minus sign.")
ADAM = ("Adam's step: t goes up by 1; m <- beta1 m + (1 - beta1) g; v <- beta2 v + (1 - beta2) g^2; "
        "m_hat = m / (1 - beta1^t); v_hat = v / (1 - beta2^t); p <- p - lr m_hat / (sqrt(v_hat) + eps).")
BIAS_CORRECTION = ("m and v start at 0, so early on they are too small; Adam's bias correction divides them by "
                   "1 - beta1^t and 1 - beta2^t, with t the number of steps taken so far including this one "
                   "(t = 1 at the first step).")
IN_PLACE = ("update the arrays in place (x -= ..., x *= ..., x += ...): x = ... makes a new array, and the dict the "
            "training loop holds (params, velocity, state) would not see it or would get a new object.")
VALIDATE = ("check the arguments first: lr finite and >= 0; momentum, beta1 and beta2 in [0, 1); eps > 0; "
            "otherwise raise ValueError naming the value, e.g. f'momentum must satisfy 0 <= momentum < 1, got {momentum!r}'.")
# Every bad-input test of this stage ends with the same advice.
expect_value_error = partial(teach.expect_value_error, hint=VALIDATE)


def reference_momentum(start, gradients, lr, momentum, dampening=0.0, nesterov=False, velocity_first=True):
    """params after each step of PyTorch's SGD with momentum (and variants used to diagnose mistakes)."""
    p = np.array(start, dtype=np.float64)
    v = np.zeros_like(p)
    history = []
    for g in gradients:
        g = np.asarray(g, np.float64)
        old = v.copy()
        v = momentum * v + (1 - dampening) * g
        p = p - lr * ((g + momentum * v) if nesterov else (v if velocity_first else old))
        history.append(p.copy())
    return history, v


def reference_adam(start, gradients, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, bias_correction=True,
                   eps_inside=False):
    """params after each step of Adam (and variants used to diagnose mistakes), with m and v at the end."""
    p = np.array(start, dtype=np.float64)
    m, v = np.zeros_like(p), np.zeros_like(p)
    history = []
    for t, g in enumerate(gradients, start=1):
        g = np.asarray(g, np.float64)
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g * g
        m_hat = m / (1 - beta1**t) if bias_correction else m
        v_hat = v / (1 - beta2**t) if bias_correction else v
        p = p - lr * m_hat / (np.sqrt(v_hat + eps) if eps_inside else np.sqrt(v_hat) + eps)
        history.append(p.copy())
    return history, m, v


def matches(got, history):
    return len(got) == len(history) and all(np.allclose(a, b, rtol=1e-6, atol=1e-12) for a, b in zip(got, history))


def check_state_arrays(state, params, func, what):
    """state (a dict of arrays) has params' keys, zeros of params' shapes and dtypes, none of them params' arrays."""
    if not isinstance(state, dict) or set(state) != set(params):
        fail(f"{func} must return {what} as a dict with the keys of params {sorted(params)}; got "
             f"{sorted(state) if isinstance(state, dict) else type(state).__name__}.", given={"params keys": sorted(params)},
             hint="one array per parameter: {k: zeros like params[k] for every key k}.")
    for key, value in params.items():
        array = state[key]
        if not isinstance(array, np.ndarray) or array.shape != value.shape or array.dtype != value.dtype:
            fail(f"{func}: {what}[{key!r}] must be zeros of params[{key!r}]'s shape {value.shape} and dtype {value.dtype}; "
                 f"got {type(array).__name__}" + (f" of shape {array.shape}, dtype {array.dtype}" if
                                                 isinstance(array, np.ndarray) else "") + ".",
                 hint="np.zeros_like keeps both the shape and the dtype (float32 training stays float32).")
        if np.any(array != 0):
            fail(f"{func}: {what}[{key!r}] must start at zero.", got=array, hint="nothing has been accumulated yet.")
        if np.shares_memory(array, value):
            fail(f"{func}: {what}[{key!r}] shares memory with params[{key!r}]: they must be separate arrays.",
                 hint="build new arrays of zeros; updating the state in place would otherwise change the weights.")


def run_step(step, params, grads, state_arrays, *args, **kwargs):
    """Call an optimiser step; check params and its state arrays are updated in place and grads are untouched.

    state_arrays: {"velocity": dict, ...} of the dicts whose arrays must stay the same objects.
    """
    name = step.__name__
    params_objects = dict(params)
    state_objects = {label: dict(d) for label, d in state_arrays.items()}
    grads_before = {k: v.copy() for k, v in grads.items()}
    result = step(params, grads, *args, **kwargs)
    check_unchanged({f"grads[{k!r}]": v for k, v in grads_before.items()},
                    {f"grads[{k!r}]": v for k, v in grads.items()}, name)
    if result is not params:
        fail(f"{name} must return the params dict it was given (updated in place); it returned "
             f"{'a new dict' if isinstance(result, dict) else type(result).__name__}.", hint=IN_PLACE)
    for key, array in params_objects.items():
        if params.get(key) is not array:
            fail(f"{name} replaced params[{key!r}] with a new array instead of updating it in place.", hint=IN_PLACE)
    for label, objects in state_objects.items():
        for key, array in objects.items():
            if state_arrays[label].get(key) is not array:
                fail(f"{name} replaced {label}[{key!r}] with a new array instead of updating it in place.", hint=IN_PLACE)
    return result




def toy_params(dtype=np.float64):
    return {"W1": np.array([[1.0, -0.5], [0.25, 2.0]], dtype), "b1": np.array([0.1, -0.1], dtype)}


def toy_grads(dtype=np.float64):
    return {"W1": np.array([[0.3, -0.2], [1.5, 0.0]], dtype), "b1": np.array([-1.0, 0.05], dtype)}


parameter_dicts = st.dictionaries(
    st.sampled_from(["W1", "b1", "W2", "b2"]),
    hnp.arrays(np.float64, hnp.array_shapes(max_dims=2, max_side=4), elements=st.floats(-10, 10)),
    min_size=1,
)


def draw_gradients(data, params, steps):
    return [{k: data.draw(hnp.arrays(np.float64, v.shape, elements=st.floats(-10, 10)), label=f"step {i} grads[{k!r}]")
             for k, v in params.items()} for i in range(steps)]


# Task 1: momentum_init -------------------------------------------------------------------------

def test_momentum_init_worked_example():
    params = toy_params()
    velocity = momentum_init(params)
    check_state_arrays(velocity, params, "momentum_init", "velocity")


def test_momentum_init_keeps_float32():
    params = toy_params(np.float32)
    velocity = momentum_init(params)
    check_state_arrays(velocity, params, "momentum_init", "velocity")


# Task 2: momentum_step -------------------------------------------------------------------------

def test_momentum_step_matches_pytorch_sgd_with_momentum():
    params = {"p": np.array(START)}
    velocity = momentum_init(params)
    got = []
    for g in GRADIENTS:
        run_step(momentum_step, params, {"p": np.array(g)}, {"velocity": velocity}, velocity, 0.1, 0.9)
        got.append(params["p"].copy())
    if not matches(got, TORCH_MOMENTUM):
        diagnoses = [
            (reference_momentum(START, GRADIENTS, 0.1, 0.9, dampening=0.9)[0],
             "The gradient is multiplied by 1 - momentum (dampening); the contract has no dampening."),
            (reference_momentum(START, GRADIENTS, 0.1, 0.9, nesterov=True)[0],
             "That is Nesterov momentum; the contract is plain momentum."),
            (reference_momentum(START, GRADIENTS, 0.1, 0.9, velocity_first=False)[0],
             "The step uses the old velocity: update the velocity first, then step with the new one."),
            (reference_momentum(START, GRADIENTS, 0.1, 0.0)[0], "That is plain SGD: the momentum term is missing."),
        ]
        why = next((text for history, text in diagnoses if matches(got, history)), "")
        fail(f"three steps of momentum_step (lr 0.1, momentum 0.9) from p = {START} must give PyTorch's values. {why}",
             given={"gradients": np.array(GRADIENTS)}, got=np.array(got), expected=np.array(TORCH_MOMENTUM), hint=MOMENTUM)
    check_close(velocity["p"], TORCH_MOMENTUM_BUFFER, problem="after three steps, velocity['p'] must be 0.9 * "
                "(0.9 * 0.5 - 0.2) + 0.1 = 0.325 and 0.9 * (0.9 * -1 + 3) + 0.4 = 2.29 (PyTorch's momentum_buffer)",
                hint=MOMENTUM)


@given(parameter_dicts, st.floats(0.0, 1.0), st.floats(0.0, 0.99), st.data())
def test_momentum_step_follows_the_formula_over_several_steps(params, lr, momentum, data):
    gradients = draw_gradients(data, params, 3)
    start = {k: v.copy() for k, v in params.items()}
    velocity = momentum_init(params)
    for grads in gradients:
        run_step(momentum_step, params, grads, {"velocity": velocity}, velocity, lr, momentum=momentum)
    for key in params:
        expected, expected_velocity = reference_momentum(start[key], [g[key] for g in gradients], lr, momentum)
        check_close(params[key], expected[-1], rtol=1e-9, atol=1e-9,
                    problem=f"after 3 steps of momentum_step (lr {lr:g}, momentum {momentum:g}), params[{key!r}] is wrong",
                    given={f"params[{key!r}] at the start": start[key]}, hint=MOMENTUM + " Update every key of params.")
        check_close(velocity[key], expected_velocity, rtol=1e-9, atol=1e-9,
                    problem=f"after 3 steps, velocity[{key!r}] must be the momentum-weighted sum of the gradients",
                    hint=MOMENTUM + " Update every key of params (and of velocity).")


def test_momentum_step_with_zero_momentum_is_plain_sgd():
    params, grads = toy_params(), toy_grads()
    start = {k: v.copy() for k, v in params.items()}
    velocity = momentum_init(params)
    run_step(momentum_step, params, grads, {"velocity": velocity}, velocity, 0.5, momentum=0.0)
    for key in params:
        check_close(params[key], start[key] - 0.5 * grads[key], hint=MOMENTUM,
                    problem=f"with momentum = 0, momentum_step must be a plain SGD step: params[{key!r}] is wrong")


def test_momentum_step_updates_params_and_velocity_in_place():
    params, grads = toy_params(), toy_grads()
    weights, velocity = params["W1"], momentum_init(params)
    velocity_array = velocity["W1"]
    run_step(momentum_step, params, grads, {"velocity": velocity}, velocity, 0.1)
    check_close(velocity_array, grads["W1"], problem="after the first step, the velocity array the caller holds "
                "must hold the gradient", hint=IN_PLACE)
    check_close(weights, toy_params()["W1"] - 0.1 * grads["W1"], problem="the weight array the caller holds must change",
                hint=IN_PLACE)


def test_momentum_step_keeps_float32():
    params, grads = toy_params(np.float32), toy_grads(np.float32)
    velocity = momentum_init(params)
    for _ in range(2):
        run_step(momentum_step, params, grads, {"velocity": velocity}, velocity, 0.1, momentum=0.9)
    for key in params:
        check_dtype(params[key], np.float32, f"momentum_step (params[{key!r}])")
        check_dtype(velocity[key], np.float32, f"momentum_step (velocity[{key!r}])")
        check_close(velocity[key], 1.9 * toy_grads()[key], rtol=1e-5, atol=1e-7, hint=MOMENTUM,
                    problem=f"two float32 steps with the same gradient must give velocity[{key!r}] = 1.9 * grads")


def test_momentum_step_rejects_bad_arguments():
    params, grads = toy_params(), toy_grads()
    velocity = momentum_init(params)
    for kwargs, offending, what in (
        ({"lr": -0.1}, "-0.1", "a negative lr"), ({"lr": math.nan}, "nan", "lr = nan"), ({"lr": math.inf}, "inf", "lr = inf"),
        ({"lr": 0.1, "momentum": 1.25}, "1.25", "momentum = 1.25"), ({"lr": 0.1, "momentum": -0.5}, "-0.5", "momentum = -0.5"),
        ({"lr": 0.1, "momentum": 1.0}, None, "momentum = 1 (the velocity would never forget)"),
    ):
        expect_value_error(lambda: momentum_step(params, grads, velocity, **kwargs), "momentum_step", what, offending,
                           kwargs)


# Task 3: adam_init -----------------------------------------------------------------------------

def run_adam_init(params):
    before = {k: v.copy() for k, v in params.items()}
    state = adam_init(params)
    check_unchanged(before, params, "adam_init")
    if not isinstance(state, dict) or set(state) != {"t", "m", "v"}:
        fail("adam_init must return a dict with the keys 't', 'm' and 'v'; got "
             f"{sorted(state) if isinstance(state, dict) else type(state).__name__}.",
             hint="state = {'t': 0, 'm': {...zeros...}, 'v': {...zeros...}}.")
    return state


def test_adam_init_worked_example():
    params = toy_params()
    state = run_adam_init(params)
    if state["t"] != 0 or not isinstance(state["t"], int):
        fail(f"adam_init's state['t'] must be the integer 0: no step has been taken yet; got {state['t']!r}.",
             hint=BIAS_CORRECTION)
    check_state_arrays(state["m"], params, "adam_init", "state['m']")
    check_state_arrays(state["v"], params, "adam_init", "state['v']")
    for key in params:
        if np.shares_memory(state["m"][key], state["v"][key]):
            fail(f"adam_init: state['m'][{key!r}] and state['v'][{key!r}] are the same array; m and v are two separate "
                 "running averages and need separate arrays.", hint="build the zeros twice, once for m and once for v.")


def test_adam_init_keeps_float32():
    params = toy_params(np.float32)
    state = run_adam_init(params)
    check_state_arrays(state["m"], params, "adam_init", "state['m']")
    check_state_arrays(state["v"], params, "adam_init", "state['v']")


# Task 4: adam_step -----------------------------------------------------------------------------

def adam_run(start, gradients, **kwargs):
    params = {"p": np.array(start)}
    state = adam_init(params)
    got = []
    for g in gradients:
        run_step(adam_step, params, {"p": np.array(g)}, {"state['m']": state["m"], "state['v']": state["v"]}, state,
                 **kwargs)
        got.append(params["p"].copy())
    return got, state


def test_adam_step_matches_pytorch_adam():
    got, state = adam_run(START, GRADIENTS, lr=0.1)
    if not matches(got, TORCH_ADAM):
        diagnoses = [
            (reference_adam(START, GRADIENTS, lr=0.1, bias_correction=False)[0],
             "The bias correction is missing: " + BIAS_CORRECTION),
            (reference_adam(START, GRADIENTS, lr=0.1, eps_inside=True)[0], "eps is added inside the square root; it goes after it."),
        ]
        why = next((text for history, text in diagnoses if matches(got, history)), "")
        if not why and not np.allclose(state["v"]["p"], TORCH_ADAM_V, rtol=1e-6):
            why = (f"state['v']['p'] is {state['v']['p'].tolist()}, not PyTorch's {TORCH_ADAM_V}: v is the running "
                   "average of the squared gradient g * g.")
        elif not why and not np.allclose(state["m"]["p"], TORCH_ADAM_M, rtol=1e-6):
            why = (f"state['m']['p'] is {state['m']['p'].tolist()}, not PyTorch's {TORCH_ADAM_M}: m is the running "
                   "average of the gradient g.")
        fail(f"three steps of adam_step (lr 0.1, default betas and eps) from p = {START} must give PyTorch's values. {why}",
             given={"gradients": np.array(GRADIENTS)}, got=np.array(got), expected=np.array(TORCH_ADAM), hint=ADAM)
    if state["t"] != 3:
        fail(f"after three steps, state['t'] must be 3; it is {state['t']!r}.",
             hint="increase state['t'] by 1 at every step, before the bias correction. " + BIAS_CORRECTION)
    check_close(state["m"]["p"], TORCH_ADAM_M, problem="after three steps, state['m']['p'] (PyTorch's exp_avg) is wrong",
                hint=ADAM)
    check_close(state["v"]["p"], TORCH_ADAM_V, problem="after three steps, state['v']['p'] (PyTorch's exp_avg_sq) is wrong",
                hint=ADAM)


def test_adam_step_first_step_moves_every_parameter_by_about_lr():
    gradients = [[1000.0, -0.5, 0.002, -3e-3]]
    got, state = adam_run([0.0, 0.0, 0.0, 0.0], gradients, lr=0.01, eps=1e-12)
    if state["t"] != 1:
        fail(f"after one step, state['t'] must be 1; it is {state['t']!r}.",
             hint="increase state['t'] by 1 at every step, before the bias correction. " + BIAS_CORRECTION)
    check_close(got[0], [-0.01, 0.01, -0.01, 0.01], rtol=1e-6,
                problem="at Adam's first step m_hat = g and v_hat = g * g, so every parameter moves by lr against the "
                        "sign of its gradient, whatever the gradient's size",
                given={"grads": np.array(gradients[0]), "lr": 0.01}, hint=BIAS_CORRECTION)


def test_adam_step_adds_eps_after_the_square_root():
    gradients = [[1e-4, -1e-3]]
    got, _ = adam_run([0.0, 0.0], gradients, lr=1.0)
    expected = reference_adam([0.0, 0.0], gradients, lr=1.0)[0][0]  # -g / (|g| + 1e-8)
    diagnoses = [
        (reference_adam([0.0, 0.0], gradients, lr=1.0, eps_inside=True)[0],
         ": eps is added inside the square root; it goes after the square root, sqrt(v_hat) + eps (as in PyTorch)"),
        (reference_adam([0.0, 0.0], gradients, lr=1.0, bias_correction=False)[0],
         ": eps is in the right place, but the bias correction is missing (divide m by 1 - beta1^t and v by "
         "1 - beta2^t)"),
    ]
    why = next((text for history, text in diagnoses if matches(got, history)), "")
    check_close(got[0], expected, rtol=1e-7, given={"grads": np.array(gradients[0]), "lr": 1.0, "eps": 1e-8},
                problem="with tiny gradients, where eps matters, adam_step's first step is wrong" + why, hint=ADAM)


def test_adam_step_with_a_zero_gradient_stays_finite():
    gradients = [[0.0, 0.5], [0.0, -0.25], [0.0, 0.0]]  # the first parameter never gets a gradient: v stays 0
    with np.errstate(divide="ignore", invalid="ignore"):
        got, _ = adam_run([1.0, 2.0], gradients, lr=0.1)
    if not all(np.all(np.isfinite(p)) for p in got):
        fail("adam_step made a parameter nan or inf where the gradient is 0 (then m and v are 0, and 0 / 0 is nan).",
             given={"gradients": np.array(gradients)}, got=np.array(got),
             hint="eps keeps the division safe: divide by (sqrt(v_hat) + eps), the sum in parentheses. " + ADAM)
    expected = reference_adam([1.0, 2.0], gradients, lr=0.1)[0]
    check_close(np.array(got), np.array(expected), rtol=1e-7,
                problem="with a zero gradient, a parameter must not move (m = 0); the others follow Adam's step",
                given={"gradients": np.array(gradients)}, hint=ADAM)


@given(parameter_dicts, st.floats(0.0, 0.5), st.floats(0.0, 0.99), st.floats(0.0, 0.999), st.data())
def test_adam_step_follows_the_formula_over_several_steps(params, lr, beta1, beta2, data):
    gradients = draw_gradients(data, params, 3)
    start = {k: v.copy() for k, v in params.items()}
    state = adam_init(params)
    for grads in gradients:
        run_step(adam_step, params, grads, {"state['m']": state["m"], "state['v']": state["v"]}, state, lr, beta1, beta2)
    check_step_count(state, len(gradients), params)
    for key in params:
        expected, m, v = reference_adam(start[key], [g[key] for g in gradients], lr, beta1, beta2)
        check_close(params[key], expected[-1], rtol=1e-7, atol=1e-9,
                    problem=f"after 3 steps of adam_step (lr {lr:g}, beta1 {beta1:g}, beta2 {beta2:g}), params[{key!r}] "
                            "is wrong", given={f"params[{key!r}] at the start": start[key]},
                    hint=ADAM + " Update every key of params.")
        check_close(state["m"][key], m, rtol=1e-9, atol=1e-12, problem=f"after 3 steps, state['m'][{key!r}] is wrong",
                    hint=ADAM)
        check_close(state["v"][key], v, rtol=1e-9, atol=1e-12, problem=f"after 3 steps, state['v'][{key!r}] is wrong",
                    hint=ADAM)


def test_adam_step_updates_params_and_state_in_place():
    params, grads = toy_params(), toy_grads()
    state = adam_init(params)
    weights, m, v = params["W1"], state["m"]["W1"], state["v"]["W1"]
    run_step(adam_step, params, grads, {"state['m']": state["m"], "state['v']": state["v"]}, state, 0.01)
    check_close(m, 0.1 * grads["W1"], problem="after the first step, the m array the caller holds must hold "
                "(1 - beta1) * g", hint=IN_PLACE)
    check_close(v, 0.001 * grads["W1"] ** 2, problem="after the first step, the v array the caller holds must hold "
                "(1 - beta2) * g * g", hint=IN_PLACE)
    if np.array_equal(weights, toy_params()["W1"]):
        fail("adam_step did not change the weight array the caller holds.", hint=IN_PLACE)


def check_step_count(state, steps, params):
    """state['t'] counts the calls of adam_step, whatever the number of parameters."""
    if state["t"] != steps:
        per_key = state["t"] == steps * len(params) and len(params) > 1
        fail(f"after {steps} steps of adam_step on {len(params)} parameters {sorted(params)}, state['t'] must be "
             f"{steps}; it is {state['t']!r}."
             + (" It went up once per parameter: t counts the steps, not the parameters." if per_key else ""),
             hint="increase state['t'] by 1 once per call of adam_step, before the loop over the parameters; every "
                  "parameter's bias correction uses that same t. " + BIAS_CORRECTION)


def test_adam_step_keeps_float32():
    params, grads = toy_params(np.float32), toy_grads(np.float32)
    state = adam_init(params)
    for _ in range(2):
        run_step(adam_step, params, grads, {"state['m']": state["m"], "state['v']": state["v"]}, state, 0.01)
    check_step_count(state, 2, params)
    for key in params:
        check_dtype(params[key], np.float32, f"adam_step (params[{key!r}])")
        check_dtype(state["m"][key], np.float32, f"adam_step (state['m'][{key!r}])")
        check_dtype(state["v"][key], np.float32, f"adam_step (state['v'][{key!r}])")
        expected = reference_adam(toy_params()[key], [toy_grads()[key]] * 2, lr=0.01)[0][-1]
        check_close(params[key], expected, rtol=1e-5, atol=1e-6, hint=ADAM,
                    problem=f"two float32 steps of adam_step give a wrong params[{key!r}]")


def test_adam_step_rejects_bad_arguments():
    params, grads = toy_params(), toy_grads()
    state = adam_init(params)
    for kwargs, offending, what in (
        ({"lr": -0.1}, "-0.1", "a negative lr"), ({"lr": math.nan}, "nan", "lr = nan"), ({"lr": math.inf}, "inf", "lr = inf"),
        ({"beta1": 1.25}, "1.25", "beta1 = 1.25"), ({"beta1": -0.5}, "-0.5", "beta1 = -0.5"),
        ({"beta2": 1.5}, "1.5", "beta2 = 1.5"), ({"beta2": 1.0}, None, "beta2 = 1"),
        ({"eps": 0.0}, None, "eps = 0"), ({"eps": -1e-3}, "-0.001", "eps = -0.001"),
    ):
        expect_value_error(lambda: adam_step(params, grads, state, **kwargs), "adam_step", what, offending, kwargs)
