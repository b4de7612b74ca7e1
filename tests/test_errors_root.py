"""One error root: every error the framework raises on purpose is an AlgebraicNASError (and still
the builtin its callers catch)."""

from __future__ import annotations

import pytest

from algebraic_nas.assembly.registry import AssemblyError
from algebraic_nas.errors import AlgebraicNASError, ConfigError
from algebraic_nas.evaluation.files import DatasetError, DatasetFileNotFoundError
from algebraic_nas.grammar import GrammarError, TermError, load_grammar
from algebraic_nas.interop import ConversionError


@pytest.mark.parametrize("cls", [GrammarError, TermError, AssemblyError, DatasetError, ConfigError, ConversionError])
def test_every_error_class_is_under_the_root_and_a_value_error(cls):
    assert issubclass(cls, AlgebraicNASError) and issubclass(cls, ValueError)


def test_file_not_found_stays_catchable_as_such():
    assert issubclass(DatasetFileNotFoundError, FileNotFoundError)


def test_a_bad_term_is_caught_by_the_root():
    with pytest.raises(AlgebraicNASError, match="position"):
        load_grammar("toy").parse("Linear(")


def test_a_bad_grammar_is_caught_by_the_root():
    with pytest.raises(AlgebraicNASError, match="<grammar>|:1:"):
        load_grammar("bad", text="S ::= Op(")
