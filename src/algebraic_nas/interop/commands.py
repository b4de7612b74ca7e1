"""The ``convert`` subcommand of the ``algebraic-nas`` console script::

    algebraic-nas convert FORMAT TEXT [--reverse | --to-term]

``FORMAT`` is a registered converter (``nb201``, ``reference``, ...: :func:`converter_names`);
``TEXT`` the architecture (``@FILE`` reads it from a file, ``-`` from standard input). Without a
flag, a converter that can go both ways finds the direction from the text. The result is printed;
a text that does not convert is one line on standard error, exit status 2.
"""

from __future__ import annotations

import argparse

from . import convert, converter_names, get_converter


def add_arguments(p: argparse.ArgumentParser) -> None:
    formats = converter_names()
    p.add_argument("format", metavar="FORMAT", choices=formats, help=f"one of: {', '.join(formats)}")
    p.add_argument("text", metavar="TEXT",
                   help="the architecture in FORMAT, or a term with --reverse; @FILE reads a file, - standard input")
    way = p.add_mutually_exclusive_group()
    way.add_argument("--reverse", dest="reverse", action="store_const", const=True, default=None,
                     help="TEXT is a term: print it in FORMAT")
    way.add_argument("--to-term", dest="reverse", action="store_const", const=False,
                     help="TEXT is in FORMAT: print the term (the default where the direction is not detected)")
    p.epilog = "formats: " + "; ".join(f"{n}: {get_converter(n).doc}" for n in formats)


def run(args: argparse.Namespace, text: str) -> int:
    """Print the conversion of ``text`` (``args.text`` as read by the console script)."""
    print(convert(args.format, text, reverse=args.reverse))
    return 0
