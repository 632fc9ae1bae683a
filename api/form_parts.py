"""The form's pure parts (no Gradio): its inputs, form values → model features, a dossier's
values for the form, and what the outputs show (French numbers, gauge, reasons, facts, change).

`api.ui` draws the form with them; the tests call them directly.
"""

from __future__ import annotations

import html
import math
from typing import Any

from api.logger import safe_input
from scoring.explain_format import format_value, fr_percent, fr_points
from scoring.schema import EXCLUSIVE_GROUPS, UI_FEATURES, ExclusiveGroup, UIFeature
from scoring.store import FACT_LABELS
from serving.predictor import Prediction, Reason
from serving.validation import Bound

# One input of the form: a feature widget, or the radio of an exclusive group.
FormInput = UIFeature | ExclusiveGroup


def form_inputs() -> list[FormInput]:
    """The form's inputs in schema order, each exclusive group once (where its first member is)."""
    group_of = {f: g for g in EXCLUSIVE_GROUPS for f in g.options.values() if f is not None}
    out: list[FormInput] = []
    for feature in UI_FEATURES:
        group = group_of.get(feature.name)
        item: FormInput = group if group is not None else feature
        if item not in out:
            out.append(item)
    return out


class FormRefusal(ValueError):
    """A form value refused, with the French message shown in the form."""


class _Missing:
    """A value the call did not send (Gradio would refuse the call before our code: see build_ui)."""

    def __repr__(self) -> str:
        return "<manquant>"


MISSING = _Missing()


def _fr(x: float) -> str:
    return f"{x:.6g}".replace(".", ",")


def _shown(value: Any) -> str:
    text = repr(value) if isinstance(value, str) else ("vide" if value is None else str(value))
    return text if len(text) <= 40 else text[:40] + "…"


def _number(value: Any) -> float | None:
    """A real number as sent (int or float, not a boolean, not a string), else None."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def to_features(values: tuple[Any, ...] | list[Any], bounds: dict[str, Bound] | None = None, *,
                partial: bool = False) -> dict[str, float]:
    """Form values as sent (in `form_inputs()` order) → model features; radios become one-hot 0/1.

    Nothing is coerced: a number box takes a number within the accepted range (`bounds`: the same
    rules as the API; the schema's form range when no model is loaded), a checkbox true/false (or
    0/1), a radio one of its choices. Raises `FormRefusal` with a French message naming the field.
    `partial` (a dossier's what-if): a value None is left out (the dossier's own value stays).
    """
    items = form_inputs()
    sent = sum(1 for v in values if v is not MISSING)
    if len(values) != len(items) or sent != len(items):
        raise FormRefusal(f"Le formulaire attend {len(items)} valeurs (reçu {sent}).")
    features: dict[str, float] = {}
    problems: list[str] = []
    for item, value in zip(items, values, strict=True):
        if partial and value is None:
            continue
        if isinstance(item, ExclusiveGroup):
            if not isinstance(value, str) or value not in item.options:
                problems.append(f"{item.label} : choisir parmi {', '.join(item.options)} (reçu {_shown(value)}).")
                continue
            for option, name in item.options.items():
                if name is not None:
                    features[name] = 1.0 if option == value else 0.0
        elif item.widget == "checkbox":
            if value is True or value is False or (type(value) in (int, float) and value in (0, 1)):
                features[item.name] = float(value)
            else:
                problems.append(f"{item.label} : cocher ou décocher la case (reçu {_shown(value)}).")
        else:
            x = _number(value)
            b = (bounds or {}).get(item.name)
            low, high = (b.low, b.high) if b else (item.minimum, item.maximum)
            if x is None:
                problems.append(f"{item.label} : saisir un nombre (reçu {_shown(value)}).")
            elif not math.isfinite(x):
                problems.append(f"{item.label} : saisir un nombre fini (reçu {_shown(value)}).")
            elif not low <= x <= high:
                problems.append(f"{item.label} : saisir un nombre entre {_fr(low)} et {_fr(high)} (reçu {_fr(x)}).")
            else:
                features[item.name] = x
    if problems:
        raise FormRefusal(" ".join(problems))
    return features


def sent_input(values: tuple[Any, ...] | list[Any]) -> dict[str, Any]:
    """What the form call sent, by field name (feature or group), made loggable."""
    names = [item.name for item in form_inputs()]
    given = {names[i] if i < len(names) else f"extra_{i}": v for i, v in enumerate(values) if v is not MISSING}
    return safe_input(given)


def _pct(x: float) -> str:
    return f"{100 * x:.2f} %".replace(".", ",")


def score_text(score: float) -> str:
    """The score as the form shows it: a French percentage ("2,28 %")."""
    return _pct(score)


def _grade(result: Prediction) -> str:
    """The master-scale grade beside the probability (nothing for a model without grades)."""
    if result.grade is None:
        return ""
    return f' — <b id="grade">classe de risque {html.escape(result.grade)}</b> (A : risque le plus faible)'


def gauge_html(result: Prediction, grey_zone: tuple[float, float]) -> str:
    """A bar filled to the score, the threshold as a black mark, the grey zone shaded.

    The bar ends at three times the threshold (or further if the score is beyond) rather than at
    100 %: with a threshold near 10 %, a 0-100 % bar squeezes everything into its first tenth.
    """
    colour = "#dc2626" if result.prediction else "#16a34a"
    low, high = (max(0.0, grey_zone[0]), min(1.0, grey_zone[1]))
    top = min(1.0, max(3 * result.threshold, 1.5 * high, 1.1 * result.score))

    def pos(x: float) -> float:
        return 100 * min(x, top) / top

    return (
        '<div id="gauge-inner">'
        f'<div style="margin-bottom:4px"><b>Probabilité de défaut : {_pct(result.score)}</b>{_grade(result)} '
        f'— seuil de décision : {_pct(result.threshold)}</div>'
        '<div class="bar">'
        f'<div class="fill" style="width:{pos(result.score):.2f}%;background:{colour}"></div>'
        f'<div class="zone" style="left:{pos(low):.2f}%;width:{pos(high) - pos(low):.2f}%" '
        f'title="zone à étudier"></div>'
        f'<div class="mark" style="left:calc({pos(result.threshold):.2f}% - 1px)" title="seuil"></div>'
        '</div><div class="scale"><span>0 %</span><span>zone jaune : à étudier · trait noir : seuil</span>'
        f'<span>{_pct(top)}</span></div></div>'
    )


def reasons_markdown(result: Prediction, binary: set[str] | frozenset[str] = frozenset()) -> str:
    """The reasons in the adviser's terms: each listed feature with its value in French and its effect
    in points of default probability, then the other features in one line each (median-filled rest,
    given but not listed); the points add up from the average applicant's probability to the score."""
    reasons = result.reasons

    def listed(items: tuple[Reason, ...]) -> str:
        return "\n".join(f"- {html.escape(r.label, quote=False)} : "
                         f"{format_value(r.feature, r.value, binary=r.feature in binary)} ({fr_points(r.points)})"
                         for r in items) or "- aucun"

    text = (f"**Ce qui augmente le risque**\n{listed(reasons.up)}\n\n"
            f"**Ce qui diminue le risque**\n{listed(reasons.down)}")
    others = [f"{a.label} : {fr_points(a.points)}" for a in reasons.aggregates
              if a is reasons.rest or fr_points(a.points) != fr_points(0.0)]  # a zero "unlisted" line says nothing
    if others:
        text += "\n\n" + "<br>".join(others)
    if reasons.base_score is not None:
        text += (f"\n\n<small>Entre parenthèses : effet sur la probabilité de défaut, en points (SHAP exact, "
                 f"XGBoost). Client moyen : {fr_percent(reasons.base_score)} ; avec ces effets : "
                 f"{fr_percent(result.score)}.</small>")
    return text


# --- dossiers ----------------------------------------------------------------------------------

NO_DOSSIER = ("Aucun dossier chargé : les informations autres que ces 11 champs sont celles du client "
              "médian (valeurs médianes des clients connus).")
_FAMILY_FR = {"Married": "marié(e)", "Single / not married": "célibataire", "Civil marriage": "union civile",
              "Separated": "séparé(e)", "Widow": "veuf / veuve", "Unknown": "inconnue"}
# The key facts shown on loading a dossier (keys of `scoring.store.FACT_LABELS`), in this order.
KEY_FACTS = ("AGE_YEARS", "AMT_INCOME_TOTAL", "AMT_CREDIT", "AMT_ANNUITY", "AMT_GOODS_PRICE", "YEARS_EMPLOYED",
             "NAME_FAMILY_STATUS")


def _money(x: float) -> str:
    return f"{x:,.0f}".replace(",", "\u202f")  # 1 691 (thin no-break space between thousands)


def _fact(key: str, value: Any) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "non renseigné"
    if key == "NAME_FAMILY_STATUS":
        return _FAMILY_FR.get(str(value), str(value))
    if key.startswith("AMT_"):
        return _money(float(value))
    if isinstance(value, int | float):
        return f"{float(value):.1f}".replace(".", ",")
    return str(value)


def facts_markdown(applicant_id: int, facts: dict[str, Any]) -> str:
    """The dossier's key facts, in French (labels of `scoring.store.FACT_LABELS`)."""
    lines = "\n".join(f"- {FACT_LABELS[k]} : {_fact(k, facts.get(k))}" for k in KEY_FACTS if k in FACT_LABELS)
    return (f"**Dossier n° {applicant_id}**\n{lines}\n\nLes 11 champs ci-dessous portent les valeurs du dossier ; "
            "les autres informations sont celles du dossier.")


SHOWN_DECIMALS = 4  # a dossier's numbers in the form (a field left as shown is not sent: the exact value stays)


def dossier_values(dossier: Any, features: list[str]) -> list[Any]:
    """The form's values (in `form_inputs()` order) of a stored applicant: raw application values
    where the field is one, else the stored row's, rounded to `SHOWN_DECIMALS`; None where missing (an
    empty box, a radio without choice). Re-evaluating sends only the fields that differ from these,
    so an unchanged field keeps the dossier's exact value."""
    index = {name: i for i, name in enumerate(features)}

    def value(name: str) -> float | None:
        raw = dossier.raw.get(name) if name in dossier.raw else None
        if raw is None and name in index:
            raw = float(dossier.row[index[name]])
        if raw is None or (isinstance(raw, float) and math.isnan(raw)):
            return None
        return float(raw)

    out: list[Any] = []
    for item in form_inputs():
        if isinstance(item, ExclusiveGroup):
            chosen = [o for o, f in item.options.items() if f and value(f) == 1.0]
            other = [o for o, f in item.options.items() if f is None]  # "Autre": no option of the model
            out.append(chosen[0] if chosen else other[0] if other else None)
        elif item.widget == "checkbox":
            out.append(value(item.name) == 1.0)
        else:
            x = value(item.name)
            out.append(None if x is None else round(x, SHOWN_DECIMALS))
    return out


def change_text(result: Prediction, base: Prediction | None) -> str:
    """"+3,2 points par rapport au dossier" (percentage points of default probability), or ""."""
    if base is None:
        return ""
    delta = 100 * (result.score - base.score)
    shown = f"{delta:+.1f}".replace(".", ",").replace("-", "−")
    words = "risque élevé" if base.prediction else "faible risque"
    return f"**{shown} points** par rapport au dossier (score du dossier : {_pct(base.score)}, {words})."
