"""Building blocks of the other grammars: DARTS cell, Auto-DeepLab transitions, MobileNet blocks."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from algebraic_nas.assembly import AssemblyError, Shape
from algebraic_nas.assembly.graph import flat_graph
from algebraic_nas.assembly.network import build_body

from .helpers import leaf, num, op

NONE = "none"


def n_params(m: nn.Module) -> int:
    return sum(p.numel() for p in m.parameters())


def darts(node3, node4, node5, node6, symbol="Darts"):
    return op(symbol, op("Node3", *map(leaf, node3)), op("Node4", *map(leaf, node4)),
              op("Node5", *map(leaf, node5)), op("Node6", *map(leaf, node6)))


def test_darts_cell_counts_and_zero_filled_dead_nodes():
    # Only node 3 is alive: sep_conv_3x3(s0) + skip_connect(s1); nodes 4-6 have only `none` inputs.
    t = darts(["sep_conv_3x3", "skip_connect"], [NONE] * 3, [NONE] * 4, [NONE] * 5)
    body, out = build_body(t, Shape(16, 8, 8))
    # two preprocessings ReLU-Conv1×1(16→4)-BN, one sep_conv_3x3 on 4 channels: 2·(dw 36 + pw 16 + BN 8)
    assert n_params(body) == 2 * (64 + 8) + 2 * (36 + 16 + 8)
    assert out == Shape(16, 8, 8)  # four nodes of width 4 concatenated, dead ones as zeros
    y = body(torch.randn(2, 16, 8, 8))
    assert y.shape == (2, 16, 8, 8)
    assert torch.count_nonzero(y[:, 4:]) == 0 and torch.count_nonzero(y[:, :4]) > 0


def test_darts_node_inputs_follow_the_grammar_order():
    # Node4's third argument reads node 3; Node6's arguments are (s0, s1, n3, n4, n5).
    t = darts(["max_pool_3x3", NONE], [NONE, NONE, "sep_conv_5x5"], [NONE, NONE, NONE, "dil_conv_3x3"],
              [NONE, NONE, NONE, NONE, "avg_pool_3x3"])
    g = flat_graph(t)
    lab = {n: d["label"] for n, d in g.nodes(data=True)}
    edges = {(lab[a], lab[b]) for a, b in g.edges}
    assert ("max_pool_3x3", "sep_conv_5x5") in edges
    assert ("sep_conv_5x5", "dil_conv_3x3") in edges
    assert ("dil_conv_3x3", "avg_pool_3x3") in edges
    assert sorted(lab.values()).count("darts_preprocess") == 1  # s1 feeds nothing: pruned
    body, out = build_body(t, Shape(16, 8, 8))
    assert out == Shape(16, 8, 8)


def test_darts_reduction_cell_halves_resolution_and_doubles_channels():
    t = darts(["skip_connect", "sep_conv_3x3"], ["max_pool_3x3", NONE, "skip_connect"], [NONE] * 3 + ["dil_conv_5x5"],
              ["avg_pool_3x3"] + [NONE] * 4, symbol="DartsReduce")
    body, out = build_body(t, Shape(16, 8, 8))
    assert out == Shape(32, 4, 4)
    assert body(torch.randn(2, 16, 8, 8)).shape == (2, 32, 4, 4)


def test_dead_darts_cell_is_an_error():
    with pytest.raises(AssemblyError, match="computes nothing"):
        build_body(darts([NONE] * 2, [NONE] * 3, [NONE] * 4, [NONE] * 5), Shape(16, 8, 8))


def test_autodeeplab_transitions():
    cell = darts(["skip_connect", "skip_connect"], [NONE] * 3, [NONE] * 4, [NONE] * 5)
    t = op("Linear3", op("Down", cell), op("Same", cell), op("Up", cell))
    body, out = build_body(t, Shape(16, 32, 32))
    assert out == Shape(16, 32, 32)
    # each cell: two ReLU-Conv1×1(C→C/4)-BN; Down: ReLU-Conv3×3(s2, 16→32)-BN; Up: ReLU-Conv1×1(32→16)-BN
    pre = lambda c: 2 * (c * (c // 4) + 2 * (c // 4))  # noqa: E731
    assert n_params(body) == (16 * 32 * 9 + 64) + pre(32) + pre(32) + (32 * 16 + 32) + pre(16)
    assert body(torch.randn(2, 16, 32, 32)).shape == (2, 16, 32, 32)


def test_mobilenet_mbconv_block_by_hand():
    # Block 0 = reference stage (24 channels, 2 layers, stride 2); NLAYERS -1 leaves one layer.
    t = op("Linear1", op("Block", op("MBConv", num(3), num(6), num(0.25)), leaf("noskip"), num(1.0), num(-1)))
    body, out = build_body(t, Shape(16, 16, 16))
    assert out == Shape(24, 8, 8)
    expand, dw, se, project = 16 * 96 + 192, 96 * 9 + 192, (96 * 4 + 4) + (4 * 96 + 96), 96 * 24 + 48
    assert n_params(body) == expand + dw + se + project
    assert body(torch.randn(2, 16, 16, 16)).shape == (2, 24, 8, 8)


def test_mobilenet_blocks_follow_their_position_and_skip():
    t = op("Linear2",
           op("Block", op("Conv", num(5), num(0.0)), leaf("skip"), num(1.25), num(0)),
           op("Block", op("DConv", num(3), num(0.0)), leaf("skip"), num(0.75), num(1)))
    body, out = build_body(t, Shape(16, 16, 16))
    # block 0: stage (24, 2, 2) → 30 channels, 2 Conv5×5 layers; block 1: stage (40, 3, 2) → 30, 4 DConv layers
    assert out == Shape(30, 4, 4)
    conv = (16 * 30 * 25 + 60) + (30 * 30 * 25 + 60)
    dconv = 4 * (30 * 9 + 60 + 30 * 30 + 60)
    assert n_params(body) == conv + dconv
    residuals = [m.residual for m in body.modules() if hasattr(m, "residual")]
    assert residuals == [False, True, False, True, True, True]
    assert body(torch.randn(2, 16, 16, 16)).shape == (2, 30, 4, 4)


def test_bad_block_arguments_name_the_position():
    t = op("Linear2", leaf("relu"), op("Block", op("Conv", num(3), num(0.0)), leaf("sometimes"), num(1.0), num(0)))
    with pytest.raises(AssemblyError, match=r"path 1 \(character 14.*SKIP must be 'skip' or 'noskip'"):
        build_body(t, Shape(16, 16, 16))
