"""Writing a result frame to CSV or Parquet so that it reads back with every type.

CSV has no types, so :func:`export` writes them beside the file, in
``<name>.csv.schema.json``: one line per column with its pandas dtype (and a category's
categories). :func:`read_export` uses it; a CSV without one (or edited elsewhere) still
gets the result frame's known columns typed. Parquet keeps types itself; the same schema
goes into its metadata for the few pyarrow loses (a category of numbers comes back as
plain numbers). pyarrow is imported only for Parquet, and is not a dependency.
"""

from __future__ import annotations

import importlib.util
import json
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from faceswap_nb.batch._frame import STATUSES

__all__ = ["KNOWN_DTYPES", "PYARROW_MISSING", "export", "pyarrow_installed", "read_export", "schema_path"]

_STRING_COLUMNS = (
    "job_id", "batch_id", "pair_id", "video", "face", "output_url", "local_path",
    "error_code", "error_message", "warnings", "problem",
)
KNOWN_DTYPES: dict[str, str] = {
    **dict.fromkeys(_STRING_COLUMNS, "string"),
    **dict.fromkeys(("submitted_at", "started_at", "finished_at"), "datetime64[ns, UTC]"),
    **dict.fromkeys(("queue_time", "run_time"), "timedelta64[ns]"),
    **dict.fromkeys(
        ("video_seconds", "billed_seconds", "unit_price", "est_cost", "actual_cost"), "float64"
    ),
    "duplicate": "bool",
}
"""The result frame's column types, used to read a CSV that came without its schema."""
_STATUS_SPEC = {"dtype": "category", "categories": list(STATUSES), "ordered": False}
_SCHEMA_FORMAT = "faceswap_nb.batch export"
_PARQUET_KEY = b"faceswap_nb.schema"
PYARROW_MISSING = (
    "Parquet needs pyarrow, which is not installed: pip install pyarrow "
    "(or export to .csv, which read_export restores with every type)"
)


def schema_path(path: str | os.PathLike[str]) -> Path:
    """Where ``export`` keeps a CSV's column types: ``results.csv`` → ``results.csv.schema.json``."""
    path = Path(path)
    return path.with_name(path.name + ".schema.json")


def _column_spec(series: pd.Series) -> dict[str, Any]:
    dtype = series.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        return {
            "dtype": "category",
            "categories": dtype.categories.tolist(),
            "categories_dtype": str(dtype.categories.dtype),
            "ordered": bool(dtype.ordered),
        }
    return {"dtype": str(dtype)}


def _suffix(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".parquet"):
        raise ValueError(f"export writes .csv or .parquet files, not {path.name!r}")
    return suffix


def pyarrow_installed() -> bool:
    """Whether Parquet can be written and read (pyarrow is importable)."""
    return importlib.util.find_spec("pyarrow") is not None


def _need_pyarrow() -> None:
    if not pyarrow_installed():
        raise ImportError(PYARROW_MISSING)


def _schema(df: pd.DataFrame) -> dict[str, Any]:
    columns = [{"name": str(name), **_column_spec(df[name])} for name in df.columns]
    return {"format": _SCHEMA_FORMAT, "version": 1, "columns": columns}


def _specs(schema: Mapping[str, Any], where: object) -> dict[str, dict[str, Any]]:
    try:
        if schema.get("format") != _SCHEMA_FORMAT:
            raise ValueError("not an export schema")
        return {column["name"]: column for column in schema["columns"]}
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ValueError(f"{where} is not a schema written by export ({exc})") from exc


def _schema_text(schema: Mapping[str, Any]) -> str:
    """The schema as JSON with one column per line, for people reading the file."""
    columns = ",\n".join(f"  {json.dumps(column, default=str)}" for column in schema["columns"])
    return (f'{{"format": {json.dumps(schema["format"])}, "version": {schema["version"]}, '
            f'"columns": [\n{columns}\n]}}\n')


def _write_parquet(df: pd.DataFrame, path: Path) -> None:
    """Parquet with our schema in its metadata: pyarrow alone loses some categories."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(df, preserve_index=False)
    metadata = {**(table.schema.metadata or {}), _PARQUET_KEY: json.dumps(_schema(df), default=str).encode()}
    pq.write_table(table.replace_schema_metadata(metadata), path)


def _read_parquet(path: Path) -> pd.DataFrame:
    import pyarrow.parquet as pq

    frame = pd.read_parquet(path, engine="pyarrow")
    stored = (pq.read_schema(path).metadata or {}).get(_PARQUET_KEY)
    if stored is None:
        return frame
    specs = _specs(json.loads(stored), path)
    return frame.assign(**{name: _conform(frame[name], spec) for name, spec in specs.items() if name in frame})


def _conform(column: pd.Series, spec: Mapping[str, Any]) -> pd.Series:
    """A column read from Parquet, given the exact type it was written with."""
    if spec["dtype"] != "category":
        return column.astype(spec["dtype"])
    categories = pd.Index(spec["categories"]).astype(spec.get("categories_dtype") or "object")
    dtype = pd.CategoricalDtype(categories, ordered=bool(spec.get("ordered")))
    return column if column.dtype == dtype else column.astype(object).astype(dtype)


def _flat(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` with a non-default index turned into columns (files keep columns only)."""
    if isinstance(df.index, pd.RangeIndex) and df.index.start == 0 and df.index.step == 1:
        return df
    return df.reset_index()


def export(df: pd.DataFrame, path: str | os.PathLike[str]) -> Path:
    """Write ``df`` to ``path`` (``.csv`` or ``.parquet``) so that ``read_export`` restores it.

    CSV: the column types go to :func:`schema_path` beside it. An index other than
    0..n-1 is written as column(s). An empty string reads back as missing (CSV cannot
    tell them apart); the result frame uses missing, never "", for "none".

    Returns:
        ``path``.

    Raises:
        ValueError: the suffix is neither ``.csv`` nor ``.parquet``.
        ImportError: Parquet without pyarrow (the message says ``pip install pyarrow``).
    """
    path = Path(path)
    suffix = _suffix(path)
    flat = _flat(df)
    path.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".parquet":
        _need_pyarrow()
        _write_parquet(flat, path)
        return path
    schema_path(path).write_text(_schema_text(_schema(flat)))
    flat.to_csv(path, index=False)
    return path


def _read_schema(path: Path) -> dict[str, dict[str, Any]] | None:
    sidecar = schema_path(path)
    if not sidecar.is_file():
        return None
    try:
        schema = json.loads(sidecar.read_text())
    except ValueError as exc:
        raise ValueError(f"{sidecar} is not a schema written by export ({exc})") from exc
    return _specs(schema, sidecar)


def _known_specs(columns: Iterable[str]) -> dict[str, dict[str, Any]]:
    specs = {name: {"dtype": KNOWN_DTYPES[name]} for name in columns if name in KNOWN_DTYPES}
    if "status" in columns:
        specs["status"] = dict(_STATUS_SPEC)
    return specs


def _categorical(text: pd.Series, spec: Mapping[str, Any]) -> pd.Series:
    categories = pd.Index(spec["categories"])
    if spec.get("categories_dtype"):
        categories = categories.astype(spec["categories_dtype"])
    by_text = {str(category): category for category in categories}
    unknown = set(text.dropna()) - set(by_text)
    if unknown:
        raise ValueError(f"column {text.name!r} has values outside its categories: {sorted(unknown)[:5]}")
    values = text.map(by_text, na_action="ignore")
    dtype = pd.CategoricalDtype(categories, ordered=bool(spec.get("ordered")))
    return pd.Series(pd.Categorical(values, dtype=dtype), index=text.index, name=text.name)


def _restore(text: pd.Series, spec: Mapping[str, Any]) -> pd.Series:
    """Column ``text`` (strings and NaN, as read) converted to the type in ``spec``."""
    dtype_name = spec["dtype"]
    if dtype_name == "category":
        return _categorical(text, spec)
    dtype = pd.api.types.pandas_dtype(dtype_name)
    if isinstance(dtype, pd.DatetimeTZDtype):
        return pd.to_datetime(text, format="ISO8601", utc=True).dt.tz_convert(dtype.tz).astype(dtype)
    if dtype.kind == "M":
        return pd.to_datetime(text, format="ISO8601").astype(dtype)
    if dtype.kind == "m":
        return pd.to_timedelta(text).astype(dtype)
    if dtype.kind == "b" or isinstance(dtype, pd.BooleanDtype):
        flags = text.map({"True": True, "False": False, "true": True, "false": False}, na_action="ignore")
        return flags.astype(dtype)
    if dtype.kind in "iuf":
        return pd.to_numeric(text).astype(dtype)
    return text.astype(dtype)


def read_export(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read a file written by :func:`export`, every column with its original type.

    A CSV without its schema file gets the result frame's known columns typed (status
    as a category, times as UTC datetimes and timedeltas, ids and paths as strings);
    other columns are typed by pandas' guesses.

    Raises:
        ValueError: the suffix is wrong, the schema file is not one of ours, or a value
            does not fit its column's type.
        ImportError: Parquet without pyarrow.
    """
    path = Path(path)
    if _suffix(path) == ".parquet":
        _need_pyarrow()
        return _read_parquet(path)
    specs = _read_schema(path)
    if specs is None:
        header = pd.read_csv(path, nrows=0).columns
        specs = _known_specs(header)
        guessed = pd.read_csv(path, dtype={name: "string" for name in specs})
        return guessed.assign(**{name: _restore(guessed[name], spec) for name, spec in specs.items()})
    # Everything as text first, so "NA" or "null" in a string column stays a string.
    text = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])
    missing = [name for name in specs if name not in text.columns]
    if missing:
        raise ValueError(f"{path} lacks the column(s) {missing} that its schema lists")
    return pd.DataFrame({name: _restore(text[name], spec) for name, spec in specs.items()})
