"""`kata class-report DIR`: a teacher's view of a class, from the learners' `kata status --json` files.

Reads every *.json file under DIR (e.g. the kata-status artifacts of the learners' repositories),
skips and names those that are not status documents, and writes

    class-report.csv   one row per learner, one column per stage (its state)
    class-report.png   the stage states of every learner as a heatmap, beside the tests that fail
                       most often: the concepts to revisit in class

The work is checker/class_report.py's; this module parses, calls it and prints. It runs outside a
clone of the kata too (checker.cli.ANYWHERE).
"""

from __future__ import annotations

import sys
from pathlib import Path

from ..class_report import (CSV_FILE, PNG_FILE, most_failing_tests, plot_class, read_class, stage_columns, summary,
                            write_csv)
from ..errors import KataError, UsageError
from ..project import display_path
from ..term import printable

DESCRIPTION = """Read the kata status --json files of a class (one per learner, e.g. the kata-status artifacts the
GitHub workflow uploads) from DIR and its subfolders, and write class-report.csv (one row per
learner, one column per stage) and class-report.png (a heatmap of stage states across learners, and
the tests that fail most often). Files that are not status documents are named and skipped; of two
files of the same learner, the newer counts."""

EXAMPLES = """exit codes: 0 report written, 1 no status file found, 2 usage error

examples:
  kata class-report class/               read class/**/*.json, write the report into class/
  kata class-report class/ --out report  write class-report.csv and .png into report/
"""


def add_arguments(parser) -> None:
    parser.description = DESCRIPTION
    parser.epilog = EXAMPLES
    parser.add_argument("dir", metavar="DIR", help="a folder of kata status --json files (searched recursively)")
    parser.add_argument("--out", metavar="FOLDER", help="where to write the report (default: DIR)")


def run(args) -> int:
    folder = Path(args.dir)
    if not folder.is_dir():
        raise UsageError(f"{printable(args.dir)} is not a folder. Give the folder that holds the learners' "
                         "kata status --json files, e.g. kata class-report class/")
    out = Path(args.out) if args.out else folder
    learners, skipped = read_class(folder)
    for file, why in skipped:
        print(printable(f"skipped {file}: it {why}", 1000), file=sys.stderr)
    if not learners:
        raise KataError(f"no kata status --json file in {printable(args.dir)} ({len(skipped)} other JSON file(s) "
                        "skipped). Put one file per learner there (kata status --json > NAME.json), then run this "
                        "again.")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise UsageError(f"cannot create the folder {printable(args.out)}: {error.strerror}. "
                         "Choose another --out.") from None
    stages = stage_columns(learners)
    csv_path, png_path = out.resolve() / CSV_FILE, out.resolve() / PNG_FILE
    write_csv(learners, stages, csv_path)
    failing = most_failing_tests(learners)
    plot_class(learners, stages, failing, png_path)
    print(summary(learners, skipped, stages, failing, [display_path(csv_path), display_path(png_path)]))
    return 0
