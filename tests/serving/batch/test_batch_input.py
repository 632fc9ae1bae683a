"""Batch inputs: what is refused, files without ids, the default input, the reader's chunks and bad lines."""

from __future__ import annotations

import gzip
import re

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import inference
from scoring import config, data, features
from scoring.child_index import ChildIndex
from scoring.schema import ID_COLUMN
from serving.batch import BatchInputError, errors_path_for, score_file
from tests.helpers import PROJECT_ROOT
from tests.serving.batch.test_inference import read_scores, run_cli


@pytest.fixture(scope="module")
def features_csv(twin_dir, predictor, tmp_path_factory):
    """The 60 test applicants as a features file (SK_ID_CURR first, then the model's columns)."""
    tables = data.load_tables(twin_dir, application="application_test", require_target=False, progress=False)
    frame = features.align_features(features.build_features(tables, progress=False), predictor.features)
    path = tmp_path_factory.mktemp("features") / "features.csv"
    frame.copy().reset_index().to_csv(path, index=False)
    return path


# --- what is refused ------------------------------------------------------------------------------


@pytest.mark.parametrize("table", ["bureau", "previous_application", "bureau_balance", "installments_payments"])
def test_child_table_as_input_is_refused(twin_dir, predictor, tmp_path, table):
    with pytest.raises(BatchInputError, match=table):
        score_file(twin_dir / f"{table}.csv", tmp_path / "o.csv", predictor=predictor, data_dir=twin_dir,
                   progress=False)
    assert not (tmp_path / "o.csv").exists()


def test_cli_refuses_bureau_with_exit_2(twin_dir, tmp_path):
    done = run_cli("--input", str(twin_dir / "bureau.csv"), "--data-dir", str(twin_dir), "--quiet", cwd=tmp_path)
    assert done.returncode == 2, done.stdout
    assert "bureau" in done.stderr and "--data-dir" in done.stderr and "Traceback" not in done.stderr
    assert "scored" not in done.stdout


def test_unrelated_columns_are_refused(predictor, tmp_path):
    path = tmp_path / "other.csv"
    path.write_text(f"{ID_COLUMN},colour,size\n1,red,3\n")
    with pytest.raises(BatchInputError, match="neither applicants nor features"):
        score_file(path, tmp_path / "o.csv", predictor=predictor, progress=False)
    path.write_text(f"{ID_COLUMN};AMT_CREDIT\n1;2\n")  # a spreadsheet's French CSV
    with pytest.raises(BatchInputError, match="separated by ';'"):
        score_file(path, tmp_path / "o.csv", predictor=predictor, progress=False)


def test_partial_application_file_is_still_applicants(predictor, tmp_path):
    path = tmp_path / "few.csv"
    path.write_text(f"{ID_COLUMN},AMT_CREDIT,AMT_ANNUITY\n1,100000,5000\n")
    with pytest.warns(UserWarning):
        report = score_file(path, tmp_path / "o.csv", predictor=predictor, progress=False)
    assert report.kind == "application" and report.scored == 1


# --- the errors file: code and documentation agree ---------------------------------------------


def test_errors_file_name_is_the_documented_one():
    assert errors_path_for(PROJECT_ROOT / "out" / "scores.csv") == PROJECT_ROOT / "out" / "scores.errors.csv"
    section = (PROJECT_ROOT / "docs" / "batch.md").read_text(encoding="utf-8")
    assert "`<output stem>.errors.csv`" in section and "`scores.errors.csv`" in section
    assert "<output>.errors.csv" not in section
    assert "<output stem>.errors.csv" in inference.__doc__ and "<output>.errors.csv" not in inference.__doc__


# --- features files without SK_ID_CURR -----------------------------------------------------------


def test_features_without_ids_scored_by_line_number(features_csv, predictor, tmp_path):
    with_ids = score_file(features_csv, tmp_path / "ids.csv", predictor=predictor, progress=False)
    frame = pd.read_csv(features_csv).drop(columns=[ID_COLUMN])
    frame.to_csv(tmp_path / "no_ids.csv", index=False)
    with pytest.warns(UserWarning, match="line number"):
        report = score_file(tmp_path / "no_ids.csv", tmp_path / "lines.csv", predictor=predictor, chunk_size=7,
                            progress=False)
    assert report.kind == "features" and report.scored == with_ids.scored == 60 and not report.errors
    by_line = pd.read_csv(tmp_path / "lines.csv")
    assert list(by_line.columns)[0] == "line"
    assert by_line["line"].tolist() == list(range(2, 62))
    np.testing.assert_array_equal(by_line["score"], read_scores(tmp_path / "ids.csv")["score"])


def test_features_file_extra_columns_ignored_with_a_warning(features_csv, predictor, tmp_path):
    frame = pd.read_csv(features_csv)
    extra = pd.DataFrame({"TARGET": 0, "comment": "text, with a comma"}, index=frame.index)
    frame = pd.concat([frame[[ID_COLUMN]], extra[["TARGET"]], frame.drop(columns=[ID_COLUMN]), extra[["comment"]]],
                      axis=1)
    frame.to_csv(tmp_path / "extra.csv", index=False)
    with pytest.warns(UserWarning, match="not model features"):
        report = score_file(tmp_path / "extra.csv", tmp_path / "o.csv", predictor=predictor, progress=False)
    assert report.scored == 60 and not report.errors


# --- python inference.py with no argument -------------------------------------------------------


def test_no_argument_scores_datasets_application_test(twin_dir, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(config, "DATASETS_DIR", twin_dir)
    monkeypatch.chdir(tmp_path)
    assert inference.main(["--quiet"]) == 0
    assert "60 of 60 applicants scored (application input)" in capsys.readouterr().out
    assert len(read_scores(tmp_path / "application_test_scores.csv")) == 60


def test_no_argument_without_datasets_says_what_to_pass(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(config, "DATASETS_DIR", tmp_path / "datasets")
    assert inference.main([]) == 2
    err = capsys.readouterr().err
    assert "application_test.csv" in err and "--input" in err and "--data-dir" in err


def test_no_argument_cli_in_the_project(tmp_path):
    if (config.DATASETS_DIR / "application_test.csv").exists():
        pytest.skip("datasets/application_test.csv present: the command would score it")
    done = run_cli(cwd=tmp_path)
    assert done.returncode == 2 and "--input" in done.stderr and "Traceback" not in done.stderr


# --- the raw path: child rows of a chunk ----------------------------------------------------------


def test_child_index_gives_the_features_of_restrict(twin_dir):
    tables = data.load_tables(twin_dir, application="application_test", require_target=False, progress=False)
    index = ChildIndex(tables)
    app = tables.application.iloc[[7, 3, 41, 12, 59]].reset_index(drop=True)  # any order, as a chunk comes
    ids = app[ID_COLUMN].to_numpy()
    bureau = tables.bureau[tables.bureau[ID_COLUMN].isin(ids)]
    direct = data.Tables(  # the definition: every child row of these applicants, found by a full scan
        application=app, bureau=bureau,
        bureau_balance=tables.bureau_balance[tables.bureau_balance["SK_ID_BUREAU"].isin(bureau["SK_ID_BUREAU"])],
        **{name: getattr(tables, name)[getattr(tables, name)[ID_COLUMN].isin(ids)]
           for name in ("previous_application", "pos_cash", "installments", "credit_card")})
    fast = data.Tables.from_index(app, index)
    for (name, got), (_, expected) in zip(fast.items()[1:], direct.items()[1:], strict=True):
        key = ["SK_ID_BUREAU", "MONTHS_BALANCE"] if name == "bureau_balance" else list(expected.columns[:2])
        pd.testing.assert_frame_equal(got.sort_values(key, kind="stable").reset_index(drop=True),
                                      expected.sort_values(key, kind="stable").reset_index(drop=True), obj=name)
    direct_features = features.build_features(data.Tables(**{**vars(direct), "application": app}), progress=False)
    pd.testing.assert_frame_equal(features.build_features(fast, progress=False), direct_features, check_exact=True)


# --- the reader: chunks, bad lines, formats -----------------------------------------------------


def test_many_small_blocks_keep_the_file_order(features_csv, predictor, tmp_path):
    report = score_file(features_csv, tmp_path / "o.csv", predictor=predictor, chunk_size=3, progress=False)
    assert report.scored == 60
    expected = pd.read_csv(features_csv)[ID_COLUMN].tolist()
    assert pd.read_csv(tmp_path / "o.csv")[ID_COLUMN].tolist() == expected


def test_bad_cells_in_a_features_file(features_csv, predictor, tmp_path):
    text = features_csv.read_text().splitlines()
    header = text[0].split(",")
    col = header.index("AMT_CREDIT")
    rows = [line.split(",") for line in text[1:]]
    rows[4][col] = "abc"  # line 6: text
    rows[9][col] = "-inf"  # line 11: infinity
    rows[14][0] = "12.5"  # line 16: fractional id
    rows[20][0] = rows[2][0]  # line 22 repeats line 4
    rows[25][col] = "NA"  # line 27: a missing value, scored
    body = [",".join(r) for r in rows]
    body.insert(30, "")  # a blank line (ignored) before the row of line 33
    body.insert(33, "1,2,3")  # a row with too few fields, on line 35
    (tmp_path / "bad.csv").write_text("\n".join([text[0], *body]) + "\n")
    report = score_file(tmp_path / "bad.csv", tmp_path / "o.csv", predictor=predictor, chunk_size=4,
                        progress=False)
    reasons = {e.line: e.reason for e in report.errors}
    assert sorted(reasons) == [6, 11, 16, 22, 35]
    assert "AMT_CREDIT" in reasons[6] and "'abc'" in reasons[6]
    assert "AMT_CREDIT" in reasons[11] and "inf" in reasons[11]
    assert "integer" in reasons[16] and "'12.5'" in reasons[16]
    assert "appears earlier" in reasons[22]
    assert "3 fields" in reasons[35]
    assert report.rows == 61 and report.scored == 56
    errors = pd.read_csv(errors_path_for(tmp_path / "o.csv"))
    assert errors["line"].tolist() == [6, 11, 16, 22, 35]


def test_gzip_and_parquet_score_like_csv(features_csv, predictor, tmp_path):
    with open(features_csv, "rb") as src, gzip.open(tmp_path / "f.csv.gz", "wb") as dst:
        dst.write(src.read())
    table = pa.Table.from_pandas(pd.read_csv(features_csv), preserve_index=False)
    pq.write_table(table, tmp_path / "f.parquet", row_group_size=7)
    score_file(features_csv, tmp_path / "csv.csv", predictor=predictor, progress=False)
    score_file(tmp_path / "f.csv.gz", tmp_path / "gz.csv", predictor=predictor, chunk_size=5, progress=False)
    score_file(tmp_path / "f.parquet", tmp_path / "pq.csv", predictor=predictor, chunk_size=5, progress=False)
    reference = read_scores(tmp_path / "csv.csv")
    pd.testing.assert_frame_equal(read_scores(tmp_path / "gz.csv"), reference)
    pd.testing.assert_frame_equal(read_scores(tmp_path / "pq.csv"), reference)


def test_parquet_text_and_infinity_reported(features_csv, predictor, tmp_path):
    frame = pd.read_csv(features_csv)
    frame["AMT_CREDIT"] = frame["AMT_CREDIT"].astype(str)
    frame.loc[3, "AMT_CREDIT"] = "lots"
    frame.loc[5, "EXT_SOURCE_2"] = np.inf
    frame.to_parquet(tmp_path / "bad.parquet", row_group_size=10)
    report = score_file(tmp_path / "bad.parquet", tmp_path / "o.csv", predictor=predictor, chunk_size=4,
                        progress=False)
    reasons = {e.line: e.reason for e in report.errors}
    assert sorted(reasons) == [5, 7]
    assert "'lots'" in reasons[5] and "EXT_SOURCE_2" in reasons[7]
    assert report.scored == 58


def test_header_only_and_binary_files(predictor, tmp_path):
    header_only = tmp_path / "h.csv"
    header_only.write_text(f"{ID_COLUMN},AMT_CREDIT\n")
    with pytest.raises(BatchInputError, match="no rows"):
        score_file(header_only, tmp_path / "o.csv", predictor=predictor, progress=False)
    assert not (tmp_path / "o.csv").exists()
    fake = tmp_path / "fake.parquet"
    fake.write_text("not parquet")
    with pytest.raises(BatchInputError, match="Parquet"):
        score_file(fake, tmp_path / "o.csv", predictor=predictor, progress=False)


def test_help_names_every_option():
    done = run_cli("--help", cwd=PROJECT_ROOT)
    assert done.returncode == 0
    for option in ("--input", "--data-dir", "--model-dir", "--output", "--chunk-size", "--quiet"):
        assert re.search(rf"{option}\b", done.stdout)
