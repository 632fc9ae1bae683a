"""The feature registry: every feature the code builds has its French label, unit, domain rule and table,
derived from the feature specs; a new aggregate without a meaning fails here, before any retraining; the
committed model reads exactly as it did with the hand-kept tables the registry replaced."""

from __future__ import annotations

import dataclasses
import json
import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from scoring import feature_specs, features, synthetic
from scoring.config import MODELS_DIR
from scoring.explain_format import format_value
from scoring.feature_registry import REGISTRY, build_registry, domain_rule, feature_label, incomplete_entries, main
from scoring.feature_specs import BINARY, CHILD_SPECS, COLUMN_MEANINGS, NON_NEGATIVE, SHARE, Meaning, Topic, Unit
from scoring.schema import BUREAU, FEATURES_FILE

BEFORE = Path(__file__).parent / "feature_meanings_76809d8.json"
RAW_NAME = re.compile(r"[A-Z]{2,}_[A-Z]{2,}")  # SCREAMING_SNAKE left in a label
# Labels changed on purpose (old -> new), each read by a French reader: the mean of a 0/1 column is a share.
IMPROVED = {
    "PREV_NAME_CONTRACT_STATUS_Approved_mean": ("Demandes précédentes : part acceptée (moyenne)",
                                                "Part de demandes précédentes acceptées"),
    "INSTAL_UNDERPAID_mean": ("Échéances : échéances sous-payées (moyenne)",
                              "Échéances : échéances sous-payées (part)"),
}
# Physical bounds added on purpose (docs/rules.md, "What is impossible"): an age of 18 to 120 years, the
# application's past dates within 120 years; every other feature keeps the snapshot's domain.
TIGHTENED = {"DAYS_BIRTH": feature_specs.AGE,
             **dict.fromkeys(("DAYS_EMPLOYED", "DAYS_REGISTRATION", "DAYS_ID_PUBLISH", "DAYS_LAST_PHONE_CHANGE"),
                             feature_specs.PAST)}


@pytest.fixture(scope="module")
def twin() -> synthetic.SyntheticData:
    return synthetic.generate(80, 11, progress=False, test_applicants=5)


@pytest.fixture(scope="module")
def built(twin) -> pd.DataFrame:
    return features.build_features(twin.tables, progress=False)


def test_every_built_feature_has_a_complete_entry(built: pd.DataFrame) -> None:
    assert incomplete_entries(built.columns) == []
    assert list(REGISTRY) == list(built.columns)  # the registry lists what the code builds, in its order
    for name in built.columns:
        info = REGISTRY[name]
        assert info.label != name and not RAW_NAME.search(info.label), (name, info.label)


def test_the_twin_values_keep_their_domain(built: pd.DataFrame) -> None:
    """The derived rules hold on built data: counts, sums of non-negative columns, shares, flags."""
    for name in built.columns:
        rule = domain_rule(name)
        values = built[name].dropna().to_numpy()
        ok = np.isin(values, (0.0, 1.0)) if rule.binary else (values >= rule.low) & (values <= rule.high)
        assert ok.all(), (name, rule.meaning, values[~ok][:5])


def _with_aggs(spec: feature_specs.AggregateSpec, **extra: str) -> feature_specs.AggregateSpec:
    aggs = dict(spec.aggs) | {column: tuple(how.split()) for column, how in extra.items()}
    return dataclasses.replace(spec, aggs=aggs)


def test_a_new_aggregate_without_a_meaning_is_named(twin, monkeypatch: pytest.MonkeyPatch) -> None:
    """A developer adds an aggregate of a new bureau column but no meaning: the twin test names it."""
    bureau = twin.tables.bureau.assign(AMT_NEW_THING=1.0)
    tables = dataclasses.replace(twin.tables, bureau=bureau)
    spec = _with_aggs(feature_specs.BUREAU_SPEC, AMT_NEW_THING="mean max")
    monkeypatch.setattr(features, "BUREAU_SPEC", spec)
    built = features.build_features(tables, progress=False)
    assert {"BUREAU_AMT_NEW_THING_mean", "BUREAU_AMT_NEW_THING_max"} <= set(built.columns)
    registry = build_registry((spec, *CHILD_SPECS[1:]))
    assert incomplete_entries(built.columns, registry) == ["BUREAU_AMT_NEW_THING_mean", "BUREAU_AMT_NEW_THING_max"]
    # written once, the meaning gives both features a complete entry
    monkeypatch.setitem(COLUMN_MEANINGS[BUREAU], "AMT_NEW_THING", Meaning("nouveau montant", Unit.MONEY, NON_NEGATIVE))
    assert incomplete_entries(built.columns, build_registry((spec, *CHILD_SPECS[1:]))) == []


def test_an_unknown_category_is_reported_untranslated() -> None:
    spec = dataclasses.replace(feature_specs.POS_SPEC, categorical={"NAME_CONTRACT_STATUS": ("Active", "Frozen")})
    registry = build_registry((spec,))
    assert incomplete_entries(["POS_NAME_CONTRACT_STATUS_Frozen_mean", "POS_NAME_CONTRACT_STATUS_Active_mean"],
                              registry) == ["POS_NAME_CONTRACT_STATUS_Frozen_mean"]
    assert incomplete_entries(["NOT_A_FEATURE"]) == ["NOT_A_FEATURE"]
    assert feature_label("NOT_A_FEATURE") == "NOT_A_FEATURE" and domain_rule("NOT_A_FEATURE").low == -math.inf


def test_a_new_aggregation_of_a_known_column_derives_its_meaning() -> None:
    """Label, unit, domain and table follow from the column and the aggregation, with no other edit."""
    bureau = _with_aggs(feature_specs.BUREAU_SPEC, AMT_ANNUITY="max mean sum", AMT_CREDIT_SUM_DEBT="max mean sum min",
                        BB_LATE_SHARE="mean max min")
    instal = _with_aggs(feature_specs.INSTAL_SPEC, LATE="mean sum max", DPD="max mean sum min")
    registry = build_registry((bureau, instal))
    annuity_sum = registry["BUREAU_AMT_ANNUITY_sum"]
    assert (annuity_sum.label, annuity_sum.unit, annuity_sum.domain, annuity_sum.table) == (
        "Autres organismes : annuité (total)", Unit.MONEY, NON_NEGATIVE, BUREAU)
    debt_min = registry["BUREAU_AMT_CREDIT_SUM_DEBT_min"]  # may be negative: no sign rule, min or sum
    assert debt_min.label == "Autres organismes : dette (min.)" and debt_min.domain.low == -math.inf
    late_share = registry["BUREAU_BB_LATE_SHARE_min"]  # from the monthly history table, a share
    assert (late_share.label, late_share.unit, late_share.domain, late_share.table) == (
        "Historique mensuel ailleurs : part des mois en retard (min.)", Unit.PERCENT, SHARE, "bureau_balance")
    assert (registry["INSTAL_LATE_max"].unit, registry["INSTAL_LATE_max"].domain) == (Unit.NUMBER, NON_NEGATIVE)
    assert registry["INSTAL_LATE_sum"].label == "Échéances : échéances en retard (total)"
    assert registry["INSTAL_DPD_min"].label == "Échéances : jours de retard (min.)"
    assert registry["INSTAL_DPD_mean"].label == "Retard moyen des échéances (jours)"  # the hand-written one kept
    assert registry["INSTAL_COUNT"].unit is Unit.NUMBER and registry["INSTAL_COUNT"].domain is NON_NEGATIVE
    # and the letter's topic: what the aggregate's rows are about, the overdue columns apart
    assert registry["BUREAU_AMT_ANNUITY_sum"].topic is Topic.OTHER_LENDERS
    assert registry["BUREAU_AMT_CREDIT_SUM_OVERDUE_max"].topic is Topic.OTHER_LENDERS_OVERDUE
    assert registry["INSTAL_DPD_min"].topic is Topic.LATE_PAYMENTS


def test_a_mean_or_extreme_keeps_the_column_bounds_and_a_flag_mean_is_a_share() -> None:
    for spec in CHILD_SPECS:
        for column, aggs in spec.aggs.items():
            meaning = COLUMN_MEANINGS[spec.table][column]
            for agg in aggs:
                info = REGISTRY[f"{spec.prefix}_{column}_{agg}"]
                if meaning.domain is BINARY:
                    assert info.domain is (SHARE if agg == "mean" else NON_NEGATIVE)
                elif agg != "sum":
                    assert (info.domain, info.unit) == (meaning.domain, meaning.unit)
                else:
                    assert info.domain.low in (0.0, -math.inf) and info.domain.high == math.inf


def _committed() -> list[str]:
    return [n for n in (MODELS_DIR / FEATURES_FILE).read_text().splitlines() if n]


def test_the_committed_model_reads_as_before() -> None:
    """Labels, units and bounds of every feature of models/features.txt equal those of the regex tables
    the registry replaced (`BEFORE`, written from commit 76809d8), but for `IMPROVED`."""
    before = json.loads(BEFORE.read_text(encoding="utf-8"))["features"]
    names = _committed()
    assert sorted(before) == sorted(names)
    for name in names:
        old, info = before[name], REGISTRY[name]
        label = IMPROVED[name][1] if name in IMPROVED else old["label"]
        assert info.label == label, name
        assert name not in IMPROVED or IMPROVED[name][0] == old["label"]
        assert info.unit.value == old["unit"], name
        rule = info.domain
        if name in TIGHTENED:
            assert rule == TIGHTENED[name] and float(old["low"]) < rule.low <= rule.high <= float(old["high"]), name
            continue
        assert (rule.low, rule.high, rule.binary, rule.meaning) == (
            float(old["low"]), float(old["high"]), old["binary"], old["meaning"]), name


def test_the_command_prints_the_label_diff_and_refuses_an_incomplete_list(tmp_path: Path, capsys) -> None:
    """What a reviewer runs: the diff against the snapshot shows the two improved labels and nothing else;
    a snapshot written now compares equal; a list with a feature the code does not build exits 1."""
    assert main(["--against", str(BEFORE)]) == 0
    changed = [line for line in capsys.readouterr().out.splitlines() if line[:1] in "+-" and line[:3] not in "+++---"]
    tightened = [n for n in TIGHTENED if n in _committed()]
    assert sorted(line[1:].split(":")[0] for line in changed) == sorted(2 * [*IMPROVED, *tightened])
    snap = tmp_path / "snap.json"
    assert main(["--snapshot", str(snap), "-q"]) == 0
    assert main(["--against", str(snap)]) == 0
    assert f"no difference over {len(_committed())} features" in capsys.readouterr().out
    listed = tmp_path / "features.txt"
    listed.write_text("EXT_SOURCE_1\nBUREAU_NEW_THING_mean\n")
    assert main(["--features", str(listed)]) == 1
    out = capsys.readouterr()
    assert "Score externe 1" in out.out and "incomplete entry: BUREAU_NEW_THING_mean" in out.err


@pytest.mark.parametrize(("name", "value", "text"), [
    ("DAYS_BIRTH", -15_800.0, "43\u202fans"), ("DAYS_EMPLOYED", 365_243.0, "sans objet"),
    ("PREV_DAYS_DECISION_max", -45.0, "1\u202fmois"), ("INSTAL_DPD_sum", 12.0, "12\u202fjours"),
    ("BUREAU_BB_LATE_SHARE_max", 0.25, "25\u202f%"), ("PREV_CNT_PAYMENT_mean", 18.0, "18\u202fmois"),
    ("POS_MONTHS_BALANCE_mean", -30.0, "2,5\u202fans"), ("OWN_CAR_AGE", 7.0, "7\u202fans"),
    ("INSTAL_PAYMENT_DIFF_sum", -1500.0, "\u22121\u202f500\u202f€"), ("BUREAU_COUNT", 3.0, "3"),
    ("AMT_REQ_CREDIT_BUREAU_YEAR", 2.0, "2"), ("INSTAL_UNDERPAID_mean", 0.1, "10\u202f%"),
])
def test_values_read_in_the_unit_of_the_registry(name: str, value: float, text: str) -> None:
    assert format_value(name, value) == text
