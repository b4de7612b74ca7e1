"""The leaf-ambiguity lint stays bounded on long chains of unit rules (issue 23, item 13)."""

from __future__ import annotations

import warnings

from algebraic_nas.grammar import lint, load_grammar


def _chain(n: int, ambiguous: bool = False) -> str:
    text = "".join(f"N{i} ::= N{i + 1} | x{i}\n" for i in range(n)) + f"N{n} ::= conv\n"
    return text + ("N0b ::= x1\n" if ambiguous else "")


def _messages(text: str) -> list[str]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        load_grammar("chain.ebnf", text=text)
    return [str(w.message) for w in caught]


def test_long_unit_chain_skips_the_check_with_one_located_warning(monkeypatch):
    # a chain of 100 rules holds 5,151 (nonterminal, leaf) pairs, over a limit of 1,000
    monkeypatch.setattr(lint, "LEAF_ENTRY_LIMIT", 1_000)
    skipped = [m for m in _messages(_chain(100)) if "ambiguity check of leaves was skipped" in m]
    assert len(skipped) == 1
    assert skipped[0].startswith("chain.ebnf:") and "1,000" in skipped[0]


def test_chain_under_the_limit_is_checked_and_ambiguity_still_found(monkeypatch):
    monkeypatch.setattr(lint, "LEAF_ENTRY_LIMIT", 1_000)
    assert not any("skipped" in m for m in _messages(_chain(20)))
    # S derives conv through A and directly: the lint names both alternatives
    found = _messages("S ::= A | conv\nA ::= conv | id\n")
    assert any("ambiguous grammar: S derives conv" in m for m in found)
