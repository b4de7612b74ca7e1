"""What the live HTML report costs the driver (issue 22).

A search's driver rewrites ``RUN_DIR/report/report.html`` every ``report_html_every`` (10)
evaluations (:func:`algebraic_nas.search.report.html.live_refresher`): it reads the store, draws
the best's picture when it is new (the final page holds the 10 best's and the front's) and writes
the page. This benchmark grows a real store to N evaluations of ``hnb201`` terms (sampled; the
errors and sizes are synthetic, which does not change the cost) and calls the refresher after
each evaluation, as the driver does:

* ``report.live_refresh_ms_per_eval`` — the refresher's total time over the N evaluations / N;
* ``report.refresh_at_n_ms`` — one refresh at N evaluations with every picture already drawn
  (the steady state: reading N rows, the JSON, writing the page);
* ``report.page_kb`` — the page's size at N evaluations.

    python -m benchmarks report            # N = 1000
    python -m benchmarks report --quick    # N = 100
"""

from __future__ import annotations

import random
import tempfile
import time
from pathlib import Path
from typing import Any, Iterator

from benchmarks import record


def _grow(run_dir: Path, n: int, every: int) -> tuple[float, int]:
    """Add ``n`` finished evaluations to a new store, calling the live refresher after each;
    returns (total refresher seconds, pictures drawn)."""
    from algebraic_nas.grammar import load_grammar
    from algebraic_nas.search.report.html import live_refresher
    from algebraic_nas.search.store import Store

    grammar = load_grammar("hnb201")
    rng = random.Random(0)
    refresh = live_refresher(run_dir, every)
    spent = 0.0
    with Store(run_dir) as store:
        store.set_meta("config", {"strategy": {"name": "random"}, "grammar": {"name": "hnb201"}, "seed": 0})
        store.set_meta("evaluation", {"grammar": "hnb201", "dataset": "digits", "protocol": "quick"})
        for i in range(n):
            term = str(grammar.sample(rng.randrange(1 << 30)))
            eval_id = store.add(term, "random")
            error = 0.05 + 0.5 * rng.random()
            params = rng.randrange(10_000, 2_000_000)
            store.finish(eval_id, {"outcome": "ok", "valid_error": error, "test_error": error + 0.01,
                                   "params": params, "flops": 40 * params, "wall_time_s": 30.0,
                                   "device": "cpu", "worker": "bench",
                                   "objectives": {"valid_error": error, "params": float(params)}}, worker="bench")
            start = time.perf_counter()
            refresh(None)
            spent += time.perf_counter() - start
    pictures = len(list((run_dir / "report" / "pictures").glob("*.svg")))
    return spent, pictures


def run(quick: bool = False) -> Iterator[dict[str, Any]]:
    from algebraic_nas.search.report.html import write_html

    n, every = (100, 10) if quick else (1000, 10)
    with tempfile.TemporaryDirectory() as tmp:
        run_dir = Path(tmp) / "run"
        spent, pictures = _grow(run_dir, n, every)
        settings = {"evaluations": n, "report_html_every": every, "pictures_drawn": pictures}
        yield record("report.live_refresh_ms_per_eval", 1000 * spent / n, "ms", **settings)
        write_html([run_dir])  # every picture the page holds drawn
        start = time.perf_counter()
        page = write_html([run_dir], live=True)
        yield record("report.refresh_at_n_ms", 1000 * (time.perf_counter() - start), "ms", **settings)
        yield record("report.page_kb", page.stat().st_size / 1024, "kB", **settings)
