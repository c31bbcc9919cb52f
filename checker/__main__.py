"""`python -m checker`: the same as the `kata` command.

`python -m` puts the current folder first on sys.path, so a module there (a difflib.py, json.py or
argparse.py at the kata's root) would be imported by the kata itself, which then judges the stages with
it. So, before importing anything but what Python has already loaded (os, sys), this starts again in
isolated mode (`python -I`: no current folder, no PYTHONPATH, no user site-packages on sys.path), runs
this file as a script there, and makes only the package checker importable from its folder; the
`kata` command (checker.cli) then serves the kata's other packages the same way (checker.project).
"""

import os
import sys

if not __package__:  # python -I .../checker/__main__.py, started below
    import importlib.util

    _folder = os.path.dirname(os.path.abspath(__file__))
    _spec = importlib.util.spec_from_file_location("checker", os.path.join(_folder, "__init__.py"),
                                                   submodule_search_locations=[_folder])
    _checker = importlib.util.module_from_spec(_spec)
    sys.modules["checker"] = _checker
    _spec.loader.exec_module(_checker)
elif not sys.flags.isolated:
    try:  # nothing has been written yet: no buffer to flush first
        os.execv(sys.executable, [sys.executable, "-I", os.path.abspath(__file__), *sys.argv[1:]])
    except OSError:  # no exec here (an unusual platform): go on in this process, as before
        pass

try:
    from checker.cli import main
except KeyboardInterrupt:  # Ctrl-C while Python is still importing the kata (a slow, busy machine)
    print("\nStopped.", file=sys.stderr)
    sys.exit(130)

sys.exit(main())
