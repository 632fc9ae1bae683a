"""Feature engineering: the seven tables -> one float row per applicant (index ``SK_ID_CURR``).

Names follow the seed model: application columns as they are, one-hot columns
``<COLUMN>_<category>`` (the categories of `scoring.tables.CATEGORIES`, so the column set does not
depend on which categories a file happens to hold), domain ratios, and aggregates
``<PREFIX>_<COLUMN>_<agg>`` with prefixes BUREAU_, PREV_, POS_, INSTAL_ and CRECARD_, plus
``<PREFIX>_COUNT`` (rows per applicant: 0 when the table is there but the applicant has no row,
NaN when the table is absent). An absent table gives the same columns, all NaN.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from scoring.data import Tables
from scoring.feature_specs import (
    APPLICATION_RATIOS,
    BUREAU_ACTIVE_SPEC,
    BUREAU_SPEC,
    CRECARD_SPEC,
    DROPPED_APPLICATION_COLUMNS,
    INSTAL_SPEC,
    POS_SPEC,
    PREV_SPEC,
    PREV_STATUS_SPECS,
    YES_NO_COLUMNS,
    AggregateSpec,
)
from scoring.group_agg import Groups
from scoring.schema import (
    APPLICATION_TRAIN,
    BUREAU,
    BUREAU_BALANCE,
    CREDIT_CARD,
    ID_COLUMN,
    INSTALMENTS,
    POS_CASH,
    PREVIOUS_APPLICATION,
    TARGET_COLUMN,
)
from scoring.tables import BUREAU_ID, CATEGORIES, COLUMNS, DAYS_SENTINEL, empty_table


def _ratio(num: pd.Series | np.ndarray, den: pd.Series | np.ndarray) -> np.ndarray:
    """num / den with NaN where the denominator is 0 or missing (never inf)."""
    num = np.asarray(num, dtype="float64")
    den = np.asarray(den, dtype="float64")
    with np.errstate(divide="ignore", invalid="ignore"):
        out = num / den
    out[~np.isfinite(out)] = np.nan
    return out


@functools.cache
def _category_index(categories: tuple[str, ...]) -> pd.Index:
    """The categories as an index, built once (its hash table with it)."""
    return pd.Index(list(categories))


def _one_hot(values: pd.Series, column: str, categories: list[str] | tuple[str, ...]) -> dict[str, np.ndarray]:
    """``<column>_<category>`` 0/1 columns; a missing or unknown value is 0 everywhere (the codes of
    ``pd.Categorical(values, categories)``, which looks the values up in the same way)."""
    codes = _category_index(tuple(categories)).get_indexer(values)
    return {f"{column}_{cat}": (codes == i).astype("float64") for i, cat in enumerate(categories)}


_YES_NO, _ONE_HOT, _NUMBER = "yes/no", "one-hot", "number"


def _application_plan() -> tuple[tuple[str, str, tuple[str, ...]], ...]:
    """(raw column, how it becomes features, its categories) in the order of the application features."""
    cats = CATEGORIES[APPLICATION_TRAIN]
    plan = []
    for name, kind in COLUMNS[APPLICATION_TRAIN].items():
        if name in (ID_COLUMN, TARGET_COLUMN) or name in DROPPED_APPLICATION_COLUMNS:
            continue
        if name in YES_NO_COLUMNS:
            plan.append((name, _YES_NO, ()))
        elif kind == "str":
            plan.append((name, _ONE_HOT, tuple(cats[name])))
        else:
            plan.append((name, _NUMBER, ()))
    return tuple(plan)


APPLICATION_PLAN = _application_plan()


def _add_ratios(out: dict[str, np.ndarray]) -> None:
    """Clear the DAYS_EMPLOYED sentinel and add `APPLICATION_RATIOS` to `out` (1-d float arrays)."""
    # A new array: the column may be a read-only view of the caller's frame.
    out["DAYS_EMPLOYED"] = np.where(out["DAYS_EMPLOYED"] == DAYS_SENTINEL, np.nan, out["DAYS_EMPLOYED"])
    for name, num, den, _ in APPLICATION_RATIOS:
        out[name] = _ratio(out[num], out[den])


def application_features(app: pd.DataFrame) -> pd.DataFrame:
    """Application columns (one-hot, sentinel -> NaN, Y/N -> 1/0) and domain ratios."""
    out: dict[str, np.ndarray] = {}

    def col(name: str) -> pd.Series:
        return app[name] if name in app else pd.Series(np.nan, index=app.index)

    numbers = _plain_numbers(app)
    for name, how, categories in APPLICATION_PLAN:
        if how == _YES_NO:
            values = col(name)
            out[name] = np.where(values == "Y", 1.0, np.where(values == "N", 0.0, np.nan))
        elif how == _ONE_HOT:
            out.update(_one_hot(col(name), name, categories))
        elif name in numbers:
            out[name] = numbers[name]
        else:
            out[name] = pd.to_numeric(col(name), errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
    _add_ratios(out)
    matrix = np.column_stack(list(out.values())) if out else np.empty((len(app), 0))
    return pd.DataFrame(matrix, index=pd.Index(app[ID_COLUMN].to_numpy(), name=ID_COLUMN), columns=pd.Index(list(out)))


_NUMBER_COLUMNS = tuple(name for name, how, _ in APPLICATION_PLAN if how == _NUMBER)


def _plain_numbers(app: pd.DataFrame) -> dict[str, np.ndarray]:
    """The number columns of `app` held as numpy integers or floats, as float64 in one conversion (the
    values `pd.to_numeric` would give); text or nullable columns are left to `pd.to_numeric`."""
    names = [name for name in _NUMBER_COLUMNS if name in app.columns
             and isinstance(app.dtypes[name], np.dtype) and app.dtypes[name].kind in "iuf"]
    if not names:
        return {}
    block = app[names].to_numpy(dtype="float64")
    return {name: block[:, j] for j, name in enumerate(names)}


def _number(value: Any) -> float:
    """One value as `pd.to_numeric(..., errors="coerce")` reads it: text that is no number and None are NaN."""
    if value is None:
        return np.nan
    try:
        return float(value)
    except (TypeError, ValueError):
        return np.nan


def application_row(raw: Mapping[str, Any]) -> np.ndarray:
    """`application_features` of one raw application row (a mapping of column -> value, missing None or
    absent), in that function's column order, float64: the what-if path, without building a DataFrame
    (equal to `application_features` on a one-row frame; tested)."""
    out: dict[str, Any] = {}
    for name, how, categories in APPLICATION_PLAN:
        value = raw.get(name)
        if how == _YES_NO:
            out[name] = 1.0 if value == "Y" else 0.0 if value == "N" else np.nan
        elif how == _ONE_HOT:
            text = value if isinstance(value, str) else None
            for category in categories:
                out[f"{name}_{category}"] = 1.0 if text == category else 0.0
        else:
            out[name] = _number(value)
    arrays = {name: np.array([out[name]], dtype="float64") for name in _RATIO_INPUTS}
    _add_ratios(arrays)
    for name, values in arrays.items():
        out[name] = float(values[0])
    return np.fromiter(out.values(), dtype="float64", count=len(out))


_RATIO_INPUTS = tuple(dict.fromkeys(c for _, num, den, _ in APPLICATION_RATIOS for c in (num, den)))


def _aggregate(frame: pd.DataFrame, spec: AggregateSpec, rows: np.ndarray | None = None,
               derived: Mapping[str, np.ndarray] | None = None) -> tuple[np.ndarray, list[str], np.ndarray]:
    """The aggregates of `spec` over `frame` (its `rows` only: a boolean mask; `derived` columns computed
    from it, full length) per SK_ID_CURR: (applicants in order of first appearance, names
    ``<prefix>_<column>_<agg>`` and ``_COUNT``, applicants x names)."""
    derived = derived or {}

    def column(name: str) -> np.ndarray | pd.Series:
        values = derived[name] if name in derived else frame[name]
        return values if rows is None else values[rows]

    groups = Groups(np.asarray(column(ID_COLUMN)))
    columns = {name: _floats(column(name)) for name in spec.aggs}
    functions = {name: tuple(how) for name, how in spec.aggs.items()}
    for name, categories in spec.categories().items():
        for dummy, values in _one_hot(column(name), name, categories).items():
            columns[dummy] = values
            functions[dummy] = ("mean",)
    names, values = groups.aggregate(columns, functions)
    names = [f"{spec.prefix}_{name}" for name in names]
    if spec.count:
        names.append(f"{spec.prefix}_COUNT")
        values = np.column_stack([values, groups.sizes.astype("float64")])
    return groups.keys, names, values


def _floats(values: np.ndarray | pd.Series) -> np.ndarray:
    """A numeric column as float64, missing values NaN (as ``astype("float64")``)."""
    if isinstance(values, np.ndarray):
        return values.astype("float64", copy=False)
    return values.to_numpy(dtype="float64", na_value=np.nan)


# A child table's features: (applicants, names, applicants x names) per aggregate, joined on the applicant.
Parts = list[tuple[np.ndarray, list[str], np.ndarray]]


def _bureau_features(bureau: pd.DataFrame, balance: pd.DataFrame) -> Parts:
    status = balance["STATUS"]
    late = status.isin(["1", "2", "3", "4", "5"]).astype("float64").where(status.notna()).to_numpy()
    per_bureau = Groups(balance[BUREAU_ID].to_numpy())
    share = per_bureau.reduce("mean", [late])[0]
    at = pd.Index(per_bureau.keys).get_indexer(bureau[BUREAU_ID].to_numpy())
    derived = {"BB_MONTHS_COUNT": _take(per_bureau.sizes.astype("float64"), at),
               "BB_LATE_SHARE": _take(share, at)}
    active = (bureau["CREDIT_ACTIVE"] == "Active").to_numpy(dtype=bool, na_value=False)
    return [_aggregate(bureau, BUREAU_SPEC, derived=derived),
            _aggregate(bureau, BUREAU_ACTIVE_SPEC, rows=active, derived=derived)]


def _take(values: np.ndarray, at: np.ndarray) -> np.ndarray:
    """values[at], NaN where `at` is -1 (not found)."""
    out = values[np.maximum(at, 0)] if len(values) else np.full(len(at), np.nan)
    out[at < 0] = np.nan
    return out


def _previous_features(prev: pd.DataFrame) -> Parts:
    days = [c for c, k in COLUMNS[PREVIOUS_APPLICATION].items() if c.startswith("DAYS_") and k != "str"]
    derived = {c: np.where(values == DAYS_SENTINEL, np.nan, values) for c in days for values in [_floats(prev[c])]}
    derived["APP_CREDIT_PERC"] = _ratio(prev["AMT_APPLICATION"], prev["AMT_CREDIT"])
    status = prev["NAME_CONTRACT_STATUS"]
    return [_aggregate(prev, PREV_SPEC, derived=derived),
            *(_aggregate(prev, spec, rows=(status == value).to_numpy(dtype=bool, na_value=False), derived=derived)
              for value, spec in PREV_STATUS_SPECS.items())]


def _pos_features(pos: pd.DataFrame) -> Parts:
    return [_aggregate(pos, POS_SPEC)]


def _instalment_features(inst: pd.DataFrame) -> Parts:
    delay = inst["DAYS_ENTRY_PAYMENT"].to_numpy(dtype="float64") - inst["DAYS_INSTALMENT"].to_numpy(dtype="float64")
    diff = inst["AMT_INSTALMENT"].to_numpy(dtype="float64") - inst["AMT_PAYMENT"].to_numpy(dtype="float64")
    derived = {
        "DPD": np.clip(delay, 0, None),
        "DBD": np.clip(-delay, 0, None),
        "LATE": np.where(np.isnan(delay), np.nan, (delay > 0).astype("float64")),
        "PAYMENT_PERC": _ratio(inst["AMT_PAYMENT"], inst["AMT_INSTALMENT"]),
        "PAYMENT_DIFF": diff,
        "UNDERPAID": np.where(np.isnan(diff), np.nan, (diff > 0.01).astype("float64")),
    }
    return [_aggregate(inst, INSTAL_SPEC, derived=derived)]


def _credit_card_features(card: pd.DataFrame) -> Parts:
    derived = {"BALANCE_LIMIT_RATIO": _ratio(card["AMT_BALANCE"], card["AMT_CREDIT_LIMIT_ACTUAL"])}
    return [_aggregate(card, CRECARD_SPEC, derived=derived)]


def _child(frame: pd.DataFrame | None, name: str) -> tuple[pd.DataFrame, bool]:
    """The table, or an empty one with its declared columns when absent (features then NaN)."""
    return (empty_table(name), False) if frame is None else (frame, True)


def _bureau_part(tables: Tables) -> tuple[Parts, bool]:
    bureau, present = _child(tables.bureau, BUREAU)
    balance, _ = _child(tables.bureau_balance, BUREAU_BALANCE)
    return _bureau_features(bureau, balance), present


def _one_table(field: str, name: str, builder):
    def part(tables: Tables) -> tuple[Parts, bool]:
        frame, present = _child(getattr(tables, field), name)
        return builder(frame), present

    return part


# (progress label, features of the child tables and whether they were present, count column:
# 0 rather than NaN for an applicant without rows when the table itself was there)
CHILD_PARTS = (
    ("bureau", _bureau_part, "BUREAU_COUNT"),
    ("previous", _one_table("previous_application", PREVIOUS_APPLICATION, _previous_features), "PREV_COUNT"),
    ("POS_CASH", _one_table("pos_cash", POS_CASH, _pos_features), "POS_COUNT"),
    ("instalments", _one_table("installments", INSTALMENTS, _instalment_features), "INSTAL_COUNT"),
    ("credit card", _one_table("credit_card", CREDIT_CARD, _credit_card_features), "CRECARD_COUNT"),
)


def build_features(tables: Tables, *, progress: bool = True) -> pd.DataFrame:
    """One float row per applicant of `tables.application`, indexed by SK_ID_CURR, in its order."""
    from tqdm.auto import tqdm

    bar = tqdm(total=1 + len(CHILD_PARTS), desc="features", unit="table", file=sys.stderr, disable=not progress)
    base = application_features(tables.application)
    bar.set_postfix_str("application")
    bar.update()
    ids = base.index.to_numpy()
    names, blocks = [list(base.columns)], [base.to_numpy(dtype="float64")]
    for label, part, count_column in CHILD_PARTS:
        parts, present = part(tables)
        for keys, part_names, values in parts:
            aligned = _take_rows(values, pd.Index(keys).get_indexer(ids))
            if present and count_column in part_names:  # an applicant without rows: 0 rows
                counts = aligned[:, part_names.index(count_column)]
                counts[np.isnan(counts)] = 0.0
            names.append(part_names)
            blocks.append(aligned)
        bar.set_postfix_str(label)
        bar.update()
    bar.close()
    columns = [name for part_names in names for name in part_names]
    return pd.DataFrame(np.hstack(blocks) if blocks else np.empty((len(ids), 0)),
                        index=pd.Index(ids, name=ID_COLUMN), columns=pd.Index(columns))


def _take_rows(values: np.ndarray, at: np.ndarray) -> np.ndarray:
    """values[at] (rows), NaN rows where `at` is -1 (an applicant without rows in the table)."""
    out = values[np.maximum(at, 0)] if len(values) else np.full((len(at), values.shape[1]), np.nan)
    out[at < 0] = np.nan
    return out


def align_features(frame: pd.DataFrame, feature_names: list[str]) -> pd.DataFrame:
    """`frame` in the model's column order: unknown columns dropped, missing ones NaN, float64.

    One-hot columns of categories the model never saw are dropped here; one-hot columns the model
    knows but the frame lacks become NaN, which XGBoost treats as missing (not as 0).
    """
    aligned = frame.reindex(columns=list(feature_names))
    not_float = [name for name, dtype in aligned.dtypes.items() if dtype != "float64"]
    if not_float:  # text (e.g. a features CSV read without dtypes): unparsable values become NaN
        aligned[not_float] = aligned[not_float].apply(pd.to_numeric, errors="coerce")
    return aligned.astype("float64")
