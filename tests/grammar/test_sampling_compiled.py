"""Compiled samplers (grammar/samplegen.py) make the same draws and terms as the sampler closures."""

from __future__ import annotations

import random

import pytest

from algebraic_nas.grammar import load_grammar, shipped_grammars
from algebraic_nas.grammar.samplegen import MAX_BRANCHES

# every kind of sampler: many mixed alternatives (table dispatch), weights, %zero on a topology
# with a forced argument order, integer tables, floats, a shared nonterminal, a depth bound
MIXED = """
%zero zero
%max_depth 4
%shared SH
S    ::= Linear3(A, A, B) [0.4] | Residual2(A, B, SH) | Linear2(SH, S) [0.1] | P
A    ::= zero | id | conv [0.3] | Linear2(B, B) | Residual2(B, zero, B)
B    ::= relu | OP
OP   ::= Linear2(CONV, NORM) [0.7] | CONV
CONV ::= conv | c1 | c2 | c3 | c4 | c5 | c6 | c7 | c8 | c9 | c10 | c11 | c12 | c13 | c14 | c15 | c16 | Linear2(conv, NORM) | Residual2(conv, NORM, id)
NORM ::= batch | layer
SH   ::= Linear2(relu, A)
P    ::= Param(int(1, 6), float(0.1, 0.9), int(0, 100000))
"""


def _pair(name: str = "", text: str = ""):
    gs = []
    for compiled in (True, False):
        g = load_grammar(name, text=text) if text else load_grammar(name)
        g._samplers.compile = compiled
        gs.append(g)
    return gs


def _same_draws(fast, plain, seed: int, n: int) -> None:
    r1, r2 = random.Random(seed), random.Random(seed)
    a = [fast.sample(r1) for _ in range(n)]
    b = [plain.sample(r2) for _ in range(n)]
    assert [str(t) for t in a] == [str(t) for t in b]
    assert a == b  # the derivations too (nonterminals, productions)
    assert r1.getstate() == r2.getstate()  # the same number of draws
    children_a = [fast.mutate(t, r1) for t in a[:50]]
    children_b = [plain.mutate(t, r2) for t in b[:50]]
    assert children_a == children_b
    assert r1.getstate() == r2.getstate()


@pytest.mark.parametrize("name", shipped_grammars())
def test_shipped_grammars_sample_and_mutate_as_the_closures_do(name):
    fast, plain = _pair(name)
    _same_draws(fast, plain, seed=7, n=100)


def test_every_sampler_kind_compiles_to_the_same_draws():
    fast, plain = _pair("mixed", MIXED)
    _same_draws(fast, plain, seed=3, n=400)
    # the choice over CONV's alternatives is a table lookup, and the grammar really was compiled
    assert len(fast.rules["CONV"]) > MAX_BRANCHES
    s = fast.sampler_for("S", fast.root_depth)
    assert hasattr(s, "_source") and "def _sampler(ctx)" in s._source


def test_need_nonzero_samplers_never_draw_zero_and_match_the_closures():
    fast, plain = _pair("mixed", MIXED)
    r1, r2 = random.Random(11), random.Random(11)
    sa = fast.sampler_for("A", 2, need_nonzero=True)
    sb = plain.sampler_for("A", 2, need_nonzero=True)
    from algebraic_nas.grammar.sampling import SampleContext
    ca, cb = SampleContext(r1), SampleContext(r2)
    xs = [sa(ca) for _ in range(300)]
    ys = [sb(cb) for _ in range(300)]
    assert xs == ys
    assert all(str(x) != "zero" for x in xs)


def test_interned_subterms_are_shared_objects():
    """Equal BLOCK subterms are one object per sampler (need_nonzero or not), exactly as with the
    closures: the compiled code uses the closures' memo dictionaries."""
    counts = []
    for g in _pair("hnb201"):
        r = random.Random(0)
        objects: dict = {}
        for _ in range(30):
            for _, node in g.sample(r).walk():
                if node.nonterminal == "BLOCK":
                    objects.setdefault(node, set()).add(id(node))
        assert objects and all(len(ids) <= 2 for ids in objects.values())
        counts.append(sum(len(ids) for ids in objects.values()))
    assert counts[0] == counts[1]


def test_seeded_samples_do_not_depend_on_earlier_use_of_the_samplers():
    a = load_grammar("hnb201")
    b = load_grammar("hnb201")
    a.sample_many(50, random.Random(1))  # warm a's samplers and memos
    assert a.sample_many(20, random.Random(5)) == b.sample_many(20, random.Random(5))


def test_samplers_too_long_to_compile_stay_closures_with_the_same_draws(monkeypatch):
    from algebraic_nas.grammar import samplegen

    monkeypatch.setattr(samplegen, "MAX_LINES", 8)  # most samplers stay closures, small ones compile
    fast, plain = _pair("mixed", MIXED)
    _same_draws(fast, plain, seed=5, n=200)
    kinds = {hasattr(s, "_source") for s in fast._samplers._cache.values()}
    assert kinds == {True, False}
