"""mclust's family of covariance models (Celeux and Govaert 1995; Fraley and
Raftery 2002; Browne and McNicholas 2014) as M-steps over the engine's
statistics: ``GaussianMixture(covariance_type="EEV")`` and the other names
run the engine with :class:`Constrained`, the core's E-step of the model's
form and the model's M-step here (in NumPy: it reads K D x D statistics, a
few microseconds against the E-step's pass over the rows).
tests/test_mclust_models.py and tests/test_mclust_estimator.py check them
against R's mclust 6 (tests/mclust_reference.json, written by
tools/mclust_references.R).

Each component's covariance is Sigma_k = lambda_k D_k A_k D_k^T: volume
lambda_k, shape A_k (diagonal, det 1), orientation D_k. A model's name says
which of the three are Equal across components, Variable, or the Identity:
EII, VII, EEI, VEI, EVI, VVI, EEE, VEE, EVE, VVE, EEV, VEV, EVV, VVV.
scikit-learn's spherical, diag, tied and full are VII, VVI, EEE and VVV.

The M-step of a model takes the components' masses n_k and scatter matrices
W_k = sum_i r_ik (x_i - xbar_k)(x_i - xbar_k)^T (the maximum-likelihood
statistics every E-step gives) to the covariances that maximise the
expected complete-data log-likelihood under the model's constraints:

* closed forms (Celeux and Govaert 1995): EII, VII, EEI, VVI, EEE, VVV;
  EVI (lambda = sum_k |diag W_k|^(1/d) / n, A_k = diag W_k / |diag W_k|^(1/d));
  EVV (the same with W_k); EEV (W_k = L_k O_k L_k^T, eigenvalues in
  decreasing order: A = sum_k O_k normalised, lambda = |sum_k O_k|^(1/d) / n,
  D_k = L_k);
* iterative: VEI alternates the volumes lambda_k = tr(W_k A^-1) / (d n_k)
  and the shape A = diag(sum_k W_k / lambda_k) normalised to det 1, as
  mclust's mevei does: from lambda = 1, A = I at the fit's first M-step,
  each later M-step starting where the previous one stopped, until the
  largest relative change of a lambda_k or a diagonal entry of A,
  |old - new| / (1 + new), is at most tol (mclust's default
  sqrt(machine epsilon)), with no cap on the inner iterations.
  VEE alternates C = sum_k W_k / lambda_k normalised to det 1 and
  lambda_k = tr(W_k C^-1) / (d n_k), as mclust's mevee: from lambda = 1 at
  every M-step, until the relative change of its target
  n d + d sum_k n_k log lambda_k, |new - old| / (1 + |new|), is at most tol.
  VEV: W_k = L_k O_k L_k^T (eigenvalues in one order for every
  component); alternates lambda_k = sum_j O_kj / A_j / (d n_k) and
  A = sum_k O_k / lambda_k normalised to det 1, as mclust's mevev: A from
  sum_k O_k (normalised) at the fit's first M-step, each later M-step
  starting from the previous A, until the largest relative change of an
  entry of A or of a lambda_k is below tol; D_k = L_k.
  EVE and VVE: the shared orientation D by the two MM steps of Browne and
  McNicholas (2014) as mclust's meeve and mevve take them (with omega_k the
  largest eigenvalue of W_k: F = sum_k A_k^-1 D^T W_k - omega_k A_k^-1 D^T,
  D^T = P R^T of F's SVD P B R^T; then F = sum_k W_k D A_k^-1 -
  max_j(1 / a_kj) W_k D, D = P R^T), then each A_k = diag(D^T W_k D)
  normalised to det 1 (VVE: lambda_k its geometric mean / n_k; EVE:
  lambda = the target / (n d)); the target sum_k tr(W_k D A_k^-1 D^T); from
  D = I and A_k = I at the fit's first M-step, each later M-step starting
  from the previous D and A_k, until the target's relative change is at
  most tol. mclust's VVE uses EVE's MM steps, which leave the volumes out,
  so its M-step need not increase VVE's expected log-likelihood: R's me()
  lowers the log-likelihood by 0.052 on iris at iteration 29 (VVE, G = 3).
  gaussmix takes mclust's steps, to give mclust's fits.

Every M-step is checked against R's mclust 6 (tests/test_mclust_models.py);
the inner loops replicate mclust's starts and stopping rules so that both
stop at the same iterate, not just near the same optimum.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

#: mclust's names, in its order.
MCLUST_MODELS = ("EII", "VII", "EEI", "VEI", "EVI", "VVI", "EEE", "VEE", "EVE", "VVE", "EEV", "VEV", "EVV", "VVV")
#: mclust's inner tolerance: emControl()'s tol[2].
INNER_TOL = float(np.sqrt(np.finfo(np.float64).eps))


def n_covariance_parameters(model: str, k: int, d: int) -> int:
    """Free parameters of the covariances, as mclust counts them (nVarParams)."""
    rotation = d * (d - 1) // 2
    return {
        "EII": 1, "VII": k, "EEI": d, "VEI": k + d - 1, "EVI": 1 + k * (d - 1), "VVI": k * d,
        "EEE": d * (d + 1) // 2, "VEE": k + d - 1 + rotation, "EVE": 1 + k * (d - 1) + rotation,
        "VVE": k * d + rotation, "EEV": d + k * rotation, "VEV": k + d - 1 + k * rotation,
        "EVV": 1 + k * (d * (d + 1) // 2 - 1), "VVV": k * d * (d + 1) // 2,
    }[model]


def n_parameters(model: str, k: int, d: int) -> int:
    """Free parameters of the mixture: the covariances', K D means, K - 1 weights (mclust's nMclustParams)."""
    return n_covariance_parameters(model, k, d) + k * d + k - 1


def _geometric_mean(values: np.ndarray, axis=-1) -> np.ndarray:
    return np.exp(np.mean(np.log(values), axis=axis))


class ConstrainedMStep:
    """The M-step of one of mclust's models: covariances(n_k, W_k). It keeps
    what an iterative M-step continues from (VEI's volumes and shape), so
    one instance serves one EM run."""

    def __init__(self, model: str, inner_tol: float = INNER_TOL, inner_max_iter: int | None = None):
        if model not in MCLUST_MODELS:
            raise ValueError(f"unknown mclust model {model!r}; one of {', '.join(MCLUST_MODELS)}")
        self.model, self.inner_tol = model, inner_tol
        self.inner_max_iter = np.iinfo(np.int32).max if inner_max_iter is None else inner_max_iter
        self._volumes = self._shape = self._orientation = None
        self.inner_iterations = 0

    def covariances(self, nk: np.ndarray, scatter: np.ndarray) -> np.ndarray:
        """(K, D, D) covariances from the masses n_k (K,) and scatter matrices W_k (K, D, D)."""
        return _ML_STEPS[self.model](self, np.asarray(nk, dtype=np.float64), np.asarray(scatter, dtype=np.float64))

    def step(self, nk: np.ndarray, xbar: np.ndarray, scatter: np.ndarray) -> tuple:
        """(means, (K, D, D) covariances): the M-step of the masses n_k, the
        component means xbar_k and the scatter matrices W_k around them
        (without a prior, the means are xbar_k)."""
        return np.asarray(xbar, dtype=np.float64), self.covariances(nk, scatter)

    def _vev(self, nk: np.ndarray, scatter: np.ndarray) -> np.ndarray:
        """VEV: mclust's alternation (see the module), its shape continued from the previous M-step's."""
        k, d, _ = scatter.shape
        values, vectors = np.linalg.eigh(scatter)  # (K, D) ascending in every component
        if self._shape is None:
            shape = values.sum(axis=0)
            shape = shape / _geometric_mean(shape)
        else:
            shape = self._shape
        volumes = np.zeros(k) if self._volumes is None else self._volumes
        inner = 0
        while True:
            inner += 1
            old_volumes, old_shape = volumes, shape
            volumes = (values / old_shape).sum(axis=1) / (nk * d)
            shape = (values / volumes[:, None]).sum(axis=0)
            shape = shape / _geometric_mean(shape)
            change = max(np.max(np.abs(old_shape - shape) / (1 + shape)),
                         np.max(np.abs(volumes - old_volumes) / (1 + volumes)))
            if not (change >= self.inner_tol and inner < self.inner_max_iter):
                break
        self._volumes, self._shape, self.inner_iterations = volumes, shape, inner
        return np.einsum("kij,kj,klj->kil", vectors, volumes[:, None] * shape, vectors)

    def _common_orientation(self, nk: np.ndarray, scatter: np.ndarray, variable_volume: bool) -> np.ndarray:
        """EVE and VVE: mclust's MM iterations (see the module), continued
        from the previous M-step's orientation and shapes."""
        k, d, _ = scatter.shape
        largest = np.linalg.eigvalsh(scatter)[:, -1]
        shapes = np.ones((k, d)) if self._shape is None else self._shape
        turn = np.eye(d) if self._orientation is None else self._orientation  # D: its columns are the axes
        previous, inner = np.inf, 0
        while True:
            inner += 1
            scaled = turn.T[None, :, :] / shapes[:, :, None]  # A_k^-1 D^T
            f = np.einsum("kij,kjl->il", scaled, scatter) - np.einsum("k,kij->ij", largest, scaled)
            u, _, vt = np.linalg.svd(f)
            turn = (u @ vt).T
            rotated = scatter @ turn  # W_k D
            f = (rotated / shapes[:, None, :] - (1 / shapes).max(axis=1)[:, None, None] * rotated).sum(axis=0)
            u, _, vt = np.linalg.svd(f)
            turn = u @ vt
            spread = np.einsum("ji,kjl,li->ki", turn, scatter, turn)  # diag(D^T W_k D)
            if variable_volume:
                spread = spread / nk[:, None]
            volumes = _geometric_mean(spread)
            shapes = spread / volumes[:, None]
            target = float(np.sum(np.einsum("ji,kjl,li->ki", turn, scatter, turn) / shapes))
            change = abs(target - previous) / (1 + abs(target))
            previous = target
            if not (change > self.inner_tol and inner < self.inner_max_iter):
                break
        self._shape, self._orientation, self.inner_iterations = shapes, turn, inner
        if not variable_volume:
            volumes = np.full(k, target / (nk.sum() * d))
        return np.einsum("ij,kj,lj->kil", turn, volumes[:, None] * shapes, turn)

    def _vee(self, nk: np.ndarray, scatter: np.ndarray) -> np.ndarray:
        """VEE: mclust's alternation (see the module), from lambda = 1."""
        k, d, _ = scatter.shape
        volumes = np.ones(k)
        previous, inner = np.inf, 0
        while True:
            inner += 1
            shared = (scatter / volumes[:, None, None]).sum(axis=0)
            shared = shared / _geometric_mean(np.linalg.eigvalsh(shared))
            volumes = np.trace(np.linalg.solve(shared, scatter), axis1=1, axis2=2) / (d * nk)
            target = nk.sum() * d + d * np.sum(np.log(volumes) * nk)
            change = abs(target - previous) / (1 + abs(target))
            previous = target
            if not (change > self.inner_tol and inner < self.inner_max_iter):
                break
        self.inner_iterations = inner
        return volumes[:, None, None] * shared

    def _vei(self, w: np.ndarray, denominators: np.ndarray) -> np.ndarray:
        """VEI: mclust's alternation (see the module), continued from the
        previous M-step's volumes and shape; w: the diagonals of the W_k
        (K, D); each volume is sum_j w_kj / a_j over its denominator (d n_k;
        with a prior, mclust's MAP one)."""
        k, d = w.shape
        volumes = np.ones(k) if self._volumes is None else self._volumes
        shape = np.ones(d) if self._shape is None else self._shape
        inner = 0
        while True:
            inner += 1
            old_volumes, old_shape = volumes, shape
            volumes = (w / shape).sum(axis=1) / denominators
            shape = (w / volumes[:, None]).sum(axis=0)
            shape = shape / _geometric_mean(shape)
            change = max(np.max(np.abs(old_volumes - volumes) / (1 + volumes)),
                         np.max(np.abs(old_shape - shape) / (1 + shape)))
            if not (change > self.inner_tol and inner <= self.inner_max_iter):
                break
        self._volumes, self._shape, self.inner_iterations = volumes, shape, inner
        return volumes[:, None, None] * np.diag(shape)


def _equal(k: int, covariance: np.ndarray) -> np.ndarray:
    return np.broadcast_to(covariance, (k,) + covariance.shape).copy()


def _diagonals(variances: np.ndarray) -> np.ndarray:
    """(K, D, D) diagonal matrices of (K, D) variances."""
    k, d = variances.shape
    out = np.zeros((k, d, d))
    out[:, np.arange(d), np.arange(d)] = variances
    return out


def _trace(scatter: np.ndarray) -> np.ndarray:
    return np.trace(scatter, axis1=1, axis2=2)


def _diag(scatter: np.ndarray) -> np.ndarray:
    return np.diagonal(scatter, axis1=1, axis2=2)


def _eev(values_vectors, divisor: float) -> np.ndarray:
    """EEV: the eigenvalues (ascending in every component, so their ranks
    pair up) summed into one shape, its size over divisor the volume."""
    values, vectors = values_vectors
    total = values.sum(axis=0)
    size = _geometric_mean(total)
    return (size / divisor) * np.einsum("kij,j,klj->kil", vectors, total / size, vectors)


def _evi(variances: np.ndarray, divisor: float) -> np.ndarray:
    """EVI: each component's variances normalised to det 1, the sum of their sizes over divisor the volume."""
    size = _geometric_mean(variances)
    return _diagonals(variances / size[:, None] * (size.sum() / divisor))


def _evv(scatter: np.ndarray, divisor: float) -> np.ndarray:
    """EVV: each W_k normalised to det 1, the sum of their sizes |W_k|^(1/d) over divisor the volume."""
    size = np.exp(np.linalg.slogdet(scatter)[1] / scatter.shape[1])
    return scatter / size[:, None, None] * (size.sum() / divisor)


#: Each model's maximum-likelihood M-step: (the M-step, n_k, W_k) -> (K, D, D) covariances.
_ML_STEPS = {
    "EII": lambda step, nk, w: _equal(len(nk), _trace(w).sum() / (nk.sum() * w.shape[1]) * np.eye(w.shape[1])),
    "VII": lambda step, nk, w: (_trace(w) / (nk * w.shape[1]))[:, None, None] * np.eye(w.shape[1]),
    "EEI": lambda step, nk, w: _equal(len(nk), np.diag(_diag(w).sum(axis=0) / nk.sum())),
    "VEI": lambda step, nk, w: step._vei(_diag(w), w.shape[1] * nk),
    "EVI": lambda step, nk, w: _evi(_diag(w), nk.sum()),
    "VVI": lambda step, nk, w: _diagonals(_diag(w) / nk[:, None]),
    "EEE": lambda step, nk, w: _equal(len(nk), w.sum(axis=0) / nk.sum()),
    "VEE": lambda step, nk, w: step._vee(nk, w),
    "EVE": lambda step, nk, w: step._common_orientation(nk, w, variable_volume=False),
    "VVE": lambda step, nk, w: step._common_orientation(nk, w, variable_volume=True),
    "EEV": lambda step, nk, w: _eev(np.linalg.eigh(w), nk.sum()),
    "VEV": lambda step, nk, w: step._vev(nk, w),
    "EVV": lambda step, nk, w: _evv(w, nk.sum()),
    "VVV": lambda step, nk, w: w / nk[:, None, None],
}


def m_step(model: str, prior: Prior | None = None) -> ConstrainedMStep:
    """A fresh M-step of the model (under the prior, if given): one per EM run."""
    return ConstrainedMStep(model) if prior is None else MapMStep(model, prior)


def me(x: np.ndarray, z: np.ndarray, model: str, n_iter: int, prior: Prior | None = None):
    """mclust's me(modelName, data, z, prior) with n_iter rounds and no early
    stop, on the engine (the Constrained rule, without reg_covar or
    resp_offset, as mclust): the M-step of z, then n_iter - 1 EM iterations.
    Returns (weights, means, covariances (K, D, D), the log-likelihood of the
    last parameters)."""
    import math

    from . import _core, _engine
    from ._config import threads_for_core
    from ._validation import column_stats

    x = np.ascontiguousarray(x, dtype=np.float64)
    rule = Constrained(model, 0.0, 0.0, prior)
    kernel = rule.model.kernel
    shifts = np.broadcast_to(x.mean(axis=0), (z.shape[1], x.shape[1])).copy()
    parameters = rule.update(_core.responsibility_stats(x, np.ascontiguousarray(z, dtype=np.float64), kernel,
                                                        shifts, None, threads_for_core()))
    source = _engine.InMemory(x, None, "me", column_stats(x))
    if n_iter > 1:  # tol -inf: no early stop
        parameters = _engine.iterate(source.for_start(parameters), rule, parameters, math.nan,
                                     _engine.Settings(1, n_iter - 1, -math.inf), None).parameters
    log_likelihood = float(source.for_start(parameters).stats(parameters).log_likelihood)
    k, d = parameters.means.shape
    return (np.asarray(parameters.weights), np.asarray(parameters.means),
            rule.model.dense(parameters.covariances, k, d), log_likelihood)


class Constrained:
    """The engine's update rule of an mclust model (gaussmix/_engine.py):
    the maximum-likelihood rule's statistics and lower bound, with the
    model's constrained M-step (:class:`ConstrainedMStep`) in place of the
    core's, resp_offset added to every n_k. reg_covar goes into the
    statistics, W_k + n_k reg_covar I, before the constrained step: for
    scikit-learn's four models that is scikit-learn's covariance + reg_covar
    exactly, and it keeps the models that normalise a shape by its
    determinant defined where a variance is zero (a constant column). The
    E-step is the core's kernel of the model's form (full, diag or
    spherical)."""

    def __init__(self, covariance_type: str, reg_covar: float, resp_offset: float, prior: Prior | None = None):
        from ._covariance import covariance_model
        from ._engine import MaximumLikelihood

        self.model = covariance_model(covariance_type)
        self.ml = MaximumLikelihood(reg_covar, resp_offset)
        self.reg_covar, self.resp_offset, self.prior = reg_covar, resp_offset, prior
        self.step = m_step(self.model.mclust, prior)

    def initial(self, start):
        """The model's M-step of the statistics a start stands for (n_k its
        weights x its mass, W_k + n_k reg_covar I = n_k times its
        covariances, which hold reg_covar): a start from responsibilities
        becomes their constrained M-step, as mclust's me() takes it. Each
        run starts the inner iterations afresh."""
        self.step = m_step(self.model.mclust, self.prior)
        weights = np.asarray(start.weights, dtype=np.float64)
        k, d = np.shape(start.means)
        nk = weights * start.mass
        dense = self.model.dense(np.asarray(start.covariances, dtype=np.float64), k, d)
        return self._mixture(weights, *self.step.step(nk, start.means, dense * nk[:, None, None]))

    def mixture(self, parameters):
        return parameters

    def statistics(self, source, parameters):
        return self.ml.statistics(source, parameters)

    def update(self, stats):
        from . import _core

        weights, means, covariances = (np.asarray(a) for a in _core.m_step_parameters(stats, self.reg_covar,
                                                                                       self.resp_offset))
        nk = np.asarray(stats.resp_sum, dtype=np.float64) + self.resp_offset
        k, d = means.shape
        dense = self.model.dense(covariances, k, d) * nk[:, None, None]
        return self._mixture(weights, *self.step.step(nk, means, dense))

    def lower_bound(self, stats, parameters) -> float:
        return self.ml.lower_bound(stats, parameters)

    def _mixture(self, weights, means, dense):
        """The Mixture of the kernel's form."""
        from . import _core
        from ._mixture import mixture_from_core

        return mixture_from_core(_core.FactorisedMixture(weights, means, self.model.from_dense(dense),
                                                         self.model.kernel))


# --------------------------------------------------------------------------- the conjugate prior


class Prior(NamedTuple):
    """mclust's conjugate prior (Fraley and Raftery 2007): the means' prior
    mean and shrinkage (kappa_P), the covariances' degrees of freedom
    (nu_P) and scale (Lambda_P: a number for the models without
    orientations, a (D, D) matrix for the others)."""

    shrinkage: float
    mean: np.ndarray
    dof: float
    scale: float | np.ndarray


#: The models mclust's conjugate prior applies to (mclust 6 has none for VEE, EVE, VVE and EVV).
PRIOR_MODELS = ("EII", "VII", "EEI", "VEI", "EVI", "VVI", "EEE", "EEV", "VEV", "VVV")


def default_prior(model: str, mean: np.ndarray, covariance: np.ndarray, n_rows: int, n_components: int) -> Prior:
    """mclust's defaultPrior (priorControl()): shrinkage 0.01, the data's
    mean, D + 2 degrees of freedom, and as scale the data's covariance
    (ddof 1) divided by G^(2/D): its mean variance for the models without
    orientations, the matrix for the others (its diagonal when there are no
    more rows than columns)."""
    d = len(mean)
    factor = (1.0 / n_components) ** (2.0 / d)
    covariance = np.asarray(covariance, dtype=np.float64)
    if model[2] == "I":
        scale = factor * float(np.trace(covariance)) / d
    else:
        scale = factor * (covariance if n_rows > d else np.diag(np.diag(covariance)))
    return Prior(0.01, np.asarray(mean, dtype=np.float64), d + 2.0, scale)


class MapMStep(ConstrainedMStep):
    """The M-step of one of mclust's models under its conjugate prior: the
    maximum a posteriori means and covariances, exactly as mclust 6's
    me<model>p Fortran routines compute them (its EM with a prior), quirks
    included, so that the fits are mclust's: with c_k = kappa n_k / (n_k +
    kappa), B_k = W_k + c_k (xbar_k - mu_P)(xbar_k - mu_P)^T and t = 1 when
    kappa > 0,

    * the means are (n_k xbar_k + kappa mu_P) / (n_k + kappa), except EEI's,
      which mclust leaves at xbar_k;
    * VVV: (Lambda + B_k) / (nu + n_k + d + 1 + t); EEE: (Lambda + sum_k B_k)
      / (nu + n + d + 1 + t G); VII: (Lambda + tr B_k) / (nu + d n_k + 2 +
      t d) I; EII: sum_k tr B_k / (nu + (n + G) d + 2) I (mclust leaves
      Lambda out there); VVI: diag(Lambda + B_k) / (nu + n_k + 2 + t); EEI:
      diag(Lambda + sum_k B_k) / (nu + n + 1 + t); EVI: lambda = sum_k
      |diag(Lambda + B_k)|^(1/d) / (nu + n + 1 + t), A_k the normalised
      diagonal; EEV: the eigenvalues of Lambda + B_k summed into A, lambda =
      |A|^(1/d) / (nu + n + d + 1 + t); VEI: its alternation over
      diag(Lambda + B_k) with volumes over d n_k + nu + 2 + t; VEV: its
      alternation over the eigenvalues of Lambda + B_k, volumes over d n_k
      (mclust leaves nu out there).
    """

    def __init__(self, model: str, prior: Prior, inner_tol: float = INNER_TOL, inner_max_iter: int | None = None):
        super().__init__(model, inner_tol, inner_max_iter)
        if model not in PRIOR_MODELS:
            raise ValueError(f"mclust's conjugate prior applies to {', '.join(PRIOR_MODELS)}, not {model}")
        self.prior = prior

    def step(self, nk: np.ndarray, xbar: np.ndarray, scatter: np.ndarray) -> tuple:
        prior = self.prior
        nk = np.asarray(nk, dtype=np.float64)
        xbar = np.asarray(xbar, dtype=np.float64)
        kappa = prior.shrinkage
        deviation = xbar - prior.mean
        c = kappa * nk / (nk + kappa)
        b = np.asarray(scatter, dtype=np.float64) + c[:, None, None] * deviation[:, :, None] * deviation[:, None, :]
        terms = _MapTerms(nk, nk.sum(), xbar.shape[1], prior.dof, 1.0 if kappa > 0 else 0.0, b, prior.scale)
        covariances = _MAP_STEPS[self.model](self, terms)
        if self.model in _UNSHRUNK_MEANS:
            return xbar.copy(), covariances
        return (nk[:, None] * xbar + kappa * prior.mean) / (nk + kappa)[:, None], covariances


class _MapTerms(NamedTuple):
    """What mclust's MAP M-steps read: n_k, n, d, nu, t (1 when kappa > 0),
    B_k = W_k + c_k (xbar_k - mu_P)(xbar_k - mu_P)^T, and Lambda."""

    nk: np.ndarray
    n: float
    d: int
    nu: float
    t: float
    b: np.ndarray
    scale: float | np.ndarray


#: The models whose MAP means mclust leaves at xbar_k (its meeeip does not shrink them).
_UNSHRUNK_MEANS = frozenset({"EEI"})

#: Each model's MAP M-step as mclust 6's me<model>p computes it (see MapMStep): (the M-step, _MapTerms) -> covariances.
_MAP_STEPS = {
    "EII": lambda step, q: _equal(len(q.nk), _trace(q.b).sum() / (q.nu + (q.n + len(q.nk)) * q.d + 2) * np.eye(q.d)),
    "VII": lambda step, q: ((q.scale + _trace(q.b)) / (q.nu + q.d * q.nk + 2 + q.t * q.d))[:, None, None] * np.eye(q.d),
    "EEI": lambda step, q: _equal(len(q.nk), np.diag((q.scale + _diag(q.b).sum(axis=0)) / (q.nu + q.n + 1 + q.t))),
    "VEI": lambda step, q: step._vei(q.scale + _diag(q.b), q.d * q.nk + q.nu + 2 + q.t),
    "EVI": lambda step, q: _evi(q.scale + _diag(q.b), q.nu + q.n + 1 + q.t),
    "VVI": lambda step, q: _diagonals((q.scale + _diag(q.b)) / (q.nu + q.nk + 2 + q.t)[:, None]),
    "EEE": lambda step, q: _equal(len(q.nk), (q.scale + q.b.sum(axis=0)) / (q.nu + q.n + q.d + 1 + q.t * len(q.nk))),
    "EEV": lambda step, q: _eev(np.linalg.eigh(q.scale + q.b), q.nu + q.n + q.d + 1 + q.t),
    "VEV": lambda step, q: step._vev(q.nk, q.scale + q.b),
    "VVV": lambda step, q: (q.scale + q.b) / (q.nu + q.nk + q.d + 1 + q.t)[:, None, None],
}
