"""The shipped NB201 grammars build NB201's networks (REFERENCE §1-3)."""

from __future__ import annotations

import random

import pytest
import torch

from algebraic_nas.assembly import InputSpec, build_network, network_stats
from algebraic_nas.assembly.graph import flat_graph, fold_graphs

CIFAR10 = InputSpec(3, 32, 10)


@pytest.fixture(scope="module")
def hnb201():
    from algebraic_nas.grammar import load_grammar

    return load_grammar("hnb201")


def test_nb201_cell_grammar_all_conv3x3_is_nb201(tmp_path):
    from algebraic_nas.grammar import load_grammar

    g = load_grammar("nb201_cell")
    block = "Linear3(relu, conv3x3, batch)"
    cell = f"Cell({', '.join([block] * 6)})"
    stage = f"Linear5({', '.join([cell] * 5)})"
    term = g.parse(f"Linear5({stage}, down, {stage}, down, {stage})")
    stats = network_stats(build_network(term, CIFAR10), CIFAR10)
    assert stats["params"] == 1_531_546
    assert stats["output_shape"] == [1, 10]


def test_hnb201_networks_have_two_downsamplings_and_nb201_stem_and_head(hnb201):
    rng = random.Random(7)
    for _ in range(4):
        net = build_network(hnb201.sample(rng), CIFAR10)
        # stem Conv3×3(3→16) + BN(16); base 16 → 64 channels at 8×8 after exactly two `down`s
        assert net.stem[0].weight.shape == (16, 3, 3, 3) and net.stem[0].bias is None
        assert net.body.in_shape == (16, 32, 32)
        assert net.body.out_shape == (64, 8, 8)
        assert [type(m).__name__ for m in net.head] == ["BatchNorm2d", "ReLU", "AdaptiveAvgPool2d", "Flatten", "Linear"]
        assert net.head[-1].in_features == 64


def test_hnb201_layer_norms_are_eager_and_sized_by_resolution(hnb201):
    ident = "Cell(zero, zero, zero, id, zero, zero)"  # only e14: the identity
    first = "Cell(zero, zero, zero, Linear3(relu, conv3x3, layer), zero, zero)"
    last = "Cell(zero, zero, zero, Linear3(mish, dconv3x3, layer), zero, zero)"
    c = f"Linear2({ident}, {ident})"
    term = hnb201.parse(
        f"Linear3(Linear3(Linear2({first}, {ident}), {c}, Linear2({ident}, down)), "
        f"Linear3({c}, {c}, Linear2({last}, down)), Linear3({c}, {c}, {ident}))"
    )
    net = build_network(term, CIFAR10)
    stem, head = 3 * 16 * 9 + 32, 2 * 64 + 64 * 10 + 10
    down = lambda c: c * 2 * c * 9 + 4 * c + 2 * c * 2 * c * 9 + 4 * c + c * 2 * c  # noqa: E731
    conv_layer_16 = 16 * 16 * 9 + 2 * 16 * 32 * 32  # conv3x3 + LayerNorm(16, 32, 32)
    dconv_layer_32 = 32 * 9 + 2 * 32 * 16 * 16  # dconv3x3 + LayerNorm(32, 16, 16)
    assert sum(p.numel() for p in net.parameters()) == stem + conv_layer_16 + down(16) + dconv_layer_32 + down(32) + head


def test_fold_graphs_with_the_grammar(hnb201):
    term = hnb201.sample(random.Random(3))
    graphs = fold_graphs(hnb201, term)
    assert len(graphs) == 5
    labels = [sorted(d["label"] for _, d in g.nodes(data=True)) for g in graphs]
    assert labels[0] == sorted(["input", "output", f"D2 {term.resolve().symbol}"])
    assert all(lab.count("input") == 1 and lab.count("output") == 1 for lab in labels)
    assert any("CL Cell" in lab for lab in labels[2:4])
    # coarser levels never have more nodes than the flat graph
    flat = flat_graph(term)
    assert [g.number_of_nodes() for g in graphs] == sorted(g.number_of_nodes() for g in graphs)
    assert graphs[-1].number_of_nodes() <= flat.number_of_nodes()


def test_nb201_cell_forward_is_deterministic_given_seed():
    from algebraic_nas.grammar import load_grammar

    g = load_grammar("nb201_cell")
    term = g.sample(random.Random(0))
    torch.manual_seed(1)
    a = build_network(term, CIFAR10)
    torch.manual_seed(1)
    b = build_network(term, CIFAR10)
    x = torch.randn(2, 3, 32, 32)
    a.eval(), b.eval()
    assert torch.equal(a(x), b(x))
