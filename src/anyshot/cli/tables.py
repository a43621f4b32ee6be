"""The tables a command reads from the user (features, class attributes, samples to classify):
read with a clear error naming the option, checked to be numeric and finite."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from anyshot.errors import ConfigError

__all__ = ["input_rows", "numeric_rows", "read_table_for"]


def input_rows(path: Path, label_column: str, n_features: int, against: str) -> Any:
    """The ``--input`` samples as a float array (a label column is dropped), with as many
    feature columns as the training features (``against`` says where those come from)."""
    new = read_table_for("--input", path).drop(columns=[label_column], errors="ignore")
    Xn = numeric_rows("--input", path, new, f" (a {label_column!r} column is ignored)")
    if Xn.shape[1] != n_features:
        raise ConfigError(f"--input: {str(path)!r} has {Xn.shape[1]} feature columns but "
                          f"{against} {n_features}.")
    return Xn


def read_table_for(option: str, path: Path):
    """A table read for ``option``, with a hint when a CSV was split on the wrong delimiter."""
    from anyshot.data.manifest import read_table
    from anyshot.errors import DataError

    try:
        table = read_table(path)
    except DataError as exc:
        raise ConfigError(f"{option}: {str(exc).rstrip('.')}; give a readable CSV, Parquet "
                          "or NPY file.") from exc
    if len(table.columns) == 1 and path.suffix.lower() == ".csv":
        col = str(table.columns[0])
        sep = next((s for s in (";", "\t", "|") if s in col), None)
        if sep is not None:
            raise ConfigError(f"{option}: {str(path)!r} reads as one column {col[:40]!r}; anyshot "
                              f"reads comma-separated CSV, and this file looks separated by "
                              f"{sep!r}. Save it with commas.")
    if len(table) == 0:
        raise ConfigError(f"{option}: {str(path)!r} has a header but no rows.")
    return table


def numeric_rows(option: str, path: Path, table, hint: str = "") -> Any:
    """Features as a float table (its header names the columns, which ``predict`` matches by
    name); non-numeric columns and NaN/inf rows named with the file."""
    import numpy as np
    import pandas as pd

    bad = [str(c) for c in table.columns if not pd.api.types.is_numeric_dtype(table[c])]
    if bad:
        raise ConfigError(f"{option}: {str(path)!r} has non-numeric columns {bad[:5]}; they "
                          f"must hold numbers{hint}.")
    X = table.astype(np.float64)  # a DataFrame: the estimator matches columns by name
    rows = np.unique(np.nonzero(~np.isfinite(X.to_numpy()))[0])
    if rows.size:
        if path.suffix.lower() == ".csv":  # line numbers of the file: the header is line 1
            where = "line(s) " + ", ".join(str(int(r) + 2) for r in rows[:5]) + " of the file"
        else:
            where = "row(s) " + ", ".join(str(int(r)) for r in rows[:5]) + " (counted from 0)"
        raise ConfigError(f"{option}: {str(path)!r} has NaN/inf in {rows.size} row(s), first on "
                          f"{where}; remove or impute them.")
    return X
