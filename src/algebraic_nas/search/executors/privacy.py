"""A search's run directory is its user's alone.

The run directory holds the store (every evaluated architecture and its results), checkpoints
(trained weights), logs, the report and, for batch-system executors, the temporary TLS
certificate; on a cluster it lives on a file system every user of the cluster can read. A new
run directory is therefore made (or, when Hydra has just created it, narrowed to) mode 0700:
nothing inside can be read or listed by other users, whatever the modes of the files in it
(they keep the user's umask). A directory that already holds a search, or other files
(``run_dir=.``), keeps the mode its owner gave it (``chmod -R g+rX RUN_DIR`` shares a run with
one's group and survives a resume).
"""

from __future__ import annotations

import dataclasses
import logging
import os
import stat
from pathlib import Path
from typing import Any, Mapping

log = logging.getLogger(__name__)

STORE_FILE = "runs.sqlite"  # a run directory holding it already holds a search
HYDRA_FILES = {".hydra", "search.log"}  # what Hydra writes into the run directory before the search starts


def private_run_dir(run_dir: str | os.PathLike, executor: Mapping[str, Any]) -> dict:
    """Create ``run_dir`` with mode 0700 (or narrow one this user owns that holds only what Hydra
    just wrote to 0700; a directory holding other files but no search keeps its mode, with a
    warning), and return the ``executor`` settings with ``tls_directory`` defaulting to it
    for executors that write a temporary certificate (the run directory is on the file system
    the jobs share)."""
    from algebraic_nas.search.executors.registry import get_executor

    path = Path(run_dir)
    if not path.exists():
        path.mkdir(mode=0o700, parents=True)
    st = path.stat()
    if stat.S_IMODE(st.st_mode) & 0o077:
        # only what Hydra wrote a moment ago: never narrow a directory the user already uses (run_dir=.)
        fresh = set(os.listdir(path)) <= HYDRA_FILES
        if fresh and st.st_uid == os.geteuid():
            path.chmod(0o700)
        elif not (path / STORE_FILE).exists():
            log.warning("run directory %s (mode %o) holds other files and stays readable by other users: "
                        "chmod 700 it to keep the run private", path, stat.S_IMODE(st.st_mode))
    out = dict(executor)
    fields = {f.name for f in dataclasses.fields(get_executor(out.get("kind", "auto")).config)}
    if "tls_directory" in fields and not out.get("tls_directory"):
        out["tls_directory"] = str(path.resolve())
    return out
