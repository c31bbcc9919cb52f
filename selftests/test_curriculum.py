"""The curriculum holds together: registry, solutions, stubs and suites agree, and stubs fail cleanly."""

import ast
import subprocess
import sys

import pytest

from checker import stubgen
from checker.project import ROOT
from checker.stages import all_stages, find_stage
from runner_helpers import run_suites


def functions(path):
    """{name: (argument names with defaults as source, docstring)} of a module's top-level functions."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out = {}
    for node in tree.body:
        if isinstance(node, ast.FunctionDef):
            args = node.args
            defaults = [None] * (len(args.args) - len(args.defaults)) + [ast.unparse(d) for d in args.defaults]
            out[node.name] = ([(a.arg, d) for a, d in zip(args.args, defaults)], ast.get_docstring(node))
    return out, ast.get_docstring(tree)


def test_committed_stubs_are_exactly_what_the_generator_writes():
    stale = stubgen.stale_stubs()
    assert not stale, ("exercises/ has drifted from solutions/: " + ", ".join(s.exercise for s in stale)
                       + ". Run: python -m checker.stubgen (and commit the result).")


@pytest.mark.parametrize("stage", all_stages(), ids=lambda s: s.id)
def test_stub_and_solution_share_signatures_and_docstrings(stage):
    solution, solution_doc = functions(ROOT / stage.solution)
    stub, stub_doc = functions(ROOT / stage.exercise)
    assert stub == solution
    assert stub_doc == solution_doc and solution_doc, "every stage module opens with a docstring that teaches"


@pytest.mark.parametrize("stage", all_stages(), ids=lambda s: s.id)
def test_every_task_is_a_documented_function_of_its_module(stage):
    solution, _ = functions(ROOT / stage.solution)
    public = [name for name in solution if not name.startswith("_")]
    assert public == list(stage.tasks), "the registry's tasks are the module's functions, in order"
    for name in public:
        assert "Example" in (solution[name][1] or ""), f"{name}'s docstring needs a worked example"


@pytest.mark.parametrize("stage", all_stages(), ids=lambda s: s.id)
def test_every_test_of_a_stage_belongs_to_one_of_its_tasks(stage):
    tree = ast.parse((ROOT / stage.tests).read_text(encoding="utf-8"))
    tests = [n.name for n in tree.body if isinstance(n, ast.FunctionDef) and n.name.startswith("test_")]
    unassigned = [t for t in tests if stage.task_of(t) is None]
    assert not unassigned, f"name these test_<task>_...: {unassigned}"
    untested = set(stage.tasks) - {stage.task_of(t) for t in tests}
    assert not untested, f"tasks without tests: {untested}"


def test_a_test_parametrized_over_tasks_is_charged_to_the_task_its_id_names():
    init = find_stage("init")
    assert init.task_of("test_random_init_and_he_init_draw_from_the_generator[he_init]") == "he_init"
    assert init.task_of("test_random_init_and_he_init_draw_from_the_generator[random_init]") == "random_init"
    assert init.task_of("test_he_init_scales_by_fan_in") == "he_init"
    relu = find_stage("relu")
    assert relu.task_of("test_relu_backward_worked_example[3-relu_backward]") == "relu_backward"
    assert relu.task_of("test_relu_backward_worked_example[relu]") == "relu"  # the id decides
    assert relu.task_of("test_relu_keeps_float32[float32]") == "relu"


def test_stage_names_are_unique_and_found_by_number_id_and_alias():
    names = [n for s in all_stages() for n in (s.id, *s.aliases)]
    assert len(names) == len(set(names))
    assert find_stage("3") is find_stage("softmax") is find_stage("SOFTMAX")
    assert find_stage("sgd").id == "gradient_descent"
    assert find_stage("one-hot").id == "one_hot"
    assert find_stage("8").id == "regularization" and find_stage("adam").id == "optimizers"
    assert find_stage("99") is None and find_stage("nope") is None


def test_the_generator_replaces_each_solution_block_by_a_not_started_raise():
    stage = find_stage("relu")
    source = ('"""Doc."""\n\n\ndef relu(z):\n    """Relu."""\n    # BEGIN SOLUTION\n    return z\n    # END SOLUTION\n'
              '\n\ndef relu_backward(dout, z):\n    """Back."""\n    # BEGIN SOLUTION\n    x = 1\n'
              '    return x\n    # END SOLUTION\n')
    stub = stubgen.render_stub(stage, source)
    assert "return z" not in stub and "x = 1" not in stub
    assert stub.count("raise NotImplementedError(") == 2
    assert "write relu_backward() in exercises/relu.py, then run: kata check relu" in stub
    assert stub.startswith('"""Doc."""\n\n\ndef relu(z):\n    """Relu."""\n    # Your code here')


@pytest.mark.parametrize("broken, problem", [
    ("def f():\n    # BEGIN SOLUTION\n    pass\n", "never closed"),
    ("def f():\n    # END SOLUTION\n", "without"),
    ("# BEGIN SOLUTION\nx = 1\n# END SOLUTION\n", "outside a function"),
    ("def f():\n    # BEGIN SOLUTION\n    # BEGIN SOLUTION\n", "inside another"),
])
def test_the_generator_rejects_broken_markers(broken, problem):
    with pytest.raises(stubgen.MarkerError, match=problem):
        stubgen.render_stub(find_stage("relu"), broken)


def test_every_suite_fails_on_the_untouched_stubs_with_not_started_messages(tmp_path):
    package = tmp_path / "kata_pristine_stubs"
    package.mkdir()
    (package / "__init__.py").write_text("")
    for stage in all_stages():
        (package / f"{stage.module}.py").write_text(stubgen.stub_for(stage), encoding="utf-8")
    results = run_suites(tmp_path, [{"package": package.name, "tests": s.tests} for s in all_stages()], tmp_path)
    for result in results:
        assert result["exit_code"] == 1 and not result["errors"], (result["tests"], result["errors"])
        assert result["failures"], result["tests"]
        for test, message in result["failures"].items():
            assert message.startswith("not started yet: write "), f"{result['suite']}::{test}:\n{message}"
            assert "\n" not in message.strip() and "Traceback" not in message


def test_an_unknown_impl_is_a_usage_error():
    done = subprocess.run([sys.executable, "-m", "pytest", "tests/test_relu.py", "--impl=no_such_package"], cwd=ROOT,
                          capture_output=True, text=True)
    assert done.returncode == 4
    assert "--impl=no_such_package: there is no importable package named 'no_such_package'" in done.stderr


def test_readme_stage_table_is_generated_from_the_registry():
    from checker import readme
    text = readme.README.read_text(encoding="utf-8")
    assert readme.with_table(text) == text, "README.md's stage table is out of date. Run: python -m checker.readme"
    for stage in all_stages():
        assert f"[`{stage.exercise}`]" in text


def test_the_readmes_example_failure_is_what_the_softmax_suite_says(monkeypatch):
    """The README shows a softmax that divides by the row's maximum: the message must be the suite's own."""
    import numpy as np

    from checker import teach
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = text.split("A failure reads\n   like this:\n\n   ```\n", 1)[1].split("\n   ```", 1)[0]
    shown = "\n".join(line.removeprefix("   ") for line in block.splitlines())
    monkeypatch.syspath_prepend(str(ROOT / "tests"))
    import test_softmax
    with pytest.raises(teach.Lesson) as lesson:
        test_softmax.check_rows_sum_to_one(np.ones((1, 6)), np.zeros((1, 6)))  # exp(0) / max = 1 everywhere
    assert str(lesson.value) == shown


@pytest.mark.parametrize("stage", all_stages(), ids=lambda s: s.id)
def test_the_worked_examples_in_the_docstrings_are_true(stage):
    import doctest
    import importlib

    import numpy as np

    module = importlib.import_module(f"solutions.{stage.module}")
    result = doctest.testmod(module, extraglobs={"np": np}, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0
