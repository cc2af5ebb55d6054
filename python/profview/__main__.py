"""``python -m profview``: ``record`` here; every other command runs the profview binary."""

import sys

from ._cli import main

if __name__ == "__main__":
    sys.exit(main())
