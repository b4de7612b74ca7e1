"""``python -m algebraic_nas.search [overrides]``: run or resume an architecture search.

    python -m algebraic_nas.search                                   # BANAT, hnb201, digits
    python -m algebraic_nas.search strategy=evolution n_workers=2    # 2 Dask workers
    python -m algebraic_nas.search grammar.name=./my_space.ebnf budget.evaluations=100
    python -m algebraic_nas.search run_dir=runs/a                    # again: resumes runs/a
    python -m algebraic_nas.search --cfg job                         # print the composed config

Config groups (``algebraic_nas/conf``): grammar, dataset, protocol; strategy and executor are
generated from their registries (``--help`` lists them, and what every key means). A strategy or executor registered in
your own module is selectable once the module is named in ``ALGEBRAIC_NAS_PLUGINS``::

    ALGEBRAIC_NAS_PLUGINS=my_strategies python -m algebraic_nas.search strategy=my_search

A mistake in the configuration (``budget.evaluations=0``, ``device=gpu``, a dataset whose files
are missing, a grammar that cannot be built, ...) and a run directory another driver holds are
reported in one line, ``error: KEY=VALUE: what is accepted``, with exit status 2, before Hydra
writes anything into the run directory. So are the mistakes Hydra finds while composing the
config (a misspelt key, ``seed=x``, ``strategy=bogus``, a malformed override): the overrides are
composed with Hydra's compose API first (:func:`check_overrides`). The configuration is checked
once, by the ``CheckBeforeRun`` callback, and the run uses the ``RunConfig`` it resolved. The
run's log is ``RUN_DIR/search.log``. Ctrl-C stops the search (the store closed, the workers and
jobs cancelled), prints the command that resumes it and exits with status 130.
"""

from __future__ import annotations

import shlex
import sys
from pathlib import Path
from typing import Sequence

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig

from algebraic_nas.errors import AlgebraicNASError
from algebraic_nas.search.config.compose import check_overrides, checked_config, fail
from algebraic_nas.search.config.schema import register_configs

EXIT_INTERRUPTED = 130  # the shell's status for a process ended by SIGINT

register_configs()


@hydra.main(version_base="1.3", config_path="pkg://algebraic_nas.conf", config_name="search")
def main(cfg: DictConfig) -> None:
    """Hydra entry point: the run directory is Hydra's output directory (``run_dir``)."""
    from algebraic_nas.search.runner import run_search

    run_dir = HydraConfig.get().runtime.output_dir
    try:
        run_search(checked_config(cfg), run_dir)
    except AlgebraicNASError as exc:
        fail(exc)
    except KeyboardInterrupt:  # the runner has closed the store and the executor (workers, jobs)
        print(f"\ninterrupted: the finished evaluations are kept in {run_dir}; resume with\n  "
              f"{resume_command(HydraConfig.get().overrides.task, run_dir)}", file=sys.stderr, flush=True)
        sys.exit(EXIT_INTERRUPTED)


def resume_command(overrides: Sequence[str], run_dir: str) -> str:
    """The command that resumes the run in ``run_dir``: the same overrides with ``run_dir`` set."""
    kept = [o for o in overrides if o.lstrip("+~").split("=", 1)[0] != "run_dir"]
    return shlex.join([sys.executable, "-m", "algebraic_nas.search", *kept,
                       f"run_dir={Path(run_dir).resolve()}"])


if __name__ == "__main__":
    try:
        check_overrides(sys.argv[1:])
    except AlgebraicNASError as exc:
        fail(exc)
    main()
