"""The multi-fidelity report: incumbent over cumulative training epochs with the rungs, and the
epochs continuation saved."""

from __future__ import annotations

import json

from algebraic_nas.search.driver import Budget, Driver
from algebraic_nas.search.executors import InProcessExecutor
from algebraic_nas.search.report import format_summary, make_report
from algebraic_nas.search.proposal import fidelity_key
from algebraic_nas.search.report.fidelity import anytime_trace, rung_table
from algebraic_nas.search.store import Store
from algebraic_nas.search.strategies import make_strategy
from algebraic_nas.search.worker import EvaluationTask
from search_fakes import ToyGrammar


def hyperband_run(tmp_path, evaluations: int) -> list:
    """The rows of a Hyperband search (eta 2, fidelities 1..4 epochs) of the toy grammar in ``tmp_path``."""
    hb = make_strategy("hyperband", ToyGrammar(), eta=2, min_fidelity=1, max_fidelity=4, brackets=1, seed=4)
    settings = EvaluationTask(grammar="toy8", dataset="none", protocol={"name": "quick"},
                              function="fidelity_fakes:mf_toy_evaluate", checkpoint_dir=str(tmp_path / "checkpoints"))
    with Store(tmp_path) as store:
        Driver(ToyGrammar(), hb, InProcessExecutor(), store, settings, Budget(evaluations=evaluations)).run()
        return store.rows()


def test_report_of_a_hyperband_run(tmp_path):
    rows = hyperband_run(tmp_path, 20)
    info = make_report(tmp_path, draw=False)
    f = info["fidelity"]
    assert (tmp_path / "report" / "fidelity.png").stat().st_size > 0
    assert f["epochs_trained"] == sum(r.result["epochs_trained"] for r in rows)
    continued = [r for r in rows if r.continued]
    assert continued and f["epochs_saved_by_continuation"] == sum(r.result["epochs"] - r.result["epochs_trained"]
                                                                  for r in continued)
    assert [r["fidelity"]["epochs"] for r in f["rungs"]] == sorted({r.fidelity["epochs"] for r in rows})
    assert sum(r["evaluations"] for r in f["rungs"]) == 20 and f["rungs"][0]["continued"] == 0
    assert "saved by continuing" in format_summary(info)
    assert json.loads((tmp_path / "report" / "summary.json").read_text())["fidelity"]["rungs"] == f["rungs"]
    # the incumbent is the best at the highest rung reached so far: it jumps up when a rung is first reached
    trace = anytime_trace(rows)
    assert trace[-1]["epochs"] == f["epochs_trained"]
    assert trace[-1]["best"] == info["best"]["valid_error"]
    first_top = next(i for i, p in enumerate(trace) if p["best_fidelity"] == trace[-1]["best_fidelity"])
    assert first_top > 0 and trace[first_top]["best"] == trace[first_top]["error"]  # whatever the lower rungs had
    assert all(p["best"] <= q["best"] for p, q in zip(trace[1:], trace) if p["best_fidelity"] == q["best_fidelity"])


def test_a_run_at_one_fidelity_has_no_fidelity_section(tmp_path):
    settings = EvaluationTask(grammar="toy8", dataset="none", protocol={"name": "quick"},
                              function="search_fakes:toy_evaluate")
    with Store(tmp_path) as store:
        Driver(ToyGrammar(), make_strategy("random", ToyGrammar()), InProcessExecutor(), store, settings,
               Budget(evaluations=3)).run()
        rows = store.rows()
    assert make_report(tmp_path, draw=False)["fidelity"] is None
    assert [r["evaluations"] for r in rung_table(rows)] == [3]


def test_the_html_page_of_a_hyperband_run_shows_its_rungs(tmp_path):
    """The page (issue 22): the rung table and every evaluation coloured by its fidelity; in
    Chromium where installed, one legend entry per rung and a rung table row per fidelity."""
    import re

    from cdp_browser import Browser, chromium

    from algebraic_nas.search.report.html import write_html

    rows = hyperband_run(tmp_path, 12)
    page = write_html([tmp_path], pictures=0)
    data = json.loads(re.search(r'type="application/json">(.*?)</script>', page.read_text(), re.S).group(1)
                      .replace("<\\/", "</"))["runs"][0]
    assert data["rungs"] == json.loads(json.dumps(rung_table(rows)))
    fidelities = sorted({fidelity_key(r.fidelity) for r in rows})
    assert len(fidelities) >= 2 and {e["fidelity"] for e in data["evaluations"]} == set(fidelities)
    if chromium() is None:
        return
    with Browser() as b:
        b.open(page)
        assert b.errors == [] and b.evaluate("document.body.getAttribute('data-ready')") == "1"
        legend = b.evaluate("document.querySelector('figcaption').textContent")
        lower = [f for f in fidelities if f != data["top_fidelity"]]
        assert all(f"fidelity {f}" in legend for f in lower)
        assert b.evaluate("document.querySelectorAll('table.rungs tr').length") == 1 + len(data["rungs"])
        assert b.evaluate("document.querySelectorAll('svg circle.pt.eval').length") == 2 * len(rows)
