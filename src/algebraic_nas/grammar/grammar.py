"""`Grammar`: a search space read from an `.ebnf` file.

Loading checks the file (see :class:`GrammarError`), then compiles every alternative into a
small pattern and computes, once, the exact number of terms of every nonterminal (split into
terms that are the designated ``zero`` and terms that are not, per remaining depth when the
grammar has a depth bound). Those counts give the exact size, decide which alternatives are
feasible while sampling under the connectivity constraint and the depth bound, and keep the
samplers from ever running into a dead end.

Vocabulary used in the code:

* *level* of a node: the number of non-transparent nonterminal nodes strictly above it (the
  root has level 0; transparent unit-production nodes and terminals written inside a production
  do not add a level). ``%max_depth N`` allows nonterminal nodes at levels ``0..N-1``; ``fold(t, l)``
  collapses the nonterminal nodes at level ``l``. A shared nonterminal's subterm is a term of its
  own: its levels (for the depth bound) count from its own root.
* *remaining depth* ``r`` of a nonterminal node: ``max_depth - level`` (``None`` without a bound).
* *zero term*: a term that resolves (through transparent nodes) to the designated ``%zero``
  terminal.
"""

from __future__ import annotations

import math
import os
import random as _random
import warnings
from bisect import bisect_right
from typing import Any, Callable, Iterable, Optional, Union

from . import topologies
from .checks import check_productive, check_structure
from .errors import TermError
from .lint import ambiguous_leaves, duplicate_alternatives, find_shared_groups, undeclared_zero
from .loading import (
    DEFAULT_FLOAT_DIGITS,
    SHIPPED_DIR,
    load_files,
    merge_rules,
    read_directives,
    resolve_grammar_path,
    shipped_grammars,
)
from .meta import Expr, GrammarFile, Loc, read_grammar_file
from .patterns import P_FLOAT, P_INT, P_NT, P_OP, P_T, Alternative, compile_rules, is_zero, valid_zero_masks
from .term import Term

INF = math.inf

_INTERN_LIMIT = 4096  # sampled terms of languages at most this large are interned (shared objects)

RngLike = Union[_random.Random, int, None]


def as_rng(rng: RngLike) -> _random.Random:
    """A `random.Random` from a Random (returned as is), an int seed, or None (fresh entropy)."""
    if isinstance(rng, _random.Random):
        return rng
    return _random.Random(rng)


def _mul(a, b):
    if not a or not b:
        return 0
    if a == INF or b == INF:
        return INF
    return a * b


def _add(a, b):
    if a == INF or b == INF:
        return INF
    return a + b


def load_grammar(name_or_path: str, *, text: Optional[str] = None) -> "Grammar":
    """Load a grammar: a shipped name (``"hnb201"``), a path to an `.ebnf` file, or ``text``.

    With ``text`` given, ``name_or_path`` is only used as the file name in messages and as the
    base for relative imports.
    """
    if text is not None:
        from .meta import parse_grammar_text

        root = parse_grammar_text(text, name_or_path)
        path = name_or_path
    else:
        path = resolve_grammar_path(name_or_path)
        root = read_grammar_file(path)
    name = os.path.basename(path)
    if name.endswith(".ebnf"):
        name = name[:-5]
    g = Grammar(root, name=name)
    g._source = (path, text)
    return g


def _unpickle_grammar(path: str, text: Optional[str]) -> "Grammar":
    return load_grammar(path, text=text)


class Grammar:
    """A search space: the terms of an `.ebnf` grammar, with their constraints.

    Use :func:`load_grammar`. Attributes: ``name``, ``path``, ``start``, ``nonterminals`` (in order
    of definition), ``shared`` (shared nonterminals), ``zero`` (the designated zero terminal or
    ``None``), ``max_depth`` (``None`` without a bound), ``float_digits``, ``constraints``
    (names of Python constraints), ``size_ignores`` (the same: the exact size cannot count them).
    """

    def __init__(self, root: GrammarFile, name: str = "grammar"):
        self.name = name
        self.path = root.path
        self._read(root)
        structure = check_structure(self._rules, self._root_rules, self.start, self.shared, self.max_depth)
        self._refs = structure.refs
        self.nonterminals: list[str] = structure.nonterminals
        self._rules = {a: self._rules[a] for a in self.nonterminals}
        self.shared &= set(self.nonterminals)
        self.rules: dict[str, list[Alternative]] = compile_rules(self.nonterminals, self._rules, self.zero)
        self._counts_expand: dict = {}
        self._check_productive()
        self._groups, messages = find_shared_groups(self.nonterminals, self.rules, self.shared, self._refs, self._rules)
        self._canonicalize = bool(self._groups)
        messages += duplicate_alternatives(self.nonterminals, self.rules)
        messages += ambiguous_leaves(self.nonterminals, self.rules, self._groups)
        if self.zero is None and not self._zero_silenced:
            messages += undeclared_zero(self.rules, self._rules[self.start])
        for message in messages:
            warnings.warn(message, stacklevel=2)  # at the caller of load_grammar
        self._samplers: dict = {}
        self._cands: dict = {}
        self._valid_by_symbol: dict = {}
        self._size_cache: Optional[Any] = None

    # ------------------------------------------------------------------ loading and checking

    def _read(self, root: GrammarFile) -> None:
        """Follow the imports, merge the rules and read the directives (see :mod:`.loading`)."""
        files = load_files(root)
        self._rules = merge_rules(files, root)
        self._root_rules = {r.name for r in root.rules}
        d = read_directives(files, root, self._rules)
        self.start: str = d.start
        self.shared: set[str] = d.shared
        self.zero: Optional[str] = d.zero
        self._zero_silenced = d.zero_silenced
        self.max_depth: Optional[int] = d.max_depth
        self.float_digits: int = d.float_digits
        self.constraints: list[str] = d.constraints
        self.size_ignores = list(self.constraints)
        self._constraint_fns = d.constraint_functions()

    # ------------------------------------------------------------------ counting

    def _depths(self) -> list:
        return [None] if self.max_depth is None else list(range(self.max_depth, 0, -1))

    def _root_r(self):
        return self.max_depth

    def _value_nt(self, a_name: str, r, mode) -> dict:
        """Counts of the terms of ``a_name`` at remaining depth ``r``: ``{(used_shared_mask, status): n}``.

        status 0 = zero term, 1 = other. ``mode`` is None (shared references expanded, masks always 0)
        or a tuple ``(sigma, bits)``: a shared reference X counts as one term of status sigma[X] and sets bit bits[X].
        """
        if r is not None and r <= 0:
            return {}
        cache = self._counts_expand if mode is None else mode[2]
        key = (a_name, r)
        v = cache.get(key)
        if v is not None:
            return v
        total: dict = {}
        per_alt = []
        for al in self.rules[a_name]:
            av = self._value_alt(al, r, mode)
            per_alt.append(av)
            for k, n in av.items():
                total[k] = _add(total.get(k, 0), n)
        cache[key] = total
        if mode is None:
            self._alt_counts[key] = per_alt
        return total

    def _value_ref(self, b: str, r, mode) -> dict:
        if b in self.shared:
            if mode is None:
                return self._value_nt(b, self._root_r(), None)
            sigma, bits = mode[0], mode[1]
            return {(bits[b], sigma[b]): 1}
        return self._value_nt(b, r, mode)

    def _value_alt(self, al: Alternative, r, mode) -> dict:
        if al.kind == "unit":
            return self._value_ref(al.pattern[1], r, mode)
        return self._value_pat(al.pattern, None if r is None else r - 1, mode)

    def _value_pat(self, p: tuple, rc, mode) -> dict:
        kind = p[0]
        if kind == P_NT:
            return self._value_ref(p[1], rc, mode)
        if kind == P_T:
            return {(0, 0 if p[1] == self.zero else 1): 1}
        if kind == P_INT:
            return {(0, 1): p[2] - p[1] + 1}
        if kind == P_FLOAT:
            return {(0, 1): 1 if p[1] == p[2] else INF}
        subs = p[2]
        vals = [self._value_pat(s, rc, mode) for s in subs]
        valid = p[3]
        if valid is None or not any(k[1] == 0 for v in vals for k in v):
            acc: dict = {0: 1}
            for v in vals:
                acc = _conv(acc, _by_mask(v, None))
                if not acc:
                    return {}
            return {(m, 1): n for m, n in acc.items()}
        # connectivity constraint: sum over the sets of zero arguments that keep a path
        zeroable = [i for i, v in enumerate(vals) if any(k[1] == 0 for k in v)]
        parts_z = [_by_mask(v, 0) for v in vals]
        parts_nz = [_by_mask(v, 1) for v in vals]
        out: dict = {}
        memo: dict = {}
        for sub in range(1 << len(zeroable)):
            mask = 0
            for j, i in enumerate(zeroable):
                if sub >> j & 1:
                    mask |= 1 << i
            if not valid[mask]:
                continue
            key = tuple((id(vals[i]), mask >> i & 1) for i in range(len(vals)))
            key = tuple(sorted(key))
            prod = memo.get(key)
            if prod is None:
                prod = {0: 1}
                for i in range(len(vals)):
                    prod = _conv(prod, parts_z[i] if mask >> i & 1 else parts_nz[i])
                    if not prod:
                        break
                memo[key] = prod
            for m, n in prod.items():
                out[(m, 1)] = _add(out.get((m, 1), 0), n)
        return out

    def _check_productive(self) -> None:
        self._alt_counts: dict = {}
        r0 = self._root_r()
        for x in self.nonterminals:
            self._value_nt(x, r0, None)
        check_productive(
            self.nonterminals, self._rules, lambda a: any((self._counts_expand.get((a, r0)) or {}).values()), self.zero, self.max_depth
        )

    def _nt_counts(self, a_name: str, r) -> tuple:
        """(zero terms, other terms) of ``a_name`` at remaining depth ``r`` (shared references expanded)."""
        return _zero_other(self._value_nt(a_name, r, None))

    def _alt_feasible(self, a_name: str, r) -> list[tuple[Any, Any]]:
        """Per alternative of ``a_name`` at remaining depth r: (zero terms, other terms)."""
        self._value_nt(a_name, r, None)
        return [_zero_other(av) for av in self._alt_counts.get((a_name, r), [])]

    def size(self, nonterminal: Optional[str] = None) -> Optional[int]:
        """The exact number of distinct valid terms (``None`` when infinite).

        Counts derivations that satisfy the connectivity constraint, the depth bound and the
        sharing of shared nonterminals; Python ``%constraint``s are not counted (see ``size_ignores``).
        With ``nonterminal``, the number of terms of that nonterminal as a start symbol.
        """
        if nonterminal is not None and nonterminal != self.start:
            sub = _SubGrammarView(self, nonterminal)
            return sub.size()
        if self._size_cache is None:
            self._size_cache = self._exact_size(self.start)
        n = self._size_cache
        return None if n == INF else int(n)

    def log10_size(self) -> float:
        """log10 of :meth:`size` (``math.inf`` when infinite)."""
        n = self.size()
        if n is None:
            return INF
        return math.log10(n) if n > 0 else -INF

    def _exact_size(self, start: str):
        shared = sorted(self.shared - {start}) if start in self.shared else sorted(self.shared)
        bits = {x: 1 << i for i, x in enumerate(shared)}
        # statuses each shared nonterminal can take (own language, shared refs expanded)
        statuses = {}
        for x in shared:
            z, nz = self._nt_counts(x, self._root_r())
            statuses[x] = [s for s, n in ((0, z), (1, nz)) if n]
        branching = [x for x in shared if len(statuses[x]) > 1]
        total = 0
        for combo in range(1 << len(branching)):
            sigma = {x: statuses[x][0] for x in shared}
            for j, x in enumerate(branching):
                sigma[x] = statuses[x][combo >> j & 1]
            mode = (sigma, bits, {})
            start_v = self._value_nt(start, self._root_r(), mode)
            own = {}
            for x in shared:
                v = self._value_nt(x, self._root_r(), mode)
                own[x] = {m: n for (m, s), n in v.items() if s == sigma[x]}
            must = 0
            for x in branching:
                if sigma[x] != statuses[x][0]:
                    must |= bits[x]  # a term not using x is counted under x's first status only
            memo: dict = {}

            def g(pending: int, done: int):
                if not pending:
                    return 1 if (done & must) == must else 0
                key = (pending, done)
                if key in memo:
                    return memo[key]
                low = pending & -pending
                x = shared[low.bit_length() - 1]
                done2 = done | low
                acc = 0
                for m, n in own[x].items():
                    acc = _add(acc, _mul(n, g((pending | m) & ~done2, done2)))
                memo[key] = acc
                return acc

            if not self._groups:
                for (m, s), n in start_v.items():
                    total = _add(total, _mul(n, g(m, 0)))
                continue
            # interchangeable groups: a term using j members of a group of k with own counts m is
            # one of m(m-1)..(m-j+1) / (k(k-1)..(k-j+1)) distinct terms per labelled derivation
            from fractions import Fraction

            acc = Fraction(0)
            group_of = {x: gi for gi, grp in enumerate(self._groups) for x in grp}
            for (m, s), n in start_v.items():
                if n == INF:
                    total = INF
                    break
                used = [x for x in shared if m & bits[x]]
                factor = Fraction(1)
                rest_mask = m
                for gi, grp in enumerate(self._groups):
                    members = [x for x in used if group_of.get(x) == gi]
                    j = len(members)
                    if not j:
                        continue
                    k = len(grp)
                    mm = sum(own[grp[0]].values())
                    if mm == INF:
                        factor = INF
                        break
                    num = den = 1
                    for i in range(j):
                        num *= mm - i
                        den *= k - i
                    factor *= Fraction(num, den)
                    for x in members:
                        rest_mask &= ~bits[x]
                if factor == INF:
                    total = INF
                    break
                acc += n * factor * g(rest_mask, m & ~rest_mask)
            if total != INF:
                total = _add(total, int(acc))
        return total

    # ------------------------------------------------------------------ sampling

    def _weights_for(self, a_name: str, r, need_nz: bool):
        feas = self._alt_feasible(a_name, r)
        alts = []
        weights = []
        for al, (z, nz) in zip(self.rules[a_name], feas):
            ok = nz if need_nz else _add(z, nz)
            if ok:
                alts.append(al)
                weights.append(al.weight)
        return alts, weights

    def _nt_sampler(self, a_name: str, r, need_nz: bool) -> Callable[[Any], Term]:
        key = (a_name, r, need_nz)
        s = self._samplers.get(key)
        if s is not None:
            return s
        if a_name in self.shared:
            s = self._shared_sampler(a_name, need_nz)
        else:
            s = self._build_nt_sampler(a_name, r, need_nz)
        self._samplers[key] = s
        return s

    def _build_nt_sampler(self, a_name, r, need_nz):
        alts, weights = self._weights_for(a_name, r, need_nz)
        if not alts:
            def impossible(ctx, _a=a_name):
                raise _Reject(f"no term of {_a} fits here")
            return impossible
        subs = [self._alt_sampler(al, r, need_nz) for al in alts]
        if len(subs) == 1:
            return subs[0]
        total = sum(weights)
        if total <= 0:
            weights = [1.0] * len(alts)
            total = float(len(alts))
        n = len(subs)
        if max(weights) - min(weights) < 1e-15:
            def pick_uniform(ctx, subs=subs, n=n):
                return subs[int(ctx.random() * n)](ctx)
            return pick_uniform
        cum = []
        acc = 0.0
        for w in weights:
            acc += w / total
            cum.append(acc)
        cum[-1] = 2.0  # guard against rounding
        cum = cum[:-1]

        def pick(ctx, subs=subs, cum=cum):
            return subs[bisect_right(cum, ctx.random())](ctx)

        return pick

    def _shared_sampler(self, x: str, need_nz: bool):
        inner = self._build_nt_sampler(x, self._root_r(), need_nz)
        zero = self.zero

        def shared(ctx):
            cache = ctx.shared
            t = cache.get(x)
            if t is None:
                t = inner(ctx)
                cache[x] = t
            elif need_nz and zero is not None and is_zero(t, zero):
                raise _Reject(f"shared {x} is zero where zero is forbidden")
            return t

        return shared

    def _alt_sampler(self, al: Alternative, r, need_nz: bool):
        a_name, idx = al.nt, al.index
        if al.kind == "leaf":
            leaf = al.leaf

            def s_leaf(ctx):
                return leaf
            return s_leaf
        if al.kind == "unit":
            child = self._nt_sampler(al.pattern[1], r, need_nz)
            if self._small(self._value_alt(al, r, None)):
                memo: dict = {}

                def s_unit_interned(ctx):
                    c = child(ctx)
                    t = memo.get(id(c))
                    if t is None:
                        t = memo[id(c)] = Term(a_name, idx, "", (c,))
                    return t
                return s_unit_interned

            def s_unit(ctx):
                return Term(a_name, idx, "", (child(ctx),))
            return s_unit
        return self._pat_sampler(al.pattern, None if r is None else r - 1, a_name, idx)

    def _small(self, value: dict) -> bool:
        """Whether a (sub)language is small enough for its sampled terms to be interned."""
        total = 0
        for n in value.values():
            total = _add(total, n)
        return total <= _INTERN_LIMIT

    def _pat_sampler(self, p: tuple, rc, owner: Optional[str], idx: int, need_nz: bool = False):
        kind = p[0]
        if kind == P_NT:
            return self._nt_sampler(p[1], rc, need_nz)
        if kind == P_T:
            leaf = p[2]
            return lambda ctx: leaf
        digits = self.float_digits
        if kind == P_INT:
            lo, hi = p[1], p[2]
            if hi - lo < _INTERN_LIMIT:
                ints = [Term(owner, idx, "int", (), v) for v in range(lo, hi + 1)]
                return lambda ctx: ints[ctx.randint(0, hi - lo)]
            return lambda ctx: Term(owner, idx, "int", (), ctx.randint(lo, hi))
        if kind == P_FLOAT:
            lo, hi = p[1], p[2]

            def s_float(ctx):
                v = round(ctx.uniform(lo, hi), digits)
                return Term(owner, idx, "float", (), min(max(v, lo), hi))
            return s_float
        free = [self._pat_sampler(sp, rc, None, -1) for sp in p[2]]
        memo = {} if self._small(self._value_pat(p, rc, None)) else None
        return self._pat_sampler_plain(p, rc, owner, idx, free, memo)

    def _pat_sampler_plain(self, p: tuple, rc, owner, idx, free, memo):
        """``memo`` (a dict, for small languages): intern the terms, keyed by the ids of their
        children (which are interned too, so the ids are stable)."""
        symbol, subs, valid = p[1], p[2], p[3]
        zero = self.zero
        if memo is None:
            def make(children):
                return Term(owner, idx, symbol, children)
        else:
            def make(children):
                key = tuple([id(c) for c in children])
                t = memo.get(key)
                if t is None:
                    t = memo[key] = Term(owner, idx, symbol, children)
                return t
        if valid is None or not any(self._pat_can_zero(sp, rc) for sp in subs):
            k = len(free)
            if memo is not None:
                return lambda ctx: make(tuple([f(ctx) for f in free]))
            if k == 1:
                f0 = free[0]
                return lambda ctx: Term(owner, idx, symbol, (f0(ctx),))
            if k == 2:
                f0, f1 = free
                return lambda ctx: Term(owner, idx, symbol, (f0(ctx), f1(ctx)))
            if k == 3:
                f0, f1, f2 = free
                return lambda ctx: Term(owner, idx, symbol, (f0(ctx), f1(ctx), f2(ctx)))
            return lambda ctx: Term(owner, idx, symbol, tuple([f(ctx) for f in free]))
        # with the connectivity constraint: arguments left to right, zero only where a path remains
        nonzero = [self._pat_sampler(sp, rc, None, -1, need_nz=True) for sp in subs]
        can_zero = [self._pat_can_zero(sp, rc) for sp in subs]
        forced = 0  # arguments that can only be zero
        for i, sp in enumerate(subs):
            if not self._pat_can_nonzero(sp, rc):
                forced |= 1 << i
        k = len(subs)
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

        return s_op

    def _pat_can_zero(self, p: tuple, rc) -> bool:
        if p[0] == P_NT:
            z, _ = self._nt_counts(p[1], self._root_r() if p[1] in self.shared else rc)
            return bool(z)
        if p[0] == P_T:
            return p[1] == self.zero
        return False

    def _pat_can_nonzero(self, p: tuple, rc) -> bool:
        if p[0] == P_NT:
            _, nz = self._nt_counts(p[1], self._root_r() if p[1] in self.shared else rc)
            return bool(nz)
        if p[0] == P_T:
            return p[1] != self.zero
        return True

    def sample(self, rng: RngLike = None, nonterminal: Optional[str] = None) -> Term:
        """A random term (of the start symbol, or of ``nonterminal``) satisfying all constraints.

        Alternatives are drawn with their weights, restricted to those that can still satisfy the
        connectivity constraint and the depth bound (renormalised). ``rng``: a `random.Random`,
        an int seed or ``None``.
        """
        ctx = _Ctx(as_rng(rng))
        a_name = nonterminal or self.start
        if a_name not in self.rules:
            raise KeyError(f"{a_name} is not a nonterminal of {self.name}")
        sampler = self._nt_sampler(a_name, self._root_r(), False)
        for _ in range(10000):
            ctx.shared = {}
            try:
                t = sampler(ctx)
            except _Reject:
                continue
            if self._canonicalize:
                t = self.canonical(t)
            if self._constraint_fns and not self._user_ok(t):
                continue
            return t
        raise RuntimeError(
            f"could not sample a term of {self.name} satisfying its constraints in 10000 tries"
            + (f" (Python constraints: {', '.join(self.constraints)})" if self.constraints else "")
        )

    def canonical(self, term: Term) -> Term:
        """The canonical form of a term (identity unless the grammar has interchangeable shared
        nonterminals, see ``_find_shared_groups``): ``parse(str(term))``."""
        if not self._canonicalize:
            return term
        return self.parse(str(term))

    def sample_many(self, n: int, rng: RngLike = None) -> list[Term]:
        r = as_rng(rng)
        return [self.sample(r) for _ in range(n)]

    def _user_ok(self, t: Term) -> bool:
        for fn in self._constraint_fns:
            if not fn(t):
                return False
        return True

    # ------------------------------------------------------------------ parsing and checking

    def parse(self, text: str, nonterminal: Optional[str] = None) -> Term:
        """The term of this grammar written as ``text`` (whitespace-insensitive).

        Raises :class:`TermError` (position and reason) for a string outside the language or a term
        violating a constraint. ``grammar.parse(str(t)) == t`` for every term ``t`` of the grammar.
        """
        from .termparse import parse_term

        return parse_term(self, text, nonterminal or self.start)

    def check(self, term: Term, nonterminal: Optional[str] = None) -> Term:
        """Raise :class:`TermError` unless ``term`` is a valid term of this grammar; return it.

        Checks the derivation (each node's nonterminal, production and symbol), the numeric ranges,
        the connectivity constraint, the depth bound, shared nonterminals and the Python constraints.
        Positions are character offsets in ``str(term)``.
        """
        from .termparse import validate

        validate(self, term, nonterminal or self.start, None, None)
        return term

    def is_valid(self, term: Term) -> bool:
        try:
            self.check(term)
            return True
        except TermError:
            return False

    # ------------------------------------------------------------------ fold

    def fold(self, term: Term, level: int) -> Term:
        """The fold operator F: the term cut at hierarchy level ``level``.

        Every nonterminal node at level ``level`` (the root has level 0; transparent unit nodes and
        terminals inside a production do not add a level) becomes a collapsed leaf that keeps its
        nonterminal, production and the symbol of the subterm it replaced (for a transparent unit
        node: the symbol of the node it resolves to), so ``label`` reads e.g. ``"D1 Residual3"``.
        ``fold(t, 0)`` is the root alone; a level below the deepest node returns ``term`` itself.
        """
        if level < 0:
            raise ValueError("fold level must be >= 0")
        return fold_term(term, level)

    # ------------------------------------------------------------------ evolution

    def mutate(self, term: Term, rng: RngLike = None) -> Term:
        """A valid term differing from ``term``: a random subterm (of a nonterminal with more than one
        term) resampled. Raises ValueError if the term has no such subterm."""
        from .operators import mutate

        return mutate(self, term, as_rng(rng))

    def crossover(self, a: Term, b: Term, rng: RngLike = None) -> Optional[tuple[Term, Term]]:
        """Two children: ``a`` and ``b`` with a random pair of subterms of the same nonterminal
        swapped; both valid and different from both parents. ``None`` when no such pair exists."""
        from .operators import crossover

        return crossover(self, a, b, as_rng(rng))

    def self_crossover(self, term: Term, rng: RngLike = None) -> Optional[Term]:
        """A valid child of one parent: two disjoint subterms of the same nonterminal swapped
        (different from the parent). ``None`` when no such pair exists."""
        from .operators import self_crossover

        return self_crossover(self, term, as_rng(rng))

    # ------------------------------------------------------------------ misc

    def alternatives(self, nonterminal: str) -> list[str]:
        """The alternatives of ``nonterminal`` as written (normalised spacing)."""
        return [str(al.expr) for al in self.rules[nonterminal]]

    def weights(self, nonterminal: str) -> list[float]:
        return [al.weight for al in self.rules[nonterminal]]

    def terminals(self) -> dict[str, set[int]]:
        """Terminal symbols used by the grammar, with their arities (numeric placeholders excluded)."""
        out: dict[str, set[int]] = {}

        def visit(p):
            if p[0] == P_T:
                out.setdefault(p[1], set()).add(0)
            elif p[0] == P_OP:
                out.setdefault(p[1], set()).add(len(p[2]))
                for s in p[2]:
                    visit(s)

        for alts in self.rules.values():
            for al in alts:
                if al.kind == "leaf":
                    out.setdefault(al.expr.name, set()).add(0)
                else:
                    visit(al.pattern)
        return out

    def topologies(self) -> list[str]:
        """Terminal symbols used with arguments (topology operators)."""
        return sorted(s for s, ar in self.terminals().items() if any(a > 0 for a in ar))

    def primitives(self) -> list[str]:
        """Terminal symbols used without arguments (primitive computations)."""
        return sorted(s for s, ar in self.terminals().items() if 0 in ar)

    def info(self) -> dict:
        """A JSON-serialisable summary (what ``algebraic-nas info --json`` prints)."""
        n = self.size()
        return {
            "name": self.name,
            "path": self.path,
            "start": self.start,
            "nonterminals": list(self.nonterminals),
            "size": n,
            "log10_size": None if n is None else self.log10_size(),
            "infinite": n is None,
            "shared": sorted(self.shared),
            "zero": self.zero,
            "max_depth": self.max_depth,
            "float_digits": self.float_digits,
            "constraints": list(self.constraints),
            "size_ignores": list(self.size_ignores),
            "topologies": self.topologies(),
            "primitives": self.primitives(),
        }

    def __repr__(self) -> str:
        return f"<Grammar {self.name} start={self.start} nonterminals={len(self.nonterminals)}>"

    def __reduce__(self):
        # pickled as its source (the compiled samplers are closures): reloaded on unpickling
        path, text = getattr(self, "_source", (self.path, None))
        return (_unpickle_grammar, (path, text))


class _SubGrammarView:
    """Size of the language of another start symbol."""

    def __init__(self, g: Grammar, start: str):
        self.g, self.start = g, start

    def size(self):
        n = self.g._exact_size(self.start)
        return None if n == INF else int(n)


class _Reject(Exception):
    pass


class _Ctx:
    """What samplers receive: the bound methods of the caller's Random and the per-term cache of shared subterms."""

    __slots__ = ("random", "randint", "uniform", "shared", "rng")

    def __init__(self, rng: _random.Random):
        self.rng = rng
        self.random = rng.random
        self.randint = rng.randint
        self.uniform = rng.uniform
        self.shared: dict = {}


def _zero_other(v: dict) -> tuple:
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


def fold_term(term: Term, level: int) -> Term:
    """See :meth:`Grammar.fold` (independent of the grammar)."""

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
