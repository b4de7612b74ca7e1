"""Warnings about grammars that load but probably do not mean what they say, and the groups of
interchangeable shared nonterminals.

Functions here return the warning messages (each starting with file:line[:col]); the
:class:`~algebraic_nas.grammar.grammar.Grammar` facade issues them, so a warning points at the
caller of :func:`~algebraic_nas.grammar.grammar.load_grammar`.
"""

from __future__ import annotations

import math
from typing import Callable

from .bottomup import bottom_up
from .checks import Refs
from .meta import Expr, Rule
from .patterns import Alternative

Alternatives = dict[str, list[Alternative]]


def _uses_terminal(e: Expr, name: str) -> bool:
    if e.kind == "t" and e.name == name:
        return True
    return any(_uses_terminal(a, name) for a in e.args)


def _interchangeable(key: frozenset, nonterminals: list[str], alts: Alternatives, refs: Refs) -> bool:
    """Whether every reference to a member of ``key`` is a unit alternative of a nonterminal that
    has all members as unit alternatives."""
    for b_name in nonterminals:
        unit_targets = {al.pattern[1] for al in alts[b_name] if al.kind == "unit"}
        for tgt, top, _ in refs.get(b_name, []):
            if tgt in key and not (top and key <= unit_targets):
                return False
    return True


def find_shared_groups(
    nonterminals: list[str], alts: Alternatives, shared: set[str], refs: Refs, rules: dict[str, Rule]
) -> tuple[list[list[str]], list[str]]:
    """Shared nonterminals that are alternatives of one nonterminal with identical rules, and warnings.

    ``LEVEL2 ::= M1 | M2 | ... | zero`` with ``M1 ::= DAG4(...)``, ``M2 ::= DAG4(...)``: a term
    string does not say which motif an occurrence is. Such a group is *interchangeable*: terms
    are kept in a canonical form (the distinct subterms are assigned M1, M2, ... in order of
    first appearance in the string; this is what ``parse`` produces), and the size counts
    distinct terms, not labellings. Returns ``(groups, messages)``; each group in order of definition.
    """
    groups: list[list[str]] = []
    messages: list[str] = []
    seen: set[str] = set()
    for a_name in nonterminals:
        units = [al.pattern[1] for al in alts[a_name] if al.kind == "unit" and al.pattern[1] in shared]
        if len(units) < 2:
            continue
        by_body: dict = {}
        for x in units:
            by_body.setdefault(tuple(al.expr.key() for al in alts[x]), []).append(x)
        for members in by_body.values():
            key = frozenset(members)
            if len(members) < 2 or key & seen:
                continue
            if _interchangeable(key, nonterminals, alts, refs):
                groups.append(sorted(members, key=nonterminals.index))
                seen |= key
            else:
                loc = rules[a_name].loc
                messages.append(
                    f"{loc.file}:{loc.line}: shared nonterminals {', '.join(members)} are alternatives of {a_name} with "
                    "identical rules but are not used interchangeably: a term string does not say which one an "
                    "occurrence is; parse assigns them in order of appearance and size counts derivations"
                )
    return groups, messages


def duplicate_alternatives(nonterminals: list[str], alts: Alternatives) -> list[str]:
    """An alternative written twice for one nonterminal."""
    messages = []
    for a_name in nonterminals:
        seen: dict[tuple, Alternative] = {}
        for al in alts[a_name]:
            k = al.expr.key()
            if k in seen:
                messages.append(
                    f"{al.loc.file}:{al.loc.line}:{al.loc.column}: duplicate alternative {al.expr} of {a_name} "
                    f"(same as alternative {seen[k].index + 1}); it is never chosen by parse and is counted as a "
                    "separate derivation by size (use a weight instead)"
                )
            else:
                seen[k] = al
    return messages




def _leaf_name(al: Alternative) -> str:
    """What a non-unit alternative derives at its top: a leaf's name, a number range, or the whole
    expression of a compound one (``DAG4(LEVEL1, LEVEL1, ...)``: two unit alternatives reaching it
    both derive every term of that shape)."""
    return al.expr.name if al.kind == "leaf" else str(al.expr)


# The leaf sets of unit-rule chains grow with the chain (N0 ::= N1 | x0, N1 ::= N2 | x1, ...: the
# i-th set holds n - i leaves), so their total size is quadratic in the chain's length. Past this
# many set entries (about 100 MB) the check stops with one warning instead of exhausting memory.
LEAF_ENTRY_LIMIT = 1_000_000


class _TooManyLeaves(Exception):
    pass


def ambiguous_leaves(nonterminals: list[str], alts: Alternatives, groups: list[list[str]]) -> list[str]:
    """Ambiguity visible at the top of a derivation: one nullary terminal, number, or whole
    expression (identical rules ``M1 ::= DAG4(L, L)``, ``M2 ::= DAG4(L, L)`` that are not an
    interchangeable ``%shared`` group) derivable through two alternatives of one nonterminal.
    ``parse`` then returns the first derivation, so ``parse(str(t))`` may differ from ``t``.

    Stops with one message (the check skipped) once the leaf sets hold more than
    :data:`LEAF_ENTRY_LIMIT` entries in total (very long chains of unit rules).
    """
    leaves: dict[str, set] = {}
    entries = [0]

    def units(x: str) -> list[str]:
        return [al.pattern[1] for al in alts[x] if al.kind == "unit"]

    def compute(x: str) -> set:
        out: set = {_leaf_name(al) for al in alts[x] if al.kind != "unit"}
        for b in units(x):
            out |= leaves[b]
        entries[0] += len(out)
        if entries[0] > LEAF_ENTRY_LIMIT:
            raise _TooManyLeaves(x)
        return out

    try:
        return _ambiguous_leaf_messages(nonterminals, alts, groups, leaves, units, compute)
    except _TooManyLeaves as stop:
        name = stop.args[0]
        loc = alts[name][0].loc
        return [
            f"{loc.file}:{loc.line}:{loc.column}: the ambiguity check of leaves was skipped: the unit rules down to {name} "
            f"derive more than {LEAF_ENTRY_LIMIT:,} (nonterminal, leaf) pairs; the grammar is otherwise checked"
        ]


def _ambiguous_leaf_messages(
    nonterminals: list[str],
    alts: Alternatives,
    groups: list[list[str]],
    leaves: dict[str, set],
    units: Callable[[str], list[str]],
    compute: Callable[[str], set],
) -> list[str]:
    """The messages of :func:`ambiguous_leaves`; ``leaves`` is the memo ``compute`` fills."""

    def leaf_set(b: str) -> set:
        return bottom_up(b, units, compute, leaves)  # unit productions are acyclic (checks.py)

    messages = []
    for a_name in nonterminals:
        owner: dict[str, Alternative] = {}
        for al in alts[a_name]:
            names = leaf_set(al.pattern[1]) if al.kind == "unit" else {_leaf_name(al)}
            for nm in sorted(names):
                prev = owner.get(nm)
                if prev is not None and prev.kind == al.kind == "unit" and any(
                    prev.pattern[1] in grp and al.pattern[1] in grp for grp in groups
                ):
                    continue  # interchangeable shared nonterminals: handled by canonical forms
                if prev is not None and prev.expr.key() != al.expr.key():
                    messages.append(
                        f"{al.loc.file}:{al.loc.line}:{al.loc.column}: ambiguous grammar: {a_name} derives {nm} "
                        f"through alternative {prev.index + 1} ({prev.expr}) and alternative {al.index + 1} ({al.expr}); "
                        "parse returns the first derivation (parse(str(t)) may differ from t), size counts both"
                    )
                owner.setdefault(nm, al)
    return messages


def overlapping_numbers(nonterminals: list[str], alts: Alternatives) -> list[str]:
    """Ambiguity between numeric alternatives of one nonterminal: a number string two of them
    match (``int(0, 3) | 3``; a float range before an int one also matches its integers)."""
    messages = []
    for a_name in nonterminals:
        nums = [al for al in alts[a_name] if al.kind in ("int", "float")]
        for i, first in enumerate(nums):
            for second in nums[i + 1:]:
                if first.kind == "int" and second.kind == "float":
                    continue  # an integer string matches the int first; a float never matches an int
                lo, hi = max(first.expr.lo, second.expr.lo), min(first.expr.hi, second.expr.hi)
                if lo > hi or (second.kind == "int" and math.floor(hi) < math.ceil(lo)):
                    continue
                al = second
                messages.append(
                    f"{al.loc.file}:{al.loc.line}:{al.loc.column}: ambiguous grammar: {a_name} derives the number {lo!r} "
                    f"through alternative {first.index + 1} ({first.expr}) and alternative {al.index + 1} ({al.expr}); "
                    "parse returns the first derivation (parse(str(t)) may differ from t), size counts both"
                )
                break
    return messages


def undeclared_zero(alts: Alternatives, start_rule: Rule) -> list[str]:
    """The terminal ``zero`` used without a ``%zero`` directive (call only when none is declared
    and it was not silenced with ``%zero off``)."""
    if not any(_uses_terminal(al.expr, "zero") for rule_alts in alts.values() for al in rule_alts):
        return []
    loc = start_rule.loc
    return [
        f"{loc.file}: the terminal 'zero' is used but no %zero directive declares it: "
        "the connectivity constraint is off (add '%zero zero', or '%zero off' to silence this)"
    ]
