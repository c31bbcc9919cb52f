"""kata's report cuts a long failure in its arrays, never in its problem or its hint (the diagnosis).

The same property is checked on every mutant's real message in test_mutants.py.
"""

from checker.status_text import shorten
from checker.stages import find_stage


def test_a_long_failure_is_cut_in_its_arrays_and_keeps_the_problem_and_the_hint():
    rows = ["[[1., 2., 3.],", " [4., 5., 6.],", " [7., 8., 9.],", " [1., 2., 3.]]"]
    message = "\n".join(["backward's grads[\"W1\"] is wrong.",
                         "  input X    " + rows[0], *("             " + r for r in rows[1:]),
                         "  got        " + rows[0], *("             " + r for r in rows[1:]),
                         "  expected   " + rows[0], *("             " + r for r in rows[1:]),
                         "  hint: your gradient is N = 4 times too large."])
    shown = shorten(message, find_stage("backprop"), max_lines=8)
    assert shown == ["backward's grads[\"W1\"] is wrong.",
                     "  input X    [[1., 2., 3.], ...",
                     "  got        [[1., 2., 3.], ...",
                     "  expected   [[1., 2., 3.], ...",
                     "  hint: your gradient is N = 4 times too large.",
                     "... (9 more lines: kata check 5)"]
    shown = shorten(message, find_stage("backprop"), max_lines=11)
    assert shown[1:6] == ["  input X    [[1., 2., 3.],", "              [4., 5., 6.],", "              [7., 8., 9.],",
                          "              [1., 2., 3.]]", "  got        [[1., 2., 3.], ..."]
    assert shown[-2:] == ["  hint: your gradient is N = 4 times too large.", "... (6 more lines: kata check 5)"]


def test_a_cut_got_and_expected_show_the_worst_element_not_only_their_first_ones():
    rows = ["[[1., 2., 3.],", " [4., 5., 6.],", " [7., 8., 9.]]"]
    wrong = ["[[1., 2., 3.],", " [4., 5., 6.],", " [7., 0., 9.]]"]
    message = "\n".join(["forward is wrong (worst at index (2, 1): got 0, expected 8).",
                         "  got        " + wrong[0], *("             " + r for r in wrong[1:]),
                         "  expected   " + rows[0], *("             " + r for r in rows[1:]),
                         "  hint: look again."])
    shown = shorten(message, find_stage("backprop"), max_lines=5)
    assert shown[1:3] == ["  got        [[1., 2., 3.], ... (at (2, 1): 0)",
                          "  expected   [[1., 2., 3.], ... (at (2, 1): 8)"]
    gradient = message.replace("(worst at index (2, 1): got 0, expected 8)",
                               "numerical gradient check failed; largest difference at index (2, 1): analytic 0, "
                               "numerical 8.")
    assert shorten(gradient, find_stage("backprop"), max_lines=5)[1:3] == shown[1:3]
