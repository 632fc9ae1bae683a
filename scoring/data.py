"""Load and validate the seven Home Credit tables (real Kaggle files or the synthetic twin).

Each table has a declared column schema (`scoring.tables.COLUMNS`): the kind of every column of
the Kaggle file (``int``, ``float`` or ``str``), as pandas reads the real files. Loading is explicit
about dtypes:
``str`` columns become pandas' string dtype, ``float`` columns float64, ``int`` columns int64 —
or float64 when a value is missing (the full Kaggle files have a few NaN in columns that are
integral in the extract, e.g. ``CNT_FAM_MEMBERS``). Known columns a file lacks are added as
missing values with a warning unless they are *required* (`tables.REQUIRED`): then a `DataError` names
the file, the column and what is expected. Unknown extra columns are kept as read.
"""

from __future__ import annotations

import sys
import warnings
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np
import pandas as pd

from scoring.child_index import ChildIndex
from scoring.schema import (
    APPLICATION_TEST,
    APPLICATION_TRAIN,
    BUREAU,
    BUREAU_BALANCE,
    CHILD_TABLES,
    CREDIT_CARD,
    ID_COLUMN,
    INSTALMENTS,
    POS_CASH,
    PREVIOUS_APPLICATION,
    TABLE_EXTENSIONS,
    TARGET_COLUMN,
)
from scoring.tables import (  # noqa: F401 - the schema's names, re-exported for importers of scoring.data
    BUILDING_COLUMNS,
    BUREAU_ID,
    CATEGORIES,
    COLUMNS,
    DAYS_SENTINEL,
    DOCUMENT_FLAGS,
    KEYS,
    PREV_ID,
    REQUIRED,
    empty_table,
    table_file_name,
)


class DataError(ValueError):
    """A table that cannot be used: the message names the file, the column and what is expected."""


# --- Reading --------------------------------------------------------------------------------


def find_table(data_dir: str | Path, name: str) -> Path | None:
    """The file of table `name` in `data_dir` (``.csv``, ``.csv.gz`` or ``.parquet``), or None."""
    data_dir = Path(data_dir)
    for ext in TABLE_EXTENSIONS:
        path = data_dir / f"{name}{ext}"
        if path.is_file():
            return path
    return None


def has_kaggle_data(data_dir: str | Path) -> bool:
    """True when `data_dir` holds ``application_train`` (then training uses the real files)."""
    return find_table(data_dir, APPLICATION_TRAIN) is not None


def _expected(name: str, required: tuple[str, ...] | None = None) -> str:
    columns = ", ".join(REQUIRED[name] if required is None else required)
    return f"the {name} table ({' / '.join(TABLE_EXTENSIONS)}) with at least the columns {columns}"


def _read_raw(path: Path, name: str) -> pd.DataFrame:
    """Read the file with declared dtypes for known columns; numbers are read as float64 first."""
    with _read_errors(path, name):
        if path.name.endswith(".parquet"):
            return pd.read_parquet(path)
        refuse_short_rows(path, name)
        return pd.read_csv(path, dtype=_csv_dtypes(name), encoding="utf-8-sig", low_memory=False)


def _csv_dtypes(name: str) -> dict[str, str]:
    return {c: ("str" if k == "str" else "float64") for c, k in COLUMNS[name].items()}


@contextmanager
def _read_errors(path: Path, name: str) -> Iterator[None]:
    """Turn what reading `path` raises into a `DataError` that says what was expected."""
    try:
        yield
    except pd.errors.EmptyDataError as exc:
        raise DataError(f"{path}: the file is empty; expected {_expected(name)} and a header line") from exc
    except pd.errors.ParserError as exc:
        raise DataError(f"{path}: not a valid CSV file ({exc}); expected {_expected(name)}") from exc
    except UnicodeDecodeError as exc:
        raise DataError(f"{path}: not UTF-8 text ({exc}); expected {_expected(name)} as a UTF-8 CSV") from exc
    except DataError:
        raise
    except ValueError as exc:
        text = str(exc)
        if path.name.endswith(".parquet") or ("could not convert" not in text and "Unable to parse" not in text):
            raise DataError(f"{path}: cannot be read as {_expected(name)}: {exc}") from exc
        raise _locate_bad_number(path, name) from exc
    except Exception as exc:  # gzip, zip, OS and pyarrow errors: the file is not what it claims to be
        raise DataError(f"{path}: cannot be read as {_expected(name)}: {exc}") from exc


def refuse_short_rows(path: Path, name: str) -> None:
    """Raise `DataError` naming the first row whose field count differs from the header's: pandas fills a
    short row with NaN (an applicant with 10 of 122 fields was trained on). One pass of pyarrow's C parser."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    first: list[str] = []

    def handler(row) -> str:
        if not first:
            where = f"line {row.number}" if row.number is not None else f"the row starting {row.text[:40]!r}"
            first.append(f"{where} has {row.actual_columns} fields, the header {row.expected_columns}")
        return "skip"

    try:
        reader = pacsv.open_csv(path, parse_options=pacsv.ParseOptions(invalid_row_handler=handler,
                                                                      newlines_in_values=True),
                                read_options=pacsv.ReadOptions(use_threads=False, block_size=1 << 22))
        for _ in reader:
            if first:
                break
    except (pa.ArrowInvalid, OSError, EOFError):
        return  # pandas' own reading says what is wrong with the file
    if first:
        raise DataError(f"{path}: {first[0]}: a row must have every field of {_expected(name)} "
                        "(empty between commas when unknown)")
def iter_table(path: str | Path, name: str, rows: int) -> Iterator[pd.DataFrame]:
    """Table `name` read from `path` in blocks of at most `rows` rows, in file order, each block as
    `read_table` types it (same parser, same checks): a table larger than memory can be streamed."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: file not found; expected {_expected(name)}")
    required = REQUIRED.get(name, ())
    with _read_errors(path, name):
        if path.name.endswith(".parquet"):
            import pyarrow.parquet as pq  # here: the served image has no pyarrow (it loads no table)

            parquet = pq.ParquetFile(path)
            blocks: Iterable[pd.DataFrame] = (batch.to_pandas() for batch in parquet.iter_batches(batch_size=rows))
            if parquet.metadata.num_rows == 0:
                blocks = [parquet.schema_arrow.empty_table().to_pandas()]
        else:
            blocks = pd.read_csv(path, dtype=_csv_dtypes(name), encoding="utf-8-sig", chunksize=rows)
        for block in blocks:
            try:
                coerced = _coerce(block, path, name, required)
            except DataError:
                _read_table(path, name, required)  # the message with the row number in the whole file
                raise
            yield coerced


def parse_numbers(cells: pd.Series | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Cells read as numbers: their float64 values (NaN when missing or not a number) and the mask
    of the cells that hold something other than a number (text such as ``"lots"``).

    The one rule for a numeric cell, used by loading (`read_table`, `coerce_table`) and by the
    batch's row checks (`serving.batch_check`): missing is fine, text is refused.
    """
    cells = cells if isinstance(cells, pd.Series) else pd.Series(cells)
    values = pd.to_numeric(cells, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
    return values, np.isnan(values) & cells.notna().to_numpy()


def _first_text(cells: pd.Series) -> tuple[np.ndarray, int | None]:
    """`parse_numbers` values of `cells` and the position of the first cell that is text, or None."""
    values, is_text = parse_numbers(cells)
    return values, (int(np.flatnonzero(is_text)[0]) if is_text.any() else None)


def _locate_bad_number(path: Path, name: str) -> DataError:
    """Slow path after a failed fast read: find the first non-numeric value of a numeric column."""
    raw = pd.read_csv(path, dtype=str, encoding="utf-8-sig", keep_default_na=True)
    for col, kind in COLUMNS[name].items():
        if kind == "str" or col not in raw:
            continue
        _, row = _first_text(raw[col])
        if row is not None:
            return DataError(f"{path}: column {col} must hold numbers; line {row + 2} has {raw[col].iloc[row]!r}")
    return DataError(f"{path}: a numeric column holds text; expected {_expected(name)}")


def _coerce(frame: pd.DataFrame, path: Path, name: str, required: tuple[str, ...]) -> pd.DataFrame:
    """Give every known column its declared dtype; add absent optional columns as missing."""
    schema = {c: k for c, k in COLUMNS[name].items() if c != TARGET_COLUMN or c in frame.columns}
    absent = [c for c in schema if c not in frame.columns]
    missing_required = [c for c in required if c not in frame.columns]
    if missing_required:
        raise DataError(
            f"{path}: required column {missing_required[0]} is missing"
            + (f" (also {', '.join(missing_required[1:])})" if len(missing_required) > 1 else "")
            + f"; expected {_expected(name, required)}"
        )
    if absent:
        shown = ", ".join(absent[:8]) + (f" and {len(absent) - 8} more" if len(absent) > 8 else "")
        warnings.warn(f"{path}: columns {shown} are absent; their features will be missing (NaN)", stacklevel=3)
    columns: dict[str, pd.Series] = {}
    n = len(frame)
    for col, kind in schema.items():
        if col in absent:
            columns[col] = pd.Series(np.full(n, np.nan), index=frame.index, dtype="str" if kind == "str" else "float64")
            continue
        series = frame[col]
        if kind == "str":
            columns[col] = series if series.dtype == "str" else series.astype("str").where(series.notna())
            continue
        if not pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series):
            values, row = _first_text(series)
            if row is not None:
                raise DataError(f"{path}: column {col} must hold numbers; row {row + 1} has {series.iloc[row]!r}")
        else:
            values = series.to_numpy(dtype="float64", na_value=np.nan)
        if kind == "int" and not np.isnan(values).any() and np.array_equal(values, np.round(values)):
            columns[col] = pd.Series(values.astype("int64"), index=frame.index)
        else:
            columns[col] = pd.Series(values, index=frame.index)
    extra = [c for c in frame.columns if c not in schema]
    out = pd.DataFrame(columns, index=frame.index)
    if extra:
        out = pd.concat([out, frame[extra]], axis=1)
    for key in KEYS[name]:
        if out[key].dtype != "int64":
            bad_rows = np.flatnonzero(out[key].isna().to_numpy())
            where = f"row {bad_rows[0] + 1} is empty" if bad_rows.size else "it holds non-integer values"
            raise DataError(f"{path}: key column {key} must hold an integer on every row; {where}")
    return out.reset_index(drop=True)


def read_table(path: str | Path, name: str) -> pd.DataFrame:
    """Read one table file with explicit dtypes; required columns checked (`DataError` otherwise)."""
    return _read_table(Path(path), name, REQUIRED.get(name, ()))


def _read_table(path: Path, name: str, required: tuple[str, ...]) -> pd.DataFrame:
    if name not in COLUMNS:
        raise ValueError(f"unknown table {name!r}; expected one of {', '.join(COLUMNS)}")
    if not path.is_file():
        raise DataError(f"{path}: file not found; expected {_expected(name, required)}")
    frame = _coerce(_read_raw(path, name), path, name, required)
    if name in (APPLICATION_TRAIN, APPLICATION_TEST):
        _check_application(frame, path, require_target=TARGET_COLUMN in required)
    return frame


def _check_application(frame: pd.DataFrame, path: Path, *, require_target: bool) -> None:
    dupes = frame[ID_COLUMN].duplicated()
    if dupes.any():
        row = int(np.flatnonzero(dupes.to_numpy())[0])
        raise DataError(f"{path}: column {ID_COLUMN} must be unique; {frame[ID_COLUMN].iloc[row]} appears twice")
    if TARGET_COLUMN in frame:
        target = frame[TARGET_COLUMN]
        bad = ~target.isin([0, 1])
        if require_target and bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0])
            raise DataError(
                f"{path}: column {TARGET_COLUMN} must be 0 or 1 on every row; row {row + 1} has {target.iloc[row]}"
            )
    elif require_target:
        raise DataError(f"{path}: required column {TARGET_COLUMN} is missing; expected 0/1 labels for training")


def read_application_file(path: str | Path, *, require_target: bool = False) -> pd.DataFrame:
    """Read a user's application-like file (``application_test``-like CSV/.csv.gz/.parquet): the
    applicants of the feature store, the real extract `scoring.realism` compares the twin with.

    Only ``SK_ID_CURR`` is required (and ``TARGET`` when `require_target`); known columns get their
    declared dtypes, absent ones are added as missing (with a warning), extra columns are kept.
    """
    required = (ID_COLUMN, TARGET_COLUMN) if require_target else (ID_COLUMN,)
    frame = _read_table(Path(path), APPLICATION_TRAIN, required)
    if not require_target and TARGET_COLUMN in frame:
        frame = frame.drop(columns=TARGET_COLUMN)
    return frame


# --- The seven tables together --------------------------------------------------------------


@dataclass
class Tables:
    """The application table and the six optional child tables (None when absent)."""

    application: pd.DataFrame
    bureau: pd.DataFrame | None = None
    bureau_balance: pd.DataFrame | None = None
    previous_application: pd.DataFrame | None = None
    pos_cash: pd.DataFrame | None = None
    installments: pd.DataFrame | None = None
    credit_card: pd.DataFrame | None = None

    def restrict(self, ids: Iterable[int]) -> Tables:
        """The same tables limited to applicants `ids` (bureau_balance through their SK_ID_BUREAU).

        Child rows come grouped by applicant, each applicant's in their order (`ChildIndex`: build
        one to restrict the same tables many times).
        """
        ids = np.unique(np.asarray(list(ids) if not hasattr(ids, "__len__") else ids, dtype="int64"))
        application = self.application.loc[self.application[ID_COLUMN].isin(ids)].reset_index(drop=True)
        return Tables(application=application, **ChildIndex(self).children(ids))  # every child row of `ids`

    @classmethod
    def from_index(cls, application: pd.DataFrame, index: ChildIndex) -> Tables:
        """The tables of the applicants of `application`: its rows as given, their child rows by key."""
        return cls(application=application, **index.children(np.unique(application[ID_COLUMN].to_numpy(np.int64))))

    def items(self) -> list[tuple[str, pd.DataFrame | None]]:
        """(Kaggle table name, frame) for the application table and the six child tables."""
        return [(TABLE_OF_FIELD.get(f.name, f.name), getattr(self, f.name)) for f in fields(self)]


# Tables field -> Kaggle table name (the application field is named by the caller's choice).
FIELD_OF_TABLE: dict[str, str] = {
    BUREAU: "bureau",
    BUREAU_BALANCE: "bureau_balance",
    PREVIOUS_APPLICATION: "previous_application",
    POS_CASH: "pos_cash",
    INSTALMENTS: "installments",
    CREDIT_CARD: "credit_card",
}
TABLE_OF_FIELD: dict[str, str] = {v: k for k, v in FIELD_OF_TABLE.items()} | {"application": APPLICATION_TRAIN}


def load_child_tables(data_dir: str | Path, *, bar=None) -> dict[str, pd.DataFrame | None]:
    """The six child tables of `data_dir`, by `Tables` field; an absent one is None, with a warning."""
    data_dir = Path(data_dir)
    children: dict[str, pd.DataFrame | None] = {}
    for name in CHILD_TABLES:
        child = find_table(data_dir, name)
        if child is None:
            warnings.warn(
                f"{data_dir / table_file_name(name)} not found: its features will be missing (NaN)", stacklevel=2
            )
            children[FIELD_OF_TABLE[name]] = None
        else:
            if bar is not None:
                bar.set_postfix_str(child.name)
            children[FIELD_OF_TABLE[name]] = read_table(child, name)
        if bar is not None:
            bar.update()
    return children


def coerce_table(frame: pd.DataFrame, source: str | Path, name: str) -> pd.DataFrame:
    """Give an in-memory table (e.g. a chunk of a user's file read as text) the declared dtypes.

    `source` names where the rows came from in error messages.
    """
    return _coerce(frame, Path(source), name, REQUIRED.get(name, ()))


def load_tables(
    data_dir: str | Path,
    *,
    application: str = APPLICATION_TRAIN,
    require_target: bool = True,
    progress: bool = True,
) -> Tables:
    """Load the application table (required) and the child tables found in `data_dir`.

    An absent child table is None, with a warning: its features are then missing (NaN).
    """
    from tqdm.auto import tqdm

    data_dir = Path(data_dir)
    path = find_table(data_dir, application)
    if path is None:
        raise DataError(
            f"{data_dir / table_file_name(application)}: file not found; expected {_expected(application)}"
            f" (also accepted: {', '.join(application + e for e in TABLE_EXTENSIONS[1:])})"
        )
    bar = tqdm(total=1 + len(CHILD_TABLES), desc="loading tables", unit="table", file=sys.stderr, disable=not progress)
    bar.set_postfix_str(path.name)
    required = (ID_COLUMN, TARGET_COLUMN) if require_target else (ID_COLUMN,)
    app = _read_table(path, application, required)
    bar.update()
    children = load_child_tables(data_dir, bar=bar)
    bar.close()
    return Tables(application=app, **children)
