"""Features: names, types, hand-checked aggregates, no leakage, alignment to the model's columns."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from scoring.data import Tables, load_tables
from scoring.features import align_features, application_features, application_row, build_features
from scoring.schema import (
    APPLICATION_TRAIN,
    BUREAU,
    BUREAU_BALANCE,
    CREDIT_CARD,
    ID_COLUMN,
    INSTALMENTS,
    PREVIOUS_APPLICATION,
    TARGET_COLUMN,
    UI_FEATURE_NAMES,
)
from scoring.tables import CATEGORIES, COLUMNS, DAYS_SENTINEL, empty_table


@pytest.fixture(scope="module")
def twin_features(twin):
    return build_features(twin.tables, progress=False)


def _rows(name: str, rows: list[dict]) -> pd.DataFrame:
    """A table with the declared columns: the given values, everything else missing."""
    given = pd.DataFrame(rows)
    dtypes = {"int": "int64", "float": "float64", "str": "str"}
    out = {
        column: given[column].astype(dtypes[kind])
        if column in given
        else pd.Series(np.nan, index=given.index, dtype="str" if kind == "str" else "float64")
        for column, kind in COLUMNS[name].items()
    }
    return pd.DataFrame(out)


@pytest.fixture(scope="module")
def tiny() -> Tables:
    """Two applicants with hand-made child rows whose aggregates are known."""
    app = _rows(
        APPLICATION_TRAIN,
        [
            {ID_COLUMN: 1, TARGET_COLUMN: 0, "CODE_GENDER": "F", "NAME_EDUCATION_TYPE": "Higher education",
             "DAYS_EMPLOYED": DAYS_SENTINEL, "DAYS_BIRTH": -20000, "AMT_CREDIT": 300000.0, "AMT_INCOME_TOTAL": 100000.0,
             "AMT_ANNUITY": 15000.0, "CNT_FAM_MEMBERS": 2, "FLAG_OWN_CAR": "Y", "NAME_INCOME_TYPE": "Pensioner",
             "FLAG_DOCUMENT_3": 1},
            {ID_COLUMN: 2, TARGET_COLUMN: 1, "CODE_GENDER": "M", "NAME_EDUCATION_TYPE": "Some unheard-of school",
             "DAYS_EMPLOYED": -1000, "DAYS_BIRTH": -10000, "AMT_CREDIT": 200000.0, "AMT_INCOME_TOTAL": 0.0,
             "AMT_ANNUITY": 10000.0, "CNT_FAM_MEMBERS": 1, "FLAG_OWN_CAR": "N", "NAME_INCOME_TYPE": "Working",
             "FLAG_DOCUMENT_3": 0},
        ],
    )
    bureau = _rows(
        BUREAU,
        [
            {ID_COLUMN: 1, "SK_ID_BUREAU": 11, "CREDIT_ACTIVE": "Active", "AMT_CREDIT_SUM_OVERDUE": 0.0},
            {ID_COLUMN: 1, "SK_ID_BUREAU": 12, "CREDIT_ACTIVE": "Closed", "AMT_CREDIT_SUM_OVERDUE": 500.0},
            {ID_COLUMN: 1, "SK_ID_BUREAU": 13, "CREDIT_ACTIVE": "Closed", "AMT_CREDIT_SUM_OVERDUE": 120.0},
        ],
    )
    balance = _rows(
        BUREAU_BALANCE,
        [
            {"SK_ID_BUREAU": 11, "MONTHS_BALANCE": 0, "STATUS": "0"},
            {"SK_ID_BUREAU": 11, "MONTHS_BALANCE": -1, "STATUS": "2"},
            {"SK_ID_BUREAU": 12, "MONTHS_BALANCE": 0, "STATUS": "C"},
        ],
    )
    prev = _rows(
        PREVIOUS_APPLICATION,
        [
            {"SK_ID_PREV": 21, ID_COLUMN: 1, "NAME_CONTRACT_STATUS": "Refused", "DAYS_DECISION": -10},
            {"SK_ID_PREV": 22, ID_COLUMN: 1, "NAME_CONTRACT_STATUS": "Approved", "DAYS_DECISION": -20},
            {"SK_ID_PREV": 23, ID_COLUMN: 1, "NAME_CONTRACT_STATUS": "Approved", "DAYS_DECISION": -30},
            {"SK_ID_PREV": 24, ID_COLUMN: 1, "NAME_CONTRACT_STATUS": "Refused", "DAYS_DECISION": -40},
            {"SK_ID_PREV": 25, ID_COLUMN: 2, "NAME_CONTRACT_STATUS": "Canceled", "DAYS_DECISION": DAYS_SENTINEL},
        ],
    )
    inst = _rows(
        INSTALMENTS,
        [  # 10 days late and underpaid by half; 5 days early; on time
            {"SK_ID_PREV": 22, ID_COLUMN: 1, "DAYS_INSTALMENT": -100, "DAYS_ENTRY_PAYMENT": -90,
             "AMT_INSTALMENT": 1000.0, "AMT_PAYMENT": 500.0},
            {"SK_ID_PREV": 22, ID_COLUMN: 1, "DAYS_INSTALMENT": -70, "DAYS_ENTRY_PAYMENT": -75,
             "AMT_INSTALMENT": 1000.0, "AMT_PAYMENT": 1000.0},
            {"SK_ID_PREV": 22, ID_COLUMN: 1, "DAYS_INSTALMENT": -40, "DAYS_ENTRY_PAYMENT": -40,
             "AMT_INSTALMENT": 1000.0, "AMT_PAYMENT": 1000.0},
        ],
    )
    card = _rows(
        CREDIT_CARD,
        [
            {"SK_ID_PREV": 23, ID_COLUMN: 1, "MONTHS_BALANCE": -1, "CNT_DRAWINGS_ATM_CURRENT": 1.0},
            {"SK_ID_PREV": 23, ID_COLUMN: 1, "MONTHS_BALANCE": -2, "CNT_DRAWINGS_ATM_CURRENT": np.nan},
            {"SK_ID_PREV": 23, ID_COLUMN: 1, "MONTHS_BALANCE": -3, "CNT_DRAWINGS_ATM_CURRENT": 4.0},
        ],
    )
    return Tables(
        application=app, bureau=bureau, bureau_balance=balance, previous_application=prev,
        pos_cash=empty_table("POS_CASH_balance"), installments=inst, credit_card=card,
    )


def test_ui_features_exist_on_the_twin(twin_features):
    missing = [name for name in UI_FEATURE_NAMES if name not in twin_features.columns]
    assert not missing
    assert twin_features["CRECARD_CNT_DRAWINGS_ATM_CURRENT_mean"].notna().any()
    assert (twin_features["BUREAU_AMT_CREDIT_SUM_OVERDUE_max"] > 0).any()


def test_shape_index_and_types(twin, twin_features):
    app = twin.tables.application
    assert twin_features.index.name == ID_COLUMN
    assert twin_features.index.tolist() == app[ID_COLUMN].tolist()
    assert (twin_features.dtypes == "float64").all()
    assert 200 <= twin_features.shape[1] <= 500
    assert twin_features.columns.is_unique
    assert np.isfinite(twin_features.to_numpy()[~np.isnan(twin_features.to_numpy())]).all()


def test_no_identifier_and_no_target_among_features(twin_features):
    for column in twin_features.columns:
        assert not column.startswith("SK_ID"), column
        assert TARGET_COLUMN not in column, column


def test_target_values_do_not_change_the_features(twin, twin_features):
    flipped = twin.tables.application.copy()
    flipped[TARGET_COLUMN] = 1 - flipped[TARGET_COLUMN]
    tables = Tables(**{**vars(twin.tables), "application": flipped})
    pd.testing.assert_frame_equal(build_features(tables, progress=False), twin_features)


def test_binary_features_are_zero_or_one(twin_features):
    groups = tuple(f"{column}_" for column in CATEGORIES[APPLICATION_TRAIN])
    binary = [c for c in twin_features.columns if c.startswith(groups) or c.startswith("FLAG_")]
    assert {"CODE_GENDER_F", "NAME_EDUCATION_TYPE_Higher education", "FLAG_DOCUMENT_3", "FLAG_OWN_CAR"} <= set(binary)
    for column in binary:
        assert set(twin_features[column].dropna().unique()) <= {0.0, 1.0}, column


def test_application_features_by_hand(tiny):
    f = build_features(tiny, progress=False)
    assert f.index.tolist() == [1, 2]
    assert np.isnan(f.loc[1, "DAYS_EMPLOYED"]) and f.loc[2, "DAYS_EMPLOYED"] == -1000
    assert f.loc[1, "CREDIT_INCOME_PERC"] == 3.0 and np.isnan(f.loc[2, "CREDIT_INCOME_PERC"])  # income 0: no inf
    assert f.loc[1, "ANNUITY_INCOME_PERC"] == 0.15 and f.loc[1, "PAYMENT_RATE"] == 0.05
    assert f.loc[1, "INCOME_PER_PERSON"] == 50000.0 and f.loc[2, "DAYS_EMPLOYED_PERC"] == 0.1
    assert f.loc[1, "CODE_GENDER_F"] == 1 and f.loc[1, "CODE_GENDER_M"] == 0 and f.loc[2, "CODE_GENDER_M"] == 1
    assert f.loc[1, "FLAG_OWN_CAR"] == 1 and f.loc[2, "FLAG_OWN_CAR"] == 0
    assert f.loc[1, "NAME_EDUCATION_TYPE_Higher education"] == 1
    # an unknown category sets no column of its group
    education = [c for c in f.columns if c.startswith("NAME_EDUCATION_TYPE_")]
    assert f.loc[2, education].sum() == 0 and "NAME_EDUCATION_TYPE_Academic degree" in f.columns


def test_child_aggregates_by_hand(tiny):
    f = build_features(tiny, progress=False)
    assert f.loc[1, "BUREAU_AMT_CREDIT_SUM_OVERDUE_max"] == 500.0
    assert f.loc[1, "BUREAU_AMT_CREDIT_SUM_OVERDUE_sum"] == 620.0
    assert f.loc[1, "BUREAU_CREDIT_ACTIVE_Active_mean"] == pytest.approx(1 / 3)
    assert f.loc[1, "BUREAU_COUNT"] == 3 and f.loc[2, "BUREAU_COUNT"] == 0
    assert np.isnan(f.loc[2, "BUREAU_AMT_CREDIT_SUM_OVERDUE_max"])
    assert f.loc[1, "BUREAU_BB_LATE_SHARE_max"] == 0.5  # credit 11: one late month out of two
    assert f.loc[1, "PREV_NAME_CONTRACT_STATUS_Refused_mean"] == 0.5
    assert f.loc[2, "PREV_NAME_CONTRACT_STATUS_Canceled_mean"] == 1.0
    assert np.isnan(f.loc[2, "PREV_DAYS_DECISION_max"])  # the 365243 sentinel is not a date
    assert f.loc[1, "PREV_DAYS_DECISION_max"] == -10
    assert f.loc[1, "INSTAL_DPD_max"] == 10 and f.loc[1, "INSTAL_DPD_mean"] == pytest.approx(10 / 3)
    assert f.loc[1, "INSTAL_DBD_max"] == 5 and f.loc[1, "INSTAL_LATE_mean"] == pytest.approx(1 / 3)
    assert f.loc[1, "INSTAL_PAYMENT_PERC_min"] == 0.5 and f.loc[1, "INSTAL_PAYMENT_DIFF_sum"] == 500.0
    assert f.loc[1, "CRECARD_CNT_DRAWINGS_ATM_CURRENT_mean"] == 2.5  # the NaN month is skipped
    assert np.isnan(f.loc[2, "CRECARD_CNT_DRAWINGS_ATM_CURRENT_mean"]) and f.loc[2, "CRECARD_COUNT"] == 0
    assert f.loc[1, "POS_COUNT"] == 0 and np.isnan(f.loc[1, "POS_SK_DPD_mean"])


def test_twin_and_real_extract_give_the_same_columns(twin_features, homecredit_sample):
    real = build_features(load_tables(homecredit_sample, progress=False), progress=False)
    assert list(real.columns) == list(twin_features.columns)
    assert len(real) == 1000 and real.index.is_unique
    assert (real.dtypes == "float64").all()
    assert not [name for name in UI_FEATURE_NAMES if name not in real.columns]
    assert real["BUREAU_AMT_CREDIT_SUM_OVERDUE_max"].notna().sum() > 500
    assert real["CODE_GENDER_F"].sum() > 500 and real["INSTAL_DPD_mean"].notna().sum() > 500
    # real quirk: the DAYS_EMPLOYED sentinel of pensioners becomes missing
    raw = pd.read_csv(homecredit_sample / "application_train.csv")
    assert (raw["DAYS_EMPLOYED"] == DAYS_SENTINEL).any()
    assert real.loc[raw.loc[raw["DAYS_EMPLOYED"] == DAYS_SENTINEL, ID_COLUMN], "DAYS_EMPLOYED"].isna().all()


def test_features_of_real_test_applicants(homecredit_sample):
    tables = load_tables(homecredit_sample, application="application_test", require_target=False, progress=False)
    features = build_features(tables, progress=False)
    assert len(features) == 199 and TARGET_COLUMN not in features


def test_align_features_to_the_model_columns():
    frame = pd.DataFrame(
        {"B": [1, 2], "A": ["0.5", "x"], "NAME_EDUCATION_TYPE_Unheard": [1.0, 0.0]},
        index=pd.Index([10, 11], name=ID_COLUMN),
    )
    aligned = align_features(frame, ["A", "B", "C"])
    assert list(aligned.columns) == ["A", "B", "C"]
    assert (aligned.dtypes == "float64").all()
    assert aligned.index.tolist() == [10, 11] and aligned.index.name == ID_COLUMN
    assert aligned.loc[10, "A"] == 0.5 and np.isnan(aligned.loc[11, "A"])
    assert aligned["B"].tolist() == [1.0, 2.0] and aligned["C"].isna().all()


def test_align_features_keeps_a_model_trained_on_the_twin_usable_on_partial_input(twin_features):
    names = list(twin_features.columns)
    partial = twin_features[names[:50]].iloc[:3]
    aligned = align_features(partial, names)
    assert list(aligned.columns) == names
    pd.testing.assert_frame_equal(aligned[names[:50]], partial)
    assert aligned[names[50:]].isna().all().all()


def _rows_as_dicts(app: pd.DataFrame) -> list[dict]:
    """Each application row as the feature store keeps it: plain values, missing as None."""
    return [{k: (None if pd.isna(v) else v) for k, v in row.items()} for row in app.to_dict("records")]


def test_application_row_equals_application_features_on_every_row(twin, homecredit_sample):
    """The what-if path featurises one raw row without a DataFrame: bit for bit the vectorised result,
    on the twin and on real rows (DAYS_EMPLOYED sentinel, XNA gender, unknown categories, NaN)."""
    real = load_tables(homecredit_sample).application
    for app in (twin.tables.application, real):
        expected = application_features(app).to_numpy(dtype="float64")
        got = np.vstack([application_row(raw) for raw in _rows_as_dicts(app)])
        np.testing.assert_array_equal(got, expected)


def test_application_row_of_edited_and_odd_values():
    """Zero and missing denominators give NaN (never inf), text in a number column is missing, a
    category is matched as text only, the sentinel is cleared, absent columns are missing."""
    raw = {"AMT_CREDIT": 0.0, "AMT_ANNUITY": 1000.0, "AMT_INCOME_TOTAL": None, "DAYS_EMPLOYED": DAYS_SENTINEL,
           "DAYS_BIRTH": -10_000, "CNT_FAM_MEMBERS": "two", "CODE_GENDER": "M", "NAME_CONTRACT_TYPE": 1,
           "FLAG_OWN_CAR": "Y", "FLAG_OWN_REALTY": "maybe"}
    frame = pd.DataFrame({ID_COLUMN: [1], **{k: [v] for k, v in raw.items()}})
    expected = application_features(frame)
    got = pd.Series(application_row(raw), index=expected.columns)
    np.testing.assert_array_equal(got.to_numpy(), expected.to_numpy()[0])
    assert np.isnan(got["PAYMENT_RATE"]) and np.isnan(got["CREDIT_INCOME_PERC"]) and np.isnan(got["DAYS_EMPLOYED"])
    assert got["CODE_GENDER_M"] == 1 and got["FLAG_OWN_CAR"] == 1 and np.isnan(got["FLAG_OWN_REALTY"])
    assert np.isnan(got["CNT_FAM_MEMBERS"]) and np.isnan(got["EXT_SOURCE_1"])
