"""Graph → nn.Module: parameter counts checked by hand, shapes, errors, pickling, compile, CUDA."""

from __future__ import annotations

import io
import pickle

import pytest
import torch
from torch import nn

from algebraic_nas.assembly import (
    AssemblyError,
    InputSpec,
    Shape,
    build_network,
    network_stats,
    register_primitive,
    register_topology,
)
from algebraic_nas.assembly.network import build_body

from .helpers import cell, leaf, nb201, op

C16 = Shape(16, 32, 32)
CIFAR10 = InputSpec(3, 32, 10)
STEM = 3 * 16 * 9 + 2 * 16  # Conv3×3(3→16) + BN(16)


def head(c: int, classes: int = 10) -> int:
    return 2 * c + c * classes + classes  # BN(c) + Linear(c, classes)


def n_params(m: nn.Module) -> int:
    return sum(p.numel() for p in m.parameters())


@pytest.mark.parametrize(
    "symbol, expected",
    [
        ("id", 0), ("avg_pool", 0), ("relu", 0), ("hardswish", 0), ("mish", 0),
        ("conv1x1", 16 * 16), ("conv3x3", 16 * 16 * 9), ("dconv3x3", 16 * 9),
        ("batch", 2 * 16), ("instance", 2 * 16), ("layer", 2 * 16 * 32 * 32),
        # down: ReLU-Conv3×3(16→32, s2)-BN, ReLU-Conv3×3(32→32)-BN, AvgPool + Conv1×1(16→32)
        ("down", 16 * 32 * 9 + 64 + 32 * 32 * 9 + 64 + 16 * 32),
        ("nor_conv_3x3", 16 * 16 * 9 + 32), ("nor_conv_1x1", 16 * 16 + 32),
    ],
)
def test_primitive_parameter_counts(symbol, expected):
    body, out = build_body(op("Linear1", leaf(symbol)), C16)
    assert n_params(body) == expected
    x = torch.randn(2, *C16)
    y = body(x)
    assert tuple(y.shape[1:]) == tuple(out)
    assert out == (Shape(32, 16, 16) if symbol == "down" else C16)
    assert torch.isfinite(y).all()


def test_primitive_semantics():
    x = torch.randn(2, 16, 8, 8)
    body, _ = build_body(leaf("avg_pool"), Shape(16, 8, 8))
    # count_include_pad=False: the corner averages only the 4 pixels inside the image
    assert torch.allclose(body(x)[:, :, 0, 0], x[:, :, :2, :2].mean(dim=(2, 3)), atol=1e-6)
    body, _ = build_body(leaf("id"), Shape(16, 8, 8))
    assert body(x) is x
    body, _ = build_body(leaf("layer"), Shape(16, 8, 8))
    (ln,) = [m for m in body.modules() if isinstance(m, nn.LayerNorm)]
    assert tuple(ln.normalized_shape) == (16, 8, 8)


def test_small_network_counts_by_hand():
    t = op("Linear3", leaf("relu"), leaf("conv3x3"), leaf("batch"))
    assert n_params(build_network(t, CIFAR10)) == STEM + 2304 + 32 + head(16)
    # Residual2(a, b, c) = b(x) + c(a(x)): conv3x3 → layer plus the identity skip
    t = op("Residual2", leaf("conv3x3"), leaf("id"), leaf("layer"))
    assert n_params(build_network(t, CIFAR10)) == STEM + 2304 + 2 * 16 * 32 * 32 + head(16)
    # one down: the head sees 32 channels
    t = op("Linear2", leaf("conv1x1"), leaf("down"))
    assert n_params(build_network(t, CIFAR10)) == STEM + 256 + 14464 + head(32)


def test_dead_branches_hold_no_parameters():
    # e23 = conv1x1 leads to node 3, which reaches the output only through e34 = zero
    t = cell("conv3x3", "zero", "conv1x1", "zero", "conv3x3", "zero")
    body, _ = build_body(t, C16)
    assert n_params(body) == 2 * 2304
    x = torch.randn(2, *C16)
    convs = [m for m in body.modules() if isinstance(m, nn.Conv2d)]
    assert torch.allclose(body(x), convs[1](convs[0](x)) if len(convs) == 2 else None)


def test_sum_of_branches_matches_manual_computation():
    t = op("Residual3", leaf("conv1x1"), leaf("relu"), leaf("avg_pool"), leaf("batch"))
    body, _ = build_body(t, C16)
    body.eval()
    conv = next(m for m in body.modules() if isinstance(m, nn.Conv2d))
    bn = next(m for m in body.modules() if isinstance(m, nn.BatchNorm2d))
    x = torch.randn(2, *C16)
    pool = nn.AvgPool2d(3, 1, 1, count_include_pad=False)
    assert torch.allclose(body(x), pool(x) + bn(torch.relu(conv(x))), atol=1e-6)


def test_nb201_all_conv3x3_has_the_published_parameter_count():
    net = build_network(nb201(cell(*["nor_conv_3x3"] * 6)), CIFAR10)
    stats = network_stats(net, CIFAR10)
    assert stats["params"] == 1_531_546  # NAS-Bench-201's figure for this cell on CIFAR-10
    assert stats["output_shape"] == [1, 10]
    # torch's counter: 2 FLOPs per multiply-add; NB201 reports ≈220 M multiply-adds for this network
    assert 219e6 < stats["macs"] < 221e6 and stats["flops"] == 2 * stats["macs"]


def test_unknown_terminal_names_terminal_and_position():
    t = op("Linear2", leaf("conv3x3"), op("Residual2", leaf("id"), leaf("conv9x9"), leaf("relu")))
    with pytest.raises(AssemblyError, match=r"conv9x9.*path 1\.1 \(character 31"):
        build_network(t, CIFAR10)
    assert str(t)[31:].startswith("conv9x9")


def test_shape_mismatch_names_the_merge():
    t = op("Linear2", leaf("relu"), op("Residual2", leaf("conv3x3"), leaf("down"), leaf("conv3x3")))
    with pytest.raises(AssemblyError, match=r"shape mismatch.*Residual2.*path 1 .*down.*32×16×16.*16×32×32"):
        build_network(t, CIFAR10)


def test_user_registered_blocks_are_built():
    @register_primitive("test_widen", out_shape=lambda s: Shape(2 * s.c, s.h, s.w))
    def widen(shape):
        return nn.Conv2d(shape.c, 2 * shape.c, 1, bias=False)

    register_topology("TestTriangle", edges=((1, 2), (2, 3), (1, 3)))
    t = op("TestTriangle", leaf("test_widen"), leaf("conv1x1"), leaf("test_widen"))
    body, out = build_body(t, C16)
    assert out == Shape(32, 32, 32)
    assert n_params(body) == 2 * (16 * 32) + 32 * 32
    # the grammar package sees the edge list too (for its zero constraint)
    from algebraic_nas.grammar.topologies import topology_edges

    assert topology_edges("TestTriangle", 3) == ((1, 2), (2, 3), (1, 3))


def test_all_parameters_exist_before_the_first_forward_and_pickle():
    t = op("Linear3", cell("conv3x3", "layer", "id", "instance", "avg_pool", "dconv3x3"), leaf("down"), leaf("layer"))
    net = build_network(t, CIFAR10)
    before = n_params(net)
    assert not any(isinstance(p, nn.parameter.UninitializedParameter) for p in net.parameters())
    x = torch.randn(2, 3, 32, 32)
    y = net(x)
    assert n_params(net) == before
    buf = io.BytesIO()
    torch.save(net, buf)
    clone = pickle.loads(pickle.dumps(net))
    net.eval(), clone.eval()
    assert torch.equal(net(x), clone(x))


def test_forward_backward_gradients_reach_every_parameter():
    t = op("Residual2", cell("conv3x3", "avg_pool", "id", "conv1x1", "zero", "dconv3x3"), leaf("down"), leaf("down"))
    net = build_network(t, CIFAR10)
    y = net(torch.randn(2, 3, 32, 32))
    y.square().mean().backward()
    for name, p in net.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), name


@pytest.mark.slow
def test_torch_compile_matches_eager():
    torch._dynamo.reset()
    t = op("Residual2", leaf("conv3x3"), leaf("id"), op("Linear2", leaf("relu"), leaf("batch")))
    net = build_network(t, InputSpec(3, 8, 4)).eval()
    x = torch.randn(2, 3, 8, 8)
    compiled = torch.compile(net, backend="aot_eager", fullgraph=True)  # one graph: no breaks
    assert torch.allclose(compiled(x), net(x), atol=1e-5)
    net.train()
    compiled(x).square().mean().backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in net.parameters())


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_cuda_forward_backward_and_compile():
    t = nb201(cell("nor_conv_3x3", "avg_pool", "id", "nor_conv_1x1", "zero", "id"), per_stage=2)
    net = build_network(t, CIFAR10).cuda()
    x = torch.randn(4, 3, 32, 32, device="cuda")
    y = net(x)
    y.sum().backward()
    assert y.device.type == "cuda" and torch.isfinite(y).all()
    assert all(p.grad is not None and p.grad.is_cuda for p in net.parameters())
    stats = network_stats(net, CIFAR10)
    assert stats["output_shape"] == [1, 10]
    net.eval()
    compiled = torch.compile(net)
    with torch.no_grad():
        assert torch.allclose(compiled(x), net(x), atol=1e-3)


def test_topology_with_wrong_arity_is_named():
    t = op("Linear2", leaf("relu"), op("Cell", *[leaf("conv3x3")] * 5))
    with pytest.raises(AssemblyError, match=r"topology 'Cell' does not take 5 arguments.*path 1"):
        build_network(t, CIFAR10)


def test_user_block_named_in_a_user_grammar_file_is_built(tmp_path):
    from algebraic_nas.assembly import register_zero
    from algebraic_nas.grammar import load_grammar

    @register_primitive("test_conv5x5")
    def conv5x5(shape):
        return nn.Conv2d(shape.c, shape.c, 5, padding=2, bias=False)

    register_topology("TestFork", edges=((1, 2), (1, 3), (2, 4), (3, 4), (1, 4)))
    register_zero("test_nothing")
    path = tmp_path / "mine.ebnf"
    path.write_text("%zero test_nothing\n"
                    "NET ::= TestFork(OP, OP, OP, OP, OP)\n"
                    "OP  ::= test_conv5x5 | id | test_nothing\n")
    g = load_grammar(str(path))
    term = g.parse("TestFork(test_conv5x5, test_nothing, id, id, test_conv5x5)")
    body, out = build_body(term, C16)
    # edges (1,3) is zero, so (3,4) is dead: two 5×5 convolutions remain
    assert n_params(body) == 2 * 16 * 16 * 25
    assert body(torch.randn(1, *C16)).shape == (1, *C16)


def test_a_term_builds_as_its_grammar_says():
    """Issue 23.11: the README's snippet, given the grammar, builds NB201's TinyNetwork for an
    nb201_cell term (``%prune none``: the convolutions behind ``none`` edges are built too)."""
    from algebraic_nas.grammar import load_grammar
    from algebraic_nas.interop.nb201 import nb201_to_term

    g = load_grammar("nb201_cell")
    term = g.parse(nb201_to_term("|nor_conv_3x3~0|+|none~0|none~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|"))
    spec = InputSpec(channels=3, resolution=32, classes=10)

    def params(net: nn.Module) -> int:
        return sum(p.numel() for p in net.parameters())

    # NB201's count (tests/assembly/test_nb201_network.py works it out by hand); pruned: 802,426
    assert params(build_network(term, spec, grammar=g)) == 1_045_466
    assert params(build_network(term, spec, grammar="nb201_cell")) == 1_045_466
    assert params(build_network(term, spec)) == 802_426  # no grammar: the default, paths
    assert params(build_network(term, spec, grammar=g, prune="paths")) == 802_426  # prune= overrides
