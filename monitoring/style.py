"""How the report is written, shared by the console report, the HTML page and the dashboard: the one number
format, the colour of each drift status, a feature's French label."""

from __future__ import annotations

from typing import Any

from monitoring.drift import DRIFT, INSUFFICIENT, STABLE, WATCH
from scoring.feature_registry import feature_label
from scoring.schema import SCORE_KEY

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


def count_fr(n: int | float, one: str, many: str | None = None) -> str:
    """A count and its noun the French way: 0 and 1 take the singular ("0 appel", "1 appel", "2 appels",
    "1 234 appels"); `many` for a plural that is not `one` + "s" ("1 caractéristique mesurée")."""
    word = one if abs(n) < 2 else (many if many is not None else " ".join(w + "s" for w in one.split(" ")))
    return f"{fr(n, ',') if float(n).is_integer() else fr(n, ',g')} {word}"


P_FLOOR = 0.001  # below, a p-value reads "< 0,001": its digits say nothing more to the analyst


def p_fr(p: float | None) -> str:
    """A p-value the French way, never in scientific notation: "< 0,001", "0,012", "1,000"; "—" when none."""
    if p is None or p != p:
        return MISSING
    return f"< {fr(P_FLOOR)}" if p < P_FLOOR else fr(p, ".3f")


def p_clause(p: float | None, name: str = "p") -> str:
    """"p < 0,001" or "p = 0,012" (the relation follows the value)."""
    shown = p_fr(p)
    return f"{name} {shown}" if shown.startswith("<") else f"{name} = {shown}"


def label_fr(name: str) -> str:
    """A feature's French label (the form's for its features, else the feature registry's: every feature the
    model may be given), "Score" for the score, else the model's name."""
    if name == SCORE_KEY:
        return "Score"
    return feature_label(name)
