"""Model files: a fitted GaussianMixture or BayesianGaussianMixture in a safe, versioned ``.npz``.

The file is a NumPy ``.npz`` archive of plain, uncompressed arrays: a
``format`` marker, the ``format_version`` (FORMAT_VERSION), the gaussmix
version that wrote it, the constructor parameters as JSON, the fit's
history (``converged``, ``n_iter``, ``lower_bound``, ``lower_bounds``,
``feature_names_in``) and the fitted model.

A GaussianMixture is stored as the mixture that scores rows
(``mixture_weights``, ``mixture_means``, ``mixture_covariances``, float64)
and the ``dtype`` of the fitted attributes. The fitted attributes (weights_,
means_, covariances_, precisions_, precisions_cholesky_) are derived from
the mixture on load exactly as a fit derives them, so a loaded model's
attributes, scores and samples are bit-identical to the saved one's, and no
two stored arrays can disagree. Format 1 also stored those attributes; its
files are read and the stored attributes must agree with the derived ones.

Format 3 adds a ``kind`` member, the estimator class the file holds: one of
_KINDS. Files of formats 1 and 2 hold a GaussianMixture, and save still
writes a GaussianMixture in format 2 (the oldest format that holds it, so
that older gaussmix read it); a BayesianGaussianMixture, which older gaussmix
cannot hold, is written in format 3, which they refuse as a newer format.
A BayesianGaussianMixture is stored as its variational posterior and its
priors, in scikit-learn's names without the trailing underscore:
``weight_concentration`` ((2, K) for the Dirichlet process, the rows
weight_concentration_'s two arrays; (K,) for the Dirichlet distribution),
``mean_precision`` (K,), ``mixture_means`` (means_), ``degrees_of_freedom``
((K,); tied: ()), ``mixture_covariances`` (covariances_), and
``weight_concentration_prior``, ``mean_precision_prior``, ``mean_prior``
(D,), ``degrees_of_freedom_prior`` and ``covariance_prior`` (one covariance
in the model's shape: (D, D), (D,) diag, () spherical), all float64. Its
fitted attributes (weights_, precisions_, the E-step's mixture, ...) are
derived on load as a fit derives them, through
BayesianGaussianMixture._set_posterior.

A model file is untrusted input. ``load`` runs no code (no pickle), checks
every member's dtype and shape against the model it describes before
reading its data (a member is never larger than the bytes the file holds
for it: gaussmix writes members uncompressed and a compressed one is
refused), checks the parameters (with the estimator's own _check_params),
the mixture (finite, weights summing to 1, covariances symmetric positive
definite), the posterior and priors (finite; concentrations, mean
precisions and the covariance prior positive, degrees of freedom above
n_features - 1) and the history, and reports any defect as one ValueError:
"<path> is not a valid gaussmix model file: <why>". A valid file of another
class than the one load is called on (GaussianMixture.load of a
BayesianGaussianMixture's file) is a ValueError that names the class to
use; MixtureEstimator.load reads either. ``save`` validates and converts
everything first, refuses what ``load`` would refuse, and writes through
gaussmix._atomic.atomic_write, so a failed write leaves an existing file as
it was.

Parameters that are not JSON values (a RandomState given as random_state)
are stored as None; array parameters (weights_init, mean_prior, ...) as
lists, a dict (prior) as an object of them; resp_init (a start as large as
the data) as None. A parameter missing from a file takes its default (what the
gaussmix that wrote the file did without it); an unknown one is refused.
"""
from __future__ import annotations

import json
import math
import os
import struct
import zipfile

from typing import Callable, NamedTuple

import numpy as np

from ._atomic import atomic_write, check_writable
from ._covariance import covariance_model
from ._fitted import History, NonFiniteFit, fitted_attributes, scoring_mixture, set_fitted
from ._mixture import Mixture
from ._validation import Cov_problem

FORMAT = "gaussmix-model"
#: The newest format this gaussmix reads (and writes, for a BayesianGaussianMixture).
FORMAT_VERSION = 3

#: The fitted attributes that format 1 stored and formats 2 and 3 derive from the stored model.
_ATTRIBUTES = ("weights_", "means_", "covariances_", "precisions_", "precisions_cholesky_")
_COMMON = frozenset(("format", "format_version", "gaussmix_version", "params", "converged", "n_iter", "lower_bound",
                     "lower_bounds", "mixture_means", "mixture_covariances"))
#: A GaussianMixture's members beyond _COMMON, by format (format 3 adds kind).
_GAUSSIAN = {1: frozenset(("mixture_weights",) + _ATTRIBUTES), 2: frozenset(("mixture_weights", "dtype"))}
#: A BayesianGaussianMixture's posterior and priors beyond _COMMON's means and covariances.
_POSTERIOR = ("weight_concentration", "mean_precision", "degrees_of_freedom")
_PRIORS = ("weight_concentration_prior", "mean_precision_prior", "mean_prior", "degrees_of_freedom_prior",
           "covariance_prior")
_OPTIONAL = frozenset(("feature_names_in",))
_DTYPES = ("float64", "float32")

#: Caps on text members, in characters.
_MAX_SHORT_TEXT = 256       # format marker, versions, dtype name
_MAX_NAME_LENGTH = 4096     # one feature name
#: The params JSON: room for the scalar parameters, and for the array ones
#: (weights_init, means_init, precisions_init; mean_prior, covariance_prior)
#: at most this many characters per number of a (K, D, D) array.
_PARAMS_BASE_LENGTH = 65536
_PARAMS_CHARS_PER_NUMBER = 32

#: How far a format 1 file's stored attributes may be from the ones derived
#: from its mixture (relative to each component's largest entry): far above
#: rounding and another machine's LAPACK, far below any change that matters.
_AGREEMENT_RTOL = {"float64": 1e-6, "float32": 1e-4}

_WRITE_REMEDY = "write one with GaussianMixture.save, BayesianGaussianMixture.save or gaussmix fit -o"

#: What zipfile raises on a damaged archive or member (bad offsets, headers,
#: CRCs, names, unsupported versions, encryption).
_ZIP_ERRORS = (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, struct.error, OSError, OverflowError, ValueError,
               NotImplementedError, RuntimeError)


class _Defect(Exception):
    """Why a model file (or the file save would write) is not a valid one."""


class _OtherClass(Exception):
    """A file of another estimator class (its kind) than the one load was called on."""

    def __init__(self, kind: str):
        super().__init__(kind)
        self.kind = kind


class _NewerFormat(Exception):
    """A file of a format newer than this gaussmix reads (valid, perhaps)."""

    def __init__(self, version: int, written_by: str):
        super().__init__(version, written_by)
        self.version, self.written_by = version, written_by


# --------------------------------------------------------------------------- saving


def _json_value(value):
    if isinstance(value, dict):  # prior={'mean': ..., 'scale': ...}
        return {str(k): _json_value(v) for k, v in value.items()}
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, (np.integer, np.floating, np.bool_)):
        return value.item()
    if value is None or isinstance(value, (bool, int, float, str, list, tuple)):
        return value
    return None  # e.g. a RandomState: not representable, stored as None


def _feature_names(names, owner: str) -> np.ndarray:
    names = list(names)
    for name in names:
        if not isinstance(name, str):
            raise ValueError(f"{owner}: feature_names_in_ must be strings (column names), got {name!r} of type "
                             f"{type(name).__name__}; set them to strings or delete the attribute")
    stored = np.array(names, dtype=str)
    if stored.tolist() != names:  # NumPy drops trailing NUL characters
        raise ValueError(f"{owner}: feature_names_in_ {names!r} cannot be stored as text; rename the columns")
    return stored


def _members(model) -> dict:
    """The arrays of model's file, validated and converted, none of them written yet."""
    from . import __version__

    owner = f"{type(model).__name__}.save()"
    kind = _kind_of(model, owner)
    version = _KINDS[kind].version
    params = {name: _json_value(value) for name, value in model.get_params(deep=False).items()}
    if "resp_init" in params:  # a start as large as the data it began: not part of the model
        params["resp_init"] = None
    members = dict(
        format=np.array(FORMAT), format_version=np.array(version), gaussmix_version=np.array(__version__),
        params=np.array(json.dumps(params)), converged=np.array(bool(model.converged_)),
        n_iter=np.array(int(model.n_iter_)), lower_bound=np.array(float(model.lower_bound_)),
        lower_bounds=np.array(model.lower_bounds_, dtype=np.float64), **_KINDS[kind].write(model, owner))
    if version >= 3:
        members["kind"] = np.array(kind)
    if hasattr(model, "feature_names_in_"):
        members["feature_names_in"] = _feature_names(model.feature_names_in_, owner)
    return members


def _mixture_members(model, owner: str) -> dict:
    """A GaussianMixture's members: the mixture that scores rows and the attributes' dtype."""
    mixture = scoring_mixture(model)
    dtype = np.asarray(model.means_).dtype
    if dtype.name not in _DTYPES:
        raise ValueError(f"{owner}: means_ must be float64 or float32, got {dtype}; refit")
    return dict(dtype=np.array(dtype.name), mixture_weights=mixture.weights, mixture_means=mixture.means,
                mixture_covariances=mixture.covariances)


def _posterior_members(model, owner: str) -> dict:
    """A BayesianGaussianMixture's members: its posterior and priors, float64."""
    def float64(name: str) -> np.ndarray:
        return np.asarray(getattr(model, name), dtype=np.float64)

    # The Dirichlet process's two (K,) arrays are the rows of one member.
    members = {name: float64(f"{name}_") for name in _POSTERIOR + _PRIORS}
    members.update(mixture_means=float64("means_"), mixture_covariances=float64("covariances_"))
    return members


def save(model, path) -> None:
    """Write the fitted model to path (exactly that name; '.npz' is not added)."""
    from sklearn.utils.validation import check_is_fitted

    check_is_fitted(model)
    owner = f"{type(model).__name__}.save()"
    members = _members(model)
    try:
        derived = _model_from(type(model), _ArrayMembers(members))
        _check_agreement({name: getattr(model, name) for name in _ATTRIBUTES},
                         {name: getattr(derived, name) for name in _ATTRIBUTES}, model.covariance_type,
                         derived.means_.dtype.name)
    except _Defect as exc:
        raise ValueError(f"{owner}: cannot write a model file that load would refuse: {exc}; refit, or set "
                         "consistent attributes") from None
    check_writable(path)
    with atomic_write(path) as f:
        np.savez(f, **members)


# --------------------------------------------------------------------------- the members of a file


def _check_member(name: str, dtype: np.dtype, shape: tuple, kind: str, want_shape, max_chars: int) -> None:
    """Refuse a member whose dtype is not of kind ('text' of at most
    max_chars characters, 'int', 'bool', 'float' for float32 or float64, or
    a float dtype's name) or whose shape is not want_shape (a tuple, or a
    function of the shape that says whether it is acceptable)."""
    ok = {"text": dtype.kind == "U" and dtype.itemsize > 0, "int": dtype.kind in "iu", "bool": dtype.kind == "b",
          "float": dtype.kind == "f" and dtype.itemsize in (4, 8)}.get(kind)
    if ok is None:
        ok = dtype.kind == "f" and dtype.itemsize == np.dtype(kind).itemsize
    if not ok:
        raise _Defect(f"{name} has dtype {dtype}, not {kind}")
    if callable(want_shape):
        if not want_shape(shape):
            raise _Defect(f"{name} has shape {tuple(shape)}, which is not valid")
    elif tuple(shape) != tuple(want_shape):
        raise _Defect(f"{name} has shape {tuple(shape)}, not {tuple(want_shape)}")
    if kind == "text" and dtype.itemsize > 4 * max_chars:  # NumPy's text is 4 bytes a character
        raise _Defect(f"{name} holds text longer than {max_chars} characters")


class _ArrayMembers:
    """The members save is about to write, checked as load checks a file's."""

    def __init__(self, arrays: dict):
        self._arrays = arrays

    def names(self) -> set:
        return set(self._arrays)

    def array(self, name: str, kind: str, shape, max_chars: int = 0) -> np.ndarray:
        a = self._arrays[name]
        _check_member(name, a.dtype, a.shape, kind, shape, max_chars)
        return a


class _ZipMembers:
    """The members of an open .npz file, each read only after its .npy header
    has been checked against the dtype and shape it must have, and its
    declared size against the bytes the file holds for it."""

    def __init__(self, file):
        file_size = os.fstat(file.fileno()).st_size
        try:
            self._zip = zipfile.ZipFile(file)
            infos = self._zip.infolist()
        except _ZIP_ERRORS as exc:
            raise _Defect(f"it is not an .npz (zip) archive, or a truncated one ({exc}); {_WRITE_REMEDY}") from None
        self._infos = {}
        for info in infos:
            name = info.filename[:-4] if info.filename.endswith(".npy") else info.filename
            if name in self._infos:
                raise _Defect(f"it has two members named {info.filename!r}")
            self._infos[name] = info
        self._file_size = file_size

    def names(self) -> set:
        return set(self._infos)

    def array(self, name: str, kind: str, shape, max_chars: int = 0) -> np.ndarray:
        info = self._infos.get(name)
        if info is None:
            raise _Defect(f"it has no {name} member")
        if info.compress_type != zipfile.ZIP_STORED:
            raise _Defect(f"its member {name} is compressed; gaussmix writes its arrays uncompressed (np.savez), so "
                          "that no member can claim more memory than the file holds")
        if info.file_size != info.compress_size or info.file_size > self._file_size:
            raise _Defect(f"its member {name} declares {info.file_size} bytes, more than the file holds")
        try:
            with self._zip.open(info) as f:
                data, shape_read, fortran_order, dtype = self._read(f, info, name, kind, shape, max_chars)
        except _ZIP_ERRORS as exc:
            raise _Defect(f"its member {name} is damaged ({type(exc).__name__}: {exc})") from None
        a = np.frombuffer(data, dtype=dtype).reshape(shape_read, order="F" if fortran_order else "C")
        return a.astype(dtype.newbyteorder("="))  # a writable copy in native byte order

    @staticmethod
    def _read(f, info, name: str, kind: str, shape, max_chars: int):
        try:
            version = np.lib.format.read_magic(f)
            if version == (1, 0):
                header = np.lib.format.read_array_header_1_0(f)
            elif version == (2, 0):
                header = np.lib.format.read_array_header_2_0(f)
            else:
                raise ValueError(version)
        except Exception:  # noqa: BLE001 - NumPy parses the header's text with the tokenizer and
            # ast.literal_eval; whatever they raise on crafted text means the same thing
            raise _Defect(f"its member {name} is not a NumPy array (.npy)") from None
        shape_read, fortran_order, dtype = header
        _check_member(name, dtype, shape_read, kind, shape, max_chars)
        nbytes = math.prod(shape_read) * dtype.itemsize
        held = info.file_size - f.tell()
        if nbytes != held:
            raise _Defect(f"{name} declares shape {tuple(shape_read)} of {dtype} ({nbytes} bytes) but its member "
                          f"holds {held} bytes of data")
        data = f.read(nbytes)
        if len(data) != nbytes or f.read(1):  # the read to the end checks the CRC
            raise _Defect(f"its member {name} is truncated")
        return data, shape_read, fortran_order, dtype


def _text(members, name: str, max_chars: int) -> str:
    return str(members.array(name, "text", (), max_chars))


def _int(members, name: str) -> int:
    return int(members.array(name, "int", ()))


# --------------------------------------------------------------------------- the model a file describes


def _params(cls, members, K: int, D: int):
    """An estimator with the file's parameters, checked as fit checks them, for K components of dimension D."""
    limit = _PARAMS_BASE_LENGTH + _PARAMS_CHARS_PER_NUMBER * K * (1 + D + D * D)
    text = _text(members, "params", limit)
    try:
        params = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise _Defect(f"its params are not valid JSON ({type(exc).__name__}: {str(exc)[:200]})") from None
    if not isinstance(params, dict):
        raise _Defect(f"its params are a JSON {type(params).__name__}, not an object")
    unknown = sorted(set(params) - set(cls().get_params(deep=False)))
    if unknown:
        raise _Defect(f"its params have unknown names {', '.join(map(repr, unknown))}")
    try:
        model = cls(**params)
        model._check_params()
        model._inits(D)
    except (ValueError, TypeError) as exc:
        raise _Defect(f"its params are invalid ({exc})") from None
    # A BayesianGaussianMixture with a prune_threshold keeps at most n_components.
    pruned = getattr(model, "prune_threshold", None) is not None
    if not (K == model.n_components or pruned and K < model.n_components):
        raise _Defect(f"its params say n_components={model.n_components} but its means are for {K} components")
    return model


def _format(members) -> tuple[int, str]:
    """The file's format version and kind, after its marker and its set of members are checked."""
    marker = _text(members, "format", _MAX_SHORT_TEXT) if "format" in members.names() else None
    if marker != FORMAT:
        raise _Defect(f"it has no '{FORMAT}' marker; {_WRITE_REMEDY}")
    version = _int(members, "format_version")
    if version > FORMAT_VERSION:
        raise _NewerFormat(version, _text(members, "gaussmix_version", _MAX_SHORT_TEXT))
    if version < 1:
        raise _Defect(f"format_version {version} does not exist")
    names = members.names()
    if version >= 3:
        kind = _text(members, "kind", _MAX_SHORT_TEXT) if "kind" in names else None
        if kind not in _KINDS:
            raise _Defect(f"format {version} has no kind, or one not in {', '.join(_KINDS)} ({kind!r})")
        expected, what = _COMMON | _KINDS[kind].members | {"kind"}, f"format {version} ({kind})"
    else:
        kind, expected, what = "GaussianMixture", _COMMON | _GAUSSIAN[version], f"format {version}"
    missing, unknown = sorted(expected - names), sorted(names - expected - _OPTIONAL)
    if missing or unknown:
        raise _Defect(f"{what} has " + "; ".join(
            [f"no {', '.join(missing)}"] * bool(missing) + [f"unknown members {', '.join(unknown)}"] * bool(unknown)))
    _text(members, "gaussmix_version", _MAX_SHORT_TEXT)
    return version, kind


def _kind_class(kind: str):
    """The estimator class of a kind (the package's lazily imported name)."""
    import importlib

    return getattr(importlib.import_module(__package__), kind)


def _kind_of(model, owner: str) -> str:
    """The kind of a model save writes."""
    for kind in _KINDS:
        if isinstance(model, _kind_class(kind)):
            return kind
    raise TypeError(f"{owner}: model files hold a {' or a '.join(_KINDS)}, not a {type(model).__name__}")


def _model_class(cls, kind: str):
    """The class load makes for a file of kind, called on cls: cls itself when
    it is the kind's class (or derives from it), the kind's class when cls is a
    base of it (MixtureEstimator); _OtherClass otherwise."""
    kind_class = _kind_class(kind)
    if issubclass(cls, kind_class):
        return cls
    if issubclass(kind_class, cls):
        return kind_class
    raise _OtherClass(kind)


def _model_from(cls, members):
    """The fitted estimator that members describe; _Defect says what is wrong with them."""
    version, kind = _format(members)
    model_class = _model_class(cls, kind)
    means = members.array("mixture_means", "float64", lambda s: len(s) == 2 and s[0] >= 1 and s[1] >= 1)
    K, D = means.shape
    model = _params(model_class, members, K, D)
    covariances = members.array("mixture_covariances", "float64", covariance_model(model.covariance_type).shape(K, D))
    _KINDS[kind].read(model, members, version, means, covariances, _history(members, model.max_iter))
    if "feature_names_in" in members.names():
        model.feature_names_in_ = members.array("feature_names_in", "text", (D,), _MAX_NAME_LENGTH).astype(object)
    return model


def _read_mixture(model, members, version: int, means: np.ndarray, covariances: np.ndarray,
                  history: History) -> None:
    """Make model (a GaussianMixture) fitted to the file's mixture."""
    K, D = means.shape
    ctype = model.covariance_type
    weights = members.array("mixture_weights", "float64", (K,))
    try:
        mixture = Mixture(weights, means, covariances, covariance_model(ctype).kernel)
    except (ValueError, TypeError) as exc:
        raise _Defect(f"its mixture is invalid ({exc})") from None

    if version == 1:  # the stored attributes, all of means_'s dtype, must agree with the derived ones
        dtype_name = members.array("means_", "float", (K, D)).dtype.name
        stored = {name: members.array(name, dtype_name, shape)
                  for name, shape in _attribute_shapes(ctype, K, D).items()}
    else:
        dtype_name = _text(members, "dtype", _MAX_SHORT_TEXT)
        if dtype_name not in _DTYPES:
            raise _Defect(f"its dtype is {dtype_name!r}, not one of {', '.join(_DTYPES)}")
    with np.errstate(all="ignore"):  # a float32 overflow is NonFiniteFit
        try:
            attributes = fitted_attributes(mixture, dtype_name, type(model).__name__)
        except NonFiniteFit as exc:
            raise _Defect(f"its mixture gives non-finite {exc.name} in {dtype_name}") from None
        except ValueError as exc:
            raise _Defect(f"its mixture is invalid ({exc})") from None
    if version == 1:
        _check_agreement(stored, attributes, ctype, dtype_name)
    set_fitted(model, mixture, dtype_name, history, attributes)


def _read_posterior(model, members, version: int, means: np.ndarray, covariances: np.ndarray,
                    history: History) -> None:
    """Make model (a BayesianGaussianMixture) fitted to the file's posterior
    under its priors, as a fit makes it (_set_posterior)."""
    from ._variational import Priors

    K, D = means.shape
    model_of_covariances = covariance_model(model.covariance_type)
    process = model.weight_concentration_prior_type == "dirichlet_process"
    concentration = _real(members, "weight_concentration", (2, K) if process else (K,), 0.0)
    mean_precision = _real(members, "mean_precision", (K,), 0.0)
    degrees_of_freedom = _real(members, "degrees_of_freedom", () if model_of_covariances.shared else (K,), D - 1.0,
                               " (n_features - 1)")
    # The prior's covariance is one covariance in the model's shape.
    one_covariance = model_of_covariances.shape(1, D)[0 if model_of_covariances.shared else 1:]
    covariance_prior = _real(members, "covariance_prior", one_covariance)
    try:
        model_of_covariances.check_precisions(covariance_prior, "covariance_prior")
    except (ValueError, np.linalg.LinAlgError) as exc:
        raise _Defect(f"its covariance_prior is invalid ({exc})") from None
    priors = Priors(float(_real(members, "weight_concentration_prior", (), 0.0)),
                    float(_real(members, "mean_precision_prior", (), 0.0)), _real(members, "mean_prior", (D,)),
                    float(_real(members, "degrees_of_freedom_prior", (), D - 1.0, " (n_features - 1)")),
                    covariance_prior if covariance_prior.ndim else float(covariance_prior))
    if process:  # weight_concentration_ is a tuple of two arrays of their own
        concentration = (concentration[0].copy(), concentration[1].copy())
    # Values whose E-step or plug-in mixture over- or underflows (no finite weights, covariances the core cannot
    # factorise, non-finite attributes) are refused by the Mixture checks and set_fitted, as a fit's would be.
    with np.errstate(all="ignore"):
        try:
            posterior = model._variational_rule(priors).assemble(concentration, mean_precision, means,
                                                                 degrees_of_freedom, covariances)
            model._set_posterior(posterior, priors, history)
        except (ValueError, TypeError, np.linalg.LinAlgError, Cov_problem) as exc:
            raise _Defect(f"its posterior is invalid ({exc})") from None


def _real(members, name: str, shape: tuple, above: float | None = None, bound: str = "") -> np.ndarray:
    """A float64 member of shape whose values are finite and, if above is given, greater than it."""
    values = members.array(name, "float64", shape)
    if not np.isfinite(values).all():
        raise _Defect(f"{name} has non-finite values")
    if above is not None and not (values > above).all():
        raise _Defect(f"{name} must be greater than {above:g}{bound}, and has {values.min():.6g}")
    return values


class _Kind(NamedTuple):
    """How a model file holds one estimator class."""

    version: int  #: the format save writes it in: the oldest that holds it
    members: frozenset  #: its members beyond _COMMON in format 3 (which adds kind)
    write: Callable  #: (model, owner) -> those members, validated and converted
    read: Callable  #: (model, members, version, means, covariances, history): make model fitted


#: The estimator classes a model file holds, by their names: a format 3 file's kind.
_KINDS = {
    "GaussianMixture": _Kind(2, _GAUSSIAN[2], _mixture_members, _read_mixture),
    "BayesianGaussianMixture": _Kind(3, frozenset(_POSTERIOR + _PRIORS), _posterior_members, _read_posterior),
}


def _history(members, max_iter: int) -> History:
    """converged, n_iter, lower_bound and lower_bounds (one per iteration, at most max_iter)."""
    n_iter = _int(members, "n_iter")
    if not 0 <= n_iter <= max_iter:
        raise _Defect(f"n_iter is {n_iter}, not in [0, max_iter={max_iter}]")
    lower_bounds = members.array("lower_bounds", "float64", (n_iter,))  # bounded before it is read
    lower_bound = float(members.array("lower_bound", "float64", ()))
    if not np.isfinite(lower_bounds).all():
        raise _Defect("lower_bounds has non-finite values")
    if lower_bound != (lower_bounds[-1] if n_iter else -math.inf):
        raise _Defect(f"lower_bound {lower_bound} is not the last of lower_bounds (-inf without iterations)")
    return History(bool(members.array("converged", "bool", ())), n_iter, lower_bound, lower_bounds.tolist())


def _attribute_shapes(covariance_type: str, K: int, D: int) -> dict:
    covariances = covariance_model(covariance_type).shape(K, D)
    return {"weights_": (K,), "means_": (K, D), "covariances_": covariances, "precisions_": covariances,
            "precisions_cholesky_": covariances}


def _check_agreement(stored: dict, derived: dict, covariance_type: str, dtype_name: str) -> None:
    """Refuse stored fitted attributes that differ from those derived from the
    mixture by more than _AGREEMENT_RTOL of each component's largest entry."""
    rtol = _AGREEMENT_RTOL[dtype_name]
    for name, value in stored.items():
        want = np.asarray(derived[name], dtype=np.float64)
        try:
            got = np.asarray(value, dtype=np.float64)
        except (TypeError, ValueError):
            raise _Defect(f"{name} is not numeric") from None
        if got.shape != want.shape:
            raise _Defect(f"{name} has shape {got.shape}, not {want.shape}")
        one_group = name == "weights_" or (covariance_model(covariance_type).shared and name != "means_")
        want = want.reshape((1, -1) if one_group else (len(want), -1))
        with np.errstate(all="ignore"):
            difference = np.abs(got.reshape(want.shape) - want)
            scale = np.abs(want).max(axis=1, keepdims=True)
            if not (difference <= rtol * scale).all():
                worst = float(np.max(difference / np.where(scale > 0, scale, 1)))
                raise _Defect(f"{name} disagrees with the {name} derived from its mixture (largest difference "
                              f"{worst:.3g} of a component's largest entry; NaN if not finite)")


def load(cls, path):
    """The model saved in path, as an instance of cls (GaussianMixture,
    BayesianGaussianMixture, or MixtureEstimator for either)."""
    try:
        file = open(path, "rb")
    except FileNotFoundError:
        raise FileNotFoundError(f"{path}: no such model file") from None
    except IsADirectoryError:
        raise ValueError(f"{path} is not a valid gaussmix model file: it is a directory") from None
    except PermissionError:
        raise PermissionError(f"cannot read {path}: permission denied; make the model file readable") from None
    with file:
        try:
            return _model_from(cls, _ZipMembers(file))
        except _NewerFormat as exc:
            raise ValueError(f"{path} has model file format {exc.version}, written by gaussmix {exc.written_by}; "
                             f"this gaussmix reads format {FORMAT_VERSION} and older: upgrade gaussmix") from None
        except _OtherClass as exc:
            raise ValueError(f"{path} holds a {exc.kind}, not a {cls.__name__}: load it with {exc.kind}.load") from None
        except _Defect as exc:
            raise ValueError(f"{path} is not a valid gaussmix model file: {exc}") from None
