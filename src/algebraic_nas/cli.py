"""The ``algebraic-nas`` console script (also ``python -m algebraic_nas``).

    algebraic-nas info GRAMMAR [--json]
    algebraic-nas sample GRAMMAR [-n N] [--seed S]
    algebraic-nas check GRAMMAR TERM          # TERM, @FILE, or - for standard input
    algebraic-nas build | draw | report ...   # see their --help
    algebraic-nas export RUN_DIR | GRAMMAR TERM   # a standalone PyTorch module file + weights
    algebraic-nas convert FORMAT TEXT         # nb201 / reference architectures -> terms (and back)
    algebraic-nas strategies                  # registered strategies and executors

GRAMMAR is a shipped grammar name (``hnb201``) or a path to an ``.ebnf`` file.

Adding a subcommand is one function::

    @command("name", "one-line help")
    def _name(parser: argparse.ArgumentParser) -> Handler:
        parser.add_argument(...)
        return run                          # run(args) -> exit status

The function is only called when its subcommand is used (or for ``NAME --help``), so heavy
imports belong inside it: ``info``, ``sample`` and ``check`` never import torch.
Exit status: 0 success, 1 an invalid term (``check``), 2 a usage or grammar error.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any, Callable, Optional, Sequence

Handler = Callable[[argparse.Namespace], int]

_COMMANDS: dict[str, tuple[str, Callable[[argparse.ArgumentParser], Handler]]] = {}


def command(name: str, help: str) -> Callable:
    """Register a subcommand: the decorated function adds its arguments and returns its handler."""

    def deco(fn: Callable[[argparse.ArgumentParser], Handler]):
        _COMMANDS[name] = (help, fn)
        return fn

    return deco


def read_term_arg(text: str) -> str:
    """A TERM argument: the term itself, ``@FILE`` (read from a file) or ``-`` (standard input)."""
    from algebraic_nas.grammar.termparse import read_term_text

    return read_term_text(text)


def _grammar_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("grammar", metavar="GRAMMAR", help="shipped grammar name (e.g. hnb201) or path to an .ebnf file")


def _load_checked(name: str, strict: bool):
    """Grammar ``name`` with its terminals checked against the registered primitives, topologies
    and merges (plugins are loaded by :func:`main`): a :class:`GrammarError` naming file:line:col
    when ``strict`` (commands that need networks), warnings on stderr otherwise."""
    from algebraic_nas.assembly.terminals import check_terminals, terminal_problems
    from algebraic_nas.grammar import load_grammar

    g = load_grammar(name)
    if strict:
        check_terminals(g)
    else:
        for message in terminal_problems(g, load_builtins=False):  # torch-free
            print(f"warning: {message}", file=sys.stderr)
    return g


# ---------------------------------------------------------------------------- grammar commands


@command("info", "start symbol, nonterminals and exact size of a grammar")
def _info(p: argparse.ArgumentParser) -> Handler:
    _grammar_arg(p)
    p.add_argument(
        "--json", action="store_true",
        help="print one JSON object (size: an integer, or null when infinite or beyond exact counting; "
        "discrete_structures: the count with each numeric placeholder as one value)",
    )

    def run(args: argparse.Namespace) -> int:
        g = _load_checked(args.grammar, strict=False)
        info = g.info()
        if args.json:
            print(json.dumps(info))
            return 0
        size = info["size"]
        print(f"grammar      {g.name}  ({g.path})")
        print(f"start        {g.start}")
        if info["infinite"]:
            shown = "infinite (continuous placeholders)"
        elif size is None:
            shown = f"at least 10^{info['log10_size_at_least']} (beyond exact counting)"
        else:
            shown = str(size)
        print(f"size         {shown}")
        if info["log10_size"] is not None:
            print(f"log10 size   {info['log10_size']:.4f}")
        if size is None:
            n = info["discrete_structures"]
            print(f"discrete     {'beyond exact counting' if n is None else n} structures (each numeric placeholder as one value)")
        if g.size_ignores:
            print(f"             (the size ignores the Python constraints {', '.join(g.size_ignores)})")
        print(f"zero         {g.zero or '-'}   max_depth {g.max_depth or '-'}   shared {', '.join(sorted(g.shared)) or '-'}")
        if g.constraints:
            print(f"constraints  {', '.join(g.constraints)}")
        print(f"topologies   {', '.join(info['topologies']) or '-'}")
        print(f"primitives   {', '.join(info['primitives']) or '-'}")
        print("nonterminals")
        width = max(len(a) for a in g.nonterminals)
        for a in g.nonterminals:
            alts = g.alternatives(a)
            ws = g.weights(a)
            uniform = max(ws) - min(ws) < 1e-12
            shown = " | ".join(s if uniform else f"{s} [{w:.3g}]" for s, w in zip(alts, ws))
            if len(shown) > 110:
                shown = shown[:107] + "..."
            print(f"  {a:<{width}} ::= {shown}")
        return 0

    return run


@command("sample", "random terms of a grammar, one per line")
def _sample(p: argparse.ArgumentParser) -> Handler:
    _grammar_arg(p)
    p.add_argument("-n", type=int, default=1, help="number of terms (default 1)")
    p.add_argument("--seed", type=int, default=None, help="random seed (default: fresh entropy)")
    p.add_argument("--nonterminal", default=None, help="sample terms of this nonterminal instead of the start symbol")

    def run(args: argparse.Namespace) -> int:
        import random

        g = _load_checked(args.grammar, strict=False)
        rng = random.Random(args.seed)
        if args.nonterminal is not None and args.nonterminal not in g.nonterminals:
            print(f"error: {args.nonterminal} is not a nonterminal of {g.name}", file=sys.stderr)
            return 2
        out = sys.stdout
        for _ in range(args.n):
            out.write(str(g.sample(rng, nonterminal=args.nonterminal)) + "\n")
        return 0

    return run


@command("check", "is a term in the grammar's language and valid? (exit 0 yes, 1 no)")
def _check(p: argparse.ArgumentParser) -> Handler:
    _grammar_arg(p)
    p.add_argument("term", metavar="TERM", help="the term, @FILE to read it from a file, or - for standard input")
    p.add_argument("--nonterminal", default=None, help="check against this nonterminal instead of the start symbol")
    p.add_argument("-q", "--quiet", action="store_true", help="print nothing on success")

    def run(args: argparse.Namespace) -> int:
        from algebraic_nas.grammar import TermError

        g = _load_checked(args.grammar, strict=True)
        text = read_term_arg(args.term)
        try:
            g.parse(text, nonterminal=args.nonterminal)
        except TermError as exc:
            print(f"invalid: {exc}", file=sys.stderr)
            return 1
        if not args.quiet:
            print("valid")
        return 0

    return run


# ---------------------------------------------------------------------------- other packages' commands


class _OneParser:
    """Adapter for ``add_X_parser(subparsers)`` functions: hands them the already created parser."""

    def __init__(self, parser: argparse.ArgumentParser):
        self.parser = parser

    def add_parser(self, name: str, **kwargs: Any) -> argparse.ArgumentParser:
        if kwargs.get("description"):
            self.parser.description = kwargs["description"]
        return self.parser


def _adopt(p: argparse.ArgumentParser, add: Callable[[Any], Any]) -> Handler:
    add(_OneParser(p))
    func = p.get_default("func")
    if func is None:  # pragma: no cover
        raise RuntimeError("the subcommand did not set a handler (set_defaults(func=...))")
    return func


@command("build", "build a term's network for a dataset and print params/FLOPs")
def _build(p: argparse.ArgumentParser) -> Handler:
    from algebraic_nas.assembly import commands
    from algebraic_nas.evaluation import get_dataset_spec  # the one dataset table

    return _adopt(p, lambda sub: commands.add_build_parser(sub, dataset_spec=get_dataset_spec))


@command("draw", "draw a term's architecture to a PNG or SVG file")
def _draw(p: argparse.ArgumentParser) -> Handler:
    from algebraic_nas.assembly import commands

    return _adopt(p, commands.add_draw_parser)


@command("report", "summarise a search run directory (CSV, plots, best term)")
def _report(p: argparse.ArgumentParser) -> Handler:
    from algebraic_nas.search import report

    report.add_arguments(p)
    return report.run_from_args


@command("convert", "convert an architecture of another tool (nb201, reference, ...) to a term, or back")
def _convert(p: argparse.ArgumentParser) -> Handler:
    from algebraic_nas.interop import commands

    commands.add_arguments(p)
    return lambda args: commands.run(args, read_term_arg(args.text))


@command("export", "write a run's best architecture (or GRAMMAR TERM) as a standalone PyTorch module file + weights")
def _export(p: argparse.ArgumentParser) -> Handler:
    from algebraic_nas.search.report import export as export_run

    export_run.add_arguments(p)
    return lambda args: export_run.run_from_args(args, read_term_arg(args.term) if args.term is not None else None)


@command("primitives", "list the registered primitives, topologies (with their arities) and merges a grammar may name")
def _primitives(p: argparse.ArgumentParser) -> Handler:
    def run(args: argparse.Namespace) -> int:
        from algebraic_nas.assembly.terminals import describe_terminals

        print(describe_terminals())
        return 0

    return run


@command("strategies", "list the registered search strategies and executors (python -m algebraic_nas.search)")
def _strategies(p: argparse.ArgumentParser) -> Handler:
    from algebraic_nas.search.config.commands import describe_components

    return lambda args: print(describe_components()) or 0


@command("cluster-script", "print the SLURM/PBS job script a search would submit (same overrides: executor=slurm ...)")
def _cluster_script(p: argparse.ArgumentParser) -> Handler:
    p.add_argument("overrides", nargs="*", help="search overrides, e.g. executor=slurm executor.gpus_per_job=1 n_workers=8")

    def run(args: argparse.Namespace) -> int:
        from algebraic_nas.search.config.commands import cluster_script

        print(cluster_script(args.overrides), end="")
        return 0

    return run


# ---------------------------------------------------------------------------- entry point


def make_parser(only: Optional[str] = None) -> tuple[argparse.ArgumentParser, dict[str, Handler]]:
    """The argument parser; subcommand arguments are installed for ``only`` (all when None)."""
    from algebraic_nas import __version__

    parser = argparse.ArgumentParser(
        prog="algebraic-nas",
        description="Neural architecture search over algebraic architecture terms: grammars, terms, networks, searches.",
    )
    parser.add_argument("--version", action="version", version=f"algebraic-nas {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    handlers: dict[str, Handler] = {}
    for name, (help_text, setup) in _COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        if only is None or only == name:
            handlers[name] = setup(p)
    return parser, handlers


def _load_plugins() -> None:
    from algebraic_nas.search.config.plugins import load_plugins

    load_plugins()


def main(argv: Optional[Sequence[str]] = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    only = argv[0] if argv and argv[0] in _COMMANDS else None
    try:
        parser, handlers = make_parser(only if only is not None else "")
    except ImportError as exc:  # a subcommand whose package is missing a dependency
        print(f"error: {exc}", file=sys.stderr)
        return 2
    args = parser.parse_args(argv)
    if not args.command:
        parser.print_help()
        return 2
    from algebraic_nas.grammar import GrammarError, TermError

    try:
        _load_plugins()  # a plugin's primitives and topologies count in every command's checks
        return int(handlers[args.command](args) or 0)
    except GrammarError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except TermError as exc:
        print(f"invalid: {exc}", file=sys.stderr)
        return 1
    except BrokenPipeError:  # pragma: no cover - e.g. `algebraic-nas sample ... | head`
        return 0
    except (OSError, ValueError, KeyError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except (RecursionError, MemoryError) as exc:  # a last guard: hostile input never ends in a traceback
        print(f"error: input too large or too deeply nested ({type(exc).__name__})", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
