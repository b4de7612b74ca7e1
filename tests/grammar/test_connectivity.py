"""The %zero connectivity constraint without 2^k tables: answers per mask and the counting
dynamic programme agree with brute force on random DAGs, and large arities load in moments."""

from __future__ import annotations

import time

from hypothesis import given, settings
from hypothesis import strategies as st

from algebraic_nas.grammar import has_path, load_grammar
from algebraic_nas.grammar.connectivity import PathTable, count_connected
from algebraic_nas.grammar.counting import _add, _conv


@st.composite
def dags(draw):
    """Edge lists of DAGs on nodes 1..n with edges from lower to higher nodes (parallel edges allowed)."""
    n = draw(st.integers(2, 6))
    pairs = [(a, b) for a in range(1, n + 1) for b in range(a + 1, n + 1)]
    return tuple(draw(st.lists(st.sampled_from(pairs), min_size=1, max_size=9)))


counts_dict = st.dictionaries(st.integers(0, 3), st.integers(1, 5), max_size=3)


@settings(max_examples=150, deadline=None)
@given(dags(), st.data())
def test_path_table_agrees_with_has_path(edges, data):
    table = PathTable(edges)
    for mask in data.draw(st.lists(st.integers(0, (1 << len(edges)) - 1), min_size=1, max_size=20)):
        removed = {i for i in range(len(edges)) if mask >> i & 1}
        assert table[mask] == int(has_path(edges, removed))


@settings(max_examples=150, deadline=None)
@given(dags(), st.data())
def test_counting_agrees_with_enumerating_every_mask(edges, data):
    k = len(edges)
    zero = [data.draw(counts_dict) for _ in range(k)]
    other = [data.draw(counts_dict) for _ in range(k)]
    expected: dict = {}
    for mask in range(1 << k):  # the old, exponential definition
        if not has_path(edges, {i for i in range(k) if mask >> i & 1}):
            continue
        prod = {0: 1}
        for i in range(k):
            prod = _conv(prod, zero[i] if mask >> i & 1 else other[i])
        for m, n in prod.items():
            expected[m] = expected.get(m, 0) + n
    expected = {m: n for m, n in expected.items() if n}
    assert count_connected(edges, zero, other, _conv, _add) == expected


def test_long_chain_with_zero_loads_samples_and_counts_quickly():
    k = 60
    text = "%zero zero\n" f"S ::= Linear{k}({', '.join(['OP'] * k)}) | Linear2(OP, OP)\n" "OP ::= conv | zero | Residual2(OP2, OP2, OP2)\nOP2 ::= id | zero\n"
    t0 = time.perf_counter()
    g = load_grammar("chain.ebnf", text=text)
    size = g.size()
    terms = g.sample_many(50, rng=0)
    assert time.perf_counter() - t0 < 5
    # OP has 1 (conv) + 7 (Residual2 with a surviving path: not both of edges 1 and 3... ) terms
    op_nonzero = 1 + sum(1 for a in (0, 1) for b in (0, 1) for c in (0, 1) if (a and c) or b)
    assert size == op_nonzero ** k + op_nonzero ** 2
    assert all(g.is_valid(t) for t in terms)
    assert all(g.is_valid(g.mutate(t, rng=i)) for i, t in enumerate(terms[:10]))
