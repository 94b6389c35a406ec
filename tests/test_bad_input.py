"""Bad input: every case the contract lists raises ValueError before any
computation, with a message naming the offending argument; nothing crashes,
nothing is modified, no randomness is consumed."""

import numpy as np
import pytest

import gaussmix.gmm as gmm
import gaussmix.kmeans as km
from helpers import assert_unchanged, snapshot

# Loose patterns for "the message names the argument".
X_ = r"\bX\b"
K_ = r"\bK\b"
LISTS = r"centroids|ccov|\bmc\b|center_list|cov_list|p_k|\bMU\b|SIGMA"
CENTRES = r"centroids|center_list|\bMU\b"
COVS = r"ccov|cov_list|SIGMA"
WEIGHTS = r"\bmc\b|p_k"


def _valid():
    """A fresh valid 2-D, 2-component problem."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((30, 2))
    c = [np.array([0.0, 0.0]), np.array([1.0, 1.0])]
    S = [np.eye(2), np.array([[1.0, 0.3], [0.3, 0.5]])]
    p = np.array([0.6, 0.4])
    return X, c, S, p


def _with_nan():
    X = _valid()[0]
    X[3, 1] = np.nan
    return X


def _with_inf():
    X = _valid()[0]
    X[5, 0] = -np.inf
    return X


PDF_FUNCS = {
    "mulnormpdf": lambda X, c, S, p: gmm.mulnormpdf(X, c[0], S[0]),
    "logmulnormpdf": lambda X, c, S, p: gmm.logmulnormpdf(X, c[0], S[0]),
    "gmm_pdf": lambda X, c, S, p: gmm.gmm_pdf(X, c, S, p),
    "gmm_pdf_individual": lambda X, c, S, p: gmm.gmm_pdf(X, c, S, p, individual=True),
    "gm_log_likelihood": lambda X, c, S, p: gmm.gm_log_likelihood(X, c, S, p),
    "gm_assign_to_cluster": lambda X, c, S, p: gmm.gm_assign_to_cluster(X, c, S, p),
}
FIT_FUNCS = {
    "gmm_em_continue": lambda X, c, S, p: gmm.gmm_em_continue(X, c, S, p, max_iter=3),
    "em": lambda X, c, S, p: gmm.em(X, 2, max_iter=3),
    "em_gm": lambda X, c, S, p: gmm.em_gm(X, 2, max_iter=3),
    "gmm_init": lambda X, c, S, p: gmm.gmm_init(X, 2),
    "gmm_init_kmeans": lambda X, c, S, p: gmm.gmm_init(X, 2, cluster_init="kmeans"),
    "kmeans": lambda X, c, S, p: km.kmeans(X, 2),
}
ALL_X_FUNCS = {**PDF_FUNCS, **FIT_FUNCS}
# functions taking full mixture parameter lists
LIST_FUNCS = {k: PDF_FUNCS[k] for k in ("gmm_pdf", "gm_log_likelihood",
                                         "gm_assign_to_cluster")}
LIST_FUNCS["gmm_em_continue"] = FIT_FUNCS["gmm_em_continue"]


def _expect_value_error(func, X, c, S, p, match):
    """Call, expect ValueError naming the argument, check that no argument
    was modified and that NumPy's global generator was not touched."""
    before = snapshot(X, c, S, p)
    state = np.random.get_state()
    with pytest.raises(ValueError, match=match):
        func(X, c, S, p)
    assert_unchanged(before, X, c, S, p)
    after = np.random.get_state()
    assert after[0] == state[0] and np.array_equal(after[1], state[1])
    assert after[2:] == state[2:]


# ---------------------------------------------------------------- X
@pytest.mark.parametrize("name", sorted(ALL_X_FUNCS))
@pytest.mark.parametrize("make_X", [_with_nan, _with_inf], ids=["nan", "inf"])
def test_non_finite_X(name, make_X):
    """NaN or inf in X is rejected by every fit, pdf and likelihood function."""
    _, c, S, p = _valid()
    _expect_value_error(ALL_X_FUNCS[name], make_X(), c, S, p, X_)


@pytest.mark.parametrize("name", sorted(ALL_X_FUNCS))
def test_three_dimensional_X(name):
    """X with more than two dimensions is rejected everywhere."""
    _, c, S, p = _valid()
    X = np.zeros((5, 2, 2))
    _expect_value_error(ALL_X_FUNCS[name], X, c, S, p, X_)


#: Functions through which PyPR accepted a single point (D,): the two
#: single-Gaussian densities and gmm_pdf, which called mulnormpdf per component.
SINGLE_POINT_FUNCS = {"mulnormpdf", "logmulnormpdf", "gmm_pdf", "gmm_pdf_individual"}


@pytest.mark.parametrize("name", sorted(set(ALL_X_FUNCS) - SINGLE_POINT_FUNCS))
def test_one_dimensional_X(name):
    """A 1-D X (a single point) is accepted only where PyPR accepted one;
    the likelihood, assignment and fit functions need (N, D)."""
    X, c, S, p = _valid()
    _expect_value_error(ALL_X_FUNCS[name], X[0].copy(), c, S, p, X_)


@pytest.mark.parametrize("name", sorted(set(ALL_X_FUNCS) - {"mulnormpdf", "logmulnormpdf"}))
def test_X_dimension_does_not_match_parameters_or_is_empty(name):
    """Zero-row X is rejected by the fit functions (K > N), and X with a
    different number of columns than the parameters is rejected by the
    parameter-taking functions."""
    X, c, S, p = _valid()
    if name in FIT_FUNCS and name != "gmm_em_continue":
        _expect_value_error(FIT_FUNCS[name], X[:0], c, S, p, r"\bK\b|\bX\b|\bN\b")
    else:
        X3 = np.column_stack([X, X[:, 0]])
        _expect_value_error(ALL_X_FUNCS[name], X3, c, S, p, X_ + "|" + LISTS)


# ---------------------------------------------------------------- K
@pytest.mark.parametrize("K", [0, -1, 31])
@pytest.mark.parametrize("name", ["em", "em_gm", "gmm_init", "kmeans"])
def test_bad_K(name, K):
    """K < 1 and K > N (here N = 30) are rejected."""
    X = _valid()[0]
    func = {"em": lambda: gmm.em(X, K), "em_gm": lambda: gmm.em_gm(X, K),
            "gmm_init": lambda: gmm.gmm_init(X, K),
            "kmeans": lambda: km.kmeans(X, K)}[name]
    Xc = X.copy()
    with pytest.raises(ValueError, match=K_):
        func()
    assert np.array_equal(X, Xc)


# ---------------------------------------------------------------- parameter lists
@pytest.mark.parametrize("name", sorted(LIST_FUNCS))
@pytest.mark.parametrize("which", ["centres", "covs", "weights"])
def test_lists_of_different_lengths(name, which):
    """Centre, covariance and weight lists must have the same length."""
    X, c, S, p = _valid()
    if which == "centres":
        c = c + [np.array([2.0, 2.0])]
    elif which == "covs":
        S = S[:1]
    else:
        p = np.array([0.5, 0.3, 0.2])
    _expect_value_error(LIST_FUNCS[name], X, c, S, p, LISTS)


@pytest.mark.parametrize("name", sorted(LIST_FUNCS))
def test_centre_of_wrong_shape(name):
    """A centre that is not a D-vector is rejected."""
    X, c, S, p = _valid()
    _expect_value_error(LIST_FUNCS[name], X, [c[0], np.array([1.0, 1.0, 1.0])], S, p,
                        CENTRES)


@pytest.mark.parametrize("name", sorted(LIST_FUNCS))
@pytest.mark.parametrize("bad_cov", [np.eye(3), np.ones(2), np.ones((2, 3))],
                         ids=["3x3", "vector", "2x3"])
def test_covariance_of_wrong_shape(name, bad_cov):
    """A covariance that is not D x D is rejected."""
    X, c, S, p = _valid()
    _expect_value_error(LIST_FUNCS[name], X, c, [S[0], bad_cov], p, COVS)


NOT_SYMMETRIC = np.array([[1.0, 0.5], [0.0, 1.0]])
NOT_PD = np.array([[1.0, 2.0], [2.0, 1.0]])      # eigenvalues -1, 3
SINGULAR = np.array([[1.0, 1.0], [1.0, 1.0]])
PDF_PARAM_FUNCS = {k: PDF_FUNCS[k] for k in ("mulnormpdf", "logmulnormpdf", "gmm_pdf",
                                             "gmm_pdf_individual", "gm_log_likelihood")}


@pytest.mark.parametrize("name", sorted(PDF_PARAM_FUNCS))
@pytest.mark.parametrize("bad", [NOT_SYMMETRIC, NOT_PD, SINGULAR],
                         ids=["not_symmetric", "not_pd", "singular"])
def test_pdf_functions_reject_invalid_covariance(name, bad):
    """In the density functions a covariance that is not symmetric positive
    definite is a ValueError (in EM it is Cov_problem instead)."""
    X, c, S, p = _valid()
    S = [bad.copy(), bad.copy()]
    _expect_value_error(PDF_PARAM_FUNCS[name], X, c, S, p, COVS)


@pytest.mark.parametrize("name", sorted(LIST_FUNCS))
@pytest.mark.parametrize("weights", [[1.2, -0.2], [0.5, 0.6], [0.3, 0.3]],
                         ids=["negative", "sum_above_1", "sum_below_1"])
def test_bad_weights(name, weights):
    """Mixing weights must be non-negative and sum to one."""
    X, c, S, _ = _valid()
    _expect_value_error(LIST_FUNCS[name], X, c, S, np.array(weights), WEIGHTS)


def test_mu_not_one_dimensional():
    """MU must be a 1-D array in mulnormpdf / logmulnormpdf."""
    X, _, S, _ = _valid()
    for f in (gmm.mulnormpdf, gmm.logmulnormpdf):
        with pytest.raises(ValueError, match=r"\bMU\b"):
            f(X, np.zeros((1, 2)), S[0])


def test_mu_sigma_dimension_mismatch():
    """MU, SIGMA and X must agree on D."""
    X, _, S, _ = _valid()
    for f in (gmm.mulnormpdf, gmm.logmulnormpdf):
        with pytest.raises(ValueError, match=r"\bMU\b|SIGMA"):
            f(X, np.zeros(2), np.eye(3))
        with pytest.raises(ValueError, match=r"\bX\b|\bMU\b"):
            f(X, np.zeros(3), np.eye(3))


# ---------------------------------------------------------------- sample_gaussian_mixture
def test_sample_gaussian_mixture_bad_input():
    """Different list lengths or mc not summing to one are rejected."""
    c = [np.zeros(2), np.ones(2)]
    S = [np.eye(2), np.eye(2)]
    with pytest.raises(ValueError, match=LISTS):
        gmm.sample_gaussian_mixture(c, S[:1])
    with pytest.raises(ValueError, match=LISTS):
        gmm.sample_gaussian_mixture(c, S, [0.2, 0.3, 0.5])
    with pytest.raises(ValueError, match=WEIGHTS):
        gmm.sample_gaussian_mixture(c, S, [0.5, 0.6])
    with pytest.raises(ValueError, match=WEIGHTS):
        gmm.sample_gaussian_mixture(c, S, [1.5, -0.5])


# ---------------------------------------------------------------- options
def test_unknown_cluster_init():
    X = _valid()[0]
    with pytest.raises(ValueError, match="cluster_init"):
        gmm.gmm_init(X, 2, cluster_init="random_points")
    with pytest.raises(ValueError, match="cluster_init"):
        gmm.em(X, 2, init_kw={"cluster_init": "random_points"})
    with pytest.raises(ValueError, match="cluster_init"):
        km.kmeans(X, 2, cluster_init="random_points")


def test_unknown_cov_init():
    X = _valid()[0]
    with pytest.raises(ValueError, match="cov_init"):
        gmm.gmm_init(X, 2, cov_init="full")
    with pytest.raises(ValueError, match="cov_init"):
        gmm.em(X, 2, init_kw={"cov_init": "full"})


@pytest.mark.parametrize("value", [0, -3])
def test_max_iter_and_max_tries_below_one(value, monkeypatch):
    """max_iter < 1 (also spelled iter=) and max_tries < 1 are rejected
    before any work: gmm_init is never called, iter_call never runs."""
    X, c, S, p = _valid()
    init_calls = []
    original = gmm.gmm_init
    monkeypatch.setattr(gmm, "gmm_init",
                        lambda *a, **k: init_calls.append(1) or original(*a, **k))
    calls = []

    def cb(center_list, cov_list, p_k, i):
        calls.append(i)

    with pytest.raises(ValueError, match="max_iter"):
        gmm.gmm_em_continue(X, c, S, p, max_iter=value, iter_call=cb)
    with pytest.raises(ValueError, match="max_iter"):
        gmm.em(X, 2, max_iter=value, iter_call=cb)
    with pytest.raises(ValueError, match="max_iter|iter"):
        gmm.em_gm(X, 2, iter=value, iter_call=cb)
    with pytest.raises(ValueError, match="max_tries"):
        gmm.em(X, 2, max_tries=value, iter_call=cb)
    assert calls == [] and init_calls == []


# ---------------------------------------------------------------- complex and text parameters
def _mixture_calls():
    """(id, call(c, S, p, Y)) for every public function that turns a centre,
    covariance, weight or cond_dist Y argument into an array."""
    X = _valid()[0]
    return {
        "gmm_pdf": lambda c, S, p: gmm.gmm_pdf(X, c, S, p),
        "gm_log_likelihood": lambda c, S, p: gmm.gm_log_likelihood(X, c, S, p),
        "gm_assign_to_cluster": lambda c, S, p: gmm.gm_assign_to_cluster(X, c, S, p),
        "gmm_em_continue": lambda c, S, p: gmm.gmm_em_continue(X, c, S, p, max_iter=2),
        "sample_gaussian_mixture": lambda c, S, p: gmm.sample_gaussian_mixture(c, S, p, samples=3),
        "cond_dist": lambda c, S, p: gmm.cond_dist(np.array([np.nan, 0.5]), c, S, p),
        "marg_dist": lambda c, S, p: gmm.marg_dist([0], c, S, p),
        "find_density_diff": lambda c, S, p: gmm.find_density_diff(c, S, p),
    }


def _spoil(which, kind):
    """A valid mixture with one argument made complex or text."""
    _, c, S, p = _valid()
    if which == "centre":
        c[1] = c[1] + 1j if kind == "complex" else np.array(["1.0", "1.0"])
    elif which == "covariance":
        S[0] = S[0] + 0j * S[0] + np.diag([1e-3j, 0]) if kind == "complex" else [["1", "0"], ["0", "1"]]
    else:
        p = p.astype(complex) + np.array([0.1j, -0.1j]) if kind == "complex" else ["0.6", "0.4"]
    return c, S, p


@pytest.mark.parametrize("kind, message", [("complex", "must be real"), ("text", "must be numeric")])
@pytest.mark.parametrize("which, name", [("centre", r"(centroids|center_list)\[1\]"),
                                         ("covariance", r"(ccov|cov_list)\[0\]"),
                                         ("weights", WEIGHTS)])
@pytest.mark.parametrize("func_name", sorted(_mixture_calls()))
def test_complex_or_text_parameters_raise_type_error(func_name, which, name, kind, message):
    """Complex parameters are not silently cast to real, and text gets a
    message naming the argument instead of NumPy's 'could not convert'."""
    c, S, p = _spoil(which, kind)
    call = _mixture_calls()[func_name]
    with pytest.raises(TypeError, match=rf"^{func_name}\(\): ({name}) {message}"):
        call(c, S, p)


@pytest.mark.parametrize("kind, value, message", [
    ("complex", np.array([0.0, 1 + 2j]), "must be real"),
    ("text", np.array(["0.0", "1.0"]), "must be numeric"),
    ("object", np.array([0.0, object()], dtype=object), "must be numeric"),
    ("complex_object", np.array([0.0, 1j], dtype=object), "must be real")])
@pytest.mark.parametrize("func_name, call", [
    ("mulnormpdf", lambda v: gmm.mulnormpdf(np.zeros((3, 2)), v, np.eye(2))),
    ("logmulnormpdf", lambda v: gmm.logmulnormpdf(np.zeros((3, 2)), v, np.eye(2))),
    ("gauss_ellipse_2d", lambda v: gmm.gauss_ellipse_2d(v, np.eye(2))),
    ("find_distance", lambda v: km.find_distance(np.zeros((3, 2)), v)),
    ("find_membership", lambda v: km.find_membership(np.zeros((3, 2)), v)),
    ("find_intra_cluster_variance",
     lambda v: km.find_intra_cluster_variance(np.zeros((3, 2)), np.zeros(3, int), v)),
    ("cond_dist", lambda v: gmm.cond_dist(v, [np.zeros(2)], [np.eye(2)], None)),
])
def test_complex_or_text_vectors_raise_type_error(func_name, call, kind, value, message):
    """MU, centroid, c, cc and Y: complex -> 'must be real', text or arbitrary
    objects -> 'must be numeric', naming the function and the argument."""
    name = {"mulnormpdf": "MU", "logmulnormpdf": "MU", "gauss_ellipse_2d": "centroid",
            "find_distance": "c", "find_membership": "cc", "find_intra_cluster_variance": "cc",
            "cond_dist": "Y"}[func_name]
    with pytest.raises(TypeError, match=rf"^{func_name}\(\): {name} {message}"):
        call(value)


@pytest.mark.parametrize("func_name, call", [
    ("mulnormpdf", lambda v: gmm.mulnormpdf(np.zeros((3, 2)), np.zeros(2), v)),
    ("gauss_ellipse_2d", lambda v: gmm.gauss_ellipse_2d(np.zeros(2), v)),
])
@pytest.mark.parametrize("value, message", [(np.eye(2) * (1 + 1j), "must be real"),
                                            ([["1", "0"], ["0", "1"]], "must be numeric")])
def test_complex_or_text_covariance_raises_type_error(func_name, call, value, message):
    name = {"mulnormpdf": "SIGMA", "gauss_ellipse_2d": "ccov"}[func_name]
    with pytest.raises(TypeError, match=rf"^{func_name}\(\): {name} {message}"):
        call(value)


@pytest.mark.parametrize("value", ["0.1", b"0.1", 1e-3 + 0j, np.complex128(1e-3), np.array([1e-3])],
                         ids=["str", "bytes", "complex", "np_complex", "array"])
@pytest.mark.parametrize("func_name, name, call", [
    ("em", "diag_add", lambda v: gmm.em(_valid()[0], 2, max_iter=2, diag_add=v)),
    ("em", "delta_stop", lambda v: gmm.em(_valid()[0], 2, max_iter=2, delta_stop=v)),
    ("gmm_em_continue", "diag_add",
     lambda v: gmm.gmm_em_continue(*_valid(), max_iter=2, diag_add=v)),
    ("gmm_em_continue", "delta_stop",
     lambda v: gmm.gmm_em_continue(*_valid(), max_iter=2, delta_stop=v)),
    ("kmeans", "delta_stop", lambda v: km.kmeans(_valid()[0], 2, delta_stop=v)),
    ("gauss_ellipse_2d", "sdwidth", lambda v: gmm.gauss_ellipse_2d(np.zeros(2), np.eye(2), sdwidth=v)),
])
def test_scalar_arguments_must_be_real_numbers(func_name, name, call, value):
    """Text (which float() would parse), complex numbers (which NumPy would
    cast with a warning) and arrays are refused for the scalar options."""
    with pytest.raises(TypeError, match=rf"^{func_name}\(\): {name} must be a real number"):
        call(value)


# ---------------------------------------------------------------- counts beyond the core's int
BIG = 2**31
COUNT_CALLS = [
    ("em", "max_iter", 1, lambda v: gmm.em(_valid()[0], 2, max_iter=v)),
    ("em", "max_iter", 1, lambda v: gmm.em(_valid()[0], 2, iter=v)),
    # em_gm is em under PyPR's other name; its messages say em()
    ("em", "max_iter", 1, lambda v: gmm.em_gm(_valid()[0], 2, iter=v)),
    ("em", "max_tries", 1, lambda v: gmm.em(_valid()[0], 2, max_tries=v)),
    ("em", "K", 1, lambda v: gmm.em(_valid()[0], v)),
    ("gmm_em_continue", "max_iter", 1, lambda v: gmm.gmm_em_continue(*_valid(), max_iter=v)),
    ("gmm_em_continue", "delta_stop_count_end", 1,
     lambda v: gmm.gmm_em_continue(*_valid(), delta_stop_count_end=v)),
    ("gmm_init", "max_init_iter", 1,
     lambda v: gmm.gmm_init(_valid()[0], 2, cluster_init="kmeans", max_init_iter=v)),
    ("gmm_init", "K", 1, lambda v: gmm.gmm_init(_valid()[0], v)),
    ("sample_gaussian_mixture", "samples", 0,
     lambda v: gmm.sample_gaussian_mixture(*_valid()[1:], samples=v)),
    ("gauss_ellipse_2d", "points", 1, lambda v: gmm.gauss_ellipse_2d(np.zeros(2), np.eye(2), points=v)),
    ("kmeans", "iter", 1, lambda v: km.kmeans(_valid()[0], 2, iter=v)),
    ("kmeans", "K", 1, lambda v: km.kmeans(_valid()[0], v)),
    ("find_centroids", "K", 1, lambda v: km.find_centroids(_valid()[0], v, np.zeros(30, int))),
]


@pytest.mark.parametrize("value", [BIG, np.int64(BIG), float(BIG), 2**63], ids=["int", "np_int64", "float", "2**63"])
@pytest.mark.parametrize("func_name, name, low, call", COUNT_CALLS,
                         ids=[f"{f}-{n}-{i}" for i, (f, n, _, _) in enumerate(COUNT_CALLS)])
def test_counts_beyond_c_int_name_the_accepted_range(func_name, name, low, call, value):
    """A count the core's C int cannot hold is a ValueError naming the
    argument and the accepted range, not pybind11's 'incompatible function
    arguments'."""
    with pytest.raises(ValueError) as info:
        call(value)
    assert str(info.value) == f"{func_name}(): {name} must be in [{low}, 2147483647], got {int(value)}"


def test_count_at_c_int_max_is_accepted():
    """2**31 - 1 is in range: kmeans stops early (no centre moves) long before."""
    X = _valid()[0]
    np.random.seed(1)
    m, cc = km.kmeans(X, 2, iter=2**31 - 1)
    assert m.shape == (30,) and cc.shape == (2, 2)


# ---------------------------------------------------------------- find_distance
@pytest.mark.parametrize("shape", [(2, 2), (3, 2)])
def test_find_distance_refuses_several_centres(shape):
    """Several centres get a clear ValueError pointing to find_membership,
    not NumPy's broadcast error."""
    X = _valid()[0]
    with pytest.raises(ValueError) as info:
        km.find_distance(X, np.zeros(shape))
    assert str(info.value) == (f"find_distance(): c must be one centre of shape (2,), got shape {shape}; "
                               "for several centres use find_membership")


def test_find_distance_accepts_one_centre_as_row():
    """A (1, D) centre is one centre: distances as a column vector (NumPy reference)."""
    X = _valid()[0]
    c = np.array([[0.5, -1.0]])
    np.testing.assert_allclose(km.find_distance(X, c), np.linalg.norm(X - c, axis=1)[:, None], rtol=1e-14)
