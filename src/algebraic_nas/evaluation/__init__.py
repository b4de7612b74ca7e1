"""Evaluation: datasets, training protocols, the trainer and the evaluation record.

    from algebraic_nas.evaluation import evaluate
    rec = evaluate(term="Linear3(...)", grammar="hnb201", dataset="digits", protocol="quick",
                   seed=0, device="cpu", data_root=None, overrides={"epochs": 3})
    rec.outcome, rec.valid_error, rec.to_dict()

* Datasets (:mod:`.data`): ``cifar10``, ``cifar100``, ``imagenet16-120``, ``addnist``,
  ``cifartile`` from local files under ``data_root`` / ``$ALGEBRAIC_NAS_DATA`` / ``./data``
  (never downloaded); embedded ``digits`` and the harder ``clutterdigits`` (:mod:`.embedded`).
  ``get_dataset_spec(name)`` gives the ``InputSpec(channels, resolution, classes)`` without
  loading data; ``DATASETS`` is the one table of datasets (the assembler has none).
* Protocols (:mod:`.protocols`): ``nb201``, ``cvprnas`` (REFERENCE §6) and ``quick``;
  ``get_protocol(name, **overrides)``.
* Trainer (:mod:`.trainer`): data and augmentation on the device, bf16 / channels_last /
  ``torch.compile`` options on CUDA, seeded; divergence, out-of-memory (retried with gradient
  accumulation) and exceptions become ``outcome="failed"`` records (:mod:`.record`).
* :func:`evaluate_model` runs the same pipeline for any ``factory(InputSpec) -> nn.Module``.
* Devices (:mod:`.devices`): ``resolve_device("auto")`` → ``cuda`` when visible, else ``cpu``.
"""

from algebraic_nas.assembly.shapes import InputSpec

from .data import (
    DATASETS,
    ImageDataset,
    Split,
    clear_cache,
    dataset_names,
    default_data_root,
    get_dataset,
    get_dataset_spec,
)
from .devices import resolve_device
from .evaluate import count_stats, evaluate, evaluate_model
from .files import DatasetError, DatasetFileNotFoundError
from .protocols import PROTOCOLS, Protocol, get_protocol, protocol_names
from .record import EvaluationRecord
from .trainer import TrainResult, train

__all__ = [
    "DATASETS", "DatasetError", "DatasetFileNotFoundError", "EvaluationRecord", "ImageDataset", "InputSpec",
    "PROTOCOLS", "Protocol", "Split", "TrainResult", "clear_cache", "count_stats", "dataset_names",
    "default_data_root", "evaluate", "evaluate_model", "get_dataset", "get_dataset_spec", "get_protocol",
    "protocol_names", "resolve_device", "train",
]
