"""Samplers: closures that draw a random term of a nonterminal, with its weights and constraints.

A sampler is built once per ``(nonterminal, remaining depth, need_nonzero)`` and called with a
:class:`SampleContext` (the caller's `random.Random` and the shared subterms of the term being
drawn). Alternatives are drawn with their weights among those that can still satisfy the depth
bound and the connectivity constraint (renormalised), using the exact counts of :mod:`.counting`,
so a sampler never runs into a dead end except through shared nonterminals (a shared subterm
drawn earlier may be zero where zero is forbidden): then it raises :class:`Rejected` and the
caller draws again. Small sublanguages are *interned*: their terms are shared objects.

The random draws (their number and order) are part of the behaviour: seeded samples, mutations
and searches depend on them.
"""

from __future__ import annotations

import random
from bisect import bisect_right
from typing import Any, Callable, Optional

from .counting import INTERN_LIMIT, Counts, _add, is_small
from .patterns import P_INT, P_FLOAT, P_NT, P_T, Alternative, is_zero
from .samplegen import compile_sampler, describe
from .term import Term, new_term

Depth = Optional[int]


class Rejected(Exception):
    """A sampler could not complete the term (a shared subterm conflicts); draw again."""


class TooLarge(Rejected):
    """The term being drawn passed :data:`~.termsize.MAX_SAMPLE_NODES` nonterminal nodes."""


class SampleContext:
    """What samplers receive: the bound methods of the caller's Random and the per-term cache of shared subterms."""

    __slots__ = ("random", "randint", "uniform", "shared", "rng", "nodes")

    def __init__(self, rng: random.Random):
        self.rng = rng
        self.random = rng.random
        self.randint = rng.randint
        self.uniform = rng.uniform
        self.shared: dict = {}
        self.nodes = 0  # nonterminal nodes drawn (counted only for grammars with huge terms)


Sampler = Callable[[SampleContext], Term]


class Samplers:
    """The samplers of one grammar, built on demand and cached."""

    def __init__(
        self, rules: dict[str, list[Alternative]], counts: Counts, shared: set[str], zero: Optional[str], float_digits: int
    ):
        self._rules = rules
        self._counts = counts
        self._shared = shared
        self._zero = zero
        self._digits = float_digits
        self._cache: dict = {}
        self._fresh: dict = {}
        self._warming = False
        self._warmed = 0  # how many keys of the counts' bottom-up order have samplers
        # set by the grammar when its terms can exceed MAX_SAMPLE_NODES: samplers then count nodes
        self.count_nodes = False
        # samplers compiled to one function each (:mod:`.samplegen`); False keeps the closures (the
        # straightforward path, same draws and terms: the benchmark's baseline and the tests' reference)
        self.compile = True

    def _warm(self, a_name: str, r: Depth) -> None:
        """Build the samplers ``(a_name, r)`` needs bottom-up, in the order the counts were computed,
        so that building one never recurses through the depth bound or a long chain of rules."""
        self._counts.value_nt(a_name, r)
        order = self._counts.order
        self._warming = True
        try:
            while self._warmed < len(order):
                b, rr = order[self._warmed]
                self._warmed += 1
                for nz in (False, True):
                    self.for_nonterminal(b, rr, nz)
        finally:
            self._warming = False

    def for_nonterminal(self, a_name: str, r: Depth, need_nonzero: bool) -> Sampler:
        """A sampler of the terms of ``a_name`` at remaining depth ``r`` (not zero when
        ``need_nonzero``). A shared nonterminal's sampler returns the value already drawn for the
        term (``ctx.shared``) when there is one."""
        key = (a_name, r, need_nonzero)
        s = self._cache.get(key)
        if s is not None:
            return s
        if not self._warming:
            self._warm(a_name, r)
            s = self._cache.get(key)
            if s is not None:
                return s
        if a_name in self._shared:
            s = self._shared_sampler(a_name, need_nonzero)
        else:
            s = self._build(a_name, r, need_nonzero)
        s = self._cache[key] = self._finish(s, f"{a_name} r={r} nonzero={need_nonzero}")
        return s

    def _finish(self, s: Sampler, label: str) -> Sampler:
        """A built sampler as stored: counting nodes, or compiled (``label`` names it), or as is."""
        if self.count_nodes:
            return _counted(s)
        return compile_sampler(s, label) if self.compile else s

    def fresh(self, x: str, need_nonzero: bool) -> Sampler:
        """A sampler of a new value of the shared nonterminal ``x`` itself (its own root depth),
        ignoring the value already drawn for it."""
        key = (x, need_nonzero)
        s = self._fresh.get(key)
        if s is None:
            s = self._build(x, self._counts.root_depth, need_nonzero)
            s = self._fresh[key] = self._finish(s, f"fresh {x}")
        return s

    def _feasible(self, a_name: str, r: Depth, need_nz: bool) -> tuple[list[Alternative], list[float]]:
        alts = []
        weights = []
        for al, (z, nz) in zip(self._rules[a_name], self._counts.alternative_counts(a_name, r)):
            ok = nz if need_nz else _add(z, nz)
            if ok:
                alts.append(al)
                weights.append(al.weight)
        return alts, weights

    def _build(self, a_name: str, r: Depth, need_nz: bool) -> Sampler:
        alts, weights = self._feasible(a_name, r, need_nz)
        if not alts:
            def impossible(ctx, _a=a_name):
                raise Rejected(f"no term of {_a} fits here")
            return impossible
        subs = [self._alt_sampler(al, r, need_nz) for al in alts]
        if len(subs) == 1:
            return subs[0]
        # a leaf alternative is stored as its Term (returned without a call: the hot path of
        # sampling), any other as its sampler; the draw (one ctx.random()) is the same
        items = [al.leaf if al.kind == "leaf" else s for al, s in zip(alts, subs)]
        all_leaves = all(al.kind == "leaf" for al in alts)
        total = sum(weights)
        if total <= 0:
            weights = [1.0] * len(alts)
            total = float(len(alts))
        n = len(subs)
        if max(weights) - min(weights) < 1e-15:
            if all_leaves:
                def pick_leaf_uniform(ctx, items=items, n=n):
                    return items[int(ctx.random() * n)]
                return describe(pick_leaf_uniform, ("choice", items, None, n))

            def pick_uniform(ctx, items=items, n=n):
                s = items[int(ctx.random() * n)]
                return s if s.__class__ is Term else s(ctx)
            return describe(pick_uniform, ("choice", items, None, n))
        cum = []
        acc = 0.0
        for w in weights:
            acc += w / total
            cum.append(acc)
        cum = cum[:-1]  # the last bound (1 up to rounding) is implied: bisect_right never passes len(cum)
        if all_leaves:
            def pick_leaf(ctx, items=items, cum=cum):
                return items[bisect_right(cum, ctx.random())]
            return describe(pick_leaf, ("choice", items, cum, n))

        def pick(ctx, items=items, cum=cum):
            s = items[bisect_right(cum, ctx.random())]
            return s if s.__class__ is Term else s(ctx)

        return describe(pick, ("choice", items, cum, n))

    def _shared_sampler(self, x: str, need_nz: bool) -> Sampler:
        inner = self._build(x, self._counts.root_depth, need_nz)
        zero = self._zero

        def shared(ctx):
            cache = ctx.shared
            t = cache.get(x)
            if t is None:
                t = inner(ctx)
                cache[x] = t
            elif need_nz and zero is not None and is_zero(t, zero):
                raise Rejected(f"shared {x} is zero where zero is forbidden")
            return t

        return shared

    def _alt_sampler(self, al: Alternative, r: Depth, need_nz: bool) -> Sampler:
        a_name, idx = al.nt, al.index
        if al.kind == "leaf":
            leaf = al.leaf

            def s_leaf(ctx):
                return leaf
            return describe(s_leaf, ("leaf", leaf))
        if al.kind == "unit":
            child = self.for_nonterminal(al.pattern[1], r, need_nz)
            if is_small(self._counts.value_alt(al, r)):
                memo: dict = {}

                def s_unit_interned(ctx):
                    c = child(ctx)
                    t = memo.get(id(c))
                    if t is None:
                        t = memo[id(c)] = new_term(a_name, idx, "", (c,))
                    return t
                return describe(s_unit_interned, ("unit", child, a_name, idx, memo))

            def s_unit(ctx):
                return new_term(a_name, idx, "", (child(ctx),))
            return describe(s_unit, ("unit", child, a_name, idx, None))
        return self._pat_sampler(al.pattern, None if r is None else r - 1, a_name, idx)

    def _pat_sampler(self, p: tuple, rc: Depth, owner: Optional[str], idx: int, need_nz: bool = False) -> Sampler:
        kind = p[0]
        if kind == P_NT:
            return self.for_nonterminal(p[1], rc, need_nz)
        if kind == P_T:
            leaf = p[2]
            return describe(lambda ctx: leaf, ("leaf", leaf))
        digits = self._digits
        if kind == P_INT:
            lo, hi = p[1], p[2]
            if hi - lo < INTERN_LIMIT:
                ints = [Term(owner, idx, "int", (), v) for v in range(lo, hi + 1)]
                return describe(lambda ctx: ints[ctx.randint(0, hi - lo)], ("int_table", ints, hi - lo))
            return lambda ctx: Term(owner, idx, "int", (), ctx.randint(lo, hi))
        if kind == P_FLOAT:
            lo, hi = p[1], p[2]

            def s_float(ctx):
                v = round(ctx.uniform(lo, hi), digits)
                return Term(owner, idx, "float", (), min(max(v, lo), hi))
            return s_float
        free = [self._pat_sampler(sp, rc, None, -1) for sp in p[2]]
        memo = {} if is_small(self._counts.value_pat(p, rc)) else None
        return self._op_sampler(p, rc, owner, idx, free, memo)

    def _op_sampler(self, p: tuple, rc: Depth, owner: Optional[str], idx: int, free: list, memo: Optional[dict]) -> Sampler:
        """``memo`` (a dict, for small languages): intern the terms, keyed by the ids of their
        children (which are interned too, so the ids are stable)."""
        symbol, subs, valid = p[1], p[2], p[3]
        zero = self._zero
        counts = self._counts
        if memo is None:
            def make(children):
                return new_term(owner, idx, symbol, children)
        else:
            def make(children):
                key = tuple(map(id, children))
                t = memo.get(key)
                if t is None:
                    t = memo[key] = new_term(owner, idx, symbol, children)
                return t
        can_zero = None if valid is None else [counts.pattern_can_be_zero(sp, rc) for sp in subs]
        if not can_zero or not any(can_zero):
            return describe(_plain_op(owner, idx, symbol, free, make if memo is not None else None),
                            ("op", owner, idx, symbol, free, memo))
        # with the connectivity constraint: arguments left to right, zero only where a path remains
        nonzero = [self._pat_sampler(sp, rc, None, -1, need_nz=True) for sp in subs]
        forced = 0  # arguments that can only be zero
        for i, sp in enumerate(subs):
            if not counts.pattern_can_be_nonzero(sp, rc):
                forced |= 1 << i
        k = len(subs)
        if k <= 12:  # a list lookup instead of the PathTable's (computed and cached) answers
            valid = [valid[m] for m in range(1 << k)]
        steps = []
        for i in range(k):
            later_forced = forced & ~((1 << (i + 1)) - 1)
            steps.append((free[i], nonzero[i], can_zero[i], 1 << i, later_forced))

        def s_op(ctx):
            mask = 0
            children = []
            for f, fnz, cz, bit, later in steps:
                if cz:
                    if valid[mask | bit | later]:
                        c = f(ctx)
                        if is_zero(c, zero):
                            mask |= bit
                    else:
                        c = fnz(ctx)
                else:
                    c = f(ctx)
                children.append(c)
            return make(tuple(children))

        return describe(s_op, ("opz", owner, idx, symbol, steps, valid, zero, memo))


class DrawFailed(Exception):
    """:func:`draw` found no acceptable term: ``rejected_by`` (constraint -> candidates it
    rejected) or ``reason``."""

    def __init__(self, reason: str, rejected_by: dict[str, int]):
        super().__init__(reason)
        self.reason = reason
        self.rejected_by = rejected_by


TOO_LARGE_DRAWS = 5  # draws past the node limit before giving up (each costs the limit in steps)


def draw(
    sampler: Sampler, ctx: SampleContext, canonical: Optional[Callable[[Term], Term]],
    violated: Optional[Callable[[Term], Optional[str]]], tries: int,
) -> Term:
    """A term from ``sampler``, drawn again while a shared subterm conflicts or a constraint
    (``violated`` returns its name) rejects it; :class:`DrawFailed` after ``tries`` candidates,
    after :data:`TOO_LARGE_DRAWS` terms too large, or for a term too deep for Python's recursion."""
    rejected_by: dict[str, int] = {}
    too_large = 0
    for _ in range(tries):
        ctx.shared = {}
        ctx.nodes = 0
        try:
            t = sampler(ctx)
        except TooLarge as exc:
            too_large += 1
            if too_large >= TOO_LARGE_DRAWS:
                raise DrawFailed(f"in {too_large} draws: {exc} (lower the weights of recursive alternatives or %max_depth)", {}) from None
            continue
        except Rejected:
            continue
        except RecursionError:
            raise DrawFailed("is shallow enough for Python's recursion limit: lower %max_depth or the weights of recursive alternatives", {}) from None
        if canonical is not None:
            t = canonical(t)
        if violated is not None:
            name = violated(t)
            if name is not None:
                rejected_by[name] = rejected_by.get(name, 0) + 1
                continue
        return t
    raise DrawFailed(f"in {tries} tries (shared subterms conflict)", rejected_by)


def _counted(s: Sampler) -> Sampler:
    """``s`` counting the nodes of the term being drawn; :class:`TooLarge` beyond the limit."""
    from .termsize import MAX_SAMPLE_NODES

    def counted(ctx):
        ctx.nodes += 1
        if ctx.nodes > MAX_SAMPLE_NODES:
            raise TooLarge(f"a sampled term exceeds {MAX_SAMPLE_NODES} nodes")
        return s(ctx)

    return counted


def _plain_op(owner: Optional[str], idx: int, symbol: str, free: list, make: Any) -> Sampler:
    """A topology/operator node whose arguments are drawn independently (no zero can cut it);
    unrolled for small arities (the hot path of sampling)."""
    if make is not None:
        return lambda ctx: make(tuple([f(ctx) for f in free]))
    k = len(free)
    if k == 1:
        f0 = free[0]
        return lambda ctx: new_term(owner, idx, symbol, (f0(ctx),))
    if k == 2:
        f0, f1 = free
        return lambda ctx: new_term(owner, idx, symbol, (f0(ctx), f1(ctx)))
    if k == 3:
        f0, f1, f2 = free
        return lambda ctx: new_term(owner, idx, symbol, (f0(ctx), f1(ctx), f2(ctx)))
    return lambda ctx: new_term(owner, idx, symbol, tuple([f(ctx) for f in free]))
