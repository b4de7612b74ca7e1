"""`PoolPosterior`: a fitted GP's posterior over a featurised candidate pool, with fantasies.

A batch of Kriging-believer proposals (Algorithm 2 of the BANAT paper, Schrodi et al.) needs,
for each member, the posterior over the ~10,000 candidates the acquisition optimiser scores,
given the real observations *and* the members chosen so far at their posterior mean. Refitting
the GP for every member (today's path) repeats the hyperparameter optimisation and featurises
every candidate again. Here the hyperparameters are fitted once; a fantasy observation
conditions the posterior at those fixed hyperparameters (what BoTorch's
``condition_on_observations`` / ``fantasize`` do for its GPs):

* the Cholesky factor ``L`` of ``K + noise I`` (training terms, then fantasies) grows by one
  row per fantasy, ``[v^T, d]`` with ``v = L^-1 k_f`` and ``d^2 = k(f, f) + noise - |v|^2``:
  O(n^2), never a new factorisation;
* for every pool member ``c`` the column ``V[:, c] = L^-1 k_c`` is kept, so a fantasy updates
  the whole pool in O((n + j) m): the new row ``r_c = (k(f, c) - v . V[:, c]) / d`` gives
  ``mean_c += r_c w_f`` and ``var_c -= r_c^2`` (``w = L^-1 y``, standardised targets);
* a candidate added later is featurised once (against the fit's vocabulary; labels outside it
  share ids across the pool through an overlay, so kernel values between pool members are
  exact) and solved against the current ``L``.

With a Kriging believer (``y_f`` = the posterior mean) the mean does not move: ``w_f = 0``, only
the variance near the fantasy shrinks. Targets keep the fit's standardisation. The result
equals a GP refitted on the training and fantasy terms at the same hyperparameters
(:meth:`~.gp.GraphGP.refit_fixed`; ``tests/surrogate/test_pool.py`` checks it to 1e-8).
"""

from __future__ import annotations

from typing import Optional, Sequence

import numpy as np
import torch

from algebraic_nas.grammar.term import Term
from algebraic_nas.surrogate.gp import GraphGP
from algebraic_nas.surrogate.likelihood import exact_gp_settings
from algebraic_nas.threads import torch_threads


class PoolPosterior:
    """Posterior of a fitted :class:`GraphGP` over a growing pool of terms, with fantasies.

    Args:
        gp: a fitted GP; its query block is taken over (do not call ``gp.predict`` while the
            pool is in use; a new fit of the same graph cache ends the pool's validity).
        max_fantasies: room reserved for fantasy rows (more grow the arrays).
    """

    def __init__(self, gp: GraphGP, max_fantasies: int = 32) -> None:
        gp._check_fitted()
        self.gp = gp
        self.points = gp.points
        self.n = self.points.n_train
        self.noise = gp.noise
        self._cov = gp.model.covar_module  # type: ignore[union-attr]
        self.dtype, self.device = gp.dtype, gp.device
        with torch_threads(gp.num_threads):
            self.points.set_query([])
            cap = self.n + max(1, int(max_fantasies))
            self._L = torch.zeros((cap, cap), dtype=self.dtype, device=self.device)
            self._L[: self.n, : self.n] = gp._chol
            self._w = torch.zeros(cap, dtype=self.dtype, device=self.device)
            self._w[: self.n] = torch.linalg.solve_triangular(gp._chol, gp._y.unsqueeze(-1), upper=False).squeeze(-1)
        self.terms: list[Term] = []
        self.index: dict[Term, int] = {}
        self.fantasies: list[int] = []  # pool rows of the fantasy terms, in conditioning order
        self._V = torch.zeros((cap, 0), dtype=self.dtype, device=self.device)  # (rows, pool capacity)
        self._prior = torch.zeros(0, dtype=self.dtype, device=self.device)  # k(c, c)
        self._mean = torch.zeros(0, dtype=self.dtype, device=self.device)  # standardised
        self._var = torch.zeros(0, dtype=self.dtype, device=self.device)

    @property
    def rows(self) -> int:
        """Training terms plus fantasies: the rows of the extended Cholesky factor."""
        return self.n + len(self.fantasies)

    def __len__(self) -> int:
        return len(self.terms)

    def fantasies_terms(self) -> list[Term]:
        """The terms conditioned on so far, in order."""
        return [self.terms[c] for c in self.fantasies]

    # --- the pool --------------------------------------------------------------------------

    def _x(self, pool_rows: Sequence[int] | np.ndarray) -> torch.Tensor:
        """Kernel inputs of pool rows (query indices after the training terms), (k, 1)."""
        return (torch.as_tensor(np.asarray(pool_rows, dtype=np.int64), device=self.device) + self.n).to(self.dtype).unsqueeze(-1)

    def add(self, terms: Sequence[Term]) -> None:
        """Featurise the terms not yet in the pool and compute their posterior (one batch)."""
        new = [t for t in dict.fromkeys(terms) if t not in self.index]
        if not new:
            return
        with torch_threads(self.gp.num_threads), torch.no_grad(), exact_gp_settings():
            start = len(self.terms)
            self.points.extend_query(new)
            for k, t in enumerate(new):
                self.index[t] = start + k
            self.terms.extend(new)
            rows = np.arange(start, start + len(new))
            xq = self._x(rows)
            cols = [self._cov(xq, self.gp._x).to_dense().T]  # (n, k)
            if self.fantasies:
                cols.append(self._cov(self._x(self.fantasies), xq).to_dense())  # (j, k)
            r = self.rows
            v = torch.linalg.solve_triangular(self._L[:r, :r], torch.cat(cols), upper=False)  # (r, k)
            prior = self._cov(xq, xq, diag=True).reshape(-1)
            self._grow(start + len(new))
            self._V[:r, start : start + len(new)] = v
            self._prior = torch.cat([self._prior, prior])
            self._mean = torch.cat([self._mean, v.T @ self._w[:r]])
            self._var = torch.cat([self._var, prior - (v * v).sum(dim=0)])

    def _grow(self, size: int) -> None:
        if size > self._V.shape[1]:
            cap = max(size, 2 * self._V.shape[1], 1024)
            grown = torch.zeros((self._V.shape[0], cap), dtype=self.dtype, device=self.device)
            grown[:, : self._V.shape[1]] = self._V
            self._V = grown

    def _grow_rows(self) -> None:
        r, cap = self.rows, self._L.shape[0]
        if r < cap:
            return
        new = 2 * cap
        L = torch.zeros((new, new), dtype=self.dtype, device=self.device)
        L[:cap, :cap] = self._L
        self._L = L
        self._w = torch.cat([self._w, torch.zeros(new - cap, dtype=self.dtype, device=self.device)])
        V = torch.zeros((new, self._V.shape[1]), dtype=self.dtype, device=self.device)
        V[:cap] = self._V
        self._V = V

    # --- fantasies -------------------------------------------------------------------------

    def condition(self, term: Term, y_log: Optional[float] = None) -> None:
        """Condition on an observation of ``term`` (log validation error ``y_log``; ``None``:
        its posterior mean, the Kriging believer) at the fixed hyperparameters."""
        self.add([term])
        c = self.index[term]
        with torch_threads(self.gp.num_threads), torch.no_grad(), exact_gp_settings():
            self._grow_rows()
            r, m = self.rows, len(self.terms)
            v = self._V[:r, c].clone()
            d = torch.sqrt(torch.clamp(self._prior[c] + self.noise - v @ v, min=1e-12))
            y_std = self._mean[c] if y_log is None else (float(y_log) - self.gp.y_mean) / self.gp.y_std
            w = (y_std - v @ self._w[:r]) / d
            kf = self._cov(self._x([c]), self._x(np.arange(m))).to_dense().reshape(-1)  # (m,)
            row = (kf - v @ self._V[:r, :m]) / d
            self._L[r, :r] = v
            self._L[r, r] = d
            self._w[r] = w
            self._V[r, :m] = row
            self._mean = self._mean + row * w
            self._var = self._var - row * row
        self.fantasies.append(c)

    # --- results ---------------------------------------------------------------------------

    def predict(self, terms: Sequence[Term]) -> tuple[np.ndarray, np.ndarray]:
        """Posterior mean and variance of log validation error (original log units), (m,), (m,);
        terms not yet in the pool are added first."""
        self.add(terms)
        idx = torch.as_tensor([self.index[t] for t in terms], dtype=torch.long)
        return self._values(idx)

    def values(self) -> tuple[np.ndarray, np.ndarray]:
        """Mean and variance (log units) of every pool member, in pool order."""
        return self._values(torch.arange(len(self.terms)))

    def _values(self, idx: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
        mean = self._mean[idx].cpu().numpy() * self.gp.y_std + self.gp.y_mean
        var = self._var[idx].clamp_min(0.0).cpu().numpy() * self.gp.y_std**2
        return mean, var
