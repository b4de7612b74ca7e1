"""The search's ``dataset`` and ``protocol`` config groups are generated from the evaluation
registries: a registered name is an option without any YAML file, and a bad name fails before
a run starts, naming the key and the known names."""

from __future__ import annotations

import pytest
from hydra import compose, initialize_config_module

from algebraic_nas.errors import ConfigError
from algebraic_nas.evaluation import InputSpec, dataset_names, protocol_names, register_dataset, register_protocol
from algebraic_nas.evaluation.data import DATASET_REGISTRY
from algebraic_nas.evaluation.protocols import PROTOCOL_REGISTRY
from algebraic_nas.search.config import register_configs
from algebraic_nas.search.runner import run_search

from .test_registration import _random_blobs


def compose_search(*overrides: str):
    register_configs()
    with initialize_config_module(version_base="1.3", config_module="algebraic_nas.conf"):
        return compose("search", overrides=list(overrides))


def test_every_builtin_is_an_option_and_overrides_still_apply() -> None:
    for name in dataset_names():
        assert compose_search(f"dataset={name}").dataset.name == name
    for name in protocol_names():
        assert compose_search(f"protocol={name}").protocol.name == name
    cfg = compose_search("dataset=clutterdigits", "protocol=tiny", "protocol.epochs=2", "dataset.data_root=/d")
    assert (cfg.dataset.name, cfg.dataset.data_root, cfg.protocol.name, cfg.protocol.epochs) == ("clutterdigits", "/d", "tiny", 2)
    assert compose_search().dataset.name == "digits" and compose_search().protocol.name == "quick"  # the defaults
    with pytest.raises(Exception, match="protocol.epoch"):  # the schema still types every key
        compose_search("protocol.epoch=1")


def test_names_registered_here_are_options_without_a_yaml_file(fresh_cache) -> None:
    register_dataset("blobs_cfg_test", _random_blobs, spec=InputSpec(2, 6, 3))
    register_protocol("short_cfg_test", base="quick", epochs=2)
    try:
        cfg = compose_search("dataset=blobs_cfg_test", "protocol=short_cfg_test")
        assert cfg.dataset.name == "blobs_cfg_test" and cfg.protocol.name == "short_cfg_test"
    finally:
        DATASET_REGISTRY.remove("blobs_cfg_test")
        PROTOCOL_REGISTRY.remove("short_cfg_test")
    with pytest.raises(Exception, match="dataset/bogus"):  # Hydra lists the options itself
        compose_search("dataset=bogus")


VALID = {"grammar": {"name": "toy"}, "dataset": {"name": "digits"}, "protocol": {"name": "tiny"},
         "strategy": {"name": "random"}, "executor": {"kind": "auto"}, "budget": {"evaluations": 1}}


@pytest.mark.parametrize("key, name", [("dataset", "mnist"), ("protocol", "fast")])
def test_an_unknown_dataset_or_protocol_name_fails_before_the_run_starts(tmp_path, key, name) -> None:
    known = {"dataset": "addnist, cifar10", "protocol": "cvprnas, nb201, quick"}[key]
    with pytest.raises(ConfigError, match=rf"{key}.name='{name}': not a registered {key}; known: {known}"):
        run_search({**VALID, key: {"name": name}}, tmp_path / "run")
    assert not (tmp_path / "run").exists()
