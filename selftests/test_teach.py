"""checker.teach turns every way a learner's module can break into one clear Lesson."""

import numpy as np
import pytest

from checker import teach


@pytest.fixture
def package(tmp_path, monkeypatch):
    """A fresh importable package kata_teach_<n>; returns a function writing its modules."""
    name = f"kata_teach_{tmp_path.name.replace('-', '_')}"
    root = tmp_path / name
    root.mkdir()
    (root / "__init__.py").write_text("")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(teach, "IMPL", name)
    monkeypatch.chdir(tmp_path)

    def write(module, text):
        (root / f"{module}.py").write_text(text)
    return write


def lesson_of(module, function, *args):
    with pytest.raises(teach.Lesson) as caught:
        teach.learner_function(module, function)(*args)
    return str(caught.value)


def test_a_syntax_error_names_the_file_and_line(package):
    package("relu", "import numpy as np\n\ndef relu(z):\n    return np.maximum(z, 0\n")
    message = lesson_of("relu", "relu", np.zeros(2))
    assert "relu.py line 4: SyntaxError" in message and message.count("\n") == 0


def test_a_missing_function_says_to_keep_the_stub_names(package):
    package("relu", "def relu_forward(z):\n    return z\n")
    assert "has no function relu()" in lesson_of("relu", "relu", 1)


def test_a_missing_module_says_how_to_restore_it(package):
    assert "is missing. Put it back with: kata reset softmax" in lesson_of("softmax", "softmax", 1)


def test_sys_exit_while_importing_is_a_lesson(package):
    package("relu", "import sys\nsys.exit(0)\n")
    assert "called sys.exit() while being imported" in lesson_of("relu", "relu", 1)


def test_an_exception_while_importing_names_the_line(package):
    package("relu", "x = 1\ny = x / 0\n")
    message = lesson_of("relu", "relu", 1)
    assert "relu.py line 2" in message and "ZeroDivisionError" in message


def test_an_exception_inside_the_learners_function_keeps_its_traceback_and_gains_a_note(package):
    package("relu", "def relu(z):\n    return z[5]\n")
    with pytest.raises(IndexError) as caught:
        teach.learner_function("relu", "relu")(np.zeros((2, 3)))
    assert caught.value.__notes__ == ["(raised inside your relu, called as relu(<array (2, 3) float64>))"]


def test_fail_formats_the_problem_inputs_and_hint():
    with pytest.raises(teach.Lesson) as caught:
        teach.fail("rows must sum to 1.", given={"z": np.array([1.0, 2.0])}, got=[0.5, 0.7], expected=[0.5, 0.5],
                   hint="normalise.")
    assert str(caught.value) == (
        "rows must sum to 1.\n"
        "  input z    [1., 2.]  (shape (2,), float64)\n"
        "  got        [0.5, 0.7]\n"
        "  expected   [0.5, 0.5]\n"
        "  hint: normalise.")


def test_fail_names_the_worst_element_of_got_and_expected_too_long_for_one_line():
    got, expected = np.zeros((4, 4)), np.zeros((4, 4))
    got[2, 3] = 5.0
    with pytest.raises(teach.Lesson) as caught:
        teach.fail("spread out.", got=got, expected=expected)
    assert str(caught.value).splitlines()[:2] == ["spread out.", "(worst at index (2, 3): got 5, expected 0)"]
    with pytest.raises(teach.Lesson) as caught:  # said already: not twice
        teach.fail("spread out (worst at index (2, 3): got 5, expected 0).", got=got, expected=expected)
    assert str(caught.value).count("worst at index") == 1


def test_check_close_names_the_worst_element():
    with pytest.raises(teach.Lesson, match=r"worst at index \(1, 0\): got 9, expected 3"):
        teach.check_close(np.array([[1.0, 2.0], [9.0, 4.0]]), [[1.0, 2.0], [3.0, 4.0]], problem="wrong")
    teach.check_close(np.array([1.0, 2.0]), [1.0, 2.0 + 1e-9], problem="close enough passes")


def test_the_worst_element_never_reads_the_same_for_got_and_expected():
    # A strict tolerance can fail values that agree to 6 digits: then more digits show where they differ.
    with pytest.raises(teach.Lesson, match=r"worst at index 0: got -0\.8525291, expected -0\.8525289"):
        teach.check_close(np.array([-0.8525291]), [-0.8525289], problem="strict", rtol=1e-9)
