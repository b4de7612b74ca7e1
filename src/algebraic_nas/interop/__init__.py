"""Interoperability: architectures written in other tools' formats ↔ terms of the shipped grammars.

    from algebraic_nas.interop import convert
    term = convert("nb201", "|nor_conv_3x3~0|+|none~0|avg_pool_3x3~1|+|skip_connect~0|none~1|nor_conv_1x1~2|")
    text = convert("nb201", term)                # a term: the other direction (auto-detected)
    convert("reference", "Linear1(Linear3(relu, conv3x3, batch))")   # hnb201 text of the authors' code

A format is a **converter**: a function from the foreign text to a term string of one shipped
grammar, optionally the reverse, and a test that tells a term from the foreign text (so that
``convert`` finds the direction itself). Converters register with :func:`register_converter`;
the built-in ones live in this package's modules named in :data:`BUILTIN_CONVERTERS` and register
on first use. Conversions work on strings only (no torch). Errors are :class:`ConversionError`
(a ``ValueError``) naming the position in the input.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Callable, Optional

from algebraic_nas.errors import AlgebraicNASError
from algebraic_nas.registry import Registry, doc_line

#: Modules of this package that register a converter when imported.
BUILTIN_CONVERTERS = ("nb201", "reference", "darts")

__all__ = ["BUILTIN_CONVERTERS", "ConversionError", "Converter", "convert", "converter_names", "get_converter",
           "register_converter"]


class ConversionError(AlgebraicNASError, ValueError):
    """Foreign architecture text that does not convert; the message names the position."""

    def __init__(self, message: str, text: str = "", position: Optional[int] = None) -> None:
        self.text = text
        self.position = position
        where = f" at character {position}" if position is not None else ""
        shown = text if len(text) <= 120 else text[:117] + "..."
        super().__init__(f"{message}{where}" + (f" of {shown!r}" if text else ""))


@dataclass(frozen=True)
class Converter:
    """One format: ``to_term(text) -> term string`` of ``grammar``; ``from_term`` the reverse
    (``None``: one direction only); ``is_term(text)`` says whether ``text`` is already a term."""

    name: str
    grammar: str
    to_term: Callable[[str], str]
    from_term: Optional[Callable[[str], str]] = None
    is_term: Optional[Callable[[str], bool]] = None
    doc: str = ""


_CONVERTERS: Registry[Converter] = Registry("converter", "convert FORMAT")
_loaded = False


def register_converter(name: str, to_term: Callable[[str], str], *, grammar: str,
                       from_term: Optional[Callable[[str], str]] = None,
                       is_term: Optional[Callable[[str], bool]] = None, doc: str = "") -> Converter:
    """Register the format ``name`` (see :class:`Converter`); the one-line ``doc`` defaults to
    the first line of ``to_term``'s docstring."""
    conv = Converter(name, grammar, to_term, from_term, is_term, doc_line(to_term, doc))
    _CONVERTERS.add(name, conv)
    return conv


def _load_builtins() -> None:
    global _loaded
    if not _loaded:
        _loaded = True
        for module in BUILTIN_CONVERTERS:
            importlib.import_module(f"{__name__}.{module}")


def get_converter(name: str) -> Converter:
    """The converter of format ``name``; ``ConfigError`` listing the formats for an unknown one."""
    _load_builtins()
    return _CONVERTERS.get(name)


def converter_names() -> list[str]:
    """The registered formats."""
    _load_builtins()
    return _CONVERTERS.names()


def convert(fmt: str, text: str, reverse: Optional[bool] = None) -> str:
    """``text`` in format ``fmt`` → a term string of the format's grammar, or (``reverse=True``,
    or ``None`` with ``text`` recognised as a term) a term string → the format's text."""
    conv = get_converter(fmt)
    text = text.strip()
    if not text:
        raise ConversionError(f"nothing to convert: give an architecture in format {fmt!r} or a term")
    detected = conv.is_term is not None and conv.from_term is not None and conv.is_term(text)
    forced = reverse is not None and reverse != detected and conv.is_term is not None
    if reverse is None:
        reverse = detected
    if reverse and conv.from_term is None:
        raise ConversionError(f"format {fmt!r} converts only to terms, not back")
    try:
        return conv.from_term(text) if reverse else conv.to_term(text)  # type: ignore[misc]
    except ConversionError as e:
        if not forced:
            raise
        # the forced direction disagrees with what the text looks like: say so
        hint = "it looks like a term: leave out --to-term (reverse=False)" if detected else \
            f"it looks like {fmt} text, not a term: leave out --reverse (reverse=True)"
        raise ConversionError(f"{e} ({hint})") from e
