"""NAS-Bench-201 architecture strings <-> nb201_cell terms (issue 14)."""

from __future__ import annotations

import itertools
import subprocess
import sys

import pytest

from algebraic_nas.grammar import load_grammar
from algebraic_nas.interop import ConversionError, convert, converter_names
from algebraic_nas.interop.nb201 import NB201_OPS, nb201_to_term, term_to_nb201

ISSUE = "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|"
CONV3 = "Linear3(relu, conv3x3, batch)"


def nb201_string(ops) -> str:
    it = iter(ops)
    return "+".join("|" + "|".join(f"{next(it)}~{j}" for j in range(node)) + "|" for node in (1, 2, 3))


def test_the_issue_example_gives_the_term_of_the_whole_network():
    term = convert("nb201", ISSUE)
    cell = f"Cell({CONV3}, {CONV3}, avg_pool, id, {CONV3}, id)"  # edges (1,2) (1,3) (2,3) (1,4) (2,4) (3,4)
    stage = f"Linear5({', '.join([cell] * 5)})"
    assert term == f"Linear5({stage}, down, {stage}, down, {stage})"
    assert str(load_grammar("nb201_cell").parse(term)) == term
    assert convert("nb201", term) == ISSUE  # a term: converted back (direction auto-detected)
    assert convert("nb201", cell, reverse=True) == ISSUE


def test_every_nb201_cell_round_trips_and_the_connected_ones_are_the_space():
    connected = 0
    for ops in itertools.product(NB201_OPS, repeat=6):
        text = nb201_string(ops)
        assert term_to_nb201(nb201_to_term(text, cell_only=True, allow_disconnected=True)) == text
        try:
            nb201_to_term(text, cell_only=True)
            connected += 1
        except ConversionError:
            pass
    assert connected == 15_625 - 341 == load_grammar("nb201_cell").size()


@pytest.mark.parametrize("text, message", [
    ("|nor_conv_3x3~0|+|none~0|", "3 nodes"),
    ("|conv~0|+|none~0|none~1|+|none~0|none~1|none~2|", "unknown NB201 operation 'conv'.*character 1"),
    ("|none~0|+|none~0|none~0|+|none~0|none~1|none~2|", "takes node 0 twice.*character 17"),
    ("|none~0|+|none~0|+|none~0|none~1|none~2|", "node 2 lacks .*none~1"),
    ("|none~1|+|none~0|none~1|+|none~0|none~1|none~2|", "nodes 0..0"),
    ("|none~0|+|none~0|none~1|+|none~0|none~1|none~2|", "not in nb201_cell"),
    ("Cell(zero, zero, id, id, conv3x3, id)", "'conv3x3' is no NB201 operation.*character 25"),
    (f"Linear5({CONV3}, down)", "NB201's network"),
    ("Cell(" + "Linear1(" * 5000 + "id" + ")" * 5000 + ", id, id, id, id, id)", "nests too deeply"),
    ("  \n", "nothing to convert: give an architecture in format 'nb201'"),
])
def test_bad_input_is_a_clear_error(text, message):
    with pytest.raises(ConversionError, match=message):
        convert("nb201", text)


def test_a_forced_direction_that_does_not_fit_the_text_says_so():
    nb201 = "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|"
    with pytest.raises(ConversionError, match=r"looks like nb201 text, not a term: leave out --reverse"):
        convert("nb201", nb201, reverse=True)
    with pytest.raises(ConversionError, match=r"looks like a term: leave out --to-term"):
        convert("nb201", nb201_to_term(nb201, cell_only=True), reverse=False)


def test_cells_of_one_network_must_agree():
    term = nb201_to_term(ISSUE)
    other = term.replace("avg_pool", "id", 1)
    with pytest.raises(ConversionError, match="differs from the first"):
        term_to_nb201(other)


def test_the_cli_converts_both_ways():
    cmd = [sys.executable, "-m", "algebraic_nas", "convert", "nb201"]
    out = subprocess.run(cmd + [ISSUE], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and out.stdout.strip() == nb201_to_term(ISSUE)
    back = subprocess.run(cmd + ["--reverse", out.stdout.strip()], capture_output=True, text=True, timeout=120)
    assert back.returncode == 0 and back.stdout.strip() == ISSUE
    bad = subprocess.run(cmd + ["|conv~0|+|none~0|none~1|+|none~0|none~1|none~2|"], capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and "unknown NB201 operation" in bad.stderr and not bad.stdout


def test_formats_are_listed():
    assert {"nb201", "reference"} <= set(converter_names())
