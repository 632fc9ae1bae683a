"""Batch scoring (inference.py / serving.batch): raw and features input, chunking, bad rows, bad files."""

from __future__ import annotations

import csv
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

import inference
from scoring import data, features
from scoring.schema import ID_COLUMN, LABEL_HIGH_RISK, LABEL_LOW_RISK
from serving.batch import BatchInputError, detect_kind, score_file
from tests.helpers import PROJECT_ROOT, run_main


def read_scores(path):
    return pd.read_csv(path).set_index(ID_COLUMN)


def features_of(twin_dir, predictor):
    """The features of the twin's application_test applicants, built in one go from the loaded tables."""
    tables = data.load_tables(twin_dir, application="application_test", require_target=False, progress=False)
    return features.align_features(features.build_features(tables, progress=False), predictor.features)


def test_raw_input_scored_and_labelled(twin_dir, predictor, tmp_path):
    out = tmp_path / "scores.csv"
    report = score_file(twin_dir / "application_test.csv", out, predictor=predictor, data_dir=twin_dir,
                        progress=False)
    scores = read_scores(out)
    assert report.kind == "application" and report.scored == report.rows == 60 == len(scores)
    assert list(pd.read_csv(out).columns) == [ID_COLUMN, "score", "prediction", "label", "review", "grade",
                                              "out_of_range"]
    assert scores["score"].between(0, 1).all()
    high = scores["score"] >= predictor.threshold
    assert (scores["prediction"] == high.astype(int)).all()
    assert (scores["label"] == np.where(high, LABEL_HIGH_RISK, LABEL_LOW_RISK)).all()
    assert report.high_risk == int(high.sum())
    # The grey zone of the API (Prediction.review): 1 inside [low, high] around the threshold.
    low, high_edge = predictor.grey_zone
    assert (scores["review"] == scores["score"].between(low, high_edge).astype(int)).all()
    assert report.review == int(scores["review"].sum())
    assert [predictor.predict(dict(row), explain=False).review for _, row in features_of(twin_dir, predictor)
            .iterrows()] == scores["review"].astype(bool).tolist()
    assert not report.errors_path.exists()


def test_chunked_equals_one_shot_and_direct_features(twin_dir, predictor, tmp_path):
    one = score_file(twin_dir / "application_test.csv", tmp_path / "one.csv", predictor=predictor,
                     data_dir=twin_dir, chunk_size=10_000, progress=False)
    many = score_file(twin_dir / "application_test.csv", tmp_path / "many.csv", predictor=predictor,
                      data_dir=twin_dir, chunk_size=7, progress=False)
    assert one.scored == many.scored == 60
    pd.testing.assert_frame_equal(read_scores(tmp_path / "one.csv"), read_scores(tmp_path / "many.csv"))
    # The same applicants featurised in one go from the loaded tables give the same scores.
    frame = features_of(twin_dir, predictor)
    direct = predictor.predict_many(frame)
    got = read_scores(tmp_path / "one.csv").loc[frame.index, "score"].to_numpy()
    np.testing.assert_allclose(got, direct, atol=1e-6)


def test_features_file_input_matches_raw_input(twin_dir, predictor, tmp_path):
    tables = data.load_tables(twin_dir, application="application_test", require_target=False, progress=False)
    frame = features.build_features(tables, progress=False)
    frame.copy().reset_index().to_csv(tmp_path / "features.csv", index=False)
    report = score_file(tmp_path / "features.csv", tmp_path / "f_scores.csv", predictor=predictor, progress=False)
    assert report.kind == "features" and report.scored == 60
    raw = score_file(twin_dir / "application_test.csv", tmp_path / "r_scores.csv", predictor=predictor,
                     data_dir=twin_dir, progress=False)
    assert raw.scored == 60
    pd.testing.assert_frame_equal(read_scores(tmp_path / "f_scores.csv"), read_scores(tmp_path / "r_scores.csv"),
                                  atol=1e-5)


def test_bad_rows_reported_with_line_and_reason(twin_dir, predictor, tmp_path):
    app = pd.read_csv(twin_dir / "application_test.csv", dtype=str)
    app.loc[2, "AMT_CREDIT"] = "lots"  # line 4
    app.loc[5, ID_COLUMN] = None  # line 7
    app.loc[8, ID_COLUMN] = app.loc[1, ID_COLUMN]  # line 10 repeats line 3
    app.loc[11, "EXT_SOURCE_2"] = "inf"  # line 13
    app.to_csv(tmp_path / "bad.csv", index=False)
    report = score_file(tmp_path / "bad.csv", tmp_path / "out.csv", predictor=predictor, data_dir=twin_dir,
                        chunk_size=4, progress=False)
    by_line = {e.line: e.reason for e in report.errors}
    assert sorted(by_line) == [4, 7, 10, 13]
    assert "AMT_CREDIT" in by_line[4] and "'lots'" in by_line[4]
    assert ID_COLUMN in by_line[7]
    assert "appears earlier" in by_line[10]
    assert "EXT_SOURCE_2" in by_line[13]
    assert report.scored == 56 and report.rows == 60
    with open(report.errors_path, newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [int(r["line"]) for r in rows] == [4, 7, 10, 13]
    assert len(read_scores(tmp_path / "out.csv")) == 56


def test_unusable_files_raise_clear_errors(predictor, tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(BatchInputError, match="empty"):
        score_file(empty, tmp_path / "o.csv", predictor=predictor, progress=False)
    no_id = tmp_path / "no_id.csv"
    no_id.write_text("AMT_CREDIT,AMT_INCOME_TOTAL\n1,2\n")
    with pytest.raises(BatchInputError, match=ID_COLUMN):
        score_file(no_id, tmp_path / "o.csv", predictor=predictor, progress=False)
    with pytest.raises(BatchInputError, match="not found"):
        score_file(tmp_path / "absent.csv", tmp_path / "o.csv", predictor=predictor, progress=False)
    binary = tmp_path / "binary.csv"
    binary.write_bytes(b"\xff\xfe\x00\x81garbage\x00" * 10)
    with pytest.raises(BatchInputError):
        score_file(binary, tmp_path / "o.csv", predictor=predictor, progress=False)


def test_detect_kind():
    model = [f"F{i}" for i in range(10)]
    assert detect_kind([ID_COLUMN, *model[:6]], model) == "features"
    assert detect_kind([ID_COLUMN, "AMT_CREDIT", "F1"], model) == "application"


def run_cli(*args, cwd):
    return subprocess.run([sys.executable, str(PROJECT_ROOT / "inference.py"), *args], cwd=cwd,
                          capture_output=True, text=True, timeout=300)


def run_here(*args):
    """inference.main(argv) in this process: the same command without a process start-up (paths are absolute)."""
    return run_main(inference.main, *args)


def test_cli_exit_codes_and_messages(twin_dir, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the default output is <input name>_scores.csv in the working folder
    ok = run_cli("--input", str(twin_dir / "application_test.csv"), "--data-dir", str(twin_dir),
                 "--output", str(tmp_path / "s.csv"), "--quiet", cwd=tmp_path)
    assert ok.returncode == 0, ok.stderr
    assert "60 of 60 applicants scored" in ok.stdout
    bad = tmp_path / "bad.csv"
    bad.write_text(f"{ID_COLUMN},AMT_CREDIT\n1,abc\n2,1000\n")
    partial = run_here("--input", str(bad), "--quiet")
    assert partial.returncode == 1
    assert "line 2" in partial.stderr and "AMT_CREDIT" in partial.stderr
    assert (tmp_path / "bad_scores.csv").is_file() and (tmp_path / "bad_scores.errors.csv").is_file()
    missing = run_here("--input", str(tmp_path / "nope.csv"))
    assert missing.returncode == 2 and "not found" in missing.stderr and "Traceback" not in missing.stderr
    broken_model = run_here("--input", str(bad), "--model-dir", str(tmp_path / "no-model"))
    assert broken_model.returncode == 2 and "train.py" in broken_model.stderr
    helped = run_cli("--help", cwd=tmp_path)
    assert helped.returncode == 0 and "--data-dir" in helped.stdout


def test_data_dir_alone_scores_its_application_test_into_an_excel_readable_file(twin_dir, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    done = run_cli("--data-dir", str(twin_dir), "--output", str(tmp_path / "s.csv"), "--quiet", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "60 of 60 applicants scored" in done.stdout  # D/application_test.csv, not datasets/
    raw = (tmp_path / "s.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbfSK_ID_CURR,score,")  # the BOM: Excel reads UTF-8
    text = raw.decode("utf-8-sig")
    assert ("Faible risque" in text or "Risque élevé" in text) and "â" not in text
    assert list(pd.read_csv(tmp_path / "s.csv").columns)[0] == ID_COLUMN  # pandas skips the BOM
    empty = tmp_path / "empty"
    empty.mkdir()
    missing = run_here("--data-dir", str(empty))
    assert missing.returncode == 2 and str(empty / "application_test.csv") in missing.stderr


def test_real_extract_all_applicants_scored(homecredit_sample, predictor, tmp_path):
    report = score_file(homecredit_sample / "application_test.csv", tmp_path / "real.csv", predictor=predictor,
                        data_dir=homecredit_sample, chunk_size=50, progress=False)
    assert report.rows == report.scored == 199 and not report.errors
    assert read_scores(tmp_path / "real.csv")["score"].between(0, 1).all()


def test_parquet_input_scores_like_csv(twin_dir, predictor, tmp_path):
    pd.read_csv(twin_dir / "application_test.csv").to_parquet(tmp_path / "app.parquet")
    score_file(tmp_path / "app.parquet", tmp_path / "p.csv", predictor=predictor, data_dir=twin_dir,
               chunk_size=25, progress=False)
    score_file(twin_dir / "application_test.csv", tmp_path / "c.csv", predictor=predictor, data_dir=twin_dir,
               progress=False)
    pd.testing.assert_frame_equal(read_scores(tmp_path / "p.csv"), read_scores(tmp_path / "c.csv"))
