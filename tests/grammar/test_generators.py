"""NAGO's generator topologies (torch-free): determinism, independence, DAG orientation, stages."""

from __future__ import annotations

import networkx as nx
import pytest

from algebraic_nas.grammar import get_template, position_seed
from algebraic_nas.grammar.topology_generators import (
    DEFAULT_MERGE,
    OUTPUT_MERGE,
    TRANSITION,
    graph_template,
    stage_of_nodes,
)
from algebraic_nas.grammar.topology_template import TemplateEdge, arg_merge, split_arg_merge

WS = (8, 4, 0.5)  # N, K, P of a Watts-Strogatz graph


def as_digraph(t) -> nx.DiGraph:
    g = nx.DiGraph()
    g.add_nodes_from(range(1, t.n_nodes + 1))
    g.add_edges_from((e.src, e.dst) for e in t.edges)
    return g


def node_edges(t) -> list[TemplateEdge]:
    """The edges carrying the module X (one per graph node)."""
    return [e for e in t.edges if e.arg is not None]


@pytest.mark.parametrize("name,values", [("WattsStrogatz", WS), ("ErdosRenyi", (8, 0.3)), ("BarabasiAlbert", (8, 2))])
def test_same_values_and_seed_give_the_same_graph_and_seeds_differ(name, values):
    arity = len(values) + 1
    assert get_template(name, arity, values, seed=5) == get_template(name, arity, values, seed=5)
    templates = {get_template(name, arity, values, seed=s) for s in range(10)}
    assert len(templates) > 1  # the seed draws the graph
    for t in templates:  # every draw is a connected DAG: all N nodes on an input→output path
        g = as_digraph(t)
        assert len(node_edges(t)) == values[0] and nx.is_directed_acyclic_graph(g)
        assert all(e.src < e.dst for e in t.edges)
        assert set(nx.descendants(g, 1)) | {1} == set(g) == set(nx.ancestors(g, t.n_nodes)) | {t.n_nodes}


def test_positions_of_one_network_get_independent_graphs():
    seeds = [position_seed(7, path) for path in [(0,), (1,), (0, 2), (0, 2, 1)]]
    assert len(set(seeds)) == len(seeds)
    drawn = [get_template("WattsStrogatz", 4, WS, seed=s) for s in seeds]
    assert len(set(drawn)) > 1
    # the same position and network seed always give the same graph (a new process too: BLAKE2b)
    assert position_seed(7, (0, 2)) == position_seed(7, (0, 2))


def test_hand_checked_small_graph_orientation_inputs_outputs_and_merges():
    # undirected: 0-2, 1-2, 2-3, 2-4, 1-4. Pointing lower → higher: inputs 0 and 1 (no lower
    # neighbour), node 2 merges 0 and 1, node 4 merges 1 and 2, outputs 3 and 4 (no higher one).
    g = nx.Graph([(0, 2), (1, 2), (2, 3), (2, 4), (1, 4)])
    t = graph_template(g, x=3, merge="cat")
    # template nodes: node 0 = 1→2, node 1 = 1→3, merge 4 (2, 3) → node 2 = 4→5, node 3 = 5→6,
    # merge 7 (3, 5) → node 4 = 7→8, output 9 = mean(6, 8)
    assert t.n_nodes == 9
    assert [(e.src, e.dst) for e in node_edges(t)] == [(1, 2), (1, 3), (4, 5), (5, 6), (7, 8)]
    assert all(e.arg == 3 for e in node_edges(t))
    fixed = sorted((e.src, e.dst, e.op) for e in t.edges if e.op is not None)
    assert fixed == [(2, 4, "id"), (3, 4, "id"), (3, 7, "id"), (5, 7, "id"), (6, 9, "id"), (8, 9, "id")]
    assert dict(t.merges) == {4: "cat", 7: "cat", 9: OUTPUT_MERGE}


def test_single_output_is_the_template_output_and_one_node_is_one_edge():
    chain = graph_template(nx.path_graph(3), x=0, merge="wsum")
    assert [(e.src, e.dst) for e in chain.edges] == [(1, 2), (2, 3), (3, 4)] and not chain.merges
    one = get_template("ErdosRenyi", 3, (1, 0.5), seed=0)  # NAGO's single-node mid level
    assert [(e.src, e.dst, e.arg) for e in one.edges] == [(1, 2, 2)]


def test_k_is_clamped_to_n_minus_1_and_the_merge_child_follows_x():
    # K = 9 > N - 1 = 3 is K = 3; with P = 0 the ring lattice 0-1-2-3-0: chain 0→1→2→3 plus 0→3
    t = get_template("WattsStrogatz", 4, (4, 9, 0.0), seed=1)
    assert t == get_template("WattsStrogatz", 4, (4, 3, 0.0), seed=1)
    assert [(e.src, e.dst) for e in node_edges(t)] == [(1, 2), (2, 3), (3, 4), (5, 6)]
    assert dict(t.merges) == {5: arg_merge(4, DEFAULT_MERGE)}  # child 4 (after X) names the merge
    assert split_arg_merge(arg_merge(4, "wsum")) == (4, "wsum") and split_arg_merge("cat") is None


def test_stage_split_follows_the_papers_example():
    assert stage_of_nodes(20, (0.2, 0.2, 0.6)) == [0] * 4 + [1] * 4 + [2] * 12
    assert stage_of_nodes(8, (0.333, 0.333, 0.333)) == [0, 0, 0, 1, 1, 2, 2, 2]
    assert stage_of_nodes(3, (1, 1, 1)) == [0, 1, 2]
    with pytest.raises(ValueError, match="stage ratios"):
        stage_of_nodes(3, (0, 0, 0))


def test_edges_into_a_later_stage_carry_the_transition():
    # path 0-1-2 in three stages with channel ratios 1:2:4, plus the long edge 0-2
    t = graph_template(nx.Graph([(0, 1), (1, 2), (0, 2)]), x=9, merge="wsum", stages=[0, 1, 2], channels=[1, 2, 4])
    moves = sorted((e.src, e.dst, dict(e.attrs)["down"], dict(e.attrs)["ratio"]) for e in t.edges if e.op == TRANSITION)
    # node 0 = 1→2; node 1 reads 2 through a transition into 3 (3→4); node 2 merges at 5 (5→6)
    assert moves == [(2, 3, 2, 2.0), (2, 5, 4, 4.0), (4, 5, 2, 2.0)]
    assert dict(t.merges) == {5: "wsum"} and t.n_nodes == 6


def test_generator_arguments_are_checked():
    with pytest.raises(ValueError, match="as many stage ratios as channel ratios"):
        get_template("WattsStrogatz", 5, (8, 4, 0.5, 1), seed=0)
    with pytest.raises(ValueError, match="at least one node"):
        get_template("ErdosRenyi", 3, (0, 0.5), seed=0)
    assert get_template("Budget", 1, (), seed=0).edges == (TemplateEdge(1, 2, arg=0),)
    assert get_template("Budget", 2, (1000,), seed=0).edges == (TemplateEdge(1, 2, arg=1),)
