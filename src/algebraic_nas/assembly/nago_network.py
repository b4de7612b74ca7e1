"""NAGO's network as the authors' code builds it, for a ``NagoNet([B,] TOP)`` term (Ru et al. 2020).

``TOP`` is a three-level generator term, as in ``nago_hnag``::

    NagoNet(WattsStrogatz(Nt, Kt, Pt, S1, S2, S3, C1, C2, C3,
            ErdosRenyi(Nm, Pm, WattsStrogatz(Nb, Kb, Pb, Linear3(relu, conv3x3, batch), wsum), wsum), wsum))

The graphs are the ones ``term_graph`` draws for the same term and network seed (one per
instance: the top graph, each cell's mid graph, each mid node's bottom graph); what differs from
the project's generic assembly of the same term (``nago_hnag``) is how the network is made of
them, which here follows the authors' code (github.com/rubinxin/vega_NAGO, ``customs/nago.py``
and ``utils/{logical_graph,layer,ops}.py``):

* graphs: edges point from the lower to the higher node; nodes without predecessors read the
  block input, nodes without successors are averaged (a one-node graph is its node);
* stages: :func:`~algebraic_nas.grammar.topology_generators.nago_stage_list`; a cell of stage
  ``s`` works at resolution ``R / 2^s`` (``R / 2^(s+2)`` after the strided stem of inputs of 40
  pixels or more) with ``C(s+1) · m`` channels;
* widths at unit multiplier: an input cell reads ``C1``; any other cell reads the width of its
  last (highest-numbered) predecessor; inside a cell, the operations of input nodes of input mid
  nodes read the cell's input width, all others the cell's width. The first 3×3 convolutions of a
  cell thus widen it; no other operation changes a width;
* merges (several predecessors): each input is average-pooled to the node's resolution (cells
  only), then scaled by ``sigmoid(g)`` (``g`` learnable, initially 1) when its width is the
  node's input width, else projected by a 1×1 convolution *with bias* to that width; summed;
* operation: ``ReLU → Conv3×3 (bias) → BN``;
* width: ``m = floor(sqrt(budget / base))``, ``base = Σ 9 · c_in · c_out`` over the operations'
  convolutions at ``m = 1`` (stem, merges, head not counted);
* stem: ``Conv3×3 (bias) → BN → ReLU → Conv3×3 (bias) → BN`` to ``C1 · m`` channels (inputs
  under 40 pixels; larger ones: two depthwise-separable stride-2 convolutions, as the authors');
* output: the output cells pooled to the smallest resolution, each projected by a 1×1
  convolution with bias to the last output cell's width where it differs, averaged;
* head: ``ReLU → Conv1×1 (→1280, bias) → BN → ReLU → GAP → Dropout(0.2) → Linear``.
* initialisation: Kaiming-normal (fan out) convolution weights, BN weight 1 and bias 0.

One deliberate difference: the authors' ``MasterNetwork._parse_outputs`` picks the output cells
by their *position* in a dict filled input cells first, not by node id, so when the top graph's
input nodes are not ``0..k-1`` it averages the wrong cells (or fails); this module averages the
output cells themselves.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional, Sequence, Union

import networkx as nx
import torch
from torch import nn
from torch.nn import functional as F

from algebraic_nas.grammar.term import Term
from algebraic_nas.grammar.topology import argument_values, position_seed, repeated_arguments, term_template
from algebraic_nas.grammar.topology_generators import (DEFAULT_MERGE, GRAPH_GENERATORS, NAGO_NETWORK, generator_graph,
                                                       nago_stage_list)

from .graph import describe_position
from .network import NETWORK_BUILDERS, Network, default_budget
from .registry import AssemblyError
from .shapes import InputSpec

#: Width of the head's 1×1 convolution, dropout before the classifier (the authors' values).
HEAD_WIDTH, HEAD_DROPOUT = 1280, 0.2
#: Inputs of at least this many pixels get the strided (large-image) stem.
LARGE_IMAGE = 40
#: The only node operation of NAGO's experiments.
NODE_OP = "Linear3(relu, conv3x3, batch)"


@dataclass(frozen=True)
class Dag:
    """A drawn graph as NAGO reads it: ``preds[i]`` ascending; inputs/outputs in node order."""

    preds: tuple[tuple[int, ...], ...]
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]

    @staticmethod
    def of(g: nx.Graph) -> "Dag":
        n = g.number_of_nodes()
        preds = tuple(tuple(sorted(j for j in g.neighbors(i) if j < i)) for i in range(n))
        succ = [any(j > i for j in g.neighbors(i)) for i in range(n)]
        return Dag(preds, tuple(i for i in range(n) if not preds[i]), tuple(i for i in range(n) if not succ[i]))

    @property
    def n(self) -> int:
        return len(self.preds)


@dataclass(frozen=True)
class CellPlan:
    """One top-level node: its stage, unit widths in/out, its mid graph and one bottom graph per mid node."""

    stage: int
    c_in: float
    c_out: float
    mid: Dag
    bottoms: tuple[Dag, ...]

    def node_in(self, k: int) -> float:
        return self.c_in if k in self.mid.inputs else self.c_out

    def op_in(self, k: int, q: int) -> float:
        return self.node_in(k) if q in self.bottoms[k].inputs else self.c_out


@dataclass(frozen=True)
class NagoPlan:
    """The whole network at unit width: top graph, channel ratios, cells; ``budget`` from the term (or None)."""

    top: Dag
    channels: tuple[float, ...]
    cells: tuple[CellPlan, ...]
    budget: Optional[int]

    @property
    def base(self) -> float:
        """NAGO's ``base``: Σ 9 · c_in · c_out over every operation's convolution at unit width."""
        return sum(9 * c.op_in(k, q) * c.c_out for c in self.cells
                   for k, b in enumerate(c.bottoms) for q in range(b.n))

    def multiplier(self, budget: float) -> int:
        """``floor(sqrt(budget / base))``, at least 1."""
        return max(1, math.floor(math.sqrt(budget / self.base)))


# --- reading the term ------------------------------------------------------------------------------


def _skip(t: Term, path: tuple[int, ...]) -> tuple[Term, tuple[int, ...]]:
    while t.is_transparent:
        t, path = t.children[0], path + (0,)
    return t, path


class _Reader:
    """Walks the term as ``term_graph`` does (same paths, same instance paths, same seeds)."""

    def __init__(self, root: Term, seed: int) -> None:
        self.root, self.seed = root, seed

    def fail(self, why: str, path: tuple[int, ...]) -> AssemblyError:
        return AssemblyError(f"{why}: {describe_position(self.root, path)} (NagoNet needs "
                             f"NagoNet([B,] TOP(..., MID(..., BOTTOM(..., {NODE_OP}, wsum), wsum), wsum)))")

    def generator(self, t: Term, path: tuple[int, ...], inst: tuple[int, ...], stages: bool
                  ) -> tuple[Dag, tuple[float, ...], Term, tuple[int, ...], bool]:
        """The graph of generator ``t``, its stage values, its module child (term, path) and
        whether that child is instantiated once per node."""
        if t.symbol not in GRAPH_GENERATORS:
            raise self.fail(f"expected a random-graph generator ({', '.join(GRAPH_GENERATORS)})", path)
        try:
            tmpl = term_template(t, self.seed, path, instance=inst)
        except ValueError as e:
            raise self.fail(str(e), path) from None
        if tmpl is None:
            raise self.fail(f"'{t.symbol}' does not take these arguments", path)
        _, values = argument_values(t)
        extra = tuple(float(v) for v in values[GRAPH_GENERATORS[t.symbol][1]:])
        if bool(extra) != stages:
            raise self.fail("the top graph takes stage and channel ratios, the lower ones none", path)
        x = len(values)
        if x + 1 < len(t.children):
            merge = _skip(t.children[x + 1], path + (x + 1,))[0]
            if merge.symbol != DEFAULT_MERGE:
                raise self.fail(f"NAGO's network merges with '{DEFAULT_MERGE}' (their SUM), not '{merge.symbol}'", path)
        g = generator_graph(t.symbol, values, position_seed(self.seed, path, inst))
        child, child_path = _skip(t.children[x], path + (x,))
        return Dag.of(g), extra, child, child_path, x in repeated_arguments(tmpl)

    def plan(self) -> NagoPlan:
        root, path = _skip(self.root, ())
        if root.symbol != NAGO_NETWORK:
            raise self.fail(f"expected the root '{NAGO_NETWORK}'", path)
        _, values = argument_values(root)
        top_t, top_path = _skip(root.children[len(values)], path + (len(values),))
        top, extra, mid_t, mid_path, per_cell = self.generator(top_t, top_path, (), stages=True)
        m = len(extra) // 2
        stages, channels = nago_stage_list(top.n, extra[:m]), extra[m:]
        cells = []
        for c in range(top.n):
            inst = (c,) if per_cell else ()
            mid, _, bot_t, bot_path, per_node = self.generator(mid_t, mid_path, inst, stages=False)
            bottoms = []
            for k in range(mid.n):
                bottom, _, op_t, op_path, _ = self.generator(bot_t, bot_path, inst + ((k,) if per_node else ()),
                                                             stages=False)
                if str(op_t) != NODE_OP:
                    raise self.fail(f"NAGO's operation is {NODE_OP}", op_path)
                bottoms.append(bottom)
            preds = top.preds[c]
            c_in = channels[0] if not preds else channels[stages[preds[-1]]]
            cells.append(CellPlan(stages[c], c_in, channels[stages[c]], mid, tuple(bottoms)))
        return NagoPlan(top, tuple(channels), tuple(cells), int(values[0]) if values else None)


def nago_plan(term: Term, seed: int = 0) -> NagoPlan:
    """The plan (graphs, stages, unit widths) of a ``NagoNet`` term built with network ``seed``."""
    return _Reader(term, seed).plan()


# --- modules ---------------------------------------------------------------------------------------


class Gain(nn.Module):
    """``x · sigmoid(g)``, ``g`` one learnable scalar, initially 1 (NAGO's bounded scalar)."""

    def __init__(self) -> None:
        super().__init__()
        self.mean = nn.Parameter(torch.ones(1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.mean) * x


class MergeIn(nn.Module):
    """NAGO's SUM of ``k`` inputs ``(N, c_i, H, W)`` → ``(N, width, H, W)``: a :class:`Gain` on each
    input of width ``width``, a 1×1 convolution with bias on the others."""

    def __init__(self, widths: Sequence[int], width: int) -> None:
        super().__init__()
        self.branch = nn.ModuleList(Gain() if c == width else nn.Conv2d(c, width, 1) for c in widths)

    def forward(self, xs: list[torch.Tensor]) -> torch.Tensor:
        return sum(f(x) for f, x in zip(self.branch, xs))  # type: ignore[return-value]


# The modules below keep their graphs as plain tuples and use only torch, nn and F, so that
# ``algebraic-nas export`` can write them as standalone code.


class GraphRunner(nn.Module):
    """Runs ``self.units`` over a graph (``self.preds``: predecessors per node, ascending;
    ``self.outputs``): nodes without predecessors read ``x``, the others a list of their
    predecessors' results; returns the mean of the outputs (a one-node graph: its node)."""

    def run(self, x: torch.Tensor) -> torch.Tensor:
        res: dict[int, torch.Tensor] = {}
        for i, preds in enumerate(self.preds):
            res[i] = self.units[i]([x] if not preds else [res[j] for j in preds])
        if len(self.preds) == 1:
            return res[0]
        y = res[self.outputs[0]]
        for o in self.outputs[1:]:
            y = y + res[o]
        return y / len(self.outputs)


class Operation(nn.Module):
    """A bottom-level node: merge of its predecessors, then ``ReLU → Conv3×3 (bias) → BN``: ``c_in → c_out``."""

    def __init__(self, n_preds: int, c_in: int, c_out: int) -> None:
        super().__init__()
        if n_preds > 1:
            self.merge = MergeIn([c_in] * n_preds, c_in)
        self.conv = nn.Conv2d(c_in, c_out, 3, padding=1)
        self.bn = nn.BatchNorm2d(c_out)

    def forward(self, xs: list[torch.Tensor]) -> torch.Tensor:
        x = self.merge(xs) if len(xs) > 1 else xs[0]
        return self.bn(self.conv(torch.relu(x)))


class MidNode(GraphRunner):
    """A mid-level node: merge of its predecessors, then its bottom graph of :class:`Operation`."""

    def __init__(self, n_preds: int, c_in: int, bottom: Dag, op_in: Sequence[int], c_out: int) -> None:
        super().__init__()
        self.preds, self.outputs = bottom.preds, bottom.outputs
        if n_preds > 1:
            self.merge = MergeIn([c_in] * n_preds, c_in)
        self.units = nn.ModuleList(Operation(len(bottom.preds[q]), op_in[q], c_out) for q in range(bottom.n))

    def forward(self, xs: list[torch.Tensor]) -> torch.Tensor:
        return self.run(self.merge(xs) if len(xs) > 1 else xs[0])


class Cell(GraphRunner):
    """A top-level node: inputs pooled to ``resolution``, merged, then the mid graph of :class:`MidNode`."""

    def __init__(self, plan: CellPlan, pred_widths: Sequence[int], m: int, resolution: int) -> None:
        super().__init__()
        self.preds, self.outputs, self.resolution = plan.mid.preds, plan.mid.outputs, resolution
        c_in, c_out = int(plan.c_in * m), int(plan.c_out * m)
        if len(pred_widths) > 1:
            self.merge = MergeIn(pred_widths, c_in)
        self.units = nn.ModuleList(
            MidNode(len(plan.mid.preds[k]), int(plan.node_in(k) * m), plan.bottoms[k],
                    [int(plan.op_in(k, q) * m) for q in range(plan.bottoms[k].n)], c_out)
            for k in range(plan.mid.n))

    def forward(self, xs: list[torch.Tensor]) -> torch.Tensor:
        r = self.resolution
        xs = [F.adaptive_avg_pool2d(x, (r, r)) if x.shape[2] != r else x for x in xs]
        return self.run(self.merge(xs) if len(xs) > 1 else xs[0])


class NagoBody(nn.Module):
    """The top graph of :class:`Cell`: ``(N, C1·m, R', R')`` → ``(N, C_out, r, r)``, the averaged output cells."""

    def __init__(self, plan: NagoPlan, m: int, stem_resolution: int, large: bool) -> None:
        super().__init__()
        self.preds, self.outputs = plan.top.preds, plan.top.outputs
        widths = [int(c.c_out * m) for c in plan.cells]
        res = [int(stem_resolution * (0.5 if large else 2) / 2 ** (c.stage + 1)) for c in plan.cells]
        self.cells = nn.ModuleList(Cell(c, [widths[j] for j in plan.top.preds[i]], m, res[i])
                                   for i, c in enumerate(plan.cells))
        self.out_width = widths[self.outputs[-1]]
        if len(self.outputs) > 1:
            self.project = nn.ModuleList(nn.Conv2d(widths[o], self.out_width, 1) if widths[o] != self.out_width
                                         else nn.Identity() for o in self.outputs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        res: dict[int, torch.Tensor] = {}
        for i, preds in enumerate(self.preds):
            res[i] = self.cells[i]([x] if not preds else [res[j] for j in preds])
        if len(self.outputs) == 1:
            return res[self.outputs[0]]
        outs = [res[o] for o in self.outputs]
        r = min(o.shape[-1] for o in outs)
        outs = [F.adaptive_avg_pool2d(o, (r, r)) if o.shape[2] != r else o for o in outs]
        y = self.project[0](outs[0])
        for p, o in zip(self.project[1:], outs[1:]):
            y = y + p(o)
        return y / len(outs)


def _separable(c_in: int, c_out: int, stride: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(c_in, c_in, 3, stride, 1, groups=c_in), nn.Conv2d(c_in, c_out, 1))


def nago_stem(channels: int, width: int, large: bool) -> nn.Sequential:
    """NAGO's stem: two 3×3 convolutions with BN (``large``: two strided depthwise-separable ones, resolution ÷4)."""
    if not large:
        return nn.Sequential(nn.Conv2d(channels, width, 3, padding=1), nn.BatchNorm2d(width), nn.ReLU(),
                             nn.Conv2d(width, width, 3, padding=1), nn.BatchNorm2d(width))
    half = width // 2
    return nn.Sequential(_separable(channels, half, 2), nn.BatchNorm2d(half),
                         nn.Sequential(nn.ReLU(), _separable(half, width, 2), nn.BatchNorm2d(width)))


def nago_head(width: int, classes: int) -> nn.Sequential:
    """``ReLU → Conv1×1 (→1280, bias) → BN → ReLU → GAP → Dropout(0.2) → Linear(1280, classes)``."""
    return nn.Sequential(nn.ReLU(), nn.Conv2d(width, HEAD_WIDTH, 1), nn.BatchNorm2d(HEAD_WIDTH), nn.ReLU(),
                         nn.AdaptiveAvgPool2d(1), nn.Dropout(HEAD_DROPOUT), nn.Flatten(1),
                         nn.Linear(HEAD_WIDTH, classes))


def _init(net: nn.Module) -> None:
    for mod in net.modules():
        if isinstance(mod, nn.Conv2d):
            nn.init.kaiming_normal_(mod.weight, mode="fan_out", nonlinearity="relu")
        elif isinstance(mod, nn.BatchNorm2d):
            nn.init.ones_(mod.weight)
            nn.init.zeros_(mod.bias)


def build_nago_network(term: Term, spec: Union[InputSpec, tuple[int, int, int]], base_channels: Optional[int] = None,
                       seed: int = 0, budget: Optional[float] = None, **_: object) -> Network:
    """NAGO's network of a ``NagoNet([B,] TOP)`` term for ``spec`` (see the module docstring).

    The multiplier ``m`` is ``base_channels`` when given, else NAGO's rule for ``budget`` (which
    wins), else ``B``, else the default budget of the input size (4 M for 32×32 inputs).
    ``Network.base_channels`` records ``m``; ``prune`` does not apply (every node is built).
    """
    spec = InputSpec(*spec)
    plan = nago_plan(term, seed)
    if budget is None:
        budget = plan.budget if plan.budget is not None else default_budget(spec)
    m = int(base_channels) if base_channels is not None else plan.multiplier(budget)
    if m < 1 or min(spec) < 1:
        raise AssemblyError(f"invalid input spec {spec} / multiplier {m}")
    large = spec.resolution >= LARGE_IMAGE
    width = int(plan.channels[0] * m)
    stem = nago_stem(spec.channels, width, large)
    body = NagoBody(plan, m, spec.resolution, large)
    net = Network(stem, body, nago_head(body.out_width, spec.classes), spec, str(term), m)
    _init(net)
    return net


NETWORK_BUILDERS.add(NAGO_NETWORK, build_nago_network)
