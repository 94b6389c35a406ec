"""Model files: GaussianMixture.save / load round trips bit-identically for
every covariance model and precision, in a versioned .npz without pickle."""
from __future__ import annotations

import json

import numpy as np
import pytest

pytest.importorskip("sklearn")

from gaussmix import GaussianMixture  # noqa: E402

X = np.random.default_rng(0).normal(size=(400, 3)) + np.repeat([[0, 0, 0], [4, 4, 0]], 200, axis=0)
ATTRIBUTES = ("weights_", "means_", "covariances_", "precisions_", "precisions_cholesky_", "converged_", "n_iter_",
              "lower_bound_", "lower_bounds_", "n_features_in_")


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("ctype", ["full", "tied", "diag", "spherical"])
def test_a_saved_model_loads_bit_identically(tmp_path, ctype, dtype):
    model = GaussianMixture(2, covariance_type=ctype, random_state=3, tol=1e-4).fit(X.astype(dtype))
    path = tmp_path / "model.gmm"  # the name as given: no .npz added
    model.save(path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.gmm"]
    loaded = GaussianMixture.load(path)
    assert loaded.get_params() == model.get_params()
    for name in ATTRIBUTES:
        got, want = getattr(loaded, name), getattr(model, name)
        assert type(got) is type(want), name
        if isinstance(want, np.ndarray):
            assert got.dtype == want.dtype and np.array_equal(got, want), name
        else:
            assert got == want, name
    data = X.astype(dtype)
    for method in ("score_samples", "predict_proba", "predict"):
        assert np.array_equal(getattr(loaded, method)(data), getattr(model, method)(data)), method
    assert all(np.array_equal(a, b) for a, b in zip(loaded.sample(5), model.sample(5)))
    np.load(path, allow_pickle=False).close()  # nothing in it needs pickle


def test_feature_names_survive(tmp_path):
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame(X, columns=["a", "b", "c"])
    GaussianMixture(2, random_state=0).fit(frame).save(tmp_path / "m.npz")
    loaded = GaussianMixture.load(tmp_path / "m.npz")
    assert list(loaded.feature_names_in_) == ["a", "b", "c"]
    loaded.predict(frame)


def test_a_newer_format_is_refused_with_a_clear_error(tmp_path):
    GaussianMixture(2, random_state=0).fit(X).save(tmp_path / "m.npz")
    with np.load(tmp_path / "m.npz") as archive:
        arrays = dict(archive)
    arrays["format_version"] = np.array(99)
    with open(tmp_path / "new.npz", "wb") as f:
        np.savez(f, **arrays)
    with pytest.raises(ValueError, match=r"format 99, written by gaussmix .*reads format 3 and older: upgrade"):
        GaussianMixture.load(tmp_path / "new.npz")


def test_other_files_are_refused(tmp_path):
    np.savez(tmp_path / "other.npz", x=np.zeros(3))
    with pytest.raises(ValueError, match="other.npz is not a valid gaussmix model file: it has no 'gaussmix-model'"):
        GaussianMixture.load(tmp_path / "other.npz")
    (tmp_path / "text.npz").write_text("hello")
    with pytest.raises(ValueError, match=r"text.npz is not a valid gaussmix model file: it is not an .npz \(zip\)"):
        GaussianMixture.load(tmp_path / "text.npz")
    with pytest.raises(FileNotFoundError, match="no such model file"):
        GaussianMixture.load(tmp_path / "missing.npz")


def test_an_unfitted_model_cannot_be_saved(tmp_path):
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        GaussianMixture(2).save(tmp_path / "m.npz")


def test_params_that_are_not_json_are_stored_as_none(tmp_path):
    model = GaussianMixture(2, random_state=np.random.RandomState(0), means_init=[[0, 0, 0], [4, 4, 0]]).fit(X)
    model.save(tmp_path / "m.npz")
    with np.load(tmp_path / "m.npz") as archive:
        params = json.loads(str(archive["params"]))
    assert params["random_state"] is None and params["means_init"] == [[0, 0, 0], [4, 4, 0]]
    assert GaussianMixture.load(tmp_path / "m.npz").get_params()["random_state"] is None
