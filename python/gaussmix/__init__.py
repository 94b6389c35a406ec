"""gaussmix: Gaussian mixture models with a fast multithreaded C++ core.

``gaussmix.gmm``, ``gaussmix.kmeans`` and ``gaussmix.stattest`` are drop-in
replacements for PyPR's ``pypr.clustering.gmm``, ``pypr.clustering.kmeans``
and ``pypr.stattest``.
"""
from ._config import get_num_threads, max_num_threads, set_num_threads
from . import gmm, kmeans, stattest

__version__ = "0.1.0"

__all__ = ["gmm", "kmeans", "stattest", "set_num_threads", "get_num_threads", "max_num_threads", "__version__"]
