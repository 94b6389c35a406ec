# Fitting data with holes: a 2-D mixture with 30% of its entries removed
# (missing at random), fitted three ways with gaussmix.GaussianMixture (3 components):
#
#   * missing-data EM: fit(X) with the NaNs, EM on the observed entries;
#   * dropping incomplete rows: fit(X[complete rows]), half the data thrown away;
#   * mean imputation: fit(X with each NaN replaced by its column mean).
#
#     python examples/missing_values.py [out.png]   (default: missing_values.png)
#
# draws each fit's ellipses (2 standard deviations) against the truth's and
# prints each fit's distance to the truth. Seeded: the same picture every run.
import os
import sys

import matplotlib

if not os.environ.get("MPLBACKEND"):
    matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np

import gaussmix.gmm as gmm
from gaussmix import GaussianMixture

rng = np.random.default_rng(3)
weights = np.array([0.4, 0.35, 0.25])
means = np.array([[0.0, 0.0], [4.0, 3.0], [-1.0, 5.0]])
covs = np.array([[[1.5, 1.0], [1.0, 1.2]], [[1.0, -0.7], [-0.7, 1.0]], [[0.6, 0.0], [0.0, 0.3]]])
labels = rng.choice(3, size=1500, p=weights)
X = np.stack([rng.multivariate_normal(means[k], covs[k]) for k in labels])

# Missing at random (the values a row lost may depend on the ones it kept, not on
# themselves): x_2 is lost more often where x_1 is large, and x_1 at random in rows
# that keep x_2. 30% of the entries go, and no row loses both.
holes = np.zeros(X.shape, dtype=bool)
holes[:, 1] = rng.random(len(X)) < 0.1 + 0.6 / (1 + np.exp(-2.0 * (X[:, 0] - 1.5)))
holes[:, 0] = ~holes[:, 1] & (rng.random(len(X)) < 0.4)
X_holes = np.where(holes, np.nan, X)
complete = ~holes.any(axis=1)

fits = {
    "missing-data EM": X_holes,
    f"dropping incomplete rows ({complete.sum()} of {len(X)} kept)": X_holes[complete],
    "mean imputation": np.where(holes, np.nanmean(X_holes, axis=0), X_holes),
}


def distance_to_truth(model):
    """Summed distance of means and covariances to the truth, components matched by their means."""
    order = [int(np.argmin(np.linalg.norm(model.means_ - m, axis=1))) for m in means]
    return sum(np.linalg.norm(model.means_[o] - m) + np.linalg.norm(model.covariances_[o] - c)
               for o, m, c in zip(order, means, covs))


fig, axes = plt.subplots(1, 3, figsize=(15, 5), sharex=True, sharey=True)
for ax, (name, data) in zip(axes, fits.items()):
    model = GaussianMixture(3, n_init=3, random_state=0).fit(data)
    error = distance_to_truth(model)
    print(f"{name}: distance to the truth {error:.3f}")
    shown = data[~np.isnan(data).any(axis=1)]
    ax.plot(shown[:, 0], shown[:, 1], ".", color="0.7", markersize=3, label="complete rows it fits")
    for k in range(3):
        x1, x2 = gmm.gauss_ellipse_2d(means[k], covs[k])
        ax.plot(x1, x2, "k--", linewidth=1.5, label="truth" if k == 0 else None)
        x1, x2 = gmm.gauss_ellipse_2d(model.means_[k], model.covariances_[k])
        ax.plot(x1, x2, "C3", linewidth=2, label="fit" if k == 0 else None)
    ax.set_title(f"{name}\ndistance to the truth {error:.2f}", fontsize=10)
    ax.set_xlabel(r"$x_1$")
axes[0].set_ylabel(r"$x_2$")
axes[0].legend(loc="lower right", fontsize=8)
fig.suptitle(f"{holes.mean():.0%} of the entries missing at random: $x_2$ more often where $x_1$ is large")
fig.tight_layout()
out = sys.argv[1] if len(sys.argv) > 1 else "missing_values.png"
fig.savefig(out, dpi=90)
print(f"wrote {out}")
