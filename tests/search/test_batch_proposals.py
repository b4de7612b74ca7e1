"""BANAT's batches on one fit: q distinct new terms, pending terms believed, the later members
from a short local search on the conditioned pool; the refit path stays available."""

from __future__ import annotations

import random
import zlib

from algebraic_nas.grammar import load_grammar
from algebraic_nas.search.proposal import Proposal, Result
from algebraic_nas.search.strategies import make_strategy
from algebraic_nas.search.strategies.banat.optimiser import EvolutionConfig

SMALL = EvolutionConfig(pool_size=30, min_generations=2, max_generations=3, patience=1)


def error_of(term) -> float:
    return 0.1 + (zlib.crc32(str(term).encode()) % 1000) / 2000


def banat(seed=0, **kw):
    g = load_grammar("hnb201")
    s = make_strategy("banat", g, seed=seed, n_initial=4, evolution=SMALL, **kw)
    rng = random.Random(seed)
    for _ in range(12):
        t = g.sample(rng)
        s.observe(Result(Proposal(t), {"outcome": "ok", "valid_error": error_of(t)}))
    return g, s


def test_a_batch_fits_once_and_believes_pending_terms_and_members():
    g, s = banat()
    pending = [g.sample(random.Random(100 + k)) for k in range(3)]
    out = s.propose(pending=pending, n=6)
    terms = [p.term for p in out]
    assert len(set(terms)) == 6 and not set(terms) & set(pending)
    assert not set(terms) & {o.term for o in s.observations}
    session = s._session
    assert session.members == 6 and session.believed == pending + terms[:5]
    assert len(session.pools) == 1 and len(session.pools[0].fantasies) == 3 + 5
    first, *later = s.last.results
    assert first.generations >= 2 and all(r.generations <= 2 for r in later)  # later: local searches
    # proposals asked for later with no new result reuse the fit; the batch is pending then
    more = s.propose(pending=pending + terms, n=2)
    assert s._session is session and session.members == 8
    assert not {p.term for p in more} & (set(terms) | set(pending))
    # a new result: a new fit
    s.observe(Result(out[0], {"outcome": "ok", "valid_error": 0.3}))
    s.propose(pending=pending + terms[1:], n=1)
    assert s._session is not session


def test_refit_mode_refits_every_member_with_the_full_optimiser():
    g, s = banat(batch="refit")
    out = s.propose(n=3)
    assert len({p.term for p in out}) == 3
    assert s._session.pools == [] and all(r.generations >= 2 for r in s.last.results)


def test_nothing_is_proposed_again_after_a_resume():
    g, s = banat(seed=1)
    first = s.propose(n=5)
    # a resumed strategy: the finished results replayed, the unfinished proposals marked
    _, r = banat(seed=1)
    for p in first[:2]:
        r.observe(Result(p, {"outcome": "ok", "valid_error": error_of(p.term)}))
    for p in first[2:]:
        r.mark_proposed(p)
    again = r.propose(n=5)
    assert not {p.term for p in again} & {p.term for p in first}


def test_multi_objective_batch_shares_one_fit():
    g = load_grammar("hnb201")
    s = make_strategy("mo_banat", g, seed=0, n_initial=4, objectives=["valid_error", "params"],
                      evolution=EvolutionConfig(pool_size=20, min_generations=2, max_generations=3, patience=1))
    rng = random.Random(0)
    for _ in range(8):
        (p,) = s.propose()
        s.observe(Result(p, {"outcome": "ok", "valid_error": error_of(p.term), "params": 1000 + rng.randrange(9000)}))
    out = s.propose(n=4)
    assert len({p.term for p in out}) == 4
    assert s._session.members == 4 and len(s._session.pools) == 1  # valid_error modelled, params computed
