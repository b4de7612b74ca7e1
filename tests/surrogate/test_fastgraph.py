"""The fast memoised graph builder gives the assembler's graphs (up to node numbering)."""

from __future__ import annotations

import random

import networkx as nx
import pytest

from algebraic_nas.surrogate.fastgraph import FastGraphFn
from algebraic_nas.surrogate.wl import CompactGraph

grammar_mod = pytest.importorskip("algebraic_nas.grammar")
graph_mod = pytest.importorskip("algebraic_nas.assembly.graph")


def to_nx(c: CompactGraph) -> nx.DiGraph:
    g = nx.DiGraph()
    g.add_nodes_from((i, {"label": l}) for i, l in enumerate(c.labels))
    g.add_edges_from(zip(c.src.tolist(), c.dst.tolist()))
    return g


def same(a: nx.DiGraph, b: nx.DiGraph) -> bool:
    if (a.number_of_nodes(), a.number_of_edges()) != (b.number_of_nodes(), b.number_of_edges()):
        return False
    return nx.is_isomorphic(a, b, node_match=lambda x, y: x["label"] == y["label"])


@pytest.mark.parametrize("name,n", [("hnb201", 25), ("toy", 40)])
def test_fast_graphs_are_the_assemblers(name, n):
    g = grammar_mod.load_grammar(name)
    fast = FastGraphFn(g)
    rng = random.Random(11)
    terms = [g.sample(rng) for _ in range(n)]
    # a mutated copy shares most subterms: exercises the block cache
    terms += [g.mutate(t, rng) for t in terms[:5]]
    for t in terms:
        ours = fast(t)
        ref = [graph_mod.flat_graph(t), *graph_mod.fold_graphs(g, t)]
        assert len(ours) == len(ref)
        for j, (a, b) in enumerate(zip(ours, ref)):
            assert same(to_nx(a), b), (j, str(t))
    assert fast.fallbacks == 0


def _seeded_chain(values, seed):
    """n edges in a row carrying child 1, plus a skip edge 1 → n + 1 when the seed is odd."""
    n = int(values[0])
    pairs = [(i, i + 1) for i in range(1, n + 1)] + ([(1, n + 1)] if seed % 2 else [])
    return grammar_mod.Template(n + 1, tuple(grammar_mod.TemplateEdge(a, b, arg=1) for a, b in pairs))


GENERATOR_GRAMMAR = """
NET ::= Linear2(NET, NET) | SeededChain(N, OP) | Residual2(OP, NET, OP)
N   ::= int(1, 3)
OP  ::= conv3x3 | id | Linear2(conv1x1, OP)
%max_depth 4
"""


@pytest.mark.parametrize("seed", [0, 3])
def test_fast_graphs_of_generator_topologies_are_the_assemblers(seed):
    if not grammar_mod.is_topology("SeededChain"):
        grammar_mod.register_topology("SeededChain", _seeded_chain, generator=True)
    g = grammar_mod.load_grammar("gen.ebnf", text=GENERATOR_GRAMMAR)
    fast = FastGraphFn(g, seed=seed)
    rng = random.Random(seed)
    terms = [g.sample(rng) for _ in range(30)]
    terms = [t for t in terms if "SeededChain" in str(t)]
    assert len(terms) > 5
    for t in terms + terms[:5]:  # the repeats come from the block cache
        ours = fast(t)
        ref = [graph_mod.flat_graph(t, seed=seed), *graph_mod.fold_graphs(g, t, seed=seed)]
        for j, (a, b) in enumerate(zip(ours, ref)):
            assert same(to_nx(a), b), (j, str(t))
    assert fast.fallbacks == 0


@pytest.mark.parametrize("name", ["hnb201", "hierarchical_cell"])
def test_fold_graphs_shared_by_key_are_the_builders(name):
    """Children share their parent's coarse fold graphs (one object) and every shared graph is
    the one the block builder makes for that term."""
    from algebraic_nas.surrogate.fastgraph import BlockBuilder, block_graph

    g = grammar_mod.load_grammar(name)
    fast = FastGraphFn(g)
    ref = BlockBuilder()
    rng = random.Random(3)
    parents = [g.sample(rng) for _ in range(15)]
    children = [g.mutate(t, rng) for t in parents for _ in range(4)]
    shared = 0
    for t in parents + children:
        ours = fast(t)
        for lv, got in zip(fast.levels, ours[1:]):
            want = block_graph(ref.block(t, lv))
            assert got.labels == want.labels and (got.src == want.src).all() and (got.dst == want.dst).all()
    for p, c in zip([p for p in parents for _ in range(4)], children):
        shared += sum(a is b for a, b in zip(fast(p)[1:], fast(c)[1:]))
    assert shared > len(children)  # the level-0 fold alone is shared by almost every child
