"""The suites of stages 13 and 14 accept correct code in any style: plain loop versions pass too."""

import pytest

from checker.project import ROOT
from loop_versions import LOOP_VERSIONS
from mutants import build_package, swap_function
from runner_helpers import run_suites


@pytest.mark.parametrize("name", sorted(LOOP_VERSIONS))
def test_a_loop_version_passes_the_whole_suite(name, tmp_path):
    first, *rest = LOOP_VERSIONS[name]
    package = build_package(first, ROOT / "solutions", tmp_path, name=f"kata_loops_{name}")
    for version in rest:
        swap_function(package, version)
    (result,) = run_suites(tmp_path, [{"package": package.name, "tests": f"tests/test_{first.module}.py"}], tmp_path)
    assert result["exit_code"] == 0, (result["failures"], result["errors"])
