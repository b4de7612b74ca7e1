"""Kernel specs: parsing, the kernel built for a training set, and the tuned flat WL depth."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from algebraic_nas.surrogate.graphs import TermGraphs
from algebraic_nas.surrogate.kernel_spec import build_kernel, parse_kernel_spec, set_flat_h
from algebraic_nas.surrogate.wl import WLFeaturizer, cross_inner, normalised_kernel
from algebraic_nas.surrogate.wl_kernels import HierarchicalWLKernel, WLKernel

from surrogate_fakes import fake_terms


@pytest.mark.parametrize(
    "spec, names, op",
    [("hwl", ["hwl"], "+"), ("hwl+values", ["hwl", "values"], "+"), ("wl * nasbot", ["wl", "nasbot"], "*")],
)
def test_specs_parse(spec, names, op):
    assert parse_kernel_spec(spec) == (names, op)


@pytest.mark.parametrize(
    "spec, message",
    [("", "non-empty"), ("wl+nasbot*values", "mix"), ("hwl+wl", "at most one"), ("wl+rbf", "unknown part")],
)
def test_bad_specs_are_named(spec, message):
    with pytest.raises(ValueError, match=message):
        parse_kernel_spec(spec)


def _wl_gram(graphs, h):
    x = WLFeaturizer(h).transform(graphs)
    s = x.self_inner()
    return normalised_kernel(cross_inner(x, x), s, s)


def test_hwl_is_the_equal_weight_mean_of_component_kernels_at_default_depths():
    terms, table, fn = fake_terms(seed=1, n=12, n_folds=2)
    kernel, tuned, points = build_kernel(
        ["hwl"], "+", TermGraphs(graph_fn=fn), terms, (3, 0), None, "successors", torch.device("cpu"), torch.float64
    )
    assert isinstance(kernel, HierarchicalWLKernel) and tuned is kernel
    assert tuned.hs == [3, 1, 2]  # flat at flat_hs[0]; coarsest fold 1, finer folds 2
    x = points.train_x()
    with torch.no_grad():
        got = kernel(x).to_dense().numpy()
    want = sum(_wl_gram([table[t][j] for t in terms], h) for j, h in enumerate((3, 1, 2))) / 3
    np.testing.assert_allclose(got, want, rtol=1e-12)
    set_flat_h(tuned, 0)  # the grid over flat depths only touches component 0
    assert tuned.hs == [0, 1, 2]


def test_wl_depth_is_tunable_within_the_computed_features():
    terms, table, fn = fake_terms(seed=2, n=8, n_folds=1)
    kernel, tuned, points = build_kernel(
        ["wl"], "+", TermGraphs(graph_fn=fn), terms, (1, 4), None, "successors", torch.device("cpu"), torch.float64
    )
    assert isinstance(tuned, WLKernel) and tuned.h == 1
    set_flat_h(tuned, 4)
    with torch.no_grad():
        got = kernel(points.train_x()).to_dense().numpy()
    np.testing.assert_allclose(got, _wl_gram([table[t][0] for t in terms], 4), rtol=1e-12)
