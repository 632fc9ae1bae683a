"""Model audit: intervals that cover, warnings that fire when they should, fairness by hand, the report."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm

from scoring.evaluation import audit_warnings, corrected_diff, holdout_intervals
from scoring.fairness import age_groups, audit_groups, gender_groups, gender_switch
from scoring.plots import chart_images
from scoring.report import build_report
from scoring.schema import REPORT_FILE
from scoring.training import drop_features, train_model
from scoring.tuning import tune


def binormal(n_pos: int, n_neg: int, separation: float, rng) -> tuple[np.ndarray, np.ndarray]:
    """Scores whose true AUC is Phi(separation / sqrt(2))."""
    y = np.r_[np.ones(n_pos, int), np.zeros(n_neg, int)]
    s = np.r_[rng.normal(separation, 1, n_pos), rng.normal(0, 1, n_neg)]
    return y, 1 / (1 + np.exp(-(s - 2)))


def test_bootstrap_interval_covers_a_known_auc():
    rng = np.random.default_rng(0)
    true_auc = norm.cdf(1.0 / np.sqrt(2))
    covered, widths = 0, []
    for _ in range(40):
        y, s = binormal(80, 920, 1.0, rng)
        iv = holdout_intervals(y, s, 0.1, 10, 1, n_boot=300, seed=int(rng.integers(1 << 30)))["auc"]
        covered += iv["low"] <= true_auc <= iv["high"]
        widths.append(iv["high"] - iv["low"])
    assert covered >= 34  # nominal 95 %: 38 of 40 expected; 34 leaves room for chance
    assert 0.05 < np.mean(widths) < 0.15  # about ±0.035 for 80 positives


def test_paired_difference_interval_sees_a_real_gain_and_not_a_null_one():
    rng = np.random.default_rng(1)
    y, strong = binormal(150, 1350, 1.4, rng)
    noise = rng.normal(0, 0.02, y.size)
    iv = holdout_intervals(y, strong, 0.1, 10, 1, baseline_scores=strong + noise * 50, n_boot=300, seed=2)
    assert iv["auc_minus_baseline"]["low"] > 0  # the noisier baseline is beaten
    same = holdout_intervals(y, strong, 0.1, 10, 1, baseline_scores=strong + noise * 1e-6, n_boot=300, seed=2)
    assert same["auc_minus_baseline"]["low"] <= 0 <= same["auc_minus_baseline"]["high"]


def test_corrected_interval_is_wider_than_the_naive_one():
    diffs = np.array([0.01, 0.03, -0.01, 0.02, 0.0, 0.015, 0.025, -0.005, 0.01, 0.02])
    out = corrected_diff(diffs, test_share=1 / 4)
    naive = 2.262 * diffs.std(ddof=1) / np.sqrt(diffs.size)
    assert out["mean"] == pytest.approx(diffs.mean())
    assert (out["high"] - out["low"]) / 2 > naive
    assert corrected_diff(diffs + 0.05, 1 / 4)["low"] > 0


def metrics_doc(**over):
    doc = {"rows": {"defaults": 2400}, "intervals": {"auc": {"low": 0.84, "high": 0.87}},
           "cv_vs_baseline": {"mean": 0.04, "low": 0.03, "high": 0.05}, "cv_fold_rounds": [90, 100, 85],
           "grey_zone": {"low": 0.06, "high": 0.13}, "oof_business_cost_per_applicant": 0.41,
           "oof_cost_accept_all_per_applicant": 0.8}
    return doc | over


def test_warning_rules():
    assert audit_warnings(metrics_doc()) == []
    codes = {w["code"] for w in audit_warnings(metrics_doc(
        rows={"defaults": 70}, cv_vs_baseline={"mean": -0.003, "low": -0.03, "high": 0.02},
        cv_fold_rounds=[27, 74, 55, 6, 2], grey_zone={"low": 0.071, "high": 0.074},
        oof_business_cost_per_applicant=0.79))}
    assert codes == {"few_defaults", "no_gain_over_baseline", "early_stop", "degenerate_grey_zone",
                     "cost_near_accept_all"}


def test_committed_default_model_has_no_warning():
    from scoring import config
    from scoring.artifacts import load_artifacts

    artifacts = load_artifacts(config.MODELS_DIR)
    metrics = artifacts.metrics
    assert metrics["data_source"]["kind"] == "synthetic"
    assert metrics["warnings"] == []
    assert metrics["cv_vs_baseline"]["low"] > 0
    assert REPORT_FILE in artifacts.manifest["files"]  # the report ships with the model, checksummed
    assert artifacts.manifest["model_version"] in (config.MODELS_DIR / REPORT_FILE).read_text(encoding="utf-8")
    # serving budget of exact TreeSHAP reasons: shallow trees, a few hundred at most
    assert metrics["hyperparameters"]["max_depth"] <= 4 and metrics["n_rounds"] <= 500


def test_fairness_matches_a_hand_computation():
    # group A: 60 applicants, 10 defaults; group B: 60 applicants, 20 defaults
    y = np.r_[np.ones(10), np.zeros(50), np.ones(20), np.zeros(40)].astype(int)
    refused_a = np.r_[np.ones(6), np.zeros(4), np.ones(5), np.zeros(45)]  # TP 6, FN 4, FP 5, TN 45
    refused_b = np.r_[np.ones(15), np.zeros(5), np.ones(12), np.zeros(28)]  # TP 15, FN 5, FP 12, TN 28
    scores = np.r_[refused_a, refused_b] * 0.5 + 0.2  # 0.7 refused, 0.2 approved at threshold 0.5
    groups = pd.Series(["A"] * 60 + ["B"] * 60)
    out = audit_groups(y, scores, 0.5, groups)
    a, b = out["groups"]["A"], out["groups"]["B"]
    assert a["n"] == b["n"] == 60
    assert a["approval_rate"] == pytest.approx(49 / 60) and b["approval_rate"] == pytest.approx(33 / 60)
    assert a["fnr"] == pytest.approx(4 / 10) and b["fnr"] == pytest.approx(5 / 20)
    assert a["fpr"] == pytest.approx(5 / 50) and b["fpr"] == pytest.approx(12 / 40)
    assert out["approval_ratio"] == pytest.approx((33 / 60) / (49 / 60))
    # equalised odds: max(|TPR_A - TPR_B|, |FPR_A - FPR_B|) = max(|0.6 - 0.75|, |0.1 - 0.3|) = 0.2
    assert out["equalised_odds_difference"] == pytest.approx(0.2)
    assert out["gaps"]["fpr"] == pytest.approx(0.2) and out["gaps"]["fnr"] == pytest.approx(0.15)
    assert out["four_fifths_ok"] is False and out["equalised_odds_ok"] is False  # 0.67 < 0.8; 0.2 > 0.1
    assert "NOT met" in out["verdict"]


def test_small_groups_are_shown_not_judged():
    y = np.r_[np.zeros(100), np.ones(10), np.zeros(3)].astype(int)
    scores = np.r_[np.full(100, 0.1), np.full(10, 0.9), np.full(3, 0.9)]
    out = audit_groups(y, scores, 0.5, pd.Series(["F"] * 110 + ["other"] * 3))
    assert "other" in out["groups"] and out["judged_groups"] == ["F"]
    assert out["four_fifths_ok"] is None and "not judged" in out["verdict"]


def test_groups_from_one_hot_gender_and_days_birth():
    x = pd.DataFrame({"CODE_GENDER_F": [1, 0, 0], "CODE_GENDER_M": [0, 1, 0],
                      "DAYS_BIRTH": [-25 * 365.25, -45 * 365.25, -65 * 365.25]})
    assert gender_groups(x).tolist() == ["F", "M", "other"]
    assert age_groups(x).tolist() == ["<30", "40-49", "60+"]


class GenderModel:
    """Adds 0.05 to the score of men: switching the gender moves every score by exactly 0.05."""

    def predict_proba(self, x):
        p = 0.1 + 0.05 * x["CODE_GENDER_M"].to_numpy()
        return np.c_[1 - p, p]


def test_gender_switch_measures_the_score_change():
    x = pd.DataFrame({"CODE_GENDER_F": [1, 1, 0, 0], "CODE_GENDER_M": [0, 0, 1, 0]})
    out = gender_switch(GenderModel(), x, threshold=0.12)
    assert out["applicants"] == 3  # the row with neither is left out
    assert out["mean_change_f_to_m"] == pytest.approx(0.05) and out["mean_change_m_to_f"] == pytest.approx(-0.05)
    assert out["decisions_flipped"] == 3  # 0.10 <-> 0.15 crosses 0.12


def test_drop_features_by_pattern():
    frame = pd.DataFrame(columns=["CODE_GENDER_F", "CODE_GENDER_M", "EXT_SOURCE_1"])
    assert list(drop_features(frame, ("CODE_GENDER_*",)).columns) == ["EXT_SOURCE_1"]
    with pytest.raises(ValueError, match="matches no feature"):
        drop_features(frame, ("NOPE_*",))
    with pytest.raises(ValueError, match="leaves no feature"):
        drop_features(frame, ("*",))


def test_tuning_compares_candidates_on_the_same_folds(small_training):
    frame, y, _, cfg, _ = small_training
    x = frame.astype("float32")
    base = cfg.xgb_params(1.0, list(x.columns))
    stump = {"learning_rate": 0.1, "max_depth": 1, "min_child_weight": 5, "reg_lambda": 5.0, "colsample_bytree": 0.5}
    deeper = {**stump, "max_depth": 3}
    out = tune(x, y, base, n_splits=3, n_repeats=2, seed=0, candidates=(stump, deeper), max_rounds=150,
               patience=20, quiet=True)
    assert len(out.folds) == 6 and all(len(c.fold_auc) == 6 for c in out.candidates)
    assert out.best is max(out.candidates, key=lambda c: c.mean_auc)
    summary = out.summary()
    diff = summary["candidates"][1]["diff_vs_reference"]
    assert diff["mean"] == pytest.approx(np.mean(np.subtract(out.candidates[1].fold_auc, out.candidates[0].fold_auc)))
    assert len(out.baseline_fold_auc) == 6 and out.baseline_oof.shape == y.shape


def test_metrics_carry_intervals_fairness_and_importance(small_training):
    *_, result = small_training
    m = result.metrics
    assert m["intervals"]["auc"]["low"] < m["auc"] < m["intervals"]["auc"]["high"]
    assert m["intervals"]["recall"]["low"] <= m["recall"] <= m["intervals"]["recall"]["high"]
    assert set(m["fairness"]["gender"]["groups"]) >= {"F", "M"}
    assert m["fairness"]["gender_switch"]["applicants"] > 0
    assert m["importance"][0]["mean_abs_shap"] >= m["importance"][-1]["mean_abs_shap"] > 0
    assert {i["feature"] for i in m["importance"][:3]} & {"EXT_SOURCE_2", "EXT_SOURCE_3"}


def test_report_is_self_contained(small_training):
    *_, result = small_training
    images = chart_images(result)
    assert all(png[:4] == b"\x89PNG" for png in images.values())
    report = build_report(result.metrics, result.threshold, images, "abc123")
    assert report.count('src="data:image/png;base64,') == len(images) == 6
    assert not re.search(r'(src|href)="(https?:)?//', report)  # nothing fetched from elsewhere
    for section in ("Données", "Avertissements", "Performances", "Courbes", "Importance", "Équité",
                    "Par genre", "Par tranche d&#x27;âge", "Seul le genre change"):
        assert section in report, section
    french = f"{result.metrics['auc']:.3f} [{result.metrics['intervals']['auc']['low']:.3f}".replace(".", ",")
    assert french in report  # French decimals
    text = re.sub(r"<style>.*?</style>|<code>.*?</code>|<[^>]+>", " ", report, flags=re.S)
    text = re.sub(r"\w+=[\w.]+", " ", text)  # hyperparameters are shown as code: max_depth=3
    for english in (" met ", "NOT met", "rule", "replicates", "bootstrap of", " 1 répétitions", "taux middle"):
        assert english not in text, english
    assert not re.search(r"\d\.\d", text), re.findall(r".{30}\d\.\d.{10}", text)[:3]  # no decimal point


def test_model_without_gender_is_still_audited_by_gender(small_training):
    frame, y, _, cfg, _ = small_training
    from dataclasses import replace

    result = train_model(frame, y, replace(cfg, exclude_features=("CODE_GENDER_*",)), groups_from=frame, quiet=True)
    assert "CODE_GENDER_F" not in result.features
    assert set(result.metrics["fairness"]["gender"]["groups"]) >= {"F", "M"}
    assert "CODE_GENDER_F" in result.reference["features"]  # drift still watches the form field
