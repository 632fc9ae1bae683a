"""How the report is written, shared by the console report, the HTML page and the dashboard: the one number
format, the colour of each drift status, a feature's French label."""

from __future__ import annotations

from typing import Any

from monitoring.drift import DRIFT, INSUFFICIENT, STABLE, WATCH
from scoring.schema import SCORE_KEY, UI_FEATURES_BY_NAME

MISSING = "—"
STATUS_COLOURS = {STABLE: "#d4edda", WATCH: "#fff3cd", DRIFT: "#f8d7da", INSUFFICIENT: "#e2e3e5"}


def fmt(value: Any, spec: str = ".3f") -> str:
    """`value` formatted with `spec`, or a dash when there is none."""
    return MISSING if value is None else format(value, spec)


def fr(value: Any, spec: str = ".3f") -> str:
    """`value` formatted with `spec` the French way (decimal comma, narrow no-break space for thousands and
    before %), or a dash when there is none: fr(1234.5, ",.1f") == "1 234,5", fr(0.123, ".1%") == "12,3 %"."""
    if value is None or (isinstance(value, float) and value != value):
        return MISSING
    text = format(value, spec).replace(",", "\u202f").replace(".", ",")
    return text[:-1] + "\u202f%" if text.endswith("%") else text


def label_fr(name: str) -> str:
    """A feature's French label (the form's), "Score" for the score, else the model's name."""
    if name == SCORE_KEY:
        return "Score"
    return UI_FEATURES_BY_NAME[name].label if name in UI_FEATURES_BY_NAME else name
