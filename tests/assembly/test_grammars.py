"""Every shipped grammar: sampled terms build, run forward and backward, and give graphs."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
import torch

import algebraic_nas
from algebraic_nas.assembly import build_network, network_stats
from algebraic_nas.assembly.graph import flat_graph, fold_graphs
from algebraic_nas.evaluation import get_dataset_spec

GRAMMAR_DIR = Path(algebraic_nas.__file__).parent / "grammars"
#: The dataset each grammar is exercised on (its input shape and classes); default CIFAR-10. The
#: generator spaces are sized by their parameter budget, small for the embedded 8×8 data.
DATASET_OF = {"mobilenet": "imagenet16-120", "toy": "digits", "nago_hnag": "digits", "rnag": "digits"}
SHIPPED = sorted(p.stem for p in GRAMMAR_DIR.glob("*.ebnf"))
N_TERMS = 3


def test_the_nb201_grammars_are_shipped():
    assert {"hnb201", "toy", "nago_hnag", "rnag"} <= set(SHIPPED)


@pytest.mark.parametrize("name", SHIPPED)
def test_sampled_terms_build_and_run_forward_backward(name):
    from algebraic_nas.grammar import load_grammar

    torch.manual_seed(0)
    grammar = load_grammar(name)
    spec = get_dataset_spec(DATASET_OF.get(name, "cifar10"))
    rng = random.Random(1234)
    for _ in range(N_TERMS):
        term = grammar.sample(rng)
        net = build_network(term, spec)
        x = torch.randn(2, spec.channels, spec.resolution, spec.resolution)
        y = net(x)
        assert y.shape == (2, spec.classes), str(term)
        assert torch.isfinite(y).all(), str(term)
        y.square().mean().backward()
        for pname, p in net.named_parameters():
            assert p.grad is not None, f"{pname} got no gradient in {term}"
            assert torch.isfinite(p.grad).all(), f"{pname} has a non-finite gradient in {term}"
        stats = network_stats(net, spec)
        assert stats["params"] == sum(p.numel() for p in net.parameters()) > 0
        assert stats["output_shape"] == [1, spec.classes]
        for g in [flat_graph(term), *fold_graphs(grammar, term)]:
            labels = [d["label"] for _, d in g.nodes(data=True)]
            assert labels.count("input") == 1 and labels.count("output") == 1, str(term)
