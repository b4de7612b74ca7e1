"""The topology registry: ``(name, argument values, seed)`` → :class:`Template` (torch-free).

One registry serves the grammar (the ``zero`` connectivity constraint), the surrogate (graphs)
and the assembler. Three kinds of topology, registered with :func:`register_topology`::

    register_topology("Triangle", edges=((1, 2), (2, 3), (1, 3)))       # fixed: argument i on edge i
    register_topology("Cat2", edges=((1, 2), (1, 2)), merges={2: "concat"})

    @register_topology("Fan")                                            # a function of the arity
    def fan(arity: int) -> Template | Edges | None:                      # None: arity not allowed
        return tuple((1, 2) for _ in range(arity)) if arity >= 2 else None

    @register_topology("Chain", generator=True)                          # a generator
    def chain(values: tuple[int | float, ...], seed: int) -> Template:
        (n,) = values                  # the term's numeric children, in order: Chain(3, conv)
        return Template.chain(int(n), arg=1)   # n edges, each carrying child 1 (the operation)

A *generator* is called with the numeric values of the term's value children (ints/floats, in
order) and a seed, and must return the same template for the same values and seed. It may also
declare which values matter (``canonical=``): a function of the values returning what the
generator really uses (clamped values, ``None`` for an inert one), equal for two value tuples
exactly when they give the same template for every seed; :mod:`.canonical_values` uses it to
give equivalent terms one canonical form. Its edges may
read any non-value child. The seed of a topology instance comes from :func:`position_seed`
(network seed + path of child indices + instance path: which copy, where a template places one
argument on several edges), so the same term and seed give the same network and different
positions and instances get independent graphs; fixed and arity topologies never see the seed.

Registering a name twice warns and replaces (a user may override a built-in). Names such as
``Linear3`` come from *families*: a regular expression whose match builds the topology
(:func:`register_topology_family`). The built-ins live in :mod:`.topology_builtins`.
"""

from __future__ import annotations

import fnmatch
import functools
import hashlib
import re
from dataclasses import dataclass
from typing import Callable, Iterable, Optional, Sequence, Union

from algebraic_nas.registry import Registry

from .term import Term
from .topology_template import Edges, MergeSpec, Template, as_template

Number = Union[int, float]
TemplateLike = Union[Template, Edges]
ArityFn = Callable[[int], Optional[TemplateLike]]
GeneratorFn = Callable[[tuple[Number, ...], int], TemplateLike]
CanonicalFn = Callable[[tuple[Number, ...]], tuple]
FamilyFn = Callable[[re.Match, int], Optional[TemplateLike]]


@dataclass(frozen=True)
class TopologySpec:
    """A registered topology: exactly one of ``fixed``, ``by_arity``, ``generator`` is set;
    ``canonical`` (generators only): the values the generator really uses (see the module docstring)."""

    name: str
    fixed: Optional[Template] = None
    by_arity: Optional[ArityFn] = None
    generator: Optional[GeneratorFn] = None
    canonical: Optional[CanonicalFn] = None

    @property
    def is_generator(self) -> bool:
        return self.generator is not None

    def template(self, arity: int, values: tuple[Number, ...] = (), seed: int = 0,
                 value_positions: Optional[Sequence[int]] = None) -> Optional[Template]:
        """The template for a term with ``arity`` children, of which ``values`` are the numeric ones
        (at child indices ``value_positions``, when known).

        ``None`` when this topology does not take that many arguments. A generator is checked
        against the term: its edges must read children that exist and are not values.
        """
        if self.generator is not None:
            t = _generate(self, tuple(values), int(seed))
            used = t.arg_indices
            if max(used, default=-1) >= arity or len(used) + len(values) > arity:
                return None
            if value_positions is not None and used.intersection(value_positions):
                return None
            return t
        if self.fixed is not None:
            t = self.fixed
        else:
            got = self.by_arity(arity)  # type: ignore[misc]
            if got is None:
                return None
            t = as_template(got)
        return t if t.arity == arity else None


@functools.lru_cache(maxsize=8192)
def _generate(spec: TopologySpec, values: tuple[Number, ...], seed: int) -> Template:
    # Generators may be costly (random graphs); the same (values, seed) recurs for every candidate.
    try:
        got = spec.generator(values, seed)  # type: ignore[misc]
        if got is None:
            raise ValueError("it returned None")
        return as_template(got)
    except Exception as e:  # a user's generator rejecting its values: say which
        raise ValueError(f"generator topology {spec.name!r} failed for values {values} (seed {seed}): {e}") from e


TOPOLOGY_REGISTRY: Registry[TopologySpec] = Registry("topology", key="topology")
# display name -> (pattern, builder)
FAMILY_REGISTRY: Registry[tuple[re.Pattern[str], FamilyFn]] = Registry("topology family", key="topology")
_FAMILY_SPECS: dict[str, Optional[TopologySpec]] = {}  # resolved family members (None: no match)


def register_topology(
    name: str,
    spec: Union[TemplateLike, ArityFn, GeneratorFn, None] = None,
    *,
    edges: Optional[Iterable[tuple[int, int]]] = None,
    merges: MergeSpec = None,
    generator: bool = False,
    canonical: Optional[CanonicalFn] = None,
):
    """Register topology ``name`` (usable as a decorator on a function).

    ``spec`` is a :class:`Template`, a plain edge list, a function of the arity (returning a
    template, an edge list or ``None``), or, with ``generator=True``, a generator
    ``(values, seed) -> template``, optionally with ``canonical=`` (values -> the values it really
    uses, ``None`` for inert ones). ``edges=`` (with optional ``merges=``, node → merge name) is
    the one-line form for fixed edge lists. Registering a name twice warns and replaces.
    """
    if canonical is not None and (not generator or not callable(canonical)):
        raise TypeError(f"topology {name!r}: canonical= is a function of the values, for a generator topology only")

    def deco(s: Union[TemplateLike, ArityFn, GeneratorFn]):
        if generator:
            if not callable(s):
                raise TypeError(f"generator topology {name!r} needs a function (values, seed) -> Template")
            entry = TopologySpec(name, generator=s, canonical=canonical)  # type: ignore[arg-type]
        elif isinstance(s, Template) or not callable(s):
            t = as_template(s)  # type: ignore[arg-type]
            entry = TopologySpec(name, fixed=Template(t.n_nodes, t.edges, merges) if merges else t)
        else:
            entry = TopologySpec(name, by_arity=s)  # type: ignore[arg-type]
        TOPOLOGY_REGISTRY.add(name, entry, stacklevel=4)
        _FAMILY_SPECS.pop(name, None)
        return s

    if edges is not None:
        return deco(tuple(tuple(e) for e in edges))
    return deco(spec) if spec is not None else deco


def register_topology_family(display: str, pattern: str, build: FamilyFn) -> None:
    """Register every name matching regular expression ``pattern`` (e.g. ``Linear(\\d*)``).

    ``build(match, arity)`` returns the template (or ``None``: that arity is not allowed);
    ``display`` is how :func:`list_topologies` shows the family (``"Linear<K>"``).
    """
    FAMILY_REGISTRY.add(display, (re.compile(pattern), build), stacklevel=3)
    _FAMILY_SPECS.clear()


def get_topology(name: str) -> Optional[TopologySpec]:
    """The registered topology ``name`` (a family member included), or ``None``."""
    spec = TOPOLOGY_REGISTRY.find(name)
    if spec is not None:
        return spec
    if name not in _FAMILY_SPECS:
        found = None
        for regex, build in FAMILY_REGISTRY.entries():
            m = regex.fullmatch(name)
            if m:
                found = TopologySpec(name, by_arity=functools.partial(build, m))
                break
        _FAMILY_SPECS[name] = found
    return _FAMILY_SPECS[name]


def get_template(name: str, arity: int, values: Sequence[Number] = (), seed: int = 0) -> Optional[Template]:
    """The template of topology ``name`` for ``arity`` children (``values``: the numeric ones, in
    order; ``seed``: the position's seed, see :func:`position_seed`), or ``None`` if it is not one."""
    spec = get_topology(name)
    return spec.template(arity, tuple(values), seed) if spec is not None else None


def is_topology(name: str) -> bool:
    """Whether ``name`` is a registered topology or a member of a registered family."""
    return get_topology(name) is not None


def list_topologies(pattern: Optional[str] = None) -> list[str]:
    """Sorted names of the registered topologies and families, filtered by a ``fnmatch`` pattern."""
    names = sorted({*TOPOLOGY_REGISTRY, *FAMILY_REGISTRY})
    return [n for n in names if pattern is None or fnmatch.fnmatchcase(n, pattern)]


def argument_values(t: Term) -> tuple[tuple[int, ...], tuple[Number, ...]]:
    """Child indices and values of the numeric children of ``t`` (read through unit productions)."""
    pos, vals = [], []
    for i, c in enumerate(t.children):
        v = c.resolve().value
        if v is not None:
            pos.append(i)
            vals.append(v)
    return tuple(pos), tuple(vals)


def term_template(t: Term, seed: int = 0, path: Sequence[int] = (), values_from: Optional[Term] = None,
                  instance: Sequence[int] = ()) -> Optional[Template]:
    """The template of topology node ``t`` (not transparent) at ``path`` of a network built with
    ``seed``, or ``None`` when ``t.symbol`` is no topology for these arguments.

    ``values_from``: the node to read a generator's numeric arguments from, when ``t`` is part of
    a folded term whose value children may be collapsed (the same node of the unfolded term).
    ``instance``: which copy of the subterm this is (see :func:`position_seed`).
    """
    spec = get_topology(t.symbol)
    if spec is None:
        return None
    if spec.is_generator:
        pos, vals = argument_values(values_from if values_from is not None else t)
        return spec.template(len(t.children), vals, position_seed(seed, path, instance), pos)
    return spec.template(len(t.children))


def position_seed(seed: int, path: Sequence[int], instance: Sequence[int] = ()) -> int:
    """The seed of the topology instance at ``path`` (child indices from the root, transparent
    unit productions included, as in :meth:`Term.walk`) in a network built with ``seed``.

    ``instance`` tells apart the copies of one subterm: a template that places the same argument
    on several edges (a generator's module on each of its nodes) instantiates it once per edge,
    and each copy appends its index among those edges (the graph node, for NAGO's generators)
    to the instance path of its parent. So every cell of a NAGO network and every node of a cell
    draws its own graph (Ru et al. 2020, Fig. 1), and the same term and seed still give the same
    network. Subterms placed once have the empty instance path inside their parent's.

    A stable 63-bit hash (BLAKE2b of ``repr((seed, path))``, with ``instance`` appended when it is
    not empty; not Python's salted ``hash``): the same in every process and Python version,
    different for different positions, instances or seeds.
    """
    key = (int(seed), tuple(path)) if not instance else (int(seed), tuple(path), tuple(instance))
    digest = hashlib.blake2b(repr(key).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little") >> 1


def repeated_arguments(tmpl: Template) -> frozenset:
    """The argument indices ``tmpl`` places on more than one edge (each such edge is one instance)."""
    seen: set = set()
    repeated: set = set()
    for e in tmpl.edges:
        if e.arg is not None:
            (repeated if e.arg in seen else seen).add(e.arg)
    return frozenset(repeated)


from . import topology_builtins  # noqa: E402,F401  (registers the built-ins; needs the functions above)
