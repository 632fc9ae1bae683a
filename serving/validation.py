"""The JSON door of the rules: request bodies of the API, and the other doors' wordings.

The rules themselves are `serving.rules.Rules`, compiled once per model; this module runs them on
JSON bodies. Surfaces: `Validator.parse` (a body: orjson then `Rules.check`, plain Python, for valid
bodies; pydantic first for the detailed refusal of invalid ones), `Validator.parse_batch`,
`Validator.violations` (a DataFrame, vectorised: the batch's wording), `Validator.scalar_checker`
(positional arguments, a few µs: `predict_credit_score`) and `Validator.request_schema` (the OpenAPI
document states the same rules).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any, NotRequired, Required

import pandas as pd
from pydantic import ConfigDict, Field, StrictBool, TypeAdapter, ValidationError, with_config
from typing_extensions import TypedDict

from scoring.schema import MAY_BE_UNKNOWN, UI_FEATURE_NAMES
from serving.rules import FLOAT32_MAX, MISSING, NOT_A_FEATURE, UNKNOWN, Bound, Rules, Violation

try:  # orjson (a Gradio dependency) parses a body in a few µs and refuses NaN/Infinity by itself
    from orjson import loads as _loads
except ImportError:  # pragma: no cover - the stdlib parser; NaN is then refused by the range checks
    _loads = json.loads

MAX_BATCH_ROWS = 1000  # rows per POST /api/predict/batch
MAX_BODY_BYTES = 4 * 1024 * 1024  # the batch route's body limit (api.middleware enforces every route's)
EXCLUSIVE_GROUPS_KEY = "x-exclusive-groups"  # the request schema's extension naming the one-hot groups

StrictNumber = Annotated[float, Field(strict=True, allow_inf_nan=False)]
FlagValue = StrictBool | StrictNumber
__all__ = ["FLOAT32_MAX", "UNKNOWN", "Bound", "FieldError", "InputError", "Validator"]  # with names of serving.rules


@dataclass(frozen=True)
class FieldError:
    field: str
    message: str
    value: Any = None
    bound: Bound | None = field(default=None, compare=False)

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "message": self.message}

    @classmethod
    def of(cls, v: Violation, prefix: str = "") -> FieldError:
        """A rule broken, worded for the API (English, the field named as in the body)."""
        return cls(prefix + v.feature, v.message(), v.value, v.bound)


class InputError(ValueError):
    """Refused input: one entry per offending field."""

    def __init__(self, errors: list[FieldError]):
        self.errors = errors
        super().__init__("; ".join(f"{e.field}: {e.message}" for e in errors))


class Validator:
    """The rules for one model (`rules`, compiled once from its feature list and training ranges)
    and the JSON door that runs them."""

    def __init__(self, features: list[str], ranges: dict[str, Any]):
        self.features = list(features)
        # Form features the model does not use (gender, left out by default): still accepted and
        # checked (0/1, one option at most), logged for fairness monitoring, never scored.
        self.recorded = [n for n in UI_FEATURE_NAMES if n not in set(self.features)]
        self.rules = Rules.compile(self.features, ranges, self.recorded)
        self.bounds = self.rules  # feature → Bound (the rules are that mapping)
        self.groups = self.rules.groups
        self._unknown_allowed = tuple(n for n in UI_FEATURE_NAMES if n in MAY_BE_UNKNOWN and n in set(self.features))
        self._recorded = frozenset(self.recorded)
        # A TypedDict, not a BaseModel: names such as "NAME_EDUCATION_TYPE_Secondary / secondary
        # special" need no aliases. Optional features may be omitted, never null.
        fields: dict[str, Any] = {}
        for name in self.rules:
            kind = FlagValue if self.bounds[name].binary else StrictNumber
            if name in MAY_BE_UNKNOWN:
                kind = kind | None  # type: ignore[assignment]
            fields[name] = Required[kind] if name in self.rules.required else NotRequired[kind]
        request = with_config(ConfigDict(extra="forbid"))(TypedDict("PredictRequest", fields, total=False))
        rows = Annotated[list[request], Field(min_length=1, max_length=MAX_BATCH_ROWS)]  # type: ignore[valid-type]
        batch = with_config(ConfigDict(extra="forbid"))(TypedDict("PredictBatchRequest", {"rows": Required[rows]}))
        self.request_adapter: TypeAdapter[dict[str, Any]] = TypeAdapter(request)
        self.batch_adapter: TypeAdapter[dict[str, Any]] = TypeAdapter(batch)

    # --- JSON bodies --------------------------------------------------------------------------

    def parse(self, body: bytes) -> dict[str, float]:
        """One applicant from a JSON body → {feature: float}; raises `InputError`."""
        try:
            data = _loads(body)
        except (ValueError, RecursionError):
            data = None
        if type(data) is dict and body.count(b'":') != len(data):  # `refuse_duplicate_keys`, the body parsed once
            refuse_duplicate_keys(body, flat=False)
        if type(data) is dict:
            features, broken = self.rules.check(data)
            if not broken:
                return self.with_unknowns(features)
        return self._slow(body)

    def _slow(self, body: bytes) -> dict[str, float]:
        """Types first (pydantic: its messages for strings, nulls, unknown or missing fields), then the
        rules; a refusal names every bad field (the rules run on the fields the types let through)."""
        try:
            given = self._typed(self.request_adapter, body)
        except InputError as exc:
            raise InputError(exc.errors + self._beside(body, {e.field for e in exc.errors})) from None
        features, broken = self.rules.check(given)
        if broken:
            raise InputError([FieldError.of(v) for v in broken])
        return self.with_unknowns(features)

    def _beside(self, body: bytes, typed: set[str]) -> list[FieldError]:
        """The rules broken by the fields of `body` that passed the types (`typed`: those that did not)."""
        try:
            data = json.loads(body)  # the stdlib reads NaN and Infinity: their fields are in `typed`
        except (ValueError, RecursionError):
            return []
        if type(data) is not dict:
            return []
        rest = {k: v for k, v in data.items() if k not in typed and k in self.rules}
        return [FieldError.of(v) for v in self.rules.check(rest, partial=True)[1]]

    def with_unknowns(self, features: dict[str, float]) -> dict[str, float]:
        """`features` with every form feature of `MAY_BE_UNKNOWN` the caller left out set to missing
        (NaN), not to the template's median: an absent external score is an unknown one."""
        for name in self._unknown_allowed:
            if name not in features:
                features[name] = UNKNOWN
        return features

    def scored(self, features: dict[str, float]) -> dict[str, float]:
        """The features the model reads: `features` without the recorded-only ones (gender)."""
        if not self._recorded or self._recorded.isdisjoint(features):
            return features
        return {k: v for k, v in features.items() if k not in self._recorded}

    def _typed(self, adapter: TypeAdapter[dict[str, Any]], body: bytes) -> dict[str, Any]:
        if len(body) > MAX_BODY_BYTES:
            raise InputError([FieldError("body", f"too large ({len(body)} bytes); at most {MAX_BODY_BYTES}")])
        try:
            return adapter.validate_json(body)
        except ValidationError as exc:
            raise InputError(self._field_errors(exc)) from None

    def parse_batch(self, body: bytes) -> list[dict[str, float]]:
        """`{"rows": [applicant, ...]}` → list of {feature: float}; raises `InputError`."""
        refuse_duplicate_keys(body, flat=False)
        rows: list[dict[str, float]] = []
        errors: list[FieldError] = []
        for i, given in enumerate(self._typed(self.batch_adapter, body)["rows"]):
            features, broken = self.rules.check(given)
            rows.append(self.with_unknowns(features))
            errors.extend(FieldError.of(v, f"rows[{i}].") for v in broken)
        if errors:
            raise InputError(errors)
        return rows

    # --- the other doors' wordings ------------------------------------------------------------

    def violations(self, frame: pd.DataFrame) -> pd.Series:
        """The batch's wording of `Rules.check_frame` (missing values allowed): per row, the reasons
        it breaks ("" when none), e.g. "EXT_SOURCE_1: 1.3 is outside its domain …"."""
        reasons = ["; ".join(f"{v.feature}: {v.message()}" for v in row) for row in self.rules.check_frame(frame)]
        return pd.Series(reasons, index=frame.index, dtype=object)

    def scalar_checker(self, names: Sequence[tuple[str, str]]) -> Callable[[Sequence[Any]], None]:
        """A check of positional arguments [(argument name, feature)], raising ValueError naming the
        argument (`Rules.positional`, a few µs for 11): `predict_credit_score`'s wording."""
        arg_of = {feature: arg for arg, feature in names}

        def refuse(broken: list[Violation]) -> None:
            v = broken[0]
            raise ValueError(f"{', '.join(arg_of.get(f, f) for f in v.feature.split(','))}: {v.message()} "
                             f"({v.feature})")

        return self.rules.positional([feature for _, feature in names], refuse)

    # --- documentation ------------------------------------------------------------------------

    def request_schema(self) -> dict[str, Any]:
        """JSON schema of one applicant with the rules the API applies: types, required features,
        bounds (minimum/maximum), flags as 0/1/false/true; the exclusive groups as an extension."""
        schema = self.request_adapter.json_schema()
        for name, prop in schema["properties"].items():
            b = self.bounds[name]
            if b.binary:
                prop.clear()
                prop["anyOf"] = [{"type": "boolean"}, {"enum": [0, 1]}]
            else:
                prop.pop("anyOf", None)
                prop["type"] = ["number", "null"] if name in MAY_BE_UNKNOWN else "number"
                if math.isfinite(b.low):
                    prop["minimum"] = b.low
                if math.isfinite(b.high):
                    prop["maximum"] = b.high
            prop["title"] = name
        # "At most one 1 per group" is stated as an extension and in words here; the published OpenAPI
        # document turns the extension into one `oneOf` per group (api.openapi_doc).
        groups = [members for _, members in self.groups]
        if groups:
            schema[EXCLUSIVE_GROUPS_KEY] = groups
            schema["description"] = ("At most one feature of each exclusive group (x-exclusive-groups) may be 1: "
                                     + "; ".join(", ".join(m) for m in groups) + ".")
        return schema

    def _field_errors(self, exc: ValidationError) -> list[FieldError]:
        """One message per field; union branches (number | true/false) collapse into one."""
        by_field: dict[str, FieldError] = {}
        for err in exc.errors(include_url=False):
            loc = tuple(err["loc"])
            field_name = _loc(loc)
            kind = err["type"]
            if kind == "json_invalid" and not field_name.startswith("rows"):
                field_name = "body"
            message = _MESSAGES.get(kind, err["msg"])
            if kind in ("float_type", "bool_type"):
                given = err.get("input")
                shown = "a string" if isinstance(given, str) else ("null" if given is None else type(given).__name__)
                bound = self.bounds.get(str(loc[-2] if isinstance(loc[-1], str) and len(loc) > 1
                                            and loc[-1] in ("float", "bool") else loc[-1]))
                allowed = "0 or 1 (or false/true)" if bound and bound.binary else "a JSON number"
                message = f"must be {allowed}, got {shown}"
            if field_name not in by_field or kind == "finite_number":
                by_field[field_name] = FieldError(field_name, message)
        return list(by_field.values())


def refuse_duplicate_keys(body: bytes, *, flat: bool) -> None:
    """Raise `InputError` naming a key given twice in one JSON object (a parser keeps the last silently).
    `flat`: the body is one object of plain values, so a cheap count decides when to look closer (as many
    `":` as keys: none given twice; measured 4 µs against 32 µs for a regular-expression scan of the keys)."""
    if flat:
        try:
            data = _loads(body)
        except (ValueError, RecursionError):
            return  # not JSON: the parser that follows says so
        if type(data) is not dict or body.count(b'":') == len(data):
            return
    twice: list[str] = []

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        seen: set[str] = set()
        for key, _ in items:
            if key in seen and key not in twice:
                twice.append(key)
            seen.add(key)
        return dict(items)

    try:
        json.loads(body, object_pairs_hook=pairs)
    except (ValueError, RecursionError):
        return  # not JSON: the parser that follows says so
    if twice:
        raise InputError([FieldError(key[:60], "is given twice: each field at most once") for key in twice])


def _loc(loc: tuple[Any, ...]) -> str:
    parts: list[str] = []
    for p in loc:
        if isinstance(p, int):
            parts.append(f"[{p}]")
        elif p in ("float", "bool", "function-after[...]") or str(p).startswith(("constrained-", "nullable[")):
            continue  # union branch names, not fields
        else:
            parts.append(("." if parts else "") + str(p))
    return "".join(parts) or "body"


_MESSAGES = {
    "missing": Violation("", MISSING).message(),
    "extra_forbidden": Violation("", NOT_A_FEATURE).message(),
    "json_invalid": "is not valid JSON: send a JSON object of feature names to numbers",
    "dict_type": "must be a JSON object of feature names to numbers",
    "finite_number": "must be a finite number (NaN and infinity are refused)",
    "float_type": "must be a JSON number (not a string or null)",
    "bool_type": "must be a JSON number",
    "list_type": "must be a JSON list of applicant objects",
    "too_long": f"has too many rows: at most {MAX_BATCH_ROWS} per batch",
    "too_short": "must hold at least one row",
}
