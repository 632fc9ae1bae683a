"""Loading and validating the seven tables: formats, errors that name file and column, restrict()."""

from __future__ import annotations

import gzip
import shutil
import warnings

import numpy as np
import pandas as pd
import pytest

from scoring.data import DataError, Tables, find_table, has_kaggle_data, load_tables, read_application_file, read_table
from scoring.features import build_features
from scoring.schema import APPLICATION_TRAIN, BUREAU, CHILD_TABLES, ID_COLUMN, INSTALMENTS, TARGET_COLUMN
from scoring.tables import COLUMNS, table_file_name


def _copy(src, dst, skip=()):
    dst.mkdir(exist_ok=True)
    for path in src.iterdir():
        if path.name not in skip:
            shutil.copy(path, dst / path.name)
    return dst


def _load_quietly(folder, **kwargs) -> Tables:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return load_tables(folder, progress=False, **kwargs)


def test_loads_the_csv_twin_with_declared_dtypes(twin, twin_dir):
    tables = load_tables(twin_dir, progress=False)
    for (name, loaded), (_, made) in zip(tables.items(), twin.tables.items(), strict=True):
        pd.testing.assert_frame_equal(loaded, made, check_exact=False, rtol=1e-12, obj=name)


def test_missing_application_file_names_the_file(tmp_path):
    with pytest.raises(DataError) as err:
        load_tables(tmp_path, progress=False)
    message = str(err.value)
    assert "application_train.csv" in message and "file not found" in message and "SK_ID_CURR" in message


def test_missing_required_column_names_file_and_column(twin_dir, tmp_path):
    folder = _copy(twin_dir, tmp_path / "d")
    bureau = pd.read_csv(folder / "bureau.csv").drop(columns="SK_ID_BUREAU")
    bureau.to_csv(folder / "bureau.csv", index=False)
    with pytest.raises(DataError) as err:
        load_tables(folder, progress=False)
    assert "bureau.csv" in str(err.value) and "SK_ID_BUREAU" in str(err.value) and "expected" in str(err.value)


def test_missing_target_is_refused_for_training_only(twin_dir, tmp_path):
    folder = _copy(twin_dir, tmp_path / "d")
    app = pd.read_csv(folder / "application_train.csv").drop(columns=TARGET_COLUMN)
    app.to_csv(folder / "application_train.csv", index=False)
    with pytest.raises(DataError, match="TARGET"):
        load_tables(folder, progress=False)
    tables = _load_quietly(folder, require_target=False)
    assert TARGET_COLUMN not in tables.application.columns and len(tables.application) == len(app)


def test_text_in_a_numeric_column_names_column_and_line(twin_dir, tmp_path):
    app = pd.read_csv(twin_dir / "application_train.csv")
    app["AMT_CREDIT"] = app["AMT_CREDIT"].astype(object)
    app.loc[3, "AMT_CREDIT"] = "lots"
    path = tmp_path / "application_train.csv"
    app.to_csv(path, index=False)
    with pytest.raises(DataError) as err:
        read_table(path, APPLICATION_TRAIN)
    assert "AMT_CREDIT" in str(err.value) and "line 5" in str(err.value) and "'lots'" in str(err.value)


def test_target_must_be_binary_and_ids_unique(twin_dir, tmp_path):
    app = pd.read_csv(twin_dir / "application_train.csv")
    bad_target = app.copy()
    bad_target.loc[0, TARGET_COLUMN] = 2
    bad_target.to_csv(tmp_path / "t.csv", index=False)
    with pytest.raises(DataError, match="TARGET must be 0 or 1"):
        read_table(tmp_path / "t.csv", APPLICATION_TRAIN)
    dupes = pd.concat([app, app.iloc[[7]]])
    dupes.to_csv(tmp_path / "d.csv", index=False)
    with pytest.raises(DataError, match="SK_ID_CURR must be unique"):
        read_table(tmp_path / "d.csv", APPLICATION_TRAIN)


def test_empty_key_is_refused(twin_dir, tmp_path):
    inst = pd.read_csv(twin_dir / "installments_payments.csv")
    inst.loc[2, "SK_ID_PREV"] = np.nan
    inst.to_csv(tmp_path / "i.csv", index=False)
    with pytest.raises(DataError, match="SK_ID_PREV must hold an integer on every row; row 3 is empty"):
        read_table(tmp_path / "i.csv", INSTALMENTS)


@pytest.mark.parametrize(
    ("file_name", "content"),
    [
        ("bureau.csv.gz", b"this is not gzip at all"),
        ("bureau.parquet", b"PAR1 garbage, not a parquet file"),
        ("bureau.csv", b""),
        ("bureau.csv", b'SK_ID_CURR,SK_ID_BUREAU\n1,2,3,4\n"unclosed\n'),
        ("bureau.csv", b"\xff\xfe\x00\x00binary\x00junk\x9c\x81"),
    ],
)
def test_unreadable_file_is_a_clear_error(tmp_path, file_name, content):
    path = tmp_path / file_name
    path.write_bytes(content)
    with pytest.raises(DataError) as err:
        read_table(path, BUREAU)
    assert file_name in str(err.value)


def test_missing_file_passed_directly(tmp_path):
    with pytest.raises(DataError, match="file not found"):
        read_table(tmp_path / "bureau.csv", BUREAU)


def test_byte_order_mark_is_tolerated(twin_dir, tmp_path):
    text = (twin_dir / "bureau.csv").read_text(encoding="utf-8")
    (tmp_path / "bureau.csv").write_text(text, encoding="utf-8-sig")
    assert (tmp_path / "bureau.csv").read_bytes()[:3] == b"\xef\xbb\xbf"
    with_bom = read_table(tmp_path / "bureau.csv", BUREAU)
    assert with_bom.columns[0] == ID_COLUMN
    pd.testing.assert_frame_equal(with_bom, read_table(twin_dir / "bureau.csv", BUREAU))


def test_csv_gz_and_parquet_load_like_csv(twin_dir, tmp_path):
    gz, pq = tmp_path / "gz", tmp_path / "pq"
    gz.mkdir()
    pq.mkdir()
    for path in twin_dir.glob("*.csv"):
        with open(path, "rb") as src, gzip.open(gz / f"{path.name}.gz", "wb") as dst:
            shutil.copyfileobj(src, dst)
        pd.read_csv(path).to_parquet(pq / path.name.replace(".csv", ".parquet"))
    assert find_table(gz, BUREAU).name == "bureau.csv.gz"
    assert find_table(pq, BUREAU).name == "bureau.parquet"
    reference = load_tables(twin_dir, progress=False)
    for folder in (gz, pq):
        loaded = load_tables(folder, progress=False)
        for (name, got), (_, want) in zip(loaded.items(), reference.items(), strict=True):
            pd.testing.assert_frame_equal(got, want, check_exact=False, rtol=1e-12, obj=f"{folder.name}/{name}")


def test_find_table_and_has_kaggle_data(twin_dir, tmp_path):
    assert has_kaggle_data(twin_dir)
    assert not has_kaggle_data(tmp_path)
    assert find_table(tmp_path, BUREAU) is None


def test_absent_optional_table_warns_and_gives_nan_features(twin_dir, tmp_path):
    folder = _copy(twin_dir, tmp_path / "d", skip={"bureau.csv", "bureau_balance.csv"})
    with pytest.warns(UserWarning) as caught:
        tables = load_tables(folder, progress=False)
    messages = " | ".join(str(w.message) for w in caught)
    assert "bureau.csv not found" in messages and "bureau_balance.csv not found" in messages
    assert tables.bureau is None and tables.bureau_balance is None and tables.installments is not None
    features = build_features(tables, progress=False)
    bureau_columns = [c for c in features.columns if c.startswith("BUREAU_")]
    assert len(bureau_columns) > 20 and features[bureau_columns].isna().all().all()
    assert features["INSTAL_COUNT"].notna().all()
    full = build_features(load_tables(twin_dir, progress=False), progress=False)
    assert list(features.columns) == list(full.columns)
    assert features["BUREAU_AMT_CREDIT_SUM_OVERDUE_max"].isna().all()
    assert full["BUREAU_AMT_CREDIT_SUM_OVERDUE_max"].notna().any()


def test_absent_optional_column_warns_and_is_missing(twin_dir, tmp_path):
    bureau = pd.read_csv(twin_dir / "bureau.csv").drop(columns=["AMT_CREDIT_SUM_OVERDUE", "CREDIT_TYPE"])
    bureau.to_csv(tmp_path / "bureau.csv", index=False)
    with pytest.warns(UserWarning, match="AMT_CREDIT_SUM_OVERDUE, CREDIT_TYPE are absent"):
        frame = read_table(tmp_path / "bureau.csv", BUREAU)
    assert list(frame.columns) == list(COLUMNS[BUREAU])
    assert frame["AMT_CREDIT_SUM_OVERDUE"].isna().all() and frame["CREDIT_TYPE"].isna().all()


def test_extra_columns_are_kept(twin_dir, tmp_path):
    bureau = pd.read_csv(twin_dir / "bureau.csv")
    bureau["MY_NOTE"] = "x"
    bureau.to_csv(tmp_path / "bureau.csv", index=False)
    assert (read_table(tmp_path / "bureau.csv", BUREAU)["MY_NOTE"] == "x").all()


def test_read_application_file_needs_only_the_id(tmp_path):
    path = tmp_path / "mine.csv"
    pd.DataFrame({ID_COLUMN: [1, 2], "AMT_CREDIT": [1e5, 2e5], TARGET_COLUMN: [0, 1]}).to_csv(path, index=False)
    with pytest.warns(UserWarning, match="absent"):
        frame = read_application_file(path)
    assert TARGET_COLUMN not in frame and frame[ID_COLUMN].tolist() == [1, 2]
    assert frame["EXT_SOURCE_1"].isna().all() and frame["AMT_CREDIT"].tolist() == [1e5, 2e5]
    pd.DataFrame({"AMT_CREDIT": [1.0]}).to_csv(path, index=False)
    with pytest.raises(DataError, match="required column SK_ID_CURR"):
        read_application_file(path)


def test_restrict_keeps_only_the_applicants_and_their_rows(twin):
    tables = twin.tables
    ids = tables.application[ID_COLUMN].to_numpy()[[3, 10, 11, 200]]
    small = tables.restrict(ids)
    assert sorted(small.application[ID_COLUMN]) == sorted(ids)
    for name, frame in small.items():
        if name != "bureau_balance" and frame is not None:
            assert frame[ID_COLUMN].isin(ids).all(), name
            full = dict(tables.items())[name]
            assert len(frame) == full[ID_COLUMN].isin(ids).sum(), name
    kept_bureaus = set(small.bureau["SK_ID_BUREAU"])
    assert set(small.bureau_balance["SK_ID_BUREAU"]) <= kept_bureaus
    expected = tables.bureau_balance["SK_ID_BUREAU"].isin(kept_bureaus).sum()
    assert len(small.bureau_balance) == expected > 0


def test_restrict_then_features_equals_features_then_select(twin):
    """Chunked inference relies on this: features of a chunk do not depend on other applicants."""
    tables = twin.tables
    full = build_features(tables, progress=False)
    ids = full.index.to_numpy()[::7]
    chunk = build_features(tables.restrict(ids), progress=False)
    pd.testing.assert_frame_equal(chunk.sort_index(), full.loc[ids].sort_index())


def test_restrict_with_absent_tables(twin):
    tables = Tables(application=twin.tables.application, installments=twin.tables.installments)
    small = tables.restrict([twin.tables.application[ID_COLUMN].iloc[0]])
    assert len(small.application) == 1 and small.bureau is None and small.bureau_balance is None


def test_real_extract_loads_with_its_own_dtypes(homecredit_sample):
    tables = load_tables(homecredit_sample, progress=False)
    assert len(tables.application) == 1000
    for name, frame in tables.items():
        raw = pd.read_csv(homecredit_sample / table_file_name(name))
        assert list(frame.columns) == list(raw.columns), name
        assert dict(frame.dtypes.astype(str)) == dict(raw.dtypes.astype(str)), name
    assert all(frame is not None for name, frame in tables.items() if name in CHILD_TABLES)
    test = read_application_file(homecredit_sample / "application_test.csv")
    assert len(test) == 199 and TARGET_COLUMN not in test
