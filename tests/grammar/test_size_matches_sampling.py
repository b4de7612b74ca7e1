"""``Grammar.size()`` is the number of distinct terms: for small generated grammars (the fuzzer's
generator, also with ``%shared`` and ``%zero``) it equals the number of distinct terms that many
samples reach. Only grammars where that is a fair check: no recursion (sampling is not uniform
over deep terms), no float ranges (infinite), no weight 0 (never sampled), no load warning (a
duplicate or ambiguous alternative counts its derivations twice), at most 25 terms."""

from __future__ import annotations

import warnings

from algebraic_nas.grammar import GrammarError, load_grammar
from .test_fuzz import RandomPicker, grammar_text


def small_grammars(n_seeds: int):
    for seed in range(n_seeds):
        text = grammar_text(RandomPicker(seed))
        if "[0]" in text or "%max_depth" in text or "float(" in text:
            continue
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                g = load_grammar("fuzz.ebnf", text=text)
            size = g.size()
        except GrammarError:
            continue
        if not caught and size is not None and size <= 25:
            yield text, g, size


def test_size_is_the_number_of_distinct_sampled_terms():
    checked = shared = zero = 0
    for text, g, size in small_grammars(3000):
        seen = {str(t) for t in g.sample_many(1500, rng=1)}
        assert len(seen) == size, (text, size, sorted(seen))
        checked += 1
        shared += "%shared" in text
        zero += "%zero" in text
    # measured: 77 grammars, 9 with %shared, 35 with %zero
    assert checked >= 50 and shared >= 5 and zero >= 20, (checked, shared, zero)
