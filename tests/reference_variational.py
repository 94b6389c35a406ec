"""A plain NumPy transcription of variational Bayesian EM for a Gaussian
mixture (Bishop 2006, section 10.2; scikit-learn's BayesianGaussianMixture's
parameterisation and lower bound) with missing entries (NaN) among the
latent variables: the independent reference of the tests of
BayesianGaussianMixture on rows with NaN.

Obviously correct rather than fast, and never imports gaussmix. It works in
the expected precision P_k = nu_k W_k (the inverse of scikit-learn's
covariances_), not through a Gaussian mixture's covariance blocks as
gaussmix does: for a row with observed entries O and missing ones M,

    E[log N(x | mu_k, Lambda_k^-1)] = -D/2 log 2 pi + E[log |Lambda_k|] / 2
                                      - (D / beta_k + (x - m_k)^T P_k (x - m_k)) / 2

is a Gaussian in x_M of precision P_MM; q(z = k, x_M) is proportional to
exp(E[log pi_k]) times it, so integrating x_M out gives

    log q(z = k) = E[log pi_k] + E[log |Lambda_k|] / 2 - D / (2 beta_k) - |O| / 2 log 2 pi
                   - log |P_MM| / 2 - d^T (P_OO - P_OM P_MM^-1 P_MO) d / 2 + const,  d = x_O - m_kO,

and q(x_M | z = k) = N(m_kM - P_MM^-1 P_MO d, P_MM^-1). The M-step is the
conjugate update of the expected statistics (scikit-learn's formulas, its
10 eps on N_k and reg_covar on S_k); the lower bound is scikit-learn's
(_compute_lower_bound) with the entropy of q(z, x_M) in place of the
responsibilities' entropy.
"""

import numpy as np
from scipy.special import betaln, digamma, gammaln, logsumexp

from model_reference import dense_covariances


def expected_log_weights(concentration, prior_type):
    if prior_type == "dirichlet_process":
        alpha, beta = concentration
        total = digamma(alpha + beta)
        tail = np.concatenate([[0.0], np.cumsum(digamma(beta) - total)[:-1]])
        return digamma(alpha) - total + tail
    return digamma(concentration) - digamma(np.sum(concentration))


def e_step(X, posterior, prior_type, covariance_type):
    """(resp (N, K), completed rows (N, K, D), conditional covariances
    (N, K, D, D), each row's entropy of q(z, x_M) (N,))."""
    concentration, beta, means, nu, covariances = posterior
    N, D = X.shape
    K = len(beta)
    nu = np.broadcast_to(np.asarray(nu, dtype=np.float64), (K,))
    precisions = np.linalg.inv(dense_covariances(covariance_type, covariances, K, D))
    log_lambda = np.array([D * np.log(2.0) + digamma(0.5 * (nu[k] - np.arange(D))).sum()
                           + np.linalg.slogdet(precisions[k])[1] - D * np.log(nu[k]) for k in range(K)])
    e_log_pi = expected_log_weights(concentration, prior_type)
    log_q = np.empty((N, K))
    completed = np.empty((N, K, D))
    conditional = np.zeros((N, K, D, D))
    missing_entropy = np.zeros((N, K))
    for i in range(N):
        o = ~np.isnan(X[i])
        m = ~o
        for k in range(K):
            P = precisions[k]
            P_oo, P_om, P_mm = P[np.ix_(o, o)], P[np.ix_(o, m)], P[np.ix_(m, m)]
            d = X[i, o] - means[k, o]
            schur = P_oo - P_om @ np.linalg.solve(P_mm, P_om.T) if m.any() else P_oo
            log_det_mm = np.linalg.slogdet(P_mm)[1] if m.any() else 0.0
            log_q[i, k] = (e_log_pi[k] + 0.5 * log_lambda[k] - 0.5 * D / beta[k] - 0.5 * o.sum() * np.log(2 * np.pi)
                           - 0.5 * log_det_mm - 0.5 * d @ schur @ d)
            row = X[i].copy()
            if m.any():
                row[m] = means[k, m] - np.linalg.solve(P_mm, P_om.T @ d)
                conditional[i, k][np.ix_(m, m)] = np.linalg.inv(P_mm)
                missing_entropy[i, k] = 0.5 * m.sum() * np.log(2 * np.pi * np.e) - 0.5 * log_det_mm
            completed[i, k] = row
    log_resp = log_q - logsumexp(log_q, axis=1)[:, None]
    resp = np.exp(log_resp)
    entropy = -(resp * log_resp).sum(axis=1) + (resp * missing_entropy).sum(axis=1)
    return resp, completed, conditional, entropy


def m_step(resp, completed, conditional, w, priors, prior_type, covariance_type, reg_covar):
    """The next posterior (concentration, beta, means, nu, covariances) from
    the expected statistics, scikit-learn's conjugate updates."""
    N, K, D = completed.shape
    wr = resp * w[:, None]
    nk = wr.sum(axis=0) + 10 * np.finfo(np.float64).eps * w.sum() / N
    xk = np.einsum("ik,ikd->kd", wr, completed) / nk[:, None]
    sk = np.empty((K, D, D))
    for k in range(K):
        diff = completed[:, k] - xk[k]
        sk[k] = (np.einsum("i,id,ie->de", wr[:, k], diff, diff) + np.einsum("i,ide->de", wr[:, k], conditional[:, k])) / nk[k]
    return conjugate_update(nk, xk, sk, priors, prior_type, covariance_type, reg_covar)


def conjugate_update(nk, xk, sk, priors, prior_type, covariance_type, reg_covar):
    """The posterior (concentration, beta, means, nu, covariances) of the
    statistics N_k (K,), xbar_k (K, D) and S_k (K, D, D) (without
    reg_covar): scikit-learn's conjugate updates."""
    gamma0, beta0, mean0, nu0, cov0 = priors
    K, D = xk.shape
    if prior_type == "dirichlet_process":
        concentration = (1.0 + nk, gamma0 + np.concatenate([np.cumsum(nk[::-1])[-2::-1], [0.0]]))
    else:
        concentration = gamma0 + nk
    beta = beta0 + nk
    means = (beta0 * mean0 + nk[:, None] * xk) / beta[:, None]
    diff = xk - mean0
    if covariance_type == "full":
        nu = nu0 + nk
        covs = np.stack([(cov0 + nk[k] * (sk[k] + reg_covar * np.eye(D) + beta0 / beta[k] * np.outer(diff[k], diff[k])))
                         / nu[k] for k in range(K)])
    elif covariance_type == "tied":
        nu = nu0 + nk.sum() / K
        tied = np.einsum("k,kde->de", nk, sk) / nk.sum() + reg_covar * np.eye(D)
        covs = (cov0 + tied * nk.sum() / K
                + beta0 / K * np.einsum("k,kd,ke->de", nk / beta, diff, diff)) / nu
    elif covariance_type == "diag":
        nu = nu0 + nk
        variances = np.diagonal(sk, axis1=1, axis2=2) + reg_covar
        covs = (cov0 + nk[:, None] * (variances + (beta0 / beta)[:, None] * diff ** 2)) / nu[:, None]
    else:
        nu = nu0 + nk
        variances = np.diagonal(sk, axis1=1, axis2=2).mean(axis=1) + reg_covar
        covs = (cov0 + nk * (variances + beta0 / beta * (diff ** 2).mean(axis=1))) / nu
    return concentration, beta, means, nu, covs


def lower_bound(entropy, w, posterior, prior_type, covariance_type, D):
    """scikit-learn's lower bound with the entropy of q(z, x_M)."""
    concentration, beta, _, nu, covariances = posterior
    K = len(beta)
    dense = dense_covariances(covariance_type, covariances, K, D)
    nus = np.broadcast_to(np.asarray(nu, dtype=np.float64), (K,))
    # log det of the precision's Cholesky factor, less D/2 log nu (scikit-learn's log_det_precisions_chol)
    log_det_chol = np.array([-0.5 * np.linalg.slogdet(dense[k])[1] - 0.5 * D * np.log(nus[k]) for k in range(K)])
    log_wishart_terms = -(nus * log_det_chol + nus * D * 0.5 * np.log(2.0)
                          + np.array([gammaln(0.5 * (nus[k] - np.arange(D))).sum() for k in range(K)]))
    log_wishart = K * log_wishart_terms[0] if covariance_type == "tied" else log_wishart_terms.sum()
    if prior_type == "dirichlet_process":
        log_norm_weight = -np.sum(betaln(*concentration))
    else:
        log_norm_weight = gammaln(np.sum(concentration)) - np.sum(gammaln(concentration))
    return float(w @ entropy - log_wishart - log_norm_weight - 0.5 * D * np.sum(np.log(beta)))


def fit(X, posterior, priors, prior_type, covariance_type, n_iter, sample_weight=None, reg_covar=1e-6):
    """n_iter iterations from posterior: (the last posterior, the lower bound of each iteration)."""
    X = np.asarray(X, dtype=np.float64)
    w = np.ones(len(X)) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
    bounds = []
    for _ in range(n_iter):
        resp, completed, conditional, entropy = e_step(X, posterior, prior_type, covariance_type)
        posterior = m_step(resp, completed, conditional, w, priors, prior_type, covariance_type, reg_covar)
        bounds.append(lower_bound(entropy, w, posterior, prior_type, covariance_type, X.shape[1]))
    return posterior, bounds
