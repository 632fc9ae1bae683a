"""Feature engineering: the seven tables -> one float row per applicant (index ``SK_ID_CURR``).

Names follow the seed model: application columns as they are, one-hot columns
``<COLUMN>_<category>`` (the categories of `scoring.tables.CATEGORIES`, so the column set does not
depend on which categories a file happens to hold), domain ratios, and aggregates
``<PREFIX>_<COLUMN>_<agg>`` with prefixes BUREAU_, PREV_, POS_, INSTAL_ and CRECARD_, plus
``<PREFIX>_COUNT`` (rows per applicant: 0 when the table is there but the applicant has no row,
NaN when the table is absent). An absent table gives the same columns, all NaN.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from scoring.data import Tables
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
from scoring.tables import BUILDING_COLUMNS, BUREAU_ID, CATEGORIES, COLUMNS, DAYS_SENTINEL, empty_table

# Application columns turned into 0/1 under their own name (Y = 1).
YES_NO_COLUMNS = ("FLAG_OWN_CAR", "FLAG_OWN_REALTY")
# The _MODE / _MEDI building statistics repeat the _AVG ones almost exactly: kept out.
DROPPED_APPLICATION_COLUMNS = tuple(c for c in BUILDING_COLUMNS if not c.endswith("_AVG"))

# Aggregates per child table: {column: aggregations}; one-hot means of {column: categories}.
BUREAU_AGGS: dict[str, list[str]] = {
    "DAYS_CREDIT": ["min", "max", "mean"],
    "CREDIT_DAY_OVERDUE": ["max", "mean"],
    "DAYS_CREDIT_ENDDATE": ["min", "max", "mean"],
    "DAYS_CREDIT_UPDATE": ["mean"],
    "AMT_CREDIT_MAX_OVERDUE": ["max", "mean"],
    "CNT_CREDIT_PROLONG": ["sum"],
    "AMT_CREDIT_SUM": ["max", "mean", "sum"],
    "AMT_CREDIT_SUM_DEBT": ["max", "mean", "sum"],
    "AMT_CREDIT_SUM_OVERDUE": ["max", "mean", "sum"],
    "AMT_CREDIT_SUM_LIMIT": ["mean", "sum"],
    "AMT_ANNUITY": ["max", "mean"],
    "BB_MONTHS_COUNT": ["mean", "sum"],
    "BB_LATE_SHARE": ["mean", "max"],
}
BUREAU_CATEGORICAL = ("CREDIT_ACTIVE", "CREDIT_TYPE")
BUREAU_ACTIVE_AGGS: dict[str, list[str]] = {
    "AMT_CREDIT_SUM": ["sum"],
    "AMT_CREDIT_SUM_DEBT": ["sum"],
    "DAYS_CREDIT": ["mean"],
}

PREV_AGGS: dict[str, list[str]] = {
    "AMT_ANNUITY": ["min", "max", "mean"],
    "AMT_APPLICATION": ["min", "max", "mean"],
    "AMT_CREDIT": ["min", "max", "mean"],
    "APP_CREDIT_PERC": ["min", "max", "mean"],
    "AMT_DOWN_PAYMENT": ["max", "mean"],
    "AMT_GOODS_PRICE": ["max", "mean"],
    "HOUR_APPR_PROCESS_START": ["mean"],
    "RATE_DOWN_PAYMENT": ["max", "mean"],
    "DAYS_DECISION": ["min", "max", "mean"],
    "CNT_PAYMENT": ["mean", "sum"],
    "DAYS_LAST_DUE_1ST_VERSION": ["max", "mean"],
}
PREV_CATEGORICAL = ("NAME_CONTRACT_STATUS", "NAME_CONTRACT_TYPE", "NAME_YIELD_GROUP", "NAME_CLIENT_TYPE")
PREV_STATUS_AGGS: dict[str, list[str]] = {"AMT_CREDIT": ["mean"], "APP_CREDIT_PERC": ["mean"], "DAYS_DECISION": ["max"]}

POS_AGGS: dict[str, list[str]] = {
    "MONTHS_BALANCE": ["max", "mean"],
    "CNT_INSTALMENT_FUTURE": ["mean"],
    "SK_DPD": ["max", "mean"],
    "SK_DPD_DEF": ["max", "mean"],
}
POS_CATEGORICAL = ("NAME_CONTRACT_STATUS",)
POS_CATEGORIES = ("Active", "Completed", "Signed")

INSTAL_AGGS: dict[str, list[str]] = {
    "DPD": ["max", "mean", "sum"],
    "DBD": ["max", "mean", "sum"],
    "LATE": ["mean", "sum"],
    "PAYMENT_PERC": ["min", "mean"],
    "PAYMENT_DIFF": ["max", "mean", "sum"],
    "UNDERPAID": ["mean"],
    "AMT_INSTALMENT": ["max", "mean", "sum"],
    "AMT_PAYMENT": ["min", "max", "mean", "sum"],
    "DAYS_ENTRY_PAYMENT": ["max", "mean"],
}

CRECARD_AGGS: dict[str, list[str]] = {
    "MONTHS_BALANCE": ["min"],
    "AMT_BALANCE": ["max", "mean"],
    "AMT_CREDIT_LIMIT_ACTUAL": ["max", "mean"],
    "AMT_DRAWINGS_ATM_CURRENT": ["max", "mean", "sum"],
    "AMT_DRAWINGS_CURRENT": ["max", "mean"],
    "AMT_DRAWINGS_POS_CURRENT": ["max", "mean"],
    "AMT_INST_MIN_REGULARITY": ["mean"],
    "AMT_PAYMENT_CURRENT": ["mean"],
    "AMT_PAYMENT_TOTAL_CURRENT": ["mean", "sum"],
    "AMT_RECEIVABLE_PRINCIPAL": ["mean"],
    "AMT_TOTAL_RECEIVABLE": ["max", "mean"],
    "CNT_DRAWINGS_ATM_CURRENT": ["max", "mean"],
    "CNT_DRAWINGS_CURRENT": ["max", "mean"],
    "CNT_DRAWINGS_POS_CURRENT": ["mean"],
    "CNT_INSTALMENT_MATURE_CUM": ["max"],
    "BALANCE_LIMIT_RATIO": ["max", "mean"],
    "SK_DPD": ["max", "mean"],
    "SK_DPD_DEF": ["max", "mean"],
}


def _ratio(num: pd.Series | np.ndarray, den: pd.Series | np.ndarray) -> np.ndarray:
    """num / den with NaN where the denominator is 0 or missing (never inf)."""
    num = np.asarray(num, dtype="float64")
    den = np.asarray(den, dtype="float64")
    with np.errstate(divide="ignore", invalid="ignore"):
        out = num / den
    out[~np.isfinite(out)] = np.nan
    return out


def _one_hot(values: pd.Series, column: str, categories: list[str] | tuple[str, ...]) -> dict[str, np.ndarray]:
    """``<column>_<category>`` 0/1 columns; a missing or unknown value is 0 everywhere."""
    codes = pd.Categorical(values, categories=list(categories)).codes
    return {f"{column}_{cat}": (codes == i).astype("float64") for i, cat in enumerate(categories)}


# Domain ratios of the application row: (feature, numerator, denominator), after the DAYS_EMPLOYED sentinel.
APPLICATION_RATIOS: tuple[tuple[str, str, str], ...] = (
    ("DAYS_EMPLOYED_PERC", "DAYS_EMPLOYED", "DAYS_BIRTH"),
    ("CREDIT_INCOME_PERC", "AMT_CREDIT", "AMT_INCOME_TOTAL"),
    ("INCOME_PER_PERSON", "AMT_INCOME_TOTAL", "CNT_FAM_MEMBERS"),
    ("ANNUITY_INCOME_PERC", "AMT_ANNUITY", "AMT_INCOME_TOTAL"),
    ("PAYMENT_RATE", "AMT_ANNUITY", "AMT_CREDIT"),
    ("GOODS_CREDIT_PERC", "AMT_GOODS_PRICE", "AMT_CREDIT"),
)
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
    for name, num, den in APPLICATION_RATIOS:
        out[name] = _ratio(out[num], out[den])


def application_features(app: pd.DataFrame) -> pd.DataFrame:
    """Application columns (one-hot, sentinel -> NaN, Y/N -> 1/0) and domain ratios."""
    out: dict[str, np.ndarray] = {}

    def col(name: str) -> pd.Series:
        return app[name] if name in app else pd.Series(np.nan, index=app.index)

    for name, how, categories in APPLICATION_PLAN:
        if how == _YES_NO:
            values = col(name)
            out[name] = np.where(values == "Y", 1.0, np.where(values == "N", 0.0, np.nan))
        elif how == _ONE_HOT:
            out.update(_one_hot(col(name), name, categories))
        else:
            out[name] = pd.to_numeric(col(name), errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
    _add_ratios(out)
    return pd.DataFrame(out, index=pd.Index(app[ID_COLUMN].to_numpy(), name=ID_COLUMN))


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


_RATIO_INPUTS = tuple(dict.fromkeys(c for _, num, den in APPLICATION_RATIOS for c in (num, den)))


def _aggregate(
    frame: pd.DataFrame,
    prefix: str,
    aggs: dict[str, list[str]],
    categorical: dict[str, tuple[str, ...]] | None = None,
    *,
    count: bool = True,
) -> pd.DataFrame:
    """Aggregates of `frame` per SK_ID_CURR, named ``<prefix>_<column>_<agg>`` (and ``_COUNT``)."""
    data: dict[str, np.ndarray | pd.Series] = {ID_COLUMN: frame[ID_COLUMN]}
    for name in aggs:
        data[name] = frame[name].astype("float64")
    spec = dict(aggs)
    for name, categories in (categorical or {}).items():
        for dummy, values in _one_hot(frame[name], name, categories).items():
            data[dummy] = values
            spec[dummy] = ["mean"]
    work = pd.DataFrame(data)
    grouped = work.groupby(ID_COLUMN, sort=False)
    result = grouped.agg(spec)
    result.columns = [f"{prefix}_{name}_{agg}" for name, agg in result.columns]
    if count:
        result[f"{prefix}_COUNT"] = grouped.size().astype("float64")
    return result


def _bureau_features(bureau: pd.DataFrame, balance: pd.DataFrame) -> pd.DataFrame:
    status = balance["STATUS"]
    late = status.isin(["1", "2", "3", "4", "5"]).astype("float64").where(status.notna())
    per_bureau = pd.DataFrame({BUREAU_ID: balance[BUREAU_ID].to_numpy(), "late": late.to_numpy()}).groupby(
        BUREAU_ID, sort=False
    )["late"].agg(["size", "mean"])
    per_bureau = per_bureau.reindex(bureau[BUREAU_ID].to_numpy())
    bureau = bureau.assign(
        BB_MONTHS_COUNT=per_bureau["size"].to_numpy(dtype="float64"),
        BB_LATE_SHARE=per_bureau["mean"].to_numpy(dtype="float64"),
    )
    cats = {c: tuple(CATEGORIES[BUREAU][c]) for c in BUREAU_CATEGORICAL}
    main = _aggregate(bureau, "BUREAU", BUREAU_AGGS, cats)
    active_rows = bureau.loc[bureau["CREDIT_ACTIVE"] == "Active"]
    active = _aggregate(active_rows, "BUREAU_ACTIVE", BUREAU_ACTIVE_AGGS, count=False)
    return main.join(active, how="left")


def _previous_features(prev: pd.DataFrame) -> pd.DataFrame:
    days = [c for c, k in COLUMNS[PREVIOUS_APPLICATION].items() if c.startswith("DAYS_") and k != "str"]
    prev = prev.assign(
        **{c: prev[c].astype("float64").mask(prev[c] == DAYS_SENTINEL) for c in days},
        APP_CREDIT_PERC=_ratio(prev["AMT_APPLICATION"], prev["AMT_CREDIT"]),
    )
    cats = {c: tuple(CATEGORIES[PREVIOUS_APPLICATION][c]) for c in PREV_CATEGORICAL}
    main = _aggregate(prev, "PREV", PREV_AGGS, cats)
    parts = [main]
    for status in ("Approved", "Refused"):
        subset = prev.loc[prev["NAME_CONTRACT_STATUS"] == status]
        parts.append(_aggregate(subset, f"PREV_{status.upper()}", PREV_STATUS_AGGS, count=False))
    return parts[0].join(parts[1:], how="left")


def _pos_features(pos: pd.DataFrame) -> pd.DataFrame:
    return _aggregate(pos, "POS", POS_AGGS, {"NAME_CONTRACT_STATUS": POS_CATEGORIES})


def _instalment_features(inst: pd.DataFrame) -> pd.DataFrame:
    delay = inst["DAYS_ENTRY_PAYMENT"].to_numpy(dtype="float64") - inst["DAYS_INSTALMENT"].to_numpy(dtype="float64")
    diff = inst["AMT_INSTALMENT"].to_numpy(dtype="float64") - inst["AMT_PAYMENT"].to_numpy(dtype="float64")
    inst = inst.assign(
        DPD=np.clip(delay, 0, None),
        DBD=np.clip(-delay, 0, None),
        LATE=np.where(np.isnan(delay), np.nan, (delay > 0).astype("float64")),
        PAYMENT_PERC=_ratio(inst["AMT_PAYMENT"], inst["AMT_INSTALMENT"]),
        PAYMENT_DIFF=diff,
        UNDERPAID=np.where(np.isnan(diff), np.nan, (diff > 0.01).astype("float64")),
    )
    return _aggregate(inst, "INSTAL", INSTAL_AGGS)


def _credit_card_features(card: pd.DataFrame) -> pd.DataFrame:
    card = card.assign(BALANCE_LIMIT_RATIO=_ratio(card["AMT_BALANCE"], card["AMT_CREDIT_LIMIT_ACTUAL"]))
    return _aggregate(card, "CRECARD", CRECARD_AGGS)


def _child(frame: pd.DataFrame | None, name: str) -> tuple[pd.DataFrame, bool]:
    """The table, or an empty one with its declared columns when absent (features then NaN)."""
    return (empty_table(name), False) if frame is None else (frame, True)


def _bureau_part(tables: Tables) -> tuple[pd.DataFrame, bool]:
    bureau, present = _child(tables.bureau, BUREAU)
    balance, _ = _child(tables.bureau_balance, BUREAU_BALANCE)
    return _bureau_features(bureau, balance), present


def _one_table(field: str, name: str, builder):
    def part(tables: Tables) -> tuple[pd.DataFrame, bool]:
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
    frames = []
    for label, part, count_column in CHILD_PARTS:
        frame, present = part(tables)
        frames.append((frame, present, count_column))
        bar.set_postfix_str(label)
        bar.update()
    bar.close()

    parts = [base]
    for frame, present, count_column in frames:
        aligned = frame.reindex(base.index)
        if present:
            aligned[count_column] = aligned[count_column].fillna(0.0)
        parts.append(aligned)
    features = pd.concat(parts, axis=1).astype("float64")
    features.index.name = ID_COLUMN
    return features


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
