"""GraphGP: the marginal likelihood against numpy, the optimiser's best iterate, predictions."""

from __future__ import annotations

import math

import gpytorch
import numpy as np
import pytest
import torch
from scipy.stats import kendalltau

from algebraic_nas.grammar.term import Term
from algebraic_nas.surrogate import GraphGP, TermGraphs
from algebraic_nas.surrogate.kernels import HierarchicalWLKernel
from algebraic_nas.surrogate.wl import WLFeaturizer, cross_inner, normalised_kernel

from surrogate_fakes import count_target, fake_terms


def numpy_wl_gram(graphs, h):
    f = WLFeaturizer(h)
    x = f.transform(graphs)
    s = x.self_inner()
    return normalised_kernel(cross_inner(x, x), s, s)


def numpy_log_ml(k, y):
    """Brute force: log N(y | 0, K) with an explicit inverse and determinant."""
    n = len(y)
    sign, logdet = np.linalg.slogdet(k)
    assert sign > 0
    return -0.5 * y @ np.linalg.inv(k) @ y - 0.5 * logdet - 0.5 * n * math.log(2 * math.pi)


@pytest.fixture(scope="module")
def data():
    terms, table, fn = fake_terms(seed=3, n=70, n_folds=2)
    y = np.array([count_target(table[t]) for t in terms])
    return terms, table, fn, y


def test_marginal_likelihood_equals_bruteforce(data):
    terms, table, fn, y = data
    terms, y = terms[:9], y[:9]
    gp = GraphGP("hwl", graph_fn=fn, flat_hs=(2,), fold_hs=(1, 2), steps=3, optimizer="adam").fit(terms, y)
    kern = gp.model.covar_module
    assert isinstance(kern, HierarchicalWLKernel)
    with torch.no_grad():  # move away from the fitted values: a generic point of the likelihood
        kern.raw_weights.copy_(torch.tensor([0.3, -1.0, 0.7], dtype=torch.float64))
        gp.model.likelihood.noise = torch.tensor(0.037, dtype=torch.float64)
    w = np.exp([0.3, -1.0, 0.7]) / np.exp([0.3, -1.0, 0.7]).sum()
    grams = [numpy_wl_gram([table[t][j] for t in terms], h) for j, h in enumerate((2, 1, 2))]
    k = sum(wj * g for wj, g in zip(w, grams)) + 0.037 * np.eye(len(terms))
    ylog = np.log(y)
    ys = (ylog - ylog.mean()) / ylog.std()
    np.testing.assert_allclose(gp.log_marginal_likelihood(), numpy_log_ml(k, ys) / len(terms), rtol=1e-9)


def test_best_iterate_is_kept_and_h_is_the_best(data):
    terms, table, fn, y = data
    gp = GraphGP("wl", graph_fn=fn, flat_hs=(0, 1, 2), optimizer="adam").fit(terms[:30], y[:30])
    # every h ran 20 Adam steps: 21 evaluated iterates (the final parameters included)
    assert all(len(v) == 21 for v in gp.history_.values())
    best = min(min(v) for v in gp.history_.values())
    assert gp.loss_ == pytest.approx(best)
    assert gp.h == min(gp.history_, key=lambda h: min(gp.history_[h]))
    assert -gp.log_marginal_likelihood() == pytest.approx(best, rel=1e-9)
    lo, hi = gp.noise_bounds
    assert lo <= gp.noise <= hi


def test_lbfgs_keeps_the_best_evaluated_iterate(data):
    terms, table, fn, y = data
    gp = GraphGP("hwl", graph_fn=fn, optimizer="lbfgs", flat_hs=(1,)).fit(terms[:30], y[:30])
    hist = gp.history_[1]
    assert gp.loss_ == pytest.approx(min(hist)) and gp.loss_ < hist[0]
    assert -gp.log_marginal_likelihood() == pytest.approx(gp.loss_, rel=1e-9)


def test_predict_matches_gpytorch_posterior(data):
    terms, table, fn, y = data
    gp = GraphGP("hwl", graph_fn=fn, flat_hs=(1, 2)).fit(terms[:25], y[:25])
    mean, var = gp.predict(terms[25:40])
    model = gp.model
    model.eval()
    with torch.no_grad(), gpytorch.settings.fast_pred_var(False), gpytorch.settings.max_cholesky_size(10**6):
        post = model(gp.points.query_x())
        m_ref = post.mean.numpy() * gp.y_std + gp.y_mean
        v_ref = post.variance.numpy() * gp.y_std**2
    np.testing.assert_allclose(mean, m_ref, rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(var, v_ref, rtol=1e-6, atol=1e-9)
    assert np.all(var >= 0)


def test_predict_in_batches_equals_one_batch_and_needs_no_refit(data):
    terms, table, fn, y = data
    gp = GraphGP("hwl", graph_fn=fn).fit(terms[:30], y[:30])
    hyper = gp.hyperparameters()
    m_all, v_all = gp.predict(terms[30:])
    parts = [gp.predict(terms[k : k + 7]) for k in range(30, 70, 7)]
    np.testing.assert_allclose(m_all, np.concatenate([p[0] for p in parts]), atol=1e-10)
    np.testing.assert_allclose(v_all, np.concatenate([p[1] for p in parts]), atol=1e-10)
    assert gp.hyperparameters() == hyper


@pytest.mark.parametrize("kernel", ["wl", "hwl", "nasbot"])
def test_kernels_learn_a_structure_driven_target(data, kernel):
    terms, table, fn, y = data
    gp = GraphGP(kernel, graph_fn=fn).fit(terms[:50], y[:50])
    mean, var = gp.predict(terms[50:])
    tau = kendalltau(mean, np.log(y[50:])).statistic
    assert tau > 0.4, (kernel, tau)
    # training points: posterior mean close to the data, variance below the prior's
    m_tr, v_tr = gp.predict(terms[:50])
    assert np.corrcoef(m_tr, np.log(y[:50]))[0, 1] > 0.8
    assert np.all(v_tr < gp.y_std**2)


def test_values_kernel_and_combinations():
    rng = np.random.default_rng(0)
    terms, ys = [], []
    for i in range(50):
        a, b = float(rng.uniform(0.1, 0.9)), int(rng.integers(3, 11))
        t = Term("G", 0, "Gen", (Term(None, -1, "", value=a), Term(None, -1, "", value=b)))
        terms.append(t)
        ys.append(math.exp(-2 * (a - 0.5) ** 2 - 0.05 * b))
    gp = GraphGP("values").fit(terms[:35], ys[:35])
    mean, _ = gp.predict(terms[35:])
    assert kendalltau(mean, np.log(ys[35:])).statistic > 0.7
    # sums and products with a graph kernel: the graph part sees the same terms
    table = {t: [__import__("networkx").DiGraph()] for t in terms}
    for t in terms:
        g = table[t][0]
        g.add_node(0, label="input")
        g.add_node(1, label=f"gen{int(t.children[1].value) % 2}")
        g.add_edge(0, 1)
    for spec in ("wl+values", "wl*values"):
        gp = GraphGP(spec, graph_fn=lambda t: table[t]).fit(terms[:35], ys[:35])
        mean, var = gp.predict(terms[35:])
        assert kendalltau(mean, np.log(ys[35:])).statistic > 0.5, spec


def test_errors_are_clear(data):
    terms, table, fn, y = data
    with pytest.raises(ValueError, match="unknown part"):
        GraphGP("wl+foo", graph_fn=fn)
    with pytest.raises(ValueError, match="3 terms but 2"):
        GraphGP("wl", graph_fn=fn).fit(terms[:3], y[:2])
    with pytest.raises(ValueError, match="finite"):
        GraphGP("wl", graph_fn=fn).fit(terms[:3], [0.1, float("nan"), 0.2])
    with pytest.raises(RuntimeError, match="not fitted"):
        GraphGP("wl", graph_fn=fn).predict(terms[:3])
    with pytest.raises(ValueError, match="grammar"):
        GraphGP("hwl")
    with pytest.raises(ValueError, match="fold_hs"):
        GraphGP("hwl", graph_fn=fn, fold_hs=(1,)).fit(terms[:5], y[:5])
    with pytest.raises(ValueError, match="could not build the graphs"):
        GraphGP("wl", graph_fn=lambda t: 1 / 0).fit(terms[:3], y[:3])


def test_term_graphs_cache_calls_graph_fn_once(data):
    terms, table, fn, y = data
    calls = []
    tg = TermGraphs(graph_fn=lambda t: calls.append(t) or table[t])
    for _ in range(3):
        tg(terms[0])
    assert calls == [terms[0]]
    gp = GraphGP("hwl", graphs=tg).fit(terms[:10], y[:10])
    gp.predict(terms[:12])
    assert sorted(map(str, calls)) == sorted(map(str, terms[:12]))


def test_custom_marginal_likelihood_and_gradient_equal_gpytorch(data):
    terms, table, fn, y = data
    gp = GraphGP("hwl", graph_fn=fn, flat_hs=(1,), steps=2).fit(terms[:20], y[:20])
    model = gp.model
    model.train()
    with torch.no_grad():
        model.covar_module.raw_weights.copy_(torch.tensor([0.5, -0.2, 0.1], dtype=torch.float64))
    params = [model.covar_module.raw_weights, model.likelihood.raw_noise]
    ours = gp._neg_mll(model, gp._x, gp._y)
    g_ours = torch.autograd.grad(ours, params)
    ref = -gpytorch.mlls.ExactMarginalLogLikelihood(model.likelihood, model)(model(gp._x), gp._y)
    g_ref = torch.autograd.grad(ref, params)
    assert float(ours) == pytest.approx(float(ref), rel=1e-10)
    for a, b in zip(g_ours, g_ref):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-7, atol=1e-12)


def test_cached_features_across_fits_give_the_same_model(data):
    """A shared TermGraphs keeps WL rows per term and one growing vocabulary: a later fit on a
    different set (vocabulary holding labels of terms no longer in it) equals a fresh fit."""
    terms, table, fn, y = data
    shared = TermGraphs(graph_fn=fn)
    GraphGP("hwl", graphs=shared, flat_hs=(2,)).fit(terms[40:60], y[40:60])
    rows = shared._rows[(0, 2, "successors", "hash")]
    assert set(rows) == set(terms[40:60])
    a = GraphGP("hwl", graphs=shared, flat_hs=(2,)).fit(terms[:30], y[:30])
    b = GraphGP("hwl", graph_fn=fn, flat_hs=(2,)).fit(terms[:30], y[:30])
    assert a.loss_ == pytest.approx(b.loss_, rel=1e-9)
    for x, z in zip(a.predict(terms[30:40]), b.predict(terms[30:40])):
        np.testing.assert_allclose(x, z, rtol=1e-7, atol=1e-10)
