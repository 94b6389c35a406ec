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


@pytest.mark.parametrize("args, error, message", [
    ((-100.0, 5, np.nan), ValueError, "bic(): N must be finite, got nan"),
    ((-100.0, 5, np.inf), ValueError, "bic(): N must be finite, got inf"),
    ((-100.0, 5, 0), ValueError, "bic(): N must be > 0.0, got 0.0"),
    ((-100.0, 5, -3), ValueError, "bic(): N must be > 0.0, got -3.0"),
    ((np.nan, 5, 10), ValueError, "bic(): logL must be finite, got nan"),
    ((-np.inf, 5, 10), ValueError, "bic(): logL must be finite, got -inf"),
    ((-100.0, -1, 10), ValueError, "bic(): M must be >= 0.0, got -1.0"),
    ((-100.0, np.nan, 10), ValueError, "bic(): M must be finite, got nan"),
    ((-100.0, "5", 10), TypeError, "bic(): M must be a real number, got the string '5'"),
    ((1j, 5, 10), TypeError, "bic(): logL must be a real number, got the complex value 1j"),
])
def test_bic_rejects_bad_arguments(args, error, message):
    """Non-finite, out-of-range, text or complex arguments raise instead of
    returning nan or a meaningless number."""
    with pytest.raises(error) as info:
        st.bic(*args)
    assert str(info.value) == message


@pytest.mark.parametrize("kwargs, error, message", [
    (dict(K=2.5), TypeError, "bic_gmm(): K must be an integer, got 2.5"),
    (dict(D=1.5), TypeError, "bic_gmm(): D must be an integer, got 1.5"),
    (dict(K=0), ValueError, "bic_gmm(): K must be in [1, 9007199254740992], got 0"),
    (dict(D=-2), ValueError, "bic_gmm(): D must be in [1, 9007199254740992], got -2"),
    (dict(K=True), TypeError, "bic_gmm(): K must be an integer, got a bool"),
    (dict(N=np.nan), ValueError, "bic_gmm(): N must be finite, got nan"),
    (dict(N=0), ValueError, "bic_gmm(): N must be > 0.0, got 0.0"),
    (dict(logL=np.nan), ValueError, "bic_gmm(): logL must be finite, got nan"),
])
def test_bic_gmm_rejects_bad_arguments(kwargs, error, message):
    """bic_gmm validates its own arguments and names itself in the message."""
    args = dict(logL=-100.0, N=200, D=2, K=3)
    args.update(kwargs)
    with pytest.raises(error) as info:
        st.bic_gmm(**args)
    assert str(info.value) == message


def test_bic_accepts_integral_float_counts():
    """K and D given as whole floats (e.g. from a NumPy array) are counts:
    the same value as with ints, from the formula."""
    M = (3 - 1) + 3 * (2 + 2 * 3 / 2)
    np.testing.assert_allclose(st.bic_gmm(-10.0, 50.0, 2.0, 3.0), -10.0 - M * math.log(50) / 2,
                               rtol=1e-14)
