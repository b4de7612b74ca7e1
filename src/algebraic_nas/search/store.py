"""The results store: one SQLite database per run directory (``RUN_DIR/runs.sqlite``).

Every proposal is one row of the ``evaluations`` table, created ``pending`` when the strategy
proposes it, marked ``running`` when it is handed to a worker and ``done`` or ``failed`` when
its evaluation ends. Each change is committed at once (WAL journal, ``synchronous=FULL``), so a
``kill -9`` of the driver never loses a finished evaluation. On resume, ``pending`` and
``running`` rows are the evaluations that were lost with the driver: they are evaluated again.
Each row keeps the proposal's fidelity (``'{}'``: full) and the measured objectives, and for
multi-fidelity runs the checkpoint the proposal continues from (``checkpoint``), the one training
actually continued from (``continued_from``: ``NULL`` when it trained from scratch, e.g. after a
missing checkpoint; the record's ``retrain_reason`` says why) and the one it saved
(``saved_checkpoint``).

A store written by an older version is migrated in place when opened for writing (missing
columns added, ``meta.schema_version`` set); read-only, it is read as it is.

Only the driver process writes; readers (``algebraic-nas report``) may open the database at
any time thanks to WAL. One driver per run directory: :class:`DriverLock` (an ``flock`` on
``RUN_DIR/runs.lock``) is taken before anything is written — a store opened for writing takes it
first — so a second driver stops with :class:`RunDirectoryBusy`, naming the directory and the
process holding it, and leaves the first one's settings untouched.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Mapping, Optional, Sequence

from algebraic_nas.search.incumbent import incumbent
from algebraic_nas.search.jsonsafe import strict_json as _dumps
from algebraic_nas.search.lock import DriverLock, RunDirectoryBusy  # noqa: F401 - RunDirectoryBusy re-exported
from algebraic_nas.search.proposal import fidelity_key, fidelity_rank, finite_or_none, objectives_of

STORE_FILENAME = "runs.sqlite"
STATUSES = ("pending", "running", "done", "failed")
# 1: the first release; 2: fidelity, checkpoint and objectives columns; 3: continued_from and
# saved_checkpoint (multi-fidelity continuation); 4: note (how the strategy chose the proposal)
SCHEMA_VERSION = 4
# columns added after version 1, with their definitions (ALTER TABLE ADD COLUMN on older stores)
_ADDED_COLUMNS = {
    "fidelity": "TEXT NOT NULL DEFAULT '{}'",
    "checkpoint": "TEXT",
    "objectives": "TEXT",
    "continued_from": "TEXT",
    "saved_checkpoint": "TEXT",
    "note": "TEXT",
}
STRATEGY_STATE = "strategy_state"  # meta key: the strategy's random state after the last proposal stored

_SCHEMA = """
CREATE TABLE IF NOT EXISTS evaluations (
    id            INTEGER PRIMARY KEY,
    term          TEXT    NOT NULL,
    strategy      TEXT    NOT NULL,
    status        TEXT    NOT NULL CHECK (status IN ('pending', 'running', 'done', 'failed')),
    valid_error   REAL,
    test_error    REAL,
    params        INTEGER,
    flops         INTEGER,
    eval_time_s   REAL,
    result        TEXT,            -- JSON: the full evaluation record
    worker        TEXT,
    error         TEXT,
    attempts      INTEGER NOT NULL DEFAULT 0,
    propose_time_s REAL,           -- strategy time spent proposing this term
    proposed_at   REAL    NOT NULL,
    started_at    REAL,
    finished_at   REAL,
    run_time_s    REAL,            -- search wall time (all sessions) when the evaluation ended
    fidelity      TEXT    NOT NULL DEFAULT '{}',  -- JSON: protocol overrides of the proposal ('{}': full)
    checkpoint    TEXT,            -- the checkpoint the proposal continues from
    objectives    TEXT,            -- JSON: the measured objectives (valid_error, params, flops, ...)
    continued_from TEXT,           -- the checkpoint training continued from (NULL: from scratch)
    saved_checkpoint TEXT,         -- the checkpoint the evaluation saved (NULL: none)
    note          TEXT             -- how the strategy chose it ('initial design 3/10, random', 'model (log_ei)')
);
CREATE INDEX IF NOT EXISTS evaluations_status ON evaluations (status);
CREATE TABLE IF NOT EXISTS meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL            -- JSON
);
CREATE TABLE IF NOT EXISTS sessions (
    id          INTEGER PRIMARY KEY,
    started_at  REAL NOT NULL,
    last_seen   REAL NOT NULL,
    pid         INTEGER
);
"""


@dataclass
class Row:
    """One evaluation as stored (``result`` is the decoded JSON record, or ``None``)."""

    id: int
    term: str
    strategy: str
    status: str
    valid_error: Optional[float] = None
    test_error: Optional[float] = None
    params: Optional[int] = None
    flops: Optional[int] = None
    eval_time_s: Optional[float] = None
    result: Optional[dict] = None
    worker: Optional[str] = None
    error: Optional[str] = None
    attempts: int = 0
    propose_time_s: Optional[float] = None
    proposed_at: float = 0.0
    started_at: Optional[float] = None
    finished_at: Optional[float] = None
    run_time_s: Optional[float] = None
    fidelity: dict = field(default_factory=dict)  # {}: full fidelity
    checkpoint: Optional[str] = None
    objectives: dict = field(default_factory=dict)
    continued_from: Optional[str] = None
    saved_checkpoint: Optional[str] = None
    note: Optional[str] = None

    @property
    def continued(self) -> bool:
        """Whether this evaluation continued another's training instead of starting afresh."""
        return self.continued_from is not None

    @property
    def finished(self) -> bool:
        return self.status in ("done", "failed")


@dataclass
class StoreSummary:
    """Counts by status plus the incumbent (:mod:`algebraic_nas.search.incumbent`): the lowest
    validation error among ``done`` rows at the highest fidelity present (rows at lower fidelities
    are not comparable), the first to finish among equals."""

    counts: dict[str, int] = field(default_factory=dict)
    best: Optional[Row] = None

    @property
    def finished(self) -> int:
        return self.counts.get("done", 0) + self.counts.get("failed", 0)


def _text_or_none(x: Any) -> Optional[str]:
    return None if x in (None, "") else str(x)


class Store:
    """SQLite store of one search run. Open with ``Store(run_dir)``; use as a context manager.

    Args:
        path: a run directory (the database is ``path/runs.sqlite``) or the database file.
        readonly: open for reading only (the report does this while a search may be running).

    Opened for writing, the store first takes the run directory's :class:`DriverLock` (held
    until :meth:`close`): :class:`RunDirectoryBusy` if another driver holds it, before anything
    is written.
    """

    def __init__(self, path: str | os.PathLike, readonly: bool = False) -> None:
        path = Path(path)
        if path.suffix != ".sqlite":
            path = path / STORE_FILENAME
        if readonly and not path.exists():
            raise FileNotFoundError(f"no search store at {path}")
        self.path = path
        self.readonly = readonly
        self._session: Optional[int] = None
        self._lock = DriverLock(path.parent)
        if not readonly:
            self._lock.acquire()  # before anything is written: a busy directory is left as it is
        try:
            self._connect()
        except BaseException:
            self._lock.release()
            raise
        self._db.row_factory = sqlite3.Row
        self._columns = {r[1] for r in self._db.execute("PRAGMA table_info(evaluations)")}

    def _connect(self) -> None:
        """Open the database (read-only, or for writing: WAL, schema created and migrated)."""
        if self.readonly:
            self._db = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, timeout=30.0)
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(self.path), timeout=30.0, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        # FULL: a commit is on disk when execute() returns, so nothing finished is lost
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)
        self._migrate()

    # --- life cycle --------------------------------------------------------------------------

    def close(self) -> None:
        if self._session is not None:
            self.heartbeat()  # the session's time counts up to its clean end
            self._session = None
        self._lock.release()
        self._db.close()

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def _write(self, sql: str, args: Sequence[Any] = ()) -> sqlite3.Cursor:
        if self.readonly:
            raise PermissionError("store opened read-only")
        with self._db:  # one transaction, committed on exit
            return self._db.execute(sql, args)

    def _migrate(self) -> None:
        """Bring a store written by an older version up to :data:`SCHEMA_VERSION` in place:
        add the missing columns (old rows get their defaults: full fidelity) and record the
        version in ``meta``."""
        have = {r[1] for r in self._db.execute("PRAGMA table_info(evaluations)")}
        with self._db:
            for name, definition in _ADDED_COLUMNS.items():
                if name not in have:
                    self._db.execute(f"ALTER TABLE evaluations ADD COLUMN {name} {definition}")
            self._db.execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES ('schema_version', ?)", (json.dumps(SCHEMA_VERSION),)
            )

    # --- metadata and sessions ---------------------------------------------------------------

    def get_meta(self, key: str, default: Any = None) -> Any:
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return default if row is None else json.loads(row["value"])

    def set_meta(self, key: str, value: Any) -> None:
        self._write("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, _dumps(value)))

    def start_session(self) -> int:
        """Record that a driver (re)started (the store holds the run directory's driver lock);
        returns the session id."""
        now = time.time()
        cur = self._write("INSERT INTO sessions (started_at, last_seen, pid) VALUES (?, ?, ?)", (now, now, os.getpid()))
        self._session = int(cur.lastrowid)
        return self._session

    def heartbeat(self) -> None:
        """Extend the current session to now (its length counts towards the run's wall time)."""
        if self._session is not None:
            self._write("UPDATE sessions SET last_seen = ? WHERE id = ?", (time.time(), self._session))

    def elapsed(self) -> float:
        """Search wall time over all sessions so far, in seconds (a crashed session counts up to
        its last heartbeat; the time between sessions does not count)."""
        now = time.time()
        total = 0.0
        for r in self._db.execute("SELECT id, started_at, last_seen FROM sessions"):
            end = now if r["id"] == self._session else r["last_seen"]
            total += max(0.0, end - r["started_at"])
        return total

    # --- evaluations -------------------------------------------------------------------------

    def add(
        self,
        term: str,
        strategy: str,
        propose_time_s: Optional[float] = None,
        fidelity: Optional[Mapping[str, Any]] = None,
        checkpoint: Optional[str] = None,
        note: Optional[str] = None,
        strategy_state: Optional[Mapping[str, Any]] = None,
    ) -> int:
        """A new proposal (``fidelity``: its protocol overrides, ``None``/``{}`` = full; ``note``:
        how the strategy chose it), status ``pending``; returns its id. ``strategy_state``: the
        strategy's random state after making it, kept (meta key ``strategy_state``, in the same
        transaction) for a resumed run to restore."""
        if self.readonly:
            raise PermissionError("store opened read-only")
        # one explicit transaction (the connection autocommits each statement): a kill between the
        # row and the state would leave a proposal whose random state is not the one stored
        self._db.execute("BEGIN IMMEDIATE")
        try:
            cur = self._db.execute(
                "INSERT INTO evaluations (term, strategy, status, propose_time_s, proposed_at, fidelity, checkpoint, note)"
                " VALUES (?, ?, 'pending', ?, ?, ?, ?, ?)",
                (term, strategy, propose_time_s, time.time(), fidelity_key(fidelity), checkpoint, note or None),
            )
            if strategy_state is not None:
                self._db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
                                 (STRATEGY_STATE, _dumps(strategy_state)))
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        return int(cur.lastrowid)

    def mark_running(self, eval_id: int, worker: Optional[str] = None) -> None:
        self._write(
            "UPDATE evaluations SET status = 'running', started_at = ?, worker = ?, attempts = attempts + 1 WHERE id = ?",
            (time.time(), worker, eval_id),
        )

    def finish(self, eval_id: int, record: Mapping[str, Any], worker: Optional[str] = None) -> Row:
        """Store a finished evaluation (committed before returning).

        ``record`` is an evaluation record as a dict (``EvaluationRecord.to_dict()``); its
        ``outcome`` decides ``done`` ("ok" with a finite validation error) or ``failed``.
        """
        valid = finite_or_none(record.get("valid_error"))
        ok = record.get("outcome") == "ok" and valid is not None
        status = "done" if ok else "failed"
        error = None
        if not ok:
            error = str(record.get("reason") or record.get("error") or "evaluation failed")
        now = time.time()
        self._write(
            """UPDATE evaluations SET status = ?, valid_error = ?, test_error = ?, params = ?, flops = ?,
                   eval_time_s = ?, result = ?, worker = COALESCE(?, worker), error = ?, finished_at = ?,
                   run_time_s = ?, started_at = COALESCE(started_at, ?), objectives = ?,
                   continued_from = ?, saved_checkpoint = ?
               WHERE id = ?""",
            (
                status,
                valid if ok else None,
                finite_or_none(record.get("test_error")) if ok else None,
                record.get("params"),
                record.get("flops"),
                finite_or_none(record.get("wall_time_s")),
                _dumps(dict(record)),
                worker,
                error,
                now,
                self.elapsed(),
                now,
                _dumps(objectives_of(record)),
                _text_or_none(record.get("continued_from")),
                _text_or_none(record.get("checkpoint")),
                eval_id,
            ),
        )
        if self._session is not None:
            self.heartbeat()
        return self.get(eval_id)

    def mark_pending(self, eval_ids: Sequence[int]) -> None:
        """Put abandoned evaluations (cancelled at the end of a wall-time budget) back to ``pending``."""
        for i in eval_ids:
            self._write("UPDATE evaluations SET status = 'pending' WHERE id = ? AND status = 'running'", (i,))

    def requeue_unfinished(self) -> list[Row]:
        """Rows left ``pending`` or ``running`` by an earlier driver, reset to ``pending``
        (in proposal order): they are to be evaluated again."""
        self._write("UPDATE evaluations SET status = 'pending' WHERE status = 'running'")
        return self.rows(status=("pending",))

    def get(self, eval_id: int) -> Row:
        r = self._db.execute("SELECT * FROM evaluations WHERE id = ?", (eval_id,)).fetchone()
        if r is None:
            raise KeyError(eval_id)
        return self._row(r)

    def rows(self, status: Optional[Sequence[str]] = None, order: str = "id") -> list[Row]:
        """Rows, optionally only those with a status in ``status``; ``order`` is ``"id"``
        (proposal order) or ``"finished"`` (evaluation order, the order a strategy saw them)."""
        order_sql = {"id": "id", "finished": "finished_at IS NULL, finished_at, id"}[order]
        if status:
            marks = ",".join("?" * len(status))
            cur = self._db.execute(f"SELECT * FROM evaluations WHERE status IN ({marks}) ORDER BY {order_sql}", tuple(status))
        else:
            cur = self._db.execute(f"SELECT * FROM evaluations ORDER BY {order_sql}")
        return [self._row(r) for r in cur]

    def __iter__(self) -> Iterator[Row]:
        return iter(self.rows())

    def summary(self) -> StoreSummary:
        counts = {s: 0 for s in STATUSES}
        for r in self._db.execute("SELECT status, COUNT(*) AS n FROM evaluations GROUP BY status"):
            counts[r["status"]] = int(r["n"])
        # the incumbent function over each fidelity's best (a few rows, not every row: this runs
        # after every event), then the first to finish with that fidelity and error
        fid = "fidelity" if "fidelity" in self._columns else "'{}'"
        per_fidelity = self._db.execute(
            f"SELECT {fid} AS fidelity, MIN(valid_error) AS valid_error FROM evaluations "
            f"WHERE status = 'done' AND valid_error IS NOT NULL GROUP BY {fid}").fetchall()
        top = incumbent(per_fidelity, value=lambda r, k: r["valid_error"], fidelity=lambda r: json.loads(r["fidelity"]))
        best = None
        if top is not None:
            best = self._db.execute(
                f"SELECT * FROM evaluations WHERE status = 'done' AND {fid} = ? AND valid_error = ? "
                "ORDER BY finished_at IS NULL, finished_at, id LIMIT 1", (top["fidelity"], top["valid_error"])).fetchone()
        return StoreSummary(counts=counts, best=self._row(best) if best is not None else None)

    def top_fidelity(self) -> str:
        """The highest fidelity (its JSON text) among ``done`` rows: ``'{}'`` (full) when any
        row is at full fidelity or none is done."""
        if "fidelity" not in self._columns:  # a version-1 store opened read-only: all full
            return "{}"
        texts = [r[0] for r in self._db.execute("SELECT DISTINCT fidelity FROM evaluations WHERE status = 'done'")]
        return max(texts, key=lambda t: fidelity_rank(json.loads(t)), default="{}")

    @staticmethod
    def _row(r: sqlite3.Row) -> Row:
        d = dict(r)
        d["result"] = json.loads(d["result"]) if d.get("result") else None
        d["fidelity"] = json.loads(d["fidelity"]) if d.get("fidelity") else {}
        d["objectives"] = json.loads(d["objectives"]) if d.get("objectives") else {}
        return Row(**d)
