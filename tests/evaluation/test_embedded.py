"""The embedded offline datasets: fixed documented splits, deterministic generation."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from algebraic_nas.evaluation import DATASETS, get_dataset, get_dataset_spec
from algebraic_nas.evaluation import embedded
from algebraic_nas.evaluation.data import stratified_split


def test_digits_split_is_fixed_and_disjoint() -> None:
    ds = get_dataset("digits")
    assert ds.spec == (1, 8, 10) == get_dataset_spec("digits")
    assert (len(ds.train), len(ds.valid), len(ds.test)) == (1078, 360, 359)
    rows = {split: {tuple(r) for r in getattr(ds, split).x.flatten(1).numpy().round(4)} for split in ("train", "valid", "test")}
    # the digits set has a few duplicate images; the splits must share (almost) none
    assert len(rows["train"] & rows["valid"]) <= 3 and len(rows["train"] & rows["test"]) <= 3
    for split in (ds.train, ds.valid, ds.test):
        counts = np.bincount(split.y.numpy(), minlength=10)
        assert counts.min() >= 0.9 * counts.mean()  # stratified
    again = embedded.digits_splits()
    assert np.array_equal(again["valid"][1], ds.valid.y.numpy())


def test_clutterdigits_is_deterministic_and_labelled_by_the_target() -> None:
    a, b = embedded.clutterdigits_splits(), embedded.clutterdigits_splits()
    for split, n in embedded.CLUTTER_SIZES.items():
        assert np.array_equal(a[split][0], b[split][0]) and np.array_equal(a[split][1], b[split][1])
        x, y = a[split]
        assert x.shape == (n, 1, 8, 8) and x.dtype == np.float32 and 0.0 <= x.min() and x.max() <= 1.0
        assert set(np.unique(y)) == set(range(10))
    assert get_dataset_spec("clutterdigits") == get_dataset("clutterdigits").spec
    # the label is the bright digit: clean-digit class centroids recognise it far above chance
    clean_x, clean_y = embedded.digits_splits()["train"]
    centroids = np.stack([clean_x[clean_y == c].reshape(-1, 64).mean(0) for c in range(10)])
    x, y = a["train"]
    dist = ((x.reshape(len(x), 1, 64) - centroids[None]) ** 2).sum(-1)
    assert (dist.argmin(1) == y).mean() > 0.25


def test_every_spec_is_declared_without_loading() -> None:
    for name, info in DATASETS.items():
        assert get_dataset_spec(name) == (info.channels, info.resolution, info.classes)
    assert get_dataset_spec("CIFAR-10") == (3, 32, 10)
    assert get_dataset_spec("imagenet16-120") == (3, 16, 120)


@settings(max_examples=40, deadline=None)
@given(labels=st.lists(st.integers(0, 4), min_size=1, max_size=60), seed=st.integers(0, 5))
def test_stratified_split_partitions(labels: list[int], seed: int) -> None:
    y = np.array(labels)
    parts = stratified_split(y, (0.6, 0.2, 0.2), seed)
    joined = np.concatenate(parts)
    assert sorted(joined.tolist()) == list(range(len(y)))  # a partition
    assert [len(p) for p in parts] == [len(p) for p in stratified_split(y, (0.6, 0.2, 0.2), seed)]
    for p, f in zip(parts, (0.6, 0.2, 0.2)):
        assert abs(len(p) - f * len(y)) <= 1
        for c in np.unique(y):
            assert abs((y[p] == c).sum() - f * (y == c).sum()) < 2  # less than one per cut (a middle part has two)
    again = stratified_split(y, (0.6, 0.2, 0.2), seed)
    assert all(np.array_equal(a, b) for a, b in zip(parts, again))
