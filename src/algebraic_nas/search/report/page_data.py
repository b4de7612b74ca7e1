"""What the HTML report shows of one run, as plain JSON data (:func:`run_data`).

Per evaluation (every row, all statuses): its number in finishing order, search wall time, term,
status, objectives, fidelity, worker (with its GPU), device, batch job, the reason of a failure,
whether it is on the Pareto front (runs with several objectives) and whether the page holds its
picture. Pictures: SVG drawings of the architecture (:func:`algebraic_nas.assembly.draw.draw_term`)
for a bounded number of evaluations, the ``pictures`` best by validation error plus the front's
points (at most twice ``pictures`` in all), cached in ``REPORT_DIR/pictures/<id>.svg`` so a
refresh draws only new ones. A live page (rewritten while the search runs) draws only the best's
picture when it is new and embeds the others already drawn (a drawing takes about a second; the
final report draws the rest).
"""

from __future__ import annotations

import base64
import logging
from pathlib import Path
from typing import Any, Mapping, Optional, Sequence

from algebraic_nas.search.proposal import fidelity_key
from algebraic_nas.search.report.fidelity import rung_table
from algebraic_nas.search.report.pareto import front_incumbent, front_marks, report_objectives
from algebraic_nas.search.report.summary import failure_reasons, incumbent_trace, read_run
from algebraic_nas.search.store import Row

log = logging.getLogger(__name__)

#: Default number of best evaluations whose architecture the page shows (plus the front's points).
PICTURES = 10
PICTURE_DIR = "pictures"


def flat_settings(config: Mapping[str, Any], prefix: str = "") -> dict[str, str]:
    """A nested config as ``{"strategy.name": "banat", ...}`` (values as short text); the keys
    that name where a run is (``run_dir``, ``hydra``) are left out."""
    out: dict[str, str] = {}
    for k, v in config.items():
        key = f"{prefix}{k}"
        if key in ("run_dir", "hydra", "progress"):
            continue
        if isinstance(v, Mapping):
            out.update(flat_settings(v, key + "."))
        else:
            out[key] = str(v)
    return out


def _evaluation(r: Row, n: Optional[int], front: Optional[int]) -> dict[str, Any]:
    record = r.result or {}
    reason = ((r.error or "unknown").strip().splitlines() or ["unknown"])[0][:300] if r.status == "failed" else None
    return {
        "id": r.id, "n": n, "t": r.run_time_s, "status": r.status, "term": r.term, "strategy": r.strategy,
        "valid_error": r.valid_error, "test_error": r.test_error, "params": r.params, "flops": r.flops,
        "eval_time_s": r.eval_time_s, "worker": r.worker, "device": record.get("device"),
        "job": record.get("job_id"), "fidelity": fidelity_key(r.fidelity), "objectives": dict(r.objectives),
        "reason": reason, "front": front, "continued": r.continued_from is not None, "note": r.note,
    }


def picture_ids(rows: Sequence[Row], marks: Mapping[int, int], top: str, best_id: Optional[int],
                pictures: int) -> list[int]:
    """The evaluations the page draws: the best one, the ``pictures`` lowest validation errors at
    fidelity ``top``, then the front's points, at most ``2 * pictures``; none for ``pictures <= 0``."""
    if pictures <= 0:
        return []
    done = [r for r in rows if r.status == "done" and r.valid_error is not None and fidelity_key(r.fidelity) == top]
    ranked = [r.id for r in sorted(done, key=lambda r: (r.valid_error, r.id))][:pictures]
    on_front = [i for i, m in sorted(marks.items()) if m]
    ids = ([best_id] if best_id is not None else []) + ranked + on_front
    return list(dict.fromkeys(ids))[: 2 * pictures]


def draw_pictures(terms: Mapping[int, str], grammar_name: Optional[str], directory: Path) -> dict[int, str]:
    """Evaluation id -> ``data:image/svg+xml;base64,...`` of its architecture; drawn once into
    ``directory/<id>.svg`` and read from there afterwards. Terms that cannot be drawn are left
    out (one log line)."""
    if not terms or not grammar_name:
        return {}
    directory.mkdir(parents=True, exist_ok=True)
    out: dict[int, str] = {}
    grammar = None
    for eval_id, text in terms.items():
        path = directory / f"{eval_id}.svg"
        if not path.exists():
            try:
                grammar = grammar or _grammar(grammar_name)
                _draw_svg(grammar, text, path)
            except Exception as exc:  # noqa: BLE001 - a picture is optional; the page is not
                log.warning("no picture of evaluation %s: %s: %s", eval_id, type(exc).__name__, exc)
                continue
        out[eval_id] = "data:image/svg+xml;base64," + base64.b64encode(path.read_bytes()).decode("ascii")
    return out


def _grammar(name: str) -> Any:
    from algebraic_nas.grammar import load_grammar

    return load_grammar(name)


def _draw_svg(grammar: Any, term_text: str, path: Path) -> None:
    """The assembler's drawing of ``term_text`` as SVG with text kept as text (a third of the size)."""
    import matplotlib

    from algebraic_nas.assembly.draw import draw_term

    tmp = path.with_suffix(".tmp.svg")
    with matplotlib.rc_context({"svg.fonttype": "none"}):
        draw_term(grammar.parse(term_text), tmp, grammar=grammar)
    tmp.replace(path)  # a reader never sees half a file


def run_data(run_dir: str | Path, report_dir: Optional[Path] = None, pictures: int = PICTURES,
             live: bool = False) -> dict[str, Any]:
    """The page's data of the run in ``run_dir`` (JSON-ready; see the module docstring)."""
    run_dir = Path(run_dir)
    report_dir = Path(report_dir) if report_dir is not None else run_dir / "report"
    run = read_run(run_dir)
    rows, summary, top, config, evaluation, elapsed = (run.rows, run.summary, run.top, run.config, run.evaluation,
                                                       run.elapsed)
    names = list(report_objectives(config))
    finished = sorted((r for r in rows if r.finished), key=lambda r: (r.finished_at or 0.0, r.id))
    number = {r.id: i for i, r in enumerate(finished, start=1)}
    marks = front_marks(finished, config, top)
    best = front_incumbent(rows, config) or summary.best
    evaluations = [_evaluation(r, number.get(r.id), marks.get(r.id)) for r in rows]
    grammar_name = evaluation.get("grammar") or (config.get("grammar") or {}).get("name")
    ids = picture_ids(rows, marks, top, best.id if best else None, pictures)
    by_id = {r.id: r for r in rows}
    folder = report_dir / PICTURE_DIR
    if live:  # the best, and what earlier refreshes drew
        ids = [i for n, i in enumerate(ids) if (n == 0 and best is not None) or (folder / f"{i}.svg").exists()]
    pics = draw_pictures({i: by_id[i].term for i in ids}, grammar_name, folder)
    fidelities = {e["fidelity"] for e in evaluations if e["n"] is not None}
    return {
        "name": run_dir.name, "run_dir": str(run_dir), "live": live,
        "strategy": (config.get("strategy") or {}).get("name") or (rows[0].strategy if rows else "?"),
        "grammar": grammar_name, "dataset": evaluation.get("dataset") or (config.get("dataset") or {}).get("name"),
        "objectives": names, "top_fidelity": top, "counts": summary.counts, "elapsed_s": elapsed,
        "settings": flat_settings(config), "best_id": best.id if best else None,
        "best_rule": ("the Pareto front's point with the lowest " + names[0]) if len(names) > 1
        else "the lowest validation error at the highest fidelity",
        "trace": [[n, t, b if b != float("inf") else None] for n, t, b in incumbent_trace(rows, top)],
        "evaluations": evaluations, "pictures": {str(k): v for k, v in pics.items()}, "pictures_max": pictures,
        "rungs": rung_table(rows) if len(fidelities) > 1 else [],
        "failures": [{"reason": r, "count": n} for r, n in failure_reasons(rows, top=20)],
    }
