"""GraphGP.predict(observation_noise=True): the predictive variance of a new *observation* is the
latent variance plus the learned Gaussian noise (gpytorch's ``likelihood(model(x))``), so it is
larger than the latent variance by exactly the noise, at every point."""

from __future__ import annotations

import gpytorch
import numpy as np
import torch

from algebraic_nas.surrogate import GraphGP

from surrogate_fakes import count_target, fake_terms


def test_observation_noise_adds_the_learned_noise_to_the_latent_variance():
    terms, table, fn = fake_terms(seed=5, n=40, n_folds=2)
    y = np.array([count_target(table[t]) for t in terms])
    gp = GraphGP("hwl", graph_fn=fn, flat_hs=(1, 2)).fit(terms[:25], y[:25])
    query = terms[20:40]  # five training terms (variance near the noise floor) and fifteen new ones
    m_lat, v_lat = gp.predict(query)
    m_obs, v_obs = gp.predict(query, observation_noise=True)
    np.testing.assert_allclose(m_obs, m_lat, rtol=1e-12)
    noise = gp.noise * gp.y_std**2  # the learned noise variance in units of log(error)^2
    assert noise > 0
    np.testing.assert_allclose(v_obs - v_lat, noise, rtol=1e-9)
    assert np.all(v_obs > v_lat)

    model = gp.model  # the reference: gpytorch's predictive distribution of an observation
    model.eval()
    model.likelihood.eval()
    with torch.no_grad(), gpytorch.settings.fast_pred_var(False), gpytorch.settings.max_cholesky_size(10**6):
        gp.points.set_query(query)
        post = model.likelihood(model(gp.points.query_x()))
        v_ref = post.variance.numpy() * gp.y_std**2
    np.testing.assert_allclose(v_obs, v_ref, rtol=1e-6, atol=1e-9)
