"""Stage 2: ReLU. Tasks: relu(z), then relu_backward(dout, z)."""

import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from checker.gradcheck import check_gradient
from checker.teach import check_close, check_dtype, check_shape, check_unchanged, fail, learner_function, returned_array

relu = learner_function("relu", "relu")
relu_backward = learner_function("relu", "relu_backward")

MASK_FROM_Z = ("dz = dout * 1[z > 0]: the upstream gradient passes unchanged where the forward input z was "
               "positive and is 0 elsewhere. The mask comes from z, not from dout, and z == 0 counts as off.")
RELU = "relu(z) = max(z, 0) for each element on its own: positives stay as they are, everything else becomes 0."


def diagnose_relu_backward(dz, dout, z) -> str:
    """What a wrong relu_backward did, when it is one of the usual mistakes; else the general rule."""
    def same(candidate):
        return dz.shape == z.shape and np.array_equal(dz, np.asarray(candidate, dtype=dz.dtype))

    mistakes = {
        "you returned dout unchanged: the units that were off (z <= 0) must let no gradient through.": dout,
        "you returned the mask itself (1 where z > 0): multiply it with the upstream gradient dout.": z > 0,
        "the mask was taken from dout: whether a unit was on is decided by the forward input z.": dout * (dout > 0),
        "the gradient passed at z == 0 too: the mask must be z > 0, not z >= 0.": dout * (z >= 0),
    }
    # Said only when the input tells this mistake apart from the others and from the right answer.
    told = [text for text, result in mistakes.items() if same(result)]
    if len(told) == 1 and not same(dout * (z > 0)):
        return f"{told[0]} {MASK_FROM_Z}"
    return MASK_FROM_Z

any_shape_arrays = hnp.arrays(
    np.float64, hnp.array_shapes(min_dims=1, max_dims=3, max_side=5),
    elements=st.floats(-1e3, 1e3, allow_subnormal=False),
)


def run_relu(z):
    original = z.copy()
    out = returned_array(relu(z), "relu", given={"z": z})
    check_unchanged({"z": original}, {"z": z}, "relu")
    check_shape(out, z.shape, "relu", given={"z": z}, hint="ReLU works elementwise: the output has z's shape.")
    return out


def run_relu_backward(dout, z):
    originals = {"dout": dout.copy(), "z": z.copy()}
    given_ = {"dout": dout, "z": z}
    dz = returned_array(relu_backward(dout, z), "relu_backward", given=given_)
    check_unchanged(originals, given_, "relu_backward")
    check_shape(dz, z.shape, "relu_backward", given=given_,
                hint="the gradient with respect to z has the shape of z.")
    return dz


# Task 1: relu ---------------------------------------------------------------------------------

def diagnose_relu(out, z) -> str:
    negative = z < 0
    if out.shape == z.shape and negative.any() and np.all(out[~negative] == z[~negative]):
        ratio = out[negative] / z[negative]
        if np.all(ratio == ratio[0]) and ratio[0] != 0:
            return f"the negative inputs came out as {ratio[0]:g} times themselves (a leaky ReLU); they must become 0. " + RELU
    return RELU


def test_relu_worked_example():
    z = np.array([[-2.0, 0.0, 3.0], [0.5, -0.1, 7.0]])
    out = run_relu(z)
    check_close(out, [[0.0, 0.0, 3.0], [0.5, 0.0, 7.0]], problem="relu must keep positives and zero the rest",
                given={"z": z}, hint=diagnose_relu(out, z))


@given(any_shape_arrays)
def test_relu_is_max_of_z_and_zero_for_any_shape(z):
    out = run_relu(z)
    check_close(out, np.maximum(z, 0.0), problem="relu(z) must equal max(z, 0) elementwise",
                given={"z": z}, hint="compare each element with 0 on its own: Python's max(z) or a maximum over the "
                                     "whole array gives one number for all. " + diagnose_relu(out, z),
                rtol=0, atol=0)


def test_relu_does_not_modify_its_input():
    z = np.array([-1.0, 2.0, -3.0])
    run_relu(z)  # checks z afterwards: z[z < 0] = 0 would zero the caller's array


def test_relu_keeps_float32():
    z = np.array([-1.5, 0.0, 2.5], dtype=np.float32)
    check_dtype(run_relu(z), np.float32, "relu", given={"z": z})


def test_relu_keeps_float64():
    z = np.array([-1.5, 2.5], dtype=np.float64)
    check_dtype(run_relu(z), np.float64, "relu", given={"z": z})


# Task 2: relu_backward ------------------------------------------------------------------------

def test_relu_backward_worked_example():
    dout = np.array([5.0, 5.0, -5.0])
    z = np.array([-1.0, 0.0, 2.0])
    dz = run_relu_backward(dout, z)
    check_close(dz, [0.0, 0.0, -5.0], problem="relu_backward([5, 5, -5], z=[-1, 0, 2]) must be [0, 0, -5]",
                given={"dout": dout, "z": z}, hint=diagnose_relu_backward(dz, dout, z), rtol=0, atol=0)


def test_relu_backward_is_zero_at_the_kink():
    dout = np.array([[1.0, 2.0, 3.0]])
    z = np.array([[0.0, 0.0, 1e-9]])
    dz = run_relu_backward(dout, z)
    check_close(dz, [[0.0, 0.0, 3.0]],
                problem="at exactly z == 0 the gradient must be 0 (the kata's convention, as in every library)",
                given={"dout": dout, "z": z}, hint=diagnose_relu_backward(dz, dout, z), rtol=0, atol=0)


def test_relu_backward_takes_the_mask_from_z_not_from_dout():
    dout = np.array([-3.0, -1.0, 2.0, 4.0])
    z = np.array([1.0, -1.0, -2.0, 0.5])
    dz = run_relu_backward(dout, z)
    check_close(dz, [-3.0, 0.0, 0.0, 4.0],
                problem="a negative upstream gradient must pass where z > 0, and a positive one must stop where z <= 0",
                given={"dout": dout, "z": z}, hint=diagnose_relu_backward(dz, dout, z), rtol=0, atol=0)


@given(any_shape_arrays, st.data())
def test_relu_backward_equals_dout_where_z_is_positive_else_zero(z, data):
    dout = data.draw(hnp.arrays(np.float64, z.shape, elements=st.floats(-10, 10)), label="dout")
    dz = run_relu_backward(dout, z)
    check_close(dz, np.where(z > 0, dout, 0.0), problem="relu_backward(dout, z) must be dout where z > 0 and 0 elsewhere",
                given={"dout": dout, "z": z}, hint=diagnose_relu_backward(dz, dout, z), rtol=0, atol=0)


def test_relu_backward_passes_a_numerical_gradient_check():
    rng = np.random.default_rng(2)
    z = rng.standard_normal((4, 6))
    z = np.where(np.abs(z) < 0.1, 0.5, z)  # keep away from the kink, where the derivative is undefined
    dout = rng.standard_normal((4, 6))
    dz = run_relu_backward(dout, z)
    result = check_gradient(lambda v: np.sum(np.maximum(v, 0.0) * dout), z, dz)
    if not result:
        fail(f"relu_backward is not the gradient of ReLU: numerical gradient check {result}.",
             given={"dout": dout, "z": z}, got=dz, hint=diagnose_relu_backward(dz, dout, z))


def test_relu_backward_keeps_float32():
    dout = np.array([1.0, -2.0], dtype=np.float32)
    z = np.array([0.5, 1.5], dtype=np.float32)
    check_dtype(run_relu_backward(dout, z), np.float32, "relu_backward", given={"dout": dout, "z": z})


def test_relu_backward_does_not_modify_its_inputs():
    run_relu_backward(np.array([1.0, -2.0, 3.0]), np.array([-1.0, 1.0, 0.0]))  # checks both afterwards
