"""Run stage suites in one subprocess against packages built in a temporary folder."""

import json
import os
import subprocess
import sys
from pathlib import Path

from checker.project import ROOT

RUNNER = Path(__file__).with_name("run_suites.py")


def run_suites(packages_dir: Path, jobs: list, work: Path, name: str = "jobs") -> list:
    """jobs: [{"package", "tests"}]; returns run_suites.py's results, one per job."""
    jobs_file = work / f"{name}.json"
    jobs_file.write_text(json.dumps(jobs), encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(packages_dir)])}
    done = subprocess.run([sys.executable, str(RUNNER), str(packages_dir), str(jobs_file)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"the suite runner crashed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return json.loads(done.stdout)
