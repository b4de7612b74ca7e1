"""The report's pictures of one run: the incumbent over evaluations and wall time, and the
best architecture (matplotlib, PNG). The Pareto and multi-fidelity plots are in
``pareto.py`` and ``fidelity.py`` beside this module."""

from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import Optional, Sequence

log = logging.getLogger(__name__)


def plot_incumbent(trace: Sequence[tuple[int, float, float]], path: Path, title: str = "",
                   empty_note: str = "no successful evaluation", ylabel: str = "best validation error") -> None:
    """The best validation error (or another running value: ``ylabel``) over evaluations and over
    wall time; with no finite point, ``empty_note`` written across both panels instead of empty axes."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    pts = [(n, t, b) for n, t, b in trace if math.isfinite(b)]
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    if pts:
        n, t, b = zip(*pts)
        axes[0].step(n, b, where="post")
        axes[1].step([x / 60.0 for x in t], b, where="post")
    else:
        for ax in axes:
            ax.text(0.5, 0.5, empty_note, ha="center", va="center", transform=ax.transAxes, fontsize=11,
                    color="firebrick", wrap=True)
            ax.set_xticks([])
            ax.set_yticks([])
    axes[0].set_xlabel("evaluations")
    axes[1].set_xlabel("search wall time (min)")
    for ax in axes:
        ax.set_ylabel(ylabel)
        ax.grid(alpha=0.3)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


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
