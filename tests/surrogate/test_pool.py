"""PoolPosterior: fantasies at fixed hyperparameters equal a refit at those hyperparameters."""

from __future__ import annotations

import random

import numpy as np
import pytest

from algebraic_nas.surrogate import GraphGP
from algebraic_nas.surrogate.pool import PoolPosterior
from algebraic_nas.surrogate.wl import WLFeatures, cross_inner
from algebraic_nas.surrogate.wl_hash import HashWLFeaturizer

from surrogate_fakes import count_target, fake_terms, random_dags


@pytest.fixture(scope="module")
def data():
    terms, table, fn = fake_terms(seed=5, n=90, n_folds=2)
    y = np.array([count_target(table[t]) for t in terms])
    return terms, fn, y


def _fit(kernel, fn, terms, y, fast=True):
    return GraphGP(kernel, graph_fn=fn, fast=fast, steps=5).fit(terms, y)


@pytest.mark.parametrize("kernel,fast", [("hwl", True), ("hwl", False), ("wl", True), ("nasbot", True)])
def test_pool_without_fantasies_equals_predict(data, kernel, fast):
    terms, fn, y = data
    gp = _fit(kernel, fn, terms[:40], y[:40], fast)
    mean, var = gp.predict(terms[40:])
    pool = PoolPosterior(gp)
    pool.add(terms[40:60])
    pool.add(terms[55:])  # in two calls, overlapping
    pm, pv = pool.predict(terms[40:])
    np.testing.assert_allclose(pm, mean, rtol=0, atol=1e-8)
    np.testing.assert_allclose(pv, var, rtol=0, atol=1e-8)


@pytest.mark.parametrize("kernel,fast", [("hwl", True), ("hwl", False), ("wl", True), ("nasbot", True)])
def test_fantasies_equal_a_refit_at_the_same_hyperparameters(data, kernel, fast):
    terms, fn, y = data
    train, ytrain = terms[:40], list(y[:40])
    gp = _fit(kernel, fn, train, ytrain, fast)
    pool = PoolPosterior(gp, max_fantasies=2)  # 4 fantasies: the factor's rows grow once
    pool.add(terms[40:70])
    fantasies = [terms[45], terms[52], terms[71], terms[60]]  # terms[71]: not in the pool yet
    values = [None, float(np.log(0.3)), None, float(np.log(0.05))]  # None: Kriging believer
    believed = []
    for t, v in zip(fantasies, values):
        if v is None:
            v = float(pool.predict([t])[0][0])
        believed.append(v)
        pool.condition(t, v)
    pool.add(terms[70:])  # candidates added after the fantasies
    pm, pv = pool.predict(terms[40:])
    ref = gp.refit_fixed(train + fantasies, ytrain + [float(np.exp(v)) for v in believed])
    rm, rv = ref.predict(terms[40:])
    np.testing.assert_allclose(pm, rm, rtol=0, atol=1e-8)
    np.testing.assert_allclose(pv, rv, rtol=0, atol=1e-8)


def test_kriging_believer_keeps_the_mean_and_shrinks_the_variance(data):
    terms, fn, y = data
    gp = _fit("hwl", fn, terms[:40], y[:40])
    pool = PoolPosterior(gp)
    pool.add(terms[40:])
    m0, v0 = pool.values()
    pool.condition(terms[50])  # at its posterior mean
    m1, v1 = pool.values()
    np.testing.assert_allclose(m1, m0, rtol=0, atol=1e-10)
    assert np.all(v1 <= v0 + 1e-12)
    k = pool.index[terms[50]]
    assert v1[k] < v0[k]


def test_pool_on_hnb201_terms_equals_refit():
    from algebraic_nas.grammar import load_grammar

    g = load_grammar("hnb201")
    rng = random.Random(0)
    terms = list(dict.fromkeys(g.sample(rng) for _ in range(45)))
    ys = [0.2 + 0.5 * rng.random() for _ in terms]
    gp = GraphGP("hwl", grammar=g, steps=3).fit(terms[:15], ys[:15])
    pool = PoolPosterior(gp)
    pool.add(terms[15:30])
    pool.condition(terms[20])
    pool.condition(terms[40], float(np.log(0.1)))
    pool.add(terms[30:])
    pm, pv = pool.predict(terms[15:])
    believed = [float(np.exp(gp.predict([terms[20]])[0][0]))]  # gp.predict: the pool is done
    ref = gp.refit_fixed(terms[:15] + [terms[20], terms[40]], ys[:15] + believed + [0.1])
    rm, rv = ref.predict(terms[15:])
    np.testing.assert_allclose(pm, rm, rtol=0, atol=1e-8)
    np.testing.assert_allclose(pv, rv, rtol=0, atol=1e-8)


def test_overlay_gives_unseen_labels_one_id_space():
    dags = random_dags(seed=2, n=60)
    f = HashWLFeaturizer(3)
    f.transform(dags[:10], grow=True)
    overlay = f.overlay()
    a = f.transform(dags[10:35], grow=False, overlay=overlay)
    b = f.transform(dags[35:], grow=False, overlay=overlay)
    both = WLFeatures.concat([a, b], keep_unseen=True)
    one = f.transform(dags[10:], grow=False)
    np.testing.assert_array_equal(cross_inner(both, both), cross_inner(one, one))
    f.transform(dags[:12], grow=True)  # the vocabulary grows: the overlay is stale
    with pytest.raises(RuntimeError, match="overlay"):
        f.transform(dags[40:], grow=False, overlay=overlay)
