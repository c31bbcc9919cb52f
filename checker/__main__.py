"""`python -m checker`: the same as the `kata` command."""

import sys

from .cli import main

sys.exit(main())
