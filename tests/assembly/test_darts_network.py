"""DARTS's CIFAR network (``DartsCIFAR`` terms): parameter counts against an independent count
from DARTS's layer shapes (``NetworkCIFAR`` of the authors' code), shapes, auxiliary head, drop path."""

from __future__ import annotations

import pytest
import torch

from algebraic_nas.assembly import AssemblyError, InputSpec, build_network
from algebraic_nas.assembly.darts_network import DartsNetwork, build_darts_network, darts_param_count
from algebraic_nas.grammar import load_grammar

V2_NORMAL = ("Darts(Node2(sep_conv_3x3, sep_conv_3x3), Node3(sep_conv_3x3, sep_conv_3x3, none), "
             "Node4(skip_connect, sep_conv_3x3, none, none), Node5(skip_connect, none, dil_conv_3x3, none, none))")
V2_REDUCE = ("Darts(Node2(max_pool_3x3, max_pool_3x3), Node3(none, max_pool_3x3, skip_connect), "
             "Node4(max_pool_3x3, none, skip_connect, none), Node5(none, max_pool_3x3, skip_connect, none, none))")
CIFAR10 = InputSpec(3, 32, 10)


def darts_grammar(width: int, layers: int):
    """The darts space in a network of width C and L cells (as darts_eval does for 36, 20)."""
    return load_grammar(f"darts_{width}_{layers}.ebnf",
                        text=f'%import "darts.ebnf"\n%start NET\nWIDTH ::= {width}\nLAYERS ::= {layers}\n')


def v2(width: int = 36, layers: int = 20):
    g = load_grammar("darts_eval") if (width, layers) == (36, 20) else darts_grammar(width, layers)
    return g.parse(f"DartsCIFAR({width}, {layers}, {V2_NORMAL}, {V2_REDUCE})")


def _pairs(cell) -> list[tuple[str, int]]:
    return [(op.resolve().symbol, j) for node in cell.resolve().children
            for j, op in enumerate(node.resolve().children) if op.resolve().symbol != "none"]


def _op_params(op: str, c: int, strided: bool) -> int:
    """Parameters of one DARTS operation at width c (BN: weight and bias)."""
    k = int(op[-1]) if op[-1].isdigit() else 0
    if op.startswith("sep_conv"):
        return 2 * (c * k * k + c * c + 2 * c)       # twice: depthwise kxk, pointwise 1x1, BN
    if op.startswith("dil_conv"):
        return c * k * k + c * c + 2 * c
    if op == "skip_connect" and strided:
        return c * c + 2 * c                         # FactorizedReduce(c, c): two 1x1 c -> c/2, BN(c)
    return 0                                         # pools, identity


def network_cifar_params(width: int, layers: int, normal, reduce, classes: int = 10, auxiliary: bool = False) -> int:
    """NetworkCIFAR's parameter count computed from its layer shapes (REFERENCE §8)."""
    c_stem = 3 * width
    total = 3 * c_stem * 9 + 2 * c_stem               # stem conv 3x3 (no bias) + BN
    c_pp, c_p, c = c_stem, c_stem, width
    for i in range(layers):
        reduction = i in (layers // 3, 2 * layers // 3)
        c = 2 * c if reduction else c
        total += c_pp * c + 2 * c + c_p * c + 2 * c   # preprocess0/1: 1x1 conv (or FactorizedReduce) + BN
        for op, j in (reduce if reduction else normal):
            total += _op_params(op, c, reduction and j < 2)
        c_pp, c_p = c_p, 4 * c
        if i == 2 * layers // 3:
            c_aux = c_p
    total += c_p * classes + classes                  # classifier
    if auxiliary:
        total += c_aux * 128 + 2 * 128 + 128 * 768 * 4 + 2 * 768 + 768 * classes + classes
    return total


def test_darts_v2_has_the_parameter_count_of_network_cifar():
    t = v2()
    net = build_network(t, CIFAR10)
    assert isinstance(net, DartsNetwork) and net.base_channels == 108
    count = sum(p.numel() for p in net.parameters())
    assert count == network_cifar_params(36, 20, _pairs(t.children[2]), _pairs(t.children[3])) == 3_349_342
    aux = build_darts_network(t, CIFAR10, auxiliary=True)
    assert sum(p.numel() for p in aux.parameters()) == 3_825_768 == network_cifar_params(
        36, 20, _pairs(t.children[2]), _pairs(t.children[3]), auxiliary=True)
    assert darts_param_count(aux) == 3_349_342       # DARTS's count skips the auxiliary head


@pytest.mark.parametrize("seed", range(4))
def test_sampled_search_networks_match_the_independent_count(seed):
    g = load_grammar("darts")
    t = g.sample(seed)
    net = build_network(t, CIFAR10, prune=g.prune)
    normal, reduce = _pairs(t.children[2]), _pairs(t.children[3])
    assert sum(p.numel() for p in net.parameters()) == network_cifar_params(16, 8, normal, reduce)


def test_resolutions_widths_and_outputs():
    net = build_network(v2(16, 8), CIFAR10)
    shapes = {}
    for i, op in enumerate(net.body.ops):
        op.register_forward_hook(lambda m, a, out, i=i: shapes.update({i: tuple(out.shape[1:])}))
    net.eval()
    y = net(torch.randn(2, 3, 32, 32))
    assert y.shape == (2, 10)
    tap = net.body.labels.index("darts_aux_tap")
    assert shapes[tap] == (4 * 64, 8, 8)              # after the second reduction: 4C channels at 8x8
    assert net.body.out_shape == (4 * 64, 8, 8) and net.head[-1].in_features == 256
    # node 2 reads both cell inputs, so every cell's two preprocessing operations are live
    assert net.body.labels.count("darts_preprocess") + net.body.labels.count("darts_factorized_reduce") == 16


def test_auxiliary_head_runs_in_training_only_and_drop_path_keeps_eval_exact():
    torch.manual_seed(0)
    net = build_darts_network(v2(8, 5), CIFAR10, auxiliary=True)
    x = torch.randn(4, 3, 32, 32)
    net.train()
    net(x)
    assert net.auxiliary_logits.shape == (4, 10)
    net.eval()
    ref = net(x)
    assert net.auxiliary_logits is None
    net.set_drop_path(0.3)
    assert torch.equal(net(x), ref)                   # eval: no drop path
    net.train()
    a, b = net(x), net(x)
    assert not torch.equal(a, b)                      # training: random paths dropped
    with pytest.raises(ValueError, match="drop path"):
        net.set_drop_path(1.0)


def test_clear_errors():
    with pytest.raises(AssemblyError, match="stem width is 3C = 108"):
        build_network(v2(), CIFAR10, base_channels=16)
    with pytest.raises(AssemblyError, match="8×8 feature map"):
        build_darts_network(v2(8, 5), InputSpec(3, 16, 10), auxiliary=True)
    with pytest.raises(AssemblyError, match="C .* must be a positive integer"):
        build_network(darts_grammar(0, 8).sample(0), CIFAR10)
