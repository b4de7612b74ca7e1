"""A plugin module (imported through ``ALGEBRAIC_NAS_PLUGINS``) that registers a dataset: used to
check that worker processes import plugins before they evaluate."""

from __future__ import annotations

import numpy as np

from algebraic_nas.assembly import InputSpec
from algebraic_nas.evaluation import ImageDataset, register_dataset


def _load(data_root):
    rng = np.random.default_rng(0)
    split = lambda n: (rng.normal(size=(n, 1, 8, 8)).astype(np.float32), np.arange(n) % 2)
    return ImageDataset.from_arrays("plugin_noise", 2, train=split(32), valid=split(16), test=split(16))


register_dataset("plugin_noise", _load, spec=InputSpec(1, 8, 2))
