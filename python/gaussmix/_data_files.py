"""The command line's data files: CSV, TSV, other text, ``.npy`` and Parquet
read into a float array, with the column names of a header and where each
row came from, for messages.

Columns are picked before any field is parsed: the fields of a column left
out (an id, a name, a long free-text note) are never converted, so they
cannot make the file unreadable.

Where a row came from is said one way per kind of file: a text file's
rows are its lines, counted from 1 as an editor counts them ("line 7"), so
a header and blank lines count; the rows of a ``.npy`` or Parquet file are
counted from 0, as NumPy and pandas index them ("row 6").
"""
from __future__ import annotations

import codecs
import csv
import io
import math
import os
from typing import NamedTuple

import numpy as np

MISSING_TOKENS = {"", "nan", "na", "n/a", "null", "none", "?"}

#: csv refuses fields longer than 128 KiB by default. A field of a column that is
#: left out may be any length, and one that is used gets a "not a number" message.
_FIELD_LIMIT = 2**31 - 1

#: What an array of one of these dtype kinds holds, and what to do, for the message that refuses it.
_NOT_REAL = {"c": ("complex numbers", "store the real and imaginary parts as columns of their own"),
             "m": ("time differences (timedelta64)",
                   "convert them to numbers, e.g. seconds: a / np.timedelta64(1, 's')"),
             "M": ("dates (datetime64)", "convert them to numbers, e.g. seconds since a start"),
             "U": ("text", "convert it to numbers"), "S": ("bytes", "convert them to numbers"),
             "V": ("structured records", "save a plain 2-D array of numbers, a column for each field"),
             "O": ("Python objects", "save an array of numbers")}


def _not_real(path: str, kind: str, dtype) -> InputError:
    what, remedy = _NOT_REAL.get(kind, ("values that are not numbers", "convert them to numbers"))
    return InputError(f"{path} holds {what} ({dtype}); gaussmix fits real numbers: {remedy}")


class InputError(Exception):
    """Bad input: a one-line message, exit code 1."""


def plural(n: int, word: str) -> str:
    """'1 row', '2 rows'."""
    return f"{n} {word}{'' if n == 1 else 's'}"


class Table(NamedTuple):
    """The data of a file: the picked columns as floats, their names, and where the rows came from."""
    data: np.ndarray          # (N, D) float64 (float32 kept from a .npy file)
    names: list | None        # the header's names of the picked columns; None without a header
    columns: list             # the picked columns' 0-based positions in the file
    lines: list | None        # each row's line in a text file; None: rows counted from 0

    def where(self, i: int) -> str:
        """Where row i of data came from: 'line 7' (text) or 'row 6' (.npy, Parquet)."""
        return f"row {i}" if self.lines is None else f"line {self.lines[i]}"

    def column(self, j: int) -> str:
        """Column j of data as the file knows it: "column 3 ('depth')"."""
        name = f" ({self.names[j]!r})" if self.names is not None else ""
        return f"column {self.columns[j]}{name}"


def encoding_name(text: str) -> str:
    """--encoding's value, checked (argparse type); UTF-8 reads past a byte-order mark."""
    import argparse

    try:
        name = codecs.lookup(text).name
    except LookupError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an encoding Python knows (e.g. utf-8, latin-1, "
                                         "cp1252, utf-16)") from None
    return "utf-8-sig" if name == "utf-8" else text


def delimiter_char(text: str) -> str:
    """--delimiter's value (argparse type): one character, or 'tab'."""
    import argparse

    if text.lower() in ("tab", "\\t", "\t"):
        return "\t"
    if len(text) != 1 or text in "\"\r\n":
        raise argparse.ArgumentTypeError(f"{text!r}: the delimiter is one character (',', ';', '|', ...) or 'tab'")
    return text


def _number(field: str) -> float | None:
    """The field's value, NaN for a missing token, None if it is not a number."""
    text = field.strip()
    if text.lower() in MISSING_TOKENS:
        return math.nan
    try:
        return float(text)
    except ValueError:
        return None


def _shown(field: str) -> str:
    text = field.strip()
    return repr(text) if len(text) <= 40 else f"{text[:30]!r}... ({len(text)} characters)"


_UTF16_REMEDY = ("it has NUL bytes, as UTF-16 text does: pass --encoding utf-16 (utf-16-le or utf-16-be without a "
                 "byte-order mark)")


def _decode(path: str, encoding: str) -> str:
    with open(path, "rb") as f:
        raw = f.read()
    try:
        text = raw.decode(encoding)
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            remedy = "it starts with a UTF-16 byte-order mark: pass --encoding utf-16"
        elif b"\x00" in raw[:4096]:
            remedy = _UTF16_REMEDY
        else:
            remedy = "pass its encoding with --encoding (e.g. --encoding latin-1, cp1252 or utf-16)"
        raise InputError(f"{path}, line {line}: not {_encoding_label(encoding)} text (byte 0x{raw[exc.start]:02x} "
                         f"cannot be decoded); {remedy}") from None
    if "\x00" in text:
        line = text.count("\n", 0, text.index("\x00")) + 1
        raise InputError(f"{path}, line {line}: a NUL character, which text of numbers never has; {_UTF16_REMEDY}")
    return text


def _encoding_label(encoding: str) -> str:
    return "UTF-8" if encoding == "utf-8-sig" else encoding


def _first_line(text: str) -> str | None:
    return next((line for line in text.split("\n") if line.strip()), None)


def _records(text: str, delimiter: str | None, path: str):
    """(line number, fields) of each record that is not blank."""
    if delimiter is None:  # runs of whitespace separate
        for number, line in enumerate(text.split("\n"), 1):
            fields = line.split()
            if fields:
                yield number, fields
        return
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    end = 0
    while True:
        try:
            fields = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise InputError(f"{path}, line {reader.line_num}: {exc}") from None
        start, end = end + 1, reader.line_num
        if len(fields) > 1 or (fields and fields[0].strip()):
            yield start, fields


def _tokens(columns: str | None) -> list[str] | None:
    return None if columns is None else [t.strip() for t in columns.split(",")]


def _is_index(token: str) -> bool:
    return token.isascii() and token.isdigit()  # not '²', which isdigit() accepts and int() refuses


def _pick(tokens: list | None, names: list | None, width: int, path: str, wanted: list | None) -> list[int]:
    """The file positions of the columns asked for: --columns (names or 0-based
    indices), else the model's feature names when the file has a header, else all."""
    if tokens is None:
        if wanted is None or names is None:
            return list(range(width))
        missing = [name for name in wanted if name not in names]
        if missing:
            raise InputError(f"{path} has no column {missing[0]!r}, one of the model's features "
                             f"({', '.join(wanted)}); name the columns to use with --columns")
        tokens = list(wanted)
    picked = []
    for token in tokens:
        if names is not None and token in names:
            if names.count(token) > 1:
                raise InputError(f"--columns: {path} has {names.count(token)} columns named {token!r}; pick one by "
                                 "its 0-based index")
            picked.append(names.index(token))
        elif _is_index(token) and int(token) < width:
            picked.append(int(token))
        elif names is not None:
            raise InputError(f"--columns: {token!r} is neither a column name of {path} nor an index in "
                             f"0..{width - 1}")
        else:
            raise InputError(f"--columns: {token!r} is not an index of {path}, which has no column names: give "
                             f"0-based indices in 0..{width - 1}")
    if len(set(picked)) != len(picked):
        raise InputError(f"--columns names a column of {path} twice")
    return picked


def _delimiter(text: str, ext: str, delimiter: str | None) -> str | None:
    if delimiter is not None:
        return delimiter
    first = _first_line(text) or ""
    if ext in (".tsv", ".tab"):
        return "\t"
    if ext == ".csv" or "," in first:
        return ","
    if "\t" in first:
        return "\t"
    return None


def _not_a_number(path: str, line: int, j: int, names, field: str, delimiter: str | None) -> InputError:
    column = f"column {j}" + (f" ({names[j]!r})" if names else "")
    hint = ""
    for other, name in ((";", "';'"), ("\t", "tab"), ("|", "'|'"), (",", "','")):
        if other != delimiter and other in field:
            hint = f" (are the fields separated by {name}? say so with --delimiter {name})"
            break
    return InputError(f"{path}, line {line}, {column}: {_shown(field)} is not a number{hint}")


def _from_text(path: str, ext: str, tokens, header, delimiter, encoding, wanted) -> Table:
    text = _decode(path, encoding)
    delimiter = _delimiter(text, ext, delimiter)
    limit = csv.field_size_limit(_FIELD_LIMIT)
    try:
        records = _records(text, delimiter, path)
        try:
            first_line, first = next(records)
        except StopIteration:
            raise InputError(f"{path} is empty") from None
        width = len(first)
        if header is None:
            # A header is a first line with a field that is not a number: among the picked columns
            # when --columns gives indices (a text column left out may be text on every line).
            by_index = tokens is not None and all(_is_index(t) for t in tokens)
            looked_at = [int(t) for t in tokens if int(t) < width] if by_index else range(width)
            header = any(_number(first[j]) is None for j in looked_at)
        names = [f.strip() for f in first] if header else None
        picked = _pick(tokens, names, width, path, wanted)
        body = records if header else _chain(first_line, first, records)
        rows, lines = [], []
        for line, fields in body:
            if len(fields) != width:
                raise InputError(f"{path}, line {line}: {plural(len(fields), 'field')}, but the "
                                 f"{'header' if header else 'first line'} has {width}")
            values = []
            for j in picked:
                value = _number(fields[j])
                if value is None:
                    raise _not_a_number(path, line, j, names, fields[j], delimiter)
                values.append(value)
            rows.append(values)
            lines.append(line)
    finally:
        csv.field_size_limit(limit)
    if not rows:
        raise InputError(f"{path} has a header but no data rows")
    data = np.array(rows, dtype=np.float64).reshape(len(rows), len(picked))
    return Table(data, None if names is None else [names[j] for j in picked], picked, lines)


def _chain(line, fields, rest):
    yield line, fields
    yield from rest


def _from_parquet(path: str, tokens, wanted) -> Table:
    try:
        import pandas as pd

        frame = pd.read_parquet(path)
    except ImportError:
        raise InputError("reading Parquet needs pandas and pyarrow: pip install pandas pyarrow") from None
    except Exception as exc:  # pyarrow's errors have no common base worth naming
        raise InputError(f"{path} is not a readable Parquet file ({type(exc).__name__}: {exc})") from None
    names = [str(c) for c in frame.columns]
    picked = _pick(tokens, names, len(names), path, wanted)
    data = np.empty((len(frame), len(picked)))
    for out, j in enumerate(picked):
        column = frame.iloc[:, j]
        kind = getattr(column.dtype, "kind", "O")
        if kind not in "biuf":
            what = "text or other objects" if kind == "O" else _NOT_REAL.get(kind, ("not numbers",))[0]
            raise InputError(f"{path}: column {names[j]!r} is not numeric ({column.dtype}: {what}); leave it out "
                             "with --columns")
        data[:, out] = column.to_numpy(dtype=np.float64, na_value=np.nan)
    return Table(data, [names[j] for j in picked], picked, None)


def _from_npy(path: str, tokens) -> Table:
    try:
        array = np.load(path, mmap_mode="r", allow_pickle=False)
    except ValueError as exc:
        if "Object arrays" in str(exc) or "Python objects" in str(exc):
            raise _not_real(path, "O", "an object array") from None
        if "pickle" in str(exc):
            reason = "it does not start with NumPy's .npy header"
        else:
            reason = str(exc)
        raise InputError(f"{path} is not a .npy file of numbers: {reason}") from None
    except (OSError, EOFError) as exc:
        raise InputError(f"{path} is not a readable .npy file ({exc})") from None
    if not isinstance(array, np.ndarray):
        raise InputError(f"{path} is a .npz archive, not a .npy array; save one array with np.save")
    kind = array.dtype.kind
    if kind not in "biuf":
        raise _not_real(path, kind, array.dtype)
    if array.ndim == 1:
        array = array[:, None]
    if array.ndim != 2:
        raise InputError(f"{path} holds a {array.ndim}-D array; the data must be 2-D (rows x columns)")
    picked = _pick(tokens, None, array.shape[1], path, None)
    chosen = array if picked == list(range(array.shape[1])) else array[:, picked]
    data = np.array(chosen, dtype=np.float32 if array.dtype == np.float32 else np.float64)
    return Table(data, None, picked, None)


def chunk_source(path: str, columns: str | None, rows: int):
    """(a chunk source of rows rows per chunk, its column names or None) of a
    .npy or Parquet file, for fitting a file larger than memory
    (gaussmix/_chunks.py); columns: --columns."""
    from ._chunks import npy_chunks, parquet_chunks

    if not os.path.exists(path):
        raise InputError(f"{path}: no such file")
    ext = os.path.splitext(path)[1].lower()
    tokens = _tokens(columns)
    try:
        if ext == ".npy":
            source = npy_chunks(path, rows)
            picked = _pick(tokens, None, source.n_features, path, None)
            return (source if tokens is None else npy_chunks(path, rows, picked)), None
        if ext in (".parquet", ".pq"):
            names = parquet_column_names(path)
            picked = _pick(tokens, names, len(names), path, None)
            return parquet_chunks(path, [names[j] for j in picked], rows), [names[j] for j in picked]
    except (ValueError, TypeError) as exc:
        raise InputError(str(exc).split("(): ", 1)[-1].replace("with columns=[...]", "with --columns")) from None
    raise InputError(f"--chunk-rows reads .npy and Parquet files, not {path}: a text file is read whole; convert it "
                     "once (numpy.save or DataFrame.to_parquet), or leave out --chunk-rows")


def parquet_column_names(path: str) -> list[str]:
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise InputError("reading Parquet needs pyarrow: pip install pyarrow") from None
    try:
        return [str(n) for n in pq.ParquetFile(path).schema_arrow.names]
    except Exception as exc:  # pyarrow's errors have no common base worth naming
        raise InputError(f"{path} is not a readable Parquet file ({type(exc).__name__}: {exc})") from None


def read_data(path: str, columns: str | None = None, header: bool | None = None, delimiter: str | None = None,
              encoding: str = "utf-8-sig", wanted: list | None = None) -> Table:
    """The Table of a data file (see the module's formats).

    columns: --columns ("width,depth" or "2,3"); wanted: the model's feature
    names, picked by name from a file with a header when columns is None.
    """
    if not os.path.exists(path):
        raise InputError(f"{path}: no such file")
    if os.path.isdir(path):
        raise InputError(f"{path} is a directory, not a data file")
    ext = os.path.splitext(path)[1].lower()
    tokens = _tokens(columns)
    if ext == ".npy":
        table = _from_npy(path, tokens)
    elif ext in (".parquet", ".pq"):
        table = _from_parquet(path, tokens, wanted)
    else:
        table = _from_text(path, ext, tokens, header, delimiter, encoding, wanted)
    data = table.data
    if data.shape[0] == 0 or data.shape[1] == 0:
        raise InputError(f"{path} has no data")
    infinite = np.isinf(data)
    if infinite.any():
        i, j = np.argwhere(infinite)[0]
        raise InputError(f"{path}, {table.where(int(i))}, {table.column(int(j))}: {data[i, j]} is infinite; "
                         "gaussmix fits finite numbers (mark a missing value with an empty field or NaN)")
    return table._replace(data=np.ascontiguousarray(data))
