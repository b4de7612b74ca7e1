"""The `Grammar` facade: the public interface the operators and the term parser use, pickling,
and the shape of the split package (issue 9)."""

from __future__ import annotations

import ast
import os
import pickle
import random

import pytest

import algebraic_nas.grammar as grammar_pkg
from algebraic_nas.grammar import Term, load_grammar, register_constraint
from algebraic_nas.grammar.sampling import Rejected, SampleContext

TOY = """
%zero zero
S ::= Residual2(OP, OP, OP) | Linear2(OP, B)
OP ::= conv | id | zero
B ::= fc
"""


@pytest.fixture(scope="module")
def toy():
    return load_grammar("toy.ebnf", text=TOY)


def test_counts_split_zero_and_other_terms(toy):
    assert toy.counts("OP", toy.root_depth) == (1, 2)
    assert toy.counts("B", toy.root_depth) == (0, 1)
    # Residual2: 8 + 3 * 4 (one zero) + 2 (zeros on both chain edges); Linear2: 2 (no zero)
    assert toy.counts("S", toy.root_depth) == (0, 24) and toy.size() == 24


def test_mutable_nonterminals_are_those_with_more_than_one_term(toy):
    assert toy.mutable_nonterminals == frozenset({"S", "OP"})
    fixed = load_grammar("f.ebnf", text="S ::= Linear2(B, B)\nB ::= fc\n")
    assert fixed.mutable_nonterminals == frozenset()
    with pytest.raises(ValueError, match="no subterm of this term can be mutated"):
        fixed.mutate(fixed.sample(0), 0)


def test_sampler_for_draws_terms_of_the_nonterminal_and_respects_need_nonzero(toy):
    ctx = SampleContext(random.Random(0))
    plain = toy.sampler_for("OP", toy.root_depth)
    nonzero = toy.sampler_for("OP", toy.root_depth, need_nonzero=True)
    assert {str(plain(ctx)) for _ in range(200)} == {"conv", "id", "zero"}
    assert {str(nonzero(ctx)) for _ in range(200)} == {"conv", "id"}
    assert toy.sampler_for("OP", toy.root_depth) is plain  # cached


def test_fresh_sampler_of_a_shared_nonterminal_ignores_the_value_in_the_context():
    g = load_grammar("s.ebnf", text="%shared C\nS ::= Linear2(C, C)\nC ::= conv | id | pool\n")
    ctx = SampleContext(random.Random(1))
    ctx.shared = {"C": g.parse("Linear2(conv, conv)").children[0]}
    shared = g.sampler_for("C", g.root_depth)
    fresh = g.sampler_for("C", None, fresh=True)
    assert {str(shared(ctx)) for _ in range(50)} == {"conv"}
    assert {str(fresh(ctx)) for _ in range(200)} == {"conv", "id", "pool"}


def test_shared_sampler_rejects_a_zero_value_where_zero_is_forbidden():
    g = load_grammar("z.ebnf", text="%zero zero\n%shared C\nS ::= Linear1(C)\nC ::= conv | zero\n")
    ctx = SampleContext(random.Random(0))
    ctx.shared = {"C": g.rules["C"][1].leaf}
    with pytest.raises(Rejected):
        g.sampler_for("C", g.root_depth, need_nonzero=True)(ctx)


def test_heads_index_the_alternatives_by_the_head_of_a_node(toy):
    assert toy.heads.first("OP") == frozenset({("conv", 0), ("id", 0), ("zero", 0)})
    (al,) = toy.heads.candidates("S", ("Linear2", 2))
    assert al.index == 1
    assert toy.heads.candidates("S", ("Linear3", 3)) == []


def test_zero_masks_of_a_topology(toy):
    masks = toy.zero_masks("Residual2", 3)  # edges (1,2), (1,3), (2,3)
    assert [m for m in range(8) if masks[m]] == [0b000, 0b001, 0b010, 0b100, 0b101]
    assert toy.zero_masks("conv", 0) is None
    assert load_grammar("n.ebnf", text="S ::= Residual2(conv, id, conv)\n").zero_masks("Residual2", 3) is None


def test_violated_constraint_names_the_first_failing_constraint():
    @register_constraint("facade_no_pool")
    def no_pool(term) -> bool:
        return "pool" not in str(term)

    g = load_grammar("c.ebnf", text="%constraint facade_no_pool\nS ::= Linear2(OP, OP)\nOP ::= conv | pool\n")
    assert g.violated_constraint(g.parse("Linear2(conv, conv)")) is None
    assert g.violated_constraint(_linear_of_pool_and_conv(g)) == "facade_no_pool"
    assert all("pool" not in str(g.sample(s)) for s in range(30))


def _linear_of_pool_and_conv(g):
    op = g.rules["OP"]
    return Term("S", 0, "Linear2", (op[1].leaf, op[0].leaf))


def test_canonicalizes_only_with_interchangeable_shared_nonterminals(toy):
    assert not toy.canonicalizes
    g = load_grammar(
        "m.ebnf",
        text="%shared M1, M2\nS ::= Linear2(L, L)\nL ::= M1 | M2\nM1 ::= Linear1(OP)\nM2 ::= Linear1(OP)\nOP ::= conv | id\n",
    )
    assert g.canonicalizes
    t = g.sample(3)
    assert g.canonical(t) == t


def test_a_pickled_grammar_samples_the_same_terms(toy):
    for g in (toy, load_grammar("hnb201")):
        g2 = pickle.loads(pickle.dumps(g))
        assert g2.size() == g.size()
        assert [str(g2.sample(s)) for s in range(5)] == [str(g.sample(s)) for s in range(5)]
        t = g.sample(7)
        assert g2.mutate(t, 3) == g.mutate(t, 3)


PACKAGE_DIR = os.path.dirname(grammar_pkg.__file__)


@pytest.mark.parametrize("module", ["operators.py", "sites.py", "termparse.py", "validation.py"])
def test_operators_and_the_parser_use_no_private_state_of_the_grammar(module):
    tree = ast.parse(open(os.path.join(PACKAGE_DIR, module)).read())
    private = [
        (n.lineno, n.attr)
        for n in ast.walk(tree)
        if isinstance(n, ast.Attribute) and isinstance(n.value, ast.Name) and n.value.id == "g" and n.attr.startswith("_")
    ]
    assert private == []


def test_no_grammar_module_is_over_about_400_lines():
    sizes = {f: sum(1 for _ in open(os.path.join(PACKAGE_DIR, f))) for f in os.listdir(PACKAGE_DIR) if f.endswith(".py")}
    assert {f: n for f, n in sizes.items() if n > 420} == {}
