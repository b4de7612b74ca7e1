"""Reading a grammar's files: path resolution, ``%import``, merging the rules, the directives.

The text of one file is read by :mod:`.meta` (the Lark meta-grammar); this module follows the
imports (imported files come before their importer), merges the rules of all files (the root
file overrides imported definitions) and reads the directives into a :class:`Directives`.
Every error names the file, line and column of the offending text.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Callable, Optional

from .constraints import Constraint, get_constraint
from .errors import GrammarError
from .meta import Directive, GrammarFile, Loc, Rule, is_nonterminal_name, read_grammar_file

DEFAULT_FLOAT_DIGITS = 3
MAX_IMPORT_DEPTH = 32  # files in one chain of %import
MAX_DEPTH_LIMIT = 1000  # the largest %max_depth (exact counting costs time per level)
MAX_FLOAT_DIGITS = 17  # more digits than a float holds are meaningless
GRAMMAR_PATH_ENV = "ALGEBRAIC_NAS_GRAMMAR_PATH"
SHIPPED_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "grammars")


def shipped_grammars() -> list[str]:
    """Names of the grammars shipped with the package."""
    try:
        return sorted(f[:-5] for f in os.listdir(SHIPPED_DIR) if f.endswith(".ebnf"))
    except OSError:  # pragma: no cover
        return []


def resolve_grammar_path(name_or_path: str) -> str:
    """A shipped grammar name (``"hnb201"``) or a path to an `.ebnf` file → the file's path."""
    if os.path.isfile(name_or_path):
        return name_or_path
    shipped = os.path.join(SHIPPED_DIR, name_or_path if name_or_path.endswith(".ebnf") else name_or_path + ".ebnf")
    if os.path.isfile(shipped):
        return shipped
    known = ", ".join(shipped_grammars())
    raise GrammarError(f"no grammar file {name_or_path!r} (shipped grammars: {known})", name_or_path)


def import_search_path(base_file: str) -> list[str]:
    """Where ``%import "name.ebnf"`` looks, in order: the importing file's directory (the current
    directory for a grammar given as text), the directories of the environment variable
    ``ALGEBRAIC_NAS_GRAMMAR_PATH`` (separated by ``os.pathsep``), the shipped grammars."""
    base_dir = os.path.dirname(os.path.abspath(base_file)) if base_file and not base_file.startswith("<") else os.getcwd()
    extra = [d for d in os.environ.get(GRAMMAR_PATH_ENV, "").split(os.pathsep) if d]
    return [base_dir, *extra, SHIPPED_DIR]


def resolve_import(path: str, base_file: str, loc: Loc) -> str:
    """The `.ebnf` file an ``%import "path"`` in ``base_file`` names (see :func:`import_search_path`;
    ``"hnb201"`` means ``"hnb201.ebnf"``). Only `.ebnf` files can be imported."""
    name = path if path.endswith(".ebnf") else path + ".ebnf"
    if os.path.splitext(path)[1] not in ("", ".ebnf"):
        raise loc.error(f"cannot import {path!r}: only .ebnf grammar files can be imported")
    dirs = import_search_path(base_file)
    for d in dirs:
        candidate = os.path.normpath(os.path.join(d, name))
        if os.path.isfile(candidate):
            return os.path.abspath(candidate)
    raise loc.error(f"cannot import {path!r}: no such file (looked in {', '.join(dirs)})")


def load_files(root: GrammarFile) -> list[GrammarFile]:
    """``root`` and every file it imports (transitively), each imported file before its importer."""
    files: list[GrammarFile] = []
    _load_imports(root, [], set(), files)
    return files


def _load_imports(gf: GrammarFile, stack: list[str], seen: set[str], files: list[GrammarFile]) -> None:
    if len(stack) >= MAX_IMPORT_DEPTH:
        raise GrammarError(f"imports nested deeper than {MAX_IMPORT_DEPTH} files (the limit of the grammar language)", gf.path)
    key = os.path.abspath(gf.path) if not gf.path.startswith("<") else gf.path
    seen.add(key)
    for d in gf.directives:
        if d.name != "import":
            continue
        if len(d.args) != 1 or d.args[0][0] != "STRING":
            raise d.loc.error('%import takes one quoted file name: %import "other.ebnf"')
        path = resolve_import(str(d.args[0][1]), gf.path, d.args[0][2])
        apath = os.path.abspath(path)
        if apath in stack or apath == key:
            raise d.loc.error(f"import cycle: {os.path.basename(gf.path)} imports {os.path.basename(path)}, which imports it back")
        if apath in seen:
            continue
        # an imported file's syntax errors give positions only: never echo a file that is not a grammar
        _load_imports(read_grammar_file(path, echo=False), stack + [key], seen, files)
    files.append(gf)  # imported files come before their importer


# ---------------------------------------------------------------------------- rules


def _file_rules(gf: GrammarFile) -> dict[str, Rule]:
    """The rules of one file by name; a name defined twice in one file is an error."""
    local: dict[str, Rule] = {}
    for rule in gf.rules:
        if rule.name in local:
            prev = local[rule.name].loc
            raise rule.loc.error(f"nonterminal {rule.name} is defined twice (first at line {prev.line}); use '|' for alternatives")
        local[rule.name] = rule
    return local


def merge_rules(files: list[GrammarFile], root: GrammarFile) -> dict[str, Rule]:
    """The rules of all files, in order of first definition. Imported files must agree with each
    other; the root file (last) overrides imported definitions."""
    rules: dict[str, Rule] = {}
    rule_file: dict[str, str] = {}
    for gf in files:
        for rname, rule in _file_rules(gf).items():
            if rname in rules and gf is not root:
                prev = rules[rname]
                if [a.expr.key() for a in prev.alts] != [a.expr.key() for a in rule.alts]:
                    raise rule.loc.error(
                        f"nonterminal {rname} is also defined in {os.path.basename(rule_file[rname])} "
                        f"(line {prev.loc.line}); imported grammars must not disagree (redefine it in the importing file instead)"
                    )
            rules[rname] = rule
            rule_file[rname] = gf.path
    if not rules:
        raise GrammarError("the grammar has no rules", root.path, 1, 1)
    return rules


# ---------------------------------------------------------------------------- directives


@dataclass
class Directives:
    """What the ``%`` directives of all files say (the root file wins where they disagree)."""

    start: str = ""
    start_loc: Optional[Loc] = None
    shared: set[str] = field(default_factory=set)
    zero: Optional[str] = None
    zero_silenced: bool = False  # `%zero off` in the root file
    numbers: dict[str, int] = field(default_factory=dict)  # max_depth, float_digits
    constraints: list[str] = field(default_factory=list)
    prune: Optional[str] = None  # `%prune paths | none`; None: not said (the assembler's default, paths)

    @property
    def max_depth(self) -> Optional[int]:
        return self.numbers.get("max_depth")

    @property
    def float_digits(self) -> int:
        return self.numbers.get("float_digits", DEFAULT_FLOAT_DIGITS)

    def constraint_functions(self) -> list[Constraint]:
        return [get_constraint(c) for c in self.constraints]  # type: ignore[misc]


def _names(d: Directive) -> list:
    return [a for a in d.args if a[0] == "NAME"]


def _start(out: Directives, d: Directive, is_root: bool, rules: dict[str, Rule]) -> None:
    if d.args[0][0] != "NAME":
        raise d.loc.error("%start takes a nonterminal name")
    if is_root:
        out.start = str(d.args[0][1])
        out.start_loc = d.args[0][2]


def _shared(out: Directives, d: Directive, is_root: bool, rules: dict[str, Rule]) -> None:
    if not d.args or len(_names(d)) != len(d.args):
        raise d.loc.error("%shared takes nonterminal names: %shared CELL, M1")
    for _, v, loc in d.args:
        if v not in rules:
            raise loc.error(f"%shared names {v}, which has no rule")
        out.shared.add(str(v))


def _zero(out: Directives, d: Directive, is_root: bool, rules: dict[str, Rule]) -> None:
    kind, v, loc = d.args[0]
    if kind != "NAME":
        raise d.loc.error("%zero takes a terminal name, or off")
    v = str(v)
    if v == "off":
        if is_root:
            out.zero = None
            out.zero_silenced = True
        return
    if is_nonterminal_name(v):
        raise loc.error(f"%zero names {v}, a nonterminal; it must name a terminal such as zero")
    if out.zero is not None and out.zero != v and not is_root:
        raise loc.error(f"conflicting %zero terminals {out.zero} and {v}")
    out.zero = v


def _number(out: Directives, d: Directive, is_root: bool, rules: dict[str, Rule]) -> None:
    n = d.name
    kind, v, loc = d.args[0]
    if kind != "NUMBER" or not isinstance(v, int) or v < (1 if n == "max_depth" else 0):
        raise loc.error(f"%{n} takes a {'positive' if n == 'max_depth' else 'non-negative'} integer")
    limit = MAX_DEPTH_LIMIT if n == "max_depth" else MAX_FLOAT_DIGITS
    if v > limit:
        raise loc.error(f"%{n} {v} exceeds the limit {limit} of the grammar language")
    if is_root or n not in out.numbers:
        out.numbers[n] = v


def _constraint(out: Directives, d: Directive, is_root: bool, rules: dict[str, Rule]) -> None:
    if not d.args or len(_names(d)) != len(d.args):
        raise d.loc.error("%constraint takes constraint names: %constraint my_check")
    for _, v, loc in d.args:
        if get_constraint(str(v)) is None:
            raise loc.error(
                f"constraint {v!r} is not registered: register a Python function with "
                f"@register_constraint({str(v)!r}) before loading the grammar"
            )
        if v not in out.constraints:
            out.constraints.append(str(v))


#: What ``%prune`` accepts: ``paths`` removes every edge on no input→output path (the hierarchical
#: space's reference code, Schrodi et al.); ``none`` keeps every non-zero edge, a zero edge
#: contributing zeros (NAS-Bench-201's ``InferCell``, Dong & Yang, ICLR 2020).
PRUNE_MODES = ("paths", "none")
DEFAULT_PRUNE = "paths"


def _prune(out: Directives, d: Directive, is_root: bool, rules: dict[str, Rule]) -> None:
    kind, v, loc = d.args[0]
    if kind != "NAME" or str(v) not in PRUNE_MODES:
        shown = v if kind == "NAME" else repr(v)
        raise loc.error(f"%prune takes one of {', '.join(PRUNE_MODES)}, not {shown}")
    if is_root or out.prune is None:
        out.prune = str(v)


_HANDLERS: dict[str, Callable[[Directives, Directive, bool, dict[str, Rule]], None]] = {
    "start": _start,
    "shared": _shared,
    "zero": _zero,
    "max_depth": _number,
    "float_digits": _number,
    "constraint": _constraint,
    "prune": _prune,
}
_SINGLE_ARGUMENT = ("start", "zero", "max_depth", "float_digits", "prune")


def read_directives(files: list[GrammarFile], root: GrammarFile, rules: dict[str, Rule]) -> Directives:
    """The directives of all files (``%import`` was followed by :func:`load_files`); the start
    symbol defaults to the first rule of the root file."""
    out = Directives()
    for gf in files:
        for d in gf.directives:
            if d.name == "import":
                continue
            if d.name in _SINGLE_ARGUMENT and len(d.args) != 1:
                raise d.loc.error(f"%{d.name} takes exactly one argument")
            handler = _HANDLERS.get(d.name)
            if handler is None:
                raise d.loc.error(
                    f"unknown directive %{d.name} (known: %start, %import, %shared, %zero, %max_depth, %constraint, %float_digits, %prune)"
                )
            handler(out, d, gf is root, rules)
    if not out.start:
        out.start = root.rules[0].name if root.rules else next(iter(rules))
    elif out.start not in rules:
        raise out.start_loc.error(f"%start names {out.start}, which has no rule")  # type: ignore[union-attr]
    return out
