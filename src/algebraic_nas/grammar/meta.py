"""Reading `.ebnf` grammar files: the Lark meta-grammar and the syntax tree of a grammar file.

The language is documented in the README ("Writing a search space"). This module only
turns the text of one file into a :class:`GrammarFile` (rules, directives, imports, each with its
file, line and column); following the imports and reading the directives is :mod:`.loading`'s job,
checking and compiling them :mod:`.checks`' and :mod:`.patterns`'. Nothing read from a grammar
file is ever evaluated as Python code.
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass, field
from typing import Optional, Union

from lark import Lark, Token, Tree
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from .errors import GrammarError

META_GRAMMAR = r"""
start: _item*
_item: rule | directive

rule: NAME "::=" alt ("|" alt)*
alt: expr weight?
weight: "[" NUMBER "]"

?expr: NAME                          -> name
     | NAME "(" expr ("," expr)* ")" -> call
     | NUMBER                        -> number

directive: DIRECTIVE [_darg ("," _darg)*]
_darg: NAME | STRING | NUMBER

DIRECTIVE: /%[A-Za-z_]+/
NAME: /[A-Za-z_][A-Za-z0-9_]*/
NUMBER: /[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?/
STRING: /"[^"\n]*"/
COMMENT: /#[^\n]*/ | /\/\/[^\n]*/
%ignore COMMENT
%ignore /\s+/
"""

_PARSER: Optional[Lark] = None


def _parser() -> Lark:
    global _PARSER
    if _PARSER is None:
        _PARSER = Lark(META_GRAMMAR, parser="lalr", propagate_positions=True, maybe_placeholders=False)
    return _PARSER


def is_nonterminal_name(name: str) -> bool:
    """Upper-case names (letters, digits, underscores; at least one letter) are nonterminals."""
    return name.upper() == name and any(c.isalpha() for c in name)


@dataclass
class Loc:
    file: str
    line: Optional[int]
    column: Optional[int]

    def error(self, message: str) -> GrammarError:
        return GrammarError(message, self.file, self.line, self.column)


@dataclass
class Expr:
    """A right-hand-side expression.

    kind: ``"nt"`` (nonterminal reference), ``"t"`` (nullary terminal), ``"op"`` (terminal with
    arguments), ``"int"`` / ``"float"`` (numeric placeholder with bounds ``lo``, ``hi``; a numeric
    literal such as ``3`` or ``0.25`` is the placeholder with ``lo == hi`` and ``literal=True``).
    """

    kind: str
    name: str
    loc: Loc
    args: tuple["Expr", ...] = ()
    lo: Union[int, float, None] = None
    hi: Union[int, float, None] = None
    literal: bool = False  # a number written as such (kind int/float with lo == hi)

    def key(self) -> tuple:
        """A hashable key of the expression's structure (for duplicate detection)."""
        return (self.kind, self.name, self.lo, self.hi, tuple(a.key() for a in self.args))

    def __str__(self) -> str:
        if self.literal:
            return repr(self.lo)
        if self.kind in ("int", "float"):
            return f"{self.kind}({self.lo}, {self.hi})"
        if self.kind == "op":
            return f"{self.name}({', '.join(str(a) for a in self.args)})"
        return self.name


@dataclass
class Alt:
    expr: Expr
    weight: Optional[float]
    loc: Loc


@dataclass
class Rule:
    name: str
    alts: list[Alt]
    loc: Loc


@dataclass
class Directive:
    name: str
    args: list[tuple[str, Union[str, int, float], Loc]]  # (kind: NAME | STRING | NUMBER, value, loc)
    loc: Loc


@dataclass
class GrammarFile:
    path: str
    rules: list[Rule] = field(default_factory=list)
    directives: list[Directive] = field(default_factory=list)


# Limits that keep loading bounded in time and memory whatever a file contains (documented in
# README.md, "Errors"): bigger or deeper files are refused with a GrammarError at the offending place.
MAX_FILE_BYTES = 1_000_000
MAX_NESTING = 100  # parentheses inside one alternative


def _number(text: str, loc: Optional["Loc"] = None) -> Union[int, float]:
    """An int, or a finite float; a number that does not fit a float is an error at ``loc``."""
    try:
        return int(text)
    except ValueError:
        v = float(text)
    if not math.isfinite(v):
        raise (loc or Loc("<grammar>", None, None)).error(f"the number {text} does not fit a float (at most about 1.8e308)")
    return v


def _as_float(v: Union[int, float], loc: "Loc") -> float:
    try:
        return float(v)
    except OverflowError:
        raise loc.error(f"the number {v} does not fit a float (at most about 1.8e308)") from None


_NESTING_TOKENS = re.compile(r'#[^\n]*|//[^\n]*|"[^"\n]*"|[()\n]')


def check_nesting(text: str, file: str) -> None:
    """Refuse parentheses nested deeper than :data:`MAX_NESTING` (outside comments and strings)
    before parsing, so that nothing downstream recurses without bound."""
    depth = 0
    line, line_start = 1, 0
    for m in _NESTING_TOKENS.finditer(text):
        c = m.group()
        if c == "\n":
            line, line_start = line + 1, m.end()
        elif c == "(":
            depth += 1
            if depth > MAX_NESTING:
                raise GrammarError(
                    f"parentheses nested deeper than {MAX_NESTING} levels (the limit of the grammar language)",
                    file, line, m.start() - line_start + 1,
                )
        elif c == ")":
            depth = max(0, depth - 1)


def _loc(file: str, obj: Union[Tree, Token]) -> Loc:
    if isinstance(obj, Token):
        return Loc(file, obj.line, obj.column)
    meta = obj.meta
    return Loc(file, getattr(meta, "line", None), getattr(meta, "column", None))


def _expr(file: str, tree: Union[Tree, Token]) -> Expr:
    loc = _loc(file, tree)
    if tree.data == "name":
        name = str(tree.children[0])
        if name in ("int", "float"):
            raise loc.error(f"'{name}' is reserved for numeric placeholders: write {name}(LOW, HIGH)")
        return Expr("nt" if is_nonterminal_name(name) else "t", name, loc)
    if tree.data == "number":  # a numeric literal: a fixed number in the term
        v = _number(str(tree.children[0]), loc)
        return Expr("int" if isinstance(v, int) else "float", str(tree.children[0]), loc, lo=v, hi=v, literal=True)
    # call
    name = str(tree.children[0])
    args = tree.children[1:]
    if name in ("int", "float"):
        if len(args) != 2 or any(a.data != "number" for a in args):
            raise loc.error(f"{name}(...) takes exactly two numbers, the inclusive bounds: {name}(LOW, HIGH)")
        lo, hi = (_number(str(a.children[0]), _loc(file, a)) for a in args)
        if name == "int":
            if not (isinstance(lo, int) and isinstance(hi, int)):
                raise loc.error(f"int(...) bounds must be integers, got int({lo}, {hi})")
        else:
            lo, hi = _as_float(lo, loc), _as_float(hi, loc)
            if not math.isfinite(hi - lo):
                # uniform(lo, hi) computes lo + (hi - lo) * u: its samples would print as inf or nan
                raise loc.error(f"the range float({lo}, {hi}) is too wide for a float: its samples would be inf or nan")
        if lo > hi:
            raise loc.error(f"empty range {name}({lo}, {hi}): the lower bound exceeds the upper bound")
        return Expr(name, name, loc, lo=lo, hi=hi)
    return Expr("op", name, loc, tuple(_expr(file, a) for a in args))


def parse_grammar_text(text: str, file: str = "<string>", echo: bool = True) -> GrammarFile:
    """Parse the text of one grammar file (imports are not followed). ``echo=False`` (imported
    files): syntax errors give the position only, never the file's content."""
    check_nesting(text, file)
    try:
        tree = _parser().parse(text)
    except UnexpectedInput as exc:
        line, column = exc.line, exc.column
        if not echo:
            msg = "syntax error: this file is not a grammar"
            raise GrammarError(msg, file, line if line and line > 0 else None, column if column and column > 0 else None) from None
        if isinstance(exc, UnexpectedCharacters):
            msg = f"syntax error: unexpected character {text[exc.pos_in_stream]!r}"
        elif isinstance(exc, UnexpectedEOF):
            msg = "syntax error: unexpected end of file (an incomplete rule?)"
            line = text.count("\n") + 1
            column = len(text) - text.rfind("\n")
        elif isinstance(exc, UnexpectedToken):
            tok = exc.token
            shown = "end of file" if tok.type == "$END" else repr(str(tok))
            expected = sorted(_pretty_expected(exc.expected))
            msg = f"syntax error: unexpected {shown}"
            if expected:
                msg += f"; expected {', '.join(expected)}"
            if tok.type == "$END":
                line = text.count("\n") + 1
                column = len(text) - text.rfind("\n")
        else:  # pragma: no cover
            msg = f"syntax error: {exc}"
        raise GrammarError(msg, file, line if line and line > 0 else None, column if column and column > 0 else None) from None
    gf = GrammarFile(file)
    for item in tree.children:
        if item.data == "rule":
            name_tok = item.children[0]
            loc = _loc(file, name_tok)
            name = str(name_tok)
            if not is_nonterminal_name(name):
                raise loc.error(
                    f"the left-hand side {name!r} is not a nonterminal: nonterminals are written in UPPER CASE"
                )
            alts = []
            for alt in item.children[1:]:
                expr = _expr(file, alt.children[0])
                weight = None
                if len(alt.children) > 1:
                    wtok = alt.children[1].children[0]
                    weight = _as_float(_number(str(wtok), _loc(file, wtok)), _loc(file, wtok))
                    if weight < 0:
                        raise _loc(file, wtok).error(f"negative weight [{wtok}]")
                alts.append(Alt(expr, weight, _loc(file, alt)))
            gf.rules.append(Rule(name, alts, loc))
        else:  # directive
            dtok = item.children[0]
            args = []
            for a in item.children[1:]:
                value: Union[str, int, float]
                if a.type == "STRING":
                    value = str(a)[1:-1]
                elif a.type == "NUMBER":
                    value = _number(str(a), _loc(file, a))
                else:
                    value = str(a)
                args.append((a.type, value, _loc(file, a)))
            gf.directives.append(Directive(str(dtok)[1:], args, _loc(file, dtok)))
    return gf


_PRETTY = {
    "NAME": "a name",
    "NUMBER": "a number",
    "STRING": "a quoted string",
    "DIRECTIVE": "a %directive",
    "LPAR": "'('",
    "RPAR": "')'",
    "COMMA": "','",
    "VBAR": "'|'",
    "LSQB": "'['",
    "RSQB": "']'",
    "__ANON_0": "'::='",
}


def _pretty_expected(expected: set[str]) -> set[str]:
    out = set()
    for e in expected:
        if e.startswith("__ANON") or e == "$END":
            out.add("'::='" if e.startswith("__ANON") else "end of file")
        else:
            out.add(_PRETTY.get(e, e))
    return out


def read_grammar_file(path: str, echo: bool = True) -> GrammarFile:
    """Read and parse one `.ebnf` file: UTF-8 text of at most :data:`MAX_FILE_BYTES` bytes."""
    try:
        with open(path, "rb") as fh:
            data = fh.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise GrammarError(f"cannot read grammar file: {exc.strerror}", path) from None
    if len(data) > MAX_FILE_BYTES:
        raise GrammarError(f"grammar file larger than {MAX_FILE_BYTES} bytes (the limit of the grammar language)", path)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise GrammarError(
            f"not a UTF-8 text file: byte 0x{data[exc.start]:02x} at byte offset {exc.start} cannot be decoded", path, line, column
        ) from None
    return parse_grammar_text(text, path, echo=echo)
