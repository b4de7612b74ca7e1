"""The topology registry (torch-free): fixed, arity and generator topologies, seeds, zero."""

from __future__ import annotations

import random

import pytest

from algebraic_nas.grammar import (
    Template,
    TemplateEdge,
    get_template,
    is_topology,
    list_topologies,
    load_grammar,
    position_seed,
    register_topology,
    register_zero,
    topology_edges,
)


def _chain(values, seed):
    (n,) = values
    return Template.chain(int(n), arg=1)  # n edges in a row, each carrying child 1


def _random_dag(values, seed):
    """A chain of n nodes plus, for each pair (i, j > i + 1), a skip edge with probability 1/2."""
    (n,) = values
    rng = random.Random(seed)
    pairs = [(i, i + 1) for i in range(1, int(n))]
    pairs += [(i, j) for i in range(1, int(n)) for j in range(i + 2, int(n) + 1) if rng.random() < 0.5]
    return Template(int(n), tuple(TemplateEdge(a, b, arg=1) for a, b in pairs))


if not is_topology("Chain"):
    register_topology("Chain", _chain, generator=True)
if not is_topology("RandomDAG"):
    register_topology("RandomDAG", _random_dag, generator=True)

CHAIN_GRAMMAR = """
NET ::= Chain(int(1, 4), OP) | Linear2(NET, NET)
OP  ::= conv3x3 | avg_pool
%max_depth 3
"""


def test_builtins_are_listed_and_filterable():
    names = list_topologies()
    assert {"Cell", "Residual2", "Residual3", "Diamond2", "DAG4", "DAG5", "Darts", "DartsReduce",
            "Up", "Same", "Down", "Linear<K>"} <= set(names)
    assert list_topologies("DAG*") == ["DAG4", "DAG5"]
    assert is_topology("Linear7") and is_topology("Cell") and not is_topology("conv3x3")


def test_fixed_edge_list_is_one_line_and_reaches_the_grammar():
    register_topology("TestTriangle2", edges=((1, 2), (2, 3), (1, 3)))
    t = get_template("TestTriangle2", 3)
    assert t.n_nodes == 3 and [e.arg for e in t.edges] == [0, 1, 2] and t.merge(3) == "sum"
    assert get_template("TestTriangle2", 2) is None  # wrong arity
    assert topology_edges("TestTriangle2", 3) == ((1, 2), (2, 3), (1, 3))


def test_merges_are_declared_per_node():
    register_topology("TestCat2", edges=((1, 2), (1, 2)), merges={2: "concat"})
    t = get_template("TestCat2", 2)
    assert t.merge(2) == "concat" and t.concat == frozenset({2})
    assert topology_edges("TestCat2", 2) is None  # not a plain edge list: opaque to the zero constraint
    assert Template.from_edges(((1, 2),), {2: "sum"}).merges == ()  # sum is the default spelling
    with pytest.raises(ValueError):
        Template.from_edges(((1, 2),), {1: "concat"})  # the input node merges nothing


def test_arity_only_functions_keep_working():
    register_topology("TestFan", lambda arity: tuple((1, 2) for _ in range(arity)) if arity >= 2 else None)
    assert topology_edges("TestFan", 3) == ((1, 2), (1, 2), (1, 2))
    assert get_template("TestFan", 1) is None
    assert get_template("Linear3", 3).n_nodes == 4 and get_template("Linear3", 2) is None


def test_registering_a_name_twice_warns_and_replaces():
    register_topology("TestTwice", edges=((1, 2),))
    with pytest.warns(UserWarning, match="topology 'TestTwice' registered again"):
        register_topology("TestTwice", edges=((1, 2), (2, 3)))
    assert get_template("TestTwice", 2) is not None and get_template("TestTwice", 1) is None


def test_generator_template_follows_the_values():
    t = get_template("Chain", 2, values=(3,), seed=5)
    assert t.n_nodes == 4 and len(t.edges) == 3 and {e.arg for e in t.edges} == {1}
    assert get_template("Chain", 1, values=(3,)) is None  # Chain(3) has no operation to place
    assert topology_edges("Chain", 2) is None  # generators are opaque to the zero constraint


def test_generator_is_deterministic_in_its_seed():
    a = [get_template("RandomDAG", 2, values=(6,), seed=s) for s in range(8)]
    assert a == [get_template("RandomDAG", 2, values=(6,), seed=s) for s in range(8)]
    assert len(set(a)) > 1  # the seed changes the graph


def test_position_seed_is_stable_and_position_dependent():
    # pinned: the derivation must not depend on the process (no salted hash)
    assert position_seed(0, (1, 0)) == 2493362572927528804
    assert len({position_seed(s, p) for s in (0, 1) for p in ((), (0,), (1,), (0, 1), (1, 0))}) == 10
    assert 0 <= position_seed(123, (4, 5)) < 2**63


def test_generator_topology_in_a_grammar_counts_parses_and_folds():
    g = load_grammar("chain.ebnf", text=CHAIN_GRAMMAR)
    assert "Chain" in g.topologies()
    t = g.parse("Chain(3, conv3x3)")
    assert str(t) == "Chain(3, conv3x3)"
    assert g.size() > 8  # 4 lengths x 2 ops at depth 1, more by Linear2
    rng = random.Random(0)
    for _ in range(10):
        s = g.sample(rng)
        assert g.parse(str(s)) == s
        assert str(g.fold(s, 0)) == "NET"


def test_zero_is_one_set():
    from algebraic_nas.assembly import ZERO_OPS
    from algebraic_nas.grammar.topology_zero import ZERO_OPS as GRAMMAR_ZERO

    register_zero("test_void")
    assert ZERO_OPS is GRAMMAR_ZERO and "test_void" in ZERO_OPS and {"zero", "none"} <= set(ZERO_OPS)


def test_a_grammars_zero_is_the_assemblers_zero():
    """`%zero NAME` makes NAME a zero everywhere: the assembler removes its edges instead of
    looking for a primitive called NAME."""
    from algebraic_nas.assembly import InputSpec, build_network, network_stats
    from algebraic_nas.grammar import load_grammar
    from algebraic_nas.grammar.topology_zero import is_zero

    g = load_grammar("gap", text="%zero gap\nNET ::= Residual2(OP, OP, OP)\nOP ::= conv3x3 | gap\n")
    assert is_zero("gap")
    spec = InputSpec(3, 8, 2)
    with_gap = network_stats(build_network(g.parse("Residual2(conv3x3, gap, conv3x3)"), spec), spec)["params"]
    without = network_stats(build_network(g.parse("Residual2(conv3x3, conv3x3, conv3x3)"), spec), spec)["params"]
    assert with_gap < without
