"""NAGO's generator networks: merges, NAGO's width rule, the paper's CIFAR-10 optimum, training and search."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from algebraic_nas.assembly import AssemblyError, InputSpec, Shape, build_network, get_merge
from algebraic_nas.assembly.merges import AttentionSum, ConcatProject, WeightedSum
from algebraic_nas.assembly.network import conv_params_per_unit_width, default_budget, term_budget
from algebraic_nas.grammar import load_grammar

from .helpers import leaf, num, op

DIGITS = InputSpec(1, 8, 10)
CIFAR10 = InputSpec(3, 32, 10)
#: The paper's CIFAR-10 optimum (BOHB): top (8, 5, 0.6), mid (1, 0.7), bottom (5, 4, 0.2).
CIFAR_OPTIMUM = ("Budget(WattsStrogatz(8, 5, 0.6, 0.333, 0.333, 0.333, 1, 2, 4, ErdosRenyi(1, 0.7, "
                 "WattsStrogatz(5, 4, 0.2, Linear3(relu, conv3x3, batch), wsum), wsum), wsum))")


def staged_triangle(budget: int) -> object:
    """``Budget(B, WattsStrogatz(3, 2, 0.0, 1, 1, 1, 1, 2, 4, conv3x3))``: a triangle, one node per stage."""
    ws = op("WattsStrogatz", *map(num, (3, 2, 0.0, 1, 1, 1, 1, 2, 4)), leaf("conv3x3"))
    return op("Budget", num(budget), ws)


def conv_weights(net: nn.Module) -> int:
    return sum(m.weight.numel() for m in net.modules() if isinstance(m, nn.Conv2d))


def test_width_rule_on_a_hand_computed_case():
    # P = 0: the ring lattice of 3 nodes is the triangle 0-1, 1-2, 0-2; stages 0, 1, 2 (widths 1, 2, 4
    # at unit width). Convolution weights at unit width: node 0 conv3x3 1→1 (9); node 1 transition
    # 1x1 1→2 (2) + conv3x3 2→2 (36); node 2 transitions 1→4 (4) and 2→4 (8) + conv3x3 4→4 (144).
    term = staged_triangle(10_000)
    assert conv_params_per_unit_width(term, DIGITS) == 9 + 2 + 36 + 4 + 8 + 144 == 203
    net = build_network(term, DIGITS)
    assert net.base_channels == 7  # floor(sqrt(10000 / 203)) = floor(7.02)
    assert conv_weights(net.body) == 203 * 49 <= 10_000
    assert net.body.out_shape == Shape(28, 2, 2)  # stage 2: width 4 · 7, resolution 8 / 4
    # an explicit budget or width wins over the term's
    assert build_network(term, DIGITS, budget=40_000).base_channels == 14  # floor(sqrt(40000 / 203))
    assert build_network(term, DIGITS, base_channels=5).base_channels == 5


def test_default_budgets_follow_the_input_size():
    assert default_budget(DIGITS) == 250_000 and default_budget(CIFAR10) == 4_000_000
    assert default_budget(InputSpec(3, 64, 4)) == 6_000_000
    assert term_budget(op("Budget", leaf("conv3x3")), CIFAR10) == 4_000_000
    assert term_budget(staged_triangle(123), CIFAR10) == 123 and term_budget(leaf("conv3x3"), CIFAR10) is None


@pytest.mark.parametrize("name", ["wsum", "cat", "attention", "mean"])
def test_each_merge_aligns_shapes_and_passes_gradients(name):
    spec = get_merge(name)
    shapes = [Shape(4, 8, 8), Shape(8, 4, 4), Shape(8, 4, 4)]
    assert spec.out_shape(shapes) == Shape(8, 4, 4)  # widest width, smallest resolution
    module = spec.factory(shapes)
    xs = [torch.randn(2, *s, requires_grad=True) for s in shapes]
    y = module(xs)
    assert y.shape == (2, 8, 4, 4)
    y.square().sum().backward()
    assert all(x.grad is not None and x.grad.abs().sum() > 0 for x in xs)
    assert all(p.grad is not None for p in module.parameters())


def test_merge_semantics_on_equal_shapes():
    shapes = [Shape(3, 4, 4)] * 2
    a, b = torch.randn(2, 3, 4, 4), torch.randn(2, 3, 4, 4)
    wsum = WeightedSum(shapes)
    with torch.no_grad():
        wsum.gain.copy_(torch.tensor([2.0, -1.0]))
    torch.testing.assert_close(wsum([a, b]), 2 * a - b)
    # attention weights are a softmax over the branches: identical branches come out unchanged
    torch.testing.assert_close(AttentionSum(shapes)([a, a]), a)
    assert ConcatProject(shapes).project[0].in_channels == 6


@pytest.mark.parametrize("merge,module", [(None, WeightedSum), ("wsum", WeightedSum), ("cat", ConcatProject),
                                          ("attention", AttentionSum)])
def test_the_term_chooses_the_merge_of_a_generator(merge, module):
    # ring 0-1-2-3-0 (P = 0): node 3 merges nodes 0 and 2
    args = [num(4), num(3), num(0.0), leaf("conv3x3")] + ([leaf(merge, "MERGE")] if merge else [])
    net = build_network(op("WattsStrogatz", *args), DIGITS)
    assert [type(m) for m in net.body.merges] == [module]
    net(torch.randn(2, 1, 8, 8)).sum().backward()


def test_a_bad_merge_argument_names_its_position():
    with pytest.raises(AssemblyError, match="must name a merge.*path 4"):
        build_network(op("WattsStrogatz", num(4), num(3), num(0.0), leaf("conv3x3"), op("Linear1", leaf("id"))), DIGITS)
    with pytest.raises(AssemblyError, match="no merge registered as 'nope'"):
        build_network(op("WattsStrogatz", num(4), num(3), num(0.0), leaf("conv3x3"), leaf("nope")), DIGITS)


def test_the_papers_cifar10_optimum_builds_within_its_budget():
    grammar = load_grammar("nago_hnag")
    term = grammar.parse(CIFAR_OPTIMUM)
    for seed in (0, 1):
        net = build_network(term, CIFAR10, seed=seed)
        params = sum(p.numel() for p in net.parameters())
        assert 3_000_000 < params <= 4_000_000, params
        assert net.body.out_shape.h == 8  # three stages: 32, 16, 8
    x = torch.randn(2, 3, 32, 32)
    assert net(x).shape == (2, 10)


@pytest.mark.parametrize("name", ["nago_hnag", "rnag"])
def test_generator_grammars_train_on_the_embedded_data(name):
    from algebraic_nas.evaluation import evaluate

    term = "Budget(Linear5(WattsStrogatz(10, 4, 0.5, Linear3(relu, conv3x3, batch), wsum), nago_transition, " \
           "WattsStrogatz(10, 4, 0.5, Linear3(relu, conv3x3, batch), wsum), nago_transition, " \
           "WattsStrogatz(10, 4, 0.5, Linear3(relu, conv3x3, batch), wsum)))" if name == "rnag" else \
           "Budget(WattsStrogatz(4, 2, 0.5, 0.333, 0.333, 0.333, 1, 2, 4, ErdosRenyi(2, 0.5, " \
           "WattsStrogatz(3, 2, 0.5, Linear3(relu, conv3x3, batch), wsum), wsum), wsum))"
    # three epochs: the training loss falls every epoch and the error is far below chance (0.9);
    # measured on seed 3: nago_hnag 0.511 (losses 2.08, 1.75, 1.56), rnag 0.089 (1.77, 0.96, 0.56)
    rec = evaluate(term, name, "digits", "tiny", seed=3, overrides={"epochs": 3})
    assert rec.ok, rec.reason
    assert 0 < rec.params <= 260_000 and rec.flops > 0
    assert all(b < a for a, b in zip(rec.train_losses, rec.train_losses[1:])), rec.train_losses
    assert rec.valid_error < 0.75, rec.valid_error


@pytest.mark.parametrize("name", ["nago_hnag", "rnag"])
def test_a_short_search_runs_on_the_generator_grammars(name, tmp_path):
    from hydra import compose, initialize_config_module

    from algebraic_nas.search.config import register_configs
    from algebraic_nas.search.runner import run_search
    from algebraic_nas.search.store import Store

    register_configs()
    with initialize_config_module(version_base="1.3", config_module="algebraic_nas.conf"):
        cfg = compose("search", overrides=[f"grammar.name={name}", "dataset=digits", "protocol=tiny", "strategy=random",
                                           "executor=inprocess", "seed=1", "device=cpu", "budget.evaluations=3",
                                           "budget.wall_time_s=null", "progress=none", "report=false"])
    result = run_search(cfg, tmp_path)
    assert result.counts["done"] == 3
    with Store(tmp_path, readonly=True) as st:
        rows = st.rows()
    assert len(rows) == 3 and all(r.status == "done" and r.term.startswith("Budget(") for r in rows)
