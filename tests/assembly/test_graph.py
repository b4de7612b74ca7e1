"""term → flattened DAG and the WL graphs (networkx only)."""

from __future__ import annotations

import subprocess
import sys

import networkx as nx
import pytest

from algebraic_nas.assembly.graph import describe_position, flat_graph, fold_graphs, term_graph
from algebraic_nas.assembly.registry import AssemblyError

from .helpers import FakeGrammar, cell, leaf, op


def labels(g: nx.DiGraph) -> list[str]:
    return sorted(d["label"] for _, d in g.nodes(data=True))


def label_edges(g: nx.DiGraph) -> set[tuple[str, str]]:
    return {(g.nodes[a]["label"], g.nodes[b]["label"]) for a, b in g.edges}


def test_graph_module_does_not_import_torch():
    code = "import sys, algebraic_nas.assembly.graph as g; assert 'torch' not in sys.modules, 'torch imported'"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_linear_chain_is_a_path():
    g = flat_graph(op("Linear3", leaf("relu"), leaf("conv3x3"), leaf("batch")))
    assert label_edges(g) == {("input", "relu"), ("relu", "conv3x3"), ("conv3x3", "batch"), ("batch", "output")}


def test_residual_argument_order():
    # Residual2(a, b, c) = b(x) + c(a(x)): b is the skip from input to output.
    g = flat_graph(op("Residual2", leaf("conv1x1"), leaf("avg_pool"), leaf("relu")))
    assert label_edges(g) == {("input", "conv1x1"), ("conv1x1", "relu"), ("relu", "output"),
                              ("input", "avg_pool"), ("avg_pool", "output")}
    # Residual3(a, b, c, d) = c(x) + d(b(a(x))).
    g = flat_graph(op("Residual3", leaf("relu"), leaf("conv1x1"), leaf("avg_pool"), leaf("batch")))
    assert label_edges(g) == {("input", "relu"), ("relu", "conv1x1"), ("conv1x1", "batch"),
                              ("batch", "output"), ("input", "avg_pool"), ("avg_pool", "output")}


def test_zero_and_dead_branches_are_removed_and_id_contracted():
    # e12=conv3x3, e13=zero, e23=id, e14=zero, e24=avg_pool, e34=zero: node 3 feeds nothing.
    t = cell("conv3x3", "zero", "id", "zero", "avg_pool", "zero")
    dag = term_graph(t)
    assert sorted(d["op"] for *_, d in dag.edges(data=True)) == ["avg_pool", "conv3x3"]
    g = flat_graph(t)
    assert labels(g) == ["avg_pool", "conv3x3", "input", "output"]
    assert label_edges(g) == {("input", "conv3x3"), ("conv3x3", "avg_pool"), ("avg_pool", "output")}


def test_identity_contraction_keeps_data_flow():
    # Cell with id on e12: ops after node 2 read the input directly.
    t = cell("id", "conv1x1", "conv3x3", "zero", "zero", "relu")
    g = flat_graph(t)
    assert "id" not in labels(g)
    assert label_edges(g) == {("input", "conv1x1"), ("input", "conv3x3"), ("conv1x1", "relu"),
                              ("conv3x3", "relu"), ("relu", "output")}
    # A term that is a pure identity: input straight to output.
    assert label_edges(flat_graph(op("Linear1", leaf("id")))) == {("input", "output")}


def test_single_input_and_output_nodes():
    t = op("Linear2", cell("conv3x3", "id", "avg_pool", "conv1x1", "zero", "id"), leaf("down"))
    g = flat_graph(t)
    assert [d["label"] for _, d in g.nodes(data=True)].count("input") == 1
    assert [d["label"] for _, d in g.nodes(data=True)].count("output") == 1
    assert nx.is_directed_acyclic_graph(g)
    (src,) = [n for n, d in g.nodes(data=True) if d["label"] == "input"]
    (dst,) = [n for n, d in g.nodes(data=True) if d["label"] == "output"]
    assert g.in_degree(src) == 0 and g.out_degree(dst) == 0
    assert all(nx.has_path(g, src, n) and nx.has_path(g, n, dst) for n in g.nodes)


def test_all_zero_cell_is_an_error():
    with pytest.raises(AssemblyError, match="computes nothing"):
        term_graph(cell("zero", "conv3x3", "zero", "zero", "zero", "zero"))


def test_transparent_nodes_and_positions():
    block = op("Linear3", leaf("relu"), leaf("conv9x9"), leaf("batch"), nonterminal="BLOCK")
    t = op("Linear2", Term_transparent("OP", block), leaf("id"))
    dag = term_graph(t)
    (path,) = [d["path"] for *_, d in dag.edges(data=True) if d["op"] == "conv9x9"]
    assert path == (0, 0, 1)
    assert t.at(path).symbol == "conv9x9"
    msg = describe_position(t, path)
    assert "conv9x9" in msg and "0.0.1" in msg
    # character offset points at the terminal in str(t)
    offset = int(msg.split("character ")[1].split()[0])
    assert str(t)[offset:].startswith("conv9x9")


def Term_transparent(nonterminal, child):
    from algebraic_nas.grammar.term import Term

    return Term(nonterminal, 0, "", (child,))


def test_fold_graphs_label_collapsed_subterms():
    c = cell("conv3x3", "id", "avg_pool", "conv1x1", "zero", "id")
    t = op("Residual2", c, op("Linear2", c, leaf("down"), nonterminal="D"), c, nonterminal="D1")
    graphs = fold_graphs(FakeGrammar(), t, levels=(0, 1, 2))
    assert len(graphs) == 3
    assert labels(graphs[0]) == ["D1 Residual2", "input", "output"]
    assert labels(graphs[1]) == sorted(["input", "output", "CL Cell", "CL Cell", "D Linear2"])
    assert label_edges(graphs[1]) == {("input", "CL Cell"), ("CL Cell", "CL Cell"), ("CL Cell", "output"),
                                      ("input", "D Linear2"), ("D Linear2", "output")}
    # level 2 opens D and the cells: primitives appear, the cells' OPs are collapsed leaves
    assert "D Linear2" not in labels(graphs[2]) and "down" in labels(graphs[2])
    assert "OP conv3x3" in labels(graphs[2])
    # a collapsed zero is still removed
    assert "OP zero" not in labels(graphs[2])


def test_folded_term_cannot_be_built_as_network():
    c = cell("conv3x3", "id", "avg_pool", "conv1x1", "zero", "id")
    folded = FakeGrammar.fold(op("Linear2", c, c), 1)
    with pytest.raises(AssemblyError, match="folded"):
        term_graph(folded)
