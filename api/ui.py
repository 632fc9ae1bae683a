"""The advisers' form (Gradio Blocks): the 11 features in, the decision, a gauge and the reasons out.

Widgets come from `scoring.schema`: sliders and numbers with the form ranges, one radio per
exclusive one-hot group, checkboxes for flags (sent to the model as 0/1). Drawing only: scoring
and logging go through `api.scoring_service.ScoringService`.
"""

from __future__ import annotations

import html
import logging
import math
import time
from typing import Any

import gradio as gr

from api.logger import new_request_id, safe_input
from api.predictor import Prediction, Reason
from api.rest import REPORT_ROUTE
from api.scoring_service import ModelUnavailable, ScoringService, refusal_message, shown_path
from api.validation import Bound
from scoring.explain_format import format_value, fr_percent, fr_points
from scoring.schema import EXCLUSIVE_GROUPS, LABEL_REVIEW, UI_FEATURES, ExclusiveGroup, UIFeature

log = logging.getLogger(__name__)

TITLE = "Prêt à dépenser — évaluation du risque de crédit"
CSS = """
#gauge .bar {position: relative; height: 28px; border-radius: 6px; background: #e5e7eb; overflow: hidden;}
#gauge .fill {position: absolute; left: 0; top: 0; bottom: 0;}
#gauge .zone {position: absolute; top: 0; bottom: 0; background: rgba(234, 179, 8, 0.35);}
#gauge .mark {position: absolute; top: -4px; bottom: -4px; width: 3px; background: #111827;}
#gauge .scale {display: flex; justify-content: space-between; font-size: 0.85em; color: #4b5563;}
"""

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


def to_features(values: tuple[Any, ...] | list[Any], bounds: dict[str, Bound] | None = None) -> dict[str, float]:
    """Form values as sent (in `form_inputs()` order) → model features; radios become one-hot 0/1.

    Nothing is coerced: a number box takes a number within the accepted range (`bounds`: the same
    rules as the API; the schema's form range when no model is loaded), a checkbox true/false (or
    0/1), a radio one of its choices. Raises `FormRefusal` with a French message naming the field.
    """
    items = form_inputs()
    sent = sum(1 for v in values if v is not MISSING)
    if len(values) != len(items) or sent != len(items):
        raise FormRefusal(f"Le formulaire attend {len(items)} valeurs (reçu {sent}).")
    features: dict[str, float] = {}
    problems: list[str] = []
    for item, value in zip(items, values, strict=True):
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
        f'<div style="margin-bottom:4px"><b>Probabilité de défaut : {_pct(result.score)}</b> '
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


REFUSED = "**Saisie refusée.** "


def build_ui(service: ScoringService) -> gr.Blocks:
    """The Blocks of the form; event `predict` (also the gradio_client API name).

    The event takes the values as sent (`preprocess=False`: Gradio's own checks, in English and
    outside our log, never run) and checks them with the API's rules (`to_features`). A refusal is
    one log line with the input as sent, one console line, and a French message in the form
    (`#message`), never an error badge on the outputs.
    """
    bounds = service.validator.bounds if service.validator else None
    with gr.Blocks(title=TITLE, analytics_enabled=False) as demo:
        with gr.Tab("Évaluation"):
            gr.Markdown(f"# {TITLE}\nRenseignez le dossier puis cliquez sur **Évaluer**. "
                        "Les autres informations du modèle prennent la valeur médiane des clients connus.")
            if service.predictor is None:
                gr.Markdown("**Service indisponible : aucun modèle chargé.** "
                            f"{html.escape(shown_path(service.load_error) or '')}")
            template = dict(zip(service.predictor.features, service.predictor.template[0].tolist(), strict=True)) \
                if service.predictor else {}
            binary = {n for n, b in bounds.items() if b.binary} if bounds else set()
            widgets: list[gr.components.Component] = []
            with gr.Row():
                with gr.Column(scale=3):
                    for item in form_inputs():
                        widgets.append(_widget(item, template, bounds))
                    submit = gr.Button("Évaluer", variant="primary", elem_id="submit")
                with gr.Column(scale=2):
                    message = gr.Markdown(elem_id="message")
                    decision = gr.Textbox(label="Décision", interactive=False, elem_id="decision")
                    review = gr.Textbox(label="Revue", interactive=False, elem_id="review")
                    score = gr.Number(value=None, label="Score (probabilité de défaut)", precision=4, interactive=False,
                                      elem_id="score")
                    gauge = gr.HTML(elem_id="gauge")
                    reasons = gr.Markdown(elem_id="reasons")
        with gr.Tab("Rapport du modèle"):
            if service.report_html() is not None:
                # an iframe: the report's own styles stay out of the form
                gr.HTML(f'<iframe src="{REPORT_ROUTE}" title="Rapport du modèle" '
                        'style="width:100%;height:85vh;border:0"></iframe>')
            else:
                gr.Markdown("Ce modèle n'a pas de rapport (il est écrit par `python train.py`).")

        def refuse(request_id: str, exc: Exception, french: str) -> tuple:
            log.warning("form call %s refused: %s", request_id, refusal_message(exc))  # logged by the service
            return None, "", "", "", "", REFUSED + html.escape(french, quote=False)

        def on_submit(*values: Any) -> tuple[float | None, str, str, str, str, str]:
            started = time.perf_counter()
            request_id = new_request_id()
            try:
                with service.refusals(request_id=request_id, started=started, input=lambda: sent_input(values)):
                    features = to_features(values, bounds)
                    result = service.score(features, request_id=request_id, started=started)
            except FormRefusal as exc:
                return refuse(request_id, exc, str(exc))
            except ModelUnavailable as exc:
                return refuse(request_id, exc, "aucun modèle n'est chargé : le service ne peut pas évaluer de dossier.")
            except Exception as exc:  # noqa: BLE001 - one log line and one console line, no traceback
                return refuse(request_id, exc, "erreur interne : le dossier n'a pas pu être évalué.")
            flag = LABEL_REVIEW if result.review else "—"
            return (round(result.score, 4), result.label, flag, gauge_html(result, service.predictor.grey_zone),
                    reasons_markdown(result, binary), "")

        submit.click(on_submit, inputs=widgets, outputs=[score, decision, review, gauge, reasons, message],
                     api_name="predict", preprocess=False)
    _pad_short_calls(demo)
    return demo


def _pad_short_calls(demo: gr.Blocks) -> None:
    """A call with fewer values than inputs is refused by Gradio before our function (a traceback
    on the console, no log line): pad it with MISSING so that `on_submit` refuses it like any other
    bad value. Uses `Blocks.validate_inputs` (gradio 6.31, pinned); without it, Gradio's refusal stays."""
    original = getattr(demo, "validate_inputs", None)
    if original is None:
        return

    def validate_inputs(fn: Any, inputs: list[Any]) -> None:
        if getattr(fn, "api_name", None) == "predict" and isinstance(inputs, list):
            inputs.extend([MISSING] * (len(fn.inputs) - len(inputs)))
        original(fn, inputs)

    demo.validate_inputs = validate_inputs  # type: ignore[method-assign]


def _widget(item: FormInput, template: dict[str, float], bounds: dict[str, Bound] | None) -> gr.components.Component:
    if isinstance(item, ExclusiveGroup):
        choices = list(item.options)
        default = next((o for o, f in item.options.items() if f and template.get(f) == 1.0), choices[-1])
        return gr.Radio(choices=choices, value=default, label=item.label)
    default = template.get(item.name, item.minimum)
    if item.widget == "checkbox":
        return gr.Checkbox(value=default == 1.0, label=item.label)
    b = (bounds or {}).get(item.name)
    low, high = (b.low, b.high) if b else (item.minimum, item.maximum)
    default = min(max(default if default == default else low, low), high)  # NaN → the lowest accepted
    # A number box, no slider: a browser slider clamps a typed value silently; here an out-of-range
    # value is refused with a message. The accepted range is the API's, stated under the label.
    return gr.Number(value=round(default, 4), step=item.step, label=item.label, elem_id=f"in-{item.name}",
                     info=f"entre {_fr(low)} et {_fr(high)}")
