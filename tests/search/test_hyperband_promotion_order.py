"""Asynchronous successive halving promotes from the highest rung that has a promotable trial
first (Li et al., 2020, "A system for massively parallel hyperparameter tuning", Algorithm 2):
a term that is already good at a higher fidelity goes on before new terms climb the first rung."""

from __future__ import annotations

from algebraic_nas.search.proposal import Result
from algebraic_nas.search.strategies import make_strategy
from search_fakes import ToyGrammar


def observe(strategy, proposal, error: float) -> None:
    record = {"outcome": "ok", "valid_error": error, "checkpoint": f"ck/{proposal.term}-{error}.pt"}
    strategy.observe(Result.from_record(proposal, record))


def epochs(p) -> int:
    return p.fidelity["epochs"]


def test_the_highest_promotable_rung_goes_first():
    hb = make_strategy("hyperband", ToyGrammar(), eta=2, min_fidelity=1, max_fidelity=4, brackets=1, seed=0)
    assert hb.rungs == [1, 2, 4]
    a, b, c, d = hb.propose(n=4)
    assert {epochs(p) for p in (a, b, c, d)} == {1}
    observe(hb, a, 0.4)
    observe(hb, b, 0.3)
    (b2,) = hb.propose(pending=[c, d])  # 1-epoch rung, 2 results: the better one, b, moves up
    assert b2.term == b.term and epochs(b2) == 2
    observe(hb, b2, 0.2)
    observe(hb, c, 0.1)
    observe(hb, d, 0.5)
    (c2,) = hb.propose()  # 1-epoch rung: top 2 of 4 are c and b; b has moved, so c
    assert c2.term == c.term and epochs(c2) == 2
    (e,) = hb.propose(pending=[c2])  # nothing else promotable: a new term
    assert epochs(e) == 1 and e.term not in {a.term, b.term, c.term, d.term}
    observe(hb, e, 0.05)  # the 1-epoch rung now has e promotable (top 2 of 5: e, c)
    observe(hb, c2, 0.15)  # the 2-epoch rung now has c promotable (top 1 of 2: c)
    # both rungs have a promotable trial: the higher one (c to the full 4 epochs) goes first
    (first,) = hb.propose()
    assert (first.term, epochs(first)) == (c.term, 4), f"promoted {first.term} to {epochs(first)} epochs"
    (second,) = hb.propose(pending=[first])
    assert (second.term, epochs(second)) == (e.term, 2)
