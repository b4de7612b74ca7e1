"""The one error root of algebraic-nas: every error the framework raises on purpose is an
:class:`AlgebraicNASError`, so ``except AlgebraicNASError`` catches them all and nothing else.

Each subclass also derives from the builtin its callers have always caught (``ValueError``,
``FileNotFoundError``), so existing ``except ValueError`` code keeps working.

=====================  ==============================================  ==========================
error                  raised for                                      defined in
=====================  ==============================================  ==========================
``GrammarError``       a faulty ``.ebnf`` file (file, line, column)    ``grammar/errors.py``
``TermError``          a term outside the language (position)          ``grammar/errors.py``
``AssemblyError``      a term that cannot become a network             ``assembly/registry.py``
``DatasetError``       a dataset file missing or malformed             ``evaluation/files.py``
``ConfigError``        a bad search configuration (naming the key)     here
``ConversionError``    foreign architecture text (position)            ``interop/__init__.py``
=====================  ==============================================  ==========================
"""

from __future__ import annotations


class AlgebraicNASError(Exception):
    """Root of every error algebraic-nas raises on purpose."""


class ConfigError(AlgebraicNASError, ValueError):
    """A search or component configuration that cannot run: unknown name, bad value. The
    message names the key."""
