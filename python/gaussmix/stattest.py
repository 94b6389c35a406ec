"""Model selection statistics, as PyPR's ``pypr.stattest``."""
from __future__ import annotations

import numpy as np


def bic(logL, M, N):
    """Bayesian information criterion in PyPR's convention (higher is better).

    Parameters
    ----------
    logL : float
        Log-likelihood of the data under the model.
    M : int
        Number of free parameters of the model.
    N : int
        Number of samples.

    Returns
    -------
    float
        ``logL - M * log(N) / 2``.
    """
    if N <= 0:
        raise ValueError(f"bic(): N must be a positive number of samples, got {N}")
    return logL - M * np.log(N) / 2.0


def bic_gmm(logL, N, D, K):
    """BIC of a full-covariance Gaussian mixture with K components in D dimensions.

    The free parameters are ``M = (K - 1) + K * (D + D * (D + 1) / 2)``:
    K - 1 mixing coefficients, K means and K symmetric covariances.

    Parameters
    ----------
    logL : float
        Log-likelihood of the data under the mixture.
    N : int
        Number of samples.
    D : int
        Dimension of the data.
    K : int
        Number of components.

    Returns
    -------
    float
        ``bic(logL, M, N)``.
    """
    if K < 1 or D < 1:
        raise ValueError(f"bic_gmm(): K and D must be >= 1, got K={K}, D={D}")
    M = (K - 1) + K * (D + D * (D + 1) / 2.0)
    return bic(logL, M, N)
