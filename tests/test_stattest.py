"""gaussmix.stattest: BIC as PyPR defines it (higher is better)."""

import math

import numpy as np
import pytest

import gaussmix.stattest as st


@pytest.mark.parametrize("logL, M, N", [(-1234.5, 7, 1000), (10.0, 1, 2),
                                        (-3.25, 40, 123457), (0.0, 0, 10)])
def test_bic_formula(logL, M, N):
    """bic(logL, M, N) = logL - M log(N) / 2."""
    np.testing.assert_allclose(st.bic(logL, M, N), logL - M * math.log(N) / 2,
                               rtol=1e-14, atol=1e-14)


def test_bic_prefers_fewer_parameters_at_equal_likelihood():
    """More parameters at the same likelihood give a lower (worse) BIC."""
    assert st.bic(-100.0, 5, 200) > st.bic(-100.0, 6, 200)


@pytest.mark.parametrize("D, K", [(1, 1), (2, 3), (5, 4), (10, 2)])
def test_bic_gmm_formula(D, K):
    """bic_gmm counts M = (K-1) weights + K means (D each) + K full
    covariances (D(D+1)/2 each)."""
    logL, N = -2345.678, 5000
    M = (K - 1) + K * (D + D * (D + 1) / 2)
    np.testing.assert_allclose(st.bic_gmm(logL, N, D, K), logL - M * math.log(N) / 2,
                               rtol=1e-14)


def test_bic_gmm_parameter_count_example():
    """A 2-D, 3-component GMM has 2 + 3*(2+3) = 17 free parameters."""
    np.testing.assert_allclose(st.bic_gmm(0.0, 100, 2, 3), -17.0 * math.log(100) / 2,
                               rtol=1e-14)
