"""gaussmix plot draws what its title says: each ellipse is the set of points
at the Mahalanobis radius the title names, whose semi-axes are that radius
times the square roots of the eigenvalues of the component's covariance
(checked against NumPy on the fitted model's covariances, marginalised by
indexing)."""
from __future__ import annotations

import re

import numpy as np
import pytest

pytest.importorskip("sklearn")
matplotlib = pytest.importorskip("matplotlib")

from gaussmix import GaussianMixture  # noqa: E402
from gaussmix.__main__ import main  # noqa: E402
from test_cli import X, write_csv  # noqa: E402


@pytest.fixture
def drawn(tmp_path, monkeypatch):
    """main(["plot", ...]) in process, keeping the figure it saves."""
    from matplotlib.figure import Figure

    figures = []
    savefig = Figure.savefig

    def keep(self, *args, **kwargs):
        figures.append(self)
        return savefig(self, *args, **kwargs)

    monkeypatch.setattr(Figure, "savefig", keep)
    monkeypatch.chdir(tmp_path)
    write_csv(tmp_path / "data.csv", X)
    yield figures
    import matplotlib.pyplot as plt

    plt.close("all")


@pytest.mark.parametrize("covariance_type", ["full", "tied", "diag", "spherical"])
@pytest.mark.parametrize("dims", [(0, 1), (2, 0)])
def test_the_ellipses_are_at_the_standard_deviations_of_the_title(tmp_path, drawn, covariance_type, dims):
    model = GaussianMixture(2, covariance_type=covariance_type, random_state=0).fit(X)
    model.save(tmp_path / "model.npz")
    assert main(["plot", "model.npz", "data.csv", "--dims", f"{dims[0]},{dims[1]}", "-o", "fit.png"]) == 0
    (fig,) = drawn
    ax = fig.axes[0]
    radius = float(re.search(r"ellipses at ([\d.]+) standard deviations", ax.get_title()).group(1))
    assert radius == 2
    ellipses = [line for line in ax.lines if line.get_label() != "data"]
    assert len(ellipses) == model.n_components
    dense = {"full": lambda k: model.covariances_[k], "tied": lambda k: model.covariances_,
             "diag": lambda k: np.diag(model.covariances_[k]),
             "spherical": lambda k: np.eye(X.shape[1]) * model.covariances_[k]}[covariance_type]
    for k, line in enumerate(ellipses):
        mean = model.means_[k][list(dims)]
        cov = dense(k)[np.ix_(dims, dims)]
        points = np.column_stack(line.get_data()) - mean
        maha = np.sqrt(np.einsum("ni,ij,nj->n", points, np.linalg.inv(cov), points))
        np.testing.assert_allclose(maha, radius, rtol=1e-9)
        semi_axes = radius * np.sqrt(np.linalg.eigvalsh(cov))
        distance = np.linalg.norm(points, axis=1)
        np.testing.assert_allclose([distance.min(), distance.max()], semi_axes, rtol=2e-3)
