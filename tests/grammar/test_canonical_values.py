"""Canonical generator values (issue 10): terms that differ only in numbers their generators ignore
build the same network, have one canonical form, and a search evaluates them once."""

from __future__ import annotations

import itertools
import random
from collections import defaultdict

import pytest
import torch

from algebraic_nas.assembly.network import build_network
from algebraic_nas.grammar import load_grammar
from algebraic_nas.grammar.canonical_values import CanonicalTermSet, canonical_set, canonical_term, has_inert_values
from algebraic_nas.grammar.topology import get_topology, register_topology, term_template

# a small generator space where most value variety is inert: N = 1 and N = 2 ignore P
ER_SMALL = """
NET  ::= ErdosRenyi(N, P, NODE)
N    ::= int(1, 4)
P    ::= float(0.1, 0.9)
NODE ::= Linear3(relu, conv3x3, batch)
"""


@pytest.mark.parametrize("name, grid", [
    ("WattsStrogatz", [range(1, 11), range(2, 6), [0.1, 0.4, 0.9]]),
    ("ErdosRenyi", [range(1, 7), [0.1, 0.5, 0.9, 1.0]]),
    ("BarabasiAlbert", [range(1, 8), range(1, 6)]),
])
def test_values_with_the_same_used_values_give_the_same_graph_for_every_seed(name, grid):
    spec = get_topology(name)
    classes = defaultdict(list)
    for vals in itertools.product(*grid):
        classes[spec.canonical(vals)].append(vals)
    assert len(classes) < sum(len(m) for m in classes.values())  # some values are inert
    for members in classes.values():
        for seed in range(3):
            assert len({repr(spec.generator(v, seed)) for v in members}) == 1, members


def test_what_each_generator_ignores():
    ws, er, ba = (get_topology(n).canonical for n in ("WattsStrogatz", "ErdosRenyi", "BarabasiAlbert"))
    assert ws((3, 2, 0.1)) == ws((3, 5, 0.9))  # K clamped to 2, the triangle is complete: P inert
    assert ws((4, 2, 0.3)) == ws((4, 3, 0.3)) != ws((4, 2, 0.9))  # K // 2 neighbours; P matters
    assert ws((10, 4, 0.3)) == ws((10, 5, 0.3)) != ws((10, 6, 0.3))
    assert er((1, 0.2)) == er((1, 0.8)) and er((2, 0.2)) == er((2, 0.8)) and er((3, 0.2)) != er((3, 0.8))
    assert ba((5, 4)) == ba((5, 9)) != ba((5, 3))
    # stage and channel ratios after the graph parameters always matter
    assert ws((3, 2, 0.1, 0.5, 0.5, 1, 2)) != ws((3, 2, 0.1, 0.2, 0.8, 1, 2))


def _inert_pair(g):
    """Two nago_hnag terms differing only in PMID, with NMID = 1 (one mid node: P unused)."""
    t = g.sample(random.Random(0))
    s = str(t)
    head, rest = s.split("ErdosRenyi(", 1)
    parts = rest.split(", ", 2)
    a = g.parse(f"{head}ErdosRenyi(1, 0.25, {parts[2]}")
    b = g.parse(f"{head}ErdosRenyi(1, 0.75, {parts[2]}")
    return a, b


def _templates(term, seed):
    return [(path, repr(term_template(node, seed, path))) for path, node in term.walk()
            if node.symbol and get_topology(node.symbol) is not None and get_topology(node.symbol).is_generator]


def test_terms_differing_in_an_inert_value_build_the_same_network():
    g = load_grammar("nago_hnag")
    a, b = _inert_pair(g)
    assert a != b and canonical_term(g, a) == canonical_term(g, b)
    c = canonical_term(g, a)
    g.check(c)  # the canonical form is a term of the grammar (values in their ranges)
    for seed in (0, 5):
        assert _templates(a, seed) == _templates(b, seed) == _templates(c, seed)
    nets = []
    for t in (a, b, c):
        torch.manual_seed(0)
        nets.append(build_network(t, (3, 16, 10), seed=3, budget=20_000))
    x = torch.randn(2, 3, 16, 16)
    sizes = [sum(p.numel() for p in n.parameters()) for n in nets]
    assert sizes[0] == sizes[1] == sizes[2]
    with torch.no_grad():
        outs = [n.eval()(x) for n in nets]
    assert torch.equal(outs[0], outs[1]) and torch.equal(outs[0], outs[2])


def test_canonical_forms_are_stable_and_cost_nothing_without_generators():
    g = load_grammar("nago_hnag")
    terms = g.sample_many(60, random.Random(3))
    for t in terms:
        c = canonical_term(g, t)
        assert canonical_term(g, c) == c
        assert canonical_term(g, g.parse(str(t))) == c
    assert sum(canonical_term(g, t) != t for t in terms) > 0
    hnb = load_grammar("hnb201")
    assert not has_inert_values(hnb)
    t = hnb.sample(random.Random(0))
    assert canonical_term(hnb, t) is t and type(canonical_set(hnb, [t])) is set


def test_a_canonical_set_holds_terms_by_canonical_form():
    g = load_grammar("nago_hnag")
    a, b = _inert_pair(g)
    s = canonical_set(g, [a])
    assert isinstance(s, CanonicalTermSet) and b in s and len(s) == 1
    s.add(b)
    assert len(s) == 1
    s.discard(b)
    assert a not in s


def test_canonical_needs_a_generator():
    with pytest.raises(TypeError, match="generator topology only"):
        register_topology("NotAGenerator", edges=((1, 2),), canonical=lambda v: v)


def _banat_loop(g, error, n, seed):
    from algebraic_nas.search.strategies.banat.optimiser import EvolutionConfig
    from algebraic_nas.search.proposal import Result
    from algebraic_nas.search.strategies import make_strategy

    s = make_strategy("banat", g, seed=seed, n_initial=3, kernel="values",
                      evolution=EvolutionConfig(pool_size=20, min_generations=2, max_generations=3, patience=1))
    canon = []
    for _ in range(n):
        (p,) = s.propose(n=1)
        canon.append(canonical_term(g, p.term))
        s.observe(Result(p, {"valid_error": error(canon[-1])}))
    return canon


def _er_error(c):
    n, p = c.children[0].value, c.children[1].value
    return {1: 0.1, 2: 0.15}.get(n, 0.3 + 0.1 * p)  # best where P is inert: a model is drawn there


def test_banat_never_proposes_a_term_whose_canonical_form_was_evaluated(monkeypatch):
    g = load_grammar("er_small", text=ER_SMALL)
    for seed in range(2):
        canon = _banat_loop(g, _er_error, 10, seed)
        assert len(set(canon)) == len(canon)
    # without canonical forms (exclusions and values-kernel features) it proposes the same networks again
    import algebraic_nas.search.strategies.base as base
    import algebraic_nas.surrogate.kernels as kernels

    monkeypatch.setattr(base, "canonical_set", lambda grammar, terms=(): set(terms))
    monkeypatch.setattr(kernels, "canonical_term", lambda grammar, t: t)
    canon = _banat_loop(g, _er_error, 10, 1)
    assert len(set(canon)) < len(canon)


def test_banat_on_nago_hnag_values_proposes_distinct_networks():
    g = load_grammar("nago_hnag")

    def error(c):  # a smooth function of the canonical values, no training
        vals = [x.value for _, x in c.walk() if x.value is not None]
        return 0.2 + 0.01 * sum(v for v in vals if isinstance(v, int)) + 0.05 * sum(v for v in vals if isinstance(v, float))

    canon = _banat_loop(g, error, 12, 0)
    assert len(set(canon)) == len(canon)
