"""Regenerate the README's screenshots of the HTML report (docs/images/report_*.png).

    .venv/bin/python docs/make_screenshots.py [OUT_DIR]

Runs four small real searches of ``tests/search/tiny.ebnf`` on the embedded digits (one training
epoch per evaluation, about 3 minutes on 2 cores): random search with seeds 0 and 1, regularized
evolution with seed 0, and a two-objective random search (validation error and parameters);
writes their pages (``algebraic-nas report ... --html``) and screenshots them in headless Chromium
(Debian's ``chromium``) with the best point clicked.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "search"))

from cdp_browser import Browser  # noqa: E402
from test_report_browser import search  # noqa: E402 - the browser test's real search of tiny.ebnf

from algebraic_nas.search.report.html import write_html  # noqa: E402


N = "budget.evaluations=10"


def shoot(browser: Browser, page: Path, out: Path, select: str) -> None:
    browser.open(page)
    assert browser.errors == [], browser.errors
    browser.click(*browser.centre(select))
    browser.evaluate("window.scrollTo(0, 0); document.getElementById('tip').style.display = 'none'")
    browser.screenshot(out)


def main(out_dir: Path) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        runs = [search(root / "random-s0", "strategy=random", "seed=0", N),
                search(root / "random-s1", "strategy=random", "seed=1", N),
                search(root / "evolution-s0", "strategy=evolution", "seed=0", N)]
        mo = search(root / "mo", "strategy=mo_random", "seed=3", N, "objectives=[valid_error,params]")
        with Browser() as b:
            shoot(b, write_html([runs[0]]), out_dir / "report_single.png", "svg circle.pt.best")
            shoot(b, write_html([mo]), out_dir / "report_multi_objective.png", "svg circle.pt.front.best")
            shoot(b, write_html(runs, root / "compare.html"), out_dir / "report_compare.png", ".bests .card")
    print(f"screenshots in {out_dir}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "docs" / "images")
