"""Strategy and executor registries: a strategy defined in a test module is selectable by name
in a real search; registering twice warns; unknown names fail before a run starts, naming the
key and the known names."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from hydra import compose, initialize_config_module

from algebraic_nas.errors import ConfigError
from algebraic_nas.search.config import register_configs
from algebraic_nas.search.executors import InProcessExecutor, list_executors, make_executor, register_executor
from algebraic_nas.search.executors.registry import EXECUTOR_REGISTRY, InProcessConfig
from algebraic_nas.search.runner import run_search
from algebraic_nas.search.store import Store
from algebraic_nas.search.strategies import RandomSearch, list_strategies, make_strategy, register_strategy
from algebraic_nas.search.strategies.registry import STRATEGY_REGISTRY
from search_fakes import ToyGrammar

HERE = Path(__file__).parent
TINY = str(HERE / "tiny.ebnf")
QUICK = [f"grammar.name={TINY}", "protocol=tiny", "progress=none", "budget.wall_time_s=null", "report=false",
         "evaluation_function=plugin_strategy:length_objective"]


def compose_search(*overrides: str):
    register_configs()
    with initialize_config_module(version_base="1.3", config_module="algebraic_nas.conf"):
        return compose("search", overrides=list(overrides))


def test_a_strategy_registered_in_a_test_module_runs_by_name_from_the_command_line(tmp_path):
    env = dict(os.environ, ALGEBRAIC_NAS_PLUGINS="plugin_strategy",
               PYTHONPATH=os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")]))
    cmd = [sys.executable, "-m", "algebraic_nas.search", *QUICK, "strategy=shortest_of_k", "strategy.k=4",
           "budget.evaluations=3", f"run_dir={tmp_path}"]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=env)
    assert out.returncode == 0, out.stderr[-2000:]
    with Store(tmp_path, readonly=True) as st:
        rows = st.rows()
        config = st.get_meta("config")
    assert [r.strategy for r in rows] == ["shortest_of_k"] * 3 and all(r.status == "done" for r in rows)
    assert config["strategy"] == {"name": "shortest_of_k", "batch_size": 1, "k": 4}
    # its config dataclass is the schema: a misspelt key fails naming it
    bad = subprocess.run(cmd[:-1] + ["strategy.kk=4", f"run_dir={tmp_path / 'bad'}"], capture_output=True,
                         text=True, timeout=180, env=env)
    assert bad.returncode != 0 and "kk" in bad.stderr
    listed = subprocess.run([sys.executable, "-m", "algebraic_nas.cli", "strategies"], capture_output=True, text=True,
                            timeout=180, env=env)
    assert listed.returncode == 0 and "shortest_of_k  The shortest of k random terms" in listed.stdout


def test_a_strategy_registered_in_a_test_module_is_a_hydra_option_for_the_runner(tmp_path):
    import plugin_strategy  # noqa: F401  registers shortest_of_k

    cfg = compose_search(*QUICK, "strategy=shortest_of_k", "strategy.k=2", "budget.evaluations=2")
    assert cfg.strategy.k == 2 and "shortest_of_k" in list_strategies()
    result = run_search(cfg, tmp_path)
    assert result.counts["done"] == 2
    with Store(tmp_path, readonly=True) as st:
        assert {r.strategy for r in st.rows()} == {"shortest_of_k"}


def test_registered_variant_and_aliases():
    g = ToyGrammar()
    s = make_strategy("banat_wl", g)
    assert s.kernel == "wl" and s.name == "banat_wl" and s.config.n_initial == 10  # defaults from BanatConfig only
    assert make_strategy("re", g).name == "evolution"
    assert compose_search("strategy=banat_wl").strategy.kernel == "wl"


def test_registering_a_name_again_warns_and_replaces():
    @dataclass
    class C:
        pass

    class A(RandomSearch):
        config_class = C

    class B(RandomSearch):
        config_class = C

    try:
        register_strategy("twice", A)
        with pytest.warns(UserWarning, match="'twice' registered again"):
            register_strategy("twice", B)
        assert isinstance(make_strategy("twice", ToyGrammar()), B)
    finally:
        STRATEGY_REGISTRY.remove("twice")


def test_an_executor_registered_here_is_selectable():
    @register_executor("serial_test", config=InProcessConfig)
    def _serial(config, n_workers):
        return InProcessExecutor()

    try:
        assert "serial_test" in list_executors()
        assert compose_search("executor=serial_test").executor.kind == "serial_test"
        assert isinstance(make_executor("serial_test", threads=2), InProcessExecutor)
    finally:
        EXECUTOR_REGISTRY.remove("serial_test")


def test_unknown_names_fail_before_the_run_naming_the_key_and_the_known_names(tmp_path):
    cfg = {"grammar": {"name": TINY}, "dataset": {"name": "digits"}, "protocol": {"name": "tiny"},
           "strategy": {"name": "bogus"}, "executor": {"kind": "auto"}, "budget": {"evaluations": 1}}
    with pytest.raises(ConfigError, match=r"strategy.name='bogus': not a registered strategy; known: banat, banat_wl"):
        run_search(cfg, tmp_path / "a")
    cfg["strategy"] = {"name": "random"}
    cfg["executor"] = {"kind": "slurmish"}
    with pytest.raises(ConfigError, match=r"executor.kind='slurmish': not a registered executor; known: auto, dask"):
        run_search(cfg, tmp_path / "b")
    cfg["executor"] = {"kind": "inprocess", "gpus": ["0"]}
    with pytest.raises(ConfigError, match=r"executor.gpus"):
        run_search(cfg, tmp_path / "c")
    cfg["executor"] = {"kind": "auto"}
    cfg["strategy"] = {"name": "evolution", "kernel": "wl"}
    with pytest.raises(ConfigError, match=r"strategy.kernel"):
        run_search(cfg, tmp_path / "d")
    assert not any((tmp_path / d).exists() for d in "abcd")  # nothing started
    with pytest.raises(Exception, match="strategy/bogus"):  # Hydra lists the options itself
        compose_search("strategy=bogus")


def test_listed_descriptions_are_whole_sentences():
    """Issue 23.10: ``algebraic-nas strategies`` cut a docstring at its first line ("...continuing
    promoted terms'"); a registry lists a docstring's first sentence, its lines joined."""
    from algebraic_nas.registry import doc_line
    from algebraic_nas.search.config.commands import describe_components

    class Wrapped:
        """Asynchronous Hyperband (ASHA brackets) with random terms, continuing promoted terms'
        training from checkpoints, e.g. the best third. More detail here."""

    assert doc_line(Wrapped) == ("Asynchronous Hyperband (ASHA brackets) with random terms, continuing promoted "
                                 "terms' training from checkpoints, e.g. the best third.")
    assert doc_line(Wrapped, "given") == "given"
    for line in describe_components().splitlines():
        if line.startswith("  "):  # "  NAME  description (aliases: ...)"
            description = line.split(" (aliases:")[0].rstrip()
            assert description.endswith((".", ")")), line
