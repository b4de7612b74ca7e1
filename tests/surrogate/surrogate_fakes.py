"""Shared fakes for the surrogate tests: random node-labelled DAGs shaped like op graphs."""

from __future__ import annotations

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
