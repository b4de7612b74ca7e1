"""Evolution operators on terms: mutation, crossover and self-crossover (paper App. H.3).

A *site* is a node of a nonterminal (``Term.nonterminal`` set, not collapsed). Sites are drawn
uniformly: every term caches, per subtree, how many sites of each nonterminal it holds (in
``Term._aux``; subterms shared between parent and child terms share the cache), so a site is
found by one descent from the root instead of a walk over the whole term.

Validity is kept by construction: a resampled subterm respects the remaining depth and the
connectivity constraint of the topology it is an argument of (zero forbidden where it would cut
every path, given the other arguments); a swapped subterm is accepted only when it fits its new
place. Grammars with shared nonterminals (a change inside a shared subterm changes every
occurrence) and Python constraints are handled by checking each child and trying again.
Every operator returns terms that differ from their parents.
"""

from __future__ import annotations

import random
from bisect import bisect_right
from typing import TYPE_CHECKING, Optional

from .patterns import is_zero
from .sampling import Rejected, SampleContext
from .term import Term

if TYPE_CHECKING:  # pragma: no cover
    from .grammar import Grammar

_EMPTY: dict = {}
_TRIES = 64


def site_counts(t: Term) -> dict:
    """``{nonterminal: number of sites in the subtree}`` (cached on the term)."""
    c = t._aux
    if c is None:
        nt = t.nonterminal if not t.collapsed else None
        if not t.children:
            c = {nt: 1} if nt is not None else _EMPTY
        else:
            c = {}
            for ch in t.children:
                cc = ch._aux
                if cc is None:
                    cc = site_counts(ch)
                for k, v in cc.items():
                    if k is not None:
                        c[k] = c.get(k, 0) + v
            if nt is not None:
                c[nt] = c.get(nt, 0) + 1
        object.__setattr__(t, "_aux", c)
    return c


def height(t: Term) -> int:
    """Levels of nonterminal nodes in the subtree (transparent nodes do not count)."""
    c = site_counts(t)
    if c is _EMPTY:
        return 0
    h = c.get(None)
    if h is None:
        h = max((height(ch) for ch in t.children), default=0)
        if t.nonterminal is not None and not t.collapsed and not t.is_transparent:
            h += 1
        c[None] = h
    return h


def _descend(t: Term, a_name: str, k: int) -> tuple[list[int], list[Term]]:
    """Path (child indices) and the nodes along it (root first) of the k-th site of ``a_name`` in pre-order."""
    path: list[int] = []
    nodes = [t]
    node = t
    while True:
        if node.nonterminal == a_name and not node.collapsed:
            if k == 0:
                return path, nodes
            k -= 1
        for i, ch in enumerate(node.children):
            c = ch._aux
            if c is None:
                c = site_counts(ch)
            n = c.get(a_name, 0)
            if k < n:
                path.append(i)
                nodes.append(ch)
                node = ch
                break
            k -= n
        else:  # pragma: no cover - counts are consistent by construction
            raise RuntimeError("site counts out of sync")


def _topology_above(g: "Grammar", nodes: list[Term]) -> Optional[tuple[int, bytes]]:
    """``(j, valid zero masks)`` for ``nodes[j]``, the nearest non-transparent ancestor of
    ``nodes[-1]`` (reached through transparent nodes only), when it is a topology with a
    connectivity constraint; ``None`` otherwise."""
    j = len(nodes) - 2
    while j >= 0 and nodes[j].is_transparent:
        j -= 1
    if j < 0:
        return None
    p = nodes[j]
    valid = g.zero_masks(p.symbol, len(p.children)) if p.children and p.symbol else None
    return None if valid is None else (j, valid)


def _zero_mask(g: "Grammar", p: Term, skip: int = -1) -> int:
    """Bit ``q`` set for each argument ``q`` (other than ``skip``) of ``p`` that is zero."""
    mask = 0
    for q, c in enumerate(p.children):
        if q != skip and is_zero(c, g.zero):
            mask |= 1 << q
    return mask


class _Site:
    """A site with its context: depth left, the topology it is an argument of, its shared owner."""

    __slots__ = ("path", "nodes", "node", "nt", "r", "allow_zero", "shared_at", "level")

    def __init__(self, g: "Grammar", path: list[int], nodes: list[Term]):
        self.path = path
        self.nodes = nodes
        node = self.node = nodes[-1]
        self.nt = node.nonterminal
        shared = g.shared
        # innermost shared ancestor-or-self, and the level below it (or below the root)
        level = 0
        self.shared_at = -1
        for j in range(len(nodes) - 1):
            n = nodes[j]
            if n.nonterminal is not None and n.nonterminal in shared:
                self.shared_at = j
                level = 0
            if n.nonterminal is not None and not n.is_transparent:
                level += 1
        if self.nt in shared:
            self.shared_at = len(nodes) - 1
            level = 0
        self.level = level
        self.r = None if g.max_depth is None else g.max_depth - level
        # zero context: nearest non-transparent ancestor, reached through transparent nodes only
        self.allow_zero = True
        if g.zero is not None:
            top = _topology_above(g, nodes)
            if top is not None:
                j, valid = top
                i = path[j]
                self.allow_zero = bool(valid[_zero_mask(g, nodes[j], skip=i) | 1 << i])

    def fits(self, g: "Grammar", sub: Term) -> bool:
        """Whether ``sub`` (a term of the same nonterminal) may replace the subterm here."""
        if not self.allow_zero and is_zero(sub, g.zero):
            return False
        if self.r is not None and height(sub) > self.r:
            return False
        return True


def _place(g: "Grammar", term: Term, site: _Site, new: Term) -> Term:
    """``term`` with the subterm at ``site`` replaced by ``new``; inside a shared subterm, every
    occurrence of that shared subterm changes."""
    if site.shared_at < 0:
        return term.replace(tuple(site.path), new)
    j = site.shared_at
    old_s = site.nodes[j]
    new_s = old_s.replace(tuple(site.path[j:]), new)
    return _replace_all(term, old_s, new_s)


def _replace_all(term: Term, old: Term, new: Term) -> Term:
    memo: dict = {}
    h = hash(old)

    def rec(t: Term) -> Term:
        k = id(t)
        r = memo.get(k)
        if r is not None:
            return r
        if hash(t) == h and t == old:
            r = new
        elif not t.children:
            r = t
        else:
            ch = tuple(rec(c) for c in t.children)
            r = t if all(a is b for a, b in zip(ch, t.children)) else Term(
                t.nonterminal, t.production, t.symbol, ch, t.value, t.collapsed
            )
        memo[k] = r
        return r

    return rec(term)


def _shared_values(g: "Grammar", term: Term) -> dict:
    out: dict = {}
    if not g.shared:
        return out
    stack = [term]
    seen: set = set()
    while stack:
        t = stack.pop()
        if id(t) in seen:
            continue
        seen.add(id(t))
        if t.nonterminal in g.shared and t.nonterminal not in out:
            out[t.nonterminal] = t
        stack.extend(t.children)
    return out


def _finish(g: "Grammar", child: Term) -> Optional[Term]:
    """Final checks for grammars where construction alone does not guarantee validity."""
    if g.shared:
        if not g.is_valid(child):
            return None
        if g.canonicalizes:
            child = g.canonical(child)
        return child
    if g.constraints and g.violated_constraint(child) is not None:
        return None
    return child


def _pick_site(rng: random.Random, term: Term, allowed) -> Optional[tuple[list[int], list[Term]]]:
    counts = site_counts(term)
    names = []
    cum = []
    acc = 0
    for a_name, n in counts.items():
        if a_name is not None and a_name in allowed:
            acc += n
            names.append(a_name)
            cum.append(acc)
    if not acc:
        return None
    x = int(rng.random() * acc)
    i = bisect_right(cum, x)
    a_name = names[i]
    k = x - (cum[i - 1] if i else 0)
    return _descend(term, a_name, k)


def _resampler(g: "Grammar", site: _Site):
    need_nz = not site.allow_zero
    if site.nt in g.shared and site.shared_at == len(site.nodes) - 1:
        return g.sampler_for(site.nt, None, need_nz, fresh=True)  # a new value for the shared subterm itself
    return g.sampler_for(site.nt, site.r, need_nz)


def mutate(g: "Grammar", term: Term, rng: random.Random) -> Term:
    allowed = g.mutable_nonterminals
    ctx = SampleContext(rng)
    base_shared = _shared_values(g, term) if g.shared else None
    for attempt in range(_TRIES * 4):
        picked = _pick_site(rng, term, allowed)
        if picked is None:
            break
        site = _Site(g, *picked)
        sampler = _resampler(g, site)
        old = site.node
        for _ in range(8):
            if base_shared is not None:
                ctx.shared = dict(base_shared)
                if site.shared_at >= 0:
                    # the shared subterm being changed, and those inside it, are resampled freely
                    for j in range(site.shared_at, len(site.nodes)):
                        ctx.shared.pop(site.nodes[j].nonterminal, None)
            try:
                new = sampler(ctx)
            except Rejected:
                continue
            if new != old:
                break
        else:
            continue
        child = _place(g, term, site, new)
        child = _finish(g, child)
        if child is None or child == term:
            continue
        return child
    raise ValueError(f"no subterm of this term can be mutated in {g.name} (every nonterminal in it has a single term?)")


def _sites_of(g: "Grammar", term: Term, a_name: str) -> list[_Site]:
    n = site_counts(term).get(a_name, 0)
    return [_Site(g, *_descend(term, a_name, k)) for k in range(n)]


def _exhaustive(rng: random.Random, names: list, site_pairs, attempt):
    """Fallback after the random picks (rarely reached): every pair of sites, nonterminal by
    nonterminal, in random order, up to a budget. ``site_pairs(name)`` gives two site lists and
    the index pairs to try; the first non-``None`` ``attempt`` wins."""
    budget = 20000
    rng.shuffle(names)
    for a_name in names:
        sites_1, sites_2, pairs = site_pairs(a_name)
        rng.shuffle(pairs)
        for i, j in pairs:
            budget -= 1
            if budget < 0:
                return None
            out = attempt(sites_1[i], sites_2[j])
            if out is not None:
                return out
    return None


def crossover(g: "Grammar", a: Term, b: Term, rng: random.Random) -> Optional[tuple[Term, Term]]:
    ca, cb = site_counts(a), site_counts(b)
    mutable = g.mutable_nonterminals
    allowed = {x for x in ca if x is not None and x in cb and x in mutable}
    if not allowed:
        return None

    def attempt(sa: _Site, sb: _Site) -> Optional[tuple[Term, Term]]:
        ta, tb = sa.node, sb.node
        if ta == tb or not sa.fits(g, tb) or not sb.fits(g, ta):
            return None
        c1 = _finish(g, _place(g, a, sa, tb))
        if c1 is None or c1 == a or c1 == b:
            return None
        c2 = _finish(g, _place(g, b, sb, ta))
        if c2 is None or c2 == a or c2 == b:
            return None
        return c1, c2

    for _ in range(_TRIES):
        pa = _pick_site(rng, a, allowed)
        if pa is None:
            return None
        sa = _Site(g, *pa)
        nb = cb[sa.nt]
        sb = _Site(g, *_descend(b, sa.nt, int(rng.random() * nb)))
        out = attempt(sa, sb)
        if out is not None:
            return out
    def site_pairs(a_name: str):
        sites_a = _sites_of(g, a, a_name)
        sites_b = _sites_of(g, b, a_name)
        return sites_a, sites_b, [(i, j) for i in range(len(sites_a)) for j in range(len(sites_b))]

    return _exhaustive(rng, sorted(allowed), site_pairs, attempt)


def self_crossover(g: "Grammar", term: Term, rng: random.Random) -> Optional[Term]:
    counts = site_counts(term)
    mutable = g.mutable_nonterminals
    allowed = {x for x, n in counts.items() if x is not None and n >= 2 and x in mutable}
    if not allowed:
        return None

    def attempt(s1: _Site, s2: _Site) -> Optional[Term]:
        p1, p2 = s1.path, s2.path
        if p1[: len(p2)] == p2 or p2[: len(p1)] == p1:
            return None  # nested (or the same) places
        t1, t2 = s1.node, s2.node
        if t1 == t2:
            return None
        if g.max_depth is not None and (height(t2) > s1.r or height(t1) > s2.r):
            return None
        if g.shared:
            child = _place(g, term, s1, t2)
            s2b = _Site(g, p2, _nodes_along(child, p2))
            child = _place(g, child, s2b, t1)
        else:
            child = term.replace(tuple(p1), t2).replace(tuple(p2), t1)
            if g.zero is not None and not (_zero_ok(g, child, p1) and _zero_ok(g, child, p2)):
                return None
        child = _finish(g, child)
        if child is None or child == term:
            return None
        return child

    names = [x for x in counts if x in allowed]
    cum = []
    acc = 0
    for x in names:
        acc += counts[x]
        cum.append(acc)
    for _ in range(_TRIES):
        i = bisect_right(cum, int(rng.random() * acc))
        a_name = names[i]
        n = counts[a_name]
        k1 = int(rng.random() * n)
        k2 = int(rng.random() * (n - 1))
        if k2 >= k1:
            k2 += 1
        s1 = _Site(g, *_descend(term, a_name, k1))
        s2 = _Site(g, *_descend(term, a_name, k2))
        out = attempt(s1, s2)
        if out is not None:
            return out
    def site_pairs(a_name: str):
        sites = _sites_of(g, term, a_name)
        return sites, sites, [(i, j) for i in range(len(sites)) for j in range(i + 1, len(sites))]

    return _exhaustive(rng, names, site_pairs, attempt)


def _nodes_along(t: Term, path: list[int]) -> list[Term]:
    nodes = [t]
    for i in path:
        t = t.children[i]
        nodes.append(t)
    return nodes


def _zero_ok(g: "Grammar", t: Term, path: list[int]) -> bool:
    """The connectivity constraint of the topology the subterm at ``path`` is an argument of."""
    nodes = _nodes_along(t, path)
    top = _topology_above(g, nodes)
    if top is None:
        return True
    j, valid = top
    return bool(valid[_zero_mask(g, nodes[j])])
