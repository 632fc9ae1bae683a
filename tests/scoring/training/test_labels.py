"""Every model feature has a readable French name for the reasons shown to advisers (from the registry)."""

from __future__ import annotations

import re

from scoring import config
from scoring.feature_registry import REGISTRY, feature_label, incomplete_entries, untranslated_features
from scoring.schema import UI_FEATURES

RAW_NAME = re.compile(r"[A-Z]{2,}_[A-Z]{2,}")  # SCREAMING_SNAKE left in a label


def model_features():
    return [n for n in (config.MODELS_DIR / "features.txt").read_text().splitlines() if n]


def test_every_model_feature_has_a_french_label():
    labels = {name: feature_label(name) for name in model_features()}
    assert not {name: label for name, label in labels.items() if label == name or RAW_NAME.search(label)}
    # every part translated: categories, child-table columns, building columns (no English left)
    assert untranslated_features(model_features()) == [] == incomplete_entries(model_features())


def test_no_label_says_the_aggregation_twice():
    """No "moyenne (moyenne)" and the like: a composed label names its aggregation once."""
    words = ("moyenne", "max.", "min.", "total", "part")
    for name, info in REGISTRY.items():
        assert not any(info.label.lower().count(f"({w}") > 1 for w in words), (name, info.label)
    assert len({info.label for info in REGISTRY.values()}) == len(REGISTRY)  # no two features read alike


def test_an_unknown_feature_is_reported_untranslated():
    assert untranslated_features(["NAME_FAMILY_STATUS_Polyamorous", "PREV_NEW_COLUMN_mean", "ODD_FEATURE"]) == [
        "NAME_FAMILY_STATUS_Polyamorous", "PREV_NEW_COLUMN_mean", "ODD_FEATURE"]
    assert feature_label("ODD_FEATURE") == "ODD_FEATURE"  # shown by its model name, never dropped


def test_labels_composed_from_the_specs():
    assert feature_label("PREV_REFUSED_DAYS_DECISION_max") == "Demandes refusées : ancienneté de la décision (max.)"
    assert feature_label("BUREAU_CREDIT_ACTIVE_Closed_mean") == "Autres organismes : statut clos (part)"
    assert feature_label("BUREAU_COUNT") == "Autres organismes : nombre"
    assert feature_label("NAME_FAMILY_STATUS_Married") == "Situation familiale : marié(e)"
    assert feature_label("ORGANIZATION_TYPE_Industry: type 11") == "Employeur : industrie (type 11)"
    assert feature_label("FLAG_DOCUMENT_8") == "Document n° 8 fourni"
    assert feature_label("FLOORSMIN_AVG") == "Immeuble : étages (min.) (moyenne)"


def test_explicit_labels_win():
    for f in UI_FEATURES:
        assert feature_label(f.name) == f.label
