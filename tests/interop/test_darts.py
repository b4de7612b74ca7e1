"""DARTS genotypes <-> terms of the darts / darts_eval grammars (issue 14)."""

from __future__ import annotations

import random
import subprocess
import sys

import pytest

from algebraic_nas.grammar import load_grammar
from algebraic_nas.interop import ConversionError, convert, converter_names
from algebraic_nas.interop.darts import parse_genotype, term_to_genotype

# DARTS_V2 as printed in the authors' genotypes.py (quark0/darts, cnn/genotypes.py)
DARTS_V2 = ("Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('sep_conv_3x3', 1), "
            "('sep_conv_3x3', 1), ('skip_connect', 0), ('skip_connect', 0), ('dil_conv_3x3', 2)], "
            "normal_concat=[2, 3, 4, 5], reduce=[('max_pool_3x3', 0), ('max_pool_3x3', 1), ('skip_connect', 2), "
            "('max_pool_3x3', 1), ('max_pool_3x3', 0), ('skip_connect', 2), ('skip_connect', 2), ('max_pool_3x3', 1)], "
            "reduce_concat=[2, 3, 4, 5])")
V2_NORMAL = ("Darts(Node2(sep_conv_3x3, sep_conv_3x3), Node3(sep_conv_3x3, sep_conv_3x3, none), "
             "Node4(skip_connect, sep_conv_3x3, none, none), Node5(skip_connect, none, dil_conv_3x3, none, none))")
V2_REDUCE = ("Darts(Node2(max_pool_3x3, max_pool_3x3), Node3(none, max_pool_3x3, skip_connect), "
             "Node4(max_pool_3x3, none, skip_connect, none), Node5(none, max_pool_3x3, skip_connect, none, none))")


def test_darts_v2_converts_to_the_search_and_evaluation_networks():
    assert convert("darts", DARTS_V2) == f"DartsCIFAR(16, 8, {V2_NORMAL}, {V2_REDUCE})"
    term = convert("darts_eval", DARTS_V2)
    assert term == f"DartsCIFAR(36, 20, {V2_NORMAL}, {V2_REDUCE})"
    assert str(load_grammar("darts_eval").parse(term)) == term
    # an assignment as in genotypes.py, the module prefix, range() concat lists and newlines are read too
    text = "DARTS_V2 = genotypes." + DARTS_V2.replace("[2, 3, 4, 5]", "range(2, 6)").replace("], ", "],\n    ")
    assert convert("darts_eval", text) == term


def test_terms_convert_back_to_genotypes():
    back = convert("darts", convert("darts", DARTS_V2))  # a term: converted back (direction auto-detected)
    g = parse_genotype(back)
    want = parse_genotype(DARTS_V2)
    for cell in ("normal", "reduce"):  # the same pairs per node; listed by input
        assert [sorted(g[cell][i:i + 2], key=lambda p: p[1]) for i in range(0, 8, 2)] == \
               [sorted(want[cell][i:i + 2], key=lambda p: p[1]) for i in range(0, 8, 2)]
    g = load_grammar("darts")
    rng = random.Random(3)
    for _ in range(30):
        t = str(g.sample(rng))
        assert convert("darts", term_to_genotype(t)) == t


@pytest.mark.parametrize("old, new, message", [
    ("('sep_conv_3x3', 1), ('skip_connect', 0)", "('none', 1), ('skip_connect', 0)", r"normal\[4\]: unknown operation 'none'"),
    ("('sep_conv_3x3', 1), ('skip_connect', 0)", "('conv_9x9', 1), ('skip_connect', 0)", "unknown operation 'conv_9x9'"),
    ("('skip_connect', 0), ('dil_conv_3x3', 2)", "('skip_connect', 0), ('dil_conv_3x3', 0)", "node 5 reads state 0 twice"),
    ("reduce=[('max_pool_3x3', 0), ('max_pool_3x3', 1)", "reduce=[('max_pool_3x3', 0), ('max_pool_3x3', 2)",
     r"reduce\[1\]: node 2 reads states 0..1, not 2"),
    ("normal_concat=[2, 3, 4, 5]", "normal_concat=[3, 4, 5]", "normal_concat must be"),
    ("reduce_concat=", "reduce_concatenate=", "unknown Genotype field 'reduce_concatenate'"),
    (", ('dil_conv_3x3', 2)]", "]", "normal must list 8"),
    ("normal=[", "normal=__import__('os').getcwd() + [", "normal must be a literal list"),
    ("Genotype(", "print(", "expected one Genotype"),
])
def test_bad_genotypes_are_refused_naming_the_place(old, new, message):
    assert old in DARTS_V2
    with pytest.raises(ConversionError, match=message) as info:
        convert("darts", DARTS_V2.replace(old, new, 1))
    assert info.value.position is not None


def test_bad_terms_are_refused():
    term = convert("darts", DARTS_V2)
    with pytest.raises(ConversionError, match="node 3 must read exactly two states"):
        convert("darts", term.replace("Node3(sep_conv_3x3, sep_conv_3x3, none)", "Node3(sep_conv_3x3, none, none)"))
    with pytest.raises(ConversionError, match="expected DartsCIFAR"):
        convert("darts", "Darts" + term[len("DartsCIFAR"):], reverse=True)
    with pytest.raises(ConversionError, match=r"one Darts\(...\) cell is not a genotype"):
        convert("darts", V2_NORMAL)  # a cell alone: recognised as a term, refused with what to write


def test_the_cli_converts_both_ways():
    assert {"darts", "darts_eval"} <= set(converter_names())
    cmd = [sys.executable, "-m", "algebraic_nas", "convert", "darts_eval"]
    out = subprocess.run(cmd + [DARTS_V2], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and out.stdout.strip() == f"DartsCIFAR(36, 20, {V2_NORMAL}, {V2_REDUCE})"
    bad = subprocess.run(cmd + [DARTS_V2.replace("'max_pool_3x3', 1)]", "'max_pool_3x3', 5)]")],
                         capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and "node 5 reads states 0..4, not 5" in bad.stderr and not bad.stdout
