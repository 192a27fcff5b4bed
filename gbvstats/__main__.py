"""``python -m gbvstats``: the same as the ``gbvstats`` command."""

import sys

from gbvstats.cli import main

if __name__ == "__main__":
    sys.exit(main())
