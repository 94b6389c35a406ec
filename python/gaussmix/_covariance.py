"""The covariance models, one class each, in one table: everything the Python
layer knows about a model's covariances — their shape, their diagonals,
their dense (K, D, D) form, their precisions, how many parameters they hold,
how a start's precisions are checked and how rows are drawn — lives here and
nowhere else, so that a new model (mclust's) is one more class in
:data:`COVARIANCE_MODELS`, not one more branch in every module.

scikit-learn's four models, in its order and with its shapes:

* ``full``: each component its own (D, D) covariance, (K, D, D);
* ``tied``: one (D, D) covariance shared by every component;
* ``diag``: each component its own variances, (K, D);
* ``spherical``: each component one variance, (K,).
"""
from __future__ import annotations

import numpy as np

from ._mclust import MCLUST_MODELS, n_covariance_parameters


class CovarianceModel:
    """One covariance model. ``matrix``: the covariances are full matrices
    (with correlations), else diagonals; ``shared``: one covariance serves
    every component; ``kernel``: the core's covariance type that holds the
    model's covariances and runs its E-step (the model's own name for
    scikit-learn's four); ``mclust``: the model's name in mclust's family
    (scikit-learn's four are VVV, EEE, VVI and VII)."""

    name: str
    matrix: bool
    shared: bool
    mclust: str

    @property
    def kernel(self) -> str:
        return self.name

    @property
    def constrained(self) -> bool:
        """The M-step is one of mclust's constrained ones (gaussmix/_mclust.py), not the core's."""
        return False

    def shape(self, n_components: int, n_features: int) -> tuple[int, ...]:
        """The shape of the model's covariances (scikit-learn's ``covariances_``)."""
        raise NotImplementedError

    def variances(self, covariances: np.ndarray, n_components: int, n_features: int) -> np.ndarray:
        """(K, D) the diagonal of every component's covariance (a new array)."""
        raise NotImplementedError

    def dense(self, covariances: np.ndarray, n_components: int, n_features: int) -> np.ndarray:
        """(K, D, D) every component's covariance matrix (a new array)."""
        dense = np.zeros((n_components, n_features, n_features))
        dense[:, np.arange(n_features), np.arange(n_features)] = self.variances(covariances, n_components, n_features)
        return dense

    def from_dense(self, dense: np.ndarray) -> np.ndarray:
        """The inverse of :meth:`dense` for (K, D, D) matrices that have the
        model's structure (as a marginal or conditional of a mixture under the
        model has, exactly)."""
        raise NotImplementedError

    def covariance_parameters(self, n_components: int, n_features: int) -> int:
        """Free parameters of the covariances."""
        raise NotImplementedError

    def n_parameters(self, n_components: int, n_features: int) -> int:
        """Free parameters of a K-component mixture under this model: the
        covariances', K D means and K - 1 weights (as scikit-learn counts them)."""
        K, D = n_components, n_features
        return self.covariance_parameters(K, D) + K * D + K - 1

    # Statistics per unit weight (stepwise EM: gaussmix/_stepwise.py) -----------------------------

    def mass_weighted(self, covariances: np.ndarray, weights: np.ndarray) -> np.ndarray:
        """The scatter per unit weight behind covariances (no reg_covar) whose
        components hold weights: each covariance times its weight (tied: the
        pooled covariance already is)."""
        return covariances * weights.reshape((-1,) + (1,) * (covariances.ndim - 1))

    def from_mass_weighted(self, scatter: np.ndarray, weights: np.ndarray) -> np.ndarray:
        """The inverse of :meth:`mass_weighted`."""
        return scatter / weights.reshape((-1,) + (1,) * (scatter.ndim - 1))

    def moved_scatter(self, weights: np.ndarray, moves: np.ndarray) -> np.ndarray:
        """What moving each component's centre by moves[k] (K, D) adds to the
        scatter per unit weight around it, its mass being weights[k]."""
        raise NotImplementedError

    def regularised(self, covariances: np.ndarray, reg_covar: float) -> np.ndarray:
        """covariances with reg_covar added to every variance (a new array)."""
        if not self.matrix:
            return covariances + reg_covar
        return covariances + reg_covar * np.eye(covariances.shape[-1])

    # Precisions (scikit-learn's fitted attributes) ---------------------------------------------

    def precisions_cholesky(self, covariances: np.ndarray) -> np.ndarray:
        """scikit-learn's precisions_cholesky_: U upper triangular with U U^T =
        cov^-1 (U = L^-T for cov = L L^T); diagonals 1 / sqrt(variance).
        np.linalg.LinAlgError for a matrix without a Cholesky factor."""
        if not self.matrix:
            return 1.0 / np.sqrt(covariances)
        lower = np.linalg.cholesky(covariances)
        identity = np.broadcast_to(np.eye(lower.shape[-1]), lower.shape)
        return np.swapaxes(np.linalg.solve(lower, identity), -1, -2)

    def precisions(self, precisions_cholesky: np.ndarray) -> np.ndarray:
        """The precisions from their Cholesky factors."""
        if not self.matrix:
            return precisions_cholesky**2
        return precisions_cholesky @ np.swapaxes(precisions_cholesky, -1, -2)

    def log_det_precisions_cholesky(self, precisions_cholesky: np.ndarray, n_features: int):
        """log det U of each precision's Cholesky factor U (half the
        precision's log-determinant): (K,) per component, or one number for
        a shared covariance (scikit-learn's _compute_log_det_cholesky)."""
        return np.sum(np.log(np.diagonal(precisions_cholesky, axis1=-2, axis2=-1)), axis=-1)

    def covariances_from_precisions_cholesky(self, precisions_cholesky: np.ndarray) -> np.ndarray:
        """The covariances whose precisions have these Cholesky factors (symmetrised)."""
        if not self.matrix:
            return 1.0 / precisions_cholesky**2
        inverse = np.linalg.inv(precisions_cholesky)
        covariances = np.swapaxes(inverse, -1, -2) @ inverse
        return (covariances + np.swapaxes(covariances, -1, -2)) / 2

    def check_precisions(self, precisions: np.ndarray, name: str) -> None:
        """ValueError (scikit-learn's wording; ``name`` is how it names them)
        unless precisions in the model's shape are positive (diagonal models)
        or symmetric positive definite (matrices). scikit-learn checks a
        BayesianGaussianMixture's covariance_prior the same way."""
        if not self.matrix:
            if (np.asarray(precisions) <= 0).any():
                raise ValueError(f"'{name}' should be positive")
            return
        # Every matrix at once: allclose is elementwise, so this is each matrix's test.
        if not (np.allclose(precisions, np.swapaxes(precisions, -1, -2)) and (np.linalg.eigvalsh(precisions) > 0).all()):
            raise ValueError(f"'{name}' should be symmetric, positive-definite")

    def covariances_from_precisions(self, precisions: np.ndarray, name: str) -> np.ndarray:
        """Precisions given as a start, checked (check_precisions), as covariances."""
        self.check_precisions(precisions, name)
        if not self.matrix:
            return 1.0 / precisions
        inverse = np.linalg.inv(precisions)
        return (inverse + np.swapaxes(inverse, -1, -2)) / 2

    def sample(self, rng: np.random.RandomState, means: np.ndarray, covariances: np.ndarray,
               counts: np.ndarray) -> list[np.ndarray]:
        """counts[k] rows from each component, with scikit-learn's draws from rng
        (the same random_state gives its rows)."""
        if self.matrix:
            per_component = [covariances] * len(means) if self.shared else covariances
            return [rng.multivariate_normal(m, c, int(n)) for m, c, n in zip(means, per_component, counts)]
        return [m + rng.standard_normal(size=(n, means.shape[1])) * np.sqrt(c)
                for m, c, n in zip(means, covariances, counts)]


class Full(CovarianceModel):
    name, matrix, shared, mclust = "full", True, False, "VVV"

    def covariance_parameters(self, n_components, n_features):
        return n_components * n_features * (n_features + 1) // 2

    def shape(self, n_components, n_features):
        return (n_components, n_features, n_features)

    def variances(self, covariances, n_components, n_features):
        return np.diagonal(covariances, axis1=1, axis2=2).copy()

    def dense(self, covariances, n_components, n_features):
        return np.array(covariances, dtype=np.float64)

    def from_dense(self, dense):
        return dense

    def moved_scatter(self, weights, moves):
        return weights[:, None, None] * moves[:, :, None] * moves[:, None, :]


class Tied(CovarianceModel):
    name, matrix, shared, mclust = "tied", True, True, "EEE"

    def covariance_parameters(self, n_components, n_features):
        return n_features * (n_features + 1) // 2

    def shape(self, n_components, n_features):
        return (n_features, n_features)

    def variances(self, covariances, n_components, n_features):
        return np.tile(np.diag(covariances), (n_components, 1))

    def dense(self, covariances, n_components, n_features):
        return np.repeat(np.asarray(covariances, dtype=np.float64)[None], n_components, axis=0)

    def from_dense(self, dense):
        return dense[0]

    def mass_weighted(self, covariances, weights):
        return np.array(covariances, dtype=np.float64)

    def from_mass_weighted(self, scatter, weights):
        return np.array(scatter, dtype=np.float64)

    def moved_scatter(self, weights, moves):
        return np.einsum("k,ki,kj->ij", weights, moves, moves)


class Diag(CovarianceModel):
    name, matrix, shared, mclust = "diag", False, False, "VVI"

    def covariance_parameters(self, n_components, n_features):
        return n_components * n_features

    def shape(self, n_components, n_features):
        return (n_components, n_features)

    def variances(self, covariances, n_components, n_features):
        return np.array(covariances, dtype=np.float64)

    def log_det_precisions_cholesky(self, precisions_cholesky, n_features):
        return np.sum(np.log(precisions_cholesky), axis=1)

    def from_dense(self, dense):
        return np.diagonal(dense, axis1=1, axis2=2).copy()

    def moved_scatter(self, weights, moves):
        return weights[:, None] * moves ** 2


class Spherical(CovarianceModel):
    name, matrix, shared, mclust = "spherical", False, False, "VII"

    def covariance_parameters(self, n_components, n_features):
        return n_components

    def shape(self, n_components, n_features):
        return (n_components,)

    def variances(self, covariances, n_components, n_features):
        return np.repeat(np.asarray(covariances, dtype=np.float64)[:, None], n_features, axis=1)

    def log_det_precisions_cholesky(self, precisions_cholesky, n_features):
        return n_features * np.log(precisions_cholesky)

    def from_dense(self, dense):
        return np.diagonal(dense, axis1=1, axis2=2)[:, 0].copy()

    def moved_scatter(self, weights, moves):
        return weights * np.mean(moves ** 2, axis=1)


#: The models by name, in scikit-learn's order.
COVARIANCE_MODELS: dict[str, CovarianceModel] = {model.name: model for model in (Full(), Tied(), Diag(), Spherical())}

#: scikit-learn's covariance_type names, in its order: the core's kernels, and Mixture's types.
COVARIANCE_TYPES = tuple(COVARIANCE_MODELS)


def _mclust_model(name: str) -> CovarianceModel:
    """mclust's model ``name`` (gaussmix/_mclust.py): its covariances held,
    scored and checked in the form of the core's kernel that fits its
    structure (full (K, D, D) when it has orientations, diag (K, D) when it is
    axis-aligned, spherical (K,) for EII and VII), its parameters counted as
    mclust counts them, its M-step mclust's."""
    form = Spherical if name[1:] == "II" else Diag if name[2] == "I" else Full

    class Mclust(form):
        mclust = name
        kernel = form.name

        @property
        def constrained(self) -> bool:
            return True

        def covariance_parameters(self, n_components, n_features):
            return n_covariance_parameters(name, n_components, n_features)

    model = Mclust()
    model.name = name
    return model


#: mclust's fourteen models, by name (scikit-learn's four are among them under other names).
MCLUST_COVARIANCE_MODELS: dict[str, CovarianceModel] = {name: _mclust_model(name) for name in MCLUST_MODELS}

#: What an estimator's covariance_type may be: scikit-learn's four, then mclust's fourteen.
ESTIMATOR_COVARIANCE_TYPES = COVARIANCE_TYPES + tuple(MCLUST_COVARIANCE_MODELS)


def covariance_model(covariance_type: str) -> CovarianceModel:
    """The model called covariance_type (one of :data:`ESTIMATOR_COVARIANCE_TYPES`;
    the caller has checked the name)."""
    model = COVARIANCE_MODELS.get(covariance_type)
    return MCLUST_COVARIANCE_MODELS[covariance_type] if model is None else model
