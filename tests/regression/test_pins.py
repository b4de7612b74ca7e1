"""Behaviour pinned before the architecture redesign (issue 9): the seeded samples, sizes,
mutations, crossovers, folds, surrogate graphs, network sizes and BANAT proposals of the shipped
grammars must not change when the code is restructured. ``pins.json`` was written by ``pins.py``
on the code before the change."""

from __future__ import annotations

import json
import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))
import pins  # noqa: E402

EXPECTED = json.load(open(os.path.join(os.path.dirname(__file__), "pins.json")))


@pytest.mark.parametrize("name", sorted(EXPECTED["grammars"]))
def test_grammar_behaviour_is_unchanged(name):
    assert pins.grammar_pins(name) == EXPECTED["grammars"][name]


@pytest.mark.parametrize("name", sorted(EXPECTED["graphs"]))
def test_surrogate_graphs_are_unchanged(name):
    got = json.loads(json.dumps(pins.graph_pins(name)))  # tuples -> lists, as stored
    assert got == EXPECTED["graphs"][name]


@pytest.mark.parametrize("name", sorted(EXPECTED["networks"]))
def test_network_sizes_are_unchanged(name):
    assert pins.network_pins(name) == EXPECTED["networks"][name]


def test_banat_proposals_are_unchanged():
    assert pins.banat_pins() == EXPECTED["banat"]
