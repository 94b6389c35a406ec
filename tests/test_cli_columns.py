"""The command line's data files: columns picked before anything is parsed,
the header's names kept in the model file and used by predict, sample,
info and plot, one convention for rows in messages, --delimiter, and
messages that read right in the singular. Fits are checked against the
Python API (or scikit-learn) on the same numbers."""
from __future__ import annotations

import re

import numpy as np
import pytest

pytest.importorskip("sklearn")

from gaussmix import GaussianMixture  # noqa: E402
from test_cli import X, gaussmix, read_csv_output  # noqa: E402

XY = X[:, :2]


def write_people(path, rows=XY, header=True, order=("id", "name", "width", "depth")):
    """A CSV with an id and a text column beside the two numeric ones."""
    lines = [",".join(order)] if header else []
    for i, (width, depth) in enumerate(rows.tolist()):
        fields = {"id": str(i), "name": f"person {i}", "width": repr(width), "depth": repr(depth)}
        lines.append(",".join(fields[c] for c in order))
    path.write_text("\n".join(lines) + "\n")


@pytest.mark.parametrize("columns", ["width,depth", "2,3", "width,3"])
def test_columns_are_picked_before_parsing(tmp_path, columns):
    write_people(tmp_path / "people.csv")
    gaussmix("fit", "people.csv", "-k", "2", "--columns", columns, "-o", "m.npz", cwd=tmp_path)
    model = GaussianMixture.load(tmp_path / "m.npz")
    expected = GaussianMixture(2, random_state=0).fit(XY)
    np.testing.assert_allclose(model.means_, expected.means_, rtol=1e-12)
    assert list(model.feature_names_in_) == ["width", "depth"]


def test_a_file_without_header_and_a_text_column_is_data_from_its_first_line(tmp_path):
    write_people(tmp_path / "people.csv", header=False)
    out = gaussmix("fit", "people.csv", "-k", "2", "--columns", "2,3", "-o", "m.npz", cwd=tmp_path).stdout
    assert f"to {len(XY)} rows x 2 columns" in out
    model = GaussianMixture.load(tmp_path / "m.npz")
    np.testing.assert_allclose(model.means_, GaussianMixture(2, random_state=0).fit(XY).means_, rtol=1e-12)
    assert not hasattr(model, "feature_names_in_")


@pytest.mark.parametrize("name, write", [("numbers.csv", lambda p: np.savetxt(p, XY, delimiter=",")),
                                         ("numbers.npy", lambda p: np.save(p, XY))])
def test_a_name_in_columns_of_a_file_without_names_says_so(tmp_path, name, write):
    write(tmp_path / name)
    result = gaussmix("fit", name, "-k", "1", "--columns", "width", cwd=tmp_path, check_rc=1)
    assert f"--columns: 'width' is not an index of {name}, which has no column names: give 0-based indices in 0..1" \
        in result.stderr


def test_a_sweep_keeps_the_names_in_the_best_model(tmp_path):
    write_people(tmp_path / "people.csv")
    gaussmix("fit", "people.csv", "-k", "1..2", "--columns", "depth,width", "-o", "m.npz", cwd=tmp_path)
    assert list(GaussianMixture.load(tmp_path / "m.npz").feature_names_in_) == ["depth", "width"]


def test_predict_sample_info_and_plot_use_the_names(tmp_path):
    write_people(tmp_path / "people.csv")
    gaussmix("fit", "people.csv", "-k", "2", "--columns", "width,depth", "-o", "m.npz", cwd=tmp_path)
    expected = GaussianMixture(2, random_state=0).fit(XY)

    # Other columns, in another order: predict picks the model's by name.
    write_people(tmp_path / "new.csv", order=("depth", "name", "width", "id"))
    names, proba = read_csv_output(gaussmix("predict", "m.npz", "new.csv", "--proba", cwd=tmp_path).stdout)
    np.testing.assert_allclose(proba, expected.predict_proba(XY), rtol=1e-9, atol=1e-300)
    result = gaussmix("predict", "m.npz", "new.csv", "--score", cwd=tmp_path)
    assert result.stderr == ""  # no warning about feature names
    np.testing.assert_allclose(read_csv_output(result.stdout)[1][:, 0], expected.score_samples(XY), rtol=1e-9)

    names, drawn = read_csv_output(gaussmix("sample", "m.npz", "-n", "5", "--seed", "2", cwd=tmp_path).stdout)
    assert names == ["width", "depth"]
    np.testing.assert_allclose(drawn, expected.set_params(random_state=2).sample(5)[0], rtol=1e-9)

    assert "features (the order of the means and sds): width, depth" in gaussmix("info", "m.npz",
                                                                               cwd=tmp_path).stdout

    # --columns still picks by position or name, over the names of the file.
    write_people(tmp_path / "plain.csv", header=False)
    names, labels = read_csv_output(gaussmix("predict", "m.npz", "plain.csv", "--columns", "2,3",
                                             cwd=tmp_path).stdout)
    assert np.array_equal(labels[:, 0], expected.predict(XY))


def test_parquet_names_are_kept(tmp_path):
    pd = pytest.importorskip("pandas")
    pytest.importorskip("pyarrow")
    frame = pd.DataFrame({"id": np.arange(len(XY)), "label": ["a"] * len(XY), "width": XY[:, 0], "depth": XY[:, 1]})
    frame.to_parquet(tmp_path / "data.parquet")
    gaussmix("fit", "data.parquet", "-k", "2", "--columns", "width,depth", "-o", "m.npz", cwd=tmp_path)
    model = GaussianMixture.load(tmp_path / "m.npz")
    assert list(model.feature_names_in_) == ["width", "depth"]
    np.testing.assert_allclose(model.means_, GaussianMixture(2, random_state=0).fit(XY).means_, rtol=1e-12)
    names, labels = read_csv_output(gaussmix("predict", "m.npz", "data.parquet", cwd=tmp_path).stdout)
    assert np.array_equal(labels[:, 0], GaussianMixture(2, random_state=0).fit(XY).predict(XY))


# ----------------------------------------------------------------- rows in messages


def test_rows_are_file_lines_in_text_and_0_based_rows_in_npy(tmp_path):
    holes = XY.copy()
    holes[6, 1] = np.nan
    # A header and a blank line before the data row 6: it is line 9 of the file.
    lines = ["a,b", "", *(f"{a!r},{'' if np.isnan(b) else repr(b)}" for a, b in holes.tolist())]
    (tmp_path / "holes.csv").write_text("\n".join(lines) + "\n")
    assert "\n".join(lines).split("\n")[8] == f"{float(holes[6, 0])!r},"
    result = gaussmix("fit", "holes.csv", "-k", "2", cwd=tmp_path, check_rc=1)
    assert "(the first: line 9)" in result.stderr
    np.save(tmp_path / "holes.npy", holes)
    result = gaussmix("fit", "holes.npy", "-k", "2", cwd=tmp_path, check_rc=1)
    assert "(the first: row 6)" in result.stderr

    infinite = XY.copy()
    infinite[4, 0] = np.inf
    np.save(tmp_path / "inf.npy", infinite)
    assert "inf.npy, row 4, column 0: inf is infinite" in gaussmix("fit", "inf.npy", "-k", "2", cwd=tmp_path,
                                                                    check_rc=1).stderr
    (tmp_path / "inf.csv").write_text("a,b\n" + "".join(f"{a!r},{b!r}\n" for a, b in infinite.tolist()))
    assert "inf.csv, line 6, column 0 ('a'): inf is infinite" in gaussmix("fit", "inf.csv", "-k", "2",
                                                                          cwd=tmp_path, check_rc=1).stderr


def test_help_says_how_rows_are_counted(tmp_path):
    out = gaussmix("fit", "--help", cwd=tmp_path).stdout
    assert "a text file's line, counted from 1" in out and "a .npy or Parquet file's row, counted from 0" in out


def test_one_row_reads_right(tmp_path):
    (tmp_path / "one.csv").write_text("a,b\n1.5,2.5\n")
    result = gaussmix("fit", "one.csv", "-k", "2", cwd=tmp_path, check_rc=1)
    assert "one.csv has 1 row, fewer than K = 2" in result.stderr


# ----------------------------------------------------------------- delimiters


def test_semicolon_files_read_with_delimiter_and_are_pointed_to_it(tmp_path):
    (tmp_path / "semi.csv").write_text("a;b\n" + "".join(f"{a!r};{b!r}\n" for a, b in XY.tolist()))
    result = gaussmix("fit", "semi.csv", "-k", "2", cwd=tmp_path, check_rc=1)
    assert "separated by ';'? say so with --delimiter ';'" in result.stderr
    gaussmix("fit", "semi.csv", "-k", "2", "--delimiter", ";", "-o", "m.npz", cwd=tmp_path)
    model = GaussianMixture.load(tmp_path / "m.npz")
    np.testing.assert_allclose(model.means_, GaussianMixture(2, random_state=0).fit(XY).means_, rtol=1e-12)
    assert list(model.feature_names_in_) == ["a", "b"]


# ----------------------------------------------------------------- the sweep's table


def test_the_sweep_table_tells_criteria_apart_at_a_million_rows(tmp_path):
    from sklearn.mixture import GaussianMixture as SkGaussianMixture

    rng = np.random.default_rng(4)
    big = rng.standard_normal((1_000_000, 2)) @ np.array([[1.0, 0.3], [0.0, 0.5]]) + 7.0
    np.save(tmp_path / "big.npy", big)
    out = gaussmix("fit", "big.npy", "-k", "1", "--covariance", "full,diag,spherical", "-o", "m.npz",
                   cwd=tmp_path).stdout
    rows = {m.group(1): (float(m.group(2)), float(m.group(3)))
            for m in re.finditer(r"^\s+1\s+(\w+)\s+(\S+)\s+(\S+)", out, re.MULTILINE)}
    assert sorted(rows) == ["diag", "full", "spherical"]
    for model, (bic, aic) in rows.items():
        sk = SkGaussianMixture(1, covariance_type=model).fit(big)  # one component: no random start
        assert abs(bic - sk.bic(big)) < 1e-3, (model, bic, sk.bic(big))
        assert abs(aic - sk.aic(big)) < 1e-3, (model, aic, sk.aic(big))


def test_an_empty_row_or_column_is_named_as_the_file_counts_it(tmp_path):
    (tmp_path / "gaps.csv").write_text("id,a,b\n0,1,2\n1,3,4\n\n2,,\n3,5,6\n4,2,2\n")
    result = gaussmix("fit", "gaps.csv", "-k", "1", "--missing", "--columns", "a,b", cwd=tmp_path, check_rc=1)
    assert "gaps.csv, line 5: every value is missing" in result.stderr
    (tmp_path / "gaps.csv").write_text("id,a,b\n0,1,\n1,3,\n2,5,\n")
    result = gaussmix("fit", "gaps.csv", "-k", "1", "--missing", "--columns", "a,b", cwd=tmp_path, check_rc=1)
    assert "gaps.csv, column 2 ('b'): every value is missing; leave it out with --columns" in result.stderr
