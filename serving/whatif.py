"""The dossier form of a request body: `SK_ID_CURR` plus optional overrides (what-if).

`POST /api/predict` takes either an applicant of model features (`serving.validation.Validator`) or a
known applicant's number with, optionally, new values for the 11 form features and for the
application amounts an adviser negotiates (`scoring.store.NEGOTIABLE_FIELDS`). The overrides follow the same rules
as the form and the API (`Validator.bounds`: domain, then the widened training range; flags 0/1;
at most one option per exclusive group); amounts must be positive and at most their accepted
bound. Each refusal names the field, in one `InputError`, like every other 422.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from scoring.schema import ID_COLUMN, MAY_BE_UNKNOWN, UI_FEATURE_NAMES
from scoring.store import NEGOTIABLE_FIELDS as WHAT_IF_AMOUNTS
from scoring.store import WHAT_IF_FIELDS
from serving.validation import FLOAT32_MAX, UNKNOWN, FieldError, InputError, Validator, range_message

MAX_AMOUNT = 1e9  # an amount the model has no training range for is still bounded (euros)
MIN_AMOUNT = 1.0  # euros: below, ratios such as the payment rate overflow (1e-300 gave infinite features)
MAX_APPLICANT_ID = 2**31 - 1  # SK_ID_CURR is a positive 32-bit integer in the lender's tables


class WhatIfRules:
    """Parse and document the dossier form of a predict body, with one model's bounds."""

    def __init__(self, validator: Validator):
        self.validator = validator
        self.amount_high = {name: min(validator.bounds[name].high, MAX_AMOUNT) if name in validator.bounds
                            else MAX_AMOUNT for name in WHAT_IF_AMOUNTS}

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
        overrides: dict[str, float] = {}
        bounds = self.validator.bounds
        for name, value in data.items():
            if name == ID_COLUMN:
                continue
            if name not in WHAT_IF_FIELDS:
                errors.append(FieldError(name, "cannot be changed for a dossier: only the 11 form features and "
                                               f"{', '.join(WHAT_IF_AMOUNTS)} can (what-if)"))
                continue
            b = bounds.get(name)
            binary = b is not None and b.binary
            if value is None and name in MAY_BE_UNKNOWN:  # null: the value becomes unknown (scored as missing)
                overrides[name] = UNKNOWN
                continue
            if type(value) is bool and binary:
                overrides[name] = 1.0 if value else 0.0
                continue
            if type(value) not in (int, float):
                allowed = "0 or 1 (or false/true)" if binary else "a JSON number"
                errors.append(FieldError(name, f"must be {allowed}, got {_kind(value)}"))
                continue
            x = float(value)
            if name in WHAT_IF_AMOUNTS:
                high = self.amount_high[name]
                if not (math.isfinite(x) and MIN_AMOUNT <= x <= high):
                    errors.append(FieldError(name, f"must be an amount between {MIN_AMOUNT:g} and {high:.6g}, "
                                                   f"got {x:.6g}"))
                    continue
            elif b is not None and not ((x == 0.0 or x == 1.0) if binary else b.low <= x <= b.high):
                errors.append(FieldError(name, range_message(x, b), x, b))
                continue
            overrides[name] = x
        for group, members in self.validator.groups:
            chosen = [m for m in members if overrides.get(m) == 1.0]
            if len(chosen) > 1:
                errors.append(FieldError(",".join(chosen), f"{group.label} ({group.name}): at most one of "
                                                           f"{', '.join(members)} may be 1"))
        if errors:
            raise InputError(errors)
        return applicant, overrides  # type: ignore[return-value]

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
        if "x-exclusive-groups" in applicant_schema:
            schema["x-exclusive-groups"] = applicant_schema["x-exclusive-groups"]
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
    """The features a what-if recomputed from the overrides (payment rate, credit/income, ...) checked with
    the domain rules of every door: finite, inside the feature's domain (float32 range included), and
    known when they were known before. Not the training range: a negotiated amount legitimately moves a
    ratio past what the training set held (the overrides themselves had every rule). `stored` and
    `changed` are the applicant's rows before and after, in model order. Raises `InputError` naming each
    derived feature and what it was derived from."""
    moved = np.flatnonzero(~((stored == changed) | (np.isnan(stored) & np.isnan(changed))))
    source = ", ".join(sorted(overrides))
    errors = []
    for i in moved:
        name, x = features[i], float(changed[i])
        b = validator.bounds.get(name)
        if name in overrides or b is None:
            continue
        if math.isnan(x):
            errors.append(FieldError(name, f"cannot be computed from {source} (it was known before)"))
        elif not (math.isfinite(x) and max(b.rule.low, -FLOAT32_MAX) <= x <= min(b.rule.high, FLOAT32_MAX)):
            errors.append(FieldError(name, f"{x:.6g} is outside its domain ({b.rule.meaning}) (derived from {source})"))
    if errors:
        raise InputError(errors)
