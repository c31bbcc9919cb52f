"""Stage 1: one-hot encoding. Task: one_hot(labels, num_classes=10) -> (N, num_classes) floats."""

import re

import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from checker.teach import Lesson, check_close, check_shape, check_unchanged, fail, learner_function, returned_array

one_hot = learner_function("one_hot", "one_hot")

VALIDATE = ("check the labels before building the array: they must be whole numbers in [0, num_classes) "
            "and the input 1-D; raise ValueError with the bad value in its message, e.g. "
            "\"label 10 is outside [0, 10)\".")


def run_one_hot(labels, *args, **kwargs):
    """Call the learner's one_hot; check it returns a float array of shape (N, C) and leaves labels alone."""
    num_classes = kwargs.get("num_classes", args[0] if args else 10)
    labels_array = np.asarray(labels)
    original = labels_array.copy()
    given_ = {"labels": labels_array, "num_classes": num_classes}
    out = returned_array(one_hot(labels, *args, **kwargs), "one_hot", given=given_)
    check_unchanged({"labels": original}, {"labels": labels_array}, "one_hot")
    check_shape(out, (labels_array.shape[0], num_classes), "one_hot", given=given_,
                hint="one row per label and one column per class: shape (N, num_classes).")
    if not np.issubdtype(out.dtype, np.floating):
        fail(f"one_hot must return floats (it is compared with probabilities), got dtype {out.dtype}.",
             given=given_, hint="build the result as floats: NumPy's arrays of zeros are float64 unless you ask for ints.")
    return out


NAME_THE_VALUE = "put the bad value in the message, e.g. \"label 10 is outside [0, 10)\"."
NAME_THE_SHAPE = "name the shape of the input in the message, e.g. \"labels must be 1-D, got shape (3, 1)\"."


def names_the_value(message: str, value: str) -> bool:
    return value in message


def names_the_shape(message: str, shape: tuple) -> bool:
    """Any rendering that names every dimension: (3, 1), [3, 1], 3x1, 3 x 1, 3-by-1; for (), 0-d or scalar."""
    if not shape:
        return bool(re.search(r"\(\)|\b0-?d\b|\bscalar\b|zero-dimensional|\bndim\s*(=|==|is)?\s*0\b|"
                              r"\b0 dimensions\b|single number", message, re.I))
    separator = r"\s*(?:,|x|×|\*|-by-|\s+by\s+)\s*"
    pattern = r"(?<![\d.])" + separator.join(str(d) for d in shape) + r"(?![\d.])"
    return bool(re.search(pattern, message, re.I))


def expect_value_error(labels, num_classes, offending, what: str, name_hint: str = NAME_THE_VALUE):
    """one_hot(labels, num_classes) must raise ValueError whose message names `offending`: a value (str) or
    the shape of the input (tuple)."""
    given_ = {"labels": np.asarray(labels), "num_classes": num_classes}
    try:
        result = one_hot(labels, num_classes)
    except ValueError as error:
        if isinstance(offending, tuple) and not names_the_shape(str(error), offending):
            fail(f"one_hot raised ValueError for {what}, but its message does not name the shape {offending} of "
                 f"the input: {str(error)!r}.", given=given_, hint=name_hint)
        if isinstance(offending, str) and not names_the_value(str(error), offending):
            fail(f"one_hot raised ValueError for {what}, but its message does not name the offending value "
                 f"{offending}: {str(error)!r}.", given=given_, hint=name_hint)
        return
    except (NotImplementedError, Lesson):  # not started, or the module cannot be loaded: say that instead
        raise
    except Exception as error:  # noqa: BLE001 - any other exception is the lesson
        fail(f"one_hot must raise ValueError for {what}; it raised {type(error).__name__}: {error}.",
             given=given_, hint=VALIDATE)
    fail(f"one_hot must raise ValueError for {what}; it returned a result instead.",
         given=given_, got=result, hint=VALIDATE)


# Worked examples -----------------------------------------------------------------------------

def test_one_hot_worked_example():
    out = run_one_hot(np.array([2, 0, 1]), 3)
    check_close(out, [[0, 0, 1], [1, 0, 0], [0, 1, 0]], problem="one_hot([2, 0, 1], 3) is wrong",
                given={"labels": [2, 0, 1]},
                hint="row i has its single 1.0 in column labels[i]; check you did not swap rows and columns.")


def test_one_hot_uses_ten_classes_by_default():
    out = run_one_hot(np.array([3, 9]))
    expected = np.zeros((2, 10))
    expected[0, 3] = expected[1, 9] = 1.0
    check_close(out, expected, problem="one_hot([3, 9]) must use num_classes=10", given={"labels": [3, 9]})


def test_one_hot_accepts_mnist_uint8_labels_and_lists():
    for labels in (np.array([7, 0, 5], dtype=np.uint8), [7, 0, 5], np.array([7, 0, 5], dtype=np.int32)):
        out = run_one_hot(labels)
        check_close(out.argmax(axis=1), [7, 0, 5], problem="one_hot must accept any integer dtype and lists",
                    given={"labels": np.asarray(labels)},
                    hint="turn the input into a NumPy array first (a list has no shape); MNIST's labels are uint8.")


def test_one_hot_accepts_floats_holding_whole_numbers():
    out = run_one_hot(np.array([2.0, 0.0]), 3)
    check_close(out, [[0, 0, 1], [1, 0, 0]], problem="labels 2.0 and 0.0 are whole numbers and must be accepted",
                given={"labels": [2.0, 0.0]},
                hint="reject only values that are not whole numbers: 2.0 is a valid label, and it must be turned "
                     "into an integer before it can pick a column.")


def test_one_hot_of_no_labels_is_an_empty_array():
    run_one_hot(np.array([], dtype=np.int64), 4)  # checks the shape (0, 4)


# Properties ------------------------------------------------------------------------------------

@st.composite
def labels_and_classes(draw):
    num_classes = draw(st.integers(1, 12))
    labels = draw(hnp.arrays(np.int64, st.integers(0, 20), elements=st.integers(0, num_classes - 1)))
    return labels, num_classes


@given(labels_and_classes())
def test_one_hot_each_row_has_a_single_one_in_the_label_column(case):
    labels, num_classes = case
    out = run_one_hot(labels, num_classes)
    given_ = {"labels": labels, "num_classes": num_classes}
    if not np.all((out == 0.0) | (out == 1.0)):
        fail("one_hot entries must be exactly 0.0 or 1.0.", given=given_, got=out)
    ones = out.sum(axis=1)
    if not np.all(ones == 1.0):
        row = int(np.flatnonzero(ones != 1.0)[0])
        fail(f"every row must hold exactly one 1.0; row {row} holds {ones[row]:g}.", given=given_, got=out,
             hint="row i gets a single 1.0, in column labels[i]; every other entry stays 0.0.")
    if labels.size and not np.array_equal(out.argmax(axis=1), labels):
        row = int(np.flatnonzero(out.argmax(axis=1) != labels)[0])
        fail(f"the 1.0 of row {row} must sit in column labels[{row}] = {labels[row]}, "
             f"not in column {out[row].argmax()}.", given=given_, got=out,
             hint="row i is the i-th label, column j the class: check that rows and columns are not swapped.")


# Bad input -------------------------------------------------------------------------------------

def test_one_hot_rejects_a_label_equal_to_num_classes():
    expect_value_error(np.array([1, 10, 2]), 10, "10", "the label 10 with num_classes=10 (valid labels are 0..9)")


def test_one_hot_rejects_a_label_above_num_classes():
    expect_value_error(np.array([0, 4]), 3, "4", "the label 4 with num_classes=3")


def test_one_hot_rejects_negative_labels():
    expect_value_error(np.array([3, -1]), 10, "-1",
                       "the label -1 (NumPy would silently read index -1 as the last column)")


def test_one_hot_rejects_non_integer_labels():
    expect_value_error(np.array([1.0, 2.5]), 10, "2.5", "the label 2.5, which is not a whole number")


def test_one_hot_rejects_a_column_of_labels():
    expect_value_error(np.array([[1], [2], [3]]), 10, (3, 1), "labels of shape (3, 1): labels must be 1-D",
                       NAME_THE_SHAPE)


def test_one_hot_rejects_a_single_number():
    expect_value_error(np.array(4), 10, (), "a single number of shape (): labels must be 1-D", NAME_THE_SHAPE)


def test_one_hot_does_not_modify_its_input():
    labels = np.array([1, 0, 1], dtype=np.int64)
    run_one_hot(labels, 2)  # checks labels afterwards
