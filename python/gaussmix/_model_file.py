"""Model files: a fitted GaussianMixture in a safe, versioned ``.npz``.

The file is a NumPy ``.npz`` archive of plain arrays (read with
``allow_pickle=False``: loading a file runs no code): a ``format`` marker, the
``format_version`` (FORMAT_VERSION), the gaussmix version that wrote it, the
constructor parameters as JSON, and the fitted attributes as they were, so
that a loaded model's attributes, scores and samples are bit-identical to
the saved one's. A file of a newer format is refused with a clear error.

The same files come from ``GaussianMixture.save`` and ``gaussmix fit -o``,
and are read by ``GaussianMixture.load`` and every ``gaussmix`` command.

Parameters that are not JSON values (a RandomState given as random_state)
are stored as None; array parameters (weights_init, ...) as lists.
"""
from __future__ import annotations

import json
import os
import zipfile

import numpy as np

FORMAT = "gaussmix-model"
FORMAT_VERSION = 1

#: The fitted arrays, stored with their dtypes.
_ARRAYS = ("weights_", "means_", "covariances_", "precisions_", "precisions_cholesky_")


def _json_value(value):
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, (np.integer, np.floating, np.bool_)):
        return value.item()
    if value is None or isinstance(value, (bool, int, float, str, list, tuple)):
        return value
    return None  # e.g. a RandomState: not representable, stored as None


def save(model, path) -> None:
    """Write the fitted model to path (exactly that name; '.npz' is not added)."""
    from . import __version__

    from sklearn.utils.validation import check_is_fitted

    check_is_fitted(model)
    params = {name: _json_value(value) for name, value in model.get_params(deep=False).items()}
    fitted = model._scoring_mixture()
    arrays = {name: getattr(model, name) for name in _ARRAYS}
    arrays.update(
        format=np.array(FORMAT), format_version=np.array(FORMAT_VERSION), gaussmix_version=np.array(__version__),
        params=np.array(json.dumps(params)), converged=np.array(bool(model.converged_)),
        n_iter=np.array(int(model.n_iter_)), lower_bound=np.array(float(model.lower_bound_)),
        lower_bounds=np.asarray(model.lower_bounds_, dtype=np.float64),
        mixture_weights=fitted.weights, mixture_means=fitted.means, mixture_covariances=fitted.covariances)
    if hasattr(model, "feature_names_in_"):
        arrays["feature_names_in"] = np.asarray(model.feature_names_in_, dtype=str)
    with open(path, "wb") as f:
        np.savez(f, **arrays)


def load(cls, path):
    """The model saved in path, as an instance of cls (GaussianMixture)."""
    from ._mixture import Mixture

    if not os.path.isfile(path):
        raise FileNotFoundError(f"{path}: no such model file")
    try:
        archive = np.load(path, allow_pickle=False)
    except (ValueError, OSError, zipfile.BadZipFile) as exc:
        raise ValueError(f"{path} is not a gaussmix model file ({exc})") from None
    with archive:
        if not isinstance(archive, np.lib.npyio.NpzFile) or "format" not in archive.files \
                or str(archive["format"]) != FORMAT:
            raise ValueError(f"{path} is not a gaussmix model file (no '{FORMAT}' marker); write one with "
                             "GaussianMixture.save or gaussmix fit -o")
        version = int(archive["format_version"])
        if version > FORMAT_VERSION:
            raise ValueError(f"{path} has model file format {version}, written by gaussmix "
                             f"{archive['gaussmix_version']}; this gaussmix reads format {FORMAT_VERSION} and "
                             "older: upgrade gaussmix")
        params = json.loads(str(archive["params"]))
        model = cls(**params)
        for name in _ARRAYS:
            setattr(model, name, archive[name])
        model.converged_ = bool(archive["converged"])
        model.n_iter_ = int(archive["n_iter"])
        model.lower_bound_ = float(archive["lower_bound"])
        model.lower_bounds_ = archive["lower_bounds"].tolist()
        model.n_features_in_ = int(model.means_.shape[1])
        if "feature_names_in" in archive.files:
            model.feature_names_in_ = archive["feature_names_in"].astype(object)
        mixture = Mixture(archive["mixture_weights"], archive["mixture_means"], archive["mixture_covariances"],
                          model.covariance_type)
    model._restore_fitted(mixture)
    return model
