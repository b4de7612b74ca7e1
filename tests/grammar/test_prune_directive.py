"""`%prune paths | none`: what the assembler does with edges on no input→output path (issue 14)."""

from __future__ import annotations

import pytest

from algebraic_nas.grammar import GrammarError, load_grammar

BODY = "%zero zero\nNET ::= Cell(OP, OP, OP, OP, OP, OP)\nOP ::= zero | id | conv3x3\n"


@pytest.mark.parametrize("directive, mode", [("", "paths"), ("%prune paths\n", "paths"), ("%prune none\n", "none")])
def test_the_directive_sets_the_mode(directive, mode):
    g = load_grammar("p.ebnf", text=directive + BODY)
    assert g.prune == mode and g.info()["prune"] == mode


def test_shipped_grammars_say_what_they_mean():
    assert load_grammar("nb201_cell").prune == "none"  # NAS-Bench-201 builds every non-none edge
    assert load_grammar("hnb201").prune == "paths"  # the hierarchical reference prunes


@pytest.mark.parametrize("text, message", [
    ("%prune everything\n", r"%prune takes one of paths, none, not everything"),
    ("%prune 3\n", r"%prune takes one of paths, none, not 3"),
    ("%prune paths, none\n", r"%prune takes exactly one argument"),
])
def test_a_bad_directive_names_its_line(text, message):
    with pytest.raises(GrammarError, match=message) as e:
        load_grammar("p.ebnf", text=text + BODY)
    assert ":1:" in str(e.value)


def test_an_imported_files_mode_holds_unless_the_importer_says_otherwise(tmp_path):
    (tmp_path / "base.ebnf").write_text("%prune none\n" + BODY)
    importer = '%import "base.ebnf"\nTOP ::= Linear2(NET, NET)\n'
    assert load_grammar(str(tmp_path / "a.ebnf"), text=importer).prune == "none"
    assert load_grammar(str(tmp_path / "b.ebnf"), text="%prune paths\n" + importer).prune == "paths"
