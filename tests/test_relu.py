"""Stage 2: ReLU. Tasks: relu(z), then relu_backward(dout, z)."""

import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from checker.gradcheck import check_gradient
from checker.teach import check_close, check_dtype, check_shape, check_unchanged, fail, learner_function, returned_array

relu = learner_function("relu", "relu")
relu_backward = learner_function("relu", "relu_backward")

MASK_FROM_Z = ("the gradient passes where the forward input z was positive: dout * (z > 0). "
               "The mask comes from z, not from dout, and not from z >= 0.")

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

def test_relu_worked_example():
    z = np.array([[-2.0, 0.0, 3.0], [0.5, -0.1, 7.0]])
    check_close(run_relu(z), [[0.0, 0.0, 3.0], [0.5, 0.0, 7.0]], problem="relu must keep positives and zero the rest",
                given={"z": z}, hint="relu(z) = max(z, 0) elementwise: np.maximum(z, 0).")


@given(any_shape_arrays)
def test_relu_is_max_of_z_and_zero_for_any_shape(z):
    check_close(run_relu(z), np.maximum(z, 0.0), problem="relu(z) must equal max(z, 0) elementwise",
                given={"z": z}, hint="np.maximum(z, 0) compares elementwise; max(z) or np.max(z) reduce the whole array.",
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
    check_close(run_relu_backward(dout, z), [0.0, 0.0, -5.0],
                problem="relu_backward([5, 5, -5], z=[-1, 0, 2]) must be [0, 0, -5]",
                given={"dout": dout, "z": z}, hint=MASK_FROM_Z, rtol=0, atol=0)


def test_relu_backward_is_zero_at_the_kink():
    dout = np.array([[1.0, 2.0, 3.0]])
    z = np.array([[0.0, 0.0, 1e-9]])
    check_close(run_relu_backward(dout, z), [[0.0, 0.0, 3.0]],
                problem="at exactly z == 0 the gradient must be 0 (the kata's convention, as in every library)",
                given={"dout": dout, "z": z}, hint="use z > 0, not z >= 0.", rtol=0, atol=0)


def test_relu_backward_takes_the_mask_from_z_not_from_dout():
    dout = np.array([-3.0, -1.0, 2.0, 4.0])
    z = np.array([1.0, -1.0, -2.0, 0.5])
    check_close(run_relu_backward(dout, z), [-3.0, 0.0, 0.0, 4.0],
                problem="a negative upstream gradient must pass where z > 0, and a positive one must stop where z <= 0",
                given={"dout": dout, "z": z}, hint=MASK_FROM_Z, rtol=0, atol=0)


@given(any_shape_arrays, st.data())
def test_relu_backward_equals_dout_where_z_is_positive_else_zero(z, data):
    dout = data.draw(hnp.arrays(np.float64, z.shape, elements=st.floats(-10, 10)), label="dout")
    check_close(run_relu_backward(dout, z), np.where(z > 0, dout, 0.0),
                problem="relu_backward(dout, z) must be dout where z > 0 and 0 elsewhere",
                given={"dout": dout, "z": z}, hint=MASK_FROM_Z, rtol=0, atol=0)


def test_relu_backward_passes_a_numerical_gradient_check():
    rng = np.random.default_rng(2)
    z = rng.standard_normal((4, 6))
    z = np.where(np.abs(z) < 0.1, 0.5, z)  # keep away from the kink, where the derivative is undefined
    dout = rng.standard_normal((4, 6))
    dz = run_relu_backward(dout, z)
    result = check_gradient(lambda v: np.sum(np.maximum(v, 0.0) * dout), z, dz)
    if not result:
        fail(f"relu_backward is not the gradient of ReLU: numerical gradient check {result}.",
             given={"dout": dout, "z": z}, got=dz, hint=MASK_FROM_Z)


def test_relu_backward_keeps_float32():
    dout = np.array([1.0, -2.0], dtype=np.float32)
    z = np.array([0.5, 1.5], dtype=np.float32)
    check_dtype(run_relu_backward(dout, z), np.float32, "relu_backward", given={"dout": dout, "z": z})


def test_relu_backward_does_not_modify_its_inputs():
    run_relu_backward(np.array([1.0, -2.0, 3.0]), np.array([-1.0, 1.0, 0.0]))  # checks both afterwards
