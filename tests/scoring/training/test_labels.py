"""Every model feature has a readable French name for the reasons shown to advisers."""

from __future__ import annotations

import re

from scoring import config
from scoring.schema import FEATURE_LABELS, UI_FEATURES, feature_label, untranslated_features

RAW_NAME = re.compile(r"[A-Z]{2,}_[A-Z]{2,}")  # SCREAMING_SNAKE left in a label


def model_features():
    return [n for n in (config.MODELS_DIR / "features.txt").read_text().splitlines() if n]


def test_every_model_feature_has_a_french_label():
    labels = {name: feature_label(name) for name in model_features()}
    assert not {name: label for name, label in labels.items() if label == name or RAW_NAME.search(label)}
    # every part translated: categories, child-table columns, building columns (no English left)
    assert untranslated_features(model_features()) == []


def test_an_unknown_part_is_reported_untranslated():
    assert untranslated_features(["NAME_FAMILY_STATUS_Polyamorous", "PREV_NEW_COLUMN_mean", "ODD_FEATURE"]) == [
        "NAME_FAMILY_STATUS_Polyamorous", "PREV_NEW_COLUMN_mean", "ODD_FEATURE"]
    assert feature_label("NAME_FAMILY_STATUS_Polyamorous") == "Situation familiale : Polyamorous"  # still readable


def test_labels_composed_from_names():
    assert feature_label("PREV_REFUSED_AMT_CREDIT_max") == "Demandes refusées : montant du crédit (max.)"
    assert feature_label("BUREAU_CREDIT_ACTIVE_Closed_mean") == "Autres organismes : statut clos (part)"
    assert feature_label("BUREAU_COUNT") == "Autres organismes : nombre"
    assert feature_label("NAME_FAMILY_STATUS_Married") == "Situation familiale : marié(e)"
    assert feature_label("ORGANIZATION_TYPE_Industry: type 11") == "Employeur : industrie (type 11)"
    assert feature_label("FLAG_DOCUMENT_8") == "Document n° 8 fourni"
    assert feature_label("FLOORSMIN_MEDI") == "Immeuble : étages (min.) (médiane)"


def test_explicit_labels_win():
    for f in UI_FEATURES:
        assert feature_label(f.name) == f.label == FEATURE_LABELS[f.name]
