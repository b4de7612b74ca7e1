"""Evaluation: datasets, training protocols, the trainer and the evaluation record.

    from algebraic_nas.evaluation import evaluate
    rec = evaluate(term="Linear3(...)", grammar="hnb201", dataset="digits", protocol="quick",
                   seed=0, device="cpu", data_root=None, overrides={"epochs": 3})
    rec.outcome, rec.valid_error, rec.to_dict()

* Datasets (:mod:`.data`): ``cifar10``, ``cifar100``, ``imagenet16-120``, ``addnist``,
  ``cifartile`` from local files under ``data_root`` / ``$ALGEBRAIC_NAS_DATA`` / ``./data``
  (never downloaded); embedded ``digits`` and the harder ``clutterdigits`` (:mod:`.embedded`).
  ``get_dataset_spec(name)`` gives the ``InputSpec(channels, resolution, classes)`` without
  loading data; the dataset registry is the one table of datasets (the assembler has none).
* Protocols (:mod:`.protocols`): ``nb201``, ``cvprnas`` (NAS-Bench-201's and the CVPR-NAS 2021 competition's), ``quick`` and ``tiny``;
  ``get_protocol(name, **overrides)``.
* Objectives (:mod:`.objectives`): ``valid_error``, ``params``, ``flops``, ``latency_ms``,
  ``peak_memory_mb``; every evaluation fills ``record.objectives`` with those it measured.
* Extension is registration: ``register_dataset(name, loader, spec=...)``,
  ``register_protocol(name, base=..., **fields)``, ``register_objective(name, measure, unit=...)``
  (each warns when a name is registered again and lists its names: ``dataset_names()``,
  ``protocol_names()``, ``objective_names()``); the search's ``dataset`` and ``protocol``
  config groups are generated from the registries.
* Trainer (:mod:`.trainer`): data and augmentation on the device, bf16 / channels_last /
  ``torch.compile`` options on CUDA, seeded; divergence, out-of-memory (retried with gradient
  accumulation) and exceptions become ``outcome="failed"`` records (:mod:`.record`).
* :func:`evaluate_model` runs the same pipeline for any ``factory(InputSpec) -> nn.Module``.
* Devices (:mod:`.devices`): ``resolve_device("auto")`` → ``cuda`` when visible, else ``cpu``.
"""

from algebraic_nas.assembly.shapes import InputSpec

from .builtin_datasets import register_builtin_datasets
from .data import (
    DATASETS,
    DatasetInfo,
    ImageDataset,
    Split,
    clear_cache,
    dataset_names,
    default_data_root,
    get_dataset,
    get_dataset_info,
    get_dataset_spec,
    register_dataset,
)
from .devices import resolve_device
from .evaluate import count_stats, evaluate, evaluate_model
from .files import DatasetError, DatasetFileNotFoundError
from .objectives import (
    MeasureContext,
    Objective,
    get_objective,
    measure_objectives,
    objective_names,
    register_builtin_objectives,
    register_objective,
)
from .protocols import PROTOCOLS, Protocol, get_protocol, protocol_names, register_protocol
from .record import EvaluationRecord
from .trainer import TrainResult, train

register_builtin_datasets()
register_builtin_objectives()

__all__ = [
    "DATASETS", "DatasetError", "DatasetFileNotFoundError", "DatasetInfo", "EvaluationRecord", "ImageDataset",
    "InputSpec", "MeasureContext", "Objective", "PROTOCOLS", "Protocol", "Split", "TrainResult", "clear_cache",
    "count_stats", "dataset_names", "default_data_root", "evaluate", "evaluate_model", "get_dataset",
    "get_dataset_info", "get_dataset_spec", "get_objective", "get_protocol", "measure_objectives",
    "objective_names", "protocol_names", "register_dataset", "register_objective", "register_protocol",
    "resolve_device", "train",
]
