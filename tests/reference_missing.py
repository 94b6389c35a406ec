"""A plain NumPy transcription of EM with missing values (Ghahramani &
Jordan, 1994): the independent reference of the missing-data tests.

Obviously correct rather than fast, and never imports gaussmix: a loop over
the rows, each row's observed and missing index sets, its marginal density
on the observed coordinates by explicit inverse and determinant, the
conditional mean and covariance of its missing coordinates from
np.linalg.solve, then the textbook M-step on the expected complete-data
statistics. Shapes follow scikit-learn's covariances_.

reg_covar (r) is the penalty of gaussmix's objective (gaussmix/_missing.py):
row i's term for component k is w_k N(x_O | mu_kO, S_kOO) times
exp(-(r/2) sum_{j in O} (S_k^{-1})_jj), S_k^{-1} by explicit inverse, and the
M-step's covariance is (scatter_k + conditional covariances_k + r D_k) / N_k,
D_k = sum_i w_i r_ik diag(1 where row i is observed).
"""

import numpy as np

from model_reference import covariances_from_scatter, dense_covariances, log_gauss, logsumexp_rows


def expected_statistics(X, weights, means, covariances, covariance_type, reg_covar=0.0):
    """(resp (N, K), each row's log sum_k of its penalised terms (N,),
    completed rows (N, K, D), conditional covariances (N, K, D, D), zero
    outside each row's missing block)."""
    X = np.asarray(X, dtype=np.float64)
    N, D = X.shape
    K = len(weights)
    dense = dense_covariances(covariance_type, covariances, K, D)
    log_p = np.empty((N, K))
    completed = np.empty((N, K, D))
    conditional = np.zeros((N, K, D, D))
    for i in range(N):
        o = ~np.isnan(X[i])
        m = ~o
        for k in range(K):
            S, mu = dense[k], np.asarray(means[k], dtype=np.float64)
            S_oo, S_mo, S_mm = S[np.ix_(o, o)], S[np.ix_(m, o)], S[np.ix_(m, m)]
            diff = X[i, o] - mu[o]
            penalty = 0.5 * reg_covar * np.diag(np.linalg.inv(S))[o].sum()
            log_p[i, k] = np.log(weights[k]) + log_gauss(X[i, o][None, :], mu[o], S_oo)[0] - penalty
            row = X[i].copy()
            row[m] = mu[m] + S_mo @ np.linalg.solve(S_oo, diff)
            completed[i, k] = row
            conditional[i, k][np.ix_(m, m)] = S_mm - S_mo @ np.linalg.solve(S_oo, S_mo.T)
    lse = logsumexp_rows(log_p)
    return np.exp(log_p - lse[:, None]), lse, completed, conditional


def em_step(X, weights, means, covariances, covariance_type, sample_weight=None, reg_covar=0.0):
    """One E-step + M-step on X with NaN: (weights, means, covariances,
    sum_i w_i log sum_k (row i's penalised term) under the parameters given)."""
    N, D = np.shape(X)
    resp, lse, completed, conditional = expected_statistics(X, weights, means, covariances, covariance_type,
                                                            reg_covar)
    w = np.ones(N) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
    wr = resp * w[:, None]
    nk = wr.sum(axis=0)
    new_weights = nk / w.sum()
    new_means = np.einsum("nk,nkd->kd", wr, completed) / nk[:, None]
    observed = (~np.isnan(np.asarray(X, dtype=np.float64))).astype(np.float64)
    scatter = np.stack([
        np.einsum("n,ni,nj->ij", wr[:, k], completed[:, k] - new_means[k], completed[:, k] - new_means[k])
        + np.einsum("n,nij->ij", wr[:, k], conditional[:, k])
        + reg_covar * np.diag(wr[:, k] @ observed)
        for k in range(len(nk))])
    covs = covariances_from_scatter(scatter, nk, w.sum(), covariance_type, 0.0)
    return new_weights, new_means, covs, float(w @ lse)


def fit(X, weights, means, covariances, covariance_type, n_iter, sample_weight=None, reg_covar=0.0):
    """n_iter iterations: (weights, means, covariances, [mean penalised
    observed-data log-likelihood before each M-step])."""
    w = np.ones(len(X)) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
    bounds = []
    for _ in range(n_iter):
        weights, means, covariances, total = em_step(X, weights, means, covariances, covariance_type,
                                                     sample_weight, reg_covar)
        bounds.append(total / w.sum())
    return weights, means, covariances, bounds
