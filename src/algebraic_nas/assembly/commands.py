"""The ``build`` and ``draw`` subcommands of the ``algebraic-nas`` console script.

``cli.py`` wires them in with :func:`add_build_parser` / :func:`add_draw_parser`; the datasets are
the evaluation package's, so ``cli.py`` hands ``add_build_parser`` the function that maps a
dataset name to its :class:`~algebraic_nas.assembly.shapes.InputSpec` (the assembler itself
knows no datasets: imports flow grammar → assembly → evaluation)::

    algebraic-nas build GRAMMAR TERM [--dataset NAME] [--json] [--device cpu|cuda] [--base-channels C] [--budget P] [--seed S]
    algebraic-nas draw GRAMMAR TERM -o FILE.png|FILE.svg [--level L]

``GRAMMAR`` is a shipped grammar name or a path to an ``.ebnf`` file; ``TERM`` the term string
(``@FILE`` reads it from a file, ``-`` from standard input).
"""

from __future__ import annotations

import argparse
import json
import time
from typing import TYPE_CHECKING, Any, Callable

from algebraic_nas.grammar.termparse import read_term_text

from .shapes import InputSpec

if TYPE_CHECKING:
    from algebraic_nas.grammar import Grammar, Term

DatasetSpecFn = Callable[[str], InputSpec]  # dataset name → its input spec; raises ValueError if unknown


def _parse(grammar_name: str, term_text: str) -> tuple[Grammar, Term]:
    from algebraic_nas.grammar import load_grammar

    from .terminals import check_terminals

    grammar = load_grammar(grammar_name)
    check_terminals(grammar)  # unknown terminals: file:line:col before any build
    return grammar, grammar.parse(read_term_text(term_text))


def build_command(args: argparse.Namespace, spec: InputSpec) -> int:
    """Build a term's network for input ``spec`` (dataset ``args.dataset``); print its statistics.

    Runs one forward pass of a random batch ``(args.batch, C, R, R)`` on ``args.device``.
    """
    import torch

    from .network import build_network
    from .stats import network_stats

    grammar, term = _parse(args.grammar, args.term)
    t0 = time.perf_counter()
    net = build_network(term, spec, base_channels=args.base_channels, seed=args.seed, budget=args.budget,
                        prune=grammar.prune)
    build_s = time.perf_counter() - t0
    device = torch.device(args.device)
    net = net.to(device)
    x = torch.randn(args.batch, spec.channels, spec.resolution, spec.resolution, device=device)
    net.eval()
    with torch.no_grad():
        if args.batch > 0:  # warm-up, so that forward_ms is the steady-state time
            net(x)
        t0 = time.perf_counter()
        y = net(x)
        if device.type == "cuda":
            torch.cuda.synchronize()
        forward_s = time.perf_counter() - t0
    if not torch.isfinite(y).all():
        raise SystemExit("error: the forward pass produced non-finite outputs")
    t0 = time.perf_counter()
    stats = network_stats(net, spec)
    stats_s = time.perf_counter() - t0
    out: dict[str, Any] = {
        "grammar": args.grammar,
        "term": str(term),
        "dataset": args.dataset,
        "input_shape": [args.batch, spec.channels, spec.resolution, spec.resolution],
        "base_channels": net.base_channels,
        "params": stats["params"],
        "flops": stats["flops"],
        "macs": stats["macs"],
        "output_shape": stats["output_shape"],
        "batch_output_shape": list(y.shape),
        "build_ms": round(build_s * 1e3, 3),
        "forward_ms": round(forward_s * 1e3, 3),
        "stats_ms": round(stats_s * 1e3, 3),
        "device": str(device),
    }
    if args.json:
        print(json.dumps(out))
    else:
        print(f"term:         {out['term'] if len(out['term']) < 120 else out['term'][:117] + '...'}")
        print(f"dataset:      {args.dataset} (input {spec.channels}×{spec.resolution}×{spec.resolution}, {spec.classes} classes)")
        print(f"parameters:   {out['params']:,} ({out['params'] / 1e6:.3f} M)")
        print(f"FLOPs:        {out['flops']:,} per sample (multiply-add = 2; {out['macs'] / 1e6:.2f} M MACs)")
        print(f"output shape: {out['batch_output_shape']} for a batch of {args.batch}")
        print(f"build {out['build_ms']:.1f} ms, forward {out['forward_ms']:.1f} ms, "
              f"parameter and FLOP count {out['stats_ms']:.1f} ms on {device} (the rest: Python start-up and imports)")
    return 0


def draw_command(args: argparse.Namespace) -> int:
    """Write a PNG/SVG picture of a term's architecture."""
    from .draw import draw_term

    grammar, term = _parse(args.grammar, args.term)
    info = draw_term(term, args.output, grammar=grammar, level=args.level)
    level = "" if info["level"] is None else f"fold level {info['level']}, "
    folded = ", ".join(f"{n} {nt}" for nt, n in sorted(info["collapsed"].items()))
    shown = f"{level}collapsed subterms: {folded}" if folded else level + "unfolded"
    width, height = info["size_in"]
    print(f"wrote {info['path']} ({info['nodes']} boxes, {info['edges']} edges, {shown}; "
          f"{info['rows']} row(s), {width:g} × {height:g} in)")
    return 0


def add_build_parser(subparsers: Any, dataset_spec: DatasetSpecFn) -> argparse.ArgumentParser:
    """The ``build`` subparser; ``dataset_spec`` resolves ``--dataset NAME`` when the command runs."""
    p = subparsers.add_parser("build", help="build a term's network for a dataset and print params/FLOPs")
    p.add_argument("grammar", help="shipped grammar name or path to an .ebnf file")
    p.add_argument("term", help="the term (or @FILE, or - for stdin)")
    p.add_argument("--dataset", default="digits",
                   help="dataset whose input shape and classes to use (default digits, as in export and a search; e.g. cifar10)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--device", default="cpu", help="torch device for the forward pass (cpu, cuda)")
    p.add_argument("--batch", type=int, default=2, help="batch size of the random forward pass")
    p.add_argument("--base-channels", type=int, default=None,
                   help="channels after the stem (default: 16, or from the parameter budget of a Budget(...) term)")
    p.add_argument("--budget", type=float, default=None,
                   help="size the width by this many parameters (NAGO's rule; overrides a Budget(...) term's)")
    p.add_argument("--seed", type=int, default=0, help="network seed (draws the graphs of generator topologies)")
    p.set_defaults(func=lambda args: build_command(args, dataset_spec(args.dataset)))
    return p


def add_draw_parser(subparsers: Any) -> argparse.ArgumentParser:
    p = subparsers.add_parser("draw", help="draw a term's architecture to a PNG or SVG file")
    p.add_argument("grammar", help="shipped grammar name or path to an .ebnf file")
    p.add_argument("term", help="the term (or @FILE, or - for stdin)")
    p.add_argument("-o", "--output", required=True, help="output file, .png or .svg")
    p.add_argument("--level", type=int, default=None,
                   help="fold level (collapsed subterms drawn as boxes); default: collapse the smallest subterms "
                        "(e.g. hnb201's cells) that leave at most 60 boxes")
    p.set_defaults(func=draw_command)
    return p
