"""The raw-tables batch in bounded memory: child tables split by applicant chunk on disk (`ChildSpill`)
give the features of the in-memory `ChildIndex` (the path before) to the bit, and `build_features` of
the whole tables (pandas sums a group's rows in another order there: equal to 1e-12)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from scoring import data, features
from scoring.child_index import ChildIndex
from scoring.child_spill import ChildSpill
from scoring.schema import CHILD_TABLES, ID_COLUMN
from serving.batch import score_file


def _whole(twin_dir) -> tuple[data.Tables, pd.DataFrame]:
    tables = data.load_tables(twin_dir, application="application_test", require_target=False, progress=False)
    return tables, features.build_features(tables, progress=False)


def _parquet_copy(twin_dir, out):
    for name in CHILD_TABLES:
        data.read_table(data.find_table(twin_dir, name), name).to_parquet(out / f"{name}.parquet", index=False)
    return out


@pytest.mark.parametrize("children_as", ["csv", "parquet"])
def test_chunks_of_a_shuffled_input_give_build_features_to_the_bit(twin_dir, tmp_path, children_as):
    tables, expected = _whole(twin_dir)
    folder = twin_dir if children_as == "csv" else _parquet_copy(twin_dir, tmp_path)
    app = tables.application.sample(frac=1.0, random_state=3).reset_index(drop=True)  # not in id order
    got, before = [], []
    in_memory = ChildIndex(tables)
    # blocks of 50 rows: every child table is read in many blocks, an applicant's rows across two
    with ChildSpill(folder, app[ID_COLUMN].to_numpy(), chunk_size=7, block_rows=50) as spill:
        for start in range(0, len(app), 5):  # input chunks straddle the spill's chunks
            part = app.iloc[start:start + 5].reset_index(drop=True)
            got.append(features.build_features(spill.restrict(part), progress=False))
            before.append(features.build_features(data.Tables.from_index(part, in_memory), progress=False))
    got_frame = pd.concat(got).loc[expected.index]
    pd.testing.assert_frame_equal(got_frame, pd.concat(before).loc[expected.index], check_exact=True)
    pd.testing.assert_frame_equal(got_frame, expected, check_exact=False, rtol=1e-12, atol=0)
    assert (expected["BUREAU_COUNT"] > 0).any() and expected["BUREAU_BB_MONTHS_COUNT_sum"].notna().any()


def test_only_the_inputs_applicants_are_kept_and_the_files_go_away(twin_dir):
    tables, expected = _whole(twin_dir)
    few = tables.application.iloc[[3, 1]].reset_index(drop=True)
    with ChildSpill(twin_dir, few[ID_COLUMN].to_numpy(), chunk_size=1) as spill:
        folder = spill._dir
        restricted = spill.restrict(few)
        bureau = restricted.bureau
        assert set(bureau[ID_COLUMN]) <= set(few[ID_COLUMN])
        assert set(restricted.bureau_balance["SK_ID_BUREAU"]) <= set(bureau["SK_ID_BUREAU"])
        pd.testing.assert_frame_equal(features.build_features(restricted, progress=False),
                                      expected.loc[few[ID_COLUMN]], check_exact=False, rtol=1e-12, atol=0)
        kept = sum(len(pd.read_pickle(p)) for p in folder.glob("bureau/*.pkl"))
        assert kept == (tables.bureau[ID_COLUMN].isin(few[ID_COLUMN])).sum() < len(tables.bureau)
        # An applicant of the input without any child row: present tables give counts 0, not NaN.
        stranger = few.assign(**{ID_COLUMN: [10**9, 10**9 + 1]})
        row = features.build_features(spill.restrict(stranger), progress=False)
        assert (row["BUREAU_COUNT"] == 0).all()
    assert not folder.exists()


def test_absent_child_table_is_missing_not_zero(twin_dir, tmp_path):
    for name in CHILD_TABLES:
        if name != "bureau":
            (tmp_path / f"{name}.csv").write_bytes((twin_dir / f"{name}.csv").read_bytes())
    tables, _ = _whole(twin_dir)
    with pytest.warns(UserWarning, match="bureau"):
        spill = ChildSpill(tmp_path, tables.application[ID_COLUMN].to_numpy(), chunk_size=10)
    with spill:
        frame = features.build_features(spill.restrict(tables.application), progress=False)
    assert frame["BUREAU_COUNT"].isna().all() and (frame["PREV_COUNT"] >= 0).all()


def test_batch_scores_of_raw_tables_equal_scores_of_build_features(twin_dir, predictor, tmp_path):
    """inference.py's raw path (spilled children, small chunks) scores as the whole tables' features do."""
    tables, frame = _whole(twin_dir)
    out = tmp_path / "scores.csv"
    report = score_file(twin_dir / "application_test.csv", out, predictor=predictor, data_dir=twin_dir,
                        chunk_size=9, progress=False)
    assert report.scored == len(frame)
    expected = np.round(predictor.predict_many(features.align_features(frame, predictor.features)), 6)
    got = pd.read_csv(out).set_index(ID_COLUMN).loc[frame.index, "score"].to_numpy()
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-6 + 1e-9)
