"""GMM regression: fit a mixture to (x, y) pairs, then predict y from x.

A Gaussian mixture fitted to the joint distribution of (x, y) gives, for
every x, the conditional distribution p(y | x): another Gaussian mixture.
``gmm.predict`` fills the unknown y of rows ``[x, nan]`` with its mean and
returns its variance, so the fitted curve comes with an error band.

    python examples/gmm_regression.py [out_dir]    (default: the current directory)

writes gmm_regression.png. matplotlib picks its backend as usual (MPLBACKEND,
matplotlibrc); with none set the figure is drawn off-screen (Agg).
"""
import os
import sys

import matplotlib

if not os.environ.get("MPLBACKEND"):
    matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np

import gaussmix.gmm as gmm
import gaussmix.plot

np.random.seed(3)  # sampling and EM's initialisation use NumPy's global generator

# Noisy sine; the noise grows with x, so the band should widen to the right.
N = 1000
x = np.random.uniform(0.0, 2.0 * np.pi, N)
y = np.sin(x) + (0.1 + 0.05 * x) * np.random.randn(N)
X = np.column_stack((x, y))

# A 6-component mixture for the joint density p(x, y).
center_list, cov_list, p_k, logL = gmm.em(X, K=6, max_iter=300, init_kw={"cluster_init": "kmeans"})
print(f"log-likelihood of the fit: {logL:.2f}")

# Regression: rows [x, nan]; predict fills the NaNs with E[y | x] and returns
# each row's conditional covariance (here 1 x 1: the variance of y given x).
x_grid = np.linspace(0.0, 2.0 * np.pi, 300)
rows = np.column_stack((x_grid, np.full_like(x_grid, np.nan)))
cond_cov = gmm.predict(rows, center_list, cov_list, p_k)
y_mean = rows[:, 1]
y_sd = np.sqrt([c[0, 0] for c in cond_cov])

fig, ax = plt.subplots(figsize=(7, 4.2))
gaussmix.plot.ellipses(center_list, cov_list, X, ax=ax, color="0.55", linewidth=1)
ax.fill_between(x_grid, y_mean - y_sd, y_mean + y_sd, color="tab:red", alpha=0.25,
                label=r"$\pm 1$ sd of $p(y \mid x)$")
ax.plot(x_grid, y_mean, color="tab:red", linewidth=2, label=r"$E[y \mid x]$ (gmm.predict)")
ax.plot(x_grid, np.sin(x_grid), "k--", linewidth=1, label=r"$\sin x$")
ax.set_xlabel("$x$")
ax.set_ylabel("$y$")
ax.set_title("GMM regression, K = 6 (grey: component ellipses, 1 sd)")
ax.legend(loc="lower left", fontsize="small")

out_dir = sys.argv[1] if len(sys.argv) > 1 else "."
os.makedirs(out_dir, exist_ok=True)
out = os.path.join(out_dir, "gmm_regression.png")
fig.savefig(out, dpi=90)
print("wrote", out)
if matplotlib.get_backend().lower() != "agg":
    plt.show()
