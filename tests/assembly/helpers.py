"""Hand-made terms for the assembly tests (no grammar files needed)."""

from __future__ import annotations

from algebraic_nas.grammar.term import Term


def leaf(symbol: str, nonterminal: str | None = None) -> Term:
    return Term(nonterminal, 0 if nonterminal else -1, symbol)


def op(symbol: str, *children: Term, nonterminal: str | None = None) -> Term:
    return Term(nonterminal, 0 if nonterminal else -1, symbol, tuple(children))


def num(value: float | int) -> Term:
    return Term(None, -1, "", (), value=value)


def cell(*ops: str) -> Term:
    """``Cell(e12, e13, e23, e14, e24, e34)`` from six primitive names."""
    assert len(ops) == 6
    return op("Cell", *(leaf(o, "OP") for o in ops), nonterminal="CL")


def nb201(cell_term: Term, per_stage: int = 5) -> Term:
    """NB201's macro: three stages of ``per_stage`` cells joined by two ``down`` blocks."""
    stage = op(f"Linear{per_stage}", *([cell_term] * per_stage)) if per_stage > 1 else cell_term
    return op("Linear5", stage, leaf("down"), stage, leaf("down"), stage)


def fake_fold(term: Term, level: int) -> Term:
    """Collapse every subterm at depth ``level`` (a stand-in for ``Grammar.fold``)."""

    def go(t: Term, depth: int) -> Term:
        if depth == level and t.nonterminal is not None:
            return Term(t.nonterminal, t.production, t.symbol or t.resolve().symbol, (), collapsed=True)
        if not t.children:
            return t
        return Term(t.nonterminal, t.production, t.symbol, tuple(go(c, depth + 1) for c in t.children))

    return go(term, 0)


class FakeGrammar:
    fold = staticmethod(fake_fold)
