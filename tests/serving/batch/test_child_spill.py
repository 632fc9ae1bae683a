"""The raw-tables batch in bounded memory: child tables split by applicant piece on disk (`ChildSpill`)
give the features of the in-memory `ChildIndex` (the path before) to the bit, and `build_features` of
the whole tables (pandas sums a group's rows in another order there: equal to 1e-12), whatever the
pieces, the input chunks and the blocks the child tables are read in."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from scoring import child_spill, data, features
from scoring.child_index import ChildIndex
from scoring.child_spill import ChildSpill
from scoring.schema import CHILD_TABLES, ID_COLUMN
from scoring.tables import BUREAU_ID
from serving.batch import score_file
from tests.helpers import SHARED_SAMPLE

REAL_5K = SHARED_SAMPLE.parent / "homecredit_5k"


def _whole(twin_dir) -> tuple[data.Tables, pd.DataFrame]:
    tables = data.load_tables(twin_dir, application="application_test", require_target=False, progress=False)
    return tables, features.build_features(tables, progress=False)


def _parquet_copy(twin_dir, out):
    for name in CHILD_TABLES:
        data.read_table(data.find_table(twin_dir, name), name).to_parquet(out / f"{name}.parquet", index=False)
    return out


def _spilled_and_in_memory(folder, tables, app, piece, chunk, block_rows=None):
    """Features of `app` by input chunks of `chunk` rows, from a spill in pieces of `piece` and from `ChildIndex`."""
    got, before = [], []
    in_memory = ChildIndex(tables)
    with ChildSpill(folder, app[ID_COLUMN].to_numpy(), piece, block_rows=block_rows) as spill:
        for start in range(0, len(app), chunk):
            part = app.iloc[start:start + chunk].reset_index(drop=True)
            got.append(features.build_features(spill.restrict(part), progress=False))
            before.append(features.build_features(data.Tables.from_index(part, in_memory), progress=False))
    return pd.concat(got), pd.concat(before)


@pytest.mark.parametrize("children_as", ["csv", "parquet"])
def test_chunks_of_a_shuffled_input_give_build_features_to_the_bit(twin_dir, tmp_path, children_as):
    tables, expected = _whole(twin_dir)
    folder = twin_dir if children_as == "csv" else _parquet_copy(twin_dir, tmp_path)
    app = tables.application.sample(frac=1.0, random_state=3).reset_index(drop=True)  # not in id order
    # blocks of 50 rows: every child table is read in many blocks, an applicant's rows across two;
    # input chunks of 5 rows straddle the pieces of 7 (the pieces then hold applicants of other chunks)
    got, before = _spilled_and_in_memory(folder, tables, app, piece=7, chunk=5, block_rows=50)
    pd.testing.assert_frame_equal(got.loc[expected.index], before.loc[expected.index], check_exact=True)
    pd.testing.assert_frame_equal(got.loc[expected.index], expected, check_exact=False, rtol=1e-12, atol=0)
    assert (expected["BUREAU_COUNT"] > 0).any() and expected["BUREAU_BB_MONTHS_COUNT_sum"].notna().any()


def test_only_the_inputs_applicants_are_kept_and_the_files_go_away(twin_dir):
    tables, expected = _whole(twin_dir)
    few = tables.application.iloc[[3, 1]].reset_index(drop=True)
    with ChildSpill(twin_dir, few[ID_COLUMN].to_numpy(), 1) as spill:
        folder = spill._dir
        restricted = spill.restrict(few)
        bureau = restricted.bureau
        assert set(bureau[ID_COLUMN]) <= set(few[ID_COLUMN])
        assert set(restricted.bureau_balance["SK_ID_BUREAU"]) <= set(bureau["SK_ID_BUREAU"])
        pd.testing.assert_frame_equal(features.build_features(restricted, progress=False),
                                      expected.loc[few[ID_COLUMN]], check_exact=False, rtol=1e-12, atol=0)
        kept = sum(len(pd.read_pickle(p)) for p in folder.glob("bureau/*.pkl"))
        assert kept == (tables.bureau[ID_COLUMN].isin(few[ID_COLUMN])).sum() < len(tables.bureau)
        # One applicant of a piece alone: only its rows, not its piece-mate's.
        one = spill.restrict(few.iloc[[1]].reset_index(drop=True))
        assert set(one.bureau[ID_COLUMN]) <= {few[ID_COLUMN].iloc[1]}
        # An applicant of the input without any child row: present tables give counts 0, not NaN.
        stranger = few.assign(**{ID_COLUMN: [10**9, 10**9 + 1]})
        row = features.build_features(spill.restrict(stranger), progress=False)
        assert (row["BUREAU_COUNT"] == 0).all()
    assert not folder.exists()


def test_a_chunk_holding_part_of_a_piece_keeps_only_its_applicants(twin_dir):
    tables, expected = _whole(twin_dir)
    app = tables.application
    with ChildSpill(twin_dir, app[ID_COLUMN].to_numpy(), 10) as spill:
        part = app.iloc[17:22].reset_index(drop=True)  # 3 applicants of piece 1, 2 of piece 2
        restricted = spill.restrict(part)
        for name in ("bureau", "previous_application", "pos_cash", "installments", "credit_card"):
            assert set(getattr(restricted, name)[ID_COLUMN]) <= set(part[ID_COLUMN])
        assert set(restricted.bureau_balance[BUREAU_ID]) <= set(restricted.bureau[BUREAU_ID])
        pd.testing.assert_frame_equal(features.build_features(restricted, progress=False),
                                      expected.loc[part[ID_COLUMN]], check_exact=False, rtol=1e-12, atol=0)
        now, later = spill.split_last_piece(part)
        assert now[ID_COLUMN].tolist() == part[ID_COLUMN].iloc[:3].tolist()
        assert later[ID_COLUMN].tolist() == part[ID_COLUMN].iloc[3:].tolist()


def test_a_complete_last_piece_is_not_held_back(twin_dir):
    """Only a last piece that a later chunk may complete waits: when all its applicants are in the chunk
    (the whole input, or an input cut on a piece's edge), the chunk is scored at once."""
    app = _whole(twin_dir)[0].application
    with ChildSpill(twin_dir, app[ID_COLUMN].to_numpy(), 10) as spill:
        now, later = spill.split_last_piece(app)
        assert len(now) == len(app) and later.empty
        now, later = spill.split_last_piece(app.iloc[:20])  # pieces 0 and 1, both whole
        assert len(now) == 20 and later.empty
        now, later = spill.split_last_piece(app.iloc[:25])  # half of piece 2: it waits
        assert now[ID_COLUMN].tolist() == app[ID_COLUMN].iloc[:20].tolist()
        assert later[ID_COLUMN].tolist() == app[ID_COLUMN].iloc[20:25].tolist()
        now, later = spill.split_last_piece(pd.concat([later, app.iloc[25:30]], ignore_index=True))
        assert now[ID_COLUMN].tolist() == app[ID_COLUMN].iloc[20:30].tolist() and later.empty


def test_a_file_within_one_chunk_is_featurised_once(twin_dir, predictor, tmp_path, monkeypatch):
    """Every chunk pays the features' fixed cost: a file that fits in one chunk makes one call, whatever the
    number of pieces it spans."""
    calls = []
    build = features.build_features
    monkeypatch.setattr(features, "build_features", lambda tables, **kw: calls.append(len(tables.application))
                        or build(tables, **kw))
    monkeypatch.setattr("serving.batch.PIECE_SIZE", 7)  # 60 applicants: 9 pieces, the last one of 4
    report = score_file(twin_dir / "application_test.csv", tmp_path / "out.csv", predictor=predictor,
                        data_dir=twin_dir, progress=False)
    assert report.scored == 60 and calls == [60]


def test_absent_child_table_is_missing_not_zero(twin_dir, tmp_path):
    for name in CHILD_TABLES:
        if name != "bureau":
            (tmp_path / f"{name}.csv").write_bytes((twin_dir / f"{name}.csv").read_bytes())
    tables, _ = _whole(twin_dir)
    with pytest.warns(UserWarning, match="bureau"):
        spill = ChildSpill(tmp_path, tables.application[ID_COLUMN].to_numpy(), 10)
    with spill:
        frame = features.build_features(spill.restrict(tables.application), progress=False)
    assert frame["BUREAU_COUNT"].isna().all() and (frame["PREV_COUNT"] >= 0).all()


@pytest.mark.parametrize("children_as", ["csv", "parquet"])
def test_empty_child_tables_give_counts_zero(twin_dir, tmp_path, children_as):
    """Child tables with a header and no row: every count 0 (the table is there), aggregates NaN."""
    for name in CHILD_TABLES:
        empty = data.read_table(data.find_table(twin_dir, name), name).iloc[:0]
        if children_as == "csv":
            empty.to_csv(tmp_path / f"{name}.csv", index=False)
        else:
            pq.write_table(pa.Table.from_pandas(empty, preserve_index=False), tmp_path / f"{name}.parquet")
    tables, _ = _whole(twin_dir)
    with ChildSpill(tmp_path, tables.application[ID_COLUMN].to_numpy(), 7) as spill:
        assert spill.bytes_spilled == 0 and spill.chunk_size(1) == 7
        frame = features.build_features(spill.restrict(tables.application), progress=False)
    empty_children = {data.FIELD_OF_TABLE[n]: data.read_table(data.find_table(tmp_path, n), n) for n in CHILD_TABLES}
    expected = features.build_features(data.Tables(application=tables.application, **empty_children), progress=False)
    pd.testing.assert_frame_equal(frame, expected, check_exact=True)
    assert (frame[["BUREAU_COUNT", "PREV_COUNT", "POS_COUNT", "INSTAL_COUNT", "CRECARD_COUNT"]] == 0).all().all()


def test_chunk_size_follows_the_child_rows_per_applicant(twin_dir, tmp_path):
    """More child rows an applicant, fewer applicants a chunk; whole pieces, at least one."""
    tables, _ = _whole(twin_dir)
    ids = tables.application[ID_COLUMN].to_numpy()
    dense = tmp_path / "dense"
    dense.mkdir()
    for name in CHILD_TABLES:  # every child row three times: three times the bytes an applicant
        frame = data.read_table(data.find_table(twin_dir, name), name)
        pd.concat([frame] * 3, ignore_index=True).to_parquet(dense / f"{name}.parquet", index=False)
    with ChildSpill(twin_dir, ids, 5) as plain, ChildSpill(dense, ids, 5) as thick:
        assert 2.5 < thick.bytes_spilled / plain.bytes_spilled < 3.5
        budget = int(plain.bytes_spilled / len(ids) * 32)  # the child rows of 32 plain applicants
        assert plain.chunk_size(budget) == 30  # 6 whole pieces
        assert thick.chunk_size(budget) in (5, 10)  # about a third of that, in whole pieces
        assert plain.chunk_size(1) == thick.chunk_size(1) == 5  # never less than a piece
        assert plain.chunk_size() % 5 == 0


@pytest.mark.parametrize("chunk_size", [1, 9, 10_000])
def test_batch_scores_of_raw_tables_equal_scores_of_build_features(twin_dir, predictor, tmp_path, chunk_size):
    """inference.py's raw path (spilled children; input chunks of one applicant, of 9 rows cut by bytes so
    that they straddle the pieces, of the whole file) scores each applicant once, as the whole tables'
    features do."""
    tables, frame = _whole(twin_dir)
    out = tmp_path / "scores.csv"
    report = score_file(twin_dir / "application_test.csv", out, predictor=predictor, data_dir=twin_dir,
                        chunk_size=chunk_size, progress=False)
    assert report.scored == len(frame)
    expected = np.round(predictor.predict_many(features.align_features(frame, predictor.features)), 6)
    scores = pd.read_csv(out)
    assert scores[ID_COLUMN].is_unique and scores[ID_COLUMN].tolist() == frame.index.tolist()  # file order
    got = scores.set_index(ID_COLUMN).loc[frame.index, "score"].to_numpy()
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-6 + 1e-9)


def test_byte_budget_chunks_and_refused_rows_score_as_build_features(twin_dir, predictor, tmp_path, monkeypatch):
    """A budget of a few applicants' child rows (chunks of one piece), refused rows among them (their
    pieces then hold applicants that are not scored): the others score as the whole tables' features."""
    app = pd.read_csv(twin_dir / "application_test.csv", dtype=str)
    app.loc[[4, 23, 41], "AMT_CREDIT"] = "lots"
    app.to_csv(tmp_path / "bad.csv", index=False)
    monkeypatch.setattr(child_spill, "CHILD_BYTES_BUDGET", 1)
    monkeypatch.setattr(child_spill, "PIECE_SIZE", 6)
    monkeypatch.setattr("serving.batch.PIECE_SIZE", 6)
    report = score_file(tmp_path / "bad.csv", tmp_path / "out.csv", predictor=predictor, data_dir=twin_dir,
                        progress=False)
    assert sorted(e.line for e in report.errors) == [6, 25, 43] and report.scored == 57
    _, frame = _whole(twin_dir)
    frame = frame.drop(index=[int(app.loc[i, ID_COLUMN]) for i in (4, 23, 41)])
    expected = np.round(predictor.predict_many(features.align_features(frame, predictor.features)), 6)
    got = pd.read_csv(tmp_path / "out.csv").set_index(ID_COLUMN).loc[frame.index, "score"].to_numpy()
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-6 + 1e-9)


@pytest.mark.slow
def test_real_extract_spilled_equals_build_features():
    """The 5,000 real applicants (real quirks, real numbers of rows per applicant), shuffled, by chunks
    of 300 over pieces of 250: equal to `ChildIndex` to the bit, to `build_features` of the whole tables."""
    if not (REAL_5K / "application_train.csv.gz").is_file():
        pytest.skip(f"real Home Credit extract not found at {REAL_5K}")
    with pytest.warns(UserWarning, match="installments"):  # the extract has no installments_payments
        tables = data.load_tables(REAL_5K, progress=False)
    app = tables.application.drop(columns=["TARGET"]).sample(n=1_500, random_state=5).reset_index(drop=True)
    expected = features.build_features(data.Tables(application=app, **{
        f: getattr(tables, f) for f in data.FIELD_OF_TABLE.values()}), progress=False)
    with pytest.warns(UserWarning, match="installments"):
        got, before = _spilled_and_in_memory(REAL_5K, tables, app, piece=250, chunk=300, block_rows=20_000)
    pd.testing.assert_frame_equal(got, before, check_exact=True)
    pd.testing.assert_frame_equal(got, expected, check_exact=False, rtol=1e-12, atol=0)
    assert expected["BUREAU_COUNT"].gt(0).mean() > 0.5 and expected["INSTAL_COUNT"].isna().all()
