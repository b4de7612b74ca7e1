"""One driver per run directory: :class:`DriverLock`, an ``flock`` on ``RUN_DIR/runs.lock``.

A second driver on the same directory would re-queue the first one's running evaluations and
overwrite its stored settings, so the lock is taken before anything is written (the writing
:class:`~algebraic_nas.search.store.Store` takes it first). The lock file holds ``"PID on
HOST"`` of the holder, which the loser's :class:`RunDirectoryBusy` names. The kernel releases an
``flock`` when its process dies, even by ``kill -9``, so a crashed driver never leaves a stale
lock. Two locks of one directory conflict even within one process (each is its own open file).
"""

from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import IO, Any, Optional

from algebraic_nas.errors import AlgebraicNASError

LOCK_FILENAME = "runs.lock"


class RunDirectoryBusy(AlgebraicNASError, RuntimeError):
    """Another search driver holds the run directory (the message names it and the process)."""


def _try_lock(f: IO[str]) -> bool:
    import fcntl

    try:
        fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except OSError:
        return False


def _owner(f: IO[str]) -> str:
    f.seek(0)
    return f.read().strip() or "an unknown process"


def busy_message(run_dir: Path, owner: str) -> str:
    return (f"run directory {str(run_dir)!r} is in use by another search driver (pid {owner}); "
            "wait for it to end or use another run_dir")


class DriverLock:
    """The driver lock of ``run_dir``: :meth:`acquire` (creating the directory if needed)
    raises :class:`RunDirectoryBusy` when another driver holds it; :meth:`release` or the end of
    the process frees it. Also a context manager."""

    def __init__(self, run_dir: str | os.PathLike) -> None:
        self.run_dir = Path(run_dir)
        self.path = self.run_dir / LOCK_FILENAME
        self._file: Optional[IO[str]] = None

    def acquire(self) -> "DriverLock":
        if self._file is not None:
            return self
        try:
            import fcntl  # noqa: F401
        except ImportError:  # pragma: no cover - not POSIX: no protection
            return self
        self.run_dir.mkdir(parents=True, exist_ok=True)
        f = open(self.path, "a+")
        if not _try_lock(f):
            owner = _owner(f)
            f.close()
            raise RunDirectoryBusy(busy_message(self.run_dir, owner))
        f.seek(0)
        f.truncate()
        f.write(f"{os.getpid()} on {socket.gethostname()}")
        f.flush()
        self._file = f
        return self

    def release(self) -> None:
        if self._file is not None:
            self._file.close()  # closing the file releases the flock
            self._file = None

    def __enter__(self) -> "DriverLock":
        return self.acquire()

    def __exit__(self, *exc: Any) -> None:
        self.release()


def lock_holder(run_dir: str | os.PathLike) -> Optional[str]:
    """``"PID on HOST"`` of the driver holding ``run_dir`` now, ``None`` if none does; creates
    and writes nothing (a check before a command writes into the directory; the lock itself is
    what decides)."""
    path = Path(run_dir) / LOCK_FILENAME
    try:
        f = open(path, "r")
    except OSError:  # no lock file: no driver ever ran here
        return None
    try:
        import fcntl

        if _try_lock(f):
            fcntl.flock(f.fileno(), fcntl.LOCK_UN)
            return None
        return _owner(f)
    except ImportError:  # pragma: no cover - not POSIX
        return None
    finally:
        f.close()
