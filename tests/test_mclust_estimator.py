"""GaussianMixture with mclust's model names and resp_init: from the same
responsibilities (mclust's hierarchical start, resp_init=z) and the same
number of M-steps, every one of the fourteen models gives R mclust 6's fit on
faithful, iris, diabetes and banknote (tests/mclust_reference.json, written by
tools/mclust_references.R): log-likelihood, proportions, means, covariances,
and BIC as mclust counts parameters. resp_init also starts scikit-learn's
four models (their M-step of z, against NumPy), and bad values are refused."""
from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("sklearn")

from sklearn.exceptions import ConvergenceWarning  # noqa: E402

from gaussmix import GaussianMixture, select_model  # noqa: E402
from gaussmix._covariance import covariance_model  # noqa: E402
from gaussmix._mclust import MCLUST_MODELS  # noqa: E402

SETS = json.loads((Path(__file__).parent / "mclust_reference.json").read_text())["data_sets"]


def cases():
    """Every run R could fit: the fourteen models without the prior, its ten with it."""
    for name, data in SETS.items():
        for run in data["runs"]:
            if run["ok"]:
                yield pytest.param(name, run, id=f"{name}-{run['model']}-{run['n_iter']}" + ("-prior" * run["prior"]))


def fitted(x, **params):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return GaussianMixture(**params).fit(x)


@pytest.mark.parametrize("name, run", list(cases()))
def test_gaussian_mixture_with_mclusts_model_and_start_gives_mclusts_fit(name, run):
    data = SETS[name]
    x, z, k = np.array(data["x"]), np.array(data["z"]), data["G"]
    # me() takes n_iter M-steps from z: the start (the M-step of z) and n_iter - 1 EM iterations.
    model = fitted(x, n_components=k, covariance_type=run["model"], resp_init=z, reg_covar=0.0,
                   max_iter=run["n_iter"] - 1, tol=0.0, prior="mclust" if run["prior"] else None)
    np.testing.assert_allclose(model.score(x) * len(x), run["loglik"], rtol=1e-9)
    np.testing.assert_allclose(model.weights_, run["pro"], rtol=1e-7)
    np.testing.assert_allclose(model.means_, run["mean"], rtol=1e-7)
    want = np.array(run["covariances"])
    dense = covariance_model(run["model"]).dense(model.covariances_, k, x.shape[1])
    np.testing.assert_allclose(dense, want, rtol=1e-6, atol=1e-9 * np.abs(want).max())
    np.testing.assert_allclose(-model.bic(x), run["bic"], rtol=1e-9)  # mclust's BIC is 2 log L - p log n


@pytest.mark.parametrize("model", MCLUST_MODELS)
def test_every_model_fits_scores_saves_and_conditions(model, tmp_path):
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.normal(size=(300, 3)), rng.normal(size=(300, 3)) * 0.5 + 4])
    gm = fitted(x, n_components=2, covariance_type=model, random_state=0)
    form = covariance_model(model)
    assert gm.covariances_.shape == form.shape(2, 3)
    bounds = np.array(gm.lower_bounds_)
    # EM never decreases the likelihood, except under VVE: mclust's VVE M-step moves the shared orientation by
    # EVE's MM steps, which leave out the volumes, so it need not increase VVE's expected log-likelihood (here
    # it lowers the likelihood by 1e-6 once; R's me() lowers it too, by 0.052 on iris at iteration 29 and by
    # 0.025 on diabetes at 16, mclust 6.0.0); gaussmix takes mclust's steps, to give mclust's fits.
    if model != "VVE":
        assert np.all(np.diff(bounds) >= -1e-12 * np.abs(bounds[1:]))
    gm.save(tmp_path / "m.npz")
    loaded = GaussianMixture.load(tmp_path / "m.npz")
    assert loaded.covariance_type == model
    np.testing.assert_allclose(loaded.score_samples(x), gm.score_samples(x), rtol=1e-12)
    marginal = gm.marginal([0, 2])
    assert marginal.covariance_type == form.kernel and marginal.n_features_in_ == 2


def test_resp_init_starts_scikit_learns_models_with_the_m_step_of_z():
    data = SETS["iris"]
    x, z = np.array(data["x"]), np.array(data["z"])
    nk = z.sum(axis=0)
    means = z.T @ x / nk[:, None]
    full = np.stack([(z[:, k, None] * (x - means[k])).T @ (x - means[k]) / nk[k] for k in range(3)]) + 1e-6 * np.eye(4)
    for ctype, want in (("full", full), ("diag", np.diagonal(full, axis1=1, axis2=2)),
                        ("spherical", np.diagonal(full, axis1=1, axis2=2).mean(axis=1)),
                        ("tied", np.einsum("k,kij->ij", nk, full - 1e-6 * np.eye(4)) / nk.sum() + 1e-6 * np.eye(4))):
        gm = GaussianMixture(3, covariance_type=ctype, resp_init=z, max_iter=0).fit(x)
        np.testing.assert_allclose(gm.weights_, nk / nk.sum(), rtol=1e-12)
        np.testing.assert_allclose(gm.means_, means, rtol=1e-12)
        np.testing.assert_allclose(gm.covariances_, want, rtol=1e-10)


def test_bad_resp_init_and_calls_are_refused():
    x, z = np.array(SETS["iris"]["x"]), np.array(SETS["iris"]["z"])
    with pytest.raises(ValueError, match=r"resp_init must have shape \(150, 3\).*got \(149, 3\)"):
        GaussianMixture(3, resp_init=z[1:]).fit(x)
    with pytest.raises(ValueError, match="row 0 sums to 2"):
        GaussianMixture(3, resp_init=2 * z).fit(x)
    with pytest.raises(ValueError, match="finite and >= 0"):
        GaussianMixture(3, resp_init=-z).fit(x)
    with pytest.raises(TypeError, match="resp_init must hold real numbers"):
        GaussianMixture(3, resp_init=z.astype(str)).fit(x)
    many, many_z = np.tile(x, (100, 1)), np.tile(z, (100, 1))  # 15,000 rows: a start from a sample of 10,000
    with pytest.raises(ValueError, match="resp_init needs the rows in memory"):
        GaussianMixture(3, resp_init=many_z).fit(lambda: iter([many[:9000], many[9000:]]))
    with pytest.raises(ValueError, match="'covariance_type' parameter of GaussianMixture must be .* or one of "
                                         r"mclust's models \(EII"):
        GaussianMixture(3, covariance_type="XYZ").fit(x)
    with pytest.raises(ValueError, match="stepwise EM takes scikit-learn's covariance models.*'EVE'"):
        GaussianMixture(3, covariance_type="EVE").partial_fit(x)


def test_select_model_sweeps_mclust_names():
    x = np.array(SETS["faithful"]["x"])
    sweep = select_model(x, [1, 2, 3], ["EII", "VVV", "EEV"], random_state=0)
    assert {c.covariance_type for c in sweep.candidates} == {"EII", "VVV", "EEV"}
    best = min(sweep.candidates, key=lambda c: c.bic)
    assert (sweep.best_.n_components, sweep.best_.covariance_type) == (best.n_components, best.covariance_type)
    with pytest.raises(ValueError, match="covariance_types must be among .* or mclust's EII"):
        select_model(x, [2], ["QQQ"])


def test_the_prior_under_scikit_learns_names_and_its_refusals():
    data = SETS["iris"]
    x, z = np.array(data["x"]), np.array(data["z"])
    run = next(r for r in data["runs"] if r["model"] == "VVV" and r["prior"] and r["n_iter"] == 5)
    full = fitted(x, n_components=3, covariance_type="full", resp_init=z, reg_covar=0.0, max_iter=4, tol=0.0,
                  prior="mclust")
    np.testing.assert_allclose(full.covariances_, run["covariances"], rtol=1e-6)
    # A dict replaces defaults: a huge shrinkage pulls every mean to the prior mean.
    pulled = fitted(x, n_components=3, covariance_type="VVV", resp_init=z, max_iter=0,
                    prior={"shrinkage": 1e9, "mean": np.zeros(4)})
    np.testing.assert_allclose(pulled.means_, 0.0, atol=1e-5)
    with pytest.raises(ValueError, match="conjugate prior applies to .* none for EVE"):
        GaussianMixture(3, covariance_type="EVE", prior="mclust").fit(x)
    with pytest.raises(ValueError, match=r"prior\['mean'\] must be finite with shape \(4,\)"):
        GaussianMixture(3, covariance_type="VVV", prior={"mean": [0.0]}).fit(x)
    with pytest.raises(ValueError, match="'prior' parameter of GaussianMixture must be None, 'mclust' or a dict"):
        GaussianMixture(3, prior="jeffreys").fit(x)


@pytest.mark.parametrize("model", MCLUST_MODELS)
def test_integer_weights_are_repeated_rows(model):
    data = SETS["diabetes"]
    x, z = np.array(data["x"]), np.array(data["z"])
    counts = np.random.default_rng(1).integers(0, 4, len(x))
    params = dict(n_components=3, covariance_type=model, reg_covar=0.0, max_iter=5, tol=0.0)
    kept = counts > 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        weighted = GaussianMixture(resp_init=z[kept], **params).fit(x[kept], sample_weight=counts[kept])
        repeated = GaussianMixture(resp_init=np.repeat(z, counts, axis=0), **params).fit(np.repeat(x, counts, axis=0))
    for name in ("weights_", "means_", "covariances_"):
        np.testing.assert_allclose(getattr(weighted, name), getattr(repeated, name), rtol=1e-8, err_msg=name)
    np.testing.assert_allclose(weighted.lower_bound_, repeated.lower_bound_, rtol=1e-10)


def test_model_files_keep_the_prior_and_leave_resp_init_out(tmp_path):
    data = SETS["iris"]
    x, z = np.array(data["x"]), np.array(data["z"])
    prior = {"shrinkage": 0.5, "mean": np.arange(4.0)}
    gm = fitted(x, n_components=3, covariance_type="VEV", resp_init=z, prior=prior, max_iter=3)
    gm.save(tmp_path / "m.npz")
    loaded = GaussianMixture.load(tmp_path / "m.npz")
    assert loaded.prior == {"shrinkage": 0.5, "mean": [0.0, 1.0, 2.0, 3.0]} and loaded.resp_init is None
    refit = fitted(x, **{**loaded.get_params(), "resp_init": z})
    np.testing.assert_allclose(refit.means_, gm.means_, rtol=1e-12)


@pytest.mark.parametrize("mclust, ours", [("VVV", "full"), ("EEE", "tied"), ("VVI", "diag"), ("VII", "spherical")])
def test_mclust_names_of_scikit_learns_models_give_their_fits_reg_covar_included(mclust, ours):
    x = np.array(SETS["banknote"]["x"])
    params = dict(n_components=2, reg_covar=1e-2, random_state=0, tol=1e-8, max_iter=30)
    a, b = fitted(x, covariance_type=mclust, **params), fitted(x, covariance_type=ours, **params)
    np.testing.assert_allclose(covariance_model(mclust).dense(a.covariances_, 2, 6),
                               covariance_model(ours).dense(b.covariances_, 2, 6), rtol=1e-9)
    np.testing.assert_allclose(a.lower_bounds_, b.lower_bounds_, rtol=1e-11)


@pytest.mark.parametrize("model", MCLUST_MODELS)
def test_a_constant_column_is_held_by_reg_covar(model):
    x = np.c_[np.random.default_rng(0).normal(size=(200, 2)), np.ones(200)]
    gm = fitted(x, n_components=3, covariance_type=model, random_state=0)
    assert np.isfinite(gm.covariances_).all() and np.isfinite(gm.score(x))
    # reg_covar enters the statistics, W_k + n_k reg_covar I: the constant column's variance is of its order
    # (shape-normalising models move it a little), not 0.
    assert np.all(covariance_model(model).variances(gm.covariances_, 3, 3)[:, 2] > 1e-7)
