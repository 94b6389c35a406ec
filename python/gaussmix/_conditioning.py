"""Conditioning a fitted mixture: its marginals, its conditionals given some
features' values, and GMM regression (each row's missing entries by their
conditional means), for the estimator (:class:`ConditioningMixin`), all on
the core's Gaussian conditioning (cpp/include/gaussmix/condition.hpp)."""
from __future__ import annotations

import numpy as np
from sklearn.utils.validation import check_is_fitted

from . import _core
from ._config import threads_for_core
from ._covariance import covariance_model
from ._fitted import GIVEN, scoring_mixture, set_fitted
from ._mixture import Mixture
from ._params import is_int
from ._validation import real_array


class ConditioningMixin:
    """marginal, condition and predict_missing of a fitted estimator with
    scikit-learn's fitted attributes (means_, covariance_type, ...): of the
    mixture of weights_, means_ and covariances_ (for
    BayesianGaussianMixture, the plug-in mixture of the posterior's
    expected parameters)."""

    def _feature_indices(self, features, func: str) -> np.ndarray:
        """features (indices, or names when the model has feature_names_in_) as unique int indices."""
        check_is_fitted(self)
        items = np.atleast_1d(np.asarray(features, dtype=object))
        if items.ndim != 1 or items.size == 0:
            raise ValueError(f"{type(self).__name__}.{func}(): features must be a non-empty list of feature "
                             f"indices or names, got {features!r}")
        names = getattr(self, "feature_names_in_", None)
        indices = []
        for item in items:
            if isinstance(item, str):
                if names is None or item not in names:
                    known = "the model has no feature names" if names is None else f"known: {list(names)}"
                    raise ValueError(f"{type(self).__name__}.{func}(): unknown feature {item!r} ({known})")
                indices.append(int(np.flatnonzero(names == item)[0]))
            elif is_int(item) and -self.n_features_in_ <= item < self.n_features_in_:
                indices.append(int(item) % self.n_features_in_)
            else:
                raise ValueError(f"{type(self).__name__}.{func}(): features must be indices in "
                                 f"[0, {self.n_features_in_}) or feature names, got {item!r}")
        indices = np.array(indices, dtype=np.int64)
        if len(set(indices.tolist())) != len(indices):
            raise ValueError(f"{type(self).__name__}.{func}(): features must not repeat, got {features!r}")
        return indices

    def _derived_estimator(self, n_components: int):
        """The unfitted estimator that holds a marginal or conditional of
        this model (this class, with its parameters, the initial ones unset;
        an mclust model's marginals and conditionals keep its kernel's form,
        not its constraints, so they hold that form's name)."""
        params = {**self.get_params(), "weights_init": None, "means_init": None, "precisions_init": None,
                  "covariance_type": covariance_model(self.covariance_type).kernel}
        if "resp_init" in params:
            params["resp_init"] = None
        return type(self)(**params)

    def _derived(self, weights, means, dense_covariances, kept: np.ndarray):
        """A fitted model over the features kept, from a core marginal or
        conditional (dense covariances, which have this model's structure)."""
        model = self._derived_estimator(len(weights))
        form = covariance_model(self.covariance_type)
        mixture = Mixture(weights, means, form.from_dense(dense_covariances), form.kernel)
        set_fitted(model, mixture, self.means_.dtype, GIVEN)
        names = getattr(self, "feature_names_in_", None)
        if names is not None:
            model.feature_names_in_ = names[kept]
        return model

    def marginal(self, features):
        """The mixture of the marginal distribution of some features.

        Parameters
        ----------
        features : sequence of int or str
            Feature indices (or names, for a model fitted on a DataFrame), in
            the order the result's features take.

        Returns
        -------
        GaussianMixture
            Fitted over those features, with the same weights and covariance model.
        """
        dims = self._feature_indices(features, "marginal")
        mixture = scoring_mixture(self)
        weights, means, covs = _core.marginal(mixture.weights, mixture.means, mixture.dense_covariances(),
                                              dims.tolist())
        return self._derived(weights, means, covs, dims)

    def condition(self, features, values):
        """The mixture of the other features given that ``features`` took ``values``.

        Each component's mean and covariance become their Gaussian
        conditionals, and the weights the components' posterior
        probabilities given those values.

        Parameters
        ----------
        features : sequence of int or str
            The observed features (indices, or names for a model fitted on a DataFrame).
        values : array-like of shape (len(features),)
            Their values.

        Returns
        -------
        GaussianMixture
            Fitted over the remaining features, in their original order.
        """
        observed = self._feature_indices(features, "condition")
        func = f"{type(self).__name__}.condition"
        values = real_array(values, func, "values").reshape(-1)
        if values.shape != observed.shape:
            raise ValueError(f"{func}(): values must hold one value per feature ({len(observed)}), got "
                             f"{values.shape[0]}")
        if not np.isfinite(values).all():
            raise ValueError(f"{func}(): values must be finite; to leave a feature free, leave it out of features")
        kept = np.setdiff1d(np.arange(self.n_features_in_), observed)
        if kept.size == 0:
            raise ValueError(f"{func}(): conditioning on every feature leaves no distribution; leave at least one "
                             "feature out")
        mixture = scoring_mixture(self)
        weights, means, covs = _core.condition(mixture.weights, mixture.means, mixture.dense_covariances(),
                                               observed.tolist(), values)
        return self._derived(weights, means, covs, kept)

    def predict_missing(self, X, return_cov=False):
        """GMM regression: X with every NaN replaced by its conditional mean
        given the row's other values (a row's own missing pattern).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            NaN marks an unknown entry (infinities are refused); not modified.
        return_cov : bool, default=False
            Also return each row's conditional covariance of its unknowns.

        Returns
        -------
        filled : ndarray of shape (n_samples, n_features), float64
            A new array.
        cov : ndarray of shape (n_samples, n_features, n_features)
            Only with return_cov: row i's conditional covariance in the rows
            and columns of its NaNs, 0 elsewhere.
        """
        x = self._rows(X, "predict_missing", ensure_all_finite="allow-nan")
        filled = np.array(x, dtype=np.float64, order="C", copy=True)
        missing = np.isnan(filled)
        mixture = scoring_mixture(self)
        offsets, flat = _core.predict_missing(filled, mixture.weights, mixture.means, mixture.dense_covariances(),
                                              threads_for_core())
        if not return_cov:
            return filled
        return filled, _scatter_conditional_covariances(missing, offsets, flat)


def _scatter_conditional_covariances(missing: np.ndarray, offsets: np.ndarray, flat: np.ndarray) -> np.ndarray:
    """(N, D, D) zeros with row i's conditional covariance (flat[offsets[i]:
    offsets[i+1]], m_i x m_i over its missing columns in order) in the rows and
    columns of its NaNs; vectorised over all entries."""
    n, d = missing.shape
    out = np.zeros((n, d, d))
    counts = missing.sum(axis=1)
    sizes = counts**2
    row = np.repeat(np.arange(n), sizes)
    position = np.arange(flat.size) - np.repeat(offsets[:-1], sizes)
    m = np.repeat(counts, sizes)
    first_missing = np.concatenate(([0], np.cumsum(counts)[:-1]))  # where row i's columns start in missing_cols
    missing_cols = np.nonzero(missing)[1]
    start = np.repeat(first_missing, sizes)
    out[row, missing_cols[start + position // np.maximum(m, 1)], missing_cols[start + position % np.maximum(m, 1)]] = flat
    return out
