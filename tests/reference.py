"""Plain NumPy transcriptions of the formulas gaussmix must reproduce.

This module is the independent reference of the test-suite: it never imports
gaussmix, and it is written to be *obviously* correct rather than fast (explicit
inverses, ``slogdet``, full N x K matrices).  Every formula below is taken from
the contract in ``/work/shared/pypr-gmm-reference.md`` (PyPR's documentation
plus the behaviour of PyPR 0.1.1 listed in its Part 2).
"""

import numpy as np

LOG_2PI = np.log(2.0 * np.pi)


# --------------------------------------------------------------------------
# Gaussian densities
# --------------------------------------------------------------------------
def log_gauss(X, mu, sigma):
    """log N(x | mu, Sigma) for each row of X (N, D), by explicit inverse.

    log N = -1/2 (D log 2pi + log|Sigma| + (x-mu)^T Sigma^-1 (x-mu))
    """
    X = np.atleast_2d(np.asarray(X, dtype=np.float64))
    mu = np.asarray(mu, dtype=np.float64).reshape(-1)
    sigma = np.asarray(sigma, dtype=np.float64).reshape(mu.size, mu.size)
    D = mu.size
    sign, logdet = np.linalg.slogdet(sigma)
    assert sign > 0, "reference: covariance is not positive definite"
    inv = np.linalg.inv(sigma)
    diff = X - mu
    maha = np.einsum("ni,ij,nj->n", diff, inv, diff)
    return -0.5 * (D * LOG_2PI + logdet + maha)


def log_weighted_components(X, centers, covs, p_k):
    """(N, K) matrix with entries log p_k + log N(x_n | mu_k, Sigma_k)."""
    X = np.atleast_2d(np.asarray(X, dtype=np.float64))
    K = len(centers)
    out = np.empty((X.shape[0], K))
    for k in range(K):
        out[:, k] = np.log(p_k[k]) + log_gauss(X, centers[k], covs[k])
    return out


def logsumexp_rows(A):
    """Row-wise log(sum(exp(A))) with the max subtracted first (log-sum-exp)."""
    m = np.max(A, axis=1, keepdims=True)
    return (m + np.log(np.sum(np.exp(A - m), axis=1, keepdims=True)))[:, 0]


def mixture_logpdf(X, centers, covs, p_k):
    """log p(x_n) of the mixture for each row, via log-sum-exp."""
    return logsumexp_rows(log_weighted_components(X, centers, covs, p_k))


def log_likelihood(X, centers, covs, p_k):
    """Total (not mean) log-likelihood sum_n log p(x_n)."""
    return float(np.sum(mixture_logpdf(X, centers, covs, p_k)))


def responsibilities(X, centers, covs, p_k):
    """(N, K) matrix p_nk = p_k N(x_n|k) / p(x_n) (rows sum to one)."""
    A = log_weighted_components(X, centers, covs, p_k)
    return np.exp(A - logsumexp_rows(A)[:, None])


# --------------------------------------------------------------------------
# EM (PyPR's gmm_em_continue, Part 2 of the reference)
# --------------------------------------------------------------------------
def em_iteration(X, centers, covs, p_k, diag_add=1e-3):
    """One E-step + one M-step.

    Returns (new_centers, new_covs, new_p_k, logL) where logL is the total
    log-likelihood of X under the parameters the iteration *started from*.

    M-step, exactly as the reference says:
      mu_k    = sum_n p_nk x_n / sum_n p_nk
      Sigma_k = sum_n p_nk (x_n - mu_k)(x_n - mu_k)^T / sum_n p_nk   (NEW mu_k)
                + diag_add * var(X, axis=0) on the diagonal
      p_k     = sum_n p_nk / N
    """
    X = np.asarray(X, dtype=np.float64)
    N, D = X.shape
    A = log_weighted_components(X, centers, covs, p_k)
    lse = logsumexp_rows(A)
    logL = float(np.sum(lse))
    R = np.exp(A - lse[:, None])
    var = np.var(X, axis=0)
    new_centers, new_covs = [], []
    new_p_k = np.empty(len(centers))
    for k in range(len(centers)):
        r = R[:, k]
        rs = np.sum(r)
        mu = (r @ X) / rs
        diff = X - mu
        cov = (diff * r[:, None]).T @ diff / rs
        if diag_add != 0:
            cov = cov + np.diag(diag_add * var)
        new_centers.append(mu)
        new_covs.append(cov)
        new_p_k[k] = rs / N
    return new_centers, new_covs, new_p_k, logL


def reference_em_continue(X, centers, covs, p_k, max_iter=50, delta_stop=1e-6,
                          diag_add=1e-3, delta_stop_count_end=10,
                          iter_call=None):
    """PyPR's gmm_em_continue loop with its stopping rule.

    Stops when |logL - old_logL| < delta_stop in ``delta_stop_count_end``
    consecutive iterations (old_logL starts undefined, so the first iteration
    never counts), or after ``max_iter`` iterations.  ``iter_call`` gets the
    new parameters and the 0-based iteration index after each iteration.
    Returns (centers, covs, p_k, logL) with logL from the last iteration.
    """
    centers = [np.array(c, dtype=np.float64) for c in centers]
    covs = [np.array(c, dtype=np.float64) for c in covs]
    p_k = np.array(p_k, dtype=np.float64)
    old_logL = np.nan
    count = 0
    logL = np.nan
    for i in range(max_iter):
        centers, covs, p_k, logL = em_iteration(X, centers, covs, p_k, diag_add)
        if iter_call is not None:
            iter_call(centers, covs, p_k, i)
        if abs(logL - old_logL) < delta_stop:
            count += 1
        else:
            count = 0
        if count >= delta_stop_count_end:
            break
        old_logL = logL
    return centers, covs, p_k, logL


# --------------------------------------------------------------------------
# k-means helpers (PyPR's pypr.clustering.kmeans)
# --------------------------------------------------------------------------
def distances(X, c):
    """(N, 1) column of Euclidean distances from each row of X to c."""
    X = np.asarray(X, dtype=np.float64)
    c = np.asarray(c, dtype=np.float64).reshape(-1)
    return np.sqrt(np.sum((X - c) ** 2, axis=1)).reshape(-1, 1)


def nearest_centre(X, cc):
    """Index of the nearest centre (Euclidean) for each row of X."""
    X = np.asarray(X, dtype=np.float64)
    cc = np.asarray(cc, dtype=np.float64)
    d2 = ((X[:, None, :] - cc[None, :, :]) ** 2).sum(axis=2)
    return np.argmin(d2, axis=1)


def member_means(X, K, m):
    """(K, D) means of the members of each cluster; NaN row if empty."""
    X = np.asarray(X, dtype=np.float64)
    out = np.full((K, X.shape[1]), np.nan)
    for k in range(K):
        rows = X[np.asarray(m) == k]
        if rows.shape[0] > 0:
            out[k] = rows.sum(axis=0) / rows.shape[0]
    return out


def intra_cluster_distance_sum(X, m, cc):
    """Sum over clusters of the Euclidean distances of members to centre."""
    X = np.asarray(X, dtype=np.float64)
    total = 0.0
    for k in range(len(cc)):
        rows = X[np.asarray(m) == k]
        if rows.shape[0] > 0:
            total += float(np.sum(np.sqrt(np.sum((rows - cc[k]) ** 2, axis=1))))
    return total


# --------------------------------------------------------------------------
# Data helpers shared by the tests (random but well-conditioned problems)
# --------------------------------------------------------------------------
def random_spd(rng, D, min_eig=0.3, max_eig=3.0):
    """A random symmetric positive definite matrix with eigenvalues in
    [min_eig, max_eig] (well conditioned)."""
    Q, _ = np.linalg.qr(rng.standard_normal((D, D)))
    lam = rng.uniform(min_eig, max_eig, size=D)
    S = (Q * lam) @ Q.T
    return 0.5 * (S + S.T)


def random_mixture(rng, K, D, spread=6.0):
    """Random mixture parameters (centers list, covs list, p_k array)."""
    centers = [rng.uniform(-spread, spread, size=D) for _ in range(K)]
    covs = [random_spd(rng, D) for _ in range(K)]
    p_k = rng.uniform(0.5, 1.5, size=K)
    p_k = p_k / p_k.sum()
    return centers, covs, p_k


def sample_mixture(rng, centers, covs, p_k, n):
    """n samples from a Gaussian mixture using a NumPy Generator (independent
    of gaussmix's sampler)."""
    K = len(centers)
    labels = rng.choice(K, size=n, p=p_k)
    X = np.empty((n, len(centers[0])))
    for k in range(K):
        idx = np.flatnonzero(labels == k)
        X[idx] = rng.multivariate_normal(centers[k], covs[k], size=idx.size)
    return X, labels
