"""Search-space grammars: the `.ebnf` language, terms, sampling, parsing, size, fold and evolution.

    from algebraic_nas.grammar import load_grammar
    g = load_grammar("hnb201")        # a shipped name or a path to an .ebnf file
    t = g.sample(0)                   # a Term satisfying the grammar's constraints
    assert g.parse(str(t)) == t
    g.size(), g.log10_size()          # exact number of valid terms (None = infinite)
    g.mutate(t, rng), g.crossover(a, b, rng), g.self_crossover(t, rng), g.fold(t, 2)

No torch here. The language is documented in the README ("Writing a search space"). Modules, one concept each:
``meta`` (the Lark meta-grammar: text of one file), ``loading`` (paths, ``%import``, merged rules,
directives), ``checks`` (undefined, unreachable, cycles, unproductive), ``patterns`` (compiled
alternatives, zero masks, head index), ``connectivity`` (the zero constraint per mask and its
counting), ``bottomup`` (values over acyclic dependencies without recursion), ``counting``
(exact counts and size), ``sampling``
(weighted, constraint-aware samplers), ``lint`` (warnings, interchangeable shared groups),
``termparse`` / ``validation`` (term strings, term checks), ``sites`` / ``operators`` (mutation
and crossover), ``fold``, and ``grammar`` (the `Grammar` facade over them).
"""

from .constraints import register_constraint, registered_constraints
from .errors import GrammarError, TermError
from .grammar import Grammar, as_rng, fold_term, load_grammar, resolve_grammar_path, shipped_grammars
from .term import Term
from .topologies import has_path, topology_edges
from .topology import (
    get_template,
    get_topology,
    is_topology,
    list_topologies,
    position_seed,
    register_topology,
    register_topology_family,
)
from .topology_template import Template, TemplateEdge
from .topology_zero import register_zero

__all__ = [
    "Grammar",
    "Template",
    "TemplateEdge",
    "get_template",
    "get_topology",
    "is_topology",
    "list_topologies",
    "position_seed",
    "register_topology_family",
    "register_zero",
    "GrammarError",
    "Term",
    "TermError",
    "as_rng",
    "fold_term",
    "has_path",
    "load_grammar",
    "register_constraint",
    "register_topology",
    "registered_constraints",
    "resolve_grammar_path",
    "shipped_grammars",
    "topology_edges",
]
