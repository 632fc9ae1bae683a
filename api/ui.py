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
from api.form_numbers import fr_input, range_hint
from api.form_parts import (
    AMOUNT_FIELDS,
    AMOUNT_LABELS,
    MISSING,
    NO_DOSSIER,
    FormInput,
    FormRefusal,
    amount_overrides,
    change_text,
    dossier_amounts,
    dossier_values,
    facts_markdown,
    form_inputs,
    gauge_html,
    plain,
    reasons_markdown,
    score_text,
    sent_input,
    to_features,
    what_if_changes,
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
from scoring.feature_registry import domain_rule
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
REFUSED = "**Saisie refusée.** "
NOT_FOUND = "**Dossier introuvable.** "
NOT_LOADED = "**Dossier non chargé.** "
UNAVAILABLE = "**Évaluation impossible.** "
NO_STORE = ("Les dossiers ne sont pas disponibles pour le moment (base des clients connus absente ou en "
            "construction) : le formulaire reste utilisable avec les 11 champs.")
GENDER_NOTE = ("Enregistré pour le suivi de l'équité entre femmes et hommes uniquement : le genre n'entre pas "
               "dans la décision.")
CHOICES_FR = {label: code for code, label in DECISION_LABELS_FR.items()}
NO_ACCESS = "**Accès refusé.** "
NO_IDENTITY = "Identification requise : connectez-vous (ou présentez un jeton d'accès) pour utiliser le formulaire."


class NotLoaded(FormRefusal):
    """Évaluer with a dossier number that is not the dossier loaded in the form."""


def parse_dossier_number(value: Any) -> int | None:
    """The dossier number typed (None when empty); raises `FormRefusal` in French when malformed."""
    if value is MISSING or value is None or (isinstance(value, str) and not value.strip()):
        return None
    if type(value) is int:
        number = value
    elif isinstance(value, str) and (digits := value.strip().replace(" ", "")).isascii() and digits.isdigit():
        number = int(digits)
    else:
        raise FormRefusal(f"N° de dossier : saisir un nombre entier positif (reçu {str(value)[:40]!r}).", ["dossier"])
    if not 1 <= number <= 2**31 - 1:
        raise FormRefusal(f"N° de dossier : saisir un nombre entier positif (reçu {number}).", ["dossier"])
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

    One applicant at a time: "Charger le dossier" remembers the dossier loaded (a per-session state);
    "Évaluer" with a dossier number scores that dossier only when it is the one loaded (else it asks
    to load it: the fields on screen would be another applicant's), sending as what-if the fields
    that differ from it. The events take the values as sent (`preprocess=False`) and check them with
    the API's rules (`to_features`). A refusal is one log line with the input as sent, one console
    line, and a French message under the "Évaluer" button with the fields marked. With access control
    on (`access`), every event needs an identity (the form's login or a token) and works on that
    identity's evaluations only.
    """
    guarded = access is not None and access.enabled
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

        def shown(result: Prediction, rid: str, facts_text: Any, change_line: str = "") -> tuple:
            flag = LABEL_REVIEW if result.review else "—"
            return (score_text(result.score), result.label, flag, gauge_html(result, service.predictor.grey_zone),
                    reasons_markdown(result, binary), "", change_line, facts_text, rid, "")

        def refused(rid: str, started: float, given: dict[str, Any], prefix: str, french: str, error: str,
                    facts_text: Any, fields: tuple[str, ...] = (), source: str = SOURCE_FORM,
                    client: str | None = None) -> tuple:
            service.log_refusal(request_id=rid, input=given, started=started, error=error, source=source,
                                client=client)
            log.warning("form call %s refused: %s", rid, error)
            facts_text = facts_text if isinstance(facts_text, str) else NO_DOSSIER
            return ("", "", "", "", "", prefix + plain(french), "", facts_text, "", "\n".join(fields))

        def attempt(rid: str, started: float, given: dict[str, Any], session: Any,
                    work: Callable[[], tuple], client: str | None) -> tuple:
            facts_text = session.get("facts") if isinstance(session, dict) else NO_DOSSIER
            if guarded and client is None:
                return refused(rid, started, given, NO_ACCESS, NO_IDENTITY, "no identity: access control is on",
                               facts_text)
            try:
                return work()
            except NotLoaded as exc:
                return refused(rid, started, given, NOT_LOADED, str(exc), str(exc), facts_text, exc.fields,
                               client=client)
            except FormRefusal as exc:
                return refused(rid, started, given, REFUSED, str(exc), str(exc), facts_text, exc.fields,
                               client=client)
            except InputError as exc:  # a value recomputed from the changed fields is out of its bounds
                fields = ", ".join(e.field for e in exc.errors)
                return refused(rid, started, given, REFUSED, "les valeurs recalculées sortent des limites "
                               f"acceptées ({fields}).", str(exc), facts_text, client=client)
            except ModelUnavailable as exc:
                return refused(rid, started, given, UNAVAILABLE, "aucun modèle n'est chargé : le service ne peut "
                               "pas évaluer de dossier.", str(exc), facts_text, client=client)
            except UnknownApplicant as exc:
                return refused(rid, started, given, NOT_FOUND, f"Le dossier n° {exc.applicant_id} ne figure pas "
                               "parmi les clients connus.", str(exc), facts_text, ("dossier",), SOURCE_DOSSIER,
                               client)
            except StoreUnavailable as exc:
                return refused(rid, started, given, UNAVAILABLE, NO_STORE, str(exc), facts_text, (), SOURCE_DOSSIER,
                               client)
            except Exception as exc:  # noqa: BLE001 - one log line and one console line, no traceback
                return refused(rid, started, given, UNAVAILABLE, "erreur interne : le dossier n'a pas pu être évalué.",
                               f"internal error: {type(exc).__name__}: {exc}", facts_text, client=client)

        n_items, n_amounts = len(items), len(AMOUNT_FIELDS)

        def on_submit(request: gr.Request, *values: Any) -> tuple:
            started, rid, client = time.perf_counter(), new_request_id(), identity_of(request, access)
            values = list(values) + [MISSING] * max(0, n_items + n_amounts + 2 - len(values))
            form, money = values[:n_items], values[n_items:n_items + n_amounts]
            number, session = values[n_items + n_amounts:n_items + n_amounts + 2]
            loaded_id = session.get("id") if isinstance(session, dict) else None
            given = sent_input(form) | {name: v for name, v in zip(AMOUNT_FIELDS, money, strict=True)
                                        if v not in (MISSING, None, "")}
            given |= {"SK_ID_CURR": safe_number(number)} if number not in (MISSING, None, "") else {}

            def work() -> tuple:
                applicant = parse_dossier_number(number)
                if applicant is None:
                    amount_overrides(money, None, {})  # amounts belong to a loaded dossier
                    result = service.score(to_features(form, bounds), request_id=rid, started=started,
                                           source=SOURCE_FORM, client=client)
                    return shown(result, rid, NO_DOSSIER)
                if loaded_id != applicant:
                    where = f"les champs affichés sont ceux du dossier n° {loaded_id}" if loaded_id else \
                        "aucun dossier n'est chargé dans le formulaire"
                    raise NotLoaded(f"Le dossier n° {applicant} n'est pas chargé ({where}) : cliquez sur « Charger "
                                    "le dossier » avant d'évaluer.", ["dossier"])
                predictor, _ = service.require_model()
                stored = service.dossier(applicant)
                kept, changed = what_if_changes(form, dossier_values(stored, predictor.features))
                overrides = to_features(kept, bounds, partial=True)
                high = service.what_if_rules.amount_high if service.what_if_rules else {}
                new_amounts = amount_overrides(money, dossier_amounts(stored), high)
                changed += [AMOUNT_LABELS[name] for name in new_amounts]
                done = service.score_dossier(applicant, (overrides | new_amounts) or None, request_id=rid,
                                             started=started, client=client)
                return shown(done.result, rid, facts_markdown(applicant, done.dossier.facts, new_amounts),
                             change_text(done.result, done.base, applicant, changed))

            return attempt(rid, started, given, session, work, client)

        def on_load(request: gr.Request, number: Any, session: Any = None) -> tuple:
            started, rid, client = time.perf_counter(), new_request_id(), identity_of(request, access)

            def work() -> tuple:
                applicant = parse_dossier_number(number)
                if applicant is None:
                    raise FormRefusal("N° de dossier : saisir le numéro du dossier à charger.", ["dossier"])
                done: DossierResult = service.score_dossier(applicant, request_id=rid, started=started,
                                                            client=client)
                values = dossier_values(done.dossier, service.predictor.features)
                facts_text = facts_markdown(applicant, done.dossier.facts)
                out = shown(done.result, rid, facts_text, change_text(done.result, None, applicant))
                return (*values, *dossier_amounts(done.dossier), {"id": applicant, "facts": facts_text}, *out)

            out = attempt(rid, started, {"SK_ID_CURR": safe_number(number)}, session, work, client)
            # refused: the fields, the amounts and the loaded dossier stay as they were
            return out if len(out) > len(outputs) else (*[gr.update()] * (n_items + n_amounts), session, *out)

        def on_number_changed(number: Any, session: Any) -> tuple:
            """Another dossier number typed: the loaded dossier is forgotten, its amounts cleared."""
            loaded_id = session.get("id") if isinstance(session, dict) else None
            if loaded_id is None or str(number).strip() == str(loaded_id):
                return (gr.update(),) * (n_amounts + 2)
            return ("",) * n_amounts + (None, NO_DOSSIER + f" (dossier n° {loaded_id} déchargé)")

        def on_decide(request: gr.Request, rid: Any, choice: Any, motive_text: Any, replace_it: Any = False) -> str:
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
                                               source=SOURCE_FORM, client=client, replace=replace_it is True)
            except UnknownRequest:
                return "Aucune évaluation à décider : évaluez ou chargez d'abord un dossier."
            except DecisionError as exc:
                return decision_refusal_fr(exc)
            final = "acceptée" if made.final == ACCEPT else "refusée"
            note = " (contre l'avis du modèle)" if made.override else ""
            again = " Elle remplace la décision précédente." if made.replaces else ""
            return f"Décision enregistrée : demande {final}{note}.{again}"

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
        mark = {"fn": None, "inputs": [decision, review, invalid], "js": COLOUR_JS, "api_visibility": "private"}
        submit.click(_named(on_submit, [*names, *AMOUNT_FIELDS, "dossier", "session"]),
                     inputs=[*widgets, *amounts, dossier, loaded], outputs=outputs,
                     api_name="predict", preprocess=False).then(**mark)
        load.click(_named(on_load, ["dossier", "session"]), inputs=[dossier, loaded],
                   outputs=[*widgets, *amounts, loaded, *outputs], api_name="load_dossier", preprocess=False) \
            .then(**mark)
        dossier.input(on_number_changed, inputs=[dossier, loaded], outputs=[*amounts, loaded, facts],
                      api_visibility="private", preprocess=False)
        record.click(_named(on_decide, ["request_id", "decision", "reason", "replace"]),
                     inputs=[request_id, adviser, motive, replace], outputs=[recorded], api_name="decide",
                     preprocess=False)
        print_letter.click(_named(on_letter, ["request_id"]), inputs=[request_id], outputs=[letter],
                           api_name="letter", preprocess=False)
    _pad_short_calls(demo)
    return demo


def decision_refusal_fr(exc: DecisionError) -> str:
    """A refused adviser decision, in French."""
    if exc.field == "reason" and not exc.conflict:
        return "Motif trop long : 1 000 caractères au plus."
    if exc.field == "reason":
        return "Motif obligatoire : la décision diffère de celle du modèle."
    if exc.already is not None:
        return ("Une décision est déjà enregistrée sur cette évaluation (une seule par évaluation) : cochez "
                "« Remplacer la décision déjà enregistrée » pour la changer, le remplacement est enregistré.")
    return "Le modèle ne tranche pas (à étudier) : choisir Accepter ou Refuser."


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
