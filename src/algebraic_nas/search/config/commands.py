"""The configuration's command-line commands: ``algebraic-nas strategies`` (what
``strategy=NAME`` / ``executor=NAME`` accept) and ``algebraic-nas cluster-script`` (the job
script the search configured by the same overrides would submit)."""

from __future__ import annotations

from algebraic_nas.errors import ConfigError
from algebraic_nas.search.config.settings import resolve_config


def describe_components() -> str:
    """The registered strategies and executors (plugins loaded first), one per line with its
    one-line description: what ``strategy=NAME`` / ``executor=NAME`` accept."""
    from algebraic_nas.search.executors import executor_entries
    from algebraic_nas.search.strategies import strategy_entries

    from algebraic_nas.search.config.plugins import load_plugins

    load_plugins()
    lines = ["strategies (strategy=NAME):"]
    lines += [f"  {e.name:<14} {e.doc}" + (f" (aliases: {', '.join(e.aliases)})" if e.aliases else "") for e in strategy_entries()]
    lines.append("executors (executor=NAME):")
    lines += [f"  {e.name:<14} {e.doc}" for e in executor_entries()]
    return "\n".join(lines)


def cluster_script(overrides: list[str]) -> str:
    """``algebraic-nas cluster-script OVERRIDES``: the job script the search configured by the
    same overrides as ``python -m algebraic_nas.search`` would submit, with a comment after the
    shebang saying how many jobs and workers (:class:`ConfigError` for an executor without job scripts)."""
    from omegaconf import OmegaConf

    from algebraic_nas.search.config.compose import check_overrides
    from algebraic_nas.search.config.schema import register_configs
    from algebraic_nas.search.executors.jobqueue import job_counts, workers_per_job
    from algebraic_nas.search.executors.registry import get_executor

    register_configs()
    composed = check_overrides(list(overrides))  # composed once; Hydra's errors as one ConfigError line
    if composed is None:
        raise ConfigError(f"{' '.join(overrides)}: cluster-script takes overrides KEY=VALUE only")
    cfg = OmegaConf.to_container(OmegaConf.masked_copy(composed, [k for k in composed if k != "hydra"]),
                                 resolve=True)
    ex = dict(cfg.get("executor") or {})
    kind = ex.pop("kind", "auto")
    entry = get_executor(kind)
    if entry.script is None:
        raise ConfigError(f"executor={kind} submits no job script (executor=slurm or executor=pbs do)")
    config = resolve_config(entry.config, None, ex, where="executor")
    jobs, adaptive, slots = job_counts(config, int(cfg.get("n_workers", 1)))
    how = f"{jobs} such jobs" if adaptive is None else f"between {adaptive[0]} and {adaptive[1]} such jobs (adaptive)"
    per_job = workers_per_job(config)
    note = (f"# executor={kind}: {how}, {per_job} single-threaded worker{'s' if per_job > 1 else ''} each, {slots} "
            "evaluations at a time; the driver fills in the scheduler address")
    shebang, _, body = entry.script(config).partition("\n")
    return f"{shebang}\n{note}\n{body}"
