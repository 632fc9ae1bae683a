"""Validation of API input in two layers, each refusal naming the field and what is allowed.

1. Types (pydantic, strict): a JSON object of model feature names; unknown names refused
   (`extra="forbid"`), the 11 UI features required, every value a JSON number (binary features
   also accept true/false), never a string, NaN or infinity.
2. Domain (training data): each number within the range seen in training widened by
   `RANGE_MARGIN` of that range on each side; binary features 0 or 1; at most one option of each
   exclusive one-hot group (gender, education) set to 1.

The JSON body is parsed by pydantic-core straight from bytes (no `json.loads`), which also
refuses an empty body or one that is not JSON.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Annotated, Any, NotRequired, Required

from pydantic import ConfigDict, Field, StrictBool, TypeAdapter, ValidationError, with_config
from typing_extensions import TypedDict

from scoring.schema import EXCLUSIVE_GROUPS, UI_FEATURE_NAMES

RANGE_MARGIN = 0.10  # widen the training range by 10 % of its span on each side
MAX_BATCH_ROWS = 1000  # rows per POST /api/predict/batch
MAX_BODY_BYTES = 4 * 1024 * 1024  # larger bodies are refused before parsing

StrictNumber = Annotated[float, Field(strict=True, allow_inf_nan=False)]
FlagValue = StrictBool | StrictNumber


@dataclass(frozen=True)
class FieldError:
    field: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "message": self.message}


class InputError(ValueError):
    """Refused input: one entry per offending field."""

    def __init__(self, errors: list[FieldError]):
        self.errors = errors
        super().__init__("; ".join(f"{e.field}: {e.message}" for e in errors))


@dataclass(frozen=True)
class Bound:
    low: float
    high: float
    binary: bool


def _bounds(ranges: dict[str, Any], features: list[str]) -> dict[str, Bound]:
    out: dict[str, Bound] = {}
    for name in features:
        r = ranges.get(name) or {}
        if r.get("binary"):
            out[name] = Bound(0.0, 1.0, True)
            continue
        lo, hi = r.get("min"), r.get("max")
        if lo is None or hi is None:  # never seen in training (all missing): any finite number
            out[name] = Bound(-math.inf, math.inf, False)
            continue
        span = (hi - lo) or abs(hi) or 1.0
        out[name] = Bound(lo - RANGE_MARGIN * span, hi + RANGE_MARGIN * span, False)
    return out


def _fmt(x: float) -> str:
    return f"{x:.6g}"


class Validator:
    """Both layers for one model: built once from its feature list and training ranges."""

    def __init__(self, features: list[str], ranges: dict[str, Any]):
        self.features = list(features)
        self.bounds = _bounds(ranges, self.features)
        # A TypedDict, not a BaseModel: validation returns the plain dict of the given features
        # (no model_dump per call), and names such as "NAME_EDUCATION_TYPE_Secondary / secondary
        # special" need no aliases. Optional features may be omitted, never null.
        fields: dict[str, Any] = {}
        for name in self.features:
            kind = FlagValue if self.bounds[name].binary else StrictNumber
            fields[name] = Required[kind] if name in UI_FEATURE_NAMES else NotRequired[kind]
        request = with_config(ConfigDict(extra="forbid"))(TypedDict("PredictRequest", fields, total=False))
        rows = Annotated[list[request], Field(min_length=1, max_length=MAX_BATCH_ROWS)]  # type: ignore[valid-type]
        batch = with_config(ConfigDict(extra="forbid"))(TypedDict("PredictBatchRequest", {"rows": Required[rows]}))
        self.request_adapter: TypeAdapter[dict[str, Any]] = TypeAdapter(request)
        self.batch_adapter: TypeAdapter[dict[str, Any]] = TypeAdapter(batch)
        self._group_members = [
            (group, [f for f in group.options.values() if f is not None]) for group in EXCLUSIVE_GROUPS
        ]

    # --- layer 1 ------------------------------------------------------------------------------

    def _typed(self, adapter: TypeAdapter[dict[str, Any]], body: bytes) -> dict[str, Any]:
        if len(body) > MAX_BODY_BYTES:
            raise InputError([FieldError("body", f"too large ({len(body)} bytes); at most {MAX_BODY_BYTES}")])
        try:
            return adapter.validate_json(body)
        except ValidationError as exc:
            raise InputError(self._field_errors(exc)) from None

    def parse(self, body: bytes) -> dict[str, float]:
        """One applicant from a JSON body → {feature: float}; raises `InputError`."""
        features = _to_features(self._typed(self.request_adapter, body))
        self.check_domain(features)
        return features

    def parse_batch(self, body: bytes) -> list[dict[str, float]]:
        """`{"rows": [applicant, ...]}` → list of {feature: float}; raises `InputError`."""
        rows = [_to_features(r) for r in self._typed(self.batch_adapter, body)["rows"]]
        errors: list[FieldError] = []
        for i, row in enumerate(rows):
            try:
                self.check_domain(row)
            except InputError as exc:
                errors.extend(FieldError(f"rows[{i}].{e.field}", e.message) for e in exc.errors)
        if errors:
            raise InputError(errors)
        return rows

    # --- layer 2 ------------------------------------------------------------------------------

    def check_domain(self, features: dict[str, float]) -> None:
        errors: list[FieldError] = []
        for name, value in features.items():
            b = self.bounds.get(name)
            if b is None:
                continue
            if b.binary:
                if value not in (0.0, 1.0):
                    errors.append(FieldError(name, f"must be 0 or 1 (or false/true), got {_fmt(value)}"))
            elif not b.low <= value <= b.high:
                errors.append(FieldError(
                    name, f"{_fmt(value)} is outside the allowed range [{_fmt(b.low)}, {_fmt(b.high)}] "
                          f"(training range widened by {RANGE_MARGIN:.0%})"))
        for group, members in self._group_members:
            chosen = [m for m in members if features.get(m) == 1.0]
            if len(chosen) > 1:
                errors.append(FieldError(
                    ",".join(chosen), f"{group.label} ({group.name}): at most one of {', '.join(members)} may be 1"))
        if errors:
            raise InputError(errors)

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


def _to_features(given: dict[str, Any]) -> dict[str, float]:
    return {k: float(v) for k, v in given.items()}  # true/false → 1.0/0.0


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
    "missing": "is required (one of the 11 form features)",
    "extra_forbidden": "is not a feature of the model (see GET /model/info for the feature list)",
    "json_invalid": "is not valid JSON: send a JSON object of feature names to numbers",
    "dict_type": "must be a JSON object of feature names to numbers",
    "finite_number": "must be a finite number (NaN and infinity are refused)",
    "float_type": "must be a JSON number (not a string or null)",
    "bool_type": "must be a JSON number",
    "list_type": "must be a JSON list of applicant objects",
    "too_long": f"has too many rows: at most {MAX_BATCH_ROWS} per batch",
    "too_short": "must hold at least one row",
}


