"""`Grammar`: a search space read from an `.ebnf` file — a facade over the grammar modules.

Loading a grammar runs, in order: :mod:`.loading` (files, ``%import``, merged rules,
directives), :mod:`.checks` (undefined, unreachable, cycles), :mod:`.patterns` (every
alternative compiled into a small pattern), :mod:`.counting` (the exact number of terms of every
nonterminal per remaining depth, split into zero and other terms; unproductive nonterminals are
errors) and :mod:`.lint` (warnings). Sampling is :mod:`.sampling`, term parsing and validation
:mod:`.termparse` / :mod:`.validation`, evolution :mod:`.operators`, folding :mod:`.fold`.

Vocabulary used in the code:

* *level* of a node: the number of non-transparent nonterminal nodes strictly above it (the
  root has level 0; transparent unit-production nodes and terminals written inside a production
  do not add a level). ``%max_depth N`` allows nonterminal nodes at levels ``0..N-1``; ``fold(t, l)``
  collapses the nonterminal nodes at level ``l``. A shared nonterminal's subterm is a term of its
  own: its levels (for the depth bound) count from its own root.
* *remaining depth* ``r`` of a nonterminal node: ``max_depth - level`` (``None`` without a bound).
* *zero term*: a term that resolves (through transparent nodes) to the designated ``%zero``
  terminal.

The operators and the term parser use only the public interface below (``counts``,
``sampler_for``, ``mutable_nonterminals``, ``heads``, ``zero_masks``, ``canonicalizes``,
``violated_constraint``), never the facade's private state.
"""

from __future__ import annotations

import math
import os
import random as _random
import warnings
from typing import Any, Optional, Union

from .checks import check_productive, check_structure
from .constraints import Hooks
from .counting import CAP, COUNT_LIMIT_DIGITS, INF, Count, Counts
from .errors import GrammarError, TermError
from .fold import fold_term
from .inventory import terminal_arities
from .lint import ambiguous_leaves, duplicate_alternatives, find_shared_groups, overlapping_numbers, undeclared_zero
from .loading import DEFAULT_PRUNE, load_files, merge_rules, read_directives, resolve_grammar_path, shipped_grammars
from .meta import GrammarFile, parse_grammar_text, read_grammar_file
from .patterns import Alternative, HeadIndex, compile_rules, zero_masks_for
from .sampling import DrawFailed, SampleContext, Sampler, Samplers, draw
from .termsize import MAX_SAMPLE_NODES, max_nodes
from .term import Term
from .topology_zero import register_zero

__all__ = ["Grammar", "RngLike", "as_rng", "fold_term", "load_grammar", "resolve_grammar_path", "shipped_grammars"]

RngLike = Union[_random.Random, int, None]
SAMPLE_TRIES = 10000  # candidates drawn before sampling gives up (with the constraints that rejected them)


def as_rng(rng: RngLike) -> _random.Random:
    """A `random.Random` from a Random (returned as is), an int seed, or None (fresh entropy)."""
    if isinstance(rng, _random.Random):
        return rng
    return _random.Random(rng)


def load_grammar(name_or_path: str, *, text: Optional[str] = None) -> "Grammar":
    """Load a grammar: a shipped name (``"hnb201"``), a path to an `.ebnf` file, or ``text``.

    With ``text`` given, ``name_or_path`` is only used as the file name in messages and as the
    base for relative imports.
    """
    if text is not None:
        root = parse_grammar_text(text, name_or_path)
        path = name_or_path
    else:
        path = resolve_grammar_path(name_or_path)
        root = read_grammar_file(path)
    name = os.path.basename(path)
    if name.endswith(".ebnf"):
        name = name[:-5]
    g = Grammar(root, name=name)
    g._source = (path, text)
    return g


def _unpickle_grammar(path: str, text: Optional[str]) -> "Grammar":
    return load_grammar(path, text=text)


class Grammar:
    """A search space: the terms of an `.ebnf` grammar, with their constraints.

    Use :func:`load_grammar`. Attributes: ``name``, ``path``, ``start``, ``nonterminals`` (in order
    of definition), ``shared`` (shared nonterminals), ``zero`` (the designated zero terminal or
    ``None``), ``max_depth`` (``None`` without a bound), ``float_digits``, ``prune`` (``%prune``: ``"paths"``
    or ``"none"``, what :func:`~algebraic_nas.assembly.build_network` does with dead edges), ``constraints``
    (names of Python constraints), ``size_ignores`` (the same: the exact size cannot count them),
    ``rules`` (the compiled :class:`~.patterns.Alternative` s of each nonterminal).
    """

    def __init__(self, root: GrammarFile, name: str = "grammar"):
        self.name = name
        self.path = root.path
        files = load_files(root)
        source_rules = merge_rules(files, root)
        d = read_directives(files, root, source_rules)
        self.start: str = d.start
        self.zero: Optional[str] = d.zero
        if self.zero is not None:
            # one concept of zero: the terminal a grammar declares its zero is a zero of the
            # assembler and the surrogate's graphs too (removed, never executed)
            register_zero(self.zero)
        self.max_depth: Optional[int] = d.max_depth
        self.float_digits: int = d.float_digits
        self.constraints: list[str] = d.constraints
        self.prune: str = d.prune or DEFAULT_PRUNE  # how the assembler treats dead edges (%prune)
        self.size_ignores = list(self.constraints)
        self._hooks = Hooks(self.constraints, d.constraint_functions())

        structure = check_structure(source_rules, {r.name for r in root.rules}, self.start, d.shared, self.max_depth)
        self.nonterminals: list[str] = structure.nonterminals
        self.unit_depth = structure.unit_depth  # the longest chain of unit productions (A ::= B)
        self.shared: set[str] = d.shared & set(self.nonterminals)
        rules = {a: source_rules[a] for a in self.nonterminals}
        self.rules: dict[str, list[Alternative]] = compile_rules(self.nonterminals, rules, self.zero)

        self._counts = Counts(self.rules, self.shared, self.zero, self.max_depth)
        for x in self.nonterminals:
            self._counts.value_nt(x, self.root_depth)
        check_productive(self.nonterminals, rules, self._counts.has_terms, self.zero, self.max_depth)

        self._groups, messages = find_shared_groups(self.nonterminals, self.rules, self.shared, structure.refs, rules)
        messages += duplicate_alternatives(self.nonterminals, self.rules)
        messages += ambiguous_leaves(self.nonterminals, self.rules, self._groups)
        messages += overlapping_numbers(self.nonterminals, self.rules)
        if self.zero is None and not d.zero_silenced:
            messages += undeclared_zero(self.rules, rules[self.start])
        for message in messages:
            warnings.warn(message, stacklevel=2)  # at the caller of load_grammar

        self._samplers = Samplers(self.rules, self._counts, self.shared, self.zero, self.float_digits)
        self._samplers.count_nodes = max_nodes(self.rules, self._counts, self.shared, self.start, self.root_depth) > MAX_SAMPLE_NODES
        self._heads = HeadIndex(self.rules)
        self._zero_masks: dict[tuple[str, int], Optional[bytes]] = {}
        self._mutable = frozenset(a for a in self.nonterminals if _more_than_one(*self.counts(a, self.root_depth)))
        self._size_cache: Optional[Count] = None

    # ------------------------------------------------------------------ interface of the operators and the parser

    @property
    def root_depth(self) -> Optional[int]:
        """The remaining depth at the root of a term or of a shared subterm (``max_depth``)."""
        return self.max_depth

    def counts(self, nonterminal: str, remaining_depth: Optional[int]) -> tuple[Count, Count]:
        """``(zero terms, other terms)`` of ``nonterminal`` at ``remaining_depth`` (ints, or
        ``math.inf``); shared references inside are expanded."""
        return self._counts.counts(nonterminal, remaining_depth)

    def sampler_for(self, nonterminal: str, remaining_depth: Optional[int], need_nonzero: bool = False, *, fresh: bool = False) -> Sampler:
        """A cached sampler of the terms of ``nonterminal``: call it with a
        :class:`~.sampling.SampleContext`; it may raise :class:`~.sampling.Rejected`. With
        ``fresh`` (shared nonterminals), a new value of the shared subterm itself at its root
        depth, ignoring the value already in the context (``remaining_depth`` is not used)."""
        if fresh:
            return self._samplers.fresh(nonterminal, need_nonzero)
        return self._samplers.for_nonterminal(nonterminal, remaining_depth, need_nonzero)

    @property
    def mutable_nonterminals(self) -> frozenset[str]:
        """The nonterminals with more than one term (the sites mutation and crossover may change)."""
        return self._mutable

    @property
    def heads(self) -> HeadIndex:
        """Which alternatives can derive a node with a given head (the term parser's index)."""
        return self._heads

    def zero_masks(self, symbol: str, arity: int) -> Optional[bytes]:
        """``table[mask]``: whether topology ``symbol`` with the arguments in ``mask`` zero keeps a
        path; ``None`` when no connectivity constraint applies (no ``%zero``, or not a topology)."""
        key = (symbol, arity)
        if key not in self._zero_masks:
            self._zero_masks[key] = zero_masks_for(symbol, arity, self.zero)
        return self._zero_masks[key]

    @property
    def canonicalizes(self) -> bool:
        """Whether terms are kept in a canonical form (interchangeable shared nonterminals, see :mod:`.lint`)."""
        return bool(self._groups)

    def violated_constraint(self, term: Term) -> Optional[str]:
        """The first Python ``%constraint`` ``term`` violates or raises on (:class:`~.constraints.Hooks`), or ``None``."""
        return self._hooks.violated(term)

    # ------------------------------------------------------------------ size

    def size(self, nonterminal: Optional[str] = None) -> Optional[int]:
        """The exact number of distinct valid terms (``None`` when infinite); a
        :class:`GrammarError` naming the limit when there are at least ``10^COUNT_LIMIT_DIGITS``.

        Counts derivations that satisfy the connectivity constraint, the depth bound and the
        sharing of shared nonterminals; Python ``%constraint``s are not counted (see ``size_ignores``).
        With ``nonterminal``, the number of terms of that nonterminal as a start symbol.
        """
        if nonterminal is not None and nonterminal != self.start:
            n = self._counts.exact_size(nonterminal, self._groups)
        else:
            if self._size_cache is None:
                self._size_cache = self._counts.exact_size(self.start, self._groups)
            n = self._size_cache
        if n == INF:
            return None
        if n >= CAP:
            raise GrammarError(
                f"{self.name} has at least 10^{COUNT_LIMIT_DIGITS} terms, beyond the limit of exact counting "
                "(algebraic_nas.grammar.counting.COUNT_LIMIT_DIGITS); lower %max_depth for an exact size", self.path
            )
        return int(n)

    def discrete_size(self) -> Optional[int]:
        """The number of *discrete structures* (distinct terms with every numeric placeholder
        counted as one value); ``None`` when at least ``10^COUNT_LIMIT_DIGITS``."""
        n = Counts(self.rules, self.shared, self.zero, self.max_depth, numbers_as_one=True).exact_size(self.start, self._groups)
        return None if n == INF or n >= CAP else int(n)

    def log10_size(self) -> float:
        """log10 of :meth:`size` (``math.inf`` when infinite)."""
        n = self.size()
        if n is None:
            return INF
        return math.log10(n) if n > 0 else -INF

    def size_summary(self) -> dict[str, Any]:
        """``size`` (exact or ``None``), ``log10_size``, ``infinite``, ``log10_size_at_least`` (beyond
        exact counting) and ``discrete_structures`` (:meth:`discrete_size`)."""
        try:
            n, beyond = self.size(), None
        except GrammarError:
            n, beyond = None, COUNT_LIMIT_DIGITS
        return {
            "size": n,
            "log10_size": None if n is None else (math.log10(n) if n > 0 else None),
            "infinite": n is None and beyond is None,
            "log10_size_at_least": beyond,
            "discrete_structures": self.discrete_size(),
        }

    # ------------------------------------------------------------------ sampling

    def sample(self, rng: RngLike = None, nonterminal: Optional[str] = None) -> Term:
        """A random term (of the start symbol, or of ``nonterminal``) satisfying all constraints.

        Alternatives are drawn with their weights, restricted to those that can still satisfy the
        connectivity constraint and the depth bound (renormalised). ``rng``: a `random.Random`,
        an int seed or ``None``.
        """
        ctx = SampleContext(as_rng(rng))
        a_name = nonterminal or self.start
        if a_name not in self.rules:
            raise KeyError(f"{a_name} is not a nonterminal of {self.name}")
        sampler = self.sampler_for(a_name, self.root_depth, False)
        accept = self._hooks.violated if self.constraints else None
        try:
            return draw(sampler, ctx, self.canonical if self._groups else None, accept, SAMPLE_TRIES)
        except DrawFailed as exc:
            why = self._hooks.failure(SAMPLE_TRIES, exc.rejected_by) if exc.rejected_by else exc.reason
            raise GrammarError(f"no term of {self.name} {why}", self.path) from None

    def canonical(self, term: Term) -> Term:
        """The canonical form of a term (identity unless the grammar has interchangeable shared
        nonterminals, see :attr:`canonicalizes`): ``parse(str(term))``."""
        if not self._groups:
            return term
        return self.parse(str(term))

    def sample_many(self, n: int, rng: RngLike = None) -> list[Term]:
        r = as_rng(rng)
        return [self.sample(r) for _ in range(n)]

    # ------------------------------------------------------------------ parsing and checking

    def parse(self, text: str, nonterminal: Optional[str] = None) -> Term:
        """The term of this grammar written as ``text`` (whitespace-insensitive).

        Raises :class:`TermError` (position and reason) for a string outside the language or a term
        violating a constraint. ``grammar.parse(str(t)) == t`` for every term ``t`` of an unambiguous
        grammar. Where a string has several derivations (``S ::= A | conv`` with ``A ::= conv``;
        identical rules ``M1``, ``M2`` not declared ``%shared``), parse returns the first: each
        alternative is tried in the order written. The loader warns about the ambiguities it sees.
        """
        from .termparse import parse_term

        return parse_term(self, text, nonterminal or self.start)

    def check(self, term: Term, nonterminal: Optional[str] = None) -> Term:
        """Raise :class:`TermError` unless ``term`` is a valid term of this grammar; return it.

        Checks the derivation (each node's nonterminal, production and symbol), the numeric ranges,
        the connectivity constraint, the depth bound, shared nonterminals and the Python constraints.
        Positions are character offsets in ``str(term)``.
        """
        from .termparse import deep_recursion, term_depth
        from .validation import validate

        with deep_recursion(term_depth(term) if isinstance(term, Term) else 1, self.unit_depth, None):
            validate(self, term, nonterminal or self.start, None, None)
        return term

    def is_valid(self, term: Term) -> bool:
        try:
            self.check(term)
            return True
        except TermError:
            return False

    # ------------------------------------------------------------------ fold and evolution

    def fold(self, term: Term, level: int) -> Term:
        """The fold operator F: the term cut at hierarchy level ``level`` (see :mod:`.fold`).

        ``fold(t, 0)`` is the root alone; a level below the deepest node returns ``term`` itself.
        """
        if level < 0:
            raise ValueError("fold level must be >= 0")
        return fold_term(term, level)

    def mutate(self, term: Term, rng: RngLike = None) -> Term:
        """A valid term differing from ``term``: a random subterm (of a nonterminal with more than one
        term) resampled. Raises ValueError if the term has no such subterm."""
        from .operators import mutate

        return mutate(self, term, as_rng(rng))

    def crossover(self, a: Term, b: Term, rng: RngLike = None) -> Optional[tuple[Term, Term]]:
        """Two children: ``a`` and ``b`` with a random pair of subterms of the same nonterminal
        swapped; both valid and different from both parents. ``None`` when no such pair exists."""
        from .operators import crossover

        return crossover(self, a, b, as_rng(rng))

    def self_crossover(self, term: Term, rng: RngLike = None) -> Optional[Term]:
        """A valid child of one parent: two disjoint subterms of the same nonterminal swapped
        (different from the parent). ``None`` when no such pair exists."""
        from .operators import self_crossover

        return self_crossover(self, term, as_rng(rng))

    # ------------------------------------------------------------------ misc

    def alternatives(self, nonterminal: str) -> list[str]:
        """The alternatives of ``nonterminal`` as written (normalised spacing)."""
        return [str(al.expr) for al in self.rules[nonterminal]]

    def weights(self, nonterminal: str) -> list[float]:
        return [al.weight for al in self.rules[nonterminal]]

    def terminals(self) -> dict[str, set[int]]:
        """Terminal symbols used by the grammar, with their arities (numeric placeholders excluded)."""
        return terminal_arities(self.rules)

    def topologies(self) -> list[str]:
        """Terminal symbols used with arguments (topology operators)."""
        return sorted(s for s, ar in self.terminals().items() if any(a > 0 for a in ar))

    def primitives(self) -> list[str]:
        """Terminal symbols used without arguments (primitive computations)."""
        return sorted(s for s, ar in self.terminals().items() if 0 in ar)

    def info(self) -> dict[str, Any]:
        """A JSON-serialisable summary (what ``algebraic-nas info --json`` prints)."""
        return {
            "name": self.name,
            "path": self.path,
            "start": self.start,
            "nonterminals": list(self.nonterminals),
            **self.size_summary(),
            "shared": sorted(self.shared),
            "zero": self.zero,
            "max_depth": self.max_depth,
            "float_digits": self.float_digits,
            "prune": self.prune,
            "constraints": list(self.constraints),
            "size_ignores": list(self.size_ignores),
            "topologies": self.topologies(),
            "primitives": self.primitives(),
        }

    def __repr__(self) -> str:
        return f"<Grammar {self.name} start={self.start} nonterminals={len(self.nonterminals)}>"

    def __reduce__(self):
        # pickled as its source (the compiled samplers are closures): reloaded on unpickling
        path, text = getattr(self, "_source", (self.path, None))
        return (_unpickle_grammar, (path, text))


def _more_than_one(zero: Count, other: Count) -> bool:
    return (zero + other if zero != INF and other != INF else INF) > 1
