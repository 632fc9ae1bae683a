"""The form's pure parts (no Gradio): its inputs, form values → model features, a dossier's
values for the form, and what the outputs show (French numbers, gauge, reasons, facts, change).

`api.ui` draws the form with them; the tests call them directly.
"""

from __future__ import annotations

import functools
import html
import math
import re
from typing import Any

from api.form_numbers import (
    SHOWN_DECIMALS,
    NotANumber,
    fr_input,
    fr_out_of_range,
    fr_shown,
    fr_violation,
    parse_fr_number,
)
from api.logger import safe_input
from scoring.explain_format import format_value, fr_number, fr_percent, fr_points
from scoring.feature_registry import domain_rule, feature_label
from scoring.labels import category
from scoring.schema import EXCLUSIVE_GROUPS, UI_FEATURES, ExclusiveGroup, UIFeature
from scoring.store import FACT_LABELS
from scoring.store import NEGOTIABLE_FIELDS as AMOUNT_FIELDS
from serving.predictor import Prediction, Reason
from serving.rules import FLOAT32_MAX, Bound, Rules

AMOUNT_LABELS = {name: FACT_LABELS[name] for name in AMOUNT_FIELDS}  # the dossier's own French labels

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
    """A form value refused, with the French message shown in the form and the fields to mark
    (`form_inputs()` names, amounts, or "dossier")."""

    def __init__(self, message: str, fields: tuple[str, ...] | list[str] = ()):
        super().__init__(message)
        self.fields = tuple(fields)


class _Missing:
    """A value the call did not send (Gradio would refuse the call before our code: see build_ui)."""

    def __repr__(self) -> str:
        return "<manquant>"


MISSING = _Missing()


class _Keep:
    """A what-if value equal to the dossier's own: not sent, the dossier's exact value stays."""

    def __repr__(self) -> str:
        return "<inchangé>"


KEEP = _Keep()
# Radios that may be left without a choice: gender (recorded for fairness monitoring only; unknown
# for some applicants, CODE_GENDER = XNA). Both options then read 0.
OPTIONAL_GROUPS = frozenset({"CODE_GENDER"})


def _number(value: Any) -> float | None:
    """A real number as sent (int or float, not a boolean, not a string), else None."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def to_features(values: tuple[Any, ...] | list[Any], bounds: Rules | None = None, *,
                partial: bool = False) -> dict[str, float]:
    """Form values as sent (in `form_inputs()` order) → model features; radios become one-hot 0/1.

    A number box takes a number typed the French way (`0,45`, `1 200`; programs may send numbers);
    left empty, it is unknown (NaN: scored as missing, `MAY_BE_UNKNOWN`). A checkbox takes
    true/false (or 0/1), a radio one of its choices (gender may be left unset). The values read are
    then checked by the model's rules (`bounds`: the `serving.rules.Rules` of the API and every door;
    without a model, the schema's form ranges). Raises `FormRefusal` with a French message naming
    each bad field. `partial` (a dossier's what-if): a value `KEEP` is left out (the dossier's own
    value stays).
    """
    items = form_inputs()
    sent = sum(1 for v in values if v is not MISSING)
    if len(values) != len(items) or sent != len(items):
        raise FormRefusal(f"Le formulaire attend {len(items)} valeurs (reçu {sent}).")
    read: dict[str, Any] = {}
    problems: dict[str, str] = {}  # form input name -> French message, in form order
    for item, value in zip(items, values, strict=True):
        if partial and value is KEEP:
            continue
        if isinstance(item, ExclusiveGroup):
            if value is None and item.name in OPTIONAL_GROUPS:
                read |= {name: 0.0 for name in item.options.values() if name is not None}
            elif not isinstance(value, str) or value not in item.options:
                problems[item.name] = (f"{item.label} : choisir parmi {', '.join(item.options)} "
                                       f"(reçu {fr_shown(value)}).")
            else:
                read |= {name: float(option == value) for option, name in item.options.items() if name is not None}
        elif item.widget == "checkbox":
            read[item.name] = value
        else:
            x = _typed_number(value)
            if x is NOT_A_NUMBER:
                problems[item.name] = (f"{item.label} : saisir un nombre, par exemple 0,45 ou 1 200 "
                                       f"(reçu {fr_shown(value)}).")
            else:
                read[item.name] = x
    rules = bounds if bounds is not None else schema_rules()
    features, broken = rules.check(read, partial=True)
    for v in broken:
        item = _item_of(v.feature.split(",")[0])
        if item.name not in problems:
            kind = "radio" if isinstance(item, ExclusiveGroup) else item.widget
            problems[item.name] = fr_violation(item.label, kind, v, read.get(v.feature))
    if problems:
        order = [item.name for item in items]
        bad = sorted(problems, key=order.index)
        raise FormRefusal(" ".join(problems[name] for name in bad), bad)
    return features


def _item_of(feature: str) -> FormInput:
    for item in form_inputs():
        if item.name == feature or (isinstance(item, ExclusiveGroup) and feature in item.options.values()):
            return item
    raise KeyError(feature)


@functools.cache
def schema_rules() -> Rules:
    """The form's rules without a model: each number box's domain, the schema's range as what was seen, flags 0/1."""
    return Rules({f.name: Bound(0.0, 1.0, True, rule, 0.0, 1.0) if (rule := domain_rule(f.name)).binary
                  else Bound(max(rule.low, -FLOAT32_MAX), min(rule.high, FLOAT32_MAX), False, rule, f.minimum,
                             f.maximum) for f in UI_FEATURES})


NOT_A_NUMBER = object()


def _typed_number(value: Any) -> Any:
    """`parse_fr_number(value)`, or NOT_A_NUMBER."""
    try:
        return parse_fr_number(value)
    except NotANumber:
        return NOT_A_NUMBER


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
    if result.out_of_range:
        labels = [html.escape(feature_label(name), quote=False) for name in result.out_of_range]
        text = f"{fr_out_of_range(labels)}\n\n{text}"
    if reasons.base_score is not None:
        text += (f"\n\n<small>Entre parenthèses : effet sur la probabilité de défaut, en points (SHAP exact, "
                 f"XGBoost). Client moyen : {fr_percent(reasons.base_score)} ; avec ces effets : "
                 f"{fr_percent(result.score)}.</small>")
    return text


# --- dossiers ----------------------------------------------------------------------------------

NO_DOSSIER = ("Aucun dossier chargé : les informations autres que ces 11 champs sont celles du client "
              "médian (valeurs médianes des clients connus).")
# The key facts shown on loading a dossier (keys of `scoring.store.FACT_LABELS`), in this order.
KEY_FACTS = ("AGE_YEARS", "AMT_INCOME_TOTAL", "AMT_CREDIT", "AMT_ANNUITY", "AMT_GOODS_PRICE", "YEARS_EMPLOYED",
             "NAME_FAMILY_STATUS")


def _fact(key: str, value: Any) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "non renseigné"
    if key == "NAME_FAMILY_STATUS":
        return plain(category(str(value))[0])  # the registry's vocabulary; an unknown value shown as text
    if key.startswith("AMT_"):
        return fr_number(float(value), 0)  # 1 691 (narrow no-break space between thousands)
    if isinstance(value, int | float):
        return fr_number(float(value), 1, keep_zeros=True)
    return plain(value)  # a stored text is data, never Markdown


def facts_markdown(applicant_id: int, facts: dict[str, Any], amounts: dict[str, float] | None = None) -> str:
    """The dossier's key facts, in French (labels of `scoring.store.FACT_LABELS`); `amounts`: the
    negotiated amounts scored instead of the dossier's (a what-if), shown with the dossier's."""
    amounts = amounts or {}

    def line(k: str) -> str:
        if k in amounts:
            return (f"- {FACT_LABELS[k]} : **{_fact(k, amounts[k])}** (évalué ; dossier : {_fact(k, facts.get(k))})")
        return f"- {FACT_LABELS[k]} : {_fact(k, facts.get(k))}"

    lines = "\n".join(line(k) for k in KEY_FACTS if k in FACT_LABELS)
    return (f"**Dossier n° {applicant_id}**\n{lines}\n\nLes champs ci-dessous portent les valeurs du dossier "
            "(vide : inconnu) ; les autres informations sont celles du dossier.")


def dossier_values(dossier: Any, features: list[str]) -> list[Any]:
    """The form's values (in `form_inputs()` order) of a stored applicant: raw application values
    where the field is one, else the stored row's; numbers as the boxes show them (`fr_input`, "" when
    unknown), radios by their choice (gender from the raw `CODE_GENDER`, None when unknown: a model
    without gender has no such column). Re-evaluating sends only the fields that differ from these
    (`what_if_changes`), so an unchanged field keeps the dossier's exact value."""
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
            category = dossier.raw.get(item.name)
            chosen = [o for o, f in item.options.items() if f and (value(f) == 1.0 if f in index else
                                                                    f == f"{item.name}_{category}")]
            other = [o for o, f in item.options.items() if f is None]  # "Autre": no option of the model
            out.append(chosen[0] if chosen else other[0] if other else None)
        elif item.widget == "checkbox":
            out.append(value(item.name) == 1.0)
        else:
            out.append(fr_input(value(item.name)))
    return out


def dossier_amounts(dossier: Any) -> list[str]:
    """The dossier's negotiated amounts (`AMOUNT_FIELDS`) as the boxes show them."""
    return [fr_input(_finite_or_none(dossier.raw.get(name))) for name in AMOUNT_FIELDS]


def _finite_or_none(value: Any) -> float | None:
    if value is None or isinstance(value, str):
        return None
    x = float(value)
    return x if math.isfinite(x) else None


def what_if_changes(form: list[Any] | tuple[Any, ...], own: list[Any]) -> tuple[list[Any], list[str]]:
    """The form's values with those equal to the dossier's own (`dossier_values`) replaced by `KEEP`,
    and the labels of the fields that differ. Numbers are compared as read (`0,45` = `0.45`)."""
    out: list[Any] = []
    changed: list[str] = []
    for item, value, mine in zip(form_inputs(), form, own, strict=True):
        same = value == mine
        if not same and not isinstance(item, ExclusiveGroup) and item.widget != "checkbox":
            a, b = _typed_number(value), _typed_number(mine)
            same = a is not NOT_A_NUMBER and (a == b or (a is not None and b is not None
                                                          and abs(a - b) <= 0.5 * 10 ** -SHOWN_DECIMALS))
        out.append(KEEP if same else value)
        if not same:
            changed.append(item.label)
    return out, changed


def amount_overrides(values: list[Any] | tuple[Any, ...], own: list[str] | None,
                     high: dict[str, float]) -> dict[str, float]:
    """The negotiated amounts typed that differ from the dossier's (`own`; None without a dossier:
    then every box must stay empty). Raises `FormRefusal` naming the field."""
    out: dict[str, float] = {}
    problems: list[str] = []
    bad: list[str] = []
    for i, (name, value) in enumerate(zip(AMOUNT_FIELDS, values, strict=True)):
        label = AMOUNT_LABELS[name]
        x = None if value is MISSING else _typed_number(value)
        if own is None:
            if x is not None:
                problems.append(f"{label} : les montants se modifient sur un dossier chargé (sans dossier, les "
                                "autres informations sont celles du client médian).")
                bad.append(name)
            continue
        mine = _typed_number(own[i])
        if x is NOT_A_NUMBER:
            problems.append(f"{label} : saisir un montant, par exemple 250 000 (reçu {fr_shown(value)}).")
        elif x == mine or (x is not None and mine is not None and abs(x - mine) < 0.005):
            continue
        elif x is None:
            problems.append(f"{label} : saisir le montant (il ne peut pas être inconnu).")
        elif not (math.isfinite(x) and 0 < x <= high.get(name, math.inf)):
            problems.append(f"{label} : {fr_input(x) or x} est impossible ou hors des montants connus "
                            f"(de plus de 0 à {fr_input(high.get(name))} €).")
        else:
            out[name] = x
            continue
        bad.append(name)
    if problems:
        raise FormRefusal(" ".join(problems), bad)
    return out


def change_text(result: Prediction, base: Prediction | None, applicant_id: int | None = None,
                changed: list[str] | tuple[str, ...] = ()) -> str:
    """What was scored against what: "**Dossier n° 100002** — champs modifiés : Score externe 2.
    **+3,2 points** par rapport au dossier (…)" (percentage points of default probability); without a
    dossier, ""."""
    if applicant_id is None:
        return ""
    head = f"**Dossier n° {applicant_id}**"
    if base is None:
        return f"{head} — aucun champ modifié : score du dossier."
    delta = 100 * (result.score - base.score)
    shown = f"{delta:+.1f}".replace(".", ",").replace("-", "−")
    words = "risque élevé" if base.prediction else "faible risque"
    fields = f" — champs modifiés : {', '.join(changed)}." if changed else ""
    return (f"{head}{fields} **{shown} points** par rapport au dossier (score du dossier : {_pct(base.score)}, "
            f"{words}).")


_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]|~#])")  # emphasis, code, links, tables, strike, headings


def plain(text: Any) -> str:
    """Text a user typed, made inert for a Markdown component: HTML escaped, Markdown punctuation
    backslash-escaped; it is shown as typed, never as bold, a link or an element."""
    one_line = " ".join(str(text).split())  # no line break: nothing typed starts a list or a heading
    return _MARKDOWN_SPECIAL.sub(r"\\\1", html.escape(one_line, quote=False))
