"""Exact counting of the terms of a grammar.

The number of terms of every nonterminal is computed once per *remaining depth* ``r`` (the
``%max_depth`` bound minus the node's level; ``None`` without a bound) and split into *zero terms*
(those that resolve to the ``%zero`` terminal) and the others. The counts give the exact size,
decide which alternatives are feasible while sampling, and keep the samplers from dead ends.

A count is a dict ``{(used_shared_mask, status): n}`` with status 0 = zero term, 1 = other and
``n`` an int or ``math.inf``. With shared references *expanded* (the default ``mode`` None) the
mask is always 0; :meth:`Counts.exact_size` counts with shared references as symbols instead
(``mode = (sigma, bits, cache)``: a reference to shared X is one term of status ``sigma[X]`` and
sets bit ``bits[X]``) and then combines the shared nonterminals' own languages.
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any, Callable, Optional, Union

from .connectivity import PathTable, count_connected
from .patterns import P_FLOAT, P_INT, P_NT, P_OP, P_T, Alternative

INF = math.inf
INTERN_LIMIT = 4096  # sampled terms of languages at most this large are interned (shared objects)

Count = Union[int, float]  # float only for math.inf
Depth = Optional[int]


# Counts saturate at CAP ("at least 10^COUNT_LIMIT_DIGITS"): sampling needs only whether a count is
# zero or small, and exact sizes beyond it (a toy grammar with %max_depth 18 has ~10^(10^8) terms)
# would take minutes of big-integer arithmetic. `exact_size` reports a saturated result as CAP.
COUNT_LIMIT_DIGITS = 10000
CAP = 10**COUNT_LIMIT_DIGITS


def _mul(a, b):
    if not a or not b:
        return 0
    if a == INF or b == INF:
        return INF
    n = a * b
    return CAP if n > CAP else n


def _add(a, b):
    if a == INF or b == INF:
        return INF
    n = a + b
    return CAP if n > CAP else n


def zero_other(v: dict) -> tuple:
    """``(zero terms, other terms)`` of a counts dict ``{(used_shared_mask, status): n}``."""
    z = nz = 0
    for (m, s), n in v.items():
        if s == 0:
            z = _add(z, n)
        else:
            nz = _add(nz, n)
    return z, nz


def _by_mask(v: dict, status: Optional[int]) -> dict:
    out: dict = {}
    for (m, s), n in v.items():
        if status is None or s == status:
            out[m] = _add(out.get(m, 0), n)
    return {m: n for m, n in out.items() if n}


def _conv(a: dict, b: dict) -> dict:
    out: dict = {}
    for ma, na in a.items():
        for mb, nb in b.items():
            m = ma | mb
            out[m] = _add(out.get(m, 0), _mul(na, nb))
    return {m: n for m, n in out.items() if n}


def is_small(value: dict) -> bool:
    """Whether a (sub)language is small enough for its sampled terms to be interned."""
    total = 0
    for n in value.values():
        total = _add(total, n)
    return total <= INTERN_LIMIT


class Counts:
    """The term counts of one grammar's compiled alternatives (cached per nonterminal and depth)."""

    def __init__(
        self, rules: dict[str, list[Alternative]], shared: set[str], zero: Optional[str], max_depth: Depth,
        numbers_as_one: bool = False,
    ):
        """``numbers_as_one``: count every numeric placeholder as a single value (the number of
        *discrete structures* of a space with continuous placeholders)."""
        self._rules = rules
        self._numbers_as_one = numbers_as_one
        self._shared = shared
        self._zero = zero
        self.root_depth: Depth = max_depth  # the remaining depth at a root (of the term or of a shared subterm)
        self._expanded: dict = {}
        self._per_alt: dict = {}
        self.order: list[tuple[str, Depth]] = []  # the keys of the expanded counts, bottom-up

    # ------------------------------------------------------------------ counts dicts

    def value_nt(self, a_name: str, r: Depth, mode: Any = None) -> dict:
        """Counts of the terms of ``a_name`` at remaining depth ``r`` (see the module docstring)."""
        if r is not None and r <= 0:
            return {}
        cache = self._expanded if mode is None else mode[2]
        v = cache.get((a_name, r))
        if v is None:
            self._fill(a_name, r, mode)
            v = cache[(a_name, r)]
        return v

    def _fill(self, a_name: str, r: Depth, mode: Any) -> None:
        """Compute ``(a_name, r)`` and everything it needs bottom-up with an explicit stack, so that
        deep depth bounds and long chains of rules never recurse deeper than one pattern."""
        cache = self._expanded if mode is None else mode[2]
        stack = [(a_name, r)]
        waiting: set = set()
        while stack:
            key = stack[-1]
            if key in cache:
                stack.pop()
                continue
            missing = [d for d in self.deps(key[0], key[1], mode) if d not in cache]
            if missing:
                if waiting.intersection(missing):  # pragma: no cover - excluded by checks.py
                    raise RuntimeError(f"cyclic counting dependencies at {key}")
                waiting.add(key)
                stack.extend(missing)
                continue
            stack.pop()
            waiting.discard(key)
            self._compute(key[0], key[1], mode)
            if mode is None:
                self.order.append(key)

    def deps(self, a_name: str, r: Depth, mode: Any = None) -> list[tuple[str, Depth]]:
        """The ``(nonterminal, remaining depth)`` counts that ``(a_name, r)`` reads."""
        out = []
        for al in self._rules[a_name]:
            rc = r if al.kind == "unit" else (None if r is None else r - 1)
            todo = [al.pattern]
            while todo:
                p = todo.pop()
                if p[0] == P_NT:
                    b = p[1]
                    if b in self._shared:
                        if mode is None:
                            out.append((b, self.root_depth))
                    elif rc is None or rc > 0:
                        out.append((b, rc))
                elif p[0] == P_OP:
                    todo.extend(p[2])
        return out

    def _compute(self, a_name: str, r: Depth, mode: Any) -> None:
        cache = self._expanded if mode is None else mode[2]
        total: dict = {}
        per_alt = []
        for al in self._rules[a_name]:
            av = self.value_alt(al, r, mode)
            per_alt.append(av)
            for k, n in av.items():
                total[k] = _add(total.get(k, 0), n)
        cache[(a_name, r)] = total
        if mode is None:
            self._per_alt[(a_name, r)] = per_alt

    def _value_ref(self, b: str, r: Depth, mode: Any) -> dict:
        if b in self._shared:
            if mode is None:
                return self.value_nt(b, self.root_depth, None)
            sigma, bits = mode[0], mode[1]
            return {(bits[b], sigma[b]): 1}
        return self.value_nt(b, r, mode)

    def value_alt(self, al: Alternative, r: Depth, mode: Any = None) -> dict:
        """Counts of the terms of one alternative of a node at remaining depth ``r``."""
        if al.kind == "unit":
            return self._value_ref(al.pattern[1], r, mode)
        return self.value_pat(al.pattern, None if r is None else r - 1, mode)

    def value_pat(self, p: tuple, rc: Depth, mode: Any = None) -> dict:
        """Counts of the terms of a pattern whose nonterminals have remaining depth ``rc``."""
        kind = p[0]
        if kind == P_NT:
            return self._value_ref(p[1], rc, mode)
        if kind == P_T:
            return {(0, 0 if p[1] == self._zero else 1): 1}
        if kind in (P_INT, P_FLOAT) and self._numbers_as_one:
            return {(0, 1): 1}
        if kind == P_INT:
            return {(0, 1): p[2] - p[1] + 1}
        if kind == P_FLOAT:
            return {(0, 1): 1 if p[1] == p[2] else INF}
        vals = [self.value_pat(s, rc, mode) for s in p[2]]
        valid = p[3]
        if valid is None or not any(k[1] == 0 for v in vals for k in v):
            acc: dict = {0: 1}
            for v in vals:
                acc = _conv(acc, _by_mask(v, None))
                if not acc:
                    return {}
            return {(m, 1): n for m, n in acc.items()}
        return _value_connected(vals, valid)

    # ------------------------------------------------------------------ what samplers and checks ask

    def counts(self, a_name: str, r: Depth) -> tuple[Count, Count]:
        """(zero terms, other terms) of ``a_name`` at remaining depth ``r`` (shared references expanded)."""
        return zero_other(self.value_nt(a_name, r, None))

    def alternative_counts(self, a_name: str, r: Depth) -> list[tuple[Count, Count]]:
        """Per alternative of ``a_name`` at remaining depth r: (zero terms, other terms)."""
        self.value_nt(a_name, r, None)
        return [zero_other(av) for av in self._per_alt.get((a_name, r), [])]

    def has_terms(self, a_name: str) -> bool:
        """Whether ``a_name`` derives at least one term at the root depth."""
        return any(self.value_nt(a_name, self.root_depth, None).values())

    def pattern_can_be_zero(self, p: tuple, rc: Depth) -> bool:
        if p[0] == P_NT:
            z, _ = self.counts(p[1], self.root_depth if p[1] in self._shared else rc)
            return bool(z)
        if p[0] == P_T:
            return p[1] == self._zero
        return False

    def pattern_can_be_nonzero(self, p: tuple, rc: Depth) -> bool:
        if p[0] == P_NT:
            _, nz = self.counts(p[1], self.root_depth if p[1] in self._shared else rc)
            return bool(nz)
        if p[0] == P_T:
            return p[1] != self._zero
        return True

    # ------------------------------------------------------------------ exact size

    def exact_size(self, start: str, groups: list[list[str]]) -> Count:
        """The number of distinct terms of ``start`` as the start symbol (``math.inf`` when infinite,
        :data:`CAP` when at least that many).

        Sums, over every choice of status (zero or not) of each shared nonterminal that can be both,
        the derivations of ``start`` with shared references as symbols times the number of values
        of the shared nonterminals they use; ``groups`` (interchangeable shared nonterminals)
        count distinct terms, not labellings.
        """
        shared = sorted(self._shared - {start})
        bits = {x: 1 << i for i, x in enumerate(shared)}
        # statuses each shared nonterminal can take (own language, shared refs expanded)
        statuses = {}
        for x in shared:
            z, nz = self.counts(x, self.root_depth)
            statuses[x] = [s for s, n in ((0, z), (1, nz)) if n]
        branching = [x for x in shared if len(statuses[x]) > 1]
        total: Count = 0
        for combo in range(1 << len(branching)):
            sigma = {x: statuses[x][0] for x in shared}
            for j, x in enumerate(branching):
                sigma[x] = statuses[x][combo >> j & 1]
            mode = (sigma, bits, {})
            start_v = self.value_nt(start, self.root_depth, mode)
            own = {}
            for x in shared:
                v = self.value_nt(x, self.root_depth, mode)
                own[x] = {m: n for (m, s), n in v.items() if s == sigma[x]}
            must = 0
            for x in branching:
                if sigma[x] != statuses[x][0]:
                    must |= bits[x]  # a term not using x is counted under x's first status only
            g = _shared_completions(shared, own, must)
            if not groups:
                for (m, s), n in start_v.items():
                    total = _add(total, _mul(n, g(m, 0)))
                continue
            part = _distinct_in_groups(start_v, shared, bits, own, groups, g)
            if part == INF:
                total = INF
            elif total != INF:
                total = _add(total, part)
        return total


def _value_connected(vals: list[dict], valid: PathTable) -> dict:
    """Counts of a topology's terms under the connectivity constraint: the sum, over the sets of
    zero arguments that keep a path, of the products of the arguments' counts (a dynamic
    programme over the topology, :func:`~.connectivity.count_connected`)."""
    parts_z = [_by_mask(v, 0) for v in vals]
    parts_nz = [_by_mask(v, 1) for v in vals]
    by_mask = count_connected(valid.edges, parts_z, parts_nz, _conv, _add)
    return {(m, 1): n for m, n in by_mask.items()}


def _shared_completions(shared: list[str], own: dict, must: int) -> Callable[[int, int], Count]:
    """``g(pending, done)``: the number of ways to give values to the shared nonterminals in
    ``pending`` (a bit mask), and to those their values use in turn, given those in ``done``;
    only combinations that use every nonterminal in ``must`` count."""
    memo: dict = {}

    def g(pending: int, done: int) -> Count:
        if not pending:
            return 1 if (done & must) == must else 0
        key = (pending, done)
        if key in memo:
            return memo[key]
        low = pending & -pending
        x = shared[low.bit_length() - 1]
        done2 = done | low
        acc: Count = 0
        for m, n in own[x].items():
            acc = _add(acc, _mul(n, g((pending | m) & ~done2, done2)))
        memo[key] = acc
        return acc

    return g


def _distinct_in_groups(
    start_v: dict, shared: list[str], bits: dict, own: dict, groups: list[list[str]], g: Callable[[int, int], Count]
) -> Count:
    """The distinct terms when shared nonterminals come in interchangeable groups: a term using j
    members of a group of k with own counts m is one of m(m-1)..(m-j+1) / (k(k-1)..(k-j+1))
    distinct terms per labelled derivation. ``math.inf`` when infinite."""
    acc = Fraction(0)
    group_of = {x: gi for gi, grp in enumerate(groups) for x in grp}
    for (m, s), n in start_v.items():
        if n == INF:
            return INF
        if n >= CAP:
            return CAP
        used = [x for x in shared if m & bits[x]]
        factor: Any = Fraction(1)
        rest_mask = m
        for gi, grp in enumerate(groups):
            members = [x for x in used if group_of.get(x) == gi]
            j = len(members)
            if not j:
                continue
            k = len(grp)
            mm = sum(own[grp[0]].values())
            if mm == INF:
                return INF
            if mm >= CAP:
                return CAP
            num = den = 1
            for i in range(j):
                num *= mm - i
                den *= k - i
            factor *= Fraction(num, den)
            for x in members:
                rest_mask &= ~bits[x]
        rest = g(rest_mask, m & ~rest_mask)
        if rest >= CAP:
            return CAP
        acc += n * factor * rest
    return min(int(acc), CAP)
