"""Plain NumPy transcriptions of EM under the four covariance models, with
sample weights: the independent reference of the issue-10 tests.

Like reference.py this never imports gaussmix and is written to be obviously
correct rather than fast: dense covariances, explicit inverses and
determinants, full N x K matrices, two passes (means first, then the
scatter around the *new* means). Shapes follow scikit-learn's
``covariances_``: full (K, D, D), tied (D, D), diag (K, D), spherical (K,).
"""

import numpy as np

LOG_2PI = np.log(2.0 * np.pi)
MODELS = ("full", "tied", "diag", "spherical")


# ---------------------------------------------------------------- formulas
def dense_covariances(covariance_type, covariances, K, D):
    """(K, D, D): every component's covariance as a dense matrix."""
    c = np.asarray(covariances, dtype=np.float64)
    if covariance_type == "full":
        return c.reshape(K, D, D).copy()
    if covariance_type == "tied":
        return np.repeat(c.reshape(1, D, D), K, axis=0)
    if covariance_type == "diag":
        return np.stack([np.diag(v) for v in c.reshape(K, D)])
    return np.stack([v * np.eye(D) for v in c.reshape(K)])


def log_gauss(X, mean, cov):
    """log N(x | mean, cov) per row, by explicit inverse and determinant."""
    D = mean.size
    diff = X - mean
    maha = np.einsum("ni,ij,nj->n", diff, np.linalg.inv(cov), diff)
    return -0.5 * (D * LOG_2PI + np.log(np.linalg.det(cov)) + maha)


def log_prob_components(X, weights, means, dense_covs):
    """(N, K): log w_k + log N(x_n | mean_k, cov_k)."""
    X = np.asarray(X, dtype=np.float64)
    return np.stack([np.log(weights[k]) + log_gauss(X, means[k], dense_covs[k]) for k in range(len(weights))],
                    axis=1)


def logsumexp_rows(A):
    m = A.max(axis=1, keepdims=True)
    return m[:, 0] + np.log(np.exp(A - m).sum(axis=1))


def e_step(X, weights, means, dense_covs):
    """(responsibilities (N, K), log p(x_n) (N,))."""
    A = log_prob_components(X, weights, means, dense_covs)
    lse = logsumexp_rows(A)
    return np.exp(A - lse[:, None]), lse


def m_step(X, resp, covariance_type, sample_weight=None, reg_covar=0.0):
    """The weighted M-step of the textbook, in the model's shapes:

    N_k = sum_i w_i r_ik, w_k = N_k / sum_i w_i, mu_k = sum_i w_i r_ik x_i / N_k,
    S_k = sum_i w_i r_ik (x_i - mu_k)(x_i - mu_k)^T / N_k and then
    full S_k + reg I; tied sum_k N_k S_k / sum_i w_i + reg I;
    diag diag(S_k) + reg; spherical mean(diag(S_k) + reg).
    """
    X = np.asarray(X, dtype=np.float64)
    N = X.shape[0]
    w = np.ones(N) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
    wr = resp * w[:, None]
    nk = wr.sum(axis=0)
    weights = nk / w.sum()
    means = (wr.T @ X) / nk[:, None]
    scatter = []
    for k in range(resp.shape[1]):
        diff = X - means[k]
        scatter.append((wr[:, k, None] * diff).T @ diff)  # sum_i w_i r_ik diff diff^T
    return weights, means, covariances_from_scatter(np.stack(scatter), nk, w.sum(), covariance_type, reg_covar)


def covariances_from_scatter(scatter, nk, weight_sum, covariance_type, reg_covar):
    """The model's covariances from the weighted scatters (K, D, D) around the
    new means and the components' weights nk (see m_step)."""
    D = scatter.shape[1]
    if covariance_type == "full":
        return scatter / nk[:, None, None] + reg_covar * np.eye(D)
    if covariance_type == "tied":
        return scatter.sum(axis=0) / weight_sum + reg_covar * np.eye(D)
    if covariance_type == "diag":
        return np.stack([np.diag(s) for s in scatter]) / nk[:, None] + reg_covar
    if covariance_type == "spherical":
        return (np.stack([np.diag(s) for s in scatter]) / nk[:, None] + reg_covar).mean(axis=1)
    raise ValueError(covariance_type)


def em_step(X, weights, means, covariances, covariance_type, sample_weight=None, reg_covar=0.0):
    """One E-step + M-step: (weights, means, covariances, sum_i w_i log p(x_i))."""
    K, D = np.shape(means)
    dense = dense_covariances(covariance_type, covariances, K, D)
    resp, lse = e_step(X, np.asarray(weights), np.asarray(means), dense)
    w = np.ones(len(lse)) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
    return (*m_step(X, resp, covariance_type, sample_weight, reg_covar), float(w @ lse))


def statistics(X, weights, means, covariances, covariance_type, shift, sample_weight=None):
    """The sufficient statistics around given shifts (K, D), by their definition:
    resp_sum_k = sum w r, first_k = sum w r (x - shift_k), second in the
    model's shape (full: the outer products; tied: their sum over k; diag:
    the squares; spherical: the squared norms), sum w log p, sum w, and the
    responsibilities' entropy -sum w r log r (0 log 0 = 0)."""
    X = np.asarray(X, dtype=np.float64)
    K, D = np.shape(means)
    dense = dense_covariances(covariance_type, covariances, K, D)
    resp, lse = e_step(X, np.asarray(weights), np.asarray(means), dense)
    w = np.ones(len(lse)) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
    wr = resp * w[:, None]
    first = np.stack([wr[:, k] @ (X - shift[k]) for k in range(K)])
    outer = np.stack([(wr[:, k, None] * (X - shift[k])).T @ (X - shift[k]) for k in range(K)])
    second = {"full": outer, "tied": outer.sum(axis=0),
              "diag": np.stack([np.diag(o) for o in outer]),
              "spherical": np.stack([np.trace(o) for o in outer])}[covariance_type]
    r_log_r = np.where(resp > 0, resp * np.log(np.where(resp > 0, resp, 1.0)), 0.0)
    return dict(resp_sum=wr.sum(axis=0), first=first, second=second, log_likelihood=float(w @ lse),
                weight_sum=float(w.sum()), latent_entropy=-float(w @ r_log_r.sum(axis=1)))


def model_covariances(covariance_type, dense_covs):
    """Dense (K, D, D) covariances cut down to a model's parameters (for starts):
    full as is, tied their mean, diag the diagonals, spherical their mean."""
    dense_covs = np.asarray(dense_covs, dtype=np.float64)
    if covariance_type == "full":
        return dense_covs.copy()
    if covariance_type == "tied":
        return dense_covs.mean(axis=0)
    diag = np.diagonal(dense_covs, axis1=1, axis2=2)
    return diag.copy() if covariance_type == "diag" else diag.mean(axis=1)


def precisions(covariance_type, covariances):
    """scikit-learn's precisions_init for the model's covariances: inverse
    matrices for full (K, D, D) and tied (D, D), 1 / variances for diag
    (K, D) and spherical (K,)."""
    c = np.asarray(covariances, dtype=np.float64)
    if covariance_type in ("full", "tied"):
        return np.linalg.inv(c)
    return 1.0 / c


def clustered(rng, n, centres, sds, weights=None):
    """n rows from Gaussian clusters: centres (K, D), per-cluster sds (K,) or (K, D),
    cluster k with probability weights[k] (uniform if None), a random rotation
    of each cluster's noise so that full covariances are not diagonal."""
    centres = np.asarray(centres, dtype=np.float64)
    K, D = centres.shape
    p = np.full(K, 1.0 / K) if weights is None else np.asarray(weights)
    labels = rng.choice(K, size=n, p=p)
    sds = np.broadcast_to(np.asarray(sds, dtype=np.float64).reshape(K, -1), (K, D))
    X = np.empty((n, D))
    for k in range(K):
        q, _ = np.linalg.qr(rng.standard_normal((D, D)))
        idx = labels == k
        X[idx] = centres[k] + (rng.standard_normal((idx.sum(), D)) * sds[k]) @ q.T
    return X


def start_for(covariance_type, X, K, seed):
    """A deterministic start: K distinct rows of X as means, the data
    covariance times 0.5, 0.8, 1.1, ... for the components (in the model's
    shape), weights 1, 2, 3, ... normalised."""
    rng = np.random.default_rng(seed)
    N, D = X.shape
    means = X[rng.choice(N, size=K, replace=False)].copy()
    C = np.atleast_2d(np.cov(X.T, bias=True))
    dense = np.stack([(0.5 + 0.3 * k) * C for k in range(K)])
    weights = np.arange(1.0, K + 1.0)
    return weights / weights.sum(), means, model_covariances(covariance_type, dense)


# ---------------------------------------------------------------- test problems
def assert_close(got, want, rtol, what=""):
    """Relative to the array's scale: |got - want| <= rtol (|want| + max|want|)."""
    want = np.asarray(want, dtype=np.float64)
    np.testing.assert_allclose(got, want, rtol=rtol, atol=rtol * np.abs(want).max(), err_msg=what)


CENTRES = np.array([[0.0, 0.0, 0.0], [5.0, 1.0, -2.0], [1.0, 6.0, 3.0]])
SDS = np.array([1.0, 0.7, 1.5])
FAR = 600.0


def problem(seed, far=False, n=600):
    """Three clusters in R^3 (rotated noise, so full covariances are not
    diagonal) and start means near them. far=True moves the third (the
    lightest) cluster 600 away, hundreds of sds: its component's statistics
    are then taken around its own mean (the core's per-component path) while
    the other two share the mixture's mean (the common-shift path); both
    paths run in one pass (checked in test_statistics_are_their_definition)."""
    rng = np.random.default_rng(seed)
    centres = CENTRES.copy()
    if far:
        centres[2, 0] += FAR
    X = clustered(rng, n, centres, SDS, weights=[0.5, 0.3, 0.2])
    start_means = centres + 0.4 * rng.standard_normal(centres.shape)
    return X, start_means


def start(covariance_type, X, means):
    """Weights 0.5, 0.3, 0.2; component k's covariance (0.6 + 0.4k) times a tilted
    matrix, in the model's shape (tied: their mean; diag: the diagonals;
    spherical: the mean diagonal)."""
    D = X.shape[1]
    tilt = np.eye(D) + 0.3 * (np.ones((D, D)) - np.eye(D))
    dense = np.stack([(0.6 + 0.4 * k) * tilt for k in range(len(means))])
    return np.array([0.5, 0.3, 0.2]), means.copy(), model_covariances(covariance_type, dense)
