"""Numbers on the form, the French way: read what an adviser types (`0,45`, `1 200`, `1 200,50`),
show values and bounds in French with sensible rounding, say why a number is refused (impossible, or
too large for the model) and flag values accepted past what the model has seen. No Gradio; `api.form_parts`
and `api.ui` use it.
"""

from __future__ import annotations

import math
import re
from typing import Any

from scoring.explain_format import NNBSP, fr_number
from serving.rules import FLOAT32_MAX, MISSING, NOT_FINITE, RANGE_MARGIN, Bound, Violation

# Digits with optional thousands separators (spaces of any kind) and one decimal mark (comma or point).
_SPACES = re.compile(r"[\s\u00a0\u202f\u2007']+")
_NUMBER = re.compile(r"[+-]?(?:\d+(?:[.,]\d*)?|[.,]\d+)")
SHOWN_DECIMALS = 4  # a value shown in a box: at most 4 decimals (a score 0,5011), whole euros stay whole


class NotANumber(ValueError):
    """The text typed is not a number."""


def parse_fr_number(value: Any) -> float | None:
    """The number typed in a box, or None when it is left empty (unknown).

    Accepts `0,45` and `0.45`, spaces between thousands (`1 200`, also no-break and narrow ones),
    a sign; numbers sent by programs (int, float) as they are. Raises `NotANumber` otherwise
    (`1,200,5`, `abc`, a boolean); a NaN or an infinity is refused later by the range check."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise NotANumber(value)
    if isinstance(value, int | float):
        return float(value)
    if not isinstance(value, str):
        raise NotANumber(value)
    text = _SPACES.sub("", value.strip()).replace("−", "-")
    if not text:
        return None
    if not _NUMBER.fullmatch(text):
        raise NotANumber(value)
    return float(text.replace(",", "."))


def fr_input(x: float | None) -> str:
    """A value as a box shows it: French decimal comma, at most `SHOWN_DECIMALS` decimals, thousands
    separated by a narrow no-break space (which `parse_fr_number` reads back); "" when unknown."""
    if x is None or not math.isfinite(x):
        return ""
    decimals = 0 if abs(x) >= 1000 or float(x).is_integer() else SHOWN_DECIMALS
    return fr_number(round(x, decimals), decimals) if decimals else fr_number(round(x), 0)


def _inward(x: float, up: bool) -> float:
    """`x` rounded to 3 significant digits towards the inside of a range (a bound shown is accepted)."""
    if x == 0 or not math.isfinite(x):
        return x
    step = 10 ** (math.floor(math.log10(abs(x))) - 2)
    return (math.ceil if up else math.floor)(x / step - 1e-9 * (1 if up else -1)) * step


def fr_bounds(b: Bound) -> tuple[str, str]:
    """The accepted range as shown to advisers: `0` and `0,875`, `0` and `104 000`."""
    low, high = _inward(b.low, up=True), _inward(b.high, up=False)
    return fr_number(low), fr_number(high)


def fr_seen(b: Bound) -> tuple[str, str]:
    """The range seen in training (widened by `RANGE_MARGIN`) as shown to advisers."""
    return fr_number(_inward(b.seen_low, up=True)), fr_number(_inward(b.seen_high, up=False))


def _unbounded(x: float) -> bool:
    return abs(x) >= FLOAT32_MAX


def fr_accepted(b: Bound) -> str:
    """What a box accepts, in words: "de 0 à 1", "0 ou plus" (no ceiling but float32's)."""
    low, high = fr_bounds(b)
    if _unbounded(b.high):
        return f"{low} ou plus" if not _unbounded(b.low) else "tout nombre"
    return f"de {low} à {high}" if not _unbounded(b.low) else f"{high} au plus"


def range_hint(b: Bound) -> str:
    """The hint under a number box: what it accepts and, when narrower, what the model has seen."""
    seen = ""
    if math.isfinite(b.seen_low) and (b.seen_low > b.low or b.seen_high < b.high):
        seen = " (le modèle a vu de {} à {} : au-delà, évalué et signalé)".format(*fr_seen(b))
    return f"{fr_accepted(b)}{seen} — laisser vide si inconnu"


def fr_out_of_range(labels: list[str]) -> str:
    """The flag of a score whose row holds values past what the model has seen (accepted, not refused), in
    the form's French: the fields named, what it means, what to do."""
    margin = f"{round(100 * RANGE_MARGIN)}{NNBSP}%"
    return (f"⚠️ **Hors de ce que le modèle a vu** (au-delà des valeurs d'entraînement, marge de {margin} comprise) : "
            f"{' ; '.join(labels)}. Le score est calculé, mais le modèle extrapole : vérifier ces valeurs.")


def fr_shown(value: Any) -> str:
    """A value as sent, quoted in a refusal ("vide" for nothing; long text cut)."""
    text = repr(value) if isinstance(value, str) else ("vide" if value is None else str(value))
    return text if len(text) <= 40 else text[:40] + "…"


def fr_violation(label: str, widget: str, v: Violation, value: Any) -> str:
    """A rule of `serving.rules` broken by the field `label` (a "radio", a "checkbox" or a number box),
    in the form's French."""
    if widget == "radio":
        return f"{label} : une seule option possible."
    if widget == "checkbox":
        return f"{label} : cocher ou décocher la case (reçu {fr_shown(value)})."
    if v.kind == MISSING:
        return f"{label} : saisir un nombre."
    return fr_refusal(label, v)


def fr_refusal(label: str, v: Violation) -> str:
    """Why a number is refused for the field `label`, in French (`v`: the rule of `serving.rules` it
    breaks): not a finite number, impossible (outside the feature's domain: what the value can mean), or
    too large for the model (float32)."""
    x, b = float(v.value), v.bound
    shown = fr_number(x) if math.isfinite(x) else str(x)
    if v.kind == NOT_FINITE or b is None:
        return f"{label} : saisir un nombre fini (reçu {shown})."
    rule = b.rule
    if rule.low <= x <= rule.high:  # inside its domain: beyond what float32 holds
        return f"{label} : {shown} est trop grand pour le modèle (au plus {fr_accepted(b)})."
    if rule.low == 0 and not math.isfinite(rule.high):
        what = "la valeur ne peut pas être négative"
    else:
        what = f"la valeur est toujours comprise entre {fr_number(rule.low)} et {fr_number(rule.high)}"
    return f"{label} : {shown} est impossible ({what})."
