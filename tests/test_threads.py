"""Thread counts: set_num_threads refuses absurd values with a clear message,
and the largest count it accepts runs every parallel function (k-means and
predict used to hand it straight to OpenMP, and 40000 killed the process),
with the results of one thread."""

import numpy as np
import pytest

import gaussmix
import gaussmix.gmm as gmm
import gaussmix.kmeans as km
import reference


@pytest.mark.parametrize("n", [40000, 2**31 - 1, 2**63, -1])
def test_set_num_threads_refuses_absurd_counts(n):
    before = gaussmix.get_num_threads()
    with pytest.raises(ValueError, match=r"set_num_threads\(\): n must be in \[0, \d+\]"):
        gaussmix.set_num_threads(n)
    assert gaussmix.get_num_threads() == before


@pytest.mark.parametrize("n", [2.0, "4", True, 1j])
def test_set_num_threads_refuses_non_integers(n):
    with pytest.raises(TypeError, match=r"set_num_threads\(\): n must be an int or None"):
        gaussmix.set_num_threads(n)


def test_the_limit_is_four_per_processor_and_at_least_16():
    import os

    assert gaussmix.max_num_threads() == max(16, 4 * len(os.sched_getaffinity(0)))
    gaussmix.set_num_threads(gaussmix.max_num_threads())
    assert gaussmix.get_num_threads() == gaussmix.max_num_threads()


def test_the_largest_count_runs_everything_with_one_threads_results():
    rng = np.random.default_rng(5)
    centers, covs, p_k = reference.random_mixture(rng, 4, 3)
    X = reference.sample_mixture(rng, centers, covs, p_k, 40000)[0]
    holes = X[:5000].copy()
    holes[::3, 1] = np.nan

    def run():
        np.random.seed(0)
        return dict(
            membership=km.find_membership(X, np.stack(centers)),
            kmeans=km.kmeans(X, 4)[1],
            predict=gmm.predict(holes.copy(), centers, covs, p_k)[0],
            loglik=gmm.gm_log_likelihood(X, centers, covs, p_k),
            assign=gmm.gm_assign_to_cluster(X, centers, covs, p_k),
            fit=gmm.gmm_em_continue(X, centers, covs, p_k, max_iter=3)[3],
        )

    gaussmix.set_num_threads(1)
    one = run()
    gaussmix.set_num_threads(gaussmix.max_num_threads())
    many = run()
    for name in one:
        np.testing.assert_array_equal(many[name], one[name], err_msg=name)
    # and the values are right: the NumPy reference
    np.testing.assert_array_equal(one["membership"], reference.nearest_centre(X, np.stack(centers)))
    np.testing.assert_allclose(one["loglik"], reference.log_likelihood(X, centers, covs, p_k), rtol=1e-12)
