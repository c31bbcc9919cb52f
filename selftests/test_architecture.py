"""The architecture contract of .importlinter holds: checker.cli above the commands, the commands above
the core, the core above the base; no command imports another; no import cycle among checker/'s modules."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from checker.project import ROOT


def test_the_import_contract_holds():
    lint = shutil.which("lint-imports")
    if lint is None:
        if os.environ.get("CI"):
            pytest.fail("lint-imports is not installed: pip install -e '.[dev]' (it is in the dev extra)")
        pytest.skip("import-linter is not installed (pip install -e '.[dev]')")
    done = subprocess.run([lint, "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"the import contract of .importlinter is broken:\n{done.stdout[-4000:]}{done.stderr[-2000:]}"
    assert "3 kept, 0 broken" in done.stdout, done.stdout[-2000:]
