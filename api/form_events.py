"""The form's event handlers: what "Évaluer", "Charger le dossier", the dossier number, "Enregistrer la
décision" and "Imprimer le courrier" do, as plain functions of the values sent (no layout here: `api.ui`
draws the Blocks and wires these). Each answer is plain text; a refusal is one log line with the input
as sent, one console line, and a French message with the fields to mark.
"""

from __future__ import annotations

import html
import inspect
import logging
import time
from collections.abc import Callable
from typing import Any

import gradio as gr

from api.adviser import ACCEPT, DECISION_LABELS_FR, DecisionError
from api.auth import Access
from api.decisions import UnknownRequest
from api.form_parts import (
    AMOUNT_FIELDS,
    AMOUNT_LABELS,
    MISSING,
    NO_DOSSIER,
    FormRefusal,
    amount_overrides,
    change_text,
    dossier_amounts,
    dossier_values,
    facts_markdown,
    gauge_html,
    plain,
    reasons_markdown,
    score_text,
    sent_input,
    to_features,
    what_if_changes,
)
from api.logger import new_request_id
from api.refusals import ModelUnavailable, StoreUnavailable, UnknownApplicant
from api.scoring_service import DossierResult, ScoringService
from scoring.schema import LABEL_REVIEW, SOURCE_DOSSIER, SOURCE_FORM
from serving.predictor import Prediction
from serving.validation import Bound, InputError

log = logging.getLogger(__name__)

REFUSED = "**Saisie refusée.** "
NOT_FOUND = "**Dossier introuvable.** "
NOT_LOADED = "**Dossier non chargé.** "
UNAVAILABLE = "**Évaluation impossible.** "
NO_STORE = ("Les dossiers ne sont pas disponibles pour le moment (base des clients connus absente ou en "
            "construction) : le formulaire reste utilisable avec les 11 champs.")
CHOICES_FR = {label: code for code, label in DECISION_LABELS_FR.items()}
NO_ACCESS = "**Accès refusé.** "
NO_IDENTITY = "Identification requise : connectez-vous (ou présentez un jeton d'accès) pour utiliser le formulaire."
CLEARED = ("Les champs ont été remis aux valeurs du client médian : aucune donnée du dossier précédent "
           "n'est affichée ni envoyée.")
# The outputs of "Évaluer" (and the end of "Charger le dossier"'s), in this order.
OUTPUT_NAMES = ("score", "decision", "review", "gauge", "reasons", "message", "change", "facts", "request_id",
                "invalid")


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


def named(fn: Callable[..., Any], names: list[str]) -> Callable[..., Any]:
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


def _loaded_id(session: Any) -> int | None:
    return session.get("id") if isinstance(session, dict) else None


class FormEvents:
    """The handlers of one form. `initial`: the 11 inputs' values when the form opens (the median
    applicant), what a refused "Charger le dossier" puts back so that no earlier applicant stays on screen."""

    def __init__(self, service: ScoringService, access: Access | None, n_items: int, binary: set[str],
                 bounds: dict[str, Bound] | None, initial: list[Any]):
        self.service, self.access, self.binary, self.bounds = service, access, binary, bounds
        self.guarded = access is not None and access.enabled
        self.n_items, self.n_amounts = n_items, len(AMOUNT_FIELDS)
        self.initial = list(initial)

    def shown(self, result: Prediction, rid: str, facts_text: Any, change_line: str = "") -> tuple:
        flag = LABEL_REVIEW if result.review else "—"
        return (score_text(result.score), result.label, flag, gauge_html(result, self.service.predictor.grey_zone),
                reasons_markdown(result, self.binary), "", change_line, facts_text, rid, "")

    def refused(self, rid: str, started: float, given: dict[str, Any], prefix: str, french: str, error: str,
                facts_text: Any, fields: tuple[str, ...] = (), source: str = SOURCE_FORM,
                client: str | None = None) -> tuple:
        self.service.log_refusal(request_id=rid, input=given, started=started, error=error, source=source,
                                 client=client)
        log.warning("form call %s refused: %s", rid, error)
        facts_text = facts_text if isinstance(facts_text, str) else NO_DOSSIER
        return ("", "", "", "", "", prefix + plain(french), "", facts_text, "", "\n".join(fields))

    def attempt(self, rid: str, started: float, given: dict[str, Any], facts_text: Any,
                work: Callable[[], tuple], client: str | None) -> tuple:
        if self.guarded and client is None:
            return self.refused(rid, started, given, NO_ACCESS, NO_IDENTITY, "no identity: access control is on",
                                facts_text)
        try:
            return work()
        except NotLoaded as exc:
            return self.refused(rid, started, given, NOT_LOADED, str(exc), str(exc), facts_text, exc.fields,
                                client=client)
        except FormRefusal as exc:
            return self.refused(rid, started, given, REFUSED, str(exc), str(exc), facts_text, exc.fields,
                                client=client)
        except InputError as exc:  # a value recomputed from the changed fields is out of its bounds
            fields = ", ".join(e.field for e in exc.errors)
            return self.refused(rid, started, given, REFUSED, "les valeurs recalculées sortent des limites "
                                f"acceptées ({fields}).", str(exc), facts_text, client=client)
        except ModelUnavailable as exc:
            return self.refused(rid, started, given, UNAVAILABLE, "aucun modèle n'est chargé : le service ne "
                                "peut pas évaluer de dossier.", str(exc), facts_text, client=client)
        except UnknownApplicant as exc:
            return self.refused(rid, started, given, NOT_FOUND, f"Le dossier n° {exc.applicant_id} ne figure pas "
                                "parmi les clients connus.", str(exc), facts_text, ("dossier",), SOURCE_DOSSIER,
                                client)
        except StoreUnavailable as exc:
            return self.refused(rid, started, given, UNAVAILABLE, NO_STORE, str(exc), facts_text, (),
                                SOURCE_DOSSIER, client)
        except Exception as exc:  # noqa: BLE001 - one log line and one console line, no traceback
            return self.refused(rid, started, given, UNAVAILABLE, "erreur interne : le dossier n'a pas pu être "
                                "évalué.", f"internal error: {type(exc).__name__}: {exc}", facts_text,
                                client=client)

    def on_submit(self, request: gr.Request, *values: Any) -> tuple:
        """"Évaluer": the 11 fields alone, or the loaded dossier with the fields that differ from it."""
        service, bounds, n_items, n_amounts = self.service, self.bounds, self.n_items, self.n_amounts
        started, rid, client = time.perf_counter(), new_request_id(), identity_of(request, self.access)
        values = list(values) + [MISSING] * max(0, n_items + n_amounts + 2 - len(values))
        form, money = values[:n_items], values[n_items:n_items + n_amounts]
        number, session = values[n_items + n_amounts:n_items + n_amounts + 2]
        loaded_id = _loaded_id(session)
        given = sent_input(form) | {name: v for name, v in zip(AMOUNT_FIELDS, money, strict=True)
                                    if v not in (MISSING, None, "")}
        given |= {"SK_ID_CURR": safe_number(number)} if number not in (MISSING, None, "") else {}

        def work() -> tuple:
            applicant = parse_dossier_number(number)
            if applicant is None:
                amount_overrides(money, None, {})  # amounts belong to a loaded dossier
                result = service.score(to_features(form, bounds), request_id=rid, started=started,
                                       source=SOURCE_FORM, client=client)
                return self.shown(result, rid, NO_DOSSIER)
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
            return self.shown(done.result, rid, facts_markdown(applicant, done.dossier.facts, new_amounts),
                              change_text(done.result, done.base, applicant, changed))

        facts_text = session.get("facts") if isinstance(session, dict) else NO_DOSSIER
        return self.attempt(rid, started, given, facts_text, work, client)

    def on_load(self, request: gr.Request, number: Any, session: Any = None) -> tuple:
        """"Charger le dossier": the fields, the amounts, the session's dossier, then the outputs of "Évaluer".

        Refused (malformed or unknown number, no identity, no store): the form is emptied of the previous
        applicant — fields back to the median applicant, amounts and loaded dossier cleared — and says so."""
        started, rid, client = time.perf_counter(), new_request_id(), identity_of(request, self.access)

        def work() -> tuple:
            applicant = parse_dossier_number(number)
            if applicant is None:
                raise FormRefusal("N° de dossier : saisir le numéro du dossier à charger.", ["dossier"])
            done: DossierResult = self.service.score_dossier(applicant, request_id=rid, started=started,
                                                             client=client)
            values = dossier_values(done.dossier, self.service.predictor.features)
            facts_text = facts_markdown(applicant, done.dossier.facts)
            out = self.shown(done.result, rid, facts_text, change_text(done.result, None, applicant))
            return (*values, *dossier_amounts(done.dossier), {"id": applicant, "facts": facts_text}, *out)

        out = self.attempt(rid, started, {"SK_ID_CURR": safe_number(number)}, NO_DOSSIER, work, client)
        if len(out) > len(OUTPUT_NAMES):
            return out
        out = list(out)
        out[OUTPUT_NAMES.index("message")] += "\n\n" + CLEARED
        marked = out[OUTPUT_NAMES.index("invalid")]
        out[OUTPUT_NAMES.index("invalid")] = marked if "dossier" in marked.split("\n") else \
            "\n".join(filter(None, [marked, "dossier"]))
        return (*self.initial, *[""] * self.n_amounts, None, *out)

    def on_number_changed(self, number: Any, session: Any) -> tuple:
        """Another dossier number typed: the loaded dossier is forgotten, its amounts cleared."""
        loaded_id = _loaded_id(session)
        if loaded_id is None or str(number).strip() == str(loaded_id):
            return (gr.update(),) * (self.n_amounts + 2)
        return ("",) * self.n_amounts + (None, NO_DOSSIER + f" (dossier n° {loaded_id} déchargé)")

    def on_decide(self, request: gr.Request, rid: Any, choice: Any, motive_text: Any, replace_it: Any = False) -> str:
        service, client = self.service, identity_of(request, self.access)
        code = CHOICES_FR.get(choice) if isinstance(choice, str) else None
        if self.guarded and client is None:
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

    def on_letter(self, request: gr.Request, rid: Any) -> str:
        client = identity_of(request, self.access)
        if self.guarded and client is None:
            self.service.log_refusal(request_id=new_request_id(), input={"letter_of": safe_number(rid)},
                                     started=time.perf_counter(), error="no identity: access control is on",
                                     source=SOURCE_FORM)
            return "<p>" + NO_IDENTITY + "</p>"
        try:
            page = self.service.letter_for_request(str(rid or ""), client=client, source=SOURCE_FORM)
        except UnknownRequest:
            return "<p>Aucune évaluation : évaluez ou chargez d'abord un dossier.</p>"
        return f'<iframe title="Courrier au client" srcdoc="{html.escape(page, quote=True)}"></iframe>'
