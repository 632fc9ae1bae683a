"""The dossier form of a request body: `SK_ID_CURR` plus optional overrides (what-if).

`POST /api/predict` takes either an applicant of model features (`serving.validation.Validator`) or a
known applicant's number with, optionally, new values for the 11 form features and for the
application amounts an adviser negotiates (`scoring.store.NEGOTIABLE_FIELDS`). The overrides follow the same rules
as the form and the API (the model's `serving.rules.Rules`: domain, then the widened training range; flags 0/1;
at most one option per exclusive group); amounts must be positive and at most their accepted
bound. Each refusal names the field, in one `InputError`, like every other 422.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from scoring.feature_registry import domain_rule
from scoring.schema import ID_COLUMN, UI_FEATURE_NAMES
from scoring.store import NEGOTIABLE_FIELDS as WHAT_IF_AMOUNTS
from scoring.store import WHAT_IF_FIELDS
from serving.rules import LOST, MISSING, WRONG_TYPE, Bound, Rules, Violation
from serving.validation import EXCLUSIVE_GROUPS_KEY, FieldError, InputError, Validator

MAX_AMOUNT = 1e9  # an amount the model has no training range for is still bounded (euros)
MIN_AMOUNT = 1.0  # euros: below, ratios such as the payment rate overflow (1e-300 gave infinite features)
MAX_APPLICANT_ID = 2**31 - 1  # SK_ID_CURR is a positive 32-bit integer in the lender's tables


class WhatIfRules:
    """Parse and document the dossier form of a predict body, with one model's rules: the form
    features through the model's `Rules`, the amounts through rules of their own (compiled here:
    [MIN_AMOUNT, the accepted high], never unknown)."""

    def __init__(self, validator: Validator):
        self.validator = validator
        rules = validator.rules
        self.amount_high = {name: min(rules[name].high, MAX_AMOUNT) if name in rules else MAX_AMOUNT
                            for name in WHAT_IF_AMOUNTS}
        self.amount_rules = Rules({name: Bound(MIN_AMOUNT, high, False, domain_rule(name))
                                   for name, high in self.amount_high.items()}, may_lack=frozenset())

    @staticmethod
    def is_dossier(data: Any) -> bool:
        """True for a JSON object naming an applicant (then this module's rules apply)."""
        return type(data) is dict and ID_COLUMN in data

    def parse(self, data: dict[str, Any]) -> tuple[int, dict[str, float]]:
        """(SK_ID_CURR, overrides by model name); raises `InputError` naming every bad field."""
        errors: list[FieldError] = []
        applicant = data.get(ID_COLUMN)
        if type(applicant) is float and applicant.is_integer():  # 100002.0 is an integer in JSON Schema
            applicant = int(applicant)
        if type(applicant) is not int:
            errors.append(FieldError(ID_COLUMN, f"must be a JSON integer (the applicant's number), "
                                                f"got {_kind(applicant)}"))
        elif not 1 <= applicant <= MAX_APPLICANT_ID:
            errors.append(FieldError(ID_COLUMN, f"must be between 1 and {MAX_APPLICANT_ID}, got {applicant}"))
        features: dict[str, Any] = {}
        amounts: dict[str, Any] = {}
        for name, value in data.items():
            if name in WHAT_IF_AMOUNTS:
                amounts[name] = value
            elif name in WHAT_IF_FIELDS:
                features[name] = value
            elif name != ID_COLUMN:
                errors.append(FieldError(name, "cannot be changed for a dossier: only the 11 form features and "
                                               f"{', '.join(WHAT_IF_AMOUNTS)} can (what-if)"))
        overrides, broken = self.validator.rules.check(features, partial=True)
        new_amounts, broken_amounts = self.amount_rules.check(amounts, partial=True)
        errors += [self._error(v) for v in broken] + [self._error(v, amount=True) for v in broken_amounts]
        if errors:
            raise InputError(errors)
        return applicant, overrides | new_amounts  # type: ignore[return-value]

    @staticmethod
    def _error(v: Violation, *, amount: bool = False) -> FieldError:
        """A rule broken, worded for the dossier form of the API."""
        if v.kind in (WRONG_TYPE, MISSING):
            allowed = "0 or 1 (or false/true)" if v.bound is not None and v.bound.binary else "a JSON number"
            return FieldError(v.feature, f"must be {allowed}, got {_kind(v.value)}")
        if amount and v.bound is not None:
            return FieldError(v.feature, f"must be an amount between {v.bound.low:g} and {v.bound.high:.6g}, "
                                         f"got {float(v.value):.6g}")
        return FieldError.of(v)

    def schema(self, applicant_schema: dict[str, Any]) -> dict[str, Any]:
        """JSON schema of the dossier form; `applicant_schema` is `Validator.request_schema()` (its
        properties give the 11 form features' rules)."""
        props = applicant_schema.get("properties", {})
        properties: dict[str, Any] = {ID_COLUMN: {"type": "integer", "minimum": 1, "maximum": MAX_APPLICANT_ID,
                                                  "title": ID_COLUMN,
                                                  "description": "the applicant's number in the lender's tables"}}
        for name in UI_FEATURE_NAMES:
            if name in props:
                properties[name] = dict(props[name])
        for name in WHAT_IF_AMOUNTS:
            properties[name] = {"type": "number", "minimum": MIN_AMOUNT, "maximum": self.amount_high[name],
                                "title": name, "description": "a new amount (what-if); derived features follow"}
        schema: dict[str, Any] = {
            "type": "object", "title": "DossierRequest", "additionalProperties": False,
            "required": [ID_COLUMN], "properties": properties,
            "description": "A known applicant (SK_ID_CURR) scored on their own stored row; the other fields are "
                           "optional overrides (what-if) of the 11 form features and of the negotiated amounts.",
        }
        if EXCLUSIVE_GROUPS_KEY in applicant_schema:
            schema[EXCLUSIVE_GROUPS_KEY] = applicant_schema[EXCLUSIVE_GROUPS_KEY]
        return schema


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, float):
        return "a decimal number" if math.isfinite(value) else "a non-finite number"
    return type(value).__name__


def check_derived(validator: Validator, features: list[str], stored: np.ndarray, changed: np.ndarray,
                  overrides: dict[str, float]) -> None:
    """`Rules.check_derived` worded for the API: each derived feature and what it was derived from.
    `stored` and `changed` are the applicant's rows before and after, in model order. Raises `InputError`."""
    source = ", ".join(sorted(overrides))
    errors = [FieldError(v.feature, f"cannot be computed from {source} (it was known before)") if v.kind == LOST
              else FieldError(v.feature, f"{v.value:.6g} is outside its domain ({v.bound.rule.meaning}) "
                                         f"(derived from {source})")
              for v in validator.rules.check_derived(features, stored, changed, overrides)]
    if errors:
        raise InputError(errors)
