"""The feature store: build, look-up, refusal of missing / corrupt / foreign files, and what-if."""

from __future__ import annotations

import shutil
import sqlite3
import threading

import numpy as np
import pandas as pd
import pytest

from scoring import config
from scoring.artifacts import load_artifacts
from scoring.data import read_table
from scoring.features import align_features, build_features
from scoring.schema import APPLICATION_TEST, CARD_ATM_DRAWINGS, ID_COLUMN, TARGET_COLUMN
from scoring.store import FACT_LABELS, NEGOTIABLE_FIELDS, FeatureStore, StoreError
from scoring.store_build import build_store, kaggle_tables
from tests.scoring.store.conftest import TWIN_APPLICANTS, VERSION


def _expected_row(frame: pd.DataFrame, features: list[str], sk_id: int) -> np.ndarray:
    return align_features(frame, features).loc[sk_id].to_numpy(dtype=np.float32)


def test_every_applicant_is_stored_with_its_build_features_row(store, store_tables, store_frame, model_features):
    app = store_tables.application
    assert len(store) == len(app) == 500  # 300 training + 200 application_test applicants
    assert store.model_version == VERSION and store.features == model_features
    assert TARGET_COLUMN not in app  # the twin's outcomes are not part of a dossier
    test_ids = app[ID_COLUMN].to_numpy()[TWIN_APPLICANTS:]  # the application_test applicants follow
    for sk_id in [*app[ID_COLUMN].to_numpy()[:3], *test_ids[:3]]:
        dossier = store.lookup(int(sk_id))
        assert dossier.sk_id_curr == sk_id
        assert dossier.row.dtype == np.float32 and dossier.row.shape == (len(model_features),)
        np.testing.assert_array_equal(dossier.row, _expected_row(store_frame, model_features, sk_id))
        source = app.loc[app[ID_COLUMN] == sk_id].iloc[0]
        assert dossier.raw["AMT_CREDIT"] == source["AMT_CREDIT"]
        assert TARGET_COLUMN not in dossier.raw and ID_COLUMN not in dossier.raw
        assert set(dossier.facts) == set(FACT_LABELS)
        assert dossier.facts["AGE_YEARS"] == round(-source["DAYS_BIRTH"] / 365.25, 1)
        assert dossier.facts["NAME_FAMILY_STATUS"] == source["NAME_FAMILY_STATUS"]


def test_unknown_ids_are_none(store):
    assert store.lookup(1) is None
    assert store.lookup(2**70) is None
    assert store.lookup(-5) is None


def test_ids_are_known_applicants(store):
    ids = store.ids(5)
    assert ids == sorted(ids) and len(ids) == 5
    assert all(store.lookup(i) is not None for i in ids)


def test_lookups_from_many_threads(store, store_tables):
    ids = store_tables.application[ID_COLUMN].to_numpy()[:200].tolist()
    errors: list[BaseException] = []

    def work() -> None:
        try:
            for sk_id in ids:
                assert store.lookup(sk_id).sk_id_curr == sk_id
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors


def test_missing_and_corrupt_files_are_refused(tmp_path, store_path):
    with pytest.raises(StoreError, match="not found"):
        FeatureStore.open(tmp_path / "absent.sqlite")
    text = tmp_path / "text.sqlite"
    text.write_text("not a database at all " * 100)
    with pytest.raises(StoreError, match="not a readable feature store"):
        FeatureStore.open(text)
    truncated = tmp_path / "truncated.sqlite"
    truncated.write_bytes(store_path.read_bytes()[:4096])
    with pytest.raises(StoreError):
        FeatureStore.open(truncated)
    empty = tmp_path / "empty.sqlite"
    sqlite3.connect(empty).close()
    with pytest.raises(StoreError, match="not a readable feature store"):
        FeatureStore.open(empty)


def test_a_row_of_the_wrong_length_is_reported(tmp_path, store_path):
    damaged = tmp_path / "damaged.sqlite"
    shutil.copy(store_path, damaged)
    with sqlite3.connect(damaged) as conn:
        sk_id = conn.execute("SELECT min(sk_id_curr) FROM applicants").fetchone()[0]
        conn.execute("UPDATE applicants SET row = x'00' WHERE sk_id_curr = ?", (sk_id,))
    with FeatureStore.open(damaged) as store, pytest.raises(StoreError, match="corrupt"):
        store.lookup(sk_id)


def test_a_store_of_another_model_is_refused(store_path, model_features):
    with pytest.raises(StoreError, match="built for model test-version"):
        FeatureStore.open(store_path, model_version="another")
    with pytest.raises(StoreError, match="features"):
        FeatureStore.open(store_path, features=model_features[::-1])
    with pytest.raises(StoreError, match="features"):
        FeatureStore.open(store_path, features=model_features[:-1])


def test_the_build_replaces_the_file_atomically(tmp_path, store_tables, store_frame, model_features):
    path = tmp_path / "store.sqlite"
    build_store(store_tables, store_frame, model_features, "v1", path, progress=False)
    bad = store_frame.copy()
    with pytest.raises(Exception):  # noqa: B017 - any failure must leave the old file
        build_store(store_tables, bad, model_features, "v2", path, progress=False,
                    info={"unserialisable": object()})
    assert [p.name for p in tmp_path.iterdir()] == ["store.sqlite"]  # no temporary file left
    assert path.stat().st_mode & 0o777 == 0o644
    with FeatureStore.open(path) as store:
        assert store.model_version == "v1" and len(store) == len(store_tables.application)


def test_a_duplicate_applicant_is_refused(tmp_path, store_tables, model_features):
    app = store_tables.application
    doubled = type(store_tables)(**{**store_tables.__dict__, "application": pd.concat([app, app.iloc[:1]])})
    with pytest.raises(ValueError, match="appears twice"):
        build_store(doubled, None, model_features, "v", tmp_path / "s.sqlite", progress=False)
    assert not list(tmp_path.iterdir())


# --- What-if -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def committed_model():
    return load_artifacts(config.MODELS_DIR, with_derived=False)


def _scores(model, rows: np.ndarray) -> np.ndarray:
    return model.inplace_predict(np.atleast_2d(rows))  # the served booster


@pytest.mark.parametrize("position", [0, 7, -1])  # training applicants and an application_test one
def test_what_if_equals_build_features_of_the_edited_raw_row(store, store_tables, model_features, committed_model,
                                                             position):
    app = store_tables.application
    sk_id = int(app[ID_COLUMN].iloc[position])
    dossier = store.lookup(sk_id)
    overrides = {"AMT_CREDIT": dossier.raw["AMT_CREDIT"] * 1.5 + 1234.5, "AMT_ANNUITY": 23_456.7,
                 "AMT_GOODS_PRICE": 400_500.0, "EXT_SOURCE_1": 0.25, "NAME_EDUCATION_TYPE_Higher education": 1,
                 "CODE_GENDER_F": 0, "CODE_GENDER_M": 1, "NAME_INCOME_TYPE_Working": 1, "FLAG_DOCUMENT_3": 0}
    row = store.what_if(dossier, overrides)

    edited = app.copy()
    at = edited[ID_COLUMN] == sk_id
    for name in (*NEGOTIABLE_FIELDS, "EXT_SOURCE_1", "FLAG_DOCUMENT_3"):
        edited.loc[at, name] = overrides[name]
    edited.loc[at, "NAME_EDUCATION_TYPE"] = "Higher education"
    edited.loc[at, "CODE_GENDER"] = "M"
    edited.loc[at, "NAME_INCOME_TYPE"] = "Working"
    frame = build_features(type(store_tables)(**{**store_tables.__dict__, "application": edited}), progress=False)
    expected = _expected_row(frame, model_features, sk_id)

    np.testing.assert_allclose(row, expected, rtol=1e-6, atol=0, equal_nan=True)
    assert not np.array_equal(row, dossier.row, equal_nan=True)
    index = {name: j for j, name in enumerate(model_features)}
    assert row[index["CREDIT_INCOME_PERC"]] == pytest.approx(overrides["AMT_CREDIT"] / dossier.raw["AMT_INCOME_TOTAL"])
    assert row[index["PAYMENT_RATE"]] == pytest.approx(23_456.7 / overrides["AMT_CREDIT"])
    assert row[index["NAME_EDUCATION_TYPE_Secondary / secondary special"]] == 0
    assert row[index["NAME_INCOME_TYPE_Pensioner"]] == 0
    model = committed_model.model
    np.testing.assert_allclose(_scores(model, row), _scores(model, expected), rtol=0, atol=1e-6)
    # The stored row is untouched (read-only) and scores as batch scoring does.
    assert not dossier.row.flags.writeable
    np.testing.assert_allclose(_scores(model, dossier.row),
                               _scores(model, align_features(build_features(store_tables, progress=False),
                                                             model_features).loc[[sk_id]].to_numpy()),
                               rtol=0, atol=1e-6)


def test_what_if_keeps_the_applicants_aggregates_unless_overridden(store, model_features):
    dossier = store.lookup(store.ids(1)[0])
    index = {name: j for j, name in enumerate(model_features)}
    row = store.what_if(dossier, {"AMT_CREDIT": 100_000.0})
    children = ("BUREAU_", "PREV_", "INSTAL_", "POS_", "CRECARD_")
    aggregates = [j for name, j in index.items() if name.startswith(children)]
    np.testing.assert_array_equal(row[aggregates], dossier.row[aggregates])
    row = store.what_if(dossier, {CARD_ATM_DRAWINGS: 3.5})
    assert row[index[CARD_ATM_DRAWINGS]] == 3.5
    changed = np.flatnonzero(~((row == dossier.row) | (np.isnan(row) & np.isnan(dossier.row))))
    assert changed.tolist() == [index[CARD_ATM_DRAWINGS]]
    np.testing.assert_array_equal(store.what_if(dossier, {}), dossier.row)


def test_an_option_set_to_zero_empties_its_column(store, model_features):
    index = {name: j for j, name in enumerate(model_features)}
    higher, secondary = "NAME_EDUCATION_TYPE_Higher education", "NAME_EDUCATION_TYPE_Secondary / secondary special"
    for sk_id in store.ids(200):  # (the default model has no gender column: an education option instead)
        dossier = store.lookup(sk_id)
        if dossier.raw["NAME_EDUCATION_TYPE"] == "Higher education":
            break
    row = store.what_if(dossier, {higher: 0})
    assert row[index[higher]] == 0 and row[index[secondary]] == 0
    assert dossier.row[index[higher]] == 1


@pytest.mark.parametrize("overrides, message", [
    ({"DAYS_BIRTH": -10_000}, "cannot override DAYS_BIRTH"),
    ({"AMT_CREDIT": float("nan")}, "finite number"),
    ({"AMT_CREDIT": "beaucoup"}, "finite number"),
    ({"AMT_CREDIT": None}, "finite number"),
    ({"CODE_GENDER_M": 0.5}, "0 or 1"),
    ({"CODE_GENDER_M": 1, "CODE_GENDER_F": 1}, "both 1"),
])
def test_bad_overrides_are_refused(store, overrides, message):
    with pytest.raises(ValueError, match=message):
        store.what_if(store.lookup(store.ids(1)[0]), overrides)


# --- The real extract --------------------------------------------------------------------------


def test_store_of_the_real_extract(homecredit_sample, tmp_path, model_features):
    tables = kaggle_tables(homecredit_sample, progress=False)
    frame = build_features(tables, progress=False)
    path = build_store(tables, frame, model_features, "real", tmp_path / "real.sqlite", progress=False)
    app = tables.application
    test_ids = read_table(homecredit_sample / "application_test.csv", APPLICATION_TEST)[ID_COLUMN]
    test_rows = app[ID_COLUMN].isin(test_ids)
    with FeatureStore.open(path, model_version="real") as store:
        assert len(store) == len(app) and test_rows.any()
        for sk_id in [*app.loc[~test_rows, ID_COLUMN].iloc[:3], *app.loc[test_rows, ID_COLUMN].iloc[:3]]:
            dossier = store.lookup(int(sk_id))
            np.testing.assert_array_equal(dossier.row, _expected_row(frame, model_features, sk_id))
            source = app.loc[app[ID_COLUMN] == sk_id].iloc[0]
            for name in ("AMT_INCOME_TOTAL", "NAME_FAMILY_STATUS", "DAYS_BIRTH"):
                assert dossier.raw[name] == source[name]
            edited = store.what_if(dossier, {"AMT_CREDIT": 250_000.0})
            assert edited[model_features.index("AMT_CREDIT")] == 250_000.0


def test_an_uncompressed_store_reads_the_same(tmp_path, store, store_tables, store_frame, model_features):
    path = build_store(store_tables, store_frame, model_features, VERSION, tmp_path / "plain.sqlite", progress=False,
                       codec="none", page_size=4096)
    assert path.stat().st_size > store.path.stat().st_size  # zlib makes the default smaller
    with FeatureStore.open(path) as plain:
        assert plain.codec == "none" and store.codec == "zlib"
        for sk_id in store.ids(5):
            a, b = plain.lookup(sk_id), store.lookup(sk_id)
            np.testing.assert_array_equal(a.row, b.row)
            assert a.raw == b.raw and a.facts == b.facts
    with pytest.raises(ValueError, match="codec"):
        build_store(store_tables, store_frame, model_features, VERSION, tmp_path / "x.sqlite", codec="lz4")
