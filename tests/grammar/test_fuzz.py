"""Fuzzers for grammar files and term strings (issue 15).

Random grammar texts (rules over topologies, primitives, numeric placeholders, weights,
directives, recursion and sharing, some with characters inserted or deleted) must load or fail
with a `GrammarError` naming a position, quickly; a grammar that loads must count, sample, print
and parse back its samples. Random term strings (token soup, and valid terms with tokens
changed) must parse or fail with a `TermError` inside the text.

CI runs a few dozen examples in seconds. ``make fuzz`` (or ``ALGEBRAIC_NAS_FUZZ=N``) runs N
examples per fuzzer.
"""

from __future__ import annotations

import os
import time
import warnings

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from algebraic_nas.grammar import GrammarError, Term, TermError, load_grammar

LONG = int(os.environ.get("ALGEBRAIC_NAS_FUZZ", "0"))
FUZZ = settings(
    max_examples=LONG or 40, deadline=None, database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
SECONDS = 10  # a grammar loads (or fails) and is exercised within this time

TOPOLOGIES = [("Linear1", 1), ("Linear2", 2), ("Linear3", 3), ("Residual2", 3), ("Diamond2", 4), ("Cell", 6), ("op", 2)]
PRIMITIVES = ["conv", "id", "zero", "fc", "pool"]


def _expr(draw, names: list[str], depth: int) -> str:
    kind = draw(st.sampled_from(["nt", "nt", "prim", "prim", "top", "int", "float", "lit"] if depth else ["nt", "prim"]))
    if kind == "nt":
        return draw(st.sampled_from(names))
    if kind == "prim":
        return draw(st.sampled_from(PRIMITIVES))
    if kind == "int":
        lo = draw(st.integers(-5, 5))
        return f"int({lo}, {lo + draw(st.integers(-1, 30))})"
    if kind == "float":
        lo = draw(st.sampled_from(["0", "0.1", "-1e3", "1e300", "-1.7e308", "1e-300"]))
        hi = draw(st.sampled_from(["1", "0.9", "1e3", "1.7e308", "1e400", "2"]))
        return f"float({lo}, {hi})"
    if kind == "lit":
        return draw(st.sampled_from(["3", "0.25", "1e5", "7"]))
    name, arity = draw(st.sampled_from(TOPOLOGIES))
    arity = draw(st.sampled_from([arity, arity, arity + 1]))  # sometimes a wrong arity
    return f"{name}({', '.join(_expr(draw, names, depth - 1) for _ in range(arity))})"


@st.composite
def grammar_texts(draw) -> str:
    n = draw(st.integers(1, 5))
    names = [f"N{i}" for i in range(n)]
    lines = []
    if draw(st.booleans()):
        lines.append("%zero zero")
    if draw(st.booleans()):
        lines.append(f"%max_depth {draw(st.integers(1, 40))}")
    if n > 1 and draw(st.booleans()):
        lines.append(f"%shared {draw(st.sampled_from(names[1:]))}")
    if draw(st.booleans()):
        lines.append(f"%float_digits {draw(st.integers(0, 8))}")
    for a in names:
        alts = []
        for _ in range(draw(st.integers(1, 4))):
            alt = _expr(draw, names, draw(st.integers(0, 3)))
            if draw(st.integers(0, 5)) == 0:
                alt += f" [{draw(st.sampled_from(['0.5', '2', '0', '1e400']))}]"
            alts.append(alt)
        lines.append(f"{a} ::= {' | '.join(alts)}")
    text = "\n".join(lines) + "\n"
    for _ in range(draw(st.integers(0, 2)) if draw(st.integers(0, 3)) == 0 else 0):  # some broken texts
        i = draw(st.integers(0, len(text)))
        junk = draw(st.sampled_from(["(", ")", ",", "|", "::=", "%", "\"", "é", "\x00", "", "#"]))
        text = text[:i] + junk + text[i + draw(st.integers(0, 2)):]
    return text


def exercise(g, ambiguous: bool) -> None:
    """What a user does with a loaded grammar: size, samples that print and parse back, mutation.
    ``ambiguous`` (the grammar was warned about): parse picks the first alternative that matches,
    so a sample parses back to a valid term, not necessarily the same derivation."""
    try:
        g.size()
    except GrammarError as exc:
        assert "beyond the limit of exact counting" in str(exc)
    g.size_summary()
    try:
        terms = g.sample_many(3, rng=0)
    except GrammarError:
        return  # e.g. shared subterms that always conflict: a clear error, not a hang
    for t in terms:
        text = str(t)
        back = g.parse(text)
        assert g.is_valid(back) and (ambiguous or back == t), text
        assert g.is_valid(t)
        try:
            assert g.is_valid(g.mutate(t, rng=1))
        except ValueError:
            pass  # nothing to mutate


@FUZZ
@given(grammar_texts())
def test_fuzzed_grammars_load_or_fail_clearly(text):
    t0 = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")  # lint warnings are expected for random grammars
        try:
            g = load_grammar("fuzz.ebnf", text=text)
        except GrammarError as exc:
            assert exc.file == "fuzz.ebnf" and str(exc).startswith("fuzz.ebnf")
            return
        exercise(g, ambiguous=any("ambiguous" in str(w.message) or "duplicate" in str(w.message) for w in caught))
    assert time.perf_counter() - t0 < SECONDS, text


# ---------------------------------------------------------------------------- term strings

TERM_GRAMMARS = {
    "hnb201": None,
    "toy": None,
    "numbers": "%max_depth 4\nS ::= Linear2(S, S) | f(int(0, 9), float(0, 1)) | conv\n",
    "zero": "%zero zero\n%shared X\nS ::= Residual2(O, X, O) | Linear2(X, X)\nO ::= zero | id | conv\nX ::= O | pool\n",
}
_LOADED: dict = {}


def grammar(name: str):
    if name not in _LOADED:
        text = TERM_GRAMMARS[name]
        _LOADED[name] = load_grammar(name) if text is None else load_grammar(f"{name}.ebnf", text=text)
    return _LOADED[name]


TOKENS = ["(", ")", ",", " ", "conv", "id", "zero", "fc", "Linear2", "Linear3", "Residual2", "Cell", "f",
          "0", "1", "0.5", "-3", "1e999", "nan", "inf", "é", "[", "S"]


@st.composite
def term_strings(draw) -> tuple[str, str]:
    name = draw(st.sampled_from(sorted(TERM_GRAMMARS)))
    g = grammar(name)
    if draw(st.booleans()):
        return name, "".join(draw(st.lists(st.sampled_from(TOKENS), max_size=40)))
    text = str(g.sample(draw(st.integers(0, 10**6))))
    for _ in range(draw(st.integers(0, 3))):  # change a few characters or tokens
        i = draw(st.integers(0, len(text)))
        text = text[:i] + draw(st.sampled_from(TOKENS + [""])) + text[i + draw(st.integers(0, 6)):]
    return name, text


@FUZZ
@given(term_strings())
def test_fuzzed_term_strings_parse_or_fail_with_a_position(case):
    name, text = case
    g = grammar(name)
    try:
        t = g.parse(text)
    except TermError as exc:
        assert 0 <= exc.position <= len(text)
        return
    assert isinstance(t, Term) and g.parse(str(t)) == t and g.is_valid(t)
