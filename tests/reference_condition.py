"""Plain NumPy transcriptions of the conditioning and divergence formulas.

Independent reference for tests/test_condition.py and tests/test_divergence.py:
it never imports gaussmix and favours the textbook form over speed (explicit
inverses, ``slogdet``, one component / one row at a time).  The formulas are
those of the contract, /work/shared/pypr-gmm-reference.md (Part 1: the block
formulas of the conditional Gaussian; Part 2: cond_dist, marg_dist, predict,
find_density_diff).
"""

import numpy as np
import reference

LOG_2PI = np.log(2.0 * np.pi)


# --------------------------------------------------------------------------
# One Gaussian
# --------------------------------------------------------------------------
def log_gauss_point(x, mu, sigma):
    """log N(x | mu, Sigma) for one point x, by explicit inverse."""
    x = np.asarray(x, dtype=np.float64).reshape(-1)
    mu = np.asarray(mu, dtype=np.float64).reshape(-1)
    sigma = np.asarray(sigma, dtype=np.float64).reshape(mu.size, mu.size)
    sign, logdet = np.linalg.slogdet(sigma)
    assert sign > 0, "reference: covariance is not positive definite"
    d = x - mu
    return -0.5 * (mu.size * LOG_2PI + logdet + d @ np.linalg.inv(sigma) @ d)


def gauss_conditional(mu, sigma, A, B, y_B):
    """Conditional of x_A given x_B = y_B for one Gaussian (block formulas).

    mu_A|B = mu_A + S_AB S_BB^-1 (y_B - mu_B)
    S_A|B  = S_AA - S_AB S_BB^-1 S_BA
    A and B are index lists; the result follows the order of A.
    """
    mu = np.asarray(mu, dtype=np.float64)
    sigma = np.asarray(sigma, dtype=np.float64)
    A = np.asarray(A, dtype=int)
    B = np.asarray(B, dtype=int)
    if B.size == 0:
        return mu[A].copy(), sigma[np.ix_(A, A)].copy()
    S_AA = sigma[np.ix_(A, A)]
    S_AB = sigma[np.ix_(A, B)]
    S_BA = sigma[np.ix_(B, A)]
    S_BB_inv = np.linalg.inv(sigma[np.ix_(B, B)])
    mean = mu[A] + S_AB @ S_BB_inv @ (np.asarray(y_B, dtype=np.float64) - mu[B])
    cov = S_AA - S_AB @ S_BB_inv @ S_BA
    return mean, cov


def gauss_conditional_precision(mu, sigma, A, B, y_B):
    """The same conditional written with the precision Lambda = Sigma^-1
    (Part 1 of the contract):

    mu_A|B = mu_A - Lambda_AA^-1 Lambda_AB (y_B - mu_B),  S_A|B = Lambda_AA^-1
    """
    mu = np.asarray(mu, dtype=np.float64)
    lam = np.linalg.inv(np.asarray(sigma, dtype=np.float64))
    A = np.asarray(A, dtype=int)
    B = np.asarray(B, dtype=int)
    lam_AA_inv = np.linalg.inv(lam[np.ix_(A, A)])
    mean = mu[A] - lam_AA_inv @ lam[np.ix_(A, B)] @ (np.asarray(y_B, dtype=np.float64) - mu[B])
    return mean, lam_AA_inv


# --------------------------------------------------------------------------
# Mixtures
# --------------------------------------------------------------------------
def split_indices(y):
    """(A, B): positions of the NaNs of y (unknown) and of the rest (known)."""
    y = np.asarray(y, dtype=np.float64).reshape(-1)
    nan = np.isnan(y)
    return np.flatnonzero(nan), np.flatnonzero(~nan)


def mixture_conditional(y, centers, covs, weights):
    """cond_dist by hand: conditional mixture over the NaN entries of y.

    Returns (means list, covs list, weights ndarray); the weights are
    mc_k N(y_B | mu_kB, S_kBB) normalised to sum to one (computed in logs).
    """
    y = np.asarray(y, dtype=np.float64).reshape(-1)
    A, B = split_indices(y)
    y_B = y[B]
    means_out, covs_out, logw = [], [], []
    for mu, S, w in zip(centers, covs, weights):
        mean, cov = gauss_conditional(mu, S, A, B, y_B)
        means_out.append(mean)
        covs_out.append(cov)
        mu = np.asarray(mu, dtype=np.float64)
        S = np.asarray(S, dtype=np.float64)
        lw = np.log(w) if w > 0 else -np.inf
        if B.size:
            lw = lw + log_gauss_point(y_B, mu[B], S[np.ix_(B, B)])
        logw.append(lw)
    logw = np.array(logw)
    top = np.max(logw)
    new_w = np.exp(logw - top)
    return means_out, covs_out, new_w / new_w.sum()


def mixture_moments(means, covs, weights):
    """Mean and covariance of a mixture (law of total variance):

    m = sum_k w_k mu_k,  C = sum_k w_k (S_k + (mu_k - m)(mu_k - m)^T)
    """
    m = sum(w * np.asarray(mu, dtype=np.float64) for w, mu in zip(weights, means))
    C = sum(w * (np.asarray(S, dtype=np.float64) + np.outer(mu - m, mu - m))
            for w, mu, S in zip(weights, means, covs))
    return m, C


def predict_row(x, centers, covs, weights):
    """predict for one row: (filled row, conditional covariance (m, m)).

    A row without NaN is returned unchanged with a (0, 0) covariance.
    """
    x = np.array(x, dtype=np.float64).reshape(-1)
    A, _ = split_indices(x)
    if A.size == 0:
        return x, np.zeros((0, 0))
    cm, cc, cw = mixture_conditional(x, centers, covs, weights)
    m, C = mixture_moments(cm, cc, cw)
    x[A] = m
    return x, C


# --------------------------------------------------------------------------
# Divergences between two Gaussians
# --------------------------------------------------------------------------
def bhattacharyya_distance(mu1, S1, mu2, S2):
    """D_B = 1/8 d^T S^-1 d + 1/2 log(det S / sqrt(det S1 det S2)), S = (S1 + S2) / 2."""
    mu1 = np.asarray(mu1, dtype=np.float64)
    mu2 = np.asarray(mu2, dtype=np.float64)
    S1 = np.asarray(S1, dtype=np.float64)
    S2 = np.asarray(S2, dtype=np.float64)
    S = 0.5 * (S1 + S2)
    d = mu1 - mu2
    _, ld = np.linalg.slogdet(S)
    _, ld1 = np.linalg.slogdet(S1)
    _, ld2 = np.linalg.slogdet(S2)
    return 0.125 * d @ np.linalg.inv(S) @ d + 0.5 * (ld - 0.5 * (ld1 + ld2))


def bhattacharyya_coefficient(mu1, S1, mu2, S2):
    """integral sqrt(p q) dx = exp(-D_B)."""
    return np.exp(-bhattacharyya_distance(mu1, S1, mu2, S2))


def kl_pypr(mu1, S1, mu2, S2):
    """PyPR's argument order: KL(N(mu2, S2) || N(mu1, S1)) =
    0.5 (tr(S1^-1 S2) + (mu1-mu2)^T S1^-1 (mu1-mu2) - D + log(det S1 / det S2))."""
    mu1 = np.asarray(mu1, dtype=np.float64)
    mu2 = np.asarray(mu2, dtype=np.float64)
    S1 = np.asarray(S1, dtype=np.float64)
    S2 = np.asarray(S2, dtype=np.float64)
    inv1 = np.linalg.inv(S1)
    d = mu1 - mu2
    _, ld1 = np.linalg.slogdet(S1)
    _, ld2 = np.linalg.slogdet(S2)
    return 0.5 * (np.trace(inv1 @ S2) + d @ inv1 @ d - mu1.size + ld1 - ld2)


def hellinger_weighted(mu1, S1, mu2, S2):
    """1 - 2 |S1|_F^(1/4) |S2|_F^(1/4) sqrt(2 pi) N(0 | mu1 - mu2, 2 S1 + 2 S2)."""
    mu1 = np.asarray(mu1, dtype=np.float64)
    mu2 = np.asarray(mu2, dtype=np.float64)
    S1 = np.asarray(S1, dtype=np.float64)
    S2 = np.asarray(S2, dtype=np.float64)
    f1 = np.sqrt(np.sum(S1 * S1))
    f2 = np.sqrt(np.sum(S2 * S2))
    dens = np.exp(log_gauss_point(np.zeros(mu1.size), mu1 - mu2, 2.0 * S1 + 2.0 * S2))
    return 1.0 - 2.0 * f1 ** 0.25 * f2 ** 0.25 * np.sqrt(2.0 * np.pi) * dens


def pairwise_upper(centers, covs, measure):
    """K x K matrix: measure(mu_i, S_i, mu_j, S_j) for i <= j, zeros below."""
    K = len(centers)
    out = np.zeros((K, K))
    for i in range(K):
        for j in range(i, K):
            out[i, j] = measure(centers[i], covs[i], centers[j], covs[j])
    return out


# --------------------------------------------------------------------------
# Random, well-conditioned problems
# --------------------------------------------------------------------------
def random_mixture(rng, K, D, spread=3.0):
    """(centers list, covs list, weights ndarray) of a random mixture, closer
    together than reference.random_mixture's default."""
    return reference.random_mixture(rng, K, D, spread=spread)


def sample_mixture(rng, centers, covs, weights, n):
    """n samples of the mixture drawn with a NumPy Generator."""
    labels = rng.choice(len(centers), size=n, p=weights)
    X = np.empty((n, len(centers[0])))
    for k in range(len(centers)):
        idx = np.flatnonzero(labels == k)
        X[idx] = rng.multivariate_normal(centers[k], covs[k], size=idx.size)
    return X
