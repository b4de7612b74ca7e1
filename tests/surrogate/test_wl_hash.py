"""The fast surrogate path (issue 16) computes the same model as the straightforward one.

* hashed WL labels give bit-for-bit the inner products of sorted signatures (and grakel's
  kernel, through tests/surrogate/test_wl.py's reference for the sorted featuriser);
* the training Gram extended from a previous fit equals one computed from scratch;
* fold graphs shared by key are the graphs the block builder makes;
* a GraphGP on the fast path predicts what the straightforward one predicts, and a warm start
  reaches at least the cold fit's marginal likelihood.
"""

from __future__ import annotations

import random

import numpy as np
import pytest

from algebraic_nas.surrogate import GraphGP, TermGraphs
from algebraic_nas.surrogate.wl import WLFeatures, WLFeaturizer, cross_inner
from algebraic_nas.surrogate.wl_hash import HashWLFeaturizer

from surrogate_fakes import count_target, fake_terms, random_dag, random_dags


@pytest.mark.parametrize("direction", ["successors", "predecessors", "undirected"])
def test_hashed_labels_give_the_sorted_featurisers_inner_products(direction):
    rng = random.Random(5)
    fit = random_dags(seed=1, n=40)
    new = [random_dag(rng, ops=("conv3x3", "sep5x5", "gelu")) for _ in range(15)] + fit[:3]
    feats = {}
    for cls in (WLFeaturizer, HashWLFeaturizer):
        f = cls(3, direction)
        a = WLFeatures.concat([f.transform(fit[:25]), f.transform(fit[25:])])  # a growing vocabulary
        b = f.transform(new, grow=False)
        feats[cls] = (cross_inner(a, a), a.self_inner(), cross_inner(b, a), cross_inner(b, b), b.self_inner(),
                      f.vocab_sizes)
    for x, y in zip(feats[WLFeaturizer], feats[HashWLFeaturizer]):
        np.testing.assert_array_equal(x, y)  # integer counts: equal, not just close


def test_hashed_query_depth_is_a_prefix_of_the_full_features():
    dags = random_dags(seed=2, n=30)
    f = HashWLFeaturizer(4)
    a = f.transform(dags[:20])
    full = f.transform(dags[20:], grow=False)
    short = f.transform(dags[20:], grow=False, h=2)
    assert short.h == 2
    np.testing.assert_array_equal(cross_inner(short, a), cross_inner(full, a, 2))
    np.testing.assert_array_equal(short.self_inner(), full.self_inner()[:3])
    with pytest.raises(ValueError, match="h=5 outside 0..4"):
        f.transform(dags, h=5)


def test_extended_gram_equals_gram_from_scratch():
    terms, table, fn = fake_terms(seed=4, n=50, n_folds=1)
    shared = TermGraphs(graph_fn=fn)
    shared.wl_grams(terms[:30], 0, 3)  # the previous fit
    # a later fit: most terms known (in another order), some new, some dropped
    later = terms[35:45] + terms[20:30][::-1] + terms[:10]
    _, feats, cum, self_cum = shared.wl_grams(later, 0, 3)
    fresh = TermGraphs(graph_fn=fn)
    _, f2, cum2, self2 = fresh.wl_grams(later, 0, 3)
    np.testing.assert_array_equal(cum, cum2)
    np.testing.assert_array_equal(self_cum, self2)
    np.testing.assert_array_equal(cum, np.cumsum(cross_inner(feats, feats), axis=0))
    with pytest.raises(ValueError, match="labels must be one of"):
        shared.wl_grams(later, 0, 3, labels="sideways")


def test_fast_and_straightforward_gp_agree():
    terms, table, fn = fake_terms(seed=6, n=60, n_folds=2)
    y = np.array([count_target(table[t]) for t in terms])
    shared = TermGraphs(graph_fn=fn)
    GraphGP("hwl", graphs=shared, flat_hs=(1, 3)).fit(terms[:30], y[:30])  # fills the Gram cache
    fast = GraphGP("hwl", graphs=shared, flat_hs=(1, 3)).fit(terms[:40], y[:40])
    slow = GraphGP("hwl", graph_fn=fn, flat_hs=(1, 3), fast=False).fit(terms[:40], y[:40])
    assert fast.h == slow.h
    assert fast.loss_ == pytest.approx(slow.loss_, rel=1e-9)
    for a, b in zip(fast.predict(terms[40:]), slow.predict(terms[40:])):
        np.testing.assert_allclose(a, b, rtol=1e-8, atol=1e-10)
    # the query features were computed only to the depths the fitted kernel uses
    flat = fast.model.covar_module.sources[0]
    assert flat.query_h == fast.h and flat.query_feats.h == fast.h


def test_warm_start_starts_from_the_previous_optimum():
    terms, table, fn = fake_terms(seed=7, n=60, n_folds=2)
    y = np.array([count_target(table[t]) for t in terms])
    shared = TermGraphs(graph_fn=fn)
    before = GraphGP("hwl", graphs=shared, flat_hs=(1, 2)).fit(terms[:49], y[:49])
    assert set(before.states_) == {1, 2}
    cold = GraphGP("hwl", graphs=shared, flat_hs=(1, 2)).fit(terms[:50], y[:50])
    warm = GraphGP("hwl", graphs=shared, flat_hs=(1, 2)).fit(terms[:50], y[:50], warm_start=before.states_)
    # the previous optimum is a far better start than the defaults: fewer loss evaluations, and
    # an optimum at least as good (up to the optimiser's tolerance)
    assert sum(map(len, warm.history_.values())) < sum(map(len, cold.history_.values()))
    assert warm.loss_ <= cold.loss_ + 1e-4
    # the first evaluated iterate is the previous optimum, not the default start
    assert warm.history_[1][0] < cold.history_[1][0]


def test_split_query_product_equals_per_iteration_products():
    """The query x training block (dense product for labels most training terms share, sparse
    for the rest) equals the per-iteration sparse products exactly."""
    terms, table, fn = fake_terms(seed=8, n=80, n_folds=1)
    y = np.array([count_target(table[t]) for t in terms])
    gp = GraphGP("hwl", graph_fn=fn, flat_hs=(3,)).fit(terms[:64], y[:64])
    gp.predict(terms[64:])
    for src in gp.model.covar_module.sources:
        h = src.query_feats.h
        got = src._query_train_raw(h)
        pos, dense, _ = src._split_cache[("split", h)]
        assert 0 < dense.shape[0] < len(pos)  # both paths are exercised
        np.testing.assert_array_equal(got, cross_inner(src.query_feats, src.train_feats, h).sum(axis=0))
