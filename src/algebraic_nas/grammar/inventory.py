"""What a grammar's rules use: its terminal symbols and their arities (topologies are terminals
with arguments, primitives those without). Read by ``Grammar.terminals/topologies/primitives``
and ``algebraic-nas info``."""

from __future__ import annotations

from .patterns import P_OP, P_T, Alternative


def terminal_arities(rules: dict[str, list[Alternative]]) -> dict[str, set[int]]:
    """``{terminal: arities it is used with}`` over every alternative (numeric placeholders excluded)."""
    out: dict[str, set[int]] = {}
    stack = [al.pattern for alts in rules.values() for al in alts if al.kind != "leaf"]
    for alts in rules.values():
        for al in alts:
            if al.kind == "leaf":
                out.setdefault(al.expr.name, set()).add(0)
    while stack:
        p = stack.pop()
        if p[0] == P_T:
            out.setdefault(p[1], set()).add(0)
        elif p[0] == P_OP:
            out.setdefault(p[1], set()).add(len(p[2]))
            stack.extend(p[2])
    return out
