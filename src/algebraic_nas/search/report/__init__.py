"""The report of a search run (``algebraic-nas report``) and the export of its best architecture
(``algebraic-nas export``).

* ``command.py`` — the command line and :func:`make_report` (PNG/CSV/JSON report, HTML page);
* ``summary.py`` — CSV, summary (``summary.json``), the printed summary;
* ``plots.py`` — the incumbent plot and the picture of the best architecture (PNG);
* ``pareto.py`` — the Pareto part (runs with several objectives);
* ``fidelity.py`` — the multi-fidelity part;
* ``page_data.py``, ``html.py``, ``page.js``, ``page.css`` — ``report.html``, the page for
  watching and comparing searches;
* ``export.py`` — a run's best evaluation as a standalone PyTorch module.
"""

from algebraic_nas.search.report.command import add_arguments, main, make_report, run_from_args
from algebraic_nas.search.report.summary import format_summary

__all__ = ["add_arguments", "format_summary", "main", "make_report", "run_from_args"]
