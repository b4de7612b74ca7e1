"""The fold operator F: a term cut at a hierarchy level (independent of the grammar).

Every nonterminal node at level ``level`` (the root has level 0; transparent unit nodes and
terminals inside a production do not add a level) becomes a collapsed leaf that keeps its
nonterminal, production and the symbol of the subterm it replaced (for a transparent unit node:
the symbol of the node it resolves to), so ``label`` reads e.g. ``"D1 Residual3"``. Unchanged
subterms are shared with the input, and a level below the deepest node returns the term itself.
"""

from __future__ import annotations

from .term import Term


def fold_term(term: Term, level: int) -> Term:
    """See :meth:`~algebraic_nas.grammar.grammar.Grammar.fold` (which also checks ``level >= 0``)."""

    def rec(t: Term, lvl: int) -> Term:
        if t.collapsed or t.value is not None and t.nonterminal is None:
            return t
        if t.nonterminal is not None:
            if lvl == level:
                sym = t.symbol or t.resolve().symbol
                return Term(t.nonterminal, t.production, sym, (), None, True)
            if not t.is_transparent:
                lvl += 1
        if not t.children:
            return t
        new = tuple(rec(c, lvl) for c in t.children)
        if all(a is b for a, b in zip(new, t.children)):
            return t
        return Term(t.nonterminal, t.production, t.symbol, new, t.value, t.collapsed)

    return rec(term, 0)
