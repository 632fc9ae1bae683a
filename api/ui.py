"""The advisers' form (Gradio Blocks): a dossier or the 11 features in; the decision, a gauge,
the reasons, the change against the dossier, the adviser's decision and the letter out.

Widgets come from `scoring.schema`: number boxes with the accepted ranges, one radio per exclusive
one-hot group, checkboxes for flags (sent to the model as 0/1). "Charger le dossier" fills them with
a known applicant's values and scores their full stored row; "Évaluer" with a dossier number scores
the changed fields on that row (what-if) and shows the change of score against the dossier's.
Drawing only: pure parts in `api.form_parts`, scoring and logging in `api.scoring_service`.

Events usable by programs (gradio_client, named parameters, plain-text outputs): `predict`,
`load_dossier`, `decide`, `letter`.
"""

from __future__ import annotations

import html
import inspect
import json
import logging
import time
from collections.abc import Callable
from typing import Any

import gradio as gr

from api.adviser import ACCEPT, DECISION_LABELS_FR, DecisionError
from api.auth import Access
from api.form_parts import (
    MISSING,
    NO_DOSSIER,
    FormInput,
    FormRefusal,
    _fr,
    change_text,
    dossier_values,
    facts_markdown,
    form_inputs,
    gauge_html,
    reasons_markdown,
    score_text,
    sent_input,
    to_features,
)
from api.logger import new_request_id
from api.rest import REPORT_ROUTE
from api.scoring_service import (
    DossierResult,
    ModelUnavailable,
    ScoringService,
    StoreUnavailable,
    UnknownApplicant,
    UnknownRequest,
    shown_path,
)
from scoring.schema import LABEL_HIGH_RISK, LABEL_REVIEW, SOURCE_DOSSIER, SOURCE_FORM, ExclusiveGroup
from serving.predictor import Prediction
from serving.validation import Bound, InputError

log = logging.getLogger(__name__)

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
#letter iframe {width: 100%; height: 32em; border: 1px solid #d1d5db; background: white;}
"""

# The decision box's colour, set in the browser from the decision and the review flag, so that the
# events' outputs stay plain text for programs: green (low risk), amber (à étudier), red (high risk).
COLOUR_JS = f"""(decision, review) => {{
  const box = document.querySelector('#decision');
  if (!box) return;
  box.classList.remove('decision-low', 'decision-review', 'decision-high');
  if (!decision) return;
  box.classList.add(review === {json.dumps(LABEL_REVIEW)} ? 'decision-review'
                    : decision === {json.dumps(LABEL_HIGH_RISK)} ? 'decision-high' : 'decision-low');
}}"""
REFUSED = "**Saisie refusée.** "
NO_STORE = ("Les dossiers ne sont pas disponibles pour le moment (base des clients connus absente ou en "
            "construction) : le formulaire reste utilisable avec les 11 champs.")
NO_IDENTITY = "Identification requise : connectez-vous (ou présentez un jeton d'accès) pour utiliser le formulaire."
CHOICES_FR = {label: code for code, label in DECISION_LABELS_FR.items()}


def parse_dossier_number(value: Any) -> int | None:
    """The dossier number typed (None when empty); raises `FormRefusal` in French when malformed."""
    if value is MISSING or value is None or (isinstance(value, str) and not value.strip()):
        return None
    if type(value) is int:
        number = value
    elif isinstance(value, str) and (digits := value.strip().replace(" ", "")).isascii() and digits.isdigit():
        number = int(digits)
    else:
        raise FormRefusal(f"N° de dossier : saisir un nombre entier positif (reçu {str(value)[:40]!r}).")
    if not 1 <= number <= 2**31 - 1:
        raise FormRefusal(f"N° de dossier : saisir un nombre entier positif (reçu {number}).")
    return number


def identity_of(request: gr.Request | None, access: Access | None) -> str | None:
    """Who calls an event: the form's logged-in user (FORM_USERS), else the identity of the request's
    `Authorization` header (`api.auth.Access`), else None."""
    if request is None:
        return None
    user = getattr(request, "username", None)
    if user:
        return str(user)
    if access is None or not access.enabled:
        return None
    headers = getattr(request, "headers", None) or {}
    return access.identify(headers.get("authorization"))


def _named(fn: Callable[..., Any], names: list[str]) -> Callable[..., Any]:
    """`fn(request, *values)` with a signature naming each input (gradio_client shows these names); the
    `gr.Request` comes first, filled in by Gradio and hidden from the API."""
    def event(request: gr.Request, *values: Any) -> Any:
        return fn(request, *values)

    event.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [inspect.Parameter("request", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=gr.Request),
         *[inspect.Parameter(name, inspect.Parameter.POSITIONAL_OR_KEYWORD) for name in names]])
    event.__annotations__ = {"request": gr.Request}
    event.__name__ = fn.__name__
    return event


def build_ui(service: ScoringService, access: Access | None = None) -> gr.Blocks:
    """The Blocks of the form; events `predict`, `load_dossier`, `decide`, `letter` (gradio_client names).

    The events take the values as sent (`preprocess=False`: Gradio's own checks, in English and
    outside our log, never run) and check them with the API's rules (`to_features`). A refusal is
    one log line with the input as sent, one console line, and a French message in the form
    (`#message`), never an error badge on the outputs. With access control on (`access`), every event
    needs an identity (the form's login or a token) and works on that identity's evaluations only.
    """
    guarded = access is not None and access.enabled
    bounds = service.validator.bounds if service.validator else None
    items = form_inputs()
    with gr.Blocks(title=TITLE, analytics_enabled=False) as demo:
        with gr.Tab("Évaluation"):
            gr.Markdown(f"# {TITLE}\nChargez un dossier par son numéro, ou renseignez les 11 champs, puis "
                        "cliquez sur **Évaluer**.")
            if service.predictor is None:
                gr.Markdown("**Service indisponible : aucun modèle chargé.** "
                            f"{html.escape(shown_path(service.load_error) or '')}")
            template = dict(zip(service.predictor.features, service.predictor.template[0].tolist(), strict=True)) \
                if service.predictor else {}
            binary = {n for n, b in bounds.items() if b.binary} if bounds else set()
            widgets: list[gr.components.Component] = []
            with gr.Row():
                with gr.Column(scale=3):
                    with gr.Row(equal_height=True):
                        dossier = gr.Textbox(label="N° de dossier", value="", placeholder="par exemple 100002",
                                             elem_id="dossier-id", scale=2)
                        load = gr.Button("Charger le dossier", elem_id="load", scale=1)
                    facts = gr.Markdown(NO_DOSSIER, elem_id="facts")
                    for item in items:
                        widgets.append(_widget(item, template, bounds))
                    submit = gr.Button("Évaluer", variant="primary", elem_id="submit")
                with gr.Column(scale=2):
                    message = gr.Markdown(elem_id="message")
                    decision = gr.Textbox(label="Décision", value="", interactive=False, elem_id="decision",
                                          elem_classes=["decision"])
                    review = gr.Textbox(label="Revue", value="", interactive=False, elem_id="review")
                    score = gr.Textbox(label="Score (probabilité de défaut)", value="", interactive=False,
                                       elem_id="score")
                    change = gr.Markdown(elem_id="change")
                    gauge = gr.HTML(elem_id="gauge")
                    reasons = gr.Markdown(elem_id="reasons")
                    request_id = gr.Textbox(label="Référence de l'évaluation", value="", interactive=False,
                                            elem_id="request-id")
                    with gr.Group():
                        adviser = gr.Radio(list(CHOICES_FR), label="Décision du conseiller", value=None,
                                           elem_id="adviser-decision")
                        motive = gr.Textbox(label="Motif (obligatoire pour passer outre le modèle)", value="",
                                            elem_id="adviser-reason")
                    record = gr.Button("Enregistrer la décision", elem_id="record")
                    recorded = gr.Markdown(elem_id="recorded")
                    print_letter = gr.Button("Imprimer le courrier", elem_id="print-letter")
                    letter = gr.HTML(elem_id="letter")
        with gr.Tab("Rapport du modèle"):
            if service.report_html() is not None:
                # an iframe: the report's own styles stay out of the form
                gr.HTML(f'<iframe src="{REPORT_ROUTE}" title="Rapport du modèle" '
                        'style="width:100%;height:85vh;border:0"></iframe>')
            else:
                gr.Markdown("Ce modèle n'a pas de rapport (il est écrit par `python train.py`).")

        outputs = [score, decision, review, gauge, reasons, message, change, facts, request_id]

        def shown(result: Prediction, rid: str, facts_text: Any, base: Prediction | None = None) -> tuple:
            flag = LABEL_REVIEW if result.review else "—"
            return (score_text(result.score), result.label, flag, gauge_html(result, service.predictor.grey_zone),
                    reasons_markdown(result, binary), "", change_text(result, base), facts_text, rid)

        def refused(rid: str, started: float, given: dict[str, Any], french: str, error: str,
                    source: str = SOURCE_FORM, client: str | None = None) -> tuple:
            service.log_refusal(request_id=rid, input=given, started=started, error=error, source=source,
                                client=client)
            log.warning("form call %s refused: %s", rid, error)
            return ("", "", "", "", "", REFUSED + french, "", gr.update(), "")

        def attempt(rid: str, started: float, given: dict[str, Any], work: Callable[[], tuple],
                    client: str | None) -> tuple:
            if guarded and client is None:
                return refused(rid, started, given, NO_IDENTITY, "no identity: access control is on", client=client)
            try:
                return work()
            except FormRefusal as exc:
                return refused(rid, started, given, str(exc), str(exc), client=client)
            except InputError as exc:  # a value recomputed from the changed fields is out of its bounds
                fields = ", ".join(e.field for e in exc.errors)
                french = f"les valeurs recalculées sortent des limites acceptées ({fields})."
                return refused(rid, started, given, french, str(exc), client=client)
            except ModelUnavailable as exc:
                return refused(rid, started, given,
                               "aucun modèle n'est chargé : le service ne peut pas évaluer de dossier.", str(exc),
                               client=client)
            except UnknownApplicant as exc:
                return refused(rid, started, given, f"dossier n° {exc.applicant_id} introuvable parmi les clients "
                                                    "connus.", str(exc), SOURCE_DOSSIER, client)
            except StoreUnavailable as exc:
                return refused(rid, started, given, NO_STORE, str(exc), SOURCE_DOSSIER, client)
            except Exception as exc:  # noqa: BLE001 - one log line and one console line, no traceback
                return refused(rid, started, given, "erreur interne : le dossier n'a pas pu être évalué.",
                               f"internal error: {type(exc).__name__}: {exc}", client=client)

        def on_submit(request: gr.Request, *values: Any) -> tuple:
            started, rid, client = time.perf_counter(), new_request_id(), identity_of(request, access)
            form, number = values[:len(items)], values[len(items)] if len(values) > len(items) else MISSING
            given = sent_input(form) | ({"SK_ID_CURR": number} if number not in (MISSING, None, "") else {})

            def work() -> tuple:
                applicant = parse_dossier_number(number)
                if applicant is None:
                    result = service.score(to_features(form, bounds), request_id=rid, started=started,
                                           source=SOURCE_FORM, client=client)
                    return shown(result, rid, NO_DOSSIER)
                if len(form) != len(items) or any(v is MISSING for v in form):
                    to_features(form, bounds)  # raises: the form's values are incomplete
                predictor, _ = service.require_model()
                own = dossier_values(service.dossier(applicant), predictor.features)
                changed = [v if v != mine else None for v, mine in zip(form, own, strict=True)]
                overrides = to_features(changed, bounds, partial=True)
                done = service.score_dossier(applicant, overrides or None, request_id=rid, started=started,
                                             client=client)
                out = shown(done.result, rid, facts_markdown(applicant, done.dossier.facts), done.base)
                return out if done.base else (*out[:6], "Aucun champ modifié : score du dossier.", *out[7:])

            return attempt(rid, started, given, work, client)

        def on_load(request: gr.Request, number: Any) -> tuple:
            started, rid, client = time.perf_counter(), new_request_id(), identity_of(request, access)

            def work() -> tuple:
                applicant = parse_dossier_number(number)
                if applicant is None:
                    raise FormRefusal("N° de dossier : saisir le numéro du dossier à charger.")
                done: DossierResult = service.score_dossier(applicant, request_id=rid, started=started, client=client)
                values = dossier_values(done.dossier, service.predictor.features)
                return (*values, *shown(done.result, rid, facts_markdown(applicant, done.dossier.facts)))

            out = attempt(rid, started, {"SK_ID_CURR": safe_number(number)}, work, client)
            return out if len(out) > len(outputs) else (*[gr.update()] * len(items), *out)

        def on_decide(request: gr.Request, rid: Any, choice: Any, motive_text: Any) -> str:
            client = identity_of(request, access)
            code = CHOICES_FR.get(choice) if isinstance(choice, str) else None
            if guarded and client is None:
                service.log_refusal(request_id=new_request_id(), input={"request_id": safe_number(rid)},
                                    started=time.perf_counter(), error="no identity: access control is on",
                                    source=SOURCE_FORM)
                return NO_IDENTITY
            if code is None:
                service.log_refusal(request_id=new_request_id(), input={"decision": safe_number(choice)},
                                    started=time.perf_counter(), error="decision: not one of the choices",
                                    source=SOURCE_FORM, client=client)
                return "Choisir la décision : " + ", ".join(CHOICES_FR) + "."
            try:
                made = service.record_decision(str(rid or ""), code, motive_text if motive_text else None,
                                               source=SOURCE_FORM, client=client)
            except UnknownRequest:
                return "Aucune évaluation à décider : évaluez ou chargez d'abord un dossier."
            except DecisionError as exc:
                if exc.field == "request_id":
                    return "Une décision est déjà enregistrée pour cette évaluation : évaluez de nouveau pour décider."
                if exc.field == "reason" and not exc.conflict:
                    return "Motif trop long : 1 000 caractères au plus."
                return ("Motif obligatoire : la décision diffère de celle du modèle." if exc.field == "reason" else
                        "Le modèle ne tranche pas (à étudier) : choisir Accepter ou Refuser.")
            final = "acceptée" if made.final == ACCEPT else "refusée"
            note = " (contre l'avis du modèle)" if made.override else ""
            return f"Décision enregistrée : demande {final}{note}."

        def on_letter(request: gr.Request, rid: Any) -> str:
            client = identity_of(request, access)
            if guarded and client is None:
                service.log_refusal(request_id=new_request_id(), input={"letter_of": safe_number(rid)},
                                    started=time.perf_counter(), error="no identity: access control is on",
                                    source=SOURCE_FORM)
                return "<p>" + NO_IDENTITY + "</p>"
            try:
                page = service.letter_for_request(str(rid or ""), client=client, source=SOURCE_FORM)
            except UnknownRequest:
                return "<p>Aucune évaluation : évaluez ou chargez d'abord un dossier.</p>"
            return (f'<iframe title="Courrier au client" srcdoc="{html.escape(page, quote=True)}"></iframe>')

        names = [item.name for item in items]
        submit.click(_named(on_submit, [*names, "dossier"]), inputs=[*widgets, dossier], outputs=outputs,
                     api_name="predict", preprocess=False) \
            .then(None, inputs=[decision, review], js=COLOUR_JS, api_visibility="private")
        load.click(_named(on_load, ["dossier"]), inputs=[dossier], outputs=[*widgets, *outputs],
                   api_name="load_dossier", preprocess=False) \
            .then(None, inputs=[decision, review], js=COLOUR_JS, api_visibility="private")
        record.click(_named(on_decide, ["request_id", "decision", "reason"]), inputs=[request_id, adviser, motive],
                     outputs=[recorded], api_name="decide", preprocess=False)
        print_letter.click(_named(on_letter, ["request_id"]), inputs=[request_id], outputs=[letter],
                           api_name="letter", preprocess=False)
    _pad_short_calls(demo)
    return demo


def safe_number(value: Any) -> Any:
    return value if isinstance(value, int | str) and len(str(value)) <= 40 else repr(value)[:40]


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


def _widget(item: FormInput, template: dict[str, float], bounds: dict[str, Bound] | None) -> gr.components.Component:
    # Defaults: the median applicant (the template); a loaded dossier replaces them.
    if isinstance(item, ExclusiveGroup):
        choices = list(item.options)
        default = next((o for o, f in item.options.items() if f and template.get(f) == 1.0), choices[-1])
        return gr.Radio(choices=choices, value=default, label=item.label, elem_id=f"in-{item.name}")
    default = template.get(item.name, item.minimum)
    if item.widget == "checkbox":
        return gr.Checkbox(value=default == 1.0, label=item.label, elem_id=f"in-{item.name}")
    b = (bounds or {}).get(item.name)
    low, high = (b.low, b.high) if b else (item.minimum, item.maximum)
    default = min(max(default if default == default else low, low), high)  # NaN → the lowest accepted
    # A number box, no slider: a browser slider clamps a typed value silently; here an out-of-range
    # value is refused with a message. The accepted range is the API's, stated under the label.
    return gr.Number(value=round(default, 4), step=item.step, label=item.label, elem_id=f"in-{item.name}",
                     info=f"entre {_fr(low)} et {_fr(high)}")
