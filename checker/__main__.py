"""`python -m checker`: the same as the `kata` command."""

import sys

try:
    from .cli import main
except KeyboardInterrupt:  # Ctrl-C while Python is still importing the kata (a slow, busy machine)
    print("\nStopped.", file=sys.stderr)
    sys.exit(130)

sys.exit(main())
