"""The report's pictures of one run: the incumbent over evaluations and wall time, and the
best architecture (matplotlib, PNG). The Pareto and multi-fidelity plots are in
``pareto.py`` and ``fidelity.py`` beside this module."""

from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import Any, NamedTuple, Optional, Sequence

log = logging.getLogger(__name__)


class Point(NamedTuple):
    """One finished evaluation on the incumbent plot: its number in finishing order, search wall
    time (s), validation error (``None``: none comparable) and whether it failed."""

    n: int
    t: float
    value: Optional[float]
    failed: bool = False


def evaluation_points(rows: Sequence[Any], fidelity: str = "{}") -> list[Point]:
    """:class:`Point` per finished row, in finishing order (the numbering of ``incumbent_trace``);
    only rows at ``fidelity`` (JSON text) get a value."""
    from algebraic_nas.search.proposal import fidelity_key

    finished = sorted((r for r in rows if r.finished), key=lambda r: (r.finished_at or 0.0, r.id))
    return [Point(i, float(r.run_time_s or 0.0),
                  r.valid_error if r.status == "done" and fidelity_key(r.fidelity) == fidelity else None,
                  r.status == "failed") for i, r in enumerate(finished, start=1)]


def plot_incumbent(trace: Sequence[tuple[int, float, float]], path: Path, title: str = "",
                   empty_note: str = "no successful evaluation", ylabel: str = "best validation error",
                   points: Sequence[Point] = ()) -> None:
    """The best validation error (or another running value: ``ylabel``) over evaluations and over
    wall time, with every evaluation of ``points`` beside the step line (failed ones as red
    crosses at the bottom edge); integer ticks on the evaluation axis. With no finite point,
    ``empty_note`` is written across both panels instead of empty axes."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    pts = [(n, t, b) for n, t, b in trace if math.isfinite(b)]
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    if pts:
        n, t, b = zip(*pts)
        axes[0].step(n, b, where="post", color="C0", label="incumbent", zorder=3)
        axes[1].step([x / 60.0 for x in t], b, where="post", color="C0", zorder=3)
        _scatter(axes, points)
    else:
        for ax in axes:
            ax.text(0.5, 0.5, empty_note, ha="center", va="center", transform=ax.transAxes, fontsize=11,
                    color="firebrick", wrap=True)
            ax.set_xticks([])
            ax.set_yticks([])
    axes[0].set_xlabel("evaluations")
    axes[0].xaxis.set_major_locator(MaxNLocator(integer=True))
    axes[1].set_xlabel("search wall time (min)")
    for ax in axes:
        ax.set_ylabel(ylabel)
        ax.grid(alpha=0.3)
    if points and pts:
        axes[0].legend(fontsize=8, loc="upper right")
    save_figure(fig, path, title)


def save_figure(fig: Any, path: Path, title: Optional[str] = None) -> None:
    """Title ``fig``, lay it out, write it to ``path`` (110 dpi) and close it (every report PNG)."""
    import matplotlib.pyplot as plt

    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _scatter(axes: Sequence[Any], points: Sequence[Point]) -> None:
    """Every evaluation as a point on both panels; failed ones as crosses on the bottom edge."""
    ok = [p for p in points if p.value is not None and math.isfinite(p.value)]
    failed = [p for p in points if p.failed]
    for ax, x in ((axes[0], lambda p: p.n), (axes[1], lambda p: p.t / 60.0)):
        if ok:
            ax.scatter([x(p) for p in ok], [p.value for p in ok], s=14, color="0.45", alpha=0.7, zorder=2,
                       label="evaluation" if ax is axes[0] else None)
        if failed:
            ax.scatter([x(p) for p in failed], [0.0] * len(failed), marker="x", s=22, color="tab:red", zorder=4,
                       transform=ax.get_xaxis_transform(), clip_on=False,
                       label=f"failed ({len(failed)})" if ax is axes[0] else None)


def draw_best(term_text: str, grammar_name: Optional[str], path: Path) -> Optional[str]:
    """Draw the best architecture with the assembler; ``None`` (and a log line) if it cannot."""
    try:
        from algebraic_nas.assembly.draw import draw_term
        from algebraic_nas.grammar import load_grammar

        grammar = load_grammar(grammar_name) if grammar_name else None
        term = grammar.parse(term_text) if grammar is not None else None
        if term is None:
            return None
        draw_term(term, path, grammar=grammar)
        return str(path)
    except Exception as exc:  # noqa: BLE001 - the picture is optional; the rest of the report is not
        log.warning("no picture of the best architecture: %s: %s", type(exc).__name__, exc)
        return None
