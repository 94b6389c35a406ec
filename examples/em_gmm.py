# An example of using the Expectation Maximization (EM) algorithm to find the
# parameters for a mixture of gaussian given a set of samples.
#
# PyPR's documentation example, unchanged except for the import line, Python 3
# print(), a seed (so that the committed figures come out the same on every
# run), the conditional figure's axis labels and legend, and saving the two
# figures at the end:
#
#     python examples/em_gmm.py [out_dir]    (default: the current directory)
#
# writes em_gmm_fit.png (samples, EM progress and the fitted ellipses) and
# em_gmm_conditional.png (the conditional density of x_1 given x_2 = -1).
# matplotlib picks its backend as usual (MPLBACKEND, matplotlibrc); with none
# set the figures are drawn off-screen (Agg) and only written to the PNGs.
import os
import sys

import matplotlib

if not os.environ.get("MPLBACKEND"):
    matplotlib.use("Agg")

from numpy import *
from matplotlib.pylab import *
import numpy as np  # the original used np. and got it from pylab's namespace; say so explicitly
import gaussmix.gmm as gmm

def iter_plot(cen_lst, cov_lst, itr):
    # For plotting EM progress
    if itr % 2 == 0:
        for i in range(len(cen_lst)):
            x,y = gmm.gauss_ellipse_2d(cen_lst[i], cov_lst[i])
            plot(x, y, 'k', linewidth=0.5)
mc = [0.4, 0.4, 0.2] # Mixing coefficients
centroids = [ array([0,0]), array([3,3]), array([0,4]) ]
ccov = [ array([[1,0.4],[0.4,1]]), diag((1,2)), diag((0.4,0.1)) ]

# Generate samples from the gaussian mixture model
np.random.seed(1)  # added: the same samples, fit and figures on every run
X = gmm.sample_gaussian_mixture(centroids, ccov, mc, samples=1000)
fig1 = figure()
plot(X[:,0], X[:,1], '.')

# Expectation-Maximization of Mixture of Gaussians
cen_lst, cov_lst, p_k, logL = gmm.em_gm(X, K = 3, iter = 400,\
    verbose = True, iter_call = iter_plot)
print("Log likelihood (how well the data fits the model) = ", logL)

# Plot the cluster ellipses
for i in range(len(cen_lst)):
    x1,x2 = gmm.gauss_ellipse_2d(cen_lst[i], cov_lst[i])
    plot(x1, x2, 'k', linewidth=2)
title(""); xlabel(r'$x_1$'); ylabel(r'$x_2$')

# Now we will find the conditional distribution of x given y
fig2 = figure()
ax1 = subplot(111)
plot(X[:,0], X[:,1], ',')
y = -1.0
x1plt = np.linspace(axis()[0], axis()[1], 200)
for i in range(len(cen_lst)):
    text(cen_lst[i][0], cen_lst[i][1], str(i+1), horizontalalignment='center',
        verticalalignment='center', size=32, color=(0.2,0,0))
    ex,ey = gmm.gauss_ellipse_2d(cen_lst[i], cov_lst[i])
    plot(ex, ey, 'k', linewidth=0.5)
ax2 = twinx()
(con_cen, con_cov, new_p_k) = gmm.cond_dist(np.array([np.nan, y]), \
        cen_lst, cov_lst, p_k)
x2plt = gmm.gmm_pdf(c_[x1plt], con_cen, con_cov, new_p_k)
ax2.plot(x1plt, x2plt,'r', linewidth=2,
     label='Cond. dist. of $x_1$ given $x_2='+str(y)+'$')

# --- added: the axes' labels and the legend PyPR's figure lacked
ax1.set_xlabel(r'$x_1$'); ax1.set_ylabel(r'$x_2$ (samples and fitted components)')
ax2.set_ylabel(r'$p(x_1 \mid x_2=' + str(y) + ')$')
ax2.legend(loc='upper right')

# --- added: save both figures (and show them when an interactive backend was chosen)
out_dir = sys.argv[1] if len(sys.argv) > 1 else "."
os.makedirs(out_dir, exist_ok=True)
for fig, name in ((fig1, "em_gmm_fit.png"), (fig2, "em_gmm_conditional.png")):
    fig.savefig(os.path.join(out_dir, name), dpi=90)
    print("wrote", os.path.join(out_dir, name))
if matplotlib.get_backend().lower() != "agg":
    show()
