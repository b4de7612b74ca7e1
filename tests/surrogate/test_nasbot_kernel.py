"""The NASBOT-like kernel ``exp(-d / l)``: its lengthscale starts at the median training distance
(1 where that is undefined or 0), and its matrix is the distance's exponential, for training and
new terms alike."""

from __future__ import annotations

import networkx as nx
import numpy as np
import torch

from algebraic_nas.grammar.term import Term
from algebraic_nas.surrogate import PointSet, TermGraphs
from algebraic_nas.surrogate.kernels import NASBOTKernel, NASBOTSource


def labelled(edges, labels):
    g = nx.DiGraph(edges)
    nx.set_node_attributes(g, dict(enumerate(labels)), "label")
    return g


# a: input -> conv -> output; b: input -> {conv, pool} -> output; c: input -> pool -> output
GRAPHS = {
    "a": labelled([(0, 1), (1, 2)], ["input", "conv", "output"]),
    "b": labelled([(0, 1), (0, 2), (1, 3), (2, 3)], ["input", "conv", "pool", "output"]),
    "c": labelled([(0, 1), (1, 2)], ["input", "pool", "output"]),
}
# by hand (op-count L1 + sorted zero-padded in- and out-degree L1): a-b 1+2+2, a-c 2+0+0, b-c 1+2+2
D = np.array([[0, 5, 2], [5, 0, 5], [2, 5, 0]], dtype=float)


def source(names: str) -> tuple[NASBOTSource, PointSet, dict]:
    terms = {n: Term("A", 0, n) for n in "abcd"}
    points = PointSet(TermGraphs(graph_fn=lambda t: [GRAPHS.get(t.symbol, GRAPHS["a"])]))
    src = NASBOTSource(points, 0)
    points.set_train([terms[n] for n in names])
    return src, points, terms


def test_the_median_training_distance_starts_the_lengthscale():
    src, _, _ = source("abc")
    assert src.median_distance() == 5.0  # off-diagonal 5, 2, 5, 5, 2, 5 (the mean would be 4)
    assert source("a")[0].median_distance() == 1.0  # one term: no distance
    assert source("ad")[0].median_distance() == 1.0  # d has a's graph: distance 0


def test_the_kernel_is_the_exponential_of_minus_the_distance_over_the_lengthscale():
    src, points, terms = source("abc")
    k = NASBOTKernel(src)
    k.lengthscale = torch.tensor(2.5, dtype=torch.float64)
    x = points.train_x()
    got = k(x, x).to_dense().detach().numpy()
    np.testing.assert_allclose(got, np.exp(-D / 2.5), rtol=1e-12)
    np.testing.assert_allclose(k(x, x, diag=True).detach().numpy(), np.ones(3), rtol=1e-12)
    points.set_query([terms["c"], terms["b"]])  # new terms: the same distances
    q = points.query_x()
    np.testing.assert_allclose(k(q, x).to_dense().detach().numpy(), np.exp(-D[[2, 1]] / 2.5), rtol=1e-12)
    np.testing.assert_allclose(k(q, q, diag=True).detach().numpy(), np.ones(2), rtol=1e-12)
