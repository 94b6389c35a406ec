"""gaussmix: Gaussian mixture models with a fast multithreaded C++ core.

``gaussmix.gmm``, ``gaussmix.kmeans`` and ``gaussmix.stattest`` are drop-in
replacements for PyPR's ``pypr.clustering.gmm``, ``pypr.clustering.kmeans``
and ``pypr.stattest``.

``gaussmix.Mixture`` with ``block_stats``, ``merge_stats`` and ``m_step`` is
EM as three calls for any engine that holds the data in pieces, and
``fit_em`` the same loop in memory, for every covariance model (full, tied,
diag, spherical) and weighted rows.

``gaussmix.GaussianMixture`` is a drop-in for scikit-learn's estimator of
that name (imported on first use: it needs scikit-learn and SciPy, which a
plain install brings; ``import gaussmix`` and the PyPR face import neither); it fits
Dask arrays chunk by chunk, and ``gaussmix.dask_array_from_npy`` opens a
``.npy`` file larger than memory as one; without Dask, ``fit`` takes a chunk
source (a callable returning a fresh iterator of row blocks: exact EM, one
read per iteration), and ``gaussmix.npy_chunks`` and ``gaussmix.parquet_chunks``
make one of a file. ``gaussmix.select_model`` fits and
scores every K and covariance model in one call.
"""
from ._config import config_info, get_num_threads, max_num_threads, set_num_threads, show_config
from ._mixture import COVARIANCE_TYPES, Mixture
from ._em_stats import EmResult, SufficientStats, block_stats, fit_em, m_step, merge_stats
from ._dask import dask_array_from_npy
from ._chunks import npy_chunks, parquet_chunks
from .selection import select_model
from . import gmm, kmeans, stattest

__version__ = "0.1.0"


#: The names that need scikit-learn, and their modules: imported on first use,
#: so that `import gaussmix` and the PyPR face stay light.
_SCIKIT_LEARN_NAMES = {"GaussianMixture": "estimator", "StartCache": "_starts",
                       "BayesianGaussianMixture": "bayesian"}


def __getattr__(name):
    if name in _SCIKIT_LEARN_NAMES:
        from importlib import import_module

        try:
            module = import_module(f".{_SCIKIT_LEARN_NAMES[name]}", __name__)
        except ImportError as exc:
            if exc.name is None or not exc.name.startswith("sklearn"):
                raise
            raise ImportError(f"gaussmix.{name} needs scikit-learn (>= 1.7), a dependency of gaussmix that "
                              "is missing here: pip install 'scikit-learn>=1.7' (or reinstall gaussmix)") from exc
        return getattr(module, name)
    raise AttributeError(f"module 'gaussmix' has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + list(_SCIKIT_LEARN_NAMES))

__all__ = ["gmm", "kmeans", "stattest", "set_num_threads", "get_num_threads", "max_num_threads", "__version__",
           "show_config", "config_info",
           "Mixture", "COVARIANCE_TYPES", "SufficientStats", "EmResult", "block_stats", "merge_stats", "m_step",
           "fit_em", "dask_array_from_npy", "npy_chunks", "parquet_chunks", "select_model"]  # GaussianMixture and StartCache are left out: `import *` must work without scikit-learn
