"""The advisers' form (Gradio Blocks): a dossier or the 11 features in; the decision, a gauge,
the reasons, the change against the dossier, the adviser's decision and the letter out.

Widgets come from `scoring.schema`: number boxes with the accepted ranges, one radio per exclusive
one-hot group, checkboxes for flags (sent to the model as 0/1). "Charger le dossier" fills them with
a known applicant's values and scores their full stored row; "Évaluer" with a dossier number scores
the changed fields on that row (what-if) and shows the change of score against the dossier's.
Layout only: the event handlers in `api.form_events`, pure parts in `api.form_parts`, scoring and
logging in `api.scoring_service`.

Events usable by programs (gradio_client, named parameters, plain-text outputs): `predict`,
`load_dossier`, `decide`, `letter`.
"""

from __future__ import annotations

import json
from typing import Any

import gradio as gr

from api.auth import Access
from api.form_events import CHOICES_FR, FormEvents, named
from api.form_numbers import fr_input, range_hint
from api.form_parts import (
    AMOUNT_FIELDS,
    AMOUNT_LABELS,
    MISSING,
    NO_DOSSIER,
    FormInput,
    form_inputs,
    plain,
)
from api.refusals import shown_path
from api.rest import REPORT_ROUTE
from api.scoring_service import ScoringService
from scoring.feature_registry import domain_rule
from scoring.schema import LABEL_HIGH_RISK, LABEL_REVIEW, ExclusiveGroup
from serving.validation import Bound

TITLE = "Prêt à dépenser — évaluation du risque de crédit"
CSS = """
#gauge .bar {position: relative; height: 28px; border-radius: 6px; background: #e5e7eb; overflow: hidden;}
#gauge .fill {position: absolute; left: 0; top: 0; bottom: 0;}
#gauge .zone {position: absolute; top: 0; bottom: 0; background: rgba(234, 179, 8, 0.35);}
#gauge .mark {position: absolute; top: -4px; bottom: -4px; width: 3px; background: #111827;}
#gauge .scale {display: flex; justify-content: space-between; font-size: 0.85em; color: #4b5563;}
.decision-low textarea, .decision-low input {background: #dcfce7 !important; color: #14532d !important;
  font-weight: 600;}
.decision-review textarea, .decision-review input {background: #fef3c7 !important; color: #78350f !important;
  font-weight: 600;}
.decision-high textarea, .decision-high input {background: #fee2e2 !important; color: #7f1d1d !important;
  font-weight: 600;}
.field-invalid {box-shadow: inset 0 0 0 3px #dc2626 !important; background: #fef2f2 !important; border-radius: 6px;}
.field-invalid label, .field-invalid span {color: #991b1b !important;}
#message:not(:empty) {border-left: 4px solid #dc2626; padding-left: 0.6em;}
#letter iframe {width: 100%; height: 32em; border: 1px solid #d1d5db; background: white;}
"""

# After each event, in the browser: the decision box's colour from the decision and the review flag
# (green low risk, amber "à étudier", red high risk), the refused fields marked (`invalid`: their
# names, one a line), and a refusal message scrolled into view. The events' outputs stay plain text.
COLOUR_JS = f"""(decision, review, invalid) => {{
  const box = document.querySelector('#decision');
  if (box) {{
    box.classList.remove('decision-low', 'decision-review', 'decision-high');
    if (decision) box.classList.add(review === {json.dumps(LABEL_REVIEW)} ? 'decision-review'
                    : decision === {json.dumps(LABEL_HIGH_RISK)} ? 'decision-high' : 'decision-low');
  }}
  document.querySelectorAll('.field-invalid').forEach(el => el.classList.remove('field-invalid'));
  const names = (invalid || '').split('\\n').filter(Boolean);
  for (const name of names) {{
    const el = document.getElementById(name === 'dossier' ? 'dossier-id' : 'in-' + name);
    if (el) el.classList.add('field-invalid');
  }}
  const message = document.querySelector('#message');
  if (message && message.innerText.trim()) {{
    const r = message.getBoundingClientRect();
    if (r.top < 0 || r.bottom > window.innerHeight) message.scrollIntoView({{block: 'center'}});
  }}
}}"""
# Gradio's status tracker (what a screen reader reads after each event) asks its i18n for keys that
# gradio 6.31 ships in no language ("common.complete" is shown raw); Gradio's own I18n supplies them, in
# French whatever the browser's language, since the whole form is French. Passed to mount_gradio_app.
STATUS_FR = {"common.complete": "Terminé", "common.error": "Erreur", "common.loading": "Chargement",
             "common.progress": "Progression", "common.clear": "Effacer",
             "status.queue_position": "En file d'attente : {position} sur {size}"}
I18N = gr.I18n(fr=STATUS_FR, en=STATUS_FR)
GENDER_NOTE = ("Enregistré pour le suivi de l'équité entre femmes et hommes uniquement : le genre n'entre pas "
               "dans la décision.")


def build_ui(service: ScoringService, access: Access | None = None) -> gr.Blocks:
    """The Blocks of the form; events `predict`, `load_dossier`, `decide`, `letter` (gradio_client names).

    One applicant at a time: "Charger le dossier" remembers the dossier loaded (a per-session state);
    "Évaluer" with a dossier number scores that dossier only when it is the one loaded (else it asks
    to load it: the fields on screen would be another applicant's), sending as what-if the fields
    that differ from it. The events take the values as sent (`preprocess=False`) and check them with
    the API's rules (`to_features`). A refusal is one log line with the input as sent, one console
    line, and a French message under the "Évaluer" button with the fields marked. With access control
    on (`access`), every event needs an identity (the form's login or a token) and works on that
    identity's evaluations only.
    """
    bounds = service.validator.bounds if service.validator else None
    items = form_inputs()
    with gr.Blocks(title=TITLE, analytics_enabled=False) as demo:
        with gr.Tab("Évaluation"):
            gr.Markdown(f"# {TITLE}\nChargez un dossier par son numéro, ou renseignez les champs, puis cliquez "
                        "sur **Évaluer**. Nombres à la française (0,45 ; 1 200) ; un score externe, les retraits "
                        "ou l'impayé inconnus se laissent vides.")
            if service.predictor is None:
                gr.Markdown("**Service indisponible : aucun modèle chargé.** "
                            f"{plain(shown_path(service.load_error) or '')}")
            template = dict(zip(service.predictor.features, service.predictor.template[0].tolist(), strict=True)) \
                if service.predictor else {}
            binary = {n for n, b in bounds.items() if b.binary} if bounds else set()
            widgets: list[gr.components.Component] = []
            loaded = gr.State(None)  # the dossier loaded in this session's form: {"id", "facts"}, or None
            with gr.Row():
                with gr.Column(scale=3):
                    with gr.Row(equal_height=True):
                        dossier = gr.Textbox(label="N° de dossier", value="", placeholder="par exemple 100002",
                                             elem_id="dossier-id", scale=2)
                        load = gr.Button("Charger le dossier", elem_id="load", scale=1)
                    facts = gr.Markdown(NO_DOSSIER, elem_id="facts", label="Dossier")
                    for item in items:
                        widgets.append(_widget(item, template, bounds, service.validator))
                    with gr.Row():
                        amounts = [gr.Textbox(label=AMOUNT_LABELS[name], value="", elem_id=f"in-{name}",
                                              info="dossier chargé : montant négocié") for name in AMOUNT_FIELDS]
                    submit = gr.Button("Évaluer", variant="primary", elem_id="submit")
                    message = gr.Markdown(elem_id="message", label="Message")
                    invalid = gr.Textbox(label="Champs à corriger", value="", visible=False, elem_id="invalid-fields")
                with gr.Column(scale=2):
                    decision = gr.Textbox(label="Décision", value="", interactive=False, elem_id="decision",
                                          elem_classes=["decision"])
                    review = gr.Textbox(label="Revue", value="", interactive=False, elem_id="review")
                    score = gr.Textbox(label="Score (probabilité de défaut)", value="", interactive=False,
                                       elem_id="score")
                    change = gr.Markdown(elem_id="change", label="Dossier et champs modifiés")
                    gauge = gr.HTML(elem_id="gauge", label="Jauge")
                    reasons = gr.Markdown(elem_id="reasons", label="Raisons")
                    request_id = gr.Textbox(label="Référence de l'évaluation", value="", interactive=False,
                                            elem_id="request-id")
                    with gr.Group():
                        adviser = gr.Radio(list(CHOICES_FR), label="Décision du conseiller", value=None,
                                           elem_id="adviser-decision")
                        motive = gr.Textbox(label="Motif (obligatoire pour passer outre le modèle)", value="",
                                            elem_id="adviser-reason")
                        replace = gr.Checkbox(label="Remplacer la décision déjà enregistrée sur cette évaluation",
                                              value=False, elem_id="adviser-replace")
                    record = gr.Button("Enregistrer la décision", elem_id="record")
                    recorded = gr.Markdown(elem_id="recorded", label="Décision enregistrée")
                    print_letter = gr.Button("Imprimer le courrier", elem_id="print-letter")
                    letter = gr.HTML(elem_id="letter", label="Courrier")
        with gr.Tab("Rapport du modèle"):
            if service.report_html() is not None:
                # an iframe: the report's own styles stay out of the form
                gr.HTML(f'<iframe src="{REPORT_ROUTE}" title="Rapport du modèle" '
                        'style="width:100%;height:85vh;border:0"></iframe>')
            else:
                gr.Markdown("Ce modèle n'a pas de rapport (il est écrit par `python train.py`).")

        outputs = [score, decision, review, gauge, reasons, message, change, facts, request_id, invalid]
        events = FormEvents(service, access, len(items), binary, bounds, [w.value for w in widgets])

        names = [item.name for item in items]
        mark = {"fn": None, "inputs": [decision, review, invalid], "js": COLOUR_JS, "api_visibility": "private"}
        submit.click(named(events.on_submit, [*names, *AMOUNT_FIELDS, "dossier", "session"]),
                     inputs=[*widgets, *amounts, dossier, loaded], outputs=outputs,
                     api_name="predict", preprocess=False).then(**mark)
        load.click(named(events.on_load, ["dossier", "session"]), inputs=[dossier, loaded],
                   outputs=[*widgets, *amounts, loaded, *outputs], api_name="load_dossier", preprocess=False) \
            .then(**mark)
        dossier.input(events.on_number_changed, inputs=[dossier, loaded], outputs=[*amounts, loaded, facts],
                      api_visibility="private", preprocess=False)
        record.click(named(events.on_decide, ["request_id", "decision", "reason", "replace"]),
                     inputs=[request_id, adviser, motive, replace], outputs=[recorded], api_name="decide",
                     preprocess=False)
        print_letter.click(named(events.on_letter, ["request_id"]), inputs=[request_id], outputs=[letter],
                           api_name="letter", preprocess=False)
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
        if isinstance(inputs, list) and len(inputs) > len(fn.inputs):  # extra values are refused, not ignored
            raise gr.Error(f"{len(inputs)} valeurs reçues pour {len(fn.inputs)} champs.")
        if getattr(fn, "api_name", None) == "predict" and isinstance(inputs, list):
            inputs.extend([MISSING] * (len(fn.inputs) - len(inputs)))
        original(fn, inputs)

    demo.validate_inputs = validate_inputs  # type: ignore[method-assign]


def _widget(item: FormInput, template: dict[str, float], bounds: dict[str, Bound] | None,
            validator: Any = None) -> gr.components.Component:
    # Defaults: the median applicant (the template); a loaded dossier replaces them.
    if isinstance(item, ExclusiveGroup):
        choices = list(item.options)
        default = next((o for o, f in item.options.items() if f and template.get(f) == 1.0), choices[-1])
        recorded_only = validator is not None and all(f in validator.recorded for f in item.options.values() if f)
        return gr.Radio(choices=choices, value=default, label=item.label, elem_id=f"in-{item.name}",
                        info=GENDER_NOTE if recorded_only else None)
    default = template.get(item.name, item.minimum)
    if item.widget == "checkbox":
        return gr.Checkbox(value=default == 1.0, label=item.label, elem_id=f"in-{item.name}")
    b = (bounds or {}).get(item.name) or Bound(item.minimum, item.maximum, False, domain_rule(item.name))
    default = None if default != default else min(max(default, b.low), b.high)  # NaN: unknown, an empty box
    # A text box, not a number box: a browser's number box reads "0,45" as 45 (or nothing) and a
    # slider clamps silently; here "0,45" and "1 200" are read the French way and a bad value is
    # refused with a message. The accepted range is the API's, stated under the label.
    return gr.Textbox(value=fr_input(default), label=item.label, elem_id=f"in-{item.name}", info=range_hint(b))
