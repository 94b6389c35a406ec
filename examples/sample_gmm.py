# Drawing samples from a Gaussian Mixture Model
#
# PyPR's documentation example "sample_gmm", unchanged except for the import
# line, and for saving the figure at the end:
#
#     python examples/sample_gmm.py [out.png]      (default: ./sample_gmm.png)
#
# matplotlib picks its backend as usual (MPLBACKEND, matplotlibrc); with none
# set the figure is drawn off-screen (Agg) and only written to the PNG.
import os
import sys

import matplotlib

if not os.environ.get("MPLBACKEND"):
    matplotlib.use("Agg")

from numpy import *
from matplotlib.pylab import *
import gaussmix.gmm as gmm

mc = [0.4, 0.4, 0.2] # Mixing coefficients
centroids = [ array([0,0]), array([3,3]), array([0,4]) ]
ccov = [ array([[1,0.4],[0.4,1]]), diag((1,2)), diag((0.4,0.1)) ]
    # Covariance matrices

X = gmm.sample_gaussian_mixture(centroids, ccov, mc, samples=1000)
plot(X[:,0], X[:,1], '.')

for i in range(len(mc)):
    x1, x2 = gmm.gauss_ellipse_2d(centroids[i], ccov[i])
    plot(x1, x2, 'k', linewidth=2)
xlabel('$x_1$'); ylabel('$x_2$')

# --- added: save the figure (and show it when an interactive backend was chosen)
out = sys.argv[1] if len(sys.argv) > 1 else "sample_gmm.png"
if os.path.dirname(out):
    os.makedirs(os.path.dirname(out), exist_ok=True)  # added: a new output folder is made
savefig(out, dpi=90)
print("wrote", out)
if matplotlib.get_backend().lower() != "agg":
    show()
