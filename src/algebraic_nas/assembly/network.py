"""Graph → ``nn.Module``: shape propagation over the op-edge DAG and a step-list executor.

:func:`build_network` turns a term into ``stem → body → head`` for a dataset's input spec:

* stem ``Conv3×3(channels → base_channels, bias=False) → BN`` (Schrodi et al., Sec. 5);
* body :class:`GraphNet`: the term's flattened DAG (:func:`algebraic_nas.assembly.graph.term_graph`).
  Channels and resolution are propagated from the stem's output through the graph; every module
  is created right away with its input shape (no lazy modules), so all parameters exist at build
  time; a merge of disagreeing shapes fails naming the position in the term;
* head ``BN(C_out) → ReLU → global average pool → Linear(C_out, classes)``.

The executor is a plain ``nn.Module`` that walks a precomputed tuple of steps (no generated
source), so it pickles, moves to CUDA, and traces under ``torch.compile`` / ``torch.fx`` (the
loop unrolls over constants).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Callable, Optional, Union

import networkx as nx
import torch
from torch import nn

from algebraic_nas.grammar.term import Term
from algebraic_nas.grammar.topology import argument_values
from algebraic_nas.grammar.topology_generators import BUDGET
from algebraic_nas.grammar.topology_template import CONCAT, SUM
from algebraic_nas.registry import Registry

from .graph import ZERO_EDGE, describe_position, leaf_args, term_graph
from .registry import IDENTITY_OPS, AssemblyError, get_merge, get_primitive, is_topology
from .shapes import InputSpec, Shape

if TYPE_CHECKING:
    from algebraic_nas.grammar import Grammar

# One step: (destination slot, merge module index or -1 for a sum, ((op index or -1 for identity,
# source slot), ...), slots whose last use this is, positions of zero branches inserted before merging).
Step = tuple[int, int, tuple[tuple[int, int], ...], tuple[int, ...], tuple[int, ...]]


class GraphNet(nn.Module):
    """Runs an op-edge DAG: ``(N, *in_shape) → (N, *out_shape)``.

    ``ops[i]`` are the operations; ``steps`` compute one feature map each, in topological order,
    by summing (or merging with ``merges[j]``, e.g. a channel concatenation) the operations applied
    to earlier feature maps.
    """

    def __init__(self, ops: list[nn.Module], steps: tuple[Step, ...], n_slots: int, out_slot: int,
                 in_shape: Shape, out_shape: Shape, labels: tuple[str, ...] = (),
                 merges: Optional[list[nn.Module]] = None) -> None:
        super().__init__()
        self.ops = nn.ModuleList(ops)
        self.merges = nn.ModuleList(merges or [])
        self.steps = steps
        self.n_slots = n_slots
        self.out_slot = out_slot
        self.in_shape = in_shape
        self.out_shape = out_shape
        self.labels = labels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        vals: list[Optional[torch.Tensor]] = [None] * self.n_slots
        vals[0] = x
        for dst, merge, ins, free, zeros in self.steps:
            if merge >= 0:
                outs = [vals[s] if o < 0 else self.ops[o](vals[s]) for o, s in ins]
                for i in zeros:  # a pruned (all-zero) branch keeps its place and channels
                    outs.insert(i, torch.zeros_like(outs[0]))
                y = self.merges[merge](outs)
            else:
                # Accumulate branch by branch, holding no extra reference to a branch result (as
                # hand-written code would): at most two are alive at a time.
                o, s = ins[0]
                y = vals[s] if o < 0 else self.ops[o](vals[s])
                for o, s in ins[1:]:
                    y = y + (vals[s] if o < 0 else self.ops[o](vals[s]))
            for s in free:  # drop feature maps nobody reads any more (peak memory)
                vals[s] = None
            vals[dst] = y
        return vals[self.out_slot]

    def extra_repr(self) -> str:
        return f"in={self.in_shape}, out={self.out_shape}, steps={len(self.steps)}"


def _edge_position(root: Term, d: dict) -> str:
    if d["term"] is not None:
        return describe_position(root, d["path"])
    return f"fixed operation '{d['op']}' of {describe_position(root, d['path'])}"


class Zero(nn.Module):
    """NAS-Bench-201's ``none`` on a node that nothing else feeds: ``x * 0`` (same shape as ``x``)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.mul(0.0)


def build_body(term: Term, in_shape: Union[Shape, tuple[int, int, int]], seed: int = 0,
               prune: str = "paths") -> tuple[GraphNet, Shape]:
    """The :class:`GraphNet` of ``term`` for per-sample input ``in_shape`` ``(C, H, W)``, and its output shape.

    ``seed`` is the network seed: generator topologies derive their graphs from it and their
    position (:func:`algebraic_nas.grammar.topology.position_seed`); it does not seed the weights.
    ``prune`` is the grammar's ``%prune`` (``Grammar.prune``): ``"paths"`` drops every edge on no
    input→output path; ``"none"`` builds every non-zero edge (NAS-Bench-201's ``InferCell``): a
    node fed only by ``zero`` edges holds zeros (a :class:`Zero` on one of them), and operations
    after it run on those zeros (a ReLU-Conv-BN then outputs its BatchNorm's shift). A ``zero``
    edge next to other inputs is left out of the sum, which changes nothing for finite values.

    Raises :class:`AssemblyError` for a terminal without implementation, a factory that fails,
    or branches of different shapes meeting at a merge (each naming the position in the term).
    """
    in_shape = Shape(*in_shape)
    g = term_graph(term, seed=seed, prune=prune)
    src, dst = g.graph["input"], g.graph["output"]
    order = list(nx.lexicographical_topological_sort(g))
    if order[0] != src:
        raise AssemblyError(f"internal: the input is not first in the graph of '{term}'")
    slot = {n: i for i, n in enumerate(order)}
    shapes: dict[int, Shape] = {src: in_shape}
    last_use: dict[int, int] = {}
    ops: list[nn.Module] = []
    labels: list[str] = []
    steps: list[Step] = []
    merges: list[nn.Module] = []
    for n in order[1:]:
        in_edges = sorted(g.in_edges(n, data=True), key=lambda e: e[2]["order"])
        live_edges = [e for e in in_edges if e[2]["op"] != ZERO_EDGE]
        in_edges = live_edges or in_edges[:1]  # only zero edges: one of them gives the zeros
        ins: list[tuple[int, int]] = []
        outs: list[tuple[Shape, dict]] = []
        for a, _, d in in_edges:
            s = shapes[a]
            if d["op"] in IDENTITY_OPS and not d["attrs"]:
                ins.append((-1, slot[a]))
                outs.append((s, d))
            elif d["op"] == ZERO_EDGE:
                ins.append((len(ops), slot[a]))
                ops.append(Zero())
                labels.append(d["label"])
                outs.append((s, d))
            else:
                module, out = _make_op(term, d, s)
                ins.append((len(ops), slot[a]))
                ops.append(module)
                labels.append(d["label"])
                outs.append((out, d))
            last_use[slot[a]] = len(steps)
        merge = g.nodes[n]["merge"]
        zeros: tuple[int, ...] = ()
        if merge != SUM:
            live = {d["order"] for _, _, d in in_edges}
            zeros = tuple(i for i, o in enumerate(g.nodes[n]["branch_orders"]) if o not in live)
            outs = outs[:1] * len(zeros) + outs  # zero branches take the first branch's shape
        shapes[n], module = _merge(term, outs, merge)
        if module is not None:
            merges.append(module)
        steps.append((slot[n], len(merges) - 1 if module is not None else -1, tuple(ins), (), zeros))
    # Free each slot right after the step that reads it last (never the output).
    frees: dict[int, list[int]] = {}
    for s, i in last_use.items():
        frees.setdefault(i, []).append(s)
    steps = [(d, c, ins, tuple(sorted(frees.get(i, ()))), z) for i, (d, c, ins, _, z) in enumerate(steps)]
    net = GraphNet(ops, tuple(steps), len(order), slot[dst], in_shape, shapes[dst], tuple(labels), merges)
    return net, shapes[dst]


def _make_op(root: Term, d: dict, shape: Shape) -> tuple[nn.Module, Shape]:
    spec = get_primitive(d["op"])
    if spec is None and d["term"] is not None and d["term"].children and is_topology(d["op"]):
        raise AssemblyError(f"topology '{d['op']}' does not take {len(d['term'].children)} arguments: "
                            f"{_edge_position(root, d)}")
    if spec is None:
        raise AssemblyError(f"no implementation registered for terminal '{d['op']}': {_edge_position(root, d)}"
                            " (register one with @register_primitive)")
    args = leaf_args(d["term"]) if d["term"] is not None else ()
    try:
        module, out = spec.build(shape, args, d["attrs"], index=d["occurrence"])
    except AssemblyError:
        raise
    except Exception as e:  # a factory rejecting its input: say where
        raise AssemblyError(f"building '{d['label']}' on input {shape} failed at {_edge_position(root, d)}: {e}") from e
    if out.c < 1 or out.h < 1 or out.w < 1:
        raise AssemblyError(f"'{d['label']}' maps {shape} to an empty shape {out}: {_edge_position(root, d)}")
    return module, out


def _merging_topology(root: Term, outs: list[tuple[Shape, dict]]) -> tuple[int, ...]:
    """Path of the topology that merges these branches: the deepest common ancestor of their terms."""
    paths = [d["path"] for _, d in outs]
    prefix: tuple[int, ...] = ()
    for parts in zip(*paths):
        if any(p != parts[0] for p in parts):
            break
        prefix += (parts[0],)
    while root.at(prefix).is_transparent:
        prefix += (0,)
    return prefix


def _merge(root: Term, outs: list[tuple[Shape, dict]], merge: str) -> tuple[Shape, Optional[nn.Module]]:
    """Output shape of merge ``merge`` of the branches, and its module (``None``: the executor sums)."""
    spec = get_merge(merge)
    if spec is None:
        raise AssemblyError(f"no merge registered as '{merge}' (used by {describe_position(root, _merging_topology(root, outs))}); "
                            "register one with register_merge")
    shapes = [s for s, _ in outs]
    try:
        out = Shape(*spec.out_shape(shapes))
    except ValueError:
        verb = {SUM: "sums", CONCAT: "concatenates"}.get(merge, f"merges ('{merge}')")
        raise AssemblyError(_mismatch(verb, root, _merging_topology(root, outs), outs)) from None
    return out, None if merge == SUM else spec.factory(shapes)


def _mismatch(verb: str, root: Term, path: tuple[int, ...], outs: list[tuple[Shape, dict]]) -> str:
    branches = "; ".join(f"{_edge_position(root, d)} gives {s}" for s, d in outs)
    return f"shape mismatch where {describe_position(root, path)} {verb} its branches: {branches}"


class Network(nn.Module):
    """``stem → body → head``: images ``(N, channels, R, R)`` → logits ``(N, classes)``."""

    def __init__(self, stem: nn.Module, body: GraphNet, head: nn.Module, spec: InputSpec, term: str = "",
                 base_channels: int = 0) -> None:
        super().__init__()
        self.base_channels = base_channels  # the stem's width
        self.stem = stem
        self.body = body
        self.head = head
        self.spec = spec
        self.term = term

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(self.stem(x)))


#: Default parameter budgets of ``Budget(X)`` by input resolution (NAGO: 4 M for 32×32, 6 M larger);
#: inputs under 16×16 (the embedded offline tasks) get a small one so that CPU evaluations take seconds.
DEFAULT_BUDGETS: tuple[tuple[int, int], ...] = ((15, 250_000), (32, 4_000_000))
LARGE_BUDGET = 6_000_000
#: Stem width at which :func:`conv_params_per_unit_width` builds its (meta-device) probe.
PROBE_WIDTH = 8
DEFAULT_BASE_CHANNELS = 16


def default_budget(spec: Union[InputSpec, tuple[int, int, int]]) -> int:
    """The parameter budget of ``Budget(X)`` for input ``spec`` (see :data:`DEFAULT_BUDGETS`)."""
    r = InputSpec(*spec).resolution
    return next((b for limit, b in DEFAULT_BUDGETS if r <= limit), LARGE_BUDGET)


def term_budget(term: Term, spec: Union[InputSpec, tuple[int, int, int]]) -> Optional[int]:
    """The budget a term asks for: ``B`` of a root ``Budget(B, X)``, the default of ``Budget(X)``, else ``None``."""
    root = term.resolve()
    if root.symbol != BUDGET or not root.children:
        return None
    _, values = argument_values(root)
    return int(values[0]) if values else default_budget(spec)


def conv_params_per_unit_width(term: Term, spec: Union[InputSpec, tuple[int, int, int]], seed: int = 0,
                               prune: str = "paths") -> float:
    """NAGO's *base*: the body's convolution weights Σ k·k·c_in·c_out / groups at stem width 1.

    Measured at stem width :data:`PROBE_WIDTH` on the meta device (no memory, no arithmetic) and
    divided by its square: widths scale with the stem, so convolution weights grow quadratically.
    """
    spec = InputSpec(*spec)
    with torch.device("meta"):
        body, _ = build_body(term, Shape(PROBE_WIDTH, spec.resolution, spec.resolution), seed=seed, prune=prune)
    n = sum(m.weight.numel() for m in body.modules() if isinstance(m, nn.Conv2d))
    return n / PROBE_WIDTH ** 2


def budget_width(term: Term, spec: Union[InputSpec, tuple[int, int, int]], budget: float, seed: int = 0,
                 prune: str = "paths") -> int:
    """NAGO's width rule: the stem width ``floor(sqrt(budget / base))`` (at least 1), base as in
    :func:`conv_params_per_unit_width`."""
    base = conv_params_per_unit_width(term, spec, seed, prune)
    return max(1, math.floor(math.sqrt(budget / base))) if base > 0 else DEFAULT_BASE_CHANNELS


def _prune_of(grammar: Union["Grammar", str, None]) -> str:
    """The ``%prune`` of ``grammar`` (a Grammar or a name to load), ``"paths"`` for ``None``."""
    if grammar is None:
        return "paths"
    if isinstance(grammar, str):
        from algebraic_nas.grammar import load_grammar

        grammar = load_grammar(grammar)
    return grammar.prune


#: Root topologies that bring their own stem and head (DARTS's ``DartsCIFAR``): symbol → builder
#: ``(term, spec, base_channels=, seed=, budget=, prune=) -> Network``, called by :func:`build_network`.
NETWORK_BUILDERS: Registry[Callable[..., Network]] = Registry("network builder", key="root topology")


def build_network(term: Term, spec: Union[InputSpec, tuple[int, int, int]], base_channels: Optional[int] = None,
                  seed: int = 0, budget: Optional[float] = None, prune: Optional[str] = None,
                  grammar: Union["Grammar", str, None] = None) -> Network:
    """The network of ``term`` for ``spec`` = (input channels, resolution, classes) (Schrodi et al., Sec. 5).

    Stem ``Conv3×3(channels → base_channels, bias=False) + BN(base_channels)``; the term's
    DAG on ``(base_channels, R, R)``; head ``BN(C_out) → ReLU → GAP → Linear(C_out, classes)``.
    ``seed`` picks the graphs of generator topologies (same term + seed: same network); the
    weights are initialised by torch's global generator as usual.

    Width: ``base_channels`` when given; else, for a term sized by a parameter budget (a root
    ``Budget([B,] X)``, or any term when ``budget`` is given; ``budget`` wins over ``B``), NAGO's
    rule :func:`budget_width`; else 16. ``Network.base_channels`` records the width used.
    ``grammar``: the term's grammar (a :class:`~algebraic_nas.grammar.Grammar` or a grammar name):
    the network is built as its directives say (its ``%prune``), so ``build_network(term, spec,
    grammar=g)`` of an ``nb201_cell`` term is exactly NAS-Bench-201's ``TinyNetwork``.
    ``prune`` (see :func:`build_body`) overrides the grammar's ``%prune``; without either, ``"paths"``.
    """
    prune = _prune_of(grammar) if prune is None else prune
    custom = NETWORK_BUILDERS.find(term.resolve().symbol)
    if custom is not None:
        return custom(term, spec, base_channels=base_channels, seed=seed, budget=budget, prune=prune)
    spec = InputSpec(*spec)
    if budget is None:
        budget = term_budget(term, spec)
    if base_channels is None:
        base_channels = DEFAULT_BASE_CHANNELS if budget is None else budget_width(term, spec, budget, seed, prune)
    if min(spec) < 1 or base_channels < 1:
        raise AssemblyError(f"invalid input spec {spec} / base_channels {base_channels}")
    stem = nn.Sequential(
        nn.Conv2d(spec.channels, base_channels, 3, padding=1, bias=False),
        nn.BatchNorm2d(base_channels),
    )
    body, out = build_body(term, Shape(base_channels, spec.resolution, spec.resolution), seed=seed, prune=prune)
    head = nn.Sequential(
        nn.BatchNorm2d(out.c),
        nn.ReLU(inplace=False),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(1),
        nn.Linear(out.c, spec.classes),
    )
    return Network(stem, body, head, spec, str(term), base_channels)


from . import darts_network  # noqa: E402,F401  (registers DARTS's network builder; needs the names above)
from . import nago_network  # noqa: E402,F401  (registers NAGO's network builder; needs the names above)
