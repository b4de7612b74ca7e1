"""Shared fakes for the surrogate tests: random node-labelled DAGs shaped like op graphs."""

from __future__ import annotations

import math
import random

import networkx as nx


OPS = ("conv3x3", "conv1x1", "avg_pool", "relu", "batch", "mish", "down")


def random_dag(rng: random.Random, n_min: int = 3, n_max: int = 14, p: float = 0.35, ops=OPS) -> nx.DiGraph:
    """A DAG with one "input" and one "output" node; inner nodes labelled by random ops."""
    n = rng.randint(n_min, n_max)
    g = nx.DiGraph()
    g.add_node(0, label="input")
    for i in range(1, n - 1):
        g.add_node(i, label=rng.choice(ops))
    g.add_node(n - 1, label="output")
    for i in range(n - 1):
        g.add_edge(i, rng.randint(i + 1, n - 1))  # every node reaches the output
        for j in range(i + 1, n):
            if rng.random() < p / 2:
                g.add_edge(i, j)
    return g


def random_dags(seed: int = 0, n: int = 60) -> list[nx.DiGraph]:
    rng = random.Random(seed)
    return [random_dag(rng) for _ in range(n)]


def fake_terms(seed: int = 0, n: int = 40, n_folds: int = 2):
    """Leaf terms standing for architectures, a graph table and a graph_fn over it.

    Each term gets a flat DAG and ``n_folds`` coarser DAGs (relabelled by ``label[:3]`` and
    ``label[:1]``) so hierarchical kernels have several components.
    """
    from algebraic_nas.grammar.term import Term

    rng = random.Random(seed)
    table = {}
    terms = []
    for i in range(n):
        t = Term("A", 0, f"arch{seed}_{i}")
        flat = random_dag(rng)
        comps = [flat]
        for k in range(n_folds):
            g = flat.copy()
            for v in g.nodes:
                g.nodes[v]["label"] = g.nodes[v]["label"][: 3 - 2 * (k % 2)]
            comps.append(g)
        table[t] = comps
        terms.append(t)
    return terms, table, lambda t: table[t]


def count_target(graphs, label: str = "conv3x3") -> float:
    """A synthetic validation error driven by the op mix of the flat graph."""
    labels = [d["label"] for _, d in graphs[0].nodes(data=True)]
    return 0.5 * math.exp(-0.4 * labels.count(label)) + 0.02 * labels.count("avg_pool") + 0.05
