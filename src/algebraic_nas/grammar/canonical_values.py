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

import functools
import weakref
from typing import TYPE_CHECKING, Any, Iterable, Optional, Union

from .patterns import P_FLOAT, P_INT, P_NT, P_OP
from .term import Term
from .topology import argument_values, get_topology

if TYPE_CHECKING:  # pragma: no cover
    from .grammar import Grammar

MAX_INT_SCAN = 10_000  # integer values tried below the current one, at most (huge ranges)
CACHE_LIMIT = 200_000  # nodes whose canonical form is remembered, per grammar (cleared beyond)

_PER_GRAMMAR: "weakref.WeakKeyDictionary[Any, Optional[_State]]" = weakref.WeakKeyDictionary()


def _refs(p: tuple, symbols: set, nonterminals: set) -> None:
    """The terminal symbols with arguments and the nonterminals that pattern ``p`` uses."""
    if p[0] == P_NT:
        nonterminals.add(p[1])
    elif p[0] == P_OP:
        symbols.add(p[1])
        for sp in p[2]:
            _refs(sp, symbols, nonterminals)


class _State:
    """Per grammar: ``done`` (id(node) -> (node, canonical form)) and ``free``, the nonterminals
    whose terms never hold a generator that declares its inert values (skipped whole)."""

    def __init__(self, free: frozenset) -> None:
        self.done: dict[int, tuple[Term, Term]] = {}
        self.free = free


def _state(g: "Grammar") -> Optional[_State]:
    """The grammar's state; None when no generator of it declares inert values."""
    try:
        return _PER_GRAMMAR[g]
    except KeyError:
        pass
    except TypeError:  # not weak-referenceable (not a Grammar): nothing to canonicalise
        return None
    rules = getattr(g, "rules", None) or {}
    uses = {}
    for a_name, alts in rules.items():
        symbols: set = set()
        nts: set = set()
        for al in alts:
            _refs(al.pattern, symbols, nts)
        direct = any((spec := get_topology(x)) is not None and spec.canonical is not None for x in symbols)
        uses[a_name] = (direct, nts)
    holds = {a for a, (direct, _) in uses.items() if direct}
    changed = True
    while changed:  # a nonterminal holds one when a nonterminal it uses does
        changed = False
        for a, (_, nts) in uses.items():
            if a not in holds and nts & holds:
                holds.add(a)
                changed = True
    state = _State(frozenset(uses) - holds) if holds else None
    _PER_GRAMMAR[g] = state
    return state


def has_inert_values(g: "Grammar") -> bool:
    """Whether some generator topology of ``g`` declares which of its values matter."""
    return _state(g) is not None


def canonical_term(g: "Grammar", term: Term) -> Term:
    """``term`` with each generator's inert values replaced by a canonical choice (``term`` itself
    when nothing changes, e.g. for every grammar without such generators)."""
    state = _state(g)
    if state is None:
        return term
    done, free = state.done, state.free
    entry = done.get(id(term))
    if entry is not None:
        return entry[1]
    if len(done) >= CACHE_LIMIT:
        done.clear()
    # bottom-up with an explicit stack (any depth); each node's canonical form memoised by the
    # node's identity (the entry keeps the node alive, so its id is not reused): a child of the
    # acquisition optimiser shares most of its node objects with its parent. Subterms of
    # nonterminals that never hold such a generator are their own canonical form.
    stack = [term]
    while stack:
        x = stack[-1]
        if id(x) in done:
            stack.pop()
            continue
        if x.nonterminal in free or x.collapsed or not x.children:
            done[id(x)] = (x, x)
            stack.pop()
            continue
        missing = [c for c in x.children if id(c) not in done]
        if missing:
            stack.extend(missing)
            continue
        stack.pop()
        done[id(x)] = (x, _canonical_node(g, x, done))
    return done[id(term)][1]


def _canonical_node(g: "Grammar", t: Term, done: dict) -> Term:
    """The canonical form of node ``t`` (not collapsed, with children) given its children's (in
    ``done``, by id)."""
    kids = tuple([done[id(c)][1] for c in t.children])
    node = t if all(a is b for a, b in zip(kids, t.children)) else Term(t.nonterminal, t.production, t.symbol, kids, t.value, t.collapsed)
    if not t.symbol:
        return node
    spec = get_topology(t.symbol)
    if spec is None or spec.canonical is None:
        return node
    pos, vals = argument_values(node)
    ranges = _ranges(g, node, pos)
    new = _canonical_values(spec.canonical, vals, ranges)
    if new == vals and all(type(a) is type(b) for a, b in zip(new, vals)):
        return node
    children = list(node.children)
    for i, old, v in zip(pos, vals, new):
        if v != old or type(v) is not type(old):
            children[i] = _with_value(children[i], v)
    return Term(node.nonterminal, node.production, node.symbol, tuple(children), node.value, node.collapsed)


def _with_value(c: Term, v: Union[int, float]) -> Term:
    """Value child ``c`` (transparent nodes above its number kept) holding ``v`` instead."""
    path = []
    leaf = c
    while leaf.is_transparent:
        leaf = leaf.children[0]
        path.append(0)
    return c.replace(tuple(path), Term(leaf.nonterminal, leaf.production, leaf.symbol, (), v))


Range = Optional[tuple]  # (lo, hi, integer) of a placeholder; None: a literal or unknown


_RANGES: "weakref.WeakKeyDictionary[Any, dict]" = weakref.WeakKeyDictionary()


def _ranges(g: "Grammar", node: Term, pos: tuple) -> tuple:
    """:func:`_range_of` of each value child, cached by the derivations involved."""
    per = _RANGES.get(g)
    if per is None:
        per = _RANGES[g] = {}
    out = []
    for i in pos:
        c = node.children[i].resolve()
        key = (node.nonterminal, node.production, i, c.nonterminal, c.production)
        r = per.get(key, per)
        if r is per:
            r = per[key] = _range_of(g, node, i)
        out.append(r)
    return tuple(out)


def _range_of(g: "Grammar", node: Term, i: int) -> Range:
    """The declared range of the number in child ``i`` of ``node`` (through transparent nodes)."""
    c = node.children[i].resolve()
    if c.nonterminal is not None:
        p = g.rules[c.nonterminal][c.production].pattern
    elif node.nonterminal is not None:  # a placeholder written inside the node's own production
        p = g.rules[node.nonterminal][node.production].pattern
        if p[0] != P_OP or i >= len(p[2]):
            return None
        p = p[2][i]
    else:
        return None
    if p[0] in (P_INT, P_FLOAT) and p[1] < p[2]:
        return (p[1], p[2], p[0] == P_INT)
    return None


@functools.lru_cache(maxsize=65536)
def _canonical_values(used, vals: tuple, ranges: tuple) -> tuple:
    """The smallest equivalent values, one at a time in argument order (see the module docstring)."""
    try:
        target = used(vals)
    except Exception:  # values the generator rejects: nothing to merge
        return vals
    new = list(vals)
    for j, rng in enumerate(ranges):
        if rng is None:
            continue  # a literal, or a number we cannot place in a range: kept
        for c in _candidates(rng, new[j]):
            trial = tuple(new[:j] + [c] + new[j + 1:])
            try:
                same = used(trial) == target
            except Exception:
                same = False
            if same:
                new[j] = c
                break
    return tuple(new)


def _candidates(rng: tuple, current: Union[int, float]) -> Iterable[Union[int, float]]:
    """Values to try before keeping ``current``: integers from ``lo`` up to it, or a float's ``lo``."""
    lo, _, integer = rng
    if integer:
        return range(int(lo), min(int(current), int(lo) + MAX_INT_SCAN))
    return (float(lo),) if float(lo) < current else ()


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
