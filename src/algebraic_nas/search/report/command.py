"""``algebraic-nas report RUN_DIR [RUN_DIR ...] [--html]``: the report of one or several runs.

Each run gets its PNG/CSV/JSON report (:mod:`.summary`); ``--html`` also writes the page of
:mod:`.html` (one run: ``RUN_DIR/report/report.html``; several: one page comparing them,
``./report.html`` unless ``-o``). :func:`make_report` also rewrites a run's ``report.html`` when
there is one (the live page a search refreshed), so the page ends in the run's final state.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, Optional, Sequence

from algebraic_nas.search.report import summary
from algebraic_nas.search.report.html import HTML_FILE, write_html
from algebraic_nas.search.report.page_data import PICTURES
from algebraic_nas.search.report.pareto import objectives_argument


def make_report(run_dir: str | Path, out_dir: Optional[str | Path] = None, draw: bool = True, quiet: bool = True,
                objectives: Optional[Sequence[str]] = None, html: Optional[bool] = None,
                pictures: int = PICTURES) -> dict[str, Any]:
    """:func:`.summary.make_report`, and the HTML page when ``html`` (``None``: when the report
    directory already has one); returns the summary dict (``files.html`` names the page)."""
    info = summary.make_report(run_dir, out_dir, draw=draw, quiet=quiet, objectives=objectives)
    out = Path(out_dir) if out_dir is not None else Path(run_dir) / "report"
    if html or (html is None and (out / HTML_FILE).exists()):
        info["files"]["html"] = str(write_html([run_dir], out / HTML_FILE, pictures=pictures))
    return info


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``algebraic-nas report`` (shared by the CLI and ``python -m``)."""
    parser.add_argument("run_dirs", metavar="RUN_DIR", nargs="+", help="a search's output directory (holds "
                        "runs.sqlite); several: each one's report and, with --html, one page comparing them")
    parser.add_argument("-o", "--out", default=None, help="where to write the report (default RUN_DIR/report; "
                        "with several RUN_DIRs and --html: the comparison page's file or directory, default ./report.html)")
    parser.add_argument("--no-draw", action="store_true", help="skip the pictures of architectures (the best's "
                        "PNG and the page's)")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    parser.add_argument("--objectives", default=None, type=objectives_argument,
                        help="Pareto front over these objectives, e.g. valid_error,params (default: the run's)")
    parser.add_argument("--html", action="store_true", help="also write report.html: one self-contained page "
                        "(opens from disk, nothing fetched) with interactive plots, the evaluations and architectures")
    parser.add_argument("--pictures", type=int, default=PICTURES, metavar="N",
                        help=f"the page holds the architecture pictures of the N best evaluations and of the "
                        f"Pareto front's points (at most 2N; default {PICTURES})")


def run_from_args(args: argparse.Namespace) -> int:
    dirs = args.run_dirs
    several = len(dirs) > 1
    pictures = 0 if args.no_draw else args.pictures  # --no-draw: no architecture pictures at all
    infos = []
    try:
        for d in dirs:
            infos.append(make_report(d, None if several else args.out, draw=not args.no_draw, quiet=True,
                                     objectives=args.objectives, html=args.html and not several,
                                     pictures=pictures))
        page = write_html(dirs, args.out, pictures=pictures) if args.html and several else None
    except FileNotFoundError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(infos[0] if not several else {"runs": infos, "html": str(page) if page else None}, indent=2))
    else:
        print("\n\n".join(summary.format_summary(i) for i in infos))
        if page:
            print(f"comparison page: {page}")
        elif several:
            print("(--html writes one page comparing these runs)")
    return 0


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m algebraic_nas.search.report",
                                     description="the report of one or several search runs")
    add_arguments(parser)
    return run_from_args(parser.parse_args(argv))
