"""mclust's covariance models (gaussmix/_mclust.py, issue 27) against R's
mclust 6: from the responsibilities of mclust's hierarchical start on
faithful, iris, diabetes and banknote, the same number of M-step + E-step
rounds as me(modelName, data, z) gives the same log-likelihood, proportions,
means, covariances and BIC. The reference values are R's, written by
tools/mclust_references.R into tests/mclust_reference.json (no R needed
here)."""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from gaussmix._mclust import MCLUST_MODELS, PRIOR_MODELS, ConstrainedMStep, MapMStep, default_prior, me, n_parameters

REFERENCE = json.loads((Path(__file__).parent / "mclust_reference.json").read_text())
SETS = REFERENCE["data_sets"]


def runs():
    """Every run R could fit: the fourteen models without the prior, its ten with it."""
    for name, data in SETS.items():
        for run in data["runs"]:
            if run["ok"]:
                yield pytest.param(name, run, id=f"{name}-{run['model']}-{run['n_iter']}" + ("-prior" * run["prior"]))


@pytest.mark.parametrize("name, run", list(runs()))
def test_me_from_mclusts_start_gives_mclusts_fit(name, run):
    """With the prior, mclust's BIC is the same formula at the posterior mode's log-likelihood."""
    data = SETS[name]
    x, z = np.array(data["x"]), np.array(data["z"])
    prior = default_prior(run["model"], x.mean(axis=0), np.cov(x.T), len(x), data["G"]) if run["prior"] else None
    weights, means, covariances, log_likelihood = me(x, z, run["model"], run["n_iter"], prior=prior)
    np.testing.assert_allclose(log_likelihood, run["loglik"], rtol=1e-9)
    np.testing.assert_allclose(weights, run["pro"], rtol=1e-7, atol=1e-12)
    np.testing.assert_allclose(means, run["mean"], rtol=1e-7)
    want = np.array(run["covariances"])
    np.testing.assert_allclose(covariances, want, rtol=1e-6, atol=1e-9 * np.abs(want).max())
    n, d = x.shape
    bic = 2 * log_likelihood - n_parameters(run["model"], data["G"], d) * math.log(n)
    np.testing.assert_allclose(bic, run["bic"], rtol=1e-9)
    assert n_parameters(run["model"], data["G"], d) == run["n_params"]


@pytest.mark.parametrize("model", MCLUST_MODELS)
def test_parameter_counts_are_mclusts(model):
    counts = {(run["model"], data["G"], len(data["x"][0])): run["n_params"]
              for data in SETS.values() for run in data["runs"] if run["ok"]}
    checked = [(g, d, c) for (m, g, d), c in counts.items() if m == model]
    assert checked
    for g, d, count in checked:
        assert n_parameters(model, g, d) == count


def scatter_of(x, z):
    nk = z.sum(axis=0)
    means = z.T @ x / nk[:, None]
    return nk, np.stack([(z[:, k, None] * (x - means[k])).T @ (x - means[k]) for k in range(z.shape[1])])


def expected_complete_log_likelihood(nk, scatter, covariances):
    """sum_k [-n_k/2 log|S_k| - tr(W_k S_k^-1)/2]: the part of Q the covariances change."""
    return sum(-0.5 * n * np.linalg.slogdet(s)[1] - 0.5 * np.trace(np.linalg.solve(s, w))
               for n, w, s in zip(nk, scatter, covariances))


def perturbed(model, covariances, rng):
    """covariances, each written lambda_k D_k A_k D_k^T, with the volumes, shapes and orientations moved
    as the model lets them vary: one move for all components where it says E, one per component where V,
    none where I."""
    k, d, _ = covariances.shape
    if model[2] == "I":  # axis-aligned: D_k = I
        values, vectors = np.diagonal(covariances, axis1=1, axis2=2).copy(), np.broadcast_to(np.eye(d), (k, d, d))
    else:
        values, vectors = np.linalg.eigh(covariances)
    volume = np.exp(np.log(values).mean(axis=1))
    shape = values / volume[:, None]
    volume = volume * rng.uniform(0.9, 1.1, size=1 if model[0] == "E" else k)
    if model[1] != "I":
        g = np.exp(rng.normal(0.0, 0.05, size=(1 if model[1] == "E" else k, d)))
        shape = shape * (g / np.exp(np.log(g).mean(axis=1))[:, None])
    if model[2] != "I":
        turns = [np.linalg.qr(np.eye(d) + 0.05 * rng.normal(size=(d, d)))[0]
                 for _ in range(1 if model[2] == "E" else k)]
        vectors = np.stack([turns[min(j, len(turns) - 1)] @ vectors[j] for j in range(k)])
    return np.einsum("kij,kj,klj->kil", vectors, volume[:, None] * shape, vectors)


@pytest.mark.parametrize("model", MCLUST_MODELS)
def test_each_m_step_maximises_the_expected_log_likelihood_under_its_constraints(model):
    """No covariances of the model's form do better than the M-step's (random moves of the volumes, shapes
    and orientations that the model lets vary), and the M-step's are of that form (unmoved, they are
    returned by perturbed's decomposition)."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(400, 3)) @ rng.normal(size=(3, 3)) + rng.integers(3, size=400)[:, None] * [3.0, 0.0, 1.0]
    z = rng.dirichlet(np.ones(3), size=400)
    nk, scatter = scatter_of(x, z)
    best = ConstrainedMStep(model).covariances(nk, scatter)
    q_best = expected_complete_log_likelihood(nk, scatter, best)
    for _ in range(30):
        moved = perturbed(model, best, rng)
        assert expected_complete_log_likelihood(nk, scatter, moved) < q_best
    # A move the model does not allow (each component's volume on its own, for an E-volume model) can do better.
    if model[0] == "E":
        free = ConstrainedMStep("VVV").covariances(nk, scatter)
        assert expected_complete_log_likelihood(nk, scatter, free) > q_best


def test_unknown_models_are_refused():
    with pytest.raises(ValueError, match="unknown mclust model 'XYZ'"):
        ConstrainedMStep("XYZ")


def test_models_without_mclusts_prior_refuse_it():
    x = np.array(SETS["iris"]["x"])
    prior = default_prior("VVV", x.mean(axis=0), np.cov(x.T), len(x), 3)
    for model in set(MCLUST_MODELS) - set(PRIOR_MODELS):
        with pytest.raises(ValueError, match=f"not {model}"):
            MapMStep(model, prior)
