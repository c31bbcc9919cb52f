"""Stage 6: initialisation. Tasks: random_init(layer_sizes, rng, scale=0.01), then he_init(layer_sizes, rng).

The statistical tests measure matrices of at least 25,600 weights, so the measured spread is
within half a percent of the true one: the tolerances below (3% on the standard deviation, 2
points on the share within one deviation) are 6 to 20 standard errors wide, so any correct
implementation passes whatever order it draws in, yet they are far tighter than the gap to the
usual mistakes (fan_out instead of fan_in, 1/fan_in instead of 2/fan_in, a variance used as a
deviation, a uniform distribution).
"""

import numpy as np
import pytest

from checker.teach import check_shape, fail, learner_function, returned_array, show

random_init = learner_function("init", "random_init")
he_init = learner_function("init", "he_init")

GENERATOR = ("draw every random number from the generator you are given, with its own methods "
             "(rng.standard_normal(...)); np.random.randn or a new np.random.default_rng(...) inside the function "
             "ignore it.")
HE = ("He: W_l ~ N(0, 2 / fan_in), i.e. standard deviation sqrt(2 / fan_in), where fan_in = layer_sizes[l-1] "
      "is the number of inputs of the layer (not fan_out, not fan_in + fan_out).")
RANDOM = "random_init: W_l = scale * N(0, 1), so the standard deviation is scale (0.01 by default)."


def he_mistakes(fan_in: int, fan_out: int) -> dict:
    """The standard deviations of the usual wrong He scales, with what to say when the weights have one."""
    return {
        "you used 2 / fan_in as the standard deviation; it is the variance: the standard deviation is its "
        "square root, sqrt(2 / fan_in).": 2.0 / fan_in,
        "you scaled by fan_out, the number of outputs; He uses fan_in, the number of inputs.": np.sqrt(2.0 / fan_out),
        "that is the scale sqrt(1 / fan_in) (LeCun, Xavier): He doubles the variance, because ReLU zeroes half of "
        "the signal.": np.sqrt(1.0 / fan_in),
        "that is Glorot's sqrt(2 / (fan_in + fan_out)); He uses fan_in only.": np.sqrt(2.0 / (fan_in + fan_out)),
    }
LAYERS = [784, 256, 100]
INITS = {"random_init": random_init, "he_init": he_init}


def run_init(name, layer_sizes, seed=0, **kwargs):
    """Call random_init/he_init; check keys, shapes and zero biases; return the params."""
    params = INITS[name](list(layer_sizes), np.random.default_rng(seed), **kwargs)
    given_ = {"layer_sizes": list(layer_sizes)}
    if not isinstance(params, dict):
        fail(f"{name} must return a dict of arrays, got {type(params).__name__}.", given=given_)
    layers = len(layer_sizes) - 1
    expected_keys = {f"{p}{l}" for l in range(1, layers + 1) for p in "Wb"}
    if set(params) != expected_keys:
        fail(f"{name}({list(layer_sizes)}) must return the keys {sorted(expected_keys)}; got {sorted(params)}.",
             given=given_, hint="one W and one b per layer, numbered from 1: W1, b1, W2, b2, ...")
    for layer in range(1, layers + 1):
        fan_in, fan_out = layer_sizes[layer - 1], layer_sizes[layer]
        W = returned_array(params[f"W{layer}"], f"{name}'s W{layer}", given=given_)
        b = returned_array(params[f"b{layer}"], f"{name}'s b{layer}", given=given_)
        check_shape(W, (fan_in, fan_out), f"{name}'s W{layer}", given=given_,
                    hint="W_l has shape (fan_in, fan_out) = (layer_sizes[l-1], layer_sizes[l]), so that the "
                         "product x W of a batch (N, fan_in) works.")
        check_shape(b, (fan_out,), f"{name}'s b{layer}", given=given_,
                    hint="b_l is 1-D, shape (fan_out,), like every bias of the kata; a (1, fan_out) row is 2-D.")
        if np.any(b != 0):
            fail(f"{name}'s b{layer} must be all zeros.", given=given_, got=b,
                 hint="only the weights need randomness (to break the symmetry between units).")
    return params


def check_spread(W, expected_std, what, given, hint, tolerance=0.03, mistakes=None):
    """mistakes: {diagnosis: standard deviation} of the usual wrong scales, said when the measured one is one."""
    std, mean = float(W.std()), float(W.mean())
    if not abs(std - expected_std) <= tolerance * expected_std:
        diagnosis = next((text for text, wrong in (mistakes or {}).items()
                          if abs(std - wrong) <= tolerance * wrong and abs(wrong - expected_std) > tolerance * expected_std), "")
        fail(f"{what} must have standard deviation {expected_std:.5g}; measured {std:.5g} "
             f"({std / expected_std:.2f} times too {'large' if std > expected_std else 'small'}) over {W.size} weights."
             + (f" {diagnosis[0].upper()}{diagnosis[1:]}" if diagnosis else ""),
             given=given, hint=hint)
    if abs(mean) > 5 * expected_std / np.sqrt(W.size) + 1e-12:
        fail(f"{what} must have mean 0; measured {mean:.3g}.", given=given,
             hint="draw from a normal distribution centred on 0: rng.standard_normal, not rng.random (which is in [0, 1)).")
    # A normal distribution has 68.3% of its values within one standard deviation (a uniform one 57.7%).
    inside = float(np.mean(np.abs(W - mean) < std))
    if abs(inside - 0.6827) > 0.02:
        fail(f"{what} must be normally distributed: {inside:.1%} of the weights lie within one standard deviation, "
             "a normal distribution has 68.3%.", given=given, hint="use rng.standard_normal (or rng.normal), not rng.uniform.")


@pytest.mark.parametrize("name", INITS)
def test_random_init_and_he_init_return_the_right_keys_shapes_and_zero_biases(name):
    run_init(name, [4, 3, 2])
    run_init(name, [5, 4, 3, 2])


# Task 1: random_init -------------------------------------------------------------------------------

def test_random_init_has_the_default_scale_of_0_01():
    params = run_init("random_init", LAYERS, seed=1)
    for layer in (1, 2):
        check_spread(params[f"W{layer}"], 0.01, f"random_init's W{layer}", {"layer_sizes": LAYERS}, RANDOM,
                     mistakes={"The draws were not multiplied by scale.": 1.0})


def test_random_init_uses_its_scale_argument():
    params = run_init("random_init", LAYERS, seed=2, scale=0.5)
    check_spread(params["W1"], 0.5, "random_init(..., scale=0.5)'s W1", {"layer_sizes": LAYERS, "scale": 0.5},
                 "multiply by the scale argument, not by a fixed 0.01.")


# Task 2: he_init ---------------------------------------------------------------------------------

def test_he_init_scales_by_fan_in():
    params = run_init("he_init", LAYERS, seed=3)
    for layer in (1, 2):
        fan_in = LAYERS[layer - 1]
        check_spread(params[f"W{layer}"], np.sqrt(2.0 / fan_in),
                     f"he_init's W{layer} (fan_in {fan_in}, fan_out {LAYERS[layer]})", {"layer_sizes": LAYERS}, HE,
                     mistakes=he_mistakes(fan_in, LAYERS[layer]))


def test_he_init_scales_each_layer_by_its_own_fan_in():
    sizes = [100, 400, 200, 300]
    params = run_init("he_init", sizes, seed=4)
    for layer in (1, 2, 3):
        fan_in = sizes[layer - 1]
        check_spread(params[f"W{layer}"], np.sqrt(2.0 / fan_in), f"he_init's W{layer} (fan_in {fan_in})",
                     {"layer_sizes": sizes}, HE, mistakes=he_mistakes(fan_in, sizes[layer]))


# Both: randomness only from the given generator -------------------------------------------------

@pytest.mark.parametrize("name", INITS)
def test_random_init_and_he_init_give_the_same_weights_for_the_same_seed(name):
    first, second = run_init(name, [6, 5, 4], seed=11), run_init(name, [6, 5, 4], seed=11)
    for key in first:
        if not np.array_equal(first[key], second[key]):
            fail(f"{name} with two generators of the same seed must give the same {key}.",
                 got=f"{show(first[key])}\nthen {show(second[key])}", hint=GENERATOR)
    other = run_init(name, [6, 5, 4], seed=12)
    if np.array_equal(first["W1"], other["W1"]):
        fail(f"{name} gives the same W1 for seeds 11 and 12: it ignores the generator it is given.", hint=GENERATOR)


@pytest.mark.parametrize("name", INITS)
def test_random_init_and_he_init_leave_the_global_random_state_alone(name):
    np.random.seed(1234)
    _, keys_before, position_before, *_ = np.random.get_state()
    run_init(name, [6, 5, 4], seed=0)
    _, keys_after, position_after, *_ = np.random.get_state()
    if position_after != position_before or not np.array_equal(keys_after, keys_before):
        fail(f"{name} changed NumPy's global random state (np.random).", hint=GENERATOR)


@pytest.mark.parametrize("name", INITS)
def test_random_init_and_he_init_draw_from_the_generator(name):
    rng = np.random.default_rng(5)
    before = rng.bit_generator.state
    INITS[name]([6, 5, 4], rng)
    if rng.bit_generator.state == before:
        fail(f"{name} did not draw from the generator it was given.", hint=GENERATOR)
