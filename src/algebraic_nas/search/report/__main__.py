"""``python -m algebraic_nas.search.report RUN_DIR``: the same as ``algebraic-nas report``."""

import sys

from algebraic_nas.search.report.command import main

sys.exit(main())
