"""``python -m algebraic_nas``: the ``algebraic-nas`` console script."""

import sys

from algebraic_nas.cli import main

if __name__ == "__main__":
    sys.exit(main())
