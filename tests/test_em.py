"""EM: gmm_em_continue, em/em_gm, gmm_init, sample_gaussian_mixture,
Cov_problem, against the NumPy transcription in reference.py (and closed forms
or scipy where one exists)."""

import re

import numpy as np
import pytest
from scipy import stats

import gaussmix.gmm as gmm
from helpers import assert_unchanged, snapshot
from reference import (em_iteration, log_likelihood, random_mixture,
                       reference_em_continue, sample_mixture)

EM_RTOL = 1e-9


# ---------------------------------------------------------------- helpers
def _dataset(seed, K, D, N=400, spread=4.0):
    rng = np.random.default_rng(seed)
    centers, covs, p_k = random_mixture(rng, K, D, spread=spread)
    X, _ = sample_mixture(rng, centers, covs, p_k, N)
    return X


def _start(X, K, seed):
    """A deterministic, independent EM start: K distinct rows of X as means,
    the data covariance for every component, uniform weights."""
    rng = np.random.default_rng(seed)
    N, D = X.shape
    rows = rng.choice(N, size=K, replace=False)
    centers = [X[r].copy() for r in rows]
    C = np.cov(X.T, bias=True).reshape(D, D)
    covs = [C.copy() for _ in range(K)]
    p_k = np.full(K, 1.0 / K)
    return centers, covs, p_k


def _assert_params_close(got, want, scale, rtol=EM_RTOL):
    gc, gS, gp = got[:3]
    wc, wS, wp = want[:3]
    assert len(gc) == len(wc) and len(gS) == len(wS)
    for k in range(len(wc)):
        np.testing.assert_allclose(gc[k], wc[k], rtol=rtol, atol=rtol * scale)
        np.testing.assert_allclose(gS[k], wS[k], rtol=rtol,
                                   atol=rtol * np.max(np.abs(wS[k])))
    np.testing.assert_allclose(gp, wp, rtol=rtol, atol=rtol)


class Recorder:
    """An iter_call that keeps copies of everything it is given."""

    def __init__(self):
        self.calls = []

    def __call__(self, center_list, cov_list, p_k, i):
        self.calls.append(([np.array(c) for c in center_list],
                           [np.array(c) for c in cov_list],
                           np.array(p_k), i))


def _check_return_types(res, K, D):
    center_list, cov_list, p_k, logL = res
    assert isinstance(center_list, list) and len(center_list) == K
    assert isinstance(cov_list, list) and len(cov_list) == K
    for c, S in zip(center_list, cov_list):
        assert isinstance(c, np.ndarray) and c.shape == (D,) and c.dtype == np.float64
        assert isinstance(S, np.ndarray) and S.shape == (D, D) and S.dtype == np.float64
    p_k = np.asarray(p_k)
    assert p_k.shape == (K,) and p_k.dtype == np.float64
    assert isinstance(logL, float)


# ---------------------------------------------------------------- gmm_em_continue vs reference
@pytest.mark.parametrize("D, K, seed", [(1, 1, 1), (1, 3, 2), (2, 3, 3), (5, 4, 4), (20, 3, 5), (17, 18, 6)])
def test_em_continue_matches_reference_full_run(D, K, seed):
    """From the same start, 40 iterations of gmm_em_continue (delta_stop=0, so
    the stopping rule never fires) give the same iterates, final parameters
    and logL as the NumPy transcription, to 1e-9 relative; every iteration's
    parameters passed to iter_call match too; the inputs are not modified."""
    X = _dataset(seed, K, D)
    start = _start(X, K, seed)
    scale = np.max(np.abs(X))
    before = snapshot(X, *start)
    rec = Recorder()
    got = gmm.gmm_em_continue(X, *start, max_iter=40, delta_stop=0.0,
                              iter_call=rec)
    assert_unchanged(before, X, *start)
    ref_rec = Recorder()
    want = reference_em_continue(X, *start, max_iter=40, delta_stop=0.0,
                                 iter_call=ref_rec)
    _check_return_types(got, K, D)
    _assert_params_close(got, want, scale)
    np.testing.assert_allclose(got[3], want[3], rtol=EM_RTOL)
    assert [c[3] for c in rec.calls] == list(range(40))
    for g, w in zip(rec.calls, ref_rec.calls):
        _assert_params_close(g, w, scale)


@pytest.mark.parametrize("diag_add", [0.0, 1e-3, 0.1])
def test_em_continue_diag_add(diag_add):
    """diag_add * var(X, axis=0) is added to every covariance diagonal in the
    M-step; diag_add=0 adds nothing (PyPR crashed there)."""
    X = _dataset(21, 3, 3)
    start = _start(X, 3, 21)
    got = gmm.gmm_em_continue(X, *start, max_iter=30, delta_stop=0.0,
                              diag_add=diag_add)
    want = reference_em_continue(X, *start, max_iter=30, delta_stop=0.0,
                                 diag_add=diag_add)
    _assert_params_close(got, want, np.max(np.abs(X)))
    np.testing.assert_allclose(got[3], want[3], rtol=EM_RTOL)


def test_em_continue_single_iteration_logL_is_of_start_parameters():
    """The returned logL is the total log-likelihood under the parameters the
    last iteration started from: with max_iter=1 that is the start."""
    X = _dataset(5, 2, 2)
    start = _start(X, 2, 5)
    got = gmm.gmm_em_continue(X, *start, max_iter=1)
    np.testing.assert_allclose(got[3], log_likelihood(X, *start), rtol=1e-12)
    want = em_iteration(X, *start, diag_add=1e-3)
    _assert_params_close(got, want, np.max(np.abs(X)))


def test_em_continue_logL_is_of_last_iteration_start():
    """After n iterations, logL is the likelihood of the (n-1)-th iterate,
    i.e. of the parameters passed to iter_call at i = n-2."""
    X = _dataset(6, 3, 2)
    start = _start(X, 3, 6)
    rec = Recorder()
    got = gmm.gmm_em_continue(X, *start, max_iter=12, delta_stop=0.0, iter_call=rec)
    prev = rec.calls[-2]
    np.testing.assert_allclose(got[3], log_likelihood(X, *prev[:3]), rtol=1e-11)


def test_em_continue_early_stop_matches_reference():
    """With a stopping threshold that fires, gmm_em_continue stops after the
    same number of iterations as PyPR's rule (|dlogL| < delta_stop in
    delta_stop_count_end consecutive iterations), observed via iter_call."""
    X = _dataset(8, 3, 2, N=500)
    start = _start(X, 3, 8)
    delta_stop, count_end = 1e-2, 3
    # well-posedness: no |dlogL| is within rounding distance of delta_stop
    full = Recorder()
    reference_em_continue(X, *start, max_iter=300, delta_stop=0.0, iter_call=full)
    Ls = [log_likelihood(X, *c[:3]) for c in full.calls]
    assert min(abs(abs(b - a) - delta_stop) for a, b in zip(Ls, Ls[1:])) > 1e-7

    ref_rec = Recorder()
    want = reference_em_continue(X, *start, max_iter=300, delta_stop=delta_stop,
                                 delta_stop_count_end=count_end, iter_call=ref_rec)
    n_ref = len(ref_rec.calls)
    assert count_end < n_ref < 300, "test data must make the rule fire early"
    rec = Recorder()
    got = gmm.gmm_em_continue(X, *start, max_iter=300, delta_stop=delta_stop,
                              delta_stop_count_end=count_end, iter_call=rec)
    assert len(rec.calls) == n_ref
    _assert_params_close(got, want, np.max(np.abs(X)))
    np.testing.assert_allclose(got[3], want[3], rtol=EM_RTOL)


def test_em_continue_stop_counter_resets():
    """The small-change counter counts *consecutive* iterations: EM started
    near the saddle of a symmetric two-cluster problem first creeps (changes
    below delta_stop for ~20 iterations), then escapes (large changes), then
    converges.  The run must go on past the plateau and stop exactly where
    PyPR's rule stops, not after delta_stop_count_end small changes in all."""
    rng = np.random.default_rng(0)
    X = np.concatenate([rng.normal(-2, 1, 150), rng.normal(2, 1, 150)])[:, None]
    start = ([np.array([0.0]), np.array([0.5])], [np.array([[5.0]])] * 2,
             np.array([0.5, 0.5]))
    delta_stop, count_end = 5e-4, 30

    full = Recorder()
    reference_em_continue(X, *start, max_iter=400, delta_stop=0.0, iter_call=full)
    Ls = [log_likelihood(X, *start)] + [log_likelihood(X, *c[:3]) for c in full.calls]
    small = np.abs(np.diff(Ls)) < delta_stop
    assert np.min(np.abs(np.abs(np.diff(Ls)) - delta_stop)) > 1e-7  # well posed
    ref_rec = Recorder()
    want = reference_em_continue(X, *start, max_iter=400, delta_stop=delta_stop,
                                 delta_stop_count_end=count_end, iter_call=ref_rec)
    n_ref = len(ref_rec.calls)
    # precondition: a run of >= 10 small changes was interrupted by a large one
    # before the end, and in total more than count_end small changes occurred
    assert np.sum(small[1:n_ref]) > count_end + 10
    rec = Recorder()
    got = gmm.gmm_em_continue(X, *start, max_iter=400, delta_stop=delta_stop,
                              delta_stop_count_end=count_end, iter_call=rec)
    assert len(rec.calls) == n_ref
    _assert_params_close(got, want, np.max(np.abs(X)))


def test_em_continue_stops_at_max_iter():
    """Without convergence the loop runs exactly max_iter iterations."""
    X = _dataset(9, 2, 2)
    start = _start(X, 2, 9)
    rec = Recorder()
    gmm.gmm_em_continue(X, *start, max_iter=7, delta_stop=0.0, iter_call=rec)
    assert [c[3] for c in rec.calls] == list(range(7))


def test_iter_call_three_argument_form():
    """iter_call may take (center_list, cov_list, i), as in PyPR's example."""
    X = _dataset(10, 2, 2)
    start = _start(X, 2, 10)
    seen = []

    def cb(center_list, cov_list, i):
        seen.append(([np.array(c) for c in center_list],
                     [np.array(c) for c in cov_list], i))

    gmm.gmm_em_continue(X, *start, max_iter=5, delta_stop=0.0, iter_call=cb)
    ref = Recorder()
    reference_em_continue(X, *start, max_iter=5, delta_stop=0.0, iter_call=ref)
    assert [s[2] for s in seen] == list(range(5))
    for s, r in zip(seen, ref.calls):
        for k in range(2):
            np.testing.assert_allclose(s[0][k], r[0][k], rtol=EM_RTOL, atol=1e-12)
            np.testing.assert_allclose(s[1][k], r[1][k], rtol=EM_RTOL, atol=1e-12)


def test_em_continue_verbose_prints_one_line_per_iteration(capsys):
    """verbose=True prints exactly one line per iteration run, each line
    containing its iteration number (0- or 1-based), also when the stopping
    rule ends the run early."""
    X = _dataset(8, 3, 2, N=500)
    start = _start(X, 3, 8)
    rec = Recorder()
    gmm.gmm_em_continue(X, *start, max_iter=300, delta_stop=1e-2,
                        delta_stop_count_end=3, iter_call=rec, verbose=True)
    n = len(rec.calls)
    assert 3 < n < 300
    lines = [ln for ln in capsys.readouterr().out.splitlines() if ln.strip()]
    assert len(lines) == n
    for j, line in enumerate(lines):
        numbers = {int(t) for t in re.findall(r"\d+", line)}
        assert j in numbers or j + 1 in numbers, line


def test_verbose_lines_give_the_log_likelihood_per_row_and_no_first_change(capsys):
    """The first line is the start's (no change to report), every line the
    log-likelihood per row of the parameters its iteration started from,
    and from the second on its change, and the seconds so far."""
    X = _dataset(8, 3, 2, N=500)
    start = _start(X, 3, 8)
    centers, covs, p_k = start
    gmm.gmm_em_continue(X, *start, max_iter=3, delta_stop=-1.0, verbose=True)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 3
    assert "(the start)" in lines[0] and "change" not in lines[0]
    per_row = [float(re.search(r"per row\s+(\S+)", line).group(1)) for line in lines]
    assert per_row[0] == pytest.approx(log_likelihood(X, centers, covs, p_k) / len(X), rel=1e-5)
    change = float(re.search(r"change (\S+)", lines[1]).group(1))
    assert change == pytest.approx(per_row[1] - per_row[0], rel=1e-3)
    assert all(re.search(r"\d+\.\d\d s$", line) for line in lines)


def test_em_continue_silent_by_default(capsys):
    """verbose=False prints nothing (PyPR's debug prints are not kept)."""
    X = _dataset(8, 2, 2)
    gmm.gmm_em_continue(X, *_start(X, 2, 8), max_iter=5)
    gmm.gm_assign_to_cluster(X, *_start(X, 2, 8))
    assert capsys.readouterr().out == ""


def test_em_continue_k1_is_sample_mean_and_covariance():
    """With K=1 one EM step is closed form: the sample mean and the biased
    sample covariance (np.cov(bias=True)) plus diag_add*var(X), p_k = [1]."""
    rng = np.random.default_rng(12)
    X = rng.multivariate_normal([1.0, -2.0, 0.5], [[2, .3, 0], [.3, 1, .2], [0, .2, .5]], 300)
    start = ([np.zeros(3)], [np.eye(3)], np.array([1.0]))
    c, S, p, _ = gmm.gmm_em_continue(X, *start, max_iter=3, delta_stop=0.0, diag_add=0.05)
    np.testing.assert_allclose(c[0], X.mean(axis=0), rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(S[0], np.cov(X.T, bias=True) + np.diag(0.05 * X.var(axis=0)),
                               rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(p, [1.0], rtol=1e-15)


def test_em_continue_accepts_lists():
    """Parameters given as nested Python lists are accepted (PyPR style)."""
    X = _dataset(13, 2, 2)
    c, S, p = _start(X, 2, 13)
    got = gmm.gmm_em_continue(X.tolist(), [x.tolist() for x in c],
                              [s.tolist() for s in S], p.tolist(),
                              max_iter=10, delta_stop=0.0)
    want = reference_em_continue(X, c, S, p, max_iter=10, delta_stop=0.0)
    _assert_params_close(got, want, np.max(np.abs(X)))


# ---------------------------------------------------------------- Cov_problem
def test_cov_problem_is_an_exception_class():
    assert issubclass(gmm.Cov_problem, Exception)


def test_em_continue_singular_start_raises_cov_problem():
    """A singular covariance met by EM raises Cov_problem (not a crash, not
    NaNs)."""
    X = _dataset(14, 2, 2)
    c, S, p = _start(X, 2, 14)
    S = [S[0], np.zeros((2, 2))]
    with pytest.raises(gmm.Cov_problem):
        gmm.gmm_em_continue(X, c, S, p, max_iter=5)


def test_em_continue_zero_mass_component_raises_cov_problem():
    """A component that gets exactly zero responsibility mass (its density
    underflows for every sample) raises Cov_problem instead of returning NaN."""
    rng = np.random.default_rng(15)
    X = rng.standard_normal((60, 2))
    c = [np.zeros(2), np.array([1e4, 1e4])]
    S = [np.eye(2), np.eye(2) * 1e-2]
    with pytest.raises(gmm.Cov_problem):
        gmm.gmm_em_continue(X, c, S, np.array([0.5, 0.5]), max_iter=5)


def _constant_column_data():
    rng = np.random.default_rng(17)
    return np.column_stack([rng.standard_normal(40), np.full(40, 2.0)])


@pytest.mark.parametrize("max_tries", [1, 3])
def test_em_raises_cov_problem_after_max_tries(monkeypatch, max_tries):
    """When every initialisation fails (a constant column makes the 'var'
    initial covariance singular), em tries exactly max_tries fresh
    initialisations and then raises Cov_problem."""
    calls = []
    original = gmm.gmm_init

    def counting_init(*args, **kwargs):
        calls.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(gmm, "gmm_init", counting_init)
    np.random.seed(0)
    with pytest.raises(gmm.Cov_problem):
        gmm.em(_constant_column_data(), 2, max_iter=5, max_tries=max_tries,
               diag_add=0.0)
    assert len(calls) == max_tries


def test_em_restarts_after_cov_problem(monkeypatch):
    """em looks gmm_init up as a module global; if the first initialisation
    hits Cov_problem, em re-initialises and returns the EM result of the
    second (good) start, which matches the reference from that start; init_kw
    reaches gmm_init."""
    X = _dataset(18, 2, 2)
    good = _start(X, 2, 18)
    bad = ([good[0][0], good[0][1]], [good[1][0], np.zeros((2, 2))], good[2])
    calls = []

    def fake_init(*args, **kwargs):
        calls.append(kwargs)
        params = bad if len(calls) == 1 else good
        return ([c.copy() for c in params[0]], [s.copy() for s in params[1]],
                params[2].copy())

    monkeypatch.setattr(gmm, "gmm_init", fake_init)
    got = gmm.em(X, 2, max_iter=25, delta_stop=0.0, max_tries=5,
                 init_kw={"cluster_init": "sample"})
    assert len(calls) == 2
    assert all(kw.get("cluster_init") == "sample" for kw in calls)
    want = reference_em_continue(X, *good, max_iter=25, delta_stop=0.0)
    _check_return_types(got, 2, 2)
    _assert_params_close(got, want, np.max(np.abs(X)))
    np.testing.assert_allclose(got[3], want[3], rtol=EM_RTOL)


# ---------------------------------------------------------------- em / em_gm
def test_em_is_gmm_init_then_em_continue(monkeypatch):
    """em(X, K, ...) runs gmm_em_continue from gmm_init's parameters with its
    own max_iter / delta_stop / diag_add (checked against the reference from
    the recorded initialisation)."""
    X = _dataset(19, 3, 2)
    seen = []
    original = gmm.gmm_init

    def recording_init(*args, **kwargs):
        res = original(*args, **kwargs)
        seen.append(([np.array(c) for c in res[0]], [np.array(s) for s in res[1]],
                     np.array(res[2])))
        return res

    monkeypatch.setattr(gmm, "gmm_init", recording_init)
    np.random.seed(3)
    got = gmm.em(X, 3, max_iter=30, delta_stop=0.0, diag_add=0.01)
    assert len(seen) == 1
    want = reference_em_continue(X, *seen[0], max_iter=30, delta_stop=0.0, diag_add=0.01)
    _assert_params_close(got, want, np.max(np.abs(X)))
    np.testing.assert_allclose(got[3], want[3], rtol=EM_RTOL)


@pytest.mark.parametrize("func_name", ["em", "em_gm"])
def test_iter_keyword_alias(func_name):
    """em / em_gm accept the old name iter= for max_iter: iter=6 runs six
    iterations (delta_stop=0 so nothing stops it earlier)."""
    X = _dataset(20, 2, 2)
    rec = Recorder()
    np.random.seed(1)
    res = getattr(gmm, func_name)(X, K=2, iter=6, delta_stop=0.0, iter_call=rec)
    assert [c[3] for c in rec.calls] == list(range(6))
    _check_return_types(res, 2, 2)


def test_em_three_argument_iter_call():
    """em_gm with a 3-argument iter_call, as in PyPR's documentation."""
    X = _dataset(20, 2, 2)
    seen = []
    np.random.seed(2)
    gmm.em_gm(X, K=2, iter=4, delta_stop=0.0,
              iter_call=lambda cen_lst, cov_lst, itr: seen.append(itr))
    assert seen == [0, 1, 2, 3]


DOC_MC = [0.4, 0.4, 0.2]
DOC_CENTROIDS = [np.array([0, 0]), np.array([3, 3]), np.array([0, 4])]
DOC_CCOV = [np.array([[1, 0.4], [0.4, 1]]), np.diag((1, 2)), np.diag((0.4, 0.1))]


def test_em_recovers_documentation_mixture():
    """PyPR's documented example: 1000 samples of the three-component mixture,
    em(K=3, max_iter=400), best of five initialisations.  The fitted
    components, matched to the true ones by nearest mean, have means within
    0.3, weights within 0.08 and covariances within 0.5; the fit is at least
    as likely as the true parameters (minus a small slack); the returned logL
    is the likelihood of (nearly) the returned parameters; inputs unchanged."""
    np.random.seed(1)
    X = gmm.sample_gaussian_mixture(DOC_CENTROIDS, DOC_CCOV, DOC_MC, samples=1000)
    assert X.shape == (1000, 2)
    Xc = X.copy()
    best = None
    for _ in range(5):
        res = gmm.em(X, 3, max_iter=400)
        if best is None or res[3] > best[3]:
            best = res
    assert np.array_equal(X, Xc)
    centers, covs, p_k, logL = best
    _check_return_types(best, 3, 2)
    L_fit = log_likelihood(X, centers, covs, p_k)
    L_true = log_likelihood(X, DOC_CENTROIDS, DOC_CCOV, DOC_MC)
    assert L_fit >= L_true - 1.0
    assert abs(logL - L_fit) < 1e-3 * abs(L_fit)
    dist = np.array([[np.linalg.norm(c - t) for t in DOC_CENTROIDS] for c in centers])
    match = np.argmin(dist, axis=1)
    assert sorted(match) == [0, 1, 2], "each true component found exactly once"
    for k in range(3):
        t = match[k]
        assert dist[k, t] < 0.3
        assert abs(p_k[k] - DOC_MC[t]) < 0.08
        np.testing.assert_allclose(covs[k], DOC_CCOV[t], atol=0.5)
    np.testing.assert_allclose(np.sum(p_k), 1.0, rtol=1e-12)


def test_em_deterministic_under_seed():
    """np.random.seed(s) makes em repeatable (same seed, same result) and the
    two runs agree bit for bit."""
    X = _dataset(22, 3, 2)
    np.random.seed(123)
    a = gmm.em(X, 3, max_iter=20)
    np.random.seed(123)
    b = gmm.em(X, 3, max_iter=20)
    for k in range(3):
        assert np.array_equal(a[0][k], b[0][k])
        assert np.array_equal(a[1][k], b[1][k])
    assert np.array_equal(a[2], b[2])
    assert a[3] == b[3]


def test_float32_em_close_to_float64_em():
    """float32 X runs float32 kernels with double accumulators: from the same
    start, 20 iterations on float32 data stay close to float64 EM on the same
    numbers (logL to 1e-4 relative, parameters to ~1e-3), and the returned
    parameters are float64."""
    X64 = _dataset(23, 3, 3, N=2000, spread=5.0)
    X32 = X64.astype(np.float32)
    X64 = X32.astype(np.float64)
    start = _start(X64, 3, 23)
    g32 = gmm.gmm_em_continue(X32, *start, max_iter=20, delta_stop=0.0)
    want = reference_em_continue(X64, *start, max_iter=20, delta_stop=0.0)
    _check_return_types(g32, 3, 3)
    np.testing.assert_allclose(g32[3], want[3], rtol=1e-4)
    scale = np.max(np.abs(X64))
    for k in range(3):
        np.testing.assert_allclose(g32[0][k], want[0][k], rtol=1e-3, atol=1e-3 * scale)
        np.testing.assert_allclose(g32[1][k], want[1][k], rtol=1e-3,
                                   atol=1e-3 * np.max(np.abs(want[1][k])))
    np.testing.assert_allclose(g32[2], want[2], rtol=1e-3, atol=1e-4)
    # likelihood of float32 data also agrees with the reference
    np.testing.assert_allclose(gmm.gm_log_likelihood(X32, *want[:3]),
                               log_likelihood(X64, *want[:3]), rtol=1e-5)


# ---------------------------------------------------------------- gmm_init
def _init_data():
    rng = np.random.default_rng(30)
    return np.column_stack([rng.normal(1.0, 2.0, 80), rng.normal(-3.0, 0.5, 80),
                            rng.uniform(0, 10, 80)])


@pytest.mark.parametrize("cluster_init", ["sample", "box", "kmeans"])
@pytest.mark.parametrize("cov_init", ["var", "iso"])
def test_gmm_init_shapes_and_covariance(cluster_init, cov_init):
    """gmm_init returns K centres (D,), K covariances (D,D) equal to
    diag(var(X))/1e10 ('var') or eye(D)/1e10 ('iso'), uniform p_k; X is not
    modified."""
    X = _init_data()
    Xc = X.copy()
    np.random.seed(4)
    centers, covs, p_k = gmm.gmm_init(X, 4, cluster_init=cluster_init, cov_init=cov_init)
    assert np.array_equal(X, Xc)
    assert isinstance(centers, list) and len(centers) == 4
    assert isinstance(covs, list) and len(covs) == 4
    want_cov = (np.diag(np.var(X, axis=0)) if cov_init == "var" else np.eye(3)) / 1e10
    for c, S in zip(centers, covs):
        assert np.shape(c) == (3,)
        assert np.all(np.isfinite(c))
        np.testing.assert_allclose(S, want_cov, rtol=1e-12, atol=0)
    np.testing.assert_allclose(p_k, np.full(4, 0.25), rtol=1e-15)
    assert np.shape(p_k) == (4,)


def test_gmm_init_sample_centres_are_rows_of_X():
    """'sample' picks rows of X as centres."""
    X = _init_data()
    np.random.seed(5)
    centers, _, _ = gmm.gmm_init(X, 6, cluster_init="sample")
    for c in centers:
        assert np.any(np.all(X == c, axis=1)), "centre is not a row of X"


def test_gmm_init_box_centres_lie_in_bounding_box():
    """'box' draws centres uniformly inside the bounding box of X (and they
    are not all rows of X)."""
    X = _init_data()
    np.random.seed(6)
    centers, _, _ = gmm.gmm_init(X, 20, cluster_init="box")
    lo, hi = X.min(axis=0), X.max(axis=0)
    C = np.array(centers)
    assert np.all(C >= lo) and np.all(C <= hi)
    assert not all(np.any(np.all(X == c, axis=1)) for c in C)
    # uniform over the box, not concentrated: centres spread over each side
    assert np.all(C.max(axis=0) - C.min(axis=0) > 0.3 * (hi - lo))


def test_gmm_init_kmeans_finds_blob_means():
    """'kmeans' (standardise, best of max_init_iter k-means runs, map back)
    puts the centres on the means of two well-separated blobs, in the
    original units, whatever the feature scales."""
    rng = np.random.default_rng(31)
    a = rng.normal([0.0, 0.0], [1.0, 100.0], size=(60, 2))
    b = rng.normal([20.0, 3000.0], [1.0, 100.0], size=(40, 2))
    X = np.vstack([a, b])
    np.random.seed(7)
    centers, _, _ = gmm.gmm_init(X, 2, cluster_init="kmeans", max_init_iter=20)
    C = np.array(centers)
    order = np.argsort(C[:, 0])
    np.testing.assert_allclose(C[order[0]], a.mean(axis=0), rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(C[order[1]], b.mean(axis=0), rtol=1e-9, atol=1e-9)


def test_gmm_init_deterministic_under_seed():
    """Same seed, same initialisation; another seed, another one."""
    X = _init_data()
    out = []
    for s in (9, 9, 10):
        np.random.seed(s)
        out.append(np.array(gmm.gmm_init(X, 3)[0]))
    assert np.array_equal(out[0], out[1])
    assert not np.array_equal(out[0], out[2])


# ---------------------------------------------------------------- sampling
def test_sample_gaussian_mixture_shape_and_determinism():
    """Returns a (samples, D) float array; np.random.seed makes it repeatable."""
    np.random.seed(40)
    a = gmm.sample_gaussian_mixture(DOC_CENTROIDS, DOC_CCOV, DOC_MC, samples=50)
    np.random.seed(40)
    b = gmm.sample_gaussian_mixture(DOC_CENTROIDS, DOC_CCOV, DOC_MC, samples=50)
    assert a.shape == (50, 2)
    assert np.array_equal(a, b)
    np.random.seed(41)
    assert gmm.sample_gaussian_mixture(DOC_CENTROIDS, DOC_CCOV).shape == (1, 2)


def test_sample_gaussian_mixture_one_dimensional_distribution():
    """A 1-D mixture's samples pass a Kolmogorov-Smirnov test against the
    mixture CDF built from scipy.stats.norm (fixed seed, so deterministic)."""
    centers = [np.array([-2.0]), np.array([1.0]), np.array([4.0])]
    covs = [np.array([[0.5]]), np.array([[1.0]]), np.array([[0.25]])]
    mc = [0.2, 0.5, 0.3]

    def cdf(x):
        return sum(m * stats.norm(c[0], np.sqrt(s[0, 0])).cdf(x)
                   for m, c, s in zip(mc, centers, covs))

    np.random.seed(42)
    X = gmm.sample_gaussian_mixture(centers, covs, mc, samples=4000)
    assert X.shape == (4000, 1)
    assert stats.kstest(X[:, 0], cdf).pvalue > 1e-3


def test_sample_gaussian_mixture_moments_and_default_weights():
    """Component frequencies, means and covariances of well-separated
    components match mc / centroids / ccov; mc=None means equal weights."""
    centers = [np.array([0.0, 0.0]), np.array([20.0, 0.0]), np.array([0.0, 20.0])]
    covs = [np.array([[1.0, 0.5], [0.5, 2.0]]), np.eye(2) * 0.5, np.diag([2.0, 0.3])]
    for mc in ([0.5, 0.3, 0.2], None):
        np.random.seed(43)
        n = 6000
        X = gmm.sample_gaussian_mixture(centers, covs, mc, samples=n)
        label = np.argmin(((X[:, None, :] - np.array(centers)[None]) ** 2).sum(-1), axis=1)
        w = np.full(3, 1 / 3) if mc is None else np.array(mc)
        for k in range(3):
            Xk = X[label == k]
            # ~5 standard errors: fails only if the sampler is wrong
            assert abs(len(Xk) / n - w[k]) < 5 * np.sqrt(w[k] * (1 - w[k]) / n)
            np.testing.assert_allclose(Xk.mean(axis=0), centers[k], atol=0.2)
            np.testing.assert_allclose(np.cov(Xk.T), covs[k], atol=0.4)


# D = 3 runs the fixed-size E-step kernel, D = 20 the panel kernel.
@pytest.mark.parametrize("D", [3, 20])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_em_continue_matches_reference_for_distant_clusters(dtype, D):
    """Clusters thousands of standard deviations apart: the core then takes
    each component's statistics around its own mean instead of around the
    mixture's mean (which would lose precision to cancellation), and in
    float32 scores each component around its own mean too. Iterates still
    match the NumPy transcription (float64 to 1e-9; float32 input to float32
    accuracy)."""
    rng = np.random.default_rng(31)
    true_centers = [np.full(D, -3000.0), np.zeros(D), np.full(D, 5000.0)]
    X = np.vstack([c + rng.standard_normal((150, D)) for c in true_centers])
    start = ([c + 0.5 for c in true_centers], [np.eye(D) * 2.0 for _ in range(3)], np.full(3, 1 / 3))
    want = reference_em_continue(X.astype(dtype).astype(np.float64), *start, max_iter=20,
                                 delta_stop=0.0, diag_add=0.0)
    got = gmm.gmm_em_continue(X.astype(dtype), *start, max_iter=20, delta_stop=0.0, diag_add=0.0)
    if dtype == np.float64:
        _assert_params_close(got, want, np.max(np.abs(X)))
        np.testing.assert_allclose(got[3], want[3], rtol=EM_RTOL)
    else:
        for k in range(3):
            np.testing.assert_allclose(got[0][k], want[0][k], atol=1e-3)
            np.testing.assert_allclose(got[1][k], want[1][k], rtol=1e-2, atol=1e-3)
        np.testing.assert_allclose(got[3], want[3], rtol=1e-5)


def test_em_continue_matches_reference_with_near_and_far_clusters():
    """Three clusters near the origin and a small one thousands of standard
    deviations away: the near components' statistics are taken around the
    mixture's mean, the far one's around its own mean, in the same pass.
    Iterates match the NumPy transcription to 1e-9."""
    rng = np.random.default_rng(37)
    D = 3
    true_centers = [np.zeros(D), np.full(D, 4.0), np.full(D, -4.0), np.full(D, 3000.0)]
    sizes = [150, 150, 150, 10]
    X = np.vstack([c + rng.standard_normal((n, D)) for c, n in zip(true_centers, sizes)])
    start = ([c + 0.3 for c in true_centers], [np.eye(D) * 1.5 for _ in range(4)],
             np.array(sizes) / sum(sizes))
    want = reference_em_continue(X, *start, max_iter=20, delta_stop=0.0, diag_add=0.0)
    got = gmm.gmm_em_continue(X, *start, max_iter=20, delta_stop=0.0, diag_add=0.0)
    _assert_params_close(got, want, np.max(np.abs(X)))
    np.testing.assert_allclose(got[3], want[3], rtol=EM_RTOL)
