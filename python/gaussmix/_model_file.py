"""Model files: a fitted GaussianMixture in a safe, versioned ``.npz``.

The file is a NumPy ``.npz`` archive of plain, uncompressed arrays: a
``format`` marker, the ``format_version`` (FORMAT_VERSION), the gaussmix
version that wrote it, the constructor parameters as JSON, the mixture that
scores rows (``mixture_weights``, ``mixture_means``, ``mixture_covariances``,
float64), the ``dtype`` of the fitted attributes and the fit's history
(``converged``, ``n_iter``, ``lower_bound``, ``lower_bounds``,
``feature_names_in``). The fitted attributes (weights_, means_,
covariances_, precisions_, precisions_cholesky_) are derived from the
mixture on load exactly as a fit derives them, so a loaded model's
attributes, scores and samples are bit-identical to the saved one's, and no
two stored arrays can disagree. Format 1 also stored those attributes; its
files are read and the stored attributes must agree with the derived ones.

A model file is untrusted input. ``load`` runs no code (no pickle), checks
every member's dtype and shape against the model it describes before
reading its data (a member is never larger than the bytes the file holds
for it: gaussmix writes members uncompressed and a compressed one is
refused), checks the parameters, the mixture (finite, weights summing to 1,
covariances symmetric positive definite) and the history, and reports any
defect as one ValueError: "<path> is not a valid gaussmix model file: <why>".
``save`` validates and converts everything first, refuses what ``load``
would refuse, and writes through gaussmix._atomic.atomic_write, so a failed
write leaves an existing file as it was.

Parameters that are not JSON values (a RandomState given as random_state)
are stored as None; array parameters (weights_init, ...) as lists. A
parameter missing from a file takes its default (what the gaussmix that
wrote the file did without it); an unknown one is refused.
"""
from __future__ import annotations

import json
import math
import os
import struct
import zipfile

import numpy as np

from ._atomic import atomic_write, check_writable
from ._covariance import covariance_model
from ._fitted import History, NonFiniteFit, fitted_attributes, scoring_mixture, set_fitted
from ._mixture import Mixture
from ._params import check_inits, check_params

FORMAT = "gaussmix-model"
FORMAT_VERSION = 2

#: The fitted attributes that format 1 stored and format 2 derives from the mixture.
_ATTRIBUTES = ("weights_", "means_", "covariances_", "precisions_", "precisions_cholesky_")
_MIXTURE = ("mixture_weights", "mixture_means", "mixture_covariances")
_COMMON = frozenset(("format", "format_version", "gaussmix_version", "params", "converged", "n_iter", "lower_bound",
                     "lower_bounds") + _MIXTURE)
_MEMBERS = {1: _COMMON | frozenset(_ATTRIBUTES), 2: _COMMON | {"dtype"}}
_OPTIONAL = frozenset(("feature_names_in",))
_DTYPES = ("float64", "float32")

#: Caps on text members, in characters.
_MAX_SHORT_TEXT = 256       # format marker, versions, dtype name
_MAX_NAME_LENGTH = 4096     # one feature name
#: The params JSON: room for the scalar parameters, and for the array ones
#: (weights_init, means_init, precisions_init) at most this many characters
#: per number of a (K, D, D) array.
_PARAMS_BASE_LENGTH = 65536
_PARAMS_CHARS_PER_NUMBER = 32

#: How far a format 1 file's stored attributes may be from the ones derived
#: from its mixture (relative to each component's largest entry): far above
#: rounding and another machine's LAPACK, far below any change that matters.
_AGREEMENT_RTOL = {"float64": 1e-6, "float32": 1e-4}

_WRITE_REMEDY = "write one with GaussianMixture.save or gaussmix fit -o"

#: What zipfile raises on a damaged archive or member (bad offsets, headers,
#: CRCs, names, unsupported versions, encryption).
_ZIP_ERRORS = (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, struct.error, OSError, OverflowError, ValueError,
               NotImplementedError, RuntimeError)


class _Defect(Exception):
    """Why a model file (or the file save would write) is not a valid one."""


class _NewerFormat(Exception):
    """A file of a format newer than this gaussmix reads (valid, perhaps)."""

    def __init__(self, version: int, written_by: str):
        super().__init__(version, written_by)
        self.version, self.written_by = version, written_by


# --------------------------------------------------------------------------- saving


def _json_value(value):
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
    mixture = scoring_mixture(model)
    dtype = np.asarray(model.means_).dtype
    if dtype.name not in _DTYPES:
        raise ValueError(f"{owner}: means_ must be float64 or float32, got {dtype}; refit")
    params = {name: _json_value(value) for name, value in model.get_params(deep=False).items()}
    members = dict(
        format=np.array(FORMAT), format_version=np.array(FORMAT_VERSION), gaussmix_version=np.array(__version__),
        params=np.array(json.dumps(params)), dtype=np.array(dtype.name), converged=np.array(bool(model.converged_)),
        n_iter=np.array(int(model.n_iter_)), lower_bound=np.array(float(model.lower_bound_)),
        lower_bounds=np.array(model.lower_bounds_, dtype=np.float64),
        mixture_weights=mixture.weights, mixture_means=mixture.means, mixture_covariances=mixture.covariances)
    if hasattr(model, "feature_names_in_"):
        members["feature_names_in"] = _feature_names(model.feature_names_in_, owner)
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
                         members["dtype"].item())
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
        check_params(model)
        check_inits(model, D)
    except (ValueError, TypeError) as exc:
        raise _Defect(f"its params are invalid ({exc})") from None
    if model.n_components != K:
        raise _Defect(f"its params say n_components={model.n_components} but its means are for {K} components")
    return model


def _format_version(members) -> int:
    """The file's format version, after its marker and its set of members are checked."""
    marker = _text(members, "format", _MAX_SHORT_TEXT) if "format" in members.names() else None
    if marker != FORMAT:
        raise _Defect(f"it has no '{FORMAT}' marker; {_WRITE_REMEDY}")
    version = _int(members, "format_version")
    if version > FORMAT_VERSION:
        raise _NewerFormat(version, _text(members, "gaussmix_version", _MAX_SHORT_TEXT))
    if version < 1:
        raise _Defect(f"format_version {version} does not exist")
    names = members.names()
    missing, unknown = sorted(_MEMBERS[version] - names), sorted(names - _MEMBERS[version] - _OPTIONAL)
    if missing or unknown:
        raise _Defect(f"format {version} has " + "; ".join(
            [f"no {', '.join(missing)}"] * bool(missing) + [f"unknown members {', '.join(unknown)}"] * bool(unknown)))
    _text(members, "gaussmix_version", _MAX_SHORT_TEXT)
    return version


def _model_from(cls, members):
    """The fitted estimator that members describe; _Defect says what is wrong with them."""
    version = _format_version(members)
    means = members.array("mixture_means", "float64", lambda s: len(s) == 2 and s[0] >= 1 and s[1] >= 1)
    K, D = means.shape
    model = _params(cls, members, K, D)
    ctype = model.covariance_type
    weights = members.array("mixture_weights", "float64", (K,))
    covariances = members.array("mixture_covariances", "float64", covariance_model(ctype).shape(K, D))
    try:
        mixture = Mixture(weights, means, covariances, ctype)
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
            attributes = fitted_attributes(mixture, dtype_name, cls.__name__)
        except NonFiniteFit as exc:
            raise _Defect(f"its mixture gives non-finite {exc.name} in {dtype_name}") from None
        except ValueError as exc:
            raise _Defect(f"its mixture is invalid ({exc})") from None
    if version == 1:
        _check_agreement(stored, attributes, ctype, dtype_name)
    set_fitted(model, mixture, dtype_name, _history(members, model.max_iter), attributes)
    if "feature_names_in" in members.names():
        model.feature_names_in_ = members.array("feature_names_in", "text", (D,), _MAX_NAME_LENGTH).astype(object)
    return model


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
    """The model saved in path, as an instance of cls (GaussianMixture)."""
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
        except _Defect as exc:
            raise ValueError(f"{path} is not a valid gaussmix model file: {exc}") from None
