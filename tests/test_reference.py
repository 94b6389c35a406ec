"""The reference transcription is itself checked against scipy and
scikit-learn, so the EM tests compare gaussmix with something known-good."""

import warnings

import numpy as np
from scipy import stats
from sklearn.exceptions import ConvergenceWarning
from sklearn.mixture import GaussianMixture

from reference import (em_iteration, log_gauss, log_likelihood, random_mixture,
                       responsibilities, sample_mixture)


def _problem():
    rng = np.random.default_rng(99)
    c, S, p = random_mixture(rng, 3, 3)
    X, _ = sample_mixture(rng, c, S, p, 300)
    return X, c, S, p


def test_reference_log_gauss_and_likelihood_match_scipy():
    X, c, S, p = _problem()
    np.testing.assert_allclose(log_gauss(X, c[1], S[1]),
                               stats.multivariate_normal(c[1], S[1]).logpdf(X),
                               rtol=1e-12)
    dens = sum(p[k] * stats.multivariate_normal(c[k], S[k]).pdf(X) for k in range(3))
    np.testing.assert_allclose(log_likelihood(X, c, S, p), np.log(dens).sum(), rtol=1e-12)
    np.testing.assert_allclose(responsibilities(X, c, S, p).sum(axis=1), 1.0, rtol=1e-14)


def test_reference_em_step_matches_sklearn():
    """One EM step of the reference (diag_add=0) equals one iteration of
    scikit-learn's GaussianMixture from the same start (reg_covar=0)."""
    X, c, S, p = _problem()
    gm = GaussianMixture(n_components=3, covariance_type="full", max_iter=1,
                         reg_covar=0.0, weights_init=p, means_init=np.array(c),
                         precisions_init=np.array([np.linalg.inv(s) for s in S]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # 1 iteration on purpose
        gm.fit(X)
    cn, Sn, pn, _ = em_iteration(X, c, S, p, diag_add=0.0)
    np.testing.assert_allclose(np.array(cn), gm.means_, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(np.array(Sn), gm.covariances_, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(pn, gm.weights_, rtol=1e-10)
