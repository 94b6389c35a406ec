"""A model file is untrusted input: every kind of bad file — not an archive,
another archive, a damaged one, missing or extra members, wrong dtypes and
shapes, parameters that disagree with the arrays, malformed JSON, arrays that
disagree with each other, values no fit gives, members that claim more
memory than the file holds — is one ValueError, "<path> is not a valid
gaussmix model file: <why>", and never NumPy's advice to load it unsafely.
The bad files are written member by member with zipfile and
numpy.lib.format, independently of gaussmix's writer."""
from __future__ import annotations

import io
import json
import os
import pickle
import re
import tracemalloc
import zipfile

import numpy as np
import pytest

pytest.importorskip("sklearn")

from gaussmix import GaussianMixture  # noqa: E402

X = np.random.default_rng(0).normal(size=(300, 3)) + np.repeat([[0, 0, 0], [4, 4, 0]], 150, axis=0)
ATTRIBUTES = ("weights_", "means_", "covariances_", "precisions_", "precisions_cholesky_")


def invalid(path, why: str) -> str:
    """The pattern of load's message for a defect whose reason matches why."""
    return re.escape(f"{path} is not a valid gaussmix model file: ") + f".*{why}"


def npy_bytes(array, allow_pickle=False) -> bytes:
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, np.asanyarray(array), allow_pickle=allow_pickle)
    return buffer.getvalue()


def write_npz(path, members: dict, compression=zipfile.ZIP_STORED) -> None:
    """An .npz with these members: arrays, or the raw bytes of a member."""
    with zipfile.ZipFile(path, "w", compression=compression) as archive:
        for name, value in members.items():
            archive.writestr(f"{name}.npy", value if isinstance(value, bytes) else npy_bytes(value))


def members_of(path) -> dict:
    with np.load(path, allow_pickle=False) as archive:
        return dict(archive)


@pytest.fixture(scope="module")
def fitted():
    return GaussianMixture(2, random_state=0).fit(X)


@pytest.fixture()
def good(tmp_path, fitted):
    """The members of a model file written by save."""
    fitted.save(tmp_path / "good.npz")
    return members_of(tmp_path / "good.npz")


def v1_members(model, members) -> dict:
    """A format 1 file as gaussmix wrote them before format 2: the fitted
    attributes stored beside the mixture."""
    v1 = {name: value for name, value in members.items() if name != "dtype"}
    v1["format_version"] = np.array(1)
    v1.update({name: getattr(model, name) for name in ATTRIBUTES})
    return v1


def refused(path, why: str):
    with pytest.raises(ValueError, match=invalid(path, why)) as info:
        GaussianMixture.load(path)
    assert type(info.value) is ValueError
    assert "allow_pickle" not in str(info.value)
    return str(info.value)


def assert_same_model(loaded, model):
    for name in ATTRIBUTES:
        assert np.array_equal(getattr(loaded, name), getattr(model, name)), name
    assert loaded.get_params() == model.get_params()


# ----------------------------------------------------------------------------- not a model file at all


@pytest.mark.parametrize("content", ["text", "npy", "pickle", "empty"])
def test_a_file_that_is_not_an_archive_is_not_a_model_file_and_gets_no_unsafe_advice(tmp_path, fitted, content):
    path = tmp_path / "model.npz"
    if content == "text":
        path.write_text("weights,means\n0.5,1\n")
    elif content == "npy":
        np.save(path.with_suffix(".npy"), X)
        os.replace(path.with_suffix(".npy"), path)
    elif content == "pickle":
        path.write_bytes(pickle.dumps(fitted))
    else:
        path.write_bytes(b"")
    message = refused(path, r"not an \.npz \(zip\) archive.*write one with GaussianMixture\.save")
    assert "pickle" not in message


def test_another_npz_is_not_a_model_file(tmp_path):
    np.savez(tmp_path / "other.npz", x=np.zeros(3))
    refused(tmp_path / "other.npz", "no 'gaussmix-model' marker")


def test_an_object_array_is_refused_without_unpickling_it(tmp_path, good):
    class Trap:
        def __reduce__(self):
            return (os.system, ("echo unpickled > /dev/null",))

    for name in ("mixture_means", "format"):
        members = dict(good)
        members[name] = npy_bytes(np.array([Trap(), 1], dtype=object), allow_pickle=True)
        write_npz(tmp_path / "m.npz", members)
        refused(tmp_path / "m.npz", f"{name} has dtype object")


def test_a_directory_is_not_a_model_file(tmp_path):
    refused(tmp_path, "it is a directory")


def test_an_unreadable_file_says_permission(tmp_path, fitted, monkeypatch):
    import gaussmix._model_file as model_file

    fitted.save(tmp_path / "m.npz")

    def no_permission(path, mode="r"):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(model_file, "open", no_permission, raising=False)
    with pytest.raises(PermissionError, match="permission"):
        GaussianMixture.load(tmp_path / "m.npz")


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root reads any file")
def test_an_unreadable_file_on_disk_says_permission(tmp_path, fitted):
    fitted.save(tmp_path / "m.npz")
    os.chmod(tmp_path / "m.npz", 0)
    with pytest.raises(PermissionError, match="permission"):
        GaussianMixture.load(tmp_path / "m.npz")


# ----------------------------------------------------------------------------- damaged archives


def test_every_truncation_is_refused(tmp_path, fitted):
    fitted.save(tmp_path / "m.npz")
    data = (tmp_path / "m.npz").read_bytes()
    for cut in range(0, len(data), 97):
        (tmp_path / "cut.npz").write_bytes(data[:cut])
        refused(tmp_path / "cut.npz", "")


def test_a_corrupted_byte_is_refused_or_harmless(tmp_path, fitted):
    """A changed byte anywhere: refused with the one message, or (in a zip
    field nothing reads, e.g. a time stamp) the same model."""
    fitted.save(tmp_path / "m.npz")
    data = (tmp_path / "m.npz").read_bytes()
    harmless = 0
    for position in range(0, len(data), 13):
        damaged = bytearray(data)
        damaged[position] ^= 0x5A
        (tmp_path / "bad.npz").write_bytes(bytes(damaged))
        try:
            loaded = GaussianMixture.load(tmp_path / "bad.npz")
        except ValueError as exc:
            assert re.match(invalid(tmp_path / "bad.npz", ""), str(exc)), str(exc)
        else:
            assert_same_model(loaded, fitted)
            harmless += 1
    assert harmless < len(range(0, len(data), 13)) / 2


def test_two_members_of_one_name_are_refused(tmp_path, good):
    write_npz(tmp_path / "m.npz", good)
    with pytest.warns(UserWarning, match="Duplicate name"):
        with zipfile.ZipFile(tmp_path / "m.npz", "a") as archive:
            archive.writestr("mixture_means.npy", npy_bytes(good["mixture_means"] + 1))
    refused(tmp_path / "m.npz", "two members named 'mixture_means.npy'")


# ----------------------------------------------------------------------------- members, dtypes, shapes


@pytest.mark.parametrize("name", ["params", "n_iter", "mixture_weights", "mixture_covariances", "lower_bounds",
                                  "dtype", "format_version"])
def test_a_missing_member_is_refused(tmp_path, good, name):
    members = {key: value for key, value in good.items() if key != name}
    write_npz(tmp_path / "m.npz", members)
    refused(tmp_path / "m.npz", f"no {name}")


def test_an_unknown_member_is_refused(tmp_path, good):
    write_npz(tmp_path / "m.npz", {**good, "hidden_means": good["mixture_means"]})
    refused(tmp_path / "m.npz", "unknown members hidden_means")


@pytest.mark.parametrize("name, value, why", [
    ("mixture_means", lambda a: a.astype(np.float32), "mixture_means has dtype float32, not float64"),
    ("mixture_means", lambda a: a.astype(np.complex128), "mixture_means has dtype complex128"),
    ("mixture_means", lambda a: a.astype(str), "mixture_means has dtype <U"),
    ("mixture_weights", lambda a: a.astype(np.int64), "mixture_weights has dtype int64"),
    ("n_iter", lambda a: a.astype(np.float64), "n_iter has dtype float64, not int"),
    ("params", lambda a: np.array(7), "params has dtype int64, not text"),
    ("converged", lambda a: np.array("yes"), "converged has dtype <U3, not bool"),
    ("format_version", lambda a: np.array("2"), "format_version has dtype <U1, not int"),
])
def test_a_member_of_the_wrong_dtype_is_refused(tmp_path, good, name, value, why):
    write_npz(tmp_path / "m.npz", {**good, name: value(good[name])})
    refused(tmp_path / "m.npz", re.escape(why))


@pytest.mark.parametrize("name, value, why", [
    ("mixture_weights", lambda a: np.full(3, 1 / 3), r"mixture_weights has shape \(3,\), not \(2,\)"),
    ("mixture_covariances", lambda a: a[:, :2, :2], r"mixture_covariances has shape \(2, 2, 2\), not \(2, 3, 3\)"),
    ("mixture_means", lambda a: a.ravel(), r"mixture_means has shape \(6,\), which is not valid"),
    ("mixture_means", lambda a: a[:0], r"mixture_means has shape \(0, 3\), which is not valid"),
    ("lower_bounds", lambda a: np.append(a, a[-1]), r"lower_bounds has shape"),
    ("n_iter", lambda a: np.array([a]), r"n_iter has shape \(1,\), not \(\)"),
    ("feature_names_in", lambda a: np.array(["a", "b", "c", "d"]), r"feature_names_in has shape \(4,\), not \(3,\)"),
])
def test_a_member_of_the_wrong_shape_is_refused(tmp_path, good, name, value, why):
    write_npz(tmp_path / "m.npz", {**good, name: value(good.get(name))})
    refused(tmp_path / "m.npz", why)


def test_a_member_that_is_not_npy_is_refused(tmp_path, good):
    write_npz(tmp_path / "m.npz", {**good, "mixture_weights": b"not an array"})
    refused(tmp_path / "m.npz", "member mixture_weights is not a NumPy array")


def raw_npy(header: str, data: bytes) -> bytes:
    """A .npy member with this header text, written by hand."""
    text = header.encode("latin1")
    padding = 63 - (10 + len(text)) % 64
    return b"\x93NUMPY\x01\x00" + (len(text) + padding + 1).to_bytes(2, "little") + text + b" " * padding + b"\n" + data


@pytest.mark.parametrize("header, why", [
    ("{'descr': '<f8'", "is not a NumPy array"),  # the tokenizer's TokenError
    ("{'descr': '<f8', 'fortran_order': False, 'shape': " + "(" * 3000 + ")" * 3000 + "}", "is not a NumPy array"),
    ("{'descr': 'bogus', 'fortran_order': False, 'shape': (2,), }", "is not a NumPy array"),
    ("{'descr': '<f8', 'fortran_order': False, 'shape': (2.5,), }", "is not a NumPy array"),
    ("{'descr': [('a', '<f8')], 'fortran_order': False, 'shape': (2,), }", "has dtype"),
    ("{'descr': '<M8[s]', 'fortran_order': False, 'shape': (2,), }", "has dtype datetime64"),
    ("{'descr': '<U0', 'fortran_order': False, 'shape': (3,), }", "has dtype <U0"),
    ("{'descr': '<f8', 'fortran_order': False, 'shape': (-1,), }", r"has shape \(-1,\), not \(2,\)"),
], ids=["unterminated", "nested", "bad descr", "float shape", "structured", "datetime", "empty text", "negative"])
def test_a_crafted_npy_header_is_refused(tmp_path, good, header, why):
    name = "feature_names_in" if "<U0" in header else "mixture_weights"
    write_npz(tmp_path / "m.npz", {**good, name: raw_npy(header, bytes(16) if name == "mixture_weights" else b"")})
    refused(tmp_path / "m.npz", f"{name} {why}")


def test_a_big_endian_fortran_ordered_member_is_read(tmp_path, good, fitted):
    """Another machine's byte order and column order are still the same arrays."""
    covariances = np.asfortranarray(good["mixture_covariances"].astype(">f8"))
    write_npz(tmp_path / "m.npz", {**good, "mixture_covariances": covariances,
                                   "mixture_means": np.asfortranarray(good["mixture_means"].astype(">f8"))})
    assert_same_model(GaussianMixture.load(tmp_path / "m.npz"), fitted)


def test_a_zip_of_an_unsupported_version_is_refused(tmp_path, fitted):
    fitted.save(tmp_path / "m.npz")
    data = bytearray((tmp_path / "m.npz").read_bytes())
    end = data.rindex(b"PK\x05\x06")
    directory = int.from_bytes(data[end + 16:end + 20], "little")
    data[directory + 6] = 210  # "version needed to extract" of the first member: 21.0
    (tmp_path / "m.npz").write_bytes(bytes(data))
    refused(tmp_path / "m.npz", "zip file version 21.0")


# ----------------------------------------------------------------------------- parameters


@pytest.mark.parametrize("change, why", [
    ({"n_components": 7}, "n_components=7 but its means are for 2 components"),
    ({"n_components": -5}, "params are invalid.*'n_components' parameter"),
    ({"covariance_type": "diag"}, r"mixture_covariances has shape \(2, 3, 3\), not \(2, 3\)"),
    ({"covariance_type": "round"}, "params are invalid.*'covariance_type' parameter"),
    ({"tol": "small"}, "params are invalid.*'tol' parameter"),
    ({"max_iter": 2.5}, "params are invalid.*'max_iter' parameter"),
    ({"means_init": [[0, 0]]}, "params are invalid.*means"),
    ({"means_init": [["a", "b", "c"], ["d", "e", "f"]]}, "params are invalid"),
    ({"favourite_colour": "blue"}, "unknown names 'favourite_colour'"),
    ({"max_iter": 1}, r"n_iter is \d+, not in \[0, max_iter=1\]"),
])
def test_params_that_disagree_or_are_invalid_are_refused(tmp_path, good, change, why):
    params = {**json.loads(str(good["params"])), **change}
    write_npz(tmp_path / "m.npz", {**good, "params": np.array(json.dumps(params))})
    refused(tmp_path / "m.npz", why)


@pytest.mark.parametrize("text, why", [
    ("{not json", "params are not valid JSON"),
    ("[" * 20_000 + "]" * 20_000, "params are not valid JSON.*RecursionError"),
    ('{"a": ' * 8_000 + "1" + "}" * 8_000, "params are not valid JSON.*RecursionError"),
    ("[1, 2]", "params are a JSON list, not an object"),
    ('"full"', "params are a JSON str, not an object"),
    ("1" * 5000, "params are not valid JSON"),  # an integer with too many digits
], ids=["syntax", "nested lists", "nested objects", "list", "string", "long integer"])
def test_malformed_json_params_are_refused(tmp_path, good, text, why):
    write_npz(tmp_path / "m.npz", {**good, "params": np.array(text)})
    refused(tmp_path / "m.npz", why)


def test_a_missing_parameter_takes_its_default(tmp_path, good, fitted):
    params = json.loads(str(good["params"]))
    del params["verbose_interval"]
    write_npz(tmp_path / "m.npz", {**good, "params": np.array(json.dumps(params))})
    assert_same_model(GaussianMixture.load(tmp_path / "m.npz"), fitted)


# ----------------------------------------------------------------------------- the mixture and the history


@pytest.mark.parametrize("name, change, why", [
    ("mixture_weights", lambda a: a * 2, "weights must be non-negative and sum to 1"),
    ("mixture_weights", lambda a: np.array([1.5, -0.5]), "weights must be non-negative"),
    ("mixture_weights", lambda a: np.array([np.nan, 0.5]), "weights contain NaN"),
    ("mixture_means", lambda a: np.where(a == a[0, 0], np.inf, a), "means contain NaN or infinite"),
    ("mixture_covariances", lambda a: a * np.nan, "covariances contain NaN"),
    ("mixture_covariances", lambda a: a + np.triu(np.ones(3), 1), "symmetric"),
    ("mixture_covariances", lambda a: -a, "positive definite"),
    ("lower_bounds", lambda a: a * np.nan, "lower_bounds has non-finite values"),
    ("lower_bound", lambda a: a + 1, "lower_bound .* is not the last of lower_bounds"),
    ("n_iter", lambda a: np.array(-1), r"n_iter is -1, not in \[0, max_iter"),
    ("dtype", lambda a: np.array("int8"), "its dtype is 'int8', not one of float64, float32"),
    ("format_version", lambda a: np.array(0), "format_version 0 does not exist"),
])
def test_a_mixture_or_history_no_fit_gives_is_refused(tmp_path, good, name, change, why):
    with np.errstate(invalid="ignore"):
        write_npz(tmp_path / "m.npz", {**good, name: change(good[name])})
    refused(tmp_path / "m.npz", why)


def test_a_mixture_that_overflows_float32_is_refused(tmp_path, good):
    huge = good["mixture_means"] * 1e300
    write_npz(tmp_path / "m.npz", {**good, "dtype": np.array("float32"), "mixture_means": huge})
    refused(tmp_path / "m.npz", "non-finite means_ in float32")


@pytest.mark.parametrize("ctype", ["full", "tied", "diag", "spherical"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_a_format_1_file_is_read_bit_identically(tmp_path, ctype, dtype):
    model = GaussianMixture(2, covariance_type=ctype, random_state=1).fit(X.astype(dtype))
    model.save(tmp_path / "m.npz")
    write_npz(tmp_path / "v1.npz", v1_members(model, members_of(tmp_path / "m.npz")))
    loaded = GaussianMixture.load(tmp_path / "v1.npz")
    for name in ATTRIBUTES:
        assert getattr(loaded, name).dtype == dtype and np.array_equal(getattr(loaded, name), getattr(model, name))
    assert np.array_equal(loaded.score_samples(X.astype(dtype)), model.score_samples(X.astype(dtype)))


@pytest.mark.parametrize("ctype", ["full", "tied", "diag", "spherical"])
@pytest.mark.parametrize("name, change", [
    ("precisions_cholesky_", lambda a: a * 50),
    ("precisions_cholesky_", lambda a: a * np.nan),
    ("precisions_", lambda a: a * np.nan),
    ("precisions_", lambda a: a * (1 + 1e-3)),
    ("covariances_", lambda a: a * np.nan),
    ("covariances_", lambda a: a / 50),
    ("means_", lambda a: a + 1),  # the hidden mixture arrays would score
    ("weights_", lambda a: a[::-1]),
])
def test_a_format_1_file_whose_arrays_disagree_is_refused(tmp_path, ctype, name, change):
    model = GaussianMixture(2, covariance_type=ctype, random_state=1).fit(X)
    model.save(tmp_path / "m.npz")
    v1 = v1_members(model, members_of(tmp_path / "m.npz"))
    if name == "weights_" and np.allclose(v1[name], v1[name][::-1], rtol=1e-3):
        pytest.skip("equal weights")
    with np.errstate(invalid="ignore"):
        v1[name] = change(v1[name])
    write_npz(tmp_path / "v1.npz", v1)
    refused(tmp_path / "v1.npz", f"{name} disagrees with the {name} derived from its mixture")


def test_a_format_1_attribute_of_another_dtype_is_refused(tmp_path, fitted, good):
    v1 = v1_members(fitted, good)
    v1["precisions_"] = v1["precisions_"].astype(np.float32)
    write_npz(tmp_path / "v1.npz", v1)
    refused(tmp_path / "v1.npz", "precisions_ has dtype float32, not float64")


# ----------------------------------------------------------------------------- memory: bounded before reading


def peak_memory_of_load(path, why: str) -> int:
    """The most memory (bytes) that loading path, refused for why, allocated."""
    tracemalloc.start()
    try:
        with pytest.raises(ValueError, match=invalid(path, why)):
            GaussianMixture.load(path)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


BIG = 50_000_000  # 400 MB of float64, 5e7 feature names


def write_with_a_big_compressed_member(path, members, name, descr, chunk: bytes):
    """members stored as np.savez stores them, but name deflated: a .npy
    header declaring BIG entries of descr, then chunk repeated to fill them
    (a file of a few hundred kilobytes that would load into gigabytes)."""
    with zipfile.ZipFile(path, "w") as archive:
        for other, value in members.items():
            if other != name:
                archive.writestr(f"{other}.npy", npy_bytes(value))
        info = zipfile.ZipInfo(f"{name}.npy")
        info.compress_type = zipfile.ZIP_DEFLATED
        with archive.open(info, "w", force_zip64=True) as member:
            np.lib.format.write_array_header_1_0(member, {"descr": descr, "fortran_order": False, "shape": (BIG,)})
            for _ in range(BIG // 1_000_000):
                member.write(chunk)


def test_a_small_compressed_file_declaring_5e7_lower_bounds_is_refused_without_allocating_them(tmp_path, good):
    params = {**json.loads(str(good["params"])), "max_iter": 10**9}
    members = {**good, "params": np.array(json.dumps(params)), "n_iter": np.array(BIG)}
    write_with_a_big_compressed_member(tmp_path / "m.npz", members, "lower_bounds", "<f8", bytes(8 * 1_000_000))
    assert os.path.getsize(tmp_path / "m.npz") < 1_000_000
    assert peak_memory_of_load(tmp_path / "m.npz", "its member lower_bounds is compressed") < 20_000_000


@pytest.mark.parametrize("name, header, n_iter, why", [
    ("lower_bounds", {"descr": "<f8", "fortran_order": False, "shape": (BIG,)}, BIG,
     r"lower_bounds declares shape \(50000000,\) of float64 \(400000000 bytes\) but its member holds 64 bytes"),
    ("feature_names_in", {"descr": "<U100", "fortran_order": False, "shape": (BIG,)}, None,
     r"feature_names_in has shape \(50000000,\), not \(3,\)"),
    ("mixture_means", {"descr": "<f8", "fortran_order": False, "shape": (BIG, 3)}, None,
     r"mixture_means declares shape \(50000000, 3\) .* but its member holds 64 bytes"),
])
def test_a_member_declaring_more_than_the_file_holds_is_refused_before_reading(tmp_path, good, name, header, n_iter,
                                                                              why):
    """Stored (uncompressed) members whose .npy header declares 400 MB or more
    in a file of a few kilobytes: refused from the header (its shape bounded
    by the other members, its size by the member's bytes), nothing allocated."""
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(buffer, header)
    members = {**good, name: buffer.getvalue() + bytes(64)}
    if n_iter is not None:
        params = {**json.loads(str(good["params"])), "max_iter": 10**9}
        members.update(params=np.array(json.dumps(params)), n_iter=np.array(n_iter))
    write_npz(tmp_path / "m.npz", members)
    assert peak_memory_of_load(tmp_path / "m.npz", why) < 5_000_000


def test_a_compressed_file_of_5e7_feature_names_is_refused_without_allocating_them(tmp_path, good):
    write_with_a_big_compressed_member(tmp_path / "m.npz", good, "feature_names_in", "<U1",
                                       np.full(1_000_000, "x").tobytes())
    assert os.path.getsize(tmp_path / "m.npz") < 1_000_000
    assert peak_memory_of_load(tmp_path / "m.npz", "its member feature_names_in is compressed") < 20_000_000


@pytest.mark.parametrize("name, value, why", [
    ("feature_names_in", np.array(["a", "b", "x" * 5000]), "feature_names_in holds text longer than 4096 characters"),
    ("gaussmix_version", np.array("1" * 1000), "gaussmix_version holds text longer than 256 characters"),
    ("format", np.array(" " * 1000), "format holds text longer than 256 characters"),
    ("params", np.array(" " * 200_000), "params holds text longer than"),
])
def test_text_longer_than_its_cap_is_refused(tmp_path, good, name, value, why):
    write_npz(tmp_path / "m.npz", {**good, name: value})
    refused(tmp_path / "m.npz", why)


# ----------------------------------------------------------------------------- save refuses what load refuses


def test_save_refuses_feature_names_that_are_not_strings_and_writes_nothing(tmp_path):
    model = GaussianMixture(2, random_state=0).fit(X)
    model.feature_names_in_ = np.array([1, 2, 3], dtype=object)
    with pytest.raises(ValueError, match=r"feature_names_in_ must be strings \(column names\), got 1 of type int"):
        model.save(tmp_path / "m.npz")
    assert not os.listdir(tmp_path)


def test_save_refuses_params_that_disagree_with_the_fit(tmp_path):
    model = GaussianMixture(2, random_state=0).fit(X)
    model.set_params(n_components=5)
    with pytest.raises(ValueError, match="save.*load would refuse: its params say n_components=5"):
        model.save(tmp_path / "m.npz")
    assert not os.listdir(tmp_path)


def test_save_refuses_covariances_that_disagree_with_the_precisions(tmp_path):
    model = GaussianMixture(2, random_state=0).fit(X)
    model.covariances_ = model.covariances_ * 50
    with pytest.raises(ValueError, match="save.*covariances_ disagrees with the covariances_ derived from its mixture"):
        model.save(tmp_path / "m.npz")
    assert not os.listdir(tmp_path)


def test_save_converts_object_dtype_attributes_that_load_then_accepts(tmp_path):
    model = GaussianMixture(2, random_state=0).fit(X)
    want = {name: getattr(model, name).copy() for name in ATTRIBUTES}
    model.weights_ = model.weights_.astype(object)
    model.feature_names_in_ = np.array(["a", "b", "c"], dtype=object)
    model.save(tmp_path / "m.npz")
    loaded = GaussianMixture.load(tmp_path / "m.npz")
    for name in ATTRIBUTES:
        assert getattr(loaded, name).dtype == np.float64 and np.array_equal(getattr(loaded, name), want[name])
    assert list(loaded.feature_names_in_) == ["a", "b", "c"]


@pytest.mark.parametrize("kind", ["max_iter=0", "from_mixture", "missing values", "float32 tied", "one feature"])
def test_every_model_save_writes_is_one_load_accepts(tmp_path, kind):
    from gaussmix import Mixture

    if kind == "max_iter=0":
        model = GaussianMixture(2, max_iter=0, random_state=0).fit(X)
    elif kind == "from_mixture":
        model = GaussianMixture.from_mixture(Mixture([0.3, 0.7], [[0.0], [1.0]], [1.0, 2.0], "spherical"))
    elif kind == "missing values":
        data = X.copy()
        data[::4, 1] = np.nan
        model = GaussianMixture(3, covariance_type="diag", random_state=0).fit(data)
    elif kind == "float32 tied":
        model = GaussianMixture(4, covariance_type="tied", random_state=0).fit(X.astype(np.float32))
    else:
        model = GaussianMixture(2, random_state=0).fit(X[:, :1])
    model.save(tmp_path / "m.npz")
    loaded = GaussianMixture.load(tmp_path / "m.npz")
    assert_same_model(loaded, model)
    assert (loaded.n_iter_, loaded.lower_bound_, loaded.lower_bounds_) == (model.n_iter_, model.lower_bound_,
                                                                           model.lower_bounds_)
