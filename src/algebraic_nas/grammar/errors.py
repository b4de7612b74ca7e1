"""Errors of the grammar package: `GrammarError` for grammar files, `TermError` for terms."""

from __future__ import annotations

from typing import Optional

from algebraic_nas.errors import AlgebraicNASError


class GrammarError(AlgebraicNASError, ValueError):
    """A faulty grammar file: ``str(err)`` is ``"FILE:LINE:COLUMN: message"``.

    Attributes ``file``, ``line`` and ``column`` (1-based; ``None`` where unknown) and ``message``.
    """

    def __init__(self, message: str, file: Optional[str] = None, line: Optional[int] = None, column: Optional[int] = None):
        self.message = message
        self.file = file
        self.line = line
        self.column = column
        where = file or "<grammar>"
        if line is not None:
            where += f":{line}"
            if column is not None:
                where += f":{column}"
        super().__init__(f"{where}: {message}")


class TermError(AlgebraicNASError, ValueError):
    """A term outside the grammar's language or violating one of its constraints.

    ``position`` is the 0-based character offset in the term string (for :meth:`Grammar.check`
    of a `Term` object: the offset in ``str(term)``), ``reason`` says what is wrong.
    ``str(err)`` is ``"position P: reason"`` followed by an excerpt with a caret when the text is known.
    """

    def __init__(self, position: int, reason: str, text: Optional[str] = None):
        self.position = position
        self.reason = reason
        self.text = text
        msg = f"position {position}: {reason}"
        if text is not None:
            lo = max(0, position - 40)
            excerpt = text[lo : position + 40].replace("\n", " ")
            msg += f"\n  {excerpt}\n  {' ' * (position - lo)}^"
        super().__init__(msg)
