"""``gaussmix fit --chunk-rows``: a .npy or Parquet file fitted by exact EM a
chunk at a time gives the Dask path's fit of the same file (the same sample
for the start), reports the in-memory score and BIC, keeps Parquet's column
names, and refuses what it cannot do with a message naming the remedy."""
from __future__ import annotations

import re

import numpy as np
import pytest

pytest.importorskip("sklearn")
da = pytest.importorskip("dask.array")

from sklearn.exceptions import ConvergenceWarning  # noqa: E402

from gaussmix import GaussianMixture, dask_array_from_npy  # noqa: E402
from gaussmix.estimator import MixtureEstimator  # noqa: E402

from test_cli import gaussmix  # noqa: E402

rng = np.random.default_rng(4)
X = np.concatenate([rng.normal(size=(9000, 3)), rng.normal(size=(6000, 3)) * 0.5 + [4.0, 4.0, 0.0]])


def test_npy_file_fitted_in_chunks_is_the_dask_fit_of_the_file(tmp_path):
    np.save(tmp_path / "x.npy", X)
    out = gaussmix("fit", "x.npy", "-k", "3", "--chunk-rows", "4000", "--seed", "2", "-o", "m.npz",
                   cwd=tmp_path).stdout
    model = MixtureEstimator.load(tmp_path / "m.npz")
    reference = GaussianMixture(3, random_state=2).fit(dask_array_from_npy(tmp_path / "x.npy"))
    np.testing.assert_allclose(model.means_, reference.means_, rtol=1e-9)
    np.testing.assert_allclose(model.covariances_, reference.covariances_, rtol=1e-9)
    assert model.n_iter_ == reference.n_iter_
    score, bic = (float(v) for v in re.search(r"per row (\S+), BIC (\S+)", out).groups())
    assert "to 15000 rows x 3 columns" in out
    np.testing.assert_allclose(score, reference.score(X), rtol=1e-5)
    np.testing.assert_allclose(bic, reference.bic(X), rtol=1e-6)


def test_parquet_columns_by_name_and_their_names_kept(tmp_path):
    pd = pytest.importorskip("pandas")
    pytest.importorskip("pyarrow")
    frame = pd.DataFrame({"id": np.arange(len(X)), "a": X[:, 0], "label": ["x"] * len(X), "b": X[:, 1]})
    frame.to_parquet(tmp_path / "x.parquet")
    gaussmix("fit", "x.parquet", "-k", "2", "--chunk-rows", "5000", "--columns", "a,b", "-o", "m.npz", cwd=tmp_path)
    model = MixtureEstimator.load(tmp_path / "m.npz")
    assert list(model.feature_names_in_) == ["a", "b"]
    reference = GaussianMixture(2, random_state=0).fit(da.from_array(X[:, :2], chunks=5000))
    np.testing.assert_allclose(model.means_, reference.means_, rtol=1e-9)
    err = gaussmix("fit", "x.parquet", "-k", "2", "--chunk-rows", "5000", cwd=tmp_path, check_rc=1).stderr
    assert "column 'label'" in err and "leave it out with --columns" in err


def test_refusals_name_the_remedy(tmp_path):
    np.savetxt(tmp_path / "x.csv", X[:100], delimiter=",")
    err = gaussmix("fit", "x.csv", "-k", "2", "--chunk-rows", "50", cwd=tmp_path, check_rc=1).stderr
    assert "--chunk-rows reads .npy and Parquet files" in err and "leave out --chunk-rows" in err
    np.save(tmp_path / "x.npy", X)
    err = gaussmix("fit", "x.npy", "-k", "2..3", "--chunk-rows", "50", cwd=tmp_path, check_rc=1).stderr
    assert "fits one model" in err
    err = gaussmix("fit", "x.npy", "-k", "2", "--chunk-rows", "50", "--missing", cwd=tmp_path, check_rc=1).stderr
    assert "needs the rows in memory" in err
    holes = X.copy()
    holes[7000, 2] = np.nan
    np.save(tmp_path / "h.npy", holes)
    err = gaussmix("fit", "h.npy", "-k", "2", "--chunk-rows", "5000", cwd=tmp_path, check_rc=1).stderr
    assert "rows 5000 to 9999 (chunk 1) hold NaN" in err
    err = gaussmix("fit", "x.npy", "-k", "2", "--chunk-rows", "0", cwd=tmp_path, check_rc=2).stderr
    assert "--chunk-rows" in err
    err = gaussmix("fit", "x.npy", "-k", "2", "--chunk-rows", "10", "--columns", "5", cwd=tmp_path, check_rc=1).stderr
    assert "not an index" in err


def test_bayesian_fit_in_chunks_is_the_dask_fit_of_the_file(tmp_path):
    from gaussmix import BayesianGaussianMixture

    np.save(tmp_path / "x.npy", X)
    gaussmix("fit", "x.npy", "-k", "3", "--bayesian", "--chunk-rows", "4000", "--seed", "2", "--max-iter", "20",
             "-o", "m.npz", cwd=tmp_path, check_rc=None)
    model = MixtureEstimator.load(tmp_path / "m.npz")
    with pytest.warns(ConvergenceWarning):
        reference = BayesianGaussianMixture(3, random_state=2, max_iter=20).fit(dask_array_from_npy(tmp_path / "x.npy"))
    np.testing.assert_allclose(model.means_, reference.means_, rtol=1e-9)
    np.testing.assert_allclose(model.weight_concentration_, reference.weight_concentration_, rtol=1e-9)
