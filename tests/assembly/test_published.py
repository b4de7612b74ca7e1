"""The published architectures shipped as terms build, and their counts are the papers' (issue 14)."""

from __future__ import annotations

import re

import pytest
import torch

from algebraic_nas.assembly import InputSpec, build_network
from algebraic_nas.grammar import load_grammar
from algebraic_nas.grammars.published import published, published_names


def build(name: str, spec=None):
    p = published(name)
    g = load_grammar(p.grammar)
    return build_network(g.parse(p.term), InputSpec(*(spec or p.spec)), prune=g.prune)


def n_params(module) -> int:
    return sum(t.numel() for t in module.parameters())


@pytest.mark.parametrize("name", published_names())
def test_every_published_architecture_builds_and_runs(name):
    torch.manual_seed(0)
    c, _, classes = published(name).spec
    net = build(name, (c, 32, classes)).eval()
    with torch.no_grad():
        assert net(torch.randn(1, c, 32, 32)).shape == (1, classes)


@pytest.mark.parametrize("name, count", [("hnb201_cifar10", 2_204_378), ("hnb201_cifar100", 961_716),
                                         ("hnb201_cifartile", 2_356_036)])
def test_hnb201_best_architectures_have_the_papers_parameter_counts(name, count):
    p = published(name)
    assert n_params(build(name)) == count
    assert round(count / 1e6, 3) == p.published_params / 1e6  # printed as "#params 2.204 MB" (millions)


def mbconv(c_in: int, c_out: int, k: int, e: int, se: float = 0.0) -> int:
    """MnasNet's MBConv: 1×1 expand + BN, k×k depthwise + BN, SE (two 1×1 convs with bias, squeezing
    to int(c_in·se)), 1×1 project + BN (BN: 2 parameters per channel)."""
    mid = c_in * e
    hidden = int(c_in * se)
    se_params = (mid * hidden + hidden) + (hidden * mid + mid) if se else 0
    return (c_in * mid + 2 * mid) + (k * k * mid + 2 * mid) + se_params + (mid * c_out + 2 * c_out)


def test_mnasnet_a1_stages_count_as_in_the_paper():
    stage2 = mbconv(16, 24, 3, 6) + mbconv(24, 24, 3, 6)                   # MBConv6 3×3, 24 ch, ×2
    stage3 = mbconv(24, 40, 5, 3, 0.25) + 2 * mbconv(40, 40, 5, 3, 0.25)   # MBConv3 5×5 SE, 40 ch, ×3
    stage4 = mbconv(40, 80, 3, 6) + 3 * mbconv(80, 80, 3, 6)               # MBConv6 3×3, 80 ch, ×4
    assert stage2 + stage3 + stage4 == 334_746
    assert n_params(build("mnasnet_a1_stages_2_4").body) == 334_746


def test_autodeeplab_follows_the_published_path():
    p = published("autodeeplab_cityscapes")
    steps = re.findall(r"(Same|Down|Up)\(Darts", p.term)
    assert steps == ["Same", "Same", "Same", "Down", "Down", "Up", "Down", "Same", "Down", "Same", "Up", "Up"]
    net = build("autodeeplab_cityscapes", (3, 64, 19))
    assert net(torch.randn(1, 3, 64, 64)).shape == (1, 19)


@pytest.mark.parametrize("name, count", [("darts_v2", 3_349_342), ("darts_v1", 3_169_414)])
def test_darts_genotypes_have_network_cifars_parameter_count(name, count):
    from algebraic_nas.interop import convert

    from .test_darts_network import _pairs, network_cifar_params

    p = published(name)
    term = load_grammar(p.grammar).parse(p.term)
    assert n_params(build(name)) == count == network_cifar_params(36, 20, _pairs(term.children[2]),
                                                                  _pairs(term.children[3]))
    assert convert("darts_eval", convert("darts_eval", p.term)) == p.term  # genotype <-> term round trip
    if p.published_params:
        assert round(count / 1e6, 1) == p.published_params / 1e6  # the paper's "3.3 M"
