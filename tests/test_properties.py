"""Invariants, checked on random problems (hypothesis) and on a large input:
EM never lowers the likelihood, responsibilities sum to one, component order
does not matter, and the thread count does not change any result bit."""

import os
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import gaussmix
import gaussmix.gmm as gmm
from reference import (log_likelihood, random_spd, reference_em_continue,
                       responsibilities, sample_mixture)

# The autouse thread-count fixture in conftest.py is function scoped; it only
# restores a setting, so running it once per test (not per example) is right.
PROPS = settings(max_examples=25, deadline=None,
                 suppress_health_check=[HealthCheck.function_scoped_fixture])

problem_shape = dict(seed=st.integers(0, 2**32 - 1), K=st.integers(1, 4),
                     D=st.integers(1, 4))


def _problem(seed, K, D, per_component=80):
    """Random, well-separated-ish mixture, samples from it, and an EM start
    near (but not at) the truth."""
    rng = np.random.default_rng(seed)
    centers = [rng.uniform(-8, 8, size=D) for _ in range(K)]
    covs = [random_spd(rng, D, 0.3, 2.0) for _ in range(K)]
    p_k = rng.uniform(0.7, 1.3, size=K)
    p_k /= p_k.sum()
    X, _ = sample_mixture(rng, centers, covs, p_k, per_component * K)
    start = ([c + rng.normal(0, 0.5, size=D) for c in centers],
             [S * rng.uniform(0.5, 2.0) for S in covs],
             np.full(K, 1.0 / K))
    return X, start, rng


@PROPS
@given(**problem_shape)
def test_em_log_likelihood_never_decreases(seed, K, D):
    """With diag_add=0 EM is exact EM, so the log-likelihood of successive
    iterates (reference computation of each iterate passed to iter_call) never
    decreases, up to rounding (1e-9 |logL|)."""
    X, start, _ = _problem(seed, K, D)
    iterates = [start]
    gmm.gmm_em_continue(X, *start, max_iter=15, delta_stop=0.0, diag_add=0.0,
                        iter_call=lambda c, S, p, i: iterates.append(
                            ([np.array(x) for x in c], [np.array(x) for x in S],
                             np.array(p))))
    assert len(iterates) == 16
    Ls = [log_likelihood(X, *it) for it in iterates]
    for a, b in zip(Ls, Ls[1:]):
        assert b >= a - 1e-9 * abs(a), (a, b)
    for it in iterates[1:]:
        np.testing.assert_allclose(np.sum(it[2]), 1.0, rtol=1e-12)


@PROPS
@given(**problem_shape)
def test_responsibilities_sum_to_one(seed, K, D):
    """gmm_pdf(individual=True) / gmm_pdf are the responsibilities: rows sum
    to one and equal the reference p_nk."""
    X, (centers, covs, p_k), _ = _problem(seed, K, D, per_component=20)
    ind = gmm.gmm_pdf(X, centers, covs, p_k, individual=True)
    tot = gmm.gmm_pdf(X, centers, covs, p_k)
    ok = tot > 1e-250  # rows whose density does not underflow
    R = ind[ok] / tot[ok, None]
    np.testing.assert_allclose(R.sum(axis=1), 1.0, rtol=1e-12)
    np.testing.assert_allclose(R, responsibilities(X[ok], centers, covs, p_k),
                               rtol=1e-9, atol=1e-12)


@PROPS
@given(perm_seed=st.integers(0, 2**32 - 1), **problem_shape)
def test_component_order_does_not_matter(seed, K, D, perm_seed):
    """Permuting the components leaves gm_log_likelihood unchanged, permutes
    the columns of gmm_pdf(individual=True), relabels gm_assign_to_cluster,
    and permutes the result of gmm_em_continue."""
    X, (c, S, p), _ = _problem(seed, K, D, per_component=30)
    perm = np.random.default_rng(perm_seed).permutation(K)
    cp, Sp, pp = [c[j] for j in perm], [S[j] for j in perm], p[perm]

    L = gmm.gm_log_likelihood(X, c, S, p)
    np.testing.assert_allclose(gmm.gm_log_likelihood(X, cp, Sp, pp), L, rtol=1e-12)
    np.testing.assert_allclose(L, log_likelihood(X, c, S, p), rtol=1e-12)

    ind = gmm.gmm_pdf(X, c, S, p, individual=True)
    np.testing.assert_allclose(gmm.gmm_pdf(X, cp, Sp, pp, individual=True),
                               ind[:, perm], rtol=1e-12, atol=0)

    R = responsibilities(X, c, S, p)
    top2 = np.sort(R, axis=1)[:, -2:]
    clear = (top2[:, 1] - top2[:, 0] > 1e-9) if K > 1 else np.ones(len(X), bool)
    lab = np.asarray(gmm.gm_assign_to_cluster(X, c, S, p))
    lab_p = np.asarray(gmm.gm_assign_to_cluster(X, cp, Sp, pp))
    np.testing.assert_array_equal(perm[lab_p][clear], lab[clear])

    a = gmm.gmm_em_continue(X, c, S, p, max_iter=10, delta_stop=0.0)
    b = gmm.gmm_em_continue(X, cp, Sp, pp, max_iter=10, delta_stop=0.0)
    np.testing.assert_allclose(b[3], a[3], rtol=1e-10)
    for k in range(K):
        j = perm[k]
        np.testing.assert_allclose(b[0][k], a[0][j], rtol=1e-9, atol=1e-9)
        np.testing.assert_allclose(b[1][k], a[1][j], rtol=1e-9, atol=1e-9)
        np.testing.assert_allclose(b[2][k], a[2][j], rtol=1e-9, atol=1e-12)


# ---------------------------------------------------------------- threads
def test_set_get_num_threads_round_trip():
    """set_num_threads(n) is what get_num_threads() then reports."""
    for n in (1, 2, 3):
        gaussmix.set_num_threads(n)
        assert gaussmix.get_num_threads() == n


def test_default_thread_count_is_all_cores():
    """In a fresh interpreter (no OMP_NUM_THREADS) the default thread count is
    the number of cores available to the process."""
    env = {k: v for k, v in os.environ.items() if k != "OMP_NUM_THREADS"}
    out = subprocess.run(
        [sys.executable, "-c", "import gaussmix; print(gaussmix.get_num_threads())"],
        env=env, capture_output=True, text=True, check=True, timeout=300)
    n = int(out.stdout.strip().splitlines()[-1])
    cores = {os.cpu_count()}
    if hasattr(os, "sched_getaffinity"):
        cores.add(len(os.sched_getaffinity(0)))
    assert n in cores


def _run_all(X, start):
    """Everything that goes through the parallel core, as a dict of plain
    arrays.  EM only when there are enough rows for every component (with a
    handful of rows a fit legitimately degenerates)."""
    out = {"loglik": np.array([gmm.gm_log_likelihood(X, *start)]),
           "pdf": np.asarray(gmm.gmm_pdf(X, *start, individual=True)),
           "assign": np.asarray(gmm.gm_assign_to_cluster(X, *start))}
    if X.shape[0] >= 30 * len(start[0]):
        c, S, p, L = gmm.gmm_em_continue(X, *start, max_iter=8, delta_stop=0.0)
        out.update({f"center{k}": np.asarray(v) for k, v in enumerate(c)})
        out.update({f"cov{k}": np.asarray(v) for k, v in enumerate(S)})
        out["p_k"] = np.asarray(p)
        out["em_logL"] = np.array([L])
    return out


def _assert_bit_identical(a, b):
    assert a.keys() == b.keys()
    for key in a:
        assert a[key].shape == b[key].shape, key
        assert np.array_equal(a[key], b[key]), key  # bit-identical, not merely close


@pytest.mark.parametrize("N", [1, 7, 1000, 100003])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_thread_count_does_not_change_results(N, dtype):
    """The same input gives bit-identical EM results, log-likelihoods,
    densities and assignments with 1 and 2 threads, also for N not a multiple
    of any block or chunk size (100003 is prime)."""
    X, (c, S, p), _ = _problem(2024, 3, 3, per_component=max(N // 3 + 1, 1))
    X = X[:N].astype(dtype)
    start = (c, S, p)
    gaussmix.set_num_threads(1)
    one = _run_all(X, start)
    gaussmix.set_num_threads(2)
    two = _run_all(X, start)
    _assert_bit_identical(one, two)
    # and the shared result is right (not just consistent)
    Xd = X.astype(np.float64)
    tol = 1e-10 if dtype == np.float64 else 1e-4
    np.testing.assert_allclose(one["loglik"][0], log_likelihood(Xd, *start), rtol=tol)
    if "em_logL" in one:
        want = reference_em_continue(Xd, *start, max_iter=8, delta_stop=0.0)
        np.testing.assert_allclose(one["em_logL"][0], want[3], rtol=tol)


@PROPS
@given(N=st.integers(1, 3000), **problem_shape)
def test_thread_count_invariance_random(N, seed, K, D):
    """Bit-identical results with 1 and 2 threads on random sizes."""
    X, start, _ = _problem(seed, K, D, per_component=N // K + 1)
    X = X[:N]
    gaussmix.set_num_threads(1)
    one = _run_all(X, start)
    gaussmix.set_num_threads(2)
    two = _run_all(X, start)
    _assert_bit_identical(one, two)
