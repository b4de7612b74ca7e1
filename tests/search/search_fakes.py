"""Small stand-ins for the search tests: a toy grammar, a synthetic objective, a fake GP.

The toy grammar's terms are ``S(x1, ..., x8)`` with each ``xi`` in {a, b, c, d} (65,536 terms);
the synthetic objective's error is the fraction of non-``a`` letters (plus a little
deterministic noise), so ``S(a, a, ..., a)`` is optimal and a search can be seen to improve.
Terms starting with ``d, d`` fail (the objective raises or reports ``failed``).
"""

from __future__ import annotations

import hashlib
import random
import re
import time
from typing import Any, Optional

import numpy as np

from algebraic_nas.grammar.term import Term

LETTERS = "abcd"
LENGTH = 8


def leaf(ch: str) -> Term:
    return Term("X", LETTERS.index(ch), ch)


def make(word: str) -> Term:
    return Term("S", 0, "S", tuple(leaf(c) for c in word))


def word(term: Term) -> str:
    return "".join(c.symbol for c in term.children)


class ToyGrammar:
    """Implements the part of ``Grammar`` the search uses."""

    name = "toy8"
    start = "S"

    def _rng(self, rng: Any) -> random.Random:
        return rng if isinstance(rng, random.Random) else random.Random(rng)

    def sample(self, rng: Any = None) -> Term:
        r = self._rng(rng)
        return make("".join(r.choice(LETTERS) for _ in range(LENGTH)))

    def parse(self, text: str) -> Term:
        m = re.fullmatch(r"\s*S\((.*)\)\s*", text)
        if not m:
            raise ValueError(f"not a toy term: {text!r}")
        letters = [p.strip() for p in m.group(1).split(",")]
        if len(letters) != LENGTH or any(x not in LETTERS for x in letters):
            raise ValueError(f"not a toy term: {text!r}")
        return make("".join(letters))

    def mutate(self, term: Term, rng: Any = None) -> Term:
        r = self._rng(rng)
        w = list(word(term))
        i = r.randrange(LENGTH)
        w[i] = r.choice([c for c in LETTERS if c != w[i]])
        return make("".join(w))

    def crossover(self, a: Term, b: Term, rng: Any = None) -> Optional[tuple[Term, Term]]:
        r = self._rng(rng)
        wa, wb = word(a), word(b)
        if wa == wb:
            return None
        i = r.randrange(1, LENGTH)
        return make(wa[:i] + wb[i:]), make(wb[:i] + wa[i:])

    def self_crossover(self, term: Term, rng: Any = None) -> Optional[Term]:
        r = self._rng(rng)
        w = list(word(term))
        i, j = r.sample(range(LENGTH), 2)
        if w[i] == w[j]:
            return None
        w[i], w[j] = w[j], w[i]
        return make("".join(w))


def toy_error(text: str) -> float:
    w = word(ToyGrammar().parse(text))
    noise = int(hashlib.sha1(text.encode()).hexdigest()[:6], 16) / 0xFFFFFF
    return 0.05 + 0.8 * sum(c != "a" for c in w) / LENGTH + 0.02 * noise


def toy_evaluate(term: str, grammar: str, dataset: str, protocol: Any, seed: int = 0, device: str = "cpu",
                 data_root: Any = None, overrides: Any = None) -> dict:
    """A synthetic objective with the ``evaluate`` signature (raises for ``S(d, d, ...)``)."""
    if term.replace(" ", "").startswith("S(d,d"):
        raise RuntimeError("synthetic failure")
    err = toy_error(term)
    return {"term": term, "outcome": "ok", "valid_error": err, "test_error": err + 0.01, "params": 1000,
            "flops": 2000, "wall_time_s": 0.0, "device": device}


def slow_toy_evaluate(term: str, **kwargs: Any) -> dict:
    """The toy objective taking 0.3 s (for crash / wall-time tests)."""
    time.sleep(0.3)
    return toy_evaluate(term, **kwargs)


class FakeGP:
    """A 'GP' that predicts a term's toy error exactly (mean: log error, small variance):
    lets the BANAT tests check the acquisition optimiser finds good terms."""

    def __init__(self, kernel: str = "hwl", grammar: Any = None, **options: Any) -> None:
        self.kernel = kernel
        self.fitted: list[tuple[list[Term], np.ndarray]] = []

    def fit(self, terms: list[Term], y: np.ndarray) -> "FakeGP":
        assert len(terms) == len(y) and len(set(terms)) == len(terms)
        assert np.all(np.asarray(y) > 0)
        self.fitted.append((list(terms), np.asarray(y, float)))
        return self

    def predict(self, terms: list[Term]) -> tuple[np.ndarray, np.ndarray]:
        mean = np.log([toy_error(str(t)) for t in terms])
        return mean, np.full(len(terms), 0.01)


def fake_gp_factory(kernel: str, grammar: Any, options: dict) -> FakeGP:
    return FakeGP(kernel, grammar, **options)


def fidelity_toy_evaluate(term: str, overrides: Any = None, checkpoint_in: Any = None, **kwargs: Any) -> dict:
    """The toy objective at a fidelity: ``overrides["epochs"]`` below 10 looks *better* (an
    optimistic low-fidelity error, as short training can be), so a report naming the best must
    ignore it; also reports a latency and echoes the overrides and checkpoint it was given.
    Never fails."""
    record = toy_evaluate(term.replace("S(d, d", "S(a, d"), overrides=overrides, **kwargs)
    record["term"] = term
    epochs = (overrides or {}).get("epochs")
    if epochs is not None and epochs < 10:
        record["valid_error"] = max(0.0, record["valid_error"] - 0.5)
    record.update(latency_ms=1.5, overrides=dict(overrides or {}), checkpoint_in=checkpoint_in)
    return record
