"""Kernel details: the NASBOT-like distance by hand, index handling, CUDA path."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest
import torch

from algebraic_nas.grammar.term import Term
from algebraic_nas.surrogate import GraphGP, PointSet, TermGraphs
from algebraic_nas.surrogate.kernels import NASBOTSource, WLKernel, WLSource

from surrogate_fakes import count_target, fake_terms


def labelled(edges, labels):
    g = nx.DiGraph(edges)
    nx.set_node_attributes(g, dict(enumerate(labels)), "label")
    return g


def test_nasbot_distance_by_hand():
    # a: input -> conv -> output;   b: input -> {conv, pool} -> output
    a = labelled([(0, 1), (1, 2)], ["input", "conv", "output"])
    b = labelled([(0, 1), (0, 2), (1, 3), (2, 3)], ["input", "conv", "pool", "output"])
    ta, tb = Term("A", 0, "a"), Term("A", 0, "b")
    points = PointSet(TermGraphs(graph_fn=lambda t: [a] if t is ta else [b]))
    src = NASBOTSource(points, 0)
    points.set_train([ta, tb])
    # op counts differ by one pool: 1; in-degrees a [0,1,1] vs b [0,1,1,2] (zero-padded, sorted):
    # |0-0|+|0-1|+|1-1|+|1-2| = 2; out-degrees a [0,1,1] vs b [0,1,1,2]: 2  -> d = 5
    d = src.distance(torch.tensor([0, 1]), torch.tensor([0, 1]), False, torch.float64, "cpu")
    np.testing.assert_allclose(d.numpy(), [[0, 5], [5, 0]])


def test_kernel_inputs_are_checked():
    terms, table, fn = fake_terms(seed=5, n=6)
    points = PointSet(TermGraphs(graph_fn=fn))
    k = WLKernel(WLSource(points, 0, 2), h=2)
    points.set_train(terms)
    x = points.train_x()
    assert torch.allclose(k(x, x).to_dense().diagonal(), torch.ones(6, dtype=torch.float64))
    with pytest.raises(IndexError, match="out of range"):
        k(x, x + 10).to_dense()
    with pytest.raises(ValueError, match=r"\(n, 1\)"):
        k.forward(x.squeeze(-1), x.squeeze(-1))


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_cuda_fit_and_predict_match_cpu():
    terms, table, fn = fake_terms(seed=6, n=40)
    y = [count_target(table[t]) for t in terms]
    cpu = GraphGP("hwl", graph_fn=fn).fit(terms[:30], y[:30])
    gpu = GraphGP("hwl", graph_fn=fn, device="cuda").fit(terms[:30], y[:30])
    for a, b in zip(cpu.predict(terms[30:]), gpu.predict(terms[30:])):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-8)
