"""The one incumbent function: best at the highest fidelity; for several objectives the front's point
with the lowest first objective (never a dominated point)."""

from __future__ import annotations

from algebraic_nas.search.incumbent import incumbent, observation_incumbent
from algebraic_nas.search.proposal import Proposal, Result
from algebraic_nas.search.strategies.base import Observation
from search_fakes import make


def rows(*items):
    """(name, fidelity, objectives) -> dict rows in the given (finishing) order."""
    return [{"name": n, "fidelity": f, **o} for n, f, o in items]


def best(items, objectives=("valid_error",), feasible=None):
    got = incumbent(items, objectives=objectives, value=lambda r, k: r.get(k), fidelity=lambda r: r["fidelity"],
                    feasible=feasible)
    return None if got is None else got["name"]


def test_the_best_at_the_highest_fidelity_reached_and_the_first_among_equals():
    low_but_low_fidelity = ("a", {"epochs": 1}, {"valid_error": 0.05})
    assert best(rows(low_but_low_fidelity, ("b", {"epochs": 3}, {"valid_error": 0.30}),
                     ("c", {"epochs": 3}, {"valid_error": 0.20}))) == "c"
    # full fidelity ({}) ranks above every partial one; failed rows (no value) never count
    assert best(rows(("a", {"epochs": 9}, {"valid_error": 0.1}), ("b", {}, {"valid_error": 0.4}),
                     ("c", {}, {"valid_error": None}))) == "b"
    assert best(rows(("a", {}, {"valid_error": 0.2}), ("b", {}, {"valid_error": 0.2}))) == "a"
    assert best(rows(("a", {}, {"valid_error": None}))) is None and best([]) is None


def test_several_objectives_pick_a_point_on_the_front_not_a_dominated_one():
    # issue 23's report: #1 (0.5139 at 0.663 M) is dominated by #7 (0.5139 at 0.518 M)
    items = rows(("#1", {}, {"valid_error": 0.5139, "params": 663_000}),
                 ("#7", {}, {"valid_error": 0.5139, "params": 518_000}),
                 ("#3", {}, {"valid_error": 0.60, "params": 100_000}))
    assert best(items) == "#1"  # one objective: the first to reach the lowest error
    assert best(items, ("valid_error", "params")) == "#7"  # on the front, with the lowest error
    # a point over a bound is not a candidate
    assert best(items, ("valid_error", "params"), feasible=lambda r: r["params"] <= 200_000) == "#3"


def test_a_strategy_reports_the_same_incumbent():
    obs = []
    for i, (w, fid, err) in enumerate((("aaaaaaaa", {"epochs": 1}, 0.01), ("bbbbbbbb", {"epochs": 2}, 0.3),
                                       ("cccccccc", {"epochs": 2}, 0.2))):
        obs.append(Observation(Result.from_record(Proposal(make(w), fid), {"outcome": "ok", "valid_error": err}), i))
    assert observation_incumbent(obs).term == make("cccccccc")
