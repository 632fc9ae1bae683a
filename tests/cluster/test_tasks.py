"""The functions the workers run, called in this process (fast; the slow tests run them on a cluster)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from cluster.batch import _children_dir, drop_repeated, score_part
from cluster.features import part_features
from cluster.training import _with_split
from scoring import config, features
from scoring.partition import TRUE_PROBABILITY_COLUMN, part_name
from scoring.schema import TARGET_COLUMN
from scoring.tuning import best_mean_round
from tests.cluster.conftest import PARTS


def test_part_features_are_build_features_of_the_part(layout, twin):
    frame = part_features(layout / part_name(1))
    ids = frame.index.to_numpy()
    assert (ids % PARTS == 1).all() and len(ids) > 0
    expected = features.build_features(twin.tables.restrict(ids), progress=False)
    pd.testing.assert_frame_equal(frame[expected.columns].sort_index(), expected.sort_index())
    app = twin.tables.application.set_index("SK_ID_CURR")
    assert np.array_equal(frame[TARGET_COLUMN].to_numpy(), app.loc[ids, TARGET_COLUMN].to_numpy())
    assert np.allclose(frame[TRUE_PROBABILITY_COLUMN], twin.true_probability.loc[ids])
    split = _with_split(frame, 42, 0.2, 3)["_SPLIT"]
    assert set(split) <= {-1, 0, 1, 2}


def test_children_of_a_mixed_file_are_gathered(layout, twin, tmp_path):
    app = twin.test_application.iloc[:40]
    app.to_csv(tmp_path / "mixed.csv", index=False)
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    folder = _children_dir(tmp_path / "mixed.csv", layout, PARTS, scratch)
    assert folder == scratch
    ids = app["SK_ID_CURR"].to_numpy()
    expected = twin.tables.restrict(ids)
    assert not (folder / "application_train.parquet").exists()  # only child tables are gathered
    bureau = pd.read_parquet(folder / "bureau.parquet")
    assert sorted(bureau["SK_ID_BUREAU"]) == sorted(expected.bureau["SK_ID_BUREAU"])
    balance = pd.read_parquet(folder / "bureau_balance.parquet")
    assert len(balance) == len(expected.bureau_balance)
    one_part = app[app["SK_ID_CURR"] % PARTS == 2]
    one_part.to_csv(tmp_path / "aligned.csv", index=False)
    assert _children_dir(tmp_path / "aligned.csv", layout, PARTS, scratch) == layout / part_name(2)


def test_score_part_and_drop_repeated(layout, twin, tmp_path):
    app = twin.test_application.iloc[:30]
    app.to_csv(tmp_path / "in.csv", index=False)
    from scoring.artifacts import verify_manifest

    version = verify_manifest(config.MODELS_DIR)["model_version"]
    result = score_part(3, str(tmp_path / "in.csv"), str(tmp_path), str(config.MODELS_DIR), version,
                        str(layout), PARTS, 10)
    assert (result["rows"], result["scored"]) == (30, 30)
    assert sorted(result["ids"]) == sorted(app["SK_ID_CURR"])
    output = tmp_path / f"{part_name(3)}.csv"
    lines = drop_repeated(str(output), str(tmp_path / "in.csv"), np.array(app["SK_ID_CURR"].iloc[[4, 7]]))
    assert lines == [(6, str(app["SK_ID_CURR"].iloc[4])), (9, str(app["SK_ID_CURR"].iloc[7]))]
    assert len(pd.read_csv(output)) == 28
    (tmp_path / "bad.csv").write_text("")
    failed = score_part(4, str(tmp_path / "bad.csv"), str(tmp_path), str(config.MODELS_DIR), version, None, None, 10)
    assert "failed" in failed


def test_rounds_are_the_best_round_of_the_mean_curve():
    """The rule both engines share: a fold's late peak on noise does not pull the round count up."""
    late_peak = [0.80, 0.81, 0.70, 0.70, 0.84]
    early_peak = [0.80, 0.83, 0.82, 0.81, 0.60]
    assert best_mean_round([late_peak, early_peak], 5) == 2  # mean curve 0.80, 0.82, 0.76, 0.755, 0.72
    assert np.mean([np.argmax(late_peak) + 1, np.argmax(early_peak) + 1]) == 3.5  # the former rule
    # a fold stopped early keeps its last value up to max_rounds
    assert best_mean_round([[0.7, 0.9], [0.6, 0.7, 0.8, 0.95]], 4) == 4  # 0.65, 0.8, 0.85, 0.925
