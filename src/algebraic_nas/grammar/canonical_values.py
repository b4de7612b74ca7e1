"""Canonical generator values: one form for terms that differ only in numbers their generators ignore.

A generator topology may declare which of its argument values matter given the others
(``register_topology(..., generator=True, canonical=fn)``, see :mod:`.topology`): ``fn(values)``
is what the generator really uses, equal for two value tuples exactly when they give the same
graph for every seed. ``ErdosRenyi(1, P, X)`` ignores ``P``; ``WattsStrogatz(3, K, P, X)`` clamps
``K`` to 2 and its ring lattice is complete, so ``P`` changes nothing either. Such terms build the
same network, so a search must evaluate them once and its model must see one point.

:func:`canonical_term` replaces every value of a generator node by the smallest value of its
placeholder's range that leaves what the generator uses unchanged (integers scanned upwards from
``lo``; a float moves only to ``lo``), value by value in argument order. The result is a term of
the grammar (values stay in their declared ranges) that builds the same network.
:func:`canonical_set` is a set of terms compared by canonical form (a strategy's exclusions).
Grammars without such generators pay nothing: the term itself comes back.
"""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING, Any, Iterable, Optional, Union

from .patterns import P_OP
from .sites import ValueSite, value_sites
from .term import Term
from .topology import argument_values, get_topology

if TYPE_CHECKING:  # pragma: no cover
    from .grammar import Grammar

MAX_INT_SCAN = 10_000  # integer values tried below the current one, at most (huge ranges)
CACHE_LIMIT = 100_000  # canonical forms remembered per grammar (cleared beyond)

_PER_GRAMMAR: "weakref.WeakKeyDictionary[Any, Optional[dict]]" = weakref.WeakKeyDictionary()


def _symbols_in(p: tuple, out: set) -> None:
    if p[0] == P_OP:
        out.add(p[1])
        for sp in p[2]:
            _symbols_in(sp, out)


def _cache(g: "Grammar") -> Optional[dict]:
    """The grammar's cache of canonical forms; None when no generator of it declares inert values."""
    try:
        return _PER_GRAMMAR[g]
    except KeyError:
        pass
    except TypeError:  # not weak-referenceable (not a Grammar): nothing to canonicalise
        return None
    rules = getattr(g, "rules", None)
    symbols: set = set()
    for alts in (rules or {}).values():
        for al in alts:
            _symbols_in(al.pattern, symbols)
    found = any((spec := get_topology(s)) is not None and spec.canonical is not None for s in symbols)
    cache = {} if found else None
    _PER_GRAMMAR[g] = cache
    return cache


def has_inert_values(g: "Grammar") -> bool:
    """Whether some generator topology of ``g`` declares which of its values matter."""
    return _cache(g) is not None


def canonical_term(g: "Grammar", term: Term) -> Term:
    """``term`` with each generator's inert values replaced by a canonical choice (``term`` itself
    when nothing changes, e.g. for every grammar without such generators)."""
    cache = _cache(g)
    if cache is None:
        return term
    got = cache.get(term)
    if got is None:
        got = _canonical(g, term)
        if len(cache) >= CACHE_LIMIT:
            cache.clear()
        cache[term] = got
    return got


def _canonical(g: "Grammar", term: Term) -> Term:
    nodes = [(path, t) for path, t in term.walk() if t.symbol and t.children and not t.collapsed]
    generators = [(path, t, spec) for path, t in nodes
                  if (spec := get_topology(t.symbol)) is not None and spec.canonical is not None]
    if not generators:
        return term
    sites = {s.path: s for s in value_sites(g, term)}
    out = term
    for path, t, spec in generators:
        pos, vals = argument_values(t)
        leaf_sites = [_site_below(t, path, i, sites) for i in pos]
        new = _canonical_values(spec.canonical, vals, leaf_sites)
        for v_old, v_new, site in zip(vals, new, leaf_sites):
            if v_new != v_old or type(v_new) is not type(v_old):
                leaf = out.at(site.path)  # type: ignore[union-attr]
                out = out.replace(site.path, Term(leaf.nonterminal, leaf.production, leaf.symbol, (), v_new))  # type: ignore[union-attr]
    return out if out != term else term


def _site_below(t: Term, path: tuple, i: int, sites: dict) -> Optional[ValueSite]:
    """The value site of child ``i`` of node ``t`` at ``path`` (through transparent nodes)."""
    p = path + (i,)
    c = t.children[i]
    while c.is_transparent:
        c = c.children[0]
        p = p + (0,)
    return sites.get(p)


def _canonical_values(used, vals: tuple, sites: list) -> tuple:
    """The smallest equivalent values, one at a time in argument order (see the module docstring)."""
    try:
        target = used(vals)
    except Exception:  # values the generator rejects: nothing to merge
        return vals
    new = list(vals)
    for j, site in enumerate(sites):
        if site is None or not site.lo < site.hi:
            continue  # a literal, or a number we cannot place in a range: kept
        for c in _candidates(site, new[j]):
            trial = tuple(new[:j] + [c] + new[j + 1:])
            try:
                same = used(trial) == target
            except Exception:
                same = False
            if same:
                new[j] = c
                break
    return tuple(new)


def _candidates(site: ValueSite, current: Union[int, float]) -> Iterable[Union[int, float]]:
    """Values to try for ``site`` before keeping ``current``: integers from ``lo`` up to it, or ``lo``."""
    if site.integer:
        stop = min(int(current), int(site.lo) + MAX_INT_SCAN)
        return range(int(site.lo), stop)
    return (float(site.lo),) if float(site.lo) < current else ()


class CanonicalTermSet(set):
    """A set of terms that holds and compares them by canonical form: ``t in s`` is true when a
    term equivalent to ``t`` was added. Only ``add``, ``update``, ``discard`` and ``in`` know it."""

    def __init__(self, grammar: "Grammar", terms: Iterable[Term] = ()) -> None:
        super().__init__(canonical_term(grammar, t) for t in terms)
        self.grammar = grammar

    def __contains__(self, term: object) -> bool:
        return isinstance(term, Term) and set.__contains__(self, canonical_term(self.grammar, term))

    def add(self, term: Term) -> None:
        set.add(self, canonical_term(self.grammar, term))

    def update(self, *groups: Iterable[Term]) -> None:  # type: ignore[override]
        for terms in groups:
            for t in terms:
                self.add(t)

    def discard(self, term: Term) -> None:
        set.discard(self, canonical_term(self.grammar, term))


def canonical_set(g: "Grammar", terms: Iterable[Term] = ()) -> set:
    """``set(terms)``, compared by canonical form when ``g`` has generators with inert values."""
    return CanonicalTermSet(g, terms) if has_inert_values(g) else set(terms)
