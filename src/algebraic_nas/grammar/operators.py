"""Evolution operators on terms: mutation, crossover, self-crossover (paper App. H.3) and
numeric perturbation.

A *site* is a node of a nonterminal with more than one term (:mod:`.sites`); sites are drawn
uniformly, by one descent from the root through the per-subtree site counts.

Validity is kept by construction: a resampled subterm respects the remaining depth and the
connectivity constraint of the topology it is an argument of (zero forbidden where it would cut
every path, given the other arguments); a swapped subterm is accepted only when it fits its new
place. Grammars with shared nonterminals (a change inside a shared subterm changes every
occurrence) and Python constraints are handled by checking each child and trying again.
:func:`perturb_numbers` is the local move of generator spaces (NAGO): it keeps the structure
and moves numeric placeholders by Gaussian steps within their declared ranges, where
:func:`mutate` would resample a number uniformly.
Every operator returns terms that differ from their parents. The grammar is used only through
its public interface (``mutable_nonterminals``, ``sampler_for``, ``zero_masks``, ``is_valid``,
``canonical``, ``violated_constraint``, ...).
"""

from __future__ import annotations

import random
from bisect import bisect_right
from typing import TYPE_CHECKING, Optional, Union

from .sampling import Rejected, SampleContext
from .sites import Site, ValueSite, descend, height, nodes_along, place, site_counts, sites_of, value_sites, zero_ok
from .term import Term

if TYPE_CHECKING:  # pragma: no cover
    from .grammar import Grammar

_TRIES = 64


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
    return descend(term, a_name, k)


def _resampler(g: "Grammar", site: Site):
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
        site = Site(g, *picked)
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
        child = place(g, term, site, new)
        child = _finish(g, child)
        if child is None or child == term:
            continue
        return child
    raise ValueError(f"no subterm of this term can be mutated in {g.name} (every nonterminal in it has a single term?)")


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

    def attempt(sa: Site, sb: Site) -> Optional[tuple[Term, Term]]:
        ta, tb = sa.node, sb.node
        if ta == tb or not sa.fits(g, tb) or not sb.fits(g, ta):
            return None
        c1 = _finish(g, place(g, a, sa, tb))
        if c1 is None or c1 == a or c1 == b:
            return None
        c2 = _finish(g, place(g, b, sb, ta))
        if c2 is None or c2 == a or c2 == b:
            return None
        return c1, c2

    for _ in range(_TRIES):
        pa = _pick_site(rng, a, allowed)
        if pa is None:
            return None
        sa = Site(g, *pa)
        nb = cb[sa.nt]
        sb = Site(g, *descend(b, sa.nt, int(rng.random() * nb)))
        out = attempt(sa, sb)
        if out is not None:
            return out
    def site_pairs(a_name: str):
        sites_a = sites_of(g, a, a_name)
        sites_b = sites_of(g, b, a_name)
        return sites_a, sites_b, [(i, j) for i in range(len(sites_a)) for j in range(len(sites_b))]

    return _exhaustive(rng, sorted(allowed), site_pairs, attempt)


def self_crossover(g: "Grammar", term: Term, rng: random.Random) -> Optional[Term]:
    counts = site_counts(term)
    mutable = g.mutable_nonterminals
    allowed = {x for x, n in counts.items() if x is not None and n >= 2 and x in mutable}
    if not allowed:
        return None

    def attempt(s1: Site, s2: Site) -> Optional[Term]:
        p1, p2 = s1.path, s2.path
        if p1[: len(p2)] == p2 or p2[: len(p1)] == p1:
            return None  # nested (or the same) places
        t1, t2 = s1.node, s2.node
        if t1 == t2:
            return None
        if g.max_depth is not None and (height(t2) > s1.r or height(t1) > s2.r):
            return None
        if g.shared:
            child = place(g, term, s1, t2)
            s2b = Site(g, p2, nodes_along(child, p2))
            child = place(g, child, s2b, t1)
        else:
            child = term.replace(tuple(p1), t2).replace(tuple(p2), t1)
            if g.zero is not None and not (zero_ok(g, child, p1) and zero_ok(g, child, p2)):
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
        s1 = Site(g, *descend(term, a_name, k1))
        s2 = Site(g, *descend(term, a_name, k2))
        out = attempt(s1, s2)
        if out is not None:
            return out
    def site_pairs(a_name: str):
        sites = sites_of(g, term, a_name)
        return sites, sites, [(i, j) for i in range(len(sites)) for j in range(i + 1, len(sites))]

    return _exhaustive(rng, names, site_pairs, attempt)


def _step(site: ValueSite, rng: random.Random, scale: float, digits: int) -> Union[int, float]:
    """The value of ``site`` moved by a Gaussian step of sd ``scale * (hi - lo)``, in range."""
    x = site.value + rng.gauss(0.0, scale * (site.hi - site.lo))
    if site.integer:
        v = int(round(x))
        if v == site.value:  # a short step rounds back: one unit its way (inwards at a bound)
            v = site.value + (1 if x > site.value else -1)
            if not site.lo <= v <= site.hi:
                v = 2 * site.value - v
        return min(max(v, site.lo), site.hi)
    v = round(min(max(x, site.lo), site.hi), digits)
    return float(min(max(v, site.lo), site.hi))


def perturb_numbers(g: "Grammar", term: Term, rng: random.Random, scale: float = 0.1) -> Optional[Term]:
    """A valid term of the same structure as ``term`` with some of its numbers moved.

    Every numeric placeholder whose range holds more than one value moves with probability 1/2
    (one drawn uniformly when none is picked) by a Gaussian step of standard deviation
    ``scale * (hi - lo)``; the result is clipped to ``[lo, hi]``; an int is rounded (a step that
    rounds back to the old value moves it by one), a float is rounded to the grammar's
    ``float_digits`` (as sampled floats are). Inside a shared subterm every occurrence moves.

    Returns ``None`` without drawing from ``rng`` when the term has no number that can move,
    and ``None`` when no valid different child was found (Python constraints, ranges narrower
    than the float digits).
    """
    if not scale > 0:
        raise ValueError(f"scale must be > 0, got {scale!r}")
    sites = [s for s in value_sites(g, term) if s.hi > s.lo]
    if not sites:
        return None
    for _ in range(_TRIES):
        chosen = [s for s in sites if rng.random() < 0.5]
        if not chosen:
            chosen = [sites[int(rng.random() * len(sites))]]
        child = term
        for s in chosen:
            old = child.at(s.path)
            new = Term(old.nonterminal, old.production, old.symbol, (), _step(s, rng, scale, g.float_digits))
            child = place(g, child, Site(g, list(s.path), nodes_along(child, list(s.path))), new)
        child = _finish(g, child)
        if child is not None and child != term:
            return child
    return None
