"""``algebraic-nas report RUN_DIR [RUN_DIR ...] --html`` (issue 22): the page of real searches,
opened in a real headless Chromium (Debian's ``chromium``; these tests skip saying so where it is
missing): it loads without console errors, its plots have their points, hovering a point shows its
term and clicking it shows the term, its details and the picture of its architecture. Also the
page's offline self-containment, the multi-run comparison and the live refresh during a search.

``ALGEBRAIC_NAS_SCREENSHOTS=DIR`` writes a screenshot of each kind of page into DIR (the README's).
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest
from cdp_browser import Browser, chromium
from hydra import compose, initialize_config_module

from algebraic_nas.evaluation import evaluate
from algebraic_nas.search.config import register_configs
from algebraic_nas.search.report import run_from_args
from algebraic_nas.search.report.command import add_arguments
from algebraic_nas.search.report.html import mean_band, run_labels, seed_groups, write_html
from algebraic_nas.search.runner import run_search
from algebraic_nas.search.store import Store

TINY = str(Path(__file__).parent / "tiny.ebnf")
CALLS = {"n": 0}
FAILS_AT = 2  # the second evaluation of every run fails


def failing_evaluate(term: str, **kwargs):
    """The framework's evaluation, except that every second call raises (a failure with a reason)."""
    CALLS["n"] += 1
    if CALLS["n"] % FAILS_AT == 0:
        raise RuntimeError("loss is NaN (raised by the test's evaluation function)")
    return evaluate(term, **kwargs)


def search(run_dir: Path, *overrides: str) -> Path:
    """A real search of the tiny grammar on digits (one training epoch per evaluation)."""
    CALLS["n"] = 0
    register_configs()
    with initialize_config_module(version_base="1.3", config_module="algebraic_nas.conf"):
        cfg = compose("search", overrides=[f"grammar.name={TINY}", "dataset=digits", "protocol=tiny", "progress=none",
                                           "budget.wall_time_s=null", "executor=inprocess", "report=false",
                                           "checkpoints=none", *overrides])
    run_search(cfg, run_dir)
    return run_dir


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, Path]:
    """Two seeds of one random search (each with a failed evaluation) and a two-objective one."""
    root = tmp_path_factory.mktemp("runs")
    fail = f"evaluation_function={__name__}:failing_evaluate"
    return {
        "seed0": search(root / "seed0", "strategy=random", "budget.evaluations=5", "seed=0", fail),
        "seed1": search(root / "seed1", "strategy=random", "budget.evaluations=5", "seed=1", fail),
        "mo": search(root / "mo", "strategy=mo_random", "budget.evaluations=5", "seed=2",
                     "objectives=[valid_error,params]"),
    }


def report(*args: str) -> int:
    import argparse

    parser = argparse.ArgumentParser()
    add_arguments(parser)
    return run_from_args(parser.parse_args(list(args)))


def test_the_page_is_self_contained(runs):
    assert report(str(runs["seed0"]), "--html", "--no-draw") == 0
    assert "data:image/svg" not in (runs["seed0"] / "report" / "report.html").read_text()  # --no-draw: no pictures
    assert report(str(runs["seed0"]), "--html", "--pictures", "1") == 0
    html = (runs["seed0"] / "report" / "report.html").read_text()
    # nothing fetched: no external script, style, image or link (the SVG namespace is a name, not a fetch)
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html)
    assert "<script src" not in html and "@import" not in html
    data = json.loads(re.search(r'<script id="report-data" type="application/json">(.*?)</script>', html, re.S)
                      .group(1).replace("<\\/", "</"))
    run = data["runs"][0]
    assert len(run["evaluations"]) == 5 and (run["counts"]["done"], run["counts"]["failed"]) == (3, 2)
    failed = [e for e in run["evaluations"] if e["status"] == "failed"]
    assert all("loss is NaN" in e["reason"] for e in failed)
    assert run["failures"][0]["count"] == 2
    best = min((e for e in run["evaluations"] if e["status"] == "done"), key=lambda e: e["valid_error"])
    assert run["best_id"] == best["id"] and str(best["id"]) in run["pictures"]  # the best's picture is embedded
    assert run["pictures"][str(best["id"])].startswith("data:image/svg+xml;base64,")


def test_the_multi_objective_page_highlights_a_point_of_the_front(runs):
    path = write_html([runs["mo"]], pictures=2)
    data = json.loads(re.search(r'type="application/json">(.*?)</script>', path.read_text(), re.S).group(1)
                      .replace("<\\/", "</"))["runs"][0]
    front = {e["id"] for e in data["evaluations"] if e["front"] == 1}
    assert data["objectives"] == ["valid_error", "params"] and front
    assert data["best_id"] in front  # issue 23.7: never a dominated point
    assert set(data["pictures"]) >= {str(i) for i in front}  # every point of the front is drawn


def test_several_runs_are_named_by_their_differences_and_seeds_averaged():
    settings = [{"strategy.name": "random", "seed": "0"}, {"strategy.name": "random", "seed": "1"},
                {"strategy.name": "mo_random", "seed": "2"}]
    assert run_labels(settings) == ["seed=0, strategy.name=random", "seed=1, strategy.name=random",
                                    "seed=2, strategy.name=mo_random"]
    assert seed_groups(settings) == [[0, 1], [2]]
    # settings that come with a choice (evolution's) do not name the runs; absent ones are left out
    evolution = [{"strategy.name": "random", "seed": "0"},
                 {"strategy.name": "evolution", "strategy.sample_size": "10", "seed": "0", "protocol.epochs": "4"},
                 {"strategy.name": "random", "seed": "0", "protocol.epochs": "8"}]
    assert run_labels(evolution) == ["strategy.name=random", "protocol.epochs=4, strategy.name=evolution",
                                     "protocol.epochs=8, strategy.name=random"]
    band = mean_band([[[1, 0.0, 0.5], [2, 0.0, 0.4]], [[1, 0.0, 0.3], [2, 0.0, 0.2], [3, 0.0, 0.1]]])
    assert [b[0] for b in band] == [1, 2]  # only the evaluations every run reached
    assert band[0][1] == pytest.approx(0.4) and band[0][2] == pytest.approx(0.1)  # mean, s.e. = std / sqrt(2)


def test_the_driver_refreshes_the_page_while_it_searches(tmp_path):
    """report_html_every=2: the page exists after the second evaluation; the final report
    rewrites it without the live reload."""
    pages = []

    def spy(term: str, **kwargs):
        page = tmp_path / "run" / "report" / "report.html"
        pages.append(page.read_text() if page.exists() else None)
        return evaluate(term, **kwargs)

    globals()["_spy"] = spy
    search(tmp_path / "run", "strategy=random", "budget.evaluations=4", f"evaluation_function={__name__}:_spy",
           "report=true", "report_html_every=2")
    assert pages[:3] == [None, None, pages[2]] and '"live": true' in pages[2]  # written after evaluation 2
    final = (tmp_path / "run" / "report" / "report.html").read_text()
    assert '"live": false' in final and final.count('"status": "done"') == 4


needs_browser = pytest.mark.skipif(chromium() is None, reason="chromium is not installed (.ci/run installs "
                                   "Debian's chromium package as root; elsewhere: apt-get install chromium)")


def _check_loaded(b: Browser, path: Path) -> None:
    b.open(path)
    assert b.evaluate("document.body.getAttribute('data-ready')") == "1", b.errors
    assert b.errors == []


def _hover_and_click(b: Browser, selector: str, term: str) -> None:
    """Hovering the point shows its term in the tooltip; clicking it shows it in the detail panel."""
    x, y = b.centre(selector)
    b.hover(x, y)
    assert term in b.evaluate("document.getElementById('tip').textContent")
    b.click(x, y)
    assert term in b.evaluate("document.getElementById('detail').textContent")


@needs_browser
def test_pages_in_a_real_browser(runs, tmp_path):
    shots = os.environ.get("ALGEBRAIC_NAS_SCREENSHOTS")
    single = write_html([runs["seed0"]])
    mo = write_html([runs["mo"]])
    several = write_html([runs["seed0"], runs["seed1"], runs["mo"]], tmp_path / "compare.html")
    with Store(runs["seed0"], readonly=True) as s:
        best = s.summary().best
    with Browser() as b:
        _check_loaded(b, single)
        # every evaluation is a point on both plots: 3 done (circles) and 2 failed (crosses) each
        assert b.evaluate("document.querySelectorAll('svg circle.pt.eval').length") == 2 * 3
        assert b.evaluate("document.querySelectorAll('svg path.pt.failed').length") == 2 * 2
        assert b.evaluate("document.querySelectorAll('svg path.incumbent').length") == 2
        _hover_and_click(b, f"svg circle.pt[data-id='{best.id}']", best.term)
        assert b.evaluate("document.querySelectorAll('#detail img.arch').length") == 1  # its picture
        _hover_and_click(b, "svg path.pt.failed", "")
        assert "loss is NaN" in b.evaluate("document.getElementById('detail').textContent")
        # the table: one row per evaluation, sorted by a column when its header is clicked
        assert b.evaluate("document.querySelectorAll('table.evals tbody tr').length") == 5
        b.click(*b.centre("table.evals th[data-key='valid_error']"))
        first = b.evaluate("document.querySelector('table.evals tbody tr').getAttribute('data-id')")
        assert int(first) == best.id
        if shots:
            b.evaluate("window.scrollTo(0, 0)")
            _hover_and_click(b, f"svg circle.pt[data-id='{best.id}']", best.term)
            b.screenshot(Path(shots) / "report_single.png")
        _check_loaded(b, mo)
        n_front = b.evaluate("document.querySelectorAll('svg circle.pt.front').length")
        assert n_front >= 1 and b.evaluate("document.querySelectorAll('svg path.frontline').length") == 1
        mo_best = b.evaluate("document.querySelector('svg circle.pt.front.best').getAttribute('data-id')")
        with Store(runs["mo"], readonly=True) as s:
            term = s.get(int(mo_best)).term
        _hover_and_click(b, f"svg circle.pt.front[data-id='{mo_best}']", term)
        if shots:
            b.screenshot(Path(shots) / "report_multi_objective.png")
        _check_loaded(b, several)
        assert b.evaluate("document.querySelectorAll('svg polygon.band').length") == 1  # the two seeds' mean ± s.e.
        assert b.evaluate("document.querySelectorAll('.bests .card').length") == 3
        assert "seed=0, strategy.name=random" in b.evaluate("document.body.textContent")
        if shots:
            b.screenshot(Path(shots) / "report_compare.png")
        assert b.errors == []
