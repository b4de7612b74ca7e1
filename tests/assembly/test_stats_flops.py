"""FLOPs counted by module hooks equal torch's FlopCounterMode (issue 23, item 8)."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from algebraic_nas.assembly import InputSpec, build_network, network_stats
from algebraic_nas.assembly.stats import countable_by_hooks
from algebraic_nas.grammar import load_grammar


def _torch_flops(net: nn.Module, spec: InputSpec) -> int:
    net.eval()
    counter = FlopCounterMode(display=False)
    with torch.no_grad(), counter:
        net(torch.zeros(1, spec.channels, spec.resolution, spec.resolution))
    return int(counter.get_total_flops())


@pytest.mark.parametrize("grammar", ["hnb201", "nb201_cell", "darts", "nago_hnag", "rnag", "mobilenet", "hierarchical_cell"])
def test_hook_count_equals_torch_counter_on_sampled_networks(grammar):
    g = load_grammar(grammar)
    spec = InputSpec(3, 16, 10)
    for seed in range(2):
        net = build_network(g.sample(seed), spec, prune=g.prune)
        assert countable_by_hooks(net), "every module the assembler builds is counted by hooks"
        assert network_stats(net, spec)["flops"] == _torch_flops(net, spec)


class _FunctionalConv(nn.Module):
    """A user's module that calls a convolution without an nn.Conv2d: only torch's counter sees it."""

    def __init__(self) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(4, 3, 3, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, self.weight, padding=1)


def test_unknown_leaf_module_falls_back_to_torch_counter():
    net = nn.Sequential(_FunctionalConv(), nn.Flatten(), nn.Linear(4 * 8 * 8, 5))
    spec = InputSpec(3, 8, 5)
    assert not countable_by_hooks(net)
    # 2 * (4*8*8 outputs) * 3 * 9 for the convolution, 2 * 256 * 5 for the linear layer
    assert network_stats(net, spec)["flops"] == 2 * 256 * 27 + 2 * 256 * 5 == _torch_flops(net, spec)
