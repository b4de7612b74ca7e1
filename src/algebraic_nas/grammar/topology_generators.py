"""NAGO's random-graph generator topologies and the ``Budget`` marker (torch-free).

Ru et al. ("Neural Architecture Generator Optimization", NeurIPS 2020) build networks from random graphs; each is registered
here as a generator topology (:func:`~.topology.register_topology` with ``generator=True``):

* ``WattsStrogatz(N, K, P, [S1..Sm, C1..Cm,] X [, MERGE])`` — networkx's connected Watts–Strogatz
  graph (``K`` clamped to ``N - 1``);
* ``ErdosRenyi(N, P, [S1..Sm, C1..Cm,] X [, MERGE])`` — an Erdős–Rényi graph, redrawn with the
  next seed of the position's stream until connected (as NAGO does; ``N = 1`` is one node);
* ``BarabasiAlbert(N, M, [S1..Sm, C1..Cm,] X [, MERGE])`` — a Barabási–Albert graph (``M``
  clamped to ``N - 1``).

The undirected graph on nodes ``0..N-1`` becomes a DAG by pointing every edge from the lower to
the higher index. Every graph node is one edge of the template carrying the module ``X`` (the
first non-number argument); a node merges its predecessors with ``MERGE`` (a symbol: ``wsum``,
NAGO's weighted sum, when left out; ``cat``, ``attention``, any registered merge); nodes without
predecessors are inputs (all read the block input), nodes without successors are outputs,
averaged (merge ``mean``).

Optional *stages* (NAGO's θS, θC, used by HNAG's top level): ``m`` stage ratios then ``m``
channel ratios after the graph parameters. Graph nodes are split in index order by the
normalised stage ratios (20 nodes at 0.2, 0.2, 0.6 → 4, 4, 12); stage ``s`` works at 1/2^s of
the input resolution with channel ratio ``C(s+1)``. An edge into a later stage carries the fixed
operation ``nago_transition`` (average pooling by ``down``, 1×1 convolution scaling the width by
``ratio``), so do the block input into a later-stage input node and every earlier-stage output
into the block output (which is at the last stage).

Each generator declares which of its numbers matter given the others (``canonical=``, used by
:mod:`.canonical_values`): ``K`` and ``M`` only through their clamped values (and ``K`` only
through ``K // 2``, the neighbours networkx joins on each side); ``P`` not at all when the graph is
forced: one node or one edge, a Watts–Strogatz ring lattice that is already complete (rewiring
then changes nothing), an Erdős–Rényi graph on two nodes (the only connected one is the edge).

``Budget([B,] X)`` marks a network sized by a parameter budget (``B`` parameters, or a default
for the input size when left out): :func:`algebraic_nas.assembly.network.build_network` picks the
stem width; the template is just ``X``. ``NagoNet([B,] X)`` is the same marker for NAGO's network
as the authors' code builds it (:mod:`algebraic_nas.assembly.nago_network`), which reads the
graphs of ``X`` with :func:`generator_graph` and splits stages with :func:`nago_stage_list`.
"""

from __future__ import annotations

import math
import random
from typing import Callable, Optional, Sequence

import networkx as nx

from .topology import Number, register_topology
from .topology_template import Template, TemplateEdge, arg_merge

#: Merge of a generated node with several predecessors when the term names none (NAGO's SUM).
DEFAULT_MERGE = "wsum"
#: Merge of the several outputs of a generated graph.
OUTPUT_MERGE = "mean"
#: Fixed operation on edges into a later stage (registered by the assembler).
TRANSITION = "nago_transition"

GraphFn = Callable[[tuple[Number, ...], random.Random], nx.Graph]


def watts_strogatz(params: tuple[Number, ...], rng: random.Random) -> nx.Graph:
    """Connected Watts–Strogatz graph ``(N, K, P)``; ``K`` clamped to ``N - 1``."""
    n, k, p = int(params[0]), int(params[1]), float(params[2])
    if n <= 2:  # too small for a ring lattice: one node or one edge
        return nx.complete_graph(max(n, 1))
    return nx.connected_watts_strogatz_graph(n, max(2, min(k, n - 1)), p, tries=1000, seed=rng.getrandbits(62))


def erdos_renyi(params: tuple[Number, ...], rng: random.Random) -> nx.Graph:
    """Erdős–Rényi graph ``(N, P)``, redrawn with the next seed of ``rng`` until connected."""
    n, p = int(params[0]), float(params[1])
    for _ in range(10_000):
        g = nx.erdos_renyi_graph(max(n, 1), p, seed=rng.getrandbits(62))
        if nx.is_connected(g):
            return g
    raise ValueError(f"no connected Erdos-Renyi graph with N={n}, P={p} in 10000 draws")


def barabasi_albert(params: tuple[Number, ...], rng: random.Random) -> nx.Graph:
    """Barabási–Albert graph ``(N, M)``; ``M`` clamped to ``N - 1``."""
    n, m = int(params[0]), int(params[1])
    if n <= 1:
        return nx.complete_graph(1)
    return nx.barabasi_albert_graph(n, max(1, min(m, n - 1)), seed=rng.getrandbits(62))


def watts_strogatz_used(values: tuple[Number, ...]) -> tuple:
    """What :func:`watts_strogatz` really uses of ``(N, K, P, *stages)`` (``None``: inert)."""
    n, k, p, rest = int(values[0]), int(values[1]), float(values[2]), tuple(values[3:])
    if n < 1:
        return tuple(values)  # rejected by the generator: nothing to merge
    if n <= 2:
        return (n, None, None) + rest
    half = max(2, min(k, n - 1)) // 2  # networkx joins k // 2 neighbours on each side
    if 2 * half >= n - 1:  # a complete ring lattice: every rewiring is skipped
        return (n, "complete", None) + rest
    return (n, half, p) + rest


def erdos_renyi_used(values: tuple[Number, ...]) -> tuple:
    """What :func:`erdos_renyi` really uses of ``(N, P, *stages)`` (``None``: inert)."""
    n, p, rest = int(values[0]), float(values[1]), tuple(values[2:])
    if n == 1 or (n == 2 and p > 0):  # one node; the only connected graph on two nodes
        return (n, None) + rest
    if n >= 1 and p >= 1:  # networkx: the complete graph
        return (n, "complete") + rest
    return tuple(values)


def barabasi_albert_used(values: tuple[Number, ...]) -> tuple:
    """What :func:`barabasi_albert` really uses of ``(N, M, *stages)`` (``None``: inert)."""
    n, m, rest = int(values[0]), int(values[1]), tuple(values[2:])
    if n == 1:
        return (1, None) + rest
    if n < 1:
        return tuple(values)
    return (n, max(1, min(m, n - 1))) + rest


def stage_of_nodes(n: int, ratios: Sequence[float]) -> list[int]:
    """Stage of each of ``n`` nodes in order: stage boundaries at round(n · cumulative ratio)."""
    total = float(sum(ratios))
    if total <= 0 or any(r < 0 for r in ratios):
        raise ValueError(f"stage ratios must be non-negative with a positive sum, got {tuple(ratios)}")
    bounds, acc = [], 0.0
    for r in ratios[:-1]:
        acc += r / total
        bounds.append(math.floor(n * acc + 0.5))
    return [sum(i >= b for b in bounds) for i in range(n)]


def graph_template(g: nx.Graph, x: int, merge: str, stages: Optional[list[int]] = None,
                   channels: Sequence[float] = ()) -> Template:
    """The template of undirected graph ``g`` on nodes ``0..n-1`` (see the module docstring).

    ``x``: child index of the module on every node; ``merge``: merge name of nodes with several
    predecessors; ``stages``/``channels``: stage of each node and channel ratio of each stage.
    """
    n = g.number_of_nodes()
    stage = stages or [0] * n
    preds = [sorted(j for j in g.neighbors(i) if j < i) for i in range(n)]
    sinks = [i for i in range(n) if not any(j > i for j in g.neighbors(i))]
    ids = iter(range(2, 4 * n + 3))
    edges: list[TemplateEdge] = []
    merges: dict[int, str] = {}
    out_of: dict[int, int] = {}

    def feed(src: int, s_from: int, s_to: int, dst: int) -> None:
        if s_from == s_to:
            edges.append(TemplateEdge(src, dst, op="id"))
        else:
            ratio = float(channels[s_to]) / float(channels[s_from])
            edges.append(TemplateEdge(src, dst, op=TRANSITION, attrs=(("down", 2 ** (s_to - s_from)), ("ratio", ratio))))

    for i in range(n):
        sources = [(out_of[j], stage[j]) for j in preds[i]] or [(1, 0)]
        if len(sources) == 1 and sources[0][1] == stage[i]:
            a = sources[0][0]  # one same-stage input: the node reads it directly
        else:
            a = next(ids)
            if len(sources) > 1:
                merges[a] = merge
            for src, s in sources:
                feed(src, s, stage[i], a)
        b = next(ids)
        edges.append(TemplateEdge(a, b, arg=x))
        out_of[i] = b
    last = stage[n - 1]
    if len(sinks) == 1:  # the only sink is node n-1, the last node created
        return Template(out_of[n - 1], tuple(edges), merges)
    out = next(ids)
    merges[out] = OUTPUT_MERGE
    for i in sinks:
        feed(out_of[i], stage[i], last, out)
    return Template(out, tuple(edges), merges)


def _generator(graph_fn: GraphFn, n_params: int) -> Callable[[tuple[Number, ...], int], Template]:
    def generate(values: tuple[Number, ...], seed: int) -> Template:
        extra = values[n_params:]
        if len(values) < n_params or len(extra) % 2:
            raise ValueError(f"expected {n_params} graph parameters, then as many stage ratios as channel ratios")
        if int(values[0]) < 1:
            raise ValueError(f"a graph needs at least one node, got N={values[0]}")
        g = graph_fn(tuple(values[:n_params]), random.Random(seed))
        x = len(values)  # the module follows the numbers; an optional merge symbol follows it
        merge = arg_merge(x + 1, DEFAULT_MERGE)
        if not extra:
            return graph_template(g, x, merge)
        m = len(extra) // 2
        channels = [float(c) for c in extra[m:]]
        if any(c <= 0 for c in channels):
            raise ValueError(f"channel ratios must be positive, got {tuple(channels)}")
        return graph_template(g, x, merge, stage_of_nodes(g.number_of_nodes(), extra[:m]), channels)

    return generate


#: Generator name -> (graph function, number of graph parameters before the stage ratios).
GRAPH_GENERATORS: dict[str, tuple[GraphFn, int]] = {
    "WattsStrogatz": (watts_strogatz, 3),
    "ErdosRenyi": (erdos_renyi, 2),
    "BarabasiAlbert": (barabasi_albert, 2),
}
register_topology("WattsStrogatz", _generator(watts_strogatz, 3), generator=True, canonical=watts_strogatz_used)
register_topology("ErdosRenyi", _generator(erdos_renyi, 2), generator=True, canonical=erdos_renyi_used)
register_topology("BarabasiAlbert", _generator(barabasi_albert, 2), generator=True, canonical=barabasi_albert_used)


def generator_graph(name: str, values: Sequence[Number], seed: int) -> nx.Graph:
    """The undirected graph that generator ``name`` draws for ``values`` and ``seed`` (the one its
    template is made of: same function, same random stream)."""
    fn, n_params = GRAPH_GENERATORS[name]
    return fn(tuple(values[:n_params]), random.Random(seed))


def nago_stage_list(n: int, ratios: Sequence[float]) -> list[int]:
    """Stage of each of ``n`` top-level nodes by the rule of NAGO's code (``get_stage_list``):
    node ``x`` opens the next stage when ``x >= `` the running threshold, which starts at ``r1 · n``
    and grows by ``r(s+1) · n`` at each new stage; three nodes are always one per stage. Ratios are
    normalised first (the paper's θS is; the authors' code takes them as given, so its shipped
    ratios of 1.0 give one stage). 8 nodes at 1/3 each → 3, 3, 2 (the rounding of
    :func:`stage_of_nodes` gives 3, 2, 3)."""
    total = float(sum(ratios))
    if total <= 0 or any(r < 0 for r in ratios):
        raise ValueError(f"stage ratios must be non-negative with a positive sum, got {tuple(ratios)}")
    if n == 3 and len(ratios) == 3:
        return [0, 1, 2]
    norm = [r / total for r in ratios]
    stages, stage, threshold = [], 0, norm[0] * n
    for x in range(n):
        if x >= threshold and stage + 1 < len(norm):
            stage += 1
            threshold += norm[stage] * n
        stages.append(stage)
    return stages


#: The topology that marks a network sized by a parameter budget.
BUDGET = "Budget"
#: The root of NAGO's network exactly as the authors' code builds it (``assembly.nago_network``).
NAGO_NETWORK = "NagoNet"


def _sized(name: str) -> Callable[[tuple[Number, ...], int], Template]:
    def sized(values: tuple[Number, ...], seed: int) -> Template:
        if len(values) > 1 or (values and values[0] <= 0):
            raise ValueError(f"{name} takes one positive number of parameters (or none), got {values}")
        return Template(2, (TemplateEdge(1, 2, arg=len(values)),))
    sized.__doc__ = f"``{name}([B,] X)``: the template is ``X`` alone; the assembler reads ``B``."
    return sized


budget = register_topology(BUDGET, _sized(BUDGET), generator=True)
register_topology(NAGO_NETWORK, _sized(NAGO_NETWORK), generator=True)
