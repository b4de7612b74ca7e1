"""One test per class of grammar-file error and of term error; lint warnings."""

from __future__ import annotations

import warnings

import pytest

from algebraic_nas.grammar import GrammarError, Term, TermError, load_grammar


def fails(text, *, line=None, column=None, match=None, name="bad.ebnf"):
    with pytest.raises(GrammarError) as info:
        load_grammar(name, text=text)
    err = info.value
    assert err.file == name
    if line is not None:
        assert err.line == line, str(err)
    if column is not None:
        assert err.column == column, str(err)
    if match is not None:
        assert match in err.message, str(err)
    assert str(err).startswith(f"{name}:")
    return err


# ---------------------------------------------------------------- grammar files


def test_syntax_error_has_line_and_column():
    fails("S ::= Linear(A, B\nA ::= x\nB ::= y", line=2, column=1, match="syntax error")


def test_syntax_error_unexpected_character():
    fails("S ::= x\nA ::= y ; z", line=2, column=9, match="unexpected character")


def test_syntax_error_at_end_of_file():
    fails("S ::= x |", match="unexpected end of file")


def test_lowercase_left_hand_side():
    fails("s ::= x", line=1, column=1, match="not a nonterminal")


def test_undefined_nonterminal_points_at_the_use():
    fails("S ::= Linear(A, B)\nA ::= x", line=1, column=17, match="undefined nonterminal B")


def test_unreachable_nonterminal():
    fails("S ::= x\nT ::= y", line=2, column=1, match="unreachable")


def test_unproductive_nonterminal():
    fails("%max_depth 4\nS ::= Op(x, T) | y\nT ::= Op(T)", line=3, match="unproductive")


def test_unproductive_because_of_the_zero_constraint():
    fails("%zero zero\nS ::= Linear2(Z, x)\nZ ::= zero", line=2, match="unproductive")


def test_recursion_without_depth_bound_names_the_cycle():
    err = fails("S ::= Linear(A, x) | y\nA ::= Residual(S, x, x)", match="S -> A -> S")
    assert "%max_depth" in err.message


def test_cycle_of_unit_productions():
    fails("%max_depth 3\nA ::= B | x\nB ::= A", match="cycle of unit productions")


def test_shared_nonterminal_containing_itself():
    fails("%max_depth 3\n%shared X\nS ::= Op(X)\nX ::= Op(X) | x", match="contains itself")


def test_unknown_directive():
    fails("%frobnicate 3\nS ::= x", line=1, column=1, match="unknown directive")


def test_bad_directive_arguments():
    fails("%max_depth -1\nS ::= x", line=1, match="%max_depth")
    fails("%start T\nS ::= x", line=1, match="%start names T")
    fails("%shared Q\nS ::= x", match="%shared names Q")
    fails("%zero ZERO\nS ::= x", match="nonterminal")


def test_weights_that_leave_nothing():
    fails("S ::= a [0.6] | b [0.5] | c", line=1, match="leave nothing")


def test_negative_weight():
    fails("S ::= a [-0.5] | b", line=1, column=10, match="negative weight")


def test_empty_numeric_range_and_bad_bounds():
    fails("S ::= Op(int(5, 3))", match="empty range")
    fails("S ::= Op(int(1.5, 3))", match="integers")
    fails("S ::= Op(float(1))", match="two numbers")
    fails("S ::= int", match="reserved")


def test_duplicate_rule_in_one_file():
    fails("S ::= x\nS ::= y", line=2, match="defined twice")


def test_unregistered_python_constraint():
    fails("%constraint not_registered_anywhere\nS ::= x", match="not registered")


def test_import_not_found(tmp_path):
    p = tmp_path / "main.ebnf"
    p.write_text('%import "missing.ebnf"\nS ::= x\n')
    with pytest.raises(GrammarError) as info:
        load_grammar(str(p))
    assert info.value.line == 1 and "cannot import" in info.value.message


def test_import_cycle(tmp_path):
    (tmp_path / "a.ebnf").write_text('%import "b.ebnf"\nS ::= A\n')
    (tmp_path / "b.ebnf").write_text('%import "a.ebnf"\nA ::= x\n')
    with pytest.raises(GrammarError, match="import cycle"):
        load_grammar(str(tmp_path / "a.ebnf"))


def test_error_in_imported_file_names_that_file(tmp_path):
    (tmp_path / "lib.ebnf").write_text("A ::= x |\n")
    (tmp_path / "main.ebnf").write_text('%import "lib.ebnf"\nS ::= A\n')
    with pytest.raises(GrammarError) as info:
        load_grammar(str(tmp_path / "main.ebnf"))
    assert info.value.file.endswith("lib.ebnf")


def test_missing_file():
    with pytest.raises(GrammarError, match="no grammar file"):
        load_grammar("surely_not_a_grammar")


def test_grammar_content_is_never_evaluated(tmp_path):
    # Python-looking content is just a (failing) grammar, never executed
    marker = tmp_path / "pwned"
    with pytest.raises(GrammarError):
        load_grammar("evil.ebnf", text=f"S ::= __import__('os').system('touch {marker}')")
    assert not marker.exists()


# ---------------------------------------------------------------- lint warnings


def test_duplicate_alternative_warns():
    with pytest.warns(UserWarning, match="duplicate alternative"):
        load_grammar("d.ebnf", text="S ::= a | b | a")


def test_ambiguous_leaf_warns():
    with pytest.warns(UserWarning, match="ambiguous"):
        load_grammar("d.ebnf", text="S ::= A | conv\nA ::= conv | id")


def test_zero_without_directive_warns():
    with pytest.warns(UserWarning, match="%zero"):
        load_grammar("d.ebnf", text="S ::= Linear2(O, O)\nO ::= zero | id")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        load_grammar("d.ebnf", text="%zero off\nS ::= Linear2(O, O)\nO ::= zero | id")


def test_shipped_grammars_load_without_warnings():
    from algebraic_nas.grammar import shipped_grammars

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for name in shipped_grammars():
            load_grammar(name)


# ---------------------------------------------------------------- terms


@pytest.fixture(scope="module")
def hnb201():
    return load_grammar("hnb201")


def term_fails(g, text, position, match):
    with pytest.raises(TermError) as info:
        g.parse(text)
    assert info.value.position == position, str(info.value)
    assert match in info.value.reason, str(info.value)
    return info.value


def test_term_unexpected_character(hnb201):
    term_fails(hnb201, "Linear3(a; b)", 9, "unexpected character")


def test_term_unexpected_end(hnb201):
    term_fails(hnb201, "Linear3(Linear3(", 16, "unexpected end")


def test_term_trailing_input(hnb201):
    g = load_grammar("toy")
    term_fails(g, "conv conv", 5, "after the end")


def test_term_empty(hnb201):
    term_fails(hnb201, "   ", 3, "empty")


def test_term_wrong_symbol_names_the_nonterminal(hnb201):
    e = term_fails(hnb201, "Linear5(x)", 0, "not a term of D2")
    assert "Linear3(_, _, _)" in e.reason


def test_term_wrong_arity(hnb201):
    term_fails(hnb201, "Linear3(x, y)", 0, "with 2 arguments")


def test_term_wrong_leaf_deep_inside(hnb201):
    t = str(hnb201.sample(0))
    i = t.index("Cell(") + 5
    j = t.index(",", i)
    bad = t[:i] + "conv7x7" + t[j:]
    term_fails(hnb201, bad, i, "'conv7x7' is not a term of OP")


def test_term_zero_cutting_every_path(hnb201):
    t = str(hnb201.sample(3))
    i = t.index("Cell(")
    depth, j = 0, i
    while True:
        if t[j] == "(":
            depth += 1
        elif t[j] == ")":
            depth -= 1
            if depth == 0:
                break
        j += 1
    bad = t[:i] + "Cell(zero, zero, id, zero, id, zero)" + t[j + 1 :]
    e = term_fails(hnb201, bad, i, "cuts every input-to-output path")
    assert "1, 2, 4, 6" in e.reason
    hnb201.parse(t[:i] + "Cell(zero, zero, id, id, zero, zero)" + t[j + 1 :])  # the edge 1 -> 4 remains


def test_term_depth_bound():
    g = load_grammar("toy")
    term_fails(g, "Linear(Linear(Linear(conv, id, fc), id, id), id, id)", 21, "%max_depth 3")


def test_term_number_out_of_range_and_wrong_kind():
    g = load_grammar("nago_hnag")
    t = str(g.sample(0))
    bad = t.replace("WattsStrogatz(", "WattsStrogatz(11, ", 1)
    bad = bad[: bad.index("11, ") + 4] + bad[bad.index(",", bad.index("11, ") + 4) + 2 :]
    term_fails(g, bad, 21, "outside the range int(3, 10)")  # after "Budget(WattsStrogatz("
    bad2 = "Budget(WattsStrogatz(3.5" + t[t.index(","):]
    term_fails(g, bad2, 21, "expected an integer")


def test_term_shared_occurrences_must_agree():
    g = load_grammar("nb201_cell")
    t = str(g.sample(0))
    first = t.index("Cell(")
    second = t.index("Cell(", first + 1)
    j = t.index(")", second)
    # make the second cell differ: all six edges id
    end = second
    depth = 0
    while True:
        if t[end] == "(":
            depth += 1
        elif t[end] == ")":
            depth -= 1
            if depth == 0:
                break
        end += 1
    cell = "Cell(id, id, id, id, id, id)"
    if t[second:end + 1] == cell:
        cell = "Cell(id, id, id, id, id, avg_pool)"
    bad = t[:second] + cell + t[end + 1 :]
    e = term_fails(g, bad, second, "shared nonterminal CELL")
    assert f"position {first}" in e.reason


def test_term_python_constraint():
    from algebraic_nas.grammar import register_constraint

    @register_constraint("at_most_one_conv_test")
    def at_most_one_conv(term):
        return str(term).count("conv") <= 1

    g = load_grammar("c.ebnf", text="%constraint at_most_one_conv_test\nS ::= Linear(A, A)\nA ::= conv | id")
    g.parse("Linear(conv, id)")
    term_fails(g, "Linear(conv, conv)", 0, "at_most_one_conv_test")


def test_check_rejects_malformed_term_objects(hnb201):
    t = hnb201.sample(0)
    with pytest.raises(TermError, match="expected a term of D2"):
        hnb201.check(Term("D1", 0, "Linear3", t.children))
    with pytest.raises(TermError, match="no production"):
        hnb201.check(Term("D2", 7, "Linear3", t.children))
    with pytest.raises(TermError, match="collapsed"):
        hnb201.check(hnb201.fold(t, 2))
    # a node deep inside: its position is its offset in str(term)
    path, node = next((p, n) for p, n in t.walk() if n.nonterminal == "ACT")
    bad = t.replace(path, Term("ACT", 0, "gelu"))
    with pytest.raises(TermError) as info:
        hnb201.check(bad)
    assert str(bad)[info.value.position :].startswith("gelu")


def test_term_error_message_shows_the_place():
    g = load_grammar("toy")
    with pytest.raises(TermError) as info:
        g.parse("Linear(conv, id, foo)")
    assert "position 17" in str(info.value) and "^" in str(info.value)
