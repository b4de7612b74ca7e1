"""Asynchronous Hyperband: bracket arithmetic, promotion without waiting, continuation from
checkpoints (and retraining when one is gone), resume keeping rungs, checkpoint pruning."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from algebraic_nas.errors import ConfigError
from algebraic_nas.search.checkpoints import CheckpointKeeper
from algebraic_nas.search.driver import Budget, Driver
from algebraic_nas.search.executors import DaskExecutor, InProcessExecutor
from algebraic_nas.search.proposal import Result
from algebraic_nas.search.store import Store
from algebraic_nas.search.strategies import make_strategy
from algebraic_nas.search.strategies.hyperband import Bracket, Hyperband, hyperband_brackets, rung_fidelities
from algebraic_nas.search.worker import EvaluationTask
from fidelity_fakes import mf_toy_evaluate
from search_fakes import ToyGrammar, make


def settings(tmp_path: Path, function: str = "fidelity_fakes:mf_toy_evaluate") -> EvaluationTask:
    return EvaluationTask(grammar="toy8", dataset="none", protocol={"name": "quick"}, function=function,
                          checkpoint_dir=str(tmp_path / "checkpoints"))


def run(tmp_path: Path, strategy: Hyperband, evaluations: int, executor=None, function: str = "fidelity_fakes:mf_toy_evaluate",
        keeper=None):
    with Store(tmp_path) as store:
        Driver(ToyGrammar(), strategy, executor or InProcessExecutor(), store, settings(tmp_path, function),
               Budget(evaluations=evaluations), checkpoint_keeper=keeper).run()
        return store.rows()


def test_bracket_arithmetic_is_hyperbands_table():
    # Li et al. (2018), Table 1: R = 81, eta = 3 -> five brackets
    assert rung_fidelities(1, 81, 3) == [1, 3, 9, 27, 81]
    assert hyperband_brackets(5, 3) == [
        Bracket(0, (81, 27, 9, 3, 1)), Bracket(1, (34, 11, 3, 1)), Bracket(2, (15, 5, 1)),
        Bracket(3, (8, 2)), Bracket(4, (5,)),
    ]
    assert hyperband_brackets(5, 3, brackets=2) == hyperband_brackets(5, 3)[:2]
    # the top rung is the maximum; the bottom the smallest at least the minimum (rounded for epochs)
    assert rung_fidelities(1, 10, 3) == [1, 3, 10]
    assert rung_fidelities(0.1, 1.0, 2, integer=False) == pytest.approx([0.125, 0.25, 0.5, 1.0])
    assert rung_fidelities(4, 4, 2) == [4]


@pytest.mark.parametrize("settings_, key", [
    ({"eta": 1}, "strategy.eta"), ({"min_fidelity": 0}, "strategy.min_fidelity"),
    ({"min_fidelity": 8, "max_fidelity": 4}, "strategy.min_fidelity"), ({"brackets": 9}, "strategy.brackets"),
    ({"fidelity_key": "batch_size"}, "strategy.continue_training"),
])
def test_bad_settings_name_the_key(settings_, key):
    with pytest.raises(ConfigError, match=key):
        make_strategy("hyperband", ToyGrammar(), **settings_)


def observe(strategy: Hyperband, proposal, error: float, checkpoint: str = "") -> None:
    record = {"outcome": "ok", "valid_error": error, "checkpoint": checkpoint or None}
    strategy.observe(Result.from_record(proposal, record))


def test_promotes_as_soon_as_a_rung_allows_never_waiting_for_it_to_fill():
    hb = make_strategy("hyperband", ToyGrammar(), eta=2, min_fidelity=1, max_fidelity=4, brackets=1, seed=0)
    assert hb.rungs == [1, 2, 4]
    a, b = hb.propose(n=2)
    assert a.fidelity == b.fidelity == {"epochs": 1, "schedule_epochs": 4} and a.checkpoint is None
    observe(hb, a, 0.5, "ck/a.pt")
    # one result: no promotion yet (top floor(1/2) = 0), so a new term instead of waiting
    (c,) = hb.propose(pending=[b])
    assert c.fidelity["epochs"] == 1 and c.term not in (a.term, b.term)
    observe(hb, b, 0.3, "ck/b.pt")
    # two results: the better one (b) moves up at once, continuing from its checkpoint
    (p,) = hb.propose(pending=[c])
    assert p.term == b.term and p.fidelity == {"epochs": 2, "schedule_epochs": 4} and p.checkpoint == "ck/b.pt"
    (q,) = hb.propose(pending=[c, p])  # b is under way at rung 1; a is not in the top half
    assert q.fidelity["epochs"] == 1 and q.term not in (a.term, b.term, c.term)
    observe(hb, p, 0.2, "ck/b2.pt")
    observe(hb, c, 0.1, "ck/c.pt")
    observe(hb, q, 0.9, "ck/q.pt")
    # rung 0 has 4 results: top 2 are c and b; b went up, so c goes up now
    (r,) = hb.propose()
    assert r.term == c.term and r.fidelity["epochs"] == 2
    assert hb.incumbent().term == b.term  # the best at the highest rung reached (rung 1), not c's 0.1
    # checkpoints still needed: c's (promotion under way), a's and q's (within eta places of the
    # quota), b's rung-1 one (it may move up again); not b's rung-0 one (its continuation finished)
    assert hb.live_checkpoints() == {"ck/c.pt", "ck/a.pt", "ck/q.pt", "ck/b2.pt"}


def test_classic_hyperband_retrains_and_brackets_share_new_terms_as_hyperband_does():
    hb = make_strategy("hyperband", ToyGrammar(), eta=2, min_fidelity=1, max_fidelity=4,
                       continue_training=False, seed=1)
    starts = []
    for _ in range(20):  # never observed: all new terms, spread over the brackets by their sizes
        (p,) = hb.propose()
        starts.append(p.fidelity["epochs"])
        assert "schedule_epochs" not in p.fidelity and p.checkpoint is None
    # eta 2, 3 rungs: brackets start ceil(3/3 * 4) = 4, ceil(3/2 * 2) = 3 and 3 terms: 4:3:3 of 20
    assert [starts.count(e) for e in (1, 2, 4)] == [8, 6, 6]


def test_a_search_continues_promoted_terms_and_saves_compute(tmp_path):
    hb = make_strategy("hyperband", ToyGrammar(), eta=2, min_fidelity=1, max_fidelity=4, brackets=1, seed=3)
    rows = run(tmp_path, hb, 24)
    promoted = [r for r in rows if r.fidelity["epochs"] > 1]
    assert promoted and all(r.checkpoint and r.continued for r in promoted)
    assert all(r.result["epochs_trained"] == r.fidelity["epochs"] // 2 for r in promoted)  # only the new epochs
    top = [r for r in rows if r.fidelity["epochs"] == 4]
    assert top and hb.incumbent().result.fidelity["epochs"] == 4  # the best at the highest rung reached
    assert hb.incumbent().error == min(r.valid_error for r in top)


def test_a_missing_checkpoint_is_retrained_and_recorded(tmp_path):
    hb = make_strategy("hyperband", ToyGrammar(), eta=2, min_fidelity=1, max_fidelity=4, brackets=1, seed=3)
    with Store(tmp_path) as store:
        driver = Driver(ToyGrammar(), hb, InProcessExecutor(), store, settings(tmp_path), Budget(evaluations=2))
        driver.run()
        for path in (tmp_path / "checkpoints").glob("*.pt"):  # the other machine's disk, say
            path.unlink()
        Driver(ToyGrammar(), hb, InProcessExecutor(), store, settings(tmp_path), Budget(evaluations=3)).run()
        row = store.rows()[-1]
    assert row.fidelity["epochs"] == 2 and row.checkpoint and not row.continued
    assert row.result["epochs_trained"] == 2 and "FileNotFoundError" in row.result["retrain_reason"]


def rungs(strategy: Hyperband) -> dict:
    return {str(t.term): (t.bracket, sorted(t.results), sorted(t.pending)) for t in strategy.trials.values()}


def evaluate_into(store: Store, strategy: Hyperband, tmp_path: Path, proposal) -> None:
    """What the driver does with one proposal: store it, evaluate it, store and observe the result."""
    i = store.add(str(proposal.term), strategy.name, fidelity=proposal.fidelity, checkpoint=proposal.checkpoint)
    task = settings(tmp_path).for_proposal(i, proposal)
    record = mf_toy_evaluate(task.term, overrides=task.overrides, checkpoint_in=task.checkpoint,
                             checkpoint_out=task.checkpoint_out)
    store.finish(i, record)
    strategy.observe(Result.from_record(proposal, record, eval_id=i))


def test_a_killed_and_resumed_run_keeps_its_rungs_and_promotions(tmp_path):
    first = make_strategy("hyperband", ToyGrammar(), eta=2, min_fidelity=1, max_fidelity=4, seed=5)
    with Store(tmp_path) as store:
        store.set_meta("evaluation", settings(tmp_path).identity())
        while len(first.observations) < 12 or first._promotion() is None:
            evaluate_into(store, first, tmp_path, first.propose()[0])
        # the driver is killed while evaluating a promotion: its row stays 'running'
        (p,) = first.propose()
        assert p.checkpoint is not None and p.fidelity["epochs"] > 1
        lost = store.add(str(p.term), "hyperband", fidelity=p.fidelity, checkpoint=p.checkpoint)
        store.mark_running(lost)
        n_before = len(store.rows())
    before = rungs(first)
    budget = Budget(evaluations=n_before + 8)
    with Store(tmp_path) as store:
        replayed = make_strategy("hyperband", ToyGrammar(), eta=2, min_fidelity=1, max_fidelity=4, seed=6)
        Driver(ToyGrammar(), replayed, InProcessExecutor(), store, settings(tmp_path), budget).resume()
        assert rungs(replayed) == before  # replayed in finishing order: the same rungs, promotions, pending
        again = make_strategy("hyperband", ToyGrammar(), eta=2, min_fidelity=1, max_fidelity=4, seed=6)
        Driver(ToyGrammar(), again, InProcessExecutor(), store, settings(tmp_path), budget).run()
        rows = store.rows()
    keys = [(r.term, r.fidelity["epochs"]) for r in rows]
    assert len(keys) == len(set(keys)) == n_before + 8  # nothing proposed twice; the lost one evaluated once
    assert store_row(rows, lost).status == "done" and store_row(rows, lost).continued


def store_row(rows, eval_id):
    return next(r for r in rows if r.id == eval_id)


def test_two_workers_are_both_busy_and_promotions_do_not_wait(tmp_path):
    from distributed import LocalCluster

    import fidelity_fakes

    hb = make_strategy("hyperband", ToyGrammar(), eta=2, min_fidelity=1, max_fidelity=4, brackets=1, seed=2)
    # a first-rung evaluation holds one worker until a promotion has started on the other (the
    # event is waited for, not left to timing): Hyperband must promote without waiting for it
    gate = fidelity_fakes.GATE = fidelity_fakes.PromotionGate(timeout_s=20)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None) as cluster:
        ex = DaskExecutor(n_workers=2, client=cluster)
        rows = run(tmp_path, hb, 16, executor=ex, function="fidelity_fakes:gated_mf_toy_evaluate")
        ex.close()
    assert gate.held >= 1 and not gate.timed_out, "no promotion started while a first-rung evaluation ran"
    assert len({r.worker.split("@")[0] for r in rows}) == 2
    assert any(r.fidelity["epochs"] > 1 for r in rows)
    # asynchronous: some promotion started while a rung-0 evaluation of its bracket still ran
    spans = sorted((r.started_at, r.finished_at, r.fidelity["epochs"]) for r in rows)
    overlaps = [a for a in spans for b in spans if a[2] > 1 and b[2] == 1 and b[0] < a[0] < b[1]]
    assert overlaps


@pytest.mark.parametrize("policy, kept", [("best", "incumbent and live"), ("none", "live"), ("all", "all")])
def test_checkpoints_the_policy_does_not_keep_are_removed(tmp_path, policy, kept):
    hb = make_strategy("hyperband", ToyGrammar(), eta=2, min_fidelity=1, max_fidelity=4, brackets=1, seed=3)
    rows = run(tmp_path, hb, 24, keeper=CheckpointKeeper(policy))  # the driver runs it after each evaluation
    on_disk = {str(p) for p in (tmp_path / "checkpoints").glob("*.pt")}
    saved = {r.saved_checkpoint for r in rows if r.saved_checkpoint}
    live = hb.live_checkpoints()
    best = hb.incumbent().result.record["checkpoint"]
    expected = {"all": saved, "none": live, "best": live | {best}}[policy]
    assert on_disk == expected and (policy == "all" or len(on_disk) < len(saved))


def test_store_says_which_rows_continued(tmp_path):
    hb = make_strategy("hyperband", ToyGrammar(), eta=2, min_fidelity=1, max_fidelity=4, brackets=1, seed=3)
    run(tmp_path, hb, 8)
    db = sqlite3.connect(tmp_path / "runs.sqlite")
    n = db.execute("SELECT COUNT(*) FROM evaluations WHERE continued_from IS NOT NULL").fetchone()[0]
    db.close()
    assert n == sum(1 for o in hb.observations if o.result.record.get("continued_from"))
    assert n >= 1
    assert mf_toy_evaluate  # the objective the rows came from


def test_new_terms_are_compared_by_canonical_form():
    """In a generator space, a term equivalent to one already started (only inert values differ) is not
    started again: ErdosRenyi with N = 1 or 2 ignores P, so half the samples of this space are equivalent."""
    from algebraic_nas.grammar import load_grammar
    from algebraic_nas.grammar.canonical_values import canonical_term

    g = load_grammar("er_small_hb", text="NET ::= ErdosRenyi(N, P, NODE)\nN ::= int(1, 4)\nP ::= float(0.1, 0.9)\n"
                                         "NODE ::= Linear3(relu, conv3x3, batch)\n")
    hb = make_strategy("hyperband", g, eta=2, min_fidelity=1, max_fidelity=4, brackets=1, seed=0)
    canon = [canonical_term(g, p.term) for p in hb.propose(n=12)]
    assert len(set(canon)) == len(canon)
