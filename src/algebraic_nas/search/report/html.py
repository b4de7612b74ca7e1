"""``report.html``: one self-contained page for watching a search and comparing searches.

    algebraic-nas report RUN_DIR [RUN_DIR ...] --html [-o OUT]

The page holds its data (JSON), its script (``page.js``) and its style (``page.css``, both
shipped beside this module) inline: it opens from disk with no server and fetches nothing. The
plots are inline SVG drawn by that script: every evaluation over evaluations and over wall time
with the incumbent; for several objectives the Pareto front (every pair of objectives); for
several fidelities the rungs; a table of evaluations sortable by each column; hovering a point
shows its term, and clicking it shows its objectives, fidelity, worker/GPU/job and the picture of
its architecture (for the evaluations :mod:`.page_data` draws); failed evaluations with reasons.

Several run directories: the incumbents overlaid, with mean ± 1 standard error over runs that
differ only in their seed; each run is named by the settings in which it differs from the
others; the bests side by side. While a search runs, the driver rewrites
``RUN_DIR/report/report.html`` every ``report_html_every`` evaluations (:func:`live_refresher`)
and the page reloads itself every 30 s until the run has finished.
"""

from __future__ import annotations

import json
import math
import os
import time
from importlib import resources
from pathlib import Path
from typing import Any, Callable, Mapping, Optional, Sequence

from algebraic_nas.search.report.page_data import PICTURES, run_data

HTML_FILE = "report.html"
#: Settings that name a run's seed: runs differing only in these are seeds of one configuration.
SEED_KEYS = ("seed",)


def run_labels(settings: Sequence[Mapping[str, str]]) -> list[str]:
    """Each run named by the settings in which the runs differ (``seed=1, strategy.name=banat``),
    each run by those it has; where a group's ``name`` differs (``strategy.name``) its other keys
    are left out (they come with the choice); ``run N`` where none differ."""
    keys = sorted({k for s in settings for k in s if len({x.get(k) for x in settings}) > 1})
    chosen = {k[: -len(".name")] for k in keys if k.endswith(".name")}
    keys = [k for k in keys if k.endswith(".name") or k.rsplit(".", 1)[0] not in chosen]
    return [", ".join(f"{k}={s[k]}" for k in keys if k in s) or f"run {i + 1}" for i, s in enumerate(settings)]


def seed_groups(settings: Sequence[Mapping[str, str]]) -> list[list[int]]:
    """Indices of runs whose settings agree except for :data:`SEED_KEYS`, in first-seen order."""
    groups: dict[str, list[int]] = {}
    for i, s in enumerate(settings):
        key = json.dumps({k: v for k, v in s.items() if k not in SEED_KEYS}, sort_keys=True)
        groups.setdefault(key, []).append(i)
    return list(groups.values())


def mean_band(traces: Sequence[Sequence[Sequence[Any]]]) -> list[list[float]]:
    """``[n, mean, standard error]`` of the incumbents (``[n, t, best]`` traces) at each evaluation
    number all of them reached and where all have a value (standard error: sample std / sqrt(k))."""
    length = min((len(t) for t in traces), default=0)
    out = []
    for i in range(length):
        values = [t[i][2] for t in traces]
        if any(v is None for v in values):
            continue
        k = len(values)
        mean = sum(values) / k
        se = math.sqrt(sum((v - mean) ** 2 for v in values) / (k - 1) / k) if k > 1 else 0.0
        out.append([i + 1, mean, se])
    return out


def comparison(runs: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The multi-run part of the page: labels, seed groups with their mean ± s.e. incumbent."""
    settings = [r["settings"] for r in runs]
    labels = run_labels(settings)
    groups = []
    for members in seed_groups(settings):
        # a group is named by its members' labels without the seed
        name = run_labels([{k: v for k, v in settings[i].items() if k not in SEED_KEYS} for i in range(len(runs))])
        groups.append({"members": members, "label": name[members[0]] if len(runs) > 1 else labels[0],
                       "band": mean_band([runs[i]["trace"] for i in members]) if len(members) > 1 else []})
    return {"labels": labels, "groups": groups}


def _asset(name: str) -> str:
    return resources.files("algebraic_nas.search.report").joinpath(name).read_text(encoding="utf-8")


def page(runs: Sequence[Mapping[str, Any]], title: str) -> str:
    """The HTML text of the page for ``runs`` (:func:`~.page_data.run_data` dicts)."""
    data = {"title": title, "runs": list(runs), "generated": time.strftime("%Y-%m-%d %H:%M:%S"),
            "comparison": comparison(runs) if len(runs) > 1 else None}
    payload = json.dumps(data, allow_nan=False, default=str).replace("</", "<\\/")
    return "\n".join([
        "<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
        f"<title>{_escape(title)}</title>", f"<style>\n{_asset('page.css')}</style>", "</head>", "<body>",
        '<div id="app"><p>This report needs JavaScript.</p></div>',
        f'<script id="report-data" type="application/json">{payload}</script>',
        f"<script>\n{_asset('page.js')}</script>", "</body>", "</html>", ""])


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _clean(value: Any) -> Any:
    """JSON without NaN/inf (they become null)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    return value


def write_html(run_dirs: Sequence[str | os.PathLike], out: Optional[str | os.PathLike] = None,
               pictures: int = PICTURES, live: bool = False) -> Path:
    """Write the page of ``run_dirs`` to ``out`` (a file or a directory; default
    ``RUN_DIR/report/report.html`` for one run, ``./report.html`` for several); returns its path."""
    dirs = [Path(d) for d in run_dirs]
    if out is None:
        path = dirs[0] / "report" / HTML_FILE if len(dirs) == 1 else Path(HTML_FILE)
    else:
        path = Path(out)
        path = path / HTML_FILE if path.is_dir() or not path.suffix else path
    report_dirs = [d / "report" if len(dirs) > 1 or out is None else path.parent for d in dirs]
    runs = [_clean(run_data(d, rd, pictures, live)) for d, rd in zip(dirs, report_dirs)]
    title = (f"{runs[0]['strategy']} on {Path(str(runs[0]['grammar'])).name} / {runs[0]['dataset']}" if len(runs) == 1
             else f"{len(runs)} searches compared")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(page(runs, title), encoding="utf-8")
    tmp.replace(path)  # a browser reloading the page never reads half of it
    return path


def live_refresher(run_dir: str | os.PathLike, every: int, pictures: int = PICTURES) -> Callable[[Any], None]:
    """A callback for the driver (called with each finished evaluation's row) that rewrites
    ``RUN_DIR/report/report.html`` after every ``every`` evaluations, drawing only a new best's
    picture (the final report draws the rest). A failing refresh logs and never stops the search."""
    import logging

    log = logging.getLogger(__name__)
    count = [0]

    def refresh(_result: Any = None) -> None:
        count[0] += 1
        if every <= 0 or count[0] % every:
            return
        try:
            write_html([run_dir], pictures=pictures, live=True)
        except Exception as exc:  # noqa: BLE001 - watching a search must not stop it
            log.warning("the live report could not be refreshed: %s: %s", type(exc).__name__, exc)

    return refresh
