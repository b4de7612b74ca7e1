"""The report of a search run (``algebraic-nas report``) and the export of its best architecture
(``algebraic-nas export``).

* ``summary.py`` — CSV, summary, the report's entry point :func:`make_report`;
* ``plots.py`` — the incumbent plot and the picture of the best architecture (PNG);
* ``pareto.py`` — the Pareto part (runs with several objectives);
* ``fidelity.py`` — the multi-fidelity part;
* ``export.py`` — a run's best evaluation as a standalone PyTorch module.
"""

from algebraic_nas.search.report.summary import add_arguments, format_summary, main, make_report, run_from_args

__all__ = ["add_arguments", "format_summary", "main", "make_report", "run_from_args"]
