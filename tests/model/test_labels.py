"""Every model feature has a readable French name for the reasons shown to advisers."""

from __future__ import annotations

import re

from scoring import config
from scoring.schema import FEATURE_LABELS, UI_FEATURES, feature_label

RAW_NAME = re.compile(r"[A-Z]{2,}_[A-Z]{2,}")  # SCREAMING_SNAKE left in a label


def model_features():
    return [n for n in (config.MODELS_DIR / "features.txt").read_text().splitlines() if n]


def test_every_model_feature_has_a_french_label():
    labels = {name: feature_label(name) for name in model_features()}
    assert not {name: label for name, label in labels.items() if label == name or RAW_NAME.search(label)}


def test_labels_composed_from_names():
    assert feature_label("PREV_REFUSED_AMT_CREDIT_max") == "Demandes refusées : montant du crédit (max.)"
    assert feature_label("BUREAU_CREDIT_ACTIVE_Closed_mean") == "Autres organismes : statut Closed (part)"
    assert feature_label("BUREAU_COUNT") == "Autres organismes : nombre"
    assert feature_label("NAME_FAMILY_STATUS_Married") == "Situation familiale : Married"
    assert feature_label("FLAG_DOCUMENT_8") == "Document n° 8 fourni"
    assert feature_label("FLOORSMIN_MEDI") == "Immeuble : floorsmin (médiane)"


def test_explicit_labels_win():
    for f in UI_FEATURES:
        assert feature_label(f.name) == f.label == FEATURE_LABELS[f.name]
