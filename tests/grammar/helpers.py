"""Brute-force enumeration of a grammar's derivations, independent of the counting code."""

from __future__ import annotations

import itertools

from algebraic_nas.grammar import Term


def enum_nt(g, a_name, r):
    """All derivations of ``a_name`` with remaining depth ``r`` (None = unbounded), constraints ignored."""
    if r is not None and r <= 0:
        return []
    out = []
    for al in g.rules[a_name]:
        e = al.expr
        if e.kind == "nt":
            out += [Term(a_name, al.index, "", (c,)) for c in enum_nt(g, e.name, r)]
        else:
            out += list(enum_expr(g, e, None if r is None else r - 1, a_name, al.index))
    return out


def enum_expr(g, e, rc, owner, idx):
    if e.kind == "nt":
        yield from enum_nt(g, e.name, rc)
    elif e.kind == "t":
        yield Term(owner, idx, e.name)
    elif e.kind == "int":
        for v in range(e.lo, e.hi + 1):
            yield Term(owner, idx, "int", (), v)
    elif e.kind == "float":
        assert e.lo == e.hi, "cannot enumerate a float range"
        yield Term(owner, idx, "float", (), float(e.lo))
    else:
        options = [list(enum_expr(g, a, rc, None, -1)) for a in e.args]
        for combo in itertools.product(*options):
            yield Term(owner, idx, e.name, tuple(combo))


def valid_terms(g):
    """Valid derivations of the start symbol (filtered by Grammar.is_valid)."""
    return [t for t in enum_nt(g, g.start, g.max_depth) if g.is_valid(t)]
