"""The predictor: template, exclusive groups, batch == single, reasons, monotonicity, refusals."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from scoring import schema
from scoring.artifacts import ArtifactError, sha256_of
from scoring.feature_registry import feature_label
from serving.predictor import Predictor, UnknownFeatureError
from tests.fixture_model import make_frame
from tests.helpers import VALID


def test_missing_features_come_from_the_training_medians(predictor: Predictor) -> None:
    template = predictor.artifacts.reference["template"]
    row = predictor.row({schema.EXT_SOURCE_1: 0.3})[0]
    for name, i in predictor.index.items():
        if name == schema.EXT_SOURCE_1:
            assert row[i] == pytest.approx(0.3)
        elif template[name] is None:
            assert math.isnan(row[i])  # never seen in training: missing, as XGBoost learnt it
        else:
            assert row[i] == pytest.approx(template[name], rel=1e-6)
    assert row[predictor.index["DAYS_BIRTH"]] < -5000  # a plausible age, not the impossible 0


def test_template_is_copied_per_call(predictor: Predictor) -> None:
    before = predictor.template.copy()
    predictor.predict({schema.EXT_SOURCE_1: 0.01, "DAYS_BIRTH": -9000.0})
    np.testing.assert_array_equal(predictor.template, before)


def test_choosing_one_option_zeroes_the_rest_of_its_group(predictor: Predictor) -> None:
    # The template's medians say "woman" and "secondary education" (the majority options).
    assert predictor.template[0, predictor.index[schema.GENDER_F]] == 1
    assert predictor.template[0, predictor.index[schema.EDUCATION_SECONDARY]] == 1
    row = predictor.row({schema.GENDER_M: 1, "NAME_EDUCATION_TYPE_Academic degree": 1})[0]
    assert row[predictor.index[schema.GENDER_M]] == 1
    assert row[predictor.index[schema.GENDER_F]] == 0
    assert row[predictor.index["CODE_GENDER_XNA"]] == 0
    assert row[predictor.index[schema.EDUCATION_SECONDARY]] == 0
    assert row[predictor.index[schema.EDUCATION_HIGHER]] == 0
    # A member given explicitly is kept as given.
    row = predictor.row({schema.GENDER_M: 1, schema.GENDER_F: 0})[0]
    assert (row[predictor.index[schema.GENDER_M]], row[predictor.index[schema.GENDER_F]]) == (1, 0)


def test_unknown_feature_is_refused(predictor: Predictor) -> None:
    with pytest.raises(UnknownFeatureError, match="NOT_A_FEATURE"):
        predictor.predict(VALID | {"NOT_A_FEATURE": 1.0})
    with pytest.raises(UnknownFeatureError):
        predictor.predict_many(pd.DataFrame({"NOT_A_FEATURE": [1.0]}))


def test_labels_follow_the_threshold(predictor: Predictor) -> None:
    t = predictor.threshold
    assert predictor._decide(t).label == schema.LABEL_HIGH_RISK  # at the threshold: high risk
    assert predictor._decide(t).prediction == 1
    assert predictor._decide(np.nextafter(t, 0)).label == schema.LABEL_LOW_RISK
    result = predictor.predict(VALID)
    assert result.label == schema.label_for(result.score, t)
    assert 0.0 < result.score < 1.0


def test_grey_zone_flags_review(predictor: Predictor) -> None:
    low, high = predictor.grey_zone
    assert low < predictor.threshold < high
    assert predictor._decide((low + high) / 2).review
    assert not predictor._decide(high + 0.01).review
    assert not predictor._decide(max(low - 0.01, 0.0)).review


def _random_applicants(n: int, seed: int) -> pd.DataFrame:
    frame, _ = make_frame(n, seed=seed)
    return frame


def test_batch_equals_single_exactly(predictor: Predictor) -> None:
    frame = _random_applicants(200, seed=7)
    batch = predictor.predict_many(frame)
    singles = [predictor.predict(row, explain=False).score for row in frame.to_dict("records")]
    assert batch.tolist() == singles  # bit for bit: a small batch goes through the row backend
    explained = [predictor.predict(row).score for row in frame.to_dict("records")[:50]]
    assert explained == singles[:50]  # the explaining path scores identically
    rows = [predictor.predict(r, explain=False).score for r in frame.to_dict("records")[:5]]
    assert [p.score for p in predictor.predict_rows(frame.to_dict("records")[:5])] == rows


def test_predict_many_takes_absent_columns_from_the_template(predictor: Predictor) -> None:
    frame = pd.DataFrame([VALID, VALID | {schema.EXT_SOURCE_3: 0.1}])
    scores = predictor.predict_many(frame)
    assert scores[0] == predictor.predict(VALID).score
    assert scores[1] > scores[0]  # lower external score, higher risk
    assert scores.shape == (2,)
    assert predictor.predict_many(frame.iloc[:0]).shape == (0,)


def test_scores_match_xgboost_on_full_rows(predictor: Predictor) -> None:
    frame = _random_applicants(50, seed=3)[predictor.features]
    expected = predictor.artifacts.model.inplace_predict(frame)  # the served booster (binary:logistic)
    np.testing.assert_allclose(predictor.predict_many(frame), expected, rtol=1e-6)


def test_contributions_sum_to_the_margin(predictor: Predictor) -> None:
    frame = _random_applicants(100, seed=11)
    matrix = predictor.frame_to_matrix(frame)
    contribs = predictor.contributions(matrix)
    assert contribs.shape == (100, len(predictor.features) + 1)
    np.testing.assert_allclose(contribs.sum(axis=1), predictor.margin(matrix), atol=1e-4)
    # and the margin is the score's log-odds
    scores = predictor.predict_many(frame).astype(float)
    np.testing.assert_allclose(1 / (1 + np.exp(-predictor.margin(matrix))), scores, rtol=1e-5)


def test_reasons_of_a_bare_form_are_its_fields_with_french_names(predictor: Predictor) -> None:
    features = VALID | {schema.EXT_SOURCE_1: 0.05, schema.EXT_SOURCE_2: 0.05}
    result = predictor.predict(features)
    listed = result.reasons_up + result.reasons_down
    assert listed and {r.feature for r in listed} <= set(features)  # only the fields entered
    assert all(r.contribution > 0 for r in result.reasons_up)
    assert all(r.contribution < 0 for r in result.reasons_down)
    ups = [r.contribution for r in result.reasons_up]
    assert ups == sorted(ups, reverse=True)
    contribs = predictor.contributions(predictor.row(features))[0][:-1]
    given = [predictor.index[n] for n in features]
    assert result.reasons_up[0].feature == predictor.features[given[int(np.argmax(contribs[given]))]]
    labels = {r.feature: r.label for r in listed}
    for name, label in labels.items():
        assert label == feature_label(name)
    assert "Score externe 1" in labels.values()  # a very low external score pushes the risk up
    rest = result.reasons.rest  # the 378 median-filled features in one line
    assert rest is not None and rest.features == len(predictor.features) - len(features)
    assert rest.contribution == pytest.approx(contribs.sum() - contribs[given].sum(), abs=1e-9)


@pytest.mark.parametrize("feature", [schema.EXT_SOURCE_1, schema.EXT_SOURCE_2, schema.EXT_SOURCE_3])
def test_a_lower_external_score_never_lowers_the_risk(predictor: Predictor, feature: str) -> None:
    frame = _random_applicants(300, seed=5).fillna({feature: 0.5})
    lower = frame.assign(**{feature: frame[feature] * 0.5})
    base, worse = predictor.predict_many(frame), predictor.predict_many(lower)
    assert (worse >= base).all()
    assert (worse > base).any()  # the feature matters, so the check above can fail


def test_unused_feature_does_not_change_the_score(predictor: Predictor) -> None:
    # ALL_MISSING was NaN in every training row: the trees never split on it.
    assert predictor.predict(VALID | {"ALL_MISSING": 123.0}).score == predictor.predict(VALID).score


# --- refusing bad artifact folders --------------------------------------------------------------

@pytest.fixture()
def copied(model_dir: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(model_dir, tmp_path / "copy"))


def test_a_good_copy_loads(copied: Path) -> None:
    assert Predictor.from_dir(copied).model_version


def test_an_altered_file_is_refused(copied: Path) -> None:
    doc = json.loads((copied / schema.THRESHOLD_FILE).read_text())
    doc["threshold"] = 0.99
    (copied / schema.THRESHOLD_FILE).write_text(json.dumps(doc))
    with pytest.raises(ArtifactError, match="threshold.json.*checksum"):
        Predictor.from_dir(copied)


def test_a_missing_file_is_refused(copied: Path) -> None:
    (copied / schema.MODEL_FILE).unlink()
    with pytest.raises(ArtifactError, match="best_model.pkl is missing"):
        Predictor.from_dir(copied)


def test_a_feature_list_disagreeing_with_the_model_is_refused(copied: Path) -> None:
    features = (copied / schema.FEATURES_FILE).read_text().splitlines()
    (copied / schema.FEATURES_FILE).write_text("\n".join(reversed(features)) + "\n")
    manifest = json.loads((copied / schema.MANIFEST_FILE).read_text())
    manifest["files"][schema.FEATURES_FILE] = sha256_of(copied / schema.FEATURES_FILE)  # checksum made to agree
    (copied / schema.MANIFEST_FILE).write_text(json.dumps(manifest))
    with pytest.raises(ArtifactError, match="features"):
        Predictor.from_dir(copied)


def test_a_missing_folder_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ArtifactError, match="does not exist"):
        Predictor.from_dir(tmp_path / "nowhere")


def test_the_fixture_serves_with_the_compiled_trees_and_treeshap(predictor: Predictor) -> None:
    assert predictor.backends == {"row": "numba", "batch": "xgboost", "reasons": "treeshap-numba"}
    assert predictor.info()["backends"] == predictor.backends


def test_the_row_scorer_is_thread_safe(predictor: Predictor) -> None:
    from concurrent.futures import ThreadPoolExecutor

    matrix = predictor.frame_to_matrix(_random_applicants(200, seed=13))
    expected = [predictor.score_row(matrix[i:i + 1]) for i in range(200)]
    with ThreadPoolExecutor(4) as pool:
        threaded = list(pool.map(lambda i: predictor.score_row(matrix[i:i + 1]), range(200)))
    assert threaded == expected


def test_the_fast_score_is_the_predicted_score(predictor: Predictor) -> None:
    assert predictor.score(VALID) == predictor.predict(VALID, explain=False).score == predictor.predict(VALID).score


def test_rows_from_names_and_values_equal_rows_from_mappings(predictor: Predictor) -> None:
    names, values = tuple(VALID), tuple(VALID.values())
    np.testing.assert_array_equal(predictor.row_of(names, values), predictor.row(VALID))
    assert predictor.score_values(names, values) == predictor.predict(VALID).score
    # the cached plan does not leak one call's values into the next
    woman = VALID | {schema.GENDER_M: 0, schema.GENDER_F: 1}
    assert predictor.score_values(names, tuple(woman.values())) == predictor.predict(woman).score
    row = predictor.row({schema.EXT_SOURCE_1: None, schema.GENDER_M: 1})[0]
    assert math.isnan(row[predictor.index[schema.EXT_SOURCE_1]]) and row[predictor.index[schema.GENDER_F]] == 0
    with pytest.raises(ValueError, match="twice"):
        predictor.row_of((schema.EXT_SOURCE_1, schema.EXT_SOURCE_1), (0.1, 0.2))
    with pytest.raises(UnknownFeatureError):
        predictor.row_of(("NOPE",), (1.0,))


def test_the_plan_cache_stays_bounded(predictor: Predictor, monkeypatch: pytest.MonkeyPatch) -> None:
    import serving.predictor

    monkeypatch.setattr(serving.predictor, "MAX_CACHED_PLANS", 5)
    for name in predictor.features[:20]:
        predictor.row({name: 0.0})
    assert len(predictor._plans) <= 5


def test_reasons_are_the_three_strongest_each_way_on_many_applicants(predictor: Predictor) -> None:
    for row in _random_applicants(60, seed=21).to_dict("records"):
        full = dict(zip(predictor.features, predictor.template[0].tolist(), strict=True)) | row  # a dossier's row
        result = predictor.predict(full)
        contribs = predictor.contributions(predictor.row(full))[0][:-1]
        order = np.argsort(contribs)
        expected_up = [predictor.features[i] for i in order[::-1][:3] if contribs[i] > 0]
        expected_down = [predictor.features[i] for i in order[:3] if contribs[i] < 0]
        assert [r.feature for r in result.reasons_up] == expected_up
        assert [r.feature for r in result.reasons_down] == expected_down
        assert result.reasons.rest is None  # everything was given
        unlisted = result.reasons.unlisted
        assert unlisted.features == len(predictor.features) - len(expected_up) - len(expected_down)
