"""Our WL features against grakel's WeisfeilerLehman(VertexHistogram, normalize=True).

Apples-to-apples: grakel's ``Graph`` is built from the edge dictionary ``{u: {v: 1.0}}`` with
every node a key; grakel relabels a node from the keys of its own entry, so a directed edge
dictionary makes it aggregate successors (our default). "predecessors" = grakel on the reversed
edges, "undirected" = grakel on the symmetrised dictionary. grakel's ``n_iter=h`` runs h
refinement iterations (features for 0..h); h = 0 is its VertexHistogram alone.
"""

from __future__ import annotations

import random

import networkx as nx
import numpy as np
import pytest
from grakel import Graph
from grakel.kernels import VertexHistogram, WeisfeilerLehman

from algebraic_nas.surrogate.wl import CompactGraph, WLFeatures, WLFeaturizer, cross_inner, normalised_kernel

from surrogate_fakes import random_dag, random_dags


def to_grakel(g: nx.DiGraph, direction: str) -> Graph:
    idx = {v: i for i, v in enumerate(g.nodes)}
    ed: dict[int, dict[int, float]] = {i: {} for i in idx.values()}
    for u, v in g.edges:
        a, b = idx[u], idx[v]
        if direction in ("successors", "undirected"):
            ed[a][b] = 1.0
        if direction in ("predecessors", "undirected"):
            ed[b][a] = 1.0
    return Graph(ed, node_labels={idx[v]: d["label"] for v, d in g.nodes(data=True)})


def grakel_kernel(fit_graphs, new_graphs, h, direction):
    if h == 0:
        k = VertexHistogram(normalize=True)
    else:
        k = WeisfeilerLehman(n_iter=h, base_graph_kernel=VertexHistogram, normalize=True)
    kfit = k.fit_transform([to_grakel(g, direction) for g in fit_graphs])
    knew = k.transform([to_grakel(g, direction) for g in new_graphs]) if new_graphs else None
    return kfit, knew


def ours(fit_graphs, new_graphs, h, direction):
    f = WLFeaturizer(h_max=h, direction=direction)
    a = f.transform(fit_graphs, grow=True)
    sa = a.self_inner()
    kfit = normalised_kernel(cross_inner(a, a), sa, sa)
    knew = None
    if new_graphs:
        before = f.vocab_sizes
        b = f.transform(new_graphs, grow=False)
        assert f.vocab_sizes == before  # no refit
        knew = normalised_kernel(cross_inner(b, a), b.self_inner(), sa)
    return kfit, knew


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("direction", ["successors", "predecessors", "undirected"])
@pytest.mark.parametrize("h", [0, 1, 2, 3, 4])
def test_matches_grakel_fit_and_transform(h, direction):
    rng = random.Random(100 * h + len(direction))
    fit = [random_dag(rng) for _ in range(40)]
    # new graphs: some with labels never seen in fitting, some copies of fitted ones
    new = [random_dag(rng, ops=("conv3x3", "sep5x5", "relu", "gelu")) for _ in range(15)] + fit[:3]
    gk_fit, gk_new = grakel_kernel(fit, new, h, direction)
    k_fit, k_new = ours(fit, new, h, direction)
    np.testing.assert_allclose(k_fit, gk_fit, rtol=0, atol=1e-9)
    np.testing.assert_allclose(k_new, gk_new, rtol=0, atol=1e-9)
    np.testing.assert_allclose(np.diag(k_fit), 1.0, atol=1e-12)
    np.testing.assert_allclose(k_new[-3:, :3], k_fit[:3, :3], atol=1e-12)


def test_direction_matters():
    g1 = nx.DiGraph([(0, 1), (0, 2)])
    g2 = nx.DiGraph([(1, 0), (2, 0)])
    for g in (g1, g2):
        nx.set_node_attributes(g, {0: "a", 1: "b", 2: "b"}, "label")
    for direction, equal in (("successors", False), ("predecessors", False), ("undirected", True)):
        f = WLFeaturizer(h_max=1, direction=direction)
        x = f.transform([g1, g2])
        k = normalised_kernel(cross_inner(x, x), x.self_inner(), x.self_inner())
        assert (abs(k[0, 1] - 1) < 1e-12) == equal


def test_batches_and_incremental_vocab_agree():
    dags = random_dags()
    """Featurising in several growing batches gives the same kernel as one batch."""
    f1 = WLFeaturizer(3)
    one = f1.transform(dags)
    f2 = WLFeaturizer(3)
    parts = WLFeatures.concat([f2.transform(dags[:10]), f2.transform(dags[10:35]), f2.transform(dags[35:])])
    k1 = normalised_kernel(cross_inner(one, one), one.self_inner(), one.self_inner())
    k2 = normalised_kernel(cross_inner(parts, parts), parts.self_inner(), parts.self_inner())
    np.testing.assert_allclose(k1, k2, atol=1e-12)
    assert f1.vocab_sizes == f2.vocab_sizes


def test_frozen_features_equal_grown_features_on_known_labels():
    dags = random_dags()
    f = WLFeaturizer(2)
    fit = f.transform(dags[:30])
    frozen = f.transform(dags[30:], grow=False)
    grown = WLFeaturizer(2)
    grown.transform(dags[:30])
    full = grown.transform(dags[30:], grow=True)
    np.testing.assert_allclose(frozen.self_inner(), full.self_inner())
    np.testing.assert_allclose(cross_inner(frozen, fit), cross_inner(full, fit))


def test_bad_input_is_named():
    g = nx.DiGraph([(0, 1)])
    g.nodes[0]["label"] = "a"
    with pytest.raises(ValueError, match="node 1 has no 'label'"):
        WLFeaturizer(1).transform([g])
    with pytest.raises(ValueError, match="direction"):
        WLFeaturizer(1, direction="sideways")
    with pytest.raises(ValueError, match="no nodes"):
        WLFeaturizer(1).transform([CompactGraph((), np.zeros(0, int), np.zeros(0, int))])


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_query_block_among_itself_is_exact():
    """Kernel values between new graphs of one frozen batch equal grakel fitted on everything."""
    rng = random.Random(7)
    fit = [random_dag(rng) for _ in range(25)]
    new = [random_dag(rng, ops=("conv3x3", "sep5x5", "gelu")) for _ in range(12)]
    k_all, _ = grakel_kernel(fit + new, [], 3, "successors")
    f = WLFeaturizer(3)
    f.transform(fit)
    b = f.transform(new, grow=False)
    k_new = normalised_kernel(cross_inner(b, b), b.self_inner(), b.self_inner())
    np.testing.assert_allclose(k_new, k_all[25:, 25:], atol=1e-9)


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("component", [0, 3, 5])
def test_matches_grakel_on_hnb201_terms(component):
    """Flat graph (0) and fold-level graphs of real hnb201 terms, h = 0..4, fit and transform."""
    grammar = pytest.importorskip("algebraic_nas.grammar").load_grammar("hnb201")
    from algebraic_nas.surrogate.graphs import assembly_graph_fn

    fn = assembly_graph_fn(grammar)  # the assembler's networkx graphs
    rng = random.Random(component)
    terms = [grammar.sample(rng) for _ in range(30)]
    nxg = [fn(t)[component] for t in terms]
    for h in (0, 2, 4) if component == 0 else (1, 2):
        gk_fit, gk_new = grakel_kernel(nxg[:20], nxg[20:], h, "successors")
        k_fit, k_new = ours(nxg[:20], nxg[20:], h, "successors")
        np.testing.assert_allclose(k_fit, gk_fit, rtol=0, atol=1e-9)
        np.testing.assert_allclose(k_new, gk_new, rtol=0, atol=1e-9)
