"""Training: threshold from the OOF sweep, metrics, artifacts that load and agree, behaviour."""

from __future__ import annotations

import json

import numpy as np
import pytest

from scoring.artifacts import ArtifactError, load_artifacts, write_artifacts
from scoring.cost import best_threshold
from scoring.plots import PLOT_FILES, chart_images, save_plots
from scoring.schema import MANIFEST_FILE, MODEL_FILE, SCORE_KEY, THRESHOLD_FILE, UI_FEATURE_NAMES
from scoring.training import train_model


def test_threshold_is_the_oof_cost_minimum(small_training):
    _, _, _, cfg, result = small_training
    y_oof = result.oof_target
    want = best_threshold(y_oof, result.oof_scores, cfg.cost_fn, cfg.cost_fp)
    assert result.threshold["threshold"] == want.threshold
    assert result.threshold["grey_zone"] == {"low": want.grey_low, "high": want.grey_high}
    assert result.threshold["selected_on"] == "out-of-fold"


def test_metrics_report_holdout_and_oracle(small_training):
    _, y, _, _, result = small_training
    m = result.metrics
    assert 0.5 < m["auc"] <= m["oracle_auc"] + 0.05
    assert m["auc_to_oracle"] == pytest.approx(m["auc"] / m["oracle_auc"])
    assert m["rows"]["train"] + m["rows"]["holdout"] == len(y)
    c = m["confusion"]
    assert sum(c.values()) == m["rows"]["holdout"]
    assert m["business_cost"] == 10 * c["fn"] + 1 * c["fp"]
    assert 0 <= m["recall"] <= 1 and 0 <= m["precision"] <= 1
    assert m["baseline_ext_source_logreg_cv_auc"] > 0.5
    assert 0 <= m["calibration"]["brier"] <= 1


def test_lower_ext_source_never_lowers_risk(small_training):
    frame, _, _, _, result = small_training
    rows = frame.dropna().sample(200, random_state=0).astype("float32")
    base = result.model.predict_proba(rows)[:, 1]
    for name in ("EXT_SOURCE_1", "EXT_SOURCE_2", "EXT_SOURCE_3"):
        for delta, direction in ((-0.3, 1), (0.3, -1)):
            moved = rows.copy()
            moved[name] = rows[name] + delta
            change = result.model.predict_proba(moved)[:, 1] - base
            assert (direction * change >= -1e-7).all(), f"{name} {delta:+}"


def test_reference_covers_ui_features_and_score(small_training):
    frame, _, _, _, result = small_training
    ref = result.reference
    assert set(ref["features"]) == set(UI_FEATURE_NAMES) | {SCORE_KEY}
    assert ref["features"]["CODE_GENDER_F"]["kind"] == "binary"
    assert ref["features"][SCORE_KEY]["kind"] == "continuous"
    assert set(ref["template"]) == set(frame.columns)
    assert ref["template"]["DAYS_BIRTH"] == pytest.approx(frame["DAYS_BIRTH"].iloc[:].median(), rel=0.05)


def test_artifacts_round_trip_and_refuse_tampering(small_training, tmp_path):
    _, _, _, _, result = small_training
    write_artifacts(tmp_path, model=result.model, features=result.features, threshold=result.threshold,
                    metrics=result.metrics, reference=result.reference)
    loaded = load_artifacts(tmp_path)
    assert loaded.features == result.features == list(loaded.model.feature_names)
    assert loaded.threshold["threshold"] == result.threshold["threshold"]
    assert len(loaded.model_version) == 12
    x = np.zeros((1, len(loaded.features)), dtype=np.float32)
    assert loaded.model.inplace_predict(x)[0] == pytest.approx(result.model.predict_proba(x)[0, 1])

    threshold_path = tmp_path / THRESHOLD_FILE
    threshold_path.write_text(json.dumps({"threshold": 0.01}))
    with pytest.raises(ArtifactError, match="does not match its checksum"):
        load_artifacts(tmp_path)


def test_missing_files_and_feature_mismatch_are_refused(small_training, tmp_path):
    _, _, _, _, result = small_training
    with pytest.raises(ArtifactError, match="does not exist"):
        load_artifacts(tmp_path / "nowhere")
    write_artifacts(tmp_path, model=result.model, features=list(reversed(result.features)),
                    threshold=result.threshold, metrics=result.metrics, reference=result.reference)
    with pytest.raises(ArtifactError, match="features"):
        load_artifacts(tmp_path)
    (tmp_path / MODEL_FILE).unlink()
    with pytest.raises(ArtifactError, match="missing"):
        load_artifacts(tmp_path)
    (tmp_path / MANIFEST_FILE).unlink()
    with pytest.raises(ArtifactError, match="manifest.json is missing"):
        load_artifacts(tmp_path)


def test_plots_are_written(small_training, tmp_path):
    *_, result = small_training
    paths = save_plots(chart_images(result), tmp_path)
    assert [p.name for p in paths] == list(PLOT_FILES) == ["roc.png", "cost_threshold.png"]
    assert all(p.read_bytes()[:4] == b"\x89PNG" for p in paths)


def test_single_class_target_is_refused(small_training):
    frame, _, _, cfg, _ = small_training
    with pytest.raises(ValueError, match="both 0 and 1"):
        train_model(frame, np.zeros(len(frame)), cfg, quiet=True)


def test_reference_scores_are_what_the_service_computes(small_training, tmp_path):
    """The score reference of drift monitoring = the predictor's score for the form features."""
    from scoring.schema import UI_FEATURE_NAMES
    from scoring.training import served_scores
    from serving.predictor import Predictor

    frame, _, _, _, result = small_training
    write_artifacts(tmp_path, model=result.model, features=result.features, threshold=result.threshold,
                    metrics=result.metrics, reference=result.reference)
    predictor = Predictor.from_dir(tmp_path)
    rows = frame.dropna(subset=list(UI_FEATURE_NAMES)).head(50).astype("float32")
    template = result.reference["template"]  # the training rows' medians
    expected = served_scores(result.model, frame.astype("float32"), template)[rows.index]
    got = [predictor.predict({n: float(r[n]) for n in UI_FEATURE_NAMES}, explain=False).score
           for _, r in rows.iterrows()]
    np.testing.assert_allclose(got, expected, atol=1e-6)
