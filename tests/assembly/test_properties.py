"""Properties linking the flattened graph and the built module, on random terms (hypothesis)."""

from __future__ import annotations

import random

import networkx as nx
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from algebraic_nas.assembly import Shape
from algebraic_nas.assembly.graph import flat_graph, term_graph
from algebraic_nas.assembly.network import build_body

#: Conv2d modules per flat-graph label (`down` = two 3×3 convs + the 1×1 shortcut).
CONVS_PER_LABEL = {"conv1x1": 1, "conv3x3": 1, "dconv3x3": 1, "conv": 1, "fc": 1, "down": 3, "sep_conv3x3": 2}


@pytest.fixture(scope="module")
def grammars():
    from algebraic_nas.grammar import load_grammar

    return {name: load_grammar(name) for name in ("hnb201", "toy", "hierarchical_cell")}


@settings(max_examples=12, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), name=st.sampled_from(["hnb201", "toy", "hierarchical_cell"]))
def test_graph_and_module_agree(grammars, seed, name):
    term = grammars[name].sample(random.Random(seed))
    dag = term_graph(term)
    src, dst = dag.graph["input"], dag.graph["output"]
    # every remaining edge lies on an input→output path
    for a, b in dag.edges():
        assert nx.has_path(dag, src, a) and nx.has_path(dag, b, dst)
    g = flat_graph(term)
    assert nx.is_directed_acyclic_graph(g)
    labels = [d["label"] for _, d in g.nodes(data=True)]
    assert "zero" not in labels and "id" not in labels
    body, out = build_body(term, Shape(8, 8, 8))
    # one Conv2d module per convolution node of the flat graph (none built for dead branches)
    n_convs = sum(CONVS_PER_LABEL.get(lab, 0) for lab in labels)
    assert sum(1 for m in body.modules() if isinstance(m, nn.Conv2d)) == n_convs
    y = body(torch.randn(1, 8, 8, 8))
    assert tuple(y.shape[1:]) == tuple(out)
