"""Model selection statistics, as PyPR's ``pypr.stattest``."""
from __future__ import annotations

import numpy as _np

from ._validation import positive_int as _positive_int, real_number as _real_number


__all__ = ["bic", "bic_gmm"]

def bic(logL, M, N):
    """Bayesian information criterion in PyPR's convention (higher is better).

    Parameters
    ----------
    logL : float
        Log-likelihood of the data under the model; finite.
    M : int or float
        Number of free parameters of the model; finite, >= 0.
    N : int or float
        Number of samples; finite, > 0.

    Returns
    -------
    float
        ``logL - M * log(N) / 2``.
    """
    return _bic("bic", logL, M, N)


def _bic(func, logL, M, N):
    logL = _real_number(logL, func, "logL")
    M = _real_number(M, func, "M", minimum=0.0)
    N = _real_number(N, func, "N", minimum=0.0, exclusive_minimum=True)
    return logL - M * _np.log(N) / 2.0


def bic_gmm(logL, N, D, K):
    """BIC of a full-covariance Gaussian mixture with K components in D dimensions.

    The free parameters are ``M = (K - 1) + K * (D + D * (D + 1) / 2)``:
    K - 1 mixing coefficients, K means and K symmetric covariances.

    Parameters
    ----------
    logL : float
        Log-likelihood of the data under the mixture; finite.
    N : int or float
        Number of samples; finite, > 0.
    D : int
        Dimension of the data, >= 1.
    K : int
        Number of components, >= 1.

    Returns
    -------
    float
        ``bic(logL, M, N)``.
    """
    func = "bic_gmm"
    # No C int is involved, so K and D are bounded only by what a float counts exactly.
    K = _positive_int(K, func, "K", maximum=2**53)
    D = _positive_int(D, func, "D", maximum=2**53)
    M = (K - 1) + K * (D + D * (D + 1) / 2.0)
    return _bic(func, logL, M, N)
