"""nb201_cell builds exactly NAS-Bench-201's TinyNetwork (issue 14): every non-`none` edge of the
cell is built and run, even one on no input→output path; a `none` edge contributes zeros.

Checked against an independent statement of NB201's semantics (REFERENCE §9): parameter counts
worked out by hand, and a small reference network written here from plain torch modules."""

from __future__ import annotations

import random

import networkx as nx
import pytest
import torch
from torch import nn

from algebraic_nas.assembly import InputSpec, build_network
from algebraic_nas.assembly.graph import ZERO_EDGE, term_graph
from algebraic_nas.assembly.registry import IDENTITY_OPS
from algebraic_nas.evaluation.evaluate import build_from_term
from algebraic_nas.grammar import load_grammar
from algebraic_nas.interop.nb201 import NB201_OPS, is_connected, nb201_ops, nb201_to_term

CIFAR10 = InputSpec(channels=3, resolution=32, classes=10)
WIDTHS = (16, 32, 64)  # C of the three stages


def relu_conv_bn(c: int, k: int) -> int:
    """ReLU-Conv(k×k, C→C, no bias)-BN(C): k·k·C·C weights + 2·C BatchNorm affine."""
    return k * k * c * c + 2 * c


# Everything but the cells, by hand:
STEM = 3 * 16 * 9 + 2 * 16                                       # conv 3→16 3×3 + BN(16) = 464
DOWN_16 = (9 * 16 * 32 + 2 * 32) + (9 * 32 * 32 + 2 * 32) + 16 * 32   # conv_a + conv_b + 1×1 shortcut = 14,464
DOWN_32 = (9 * 32 * 64 + 2 * 64) + (9 * 64 * 64 + 2 * 64) + 32 * 64   # = 57,600
HEAD = 2 * 64 + 64 * 10 + 10                                     # BN(64) + Linear(64, 10) = 778
FIXED = STEM + DOWN_16 + DOWN_32 + HEAD


def nb201_params(kernels: list[int]) -> int:
    """NB201's count for a cell whose built convolutions have these kernel sizes: 5 cells per stage."""
    return FIXED + 5 * sum(relu_conv_bn(c, k) for c in WIDTHS for k in kernels)


# (NB201 string, kernels of the convolutions NB201 builds, params NB201 builds, params if dead edges were pruned)
CELLS = [
    # no dead edge: all six edges are 3×3 convolutions
    ("|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|",
     [3] * 6, 1_531_546, 1_531_546),
    # node 2 is reached only through none edges: the conv (2→3) behind them still exists
    ("|nor_conv_3x3~0|+|none~0|none~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|",
     [3, 3, 3, 3], 1_045_466, 802_426),
    # node 1 is cut off from the input: conv1x1 (1→2) and conv3x3 (1→3) run on zeros
    ("|none~0|+|avg_pool_3x3~0|nor_conv_1x1~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|",
     [1, 3, 3], 587_386, 316_346),
    # conv3x3 (0→1) feeds only none edges: NB201 builds it although nothing reads it
    ("|nor_conv_3x3~0|+|avg_pool_3x3~0|none~1|+|skip_connect~0|none~1|nor_conv_1x1~2|",
     [3, 1], 344_346, 101_306),
    # no convolution at all
    ("|skip_connect~0|+|avg_pool_3x3~0|skip_connect~1|+|skip_connect~0|none~1|avg_pool_3x3~2|",
     [], FIXED, FIXED),
]


def network(text: str, prune: str = "none") -> nn.Module:
    return build_network(load_grammar("nb201_cell").parse(nb201_to_term(text)), CIFAR10, prune=prune)


def n_params(net: nn.Module) -> int:
    return sum(p.numel() for p in net.parameters())


def test_the_fixed_part_is_what_nb201_has():
    assert (STEM, DOWN_16, DOWN_32, HEAD, FIXED) == (464, 14_464, 57_600, 778, 73_306)


@pytest.mark.parametrize("text, kernels, nb201, pruned", CELLS)
def test_parameter_counts_are_nb201s(text, kernels, nb201, pruned):
    assert n_params(network(text)) == nb201_params(kernels)
    assert nb201_params(kernels) == nb201
    # the hierarchical reference's pruning (hnb201's %prune paths) counts otherwise where edges are dead
    assert n_params(network(text, prune="paths")) == pruned


def test_the_grammar_chooses_the_semantics():
    text, kernels = CELLS[1][0], CELLS[1][1]
    assert load_grammar("nb201_cell").prune == "none" and load_grammar("hnb201").prune == "paths"
    assert n_params(build_from_term(nb201_to_term(text), "nb201_cell", CIFAR10)) == nb201_params(kernels)


# --- an independent NB201 network from plain torch modules ----------------------------------------


class Zero(nn.Module):
    def forward(self, x):
        return x.mul(0.0)


def reference_op(name: str, c: int) -> nn.Module:
    if name == "none":
        return Zero()
    if name == "skip_connect":
        return nn.Identity()
    if name == "avg_pool_3x3":
        return nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False)
    k = {"nor_conv_3x3": 3, "nor_conv_1x1": 1}[name]
    return nn.Sequential(nn.ReLU(), nn.Conv2d(c, c, k, padding=k // 2, bias=False), nn.BatchNorm2d(c))


class ReferenceCell(nn.Module):
    """Node j = Σ_{i<j} op_ij(node i), every edge run (NB201's InferCell)."""

    def __init__(self, ops: tuple[str, ...], c: int):
        super().__init__()
        self.edges = nn.ModuleList(reference_op(o, c) for o in ops)

    def forward(self, x):
        nodes, k = [x], 0
        for j in (1, 2, 3):
            total = 0
            for i in range(j):
                total = total + self.edges[k](nodes[i])
                k += 1
            nodes.append(total)
        return nodes[3]


class ReferenceDown(nn.Module):
    def __init__(self, c: int):
        super().__init__()
        self.conv_a = nn.Sequential(nn.ReLU(), nn.Conv2d(c, 2 * c, 3, 2, 1, bias=False), nn.BatchNorm2d(2 * c))
        self.conv_b = nn.Sequential(nn.ReLU(), nn.Conv2d(2 * c, 2 * c, 3, 1, 1, bias=False), nn.BatchNorm2d(2 * c))
        self.downsample = nn.Sequential(nn.AvgPool2d(2, 2), nn.Conv2d(c, 2 * c, 1, bias=False))

    def forward(self, x):
        return self.conv_b(self.conv_a(x)) + self.downsample(x)


def reference_network(ops: tuple[str, ...]) -> nn.Module:
    layers: list[nn.Module] = [nn.Conv2d(3, 16, 3, padding=1, bias=False), nn.BatchNorm2d(16)]
    for stage, c in enumerate(WIDTHS):
        if stage:
            layers.append(ReferenceDown(c // 2))
        layers += [ReferenceCell(ops, c) for _ in range(5)]
    layers += [nn.BatchNorm2d(64), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, 10)]
    return nn.Sequential(*layers)


def randomise(net: nn.Module, seed: int) -> None:
    """Weights and BatchNorm statistics drawn at random (a BN shift is what a conv on zeros outputs)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for t in net.state_dict().values():
            if t.is_floating_point():
                t.copy_(torch.rand(t.shape, generator=g) * 0.5 + 0.25)


def ops_in_term_order(net: nn.Module, term) -> list[nn.Module]:
    """The body's modules sorted by the term position of their edge: the term's pre-order, which
    is NB201's order of creation (stage by stage, cell by cell, edge by edge, ReLU-Conv-BN).
    ``body.ops`` holds them in the order build_body walks the graph (nodes in lexicographic
    topological order, each node's edges in term order; identities make no module, zero edges
    only for a node fed by nothing else)."""
    g = term_graph(term, prune="none")
    paths = []
    for n in list(nx.lexicographical_topological_sort(g))[1:]:
        edges = [d for _, _, d in sorted(g.in_edges(n, data=True), key=lambda e: e[2]["order"])]
        live = [d for d in edges if d["op"] != ZERO_EDGE] or edges[:1]
        paths += [d["path"] for d in live if d["op"] not in IDENTITY_OPS]
    assert len(paths) == len(net.body.ops)
    return [net.body.ops[i] for i in sorted(range(len(paths)), key=paths.__getitem__)]


def random_cells(n: int, seed: int) -> list[str]:
    """``n`` random cells of the space (input connected to output) as NB201 strings."""
    rng, out = random.Random(seed), []
    while len(out) < n:
        ops = tuple(rng.choice(list(NB201_OPS)) for _ in range(6))
        if is_connected(ops):
            it = iter(ops)
            out.append("+".join("|" + "|".join(f"{next(it)}~{j}" for j in range(k)) + "|" for k in (1, 2, 3)))
    return out


def test_every_conv_edge_counts_over_random_cells():
    kernel = {"nor_conv_3x3": 3, "nor_conv_1x1": 1}
    for text in random_cells(40, seed=1):
        assert n_params(network(text)) == nb201_params([kernel[o] for o in nb201_ops(text) if o in kernel]), text


@pytest.mark.parametrize("text", [CELLS[1][0], CELLS[2][0], CELLS[3][0], *random_cells(3, seed=2)])
def test_outputs_equal_nb201s_given_the_same_weights(text):
    torch.manual_seed(0)
    term = load_grammar("nb201_cell").parse(nb201_to_term(text))
    ours = build_network(term, CIFAR10, prune="none")
    ref = reference_network(nb201_ops(text))
    randomise(ours, 1)
    mine = [ours.stem, *ops_in_term_order(ours, term), ours.head]
    tensors = [t for m in mine for t in m.state_dict().values()]
    theirs = ref.state_dict()
    assert [t.shape for t in tensors] == [t.shape for t in theirs.values()]  # the same modules
    ref.load_state_dict(dict(zip(theirs, tensors)))
    x = torch.randn(4, 3, 32, 32)
    for mode in (True, False):  # batch statistics, then the running ones
        ours.train(mode), ref.train(mode)
        with torch.no_grad():
            assert torch.allclose(ours(x), ref(x), rtol=1e-5, atol=1e-5)


def test_the_build_command_counts_nb201s_parameters(capsys):
    import json

    from algebraic_nas.cli import main

    text, kernels = CELLS[2][0], CELLS[2][1]
    assert main(["build", "nb201_cell", nb201_to_term(text), "--dataset", "cifar10", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["params"] == nb201_params(kernels) == 587_386
