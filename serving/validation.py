"""One set of input rules for the API, the form, the batch and `predict_credit_score`.

Each feature's accepted values come from two sources, in this order:
1. its domain rule (`scoring.feature_registry.domain_rule`: what the value means — an external score is in
   [0, 1], an overdue amount is never negative, a flag is exactly 0 or 1);
2. the range seen in training widened by `RANGE_MARGIN` of its span on each side (not for flags).
Plus: at most one option of each exclusive one-hot group (gender, education) is 1, no NaN, no
infinity, no number sent as a string, no boolean outside a flag.

Surfaces: `Validator.parse` (JSON body: a fast path in plain Python for valid bodies, and pydantic
for the detailed refusal of invalid ones), `Validator.errors` (a dict of features),
`Validator.violations` (a DataFrame, vectorised: the batch), `Validator.scalar_checker`
(positional arguments, ~2 µs: `predict_credit_score`) and `Validator.request_schema` (the
OpenAPI document states the same rules).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any, NotRequired, Required

import numpy as np
import pandas as pd
from pydantic import ConfigDict, Field, StrictBool, TypeAdapter, ValidationError, with_config
from typing_extensions import TypedDict

from scoring.feature_registry import domain_rule
from scoring.schema import EXCLUSIVE_GROUPS, MAY_BE_UNKNOWN, UI_FEATURE_NAMES, DomainRule

try:  # orjson (a Gradio dependency) parses a body in a few µs and refuses NaN/Infinity by itself
    from orjson import loads as _loads
except ImportError:  # pragma: no cover - the stdlib parser; NaN is then refused by the range checks
    _loads = json.loads

RANGE_MARGIN = 0.10  # widen the training range by 10 % of its span on each side
FLOAT32_MAX = float(np.finfo(np.float32).max)  # the model reads float32: a larger number would become infinite
MAX_BATCH_ROWS = 1000  # rows per POST /api/predict/batch
MAX_BODY_BYTES = 4 * 1024 * 1024  # the batch route's body limit (api.middleware enforces every route's)

StrictNumber = Annotated[float, Field(strict=True, allow_inf_nan=False)]
FlagValue = StrictBool | StrictNumber
UNKNOWN = math.nan  # a feature of MAY_BE_UNKNOWN left empty, absent or null: scored as missing


@dataclass(frozen=True)
class FieldError:
    field: str
    message: str
    value: Any = None
    bound: Bound | None = field(default=None, compare=False)

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "message": self.message}


class InputError(ValueError):
    """Refused input: one entry per offending field."""

    def __init__(self, errors: list[FieldError]):
        self.errors = errors
        super().__init__("; ".join(f"{e.field}: {e.message}" for e in errors))


@dataclass(frozen=True)
class Bound:
    """What one feature accepts: [low, high] (domain ∩ widened training range), or 0/1 for a flag."""

    low: float
    high: float
    binary: bool
    rule: DomainRule = field(default_factory=DomainRule)


def accepted_bounds(features: Sequence[str], ranges: dict[str, Any]) -> dict[str, Bound]:
    out: dict[str, Bound] = {}
    for name in features:
        rule = domain_rule(name)
        r = ranges.get(name) or {}
        if rule.binary:
            out[name] = Bound(0.0, 1.0, True, rule)
            continue
        low, high = max(rule.low, -FLOAT32_MAX), min(rule.high, FLOAT32_MAX)
        lo, hi = r.get("min"), r.get("max")
        if lo is not None and hi is not None:  # else never seen in training (all missing): the domain only
            span = (hi - lo) or abs(hi) or 1.0
            low, high = max(low, lo - RANGE_MARGIN * span), min(high, hi + RANGE_MARGIN * span)
        out[name] = Bound(low, high, False, rule)
    return out


def _fmt(x: float) -> str:
    return f"{x:.6g}"


def range_message(value: float, b: Bound) -> str:
    """Why a number is refused, in English (the API); `api.ui` says it in French."""
    if not math.isfinite(value):
        return "must be a finite number (NaN and infinity are refused)"
    if b.binary:
        return f"must be 0 or 1 (or false/true), got {_fmt(value)}"
    if not b.rule.low <= value <= b.rule.high:
        return (f"{_fmt(value)} is outside its domain [{_fmt(b.rule.low)}, {_fmt(b.rule.high)}] "
                f"({b.rule.meaning})")
    return (f"{_fmt(value)} is outside the allowed range [{_fmt(b.low)}, {_fmt(b.high)}] "
            f"(its domain, then the training range widened by {RANGE_MARGIN:.0%})")


class Validator:
    """The rules for one model: built once from its feature list and training ranges."""

    def __init__(self, features: list[str], ranges: dict[str, Any]):
        self.features = list(features)
        # Form features the model does not use (gender, left out by default): still accepted and
        # checked (0/1, one option at most), logged for fairness monitoring, never scored.
        self.recorded = [n for n in UI_FEATURE_NAMES if n not in set(self.features)]
        accepted = self.features + self.recorded
        self.bounds = accepted_bounds(accepted, ranges)
        # Every model column of an exclusive group (the form's options and others such as
        # CODE_GENDER_XNA): at most one of them may be 1.
        self.groups = [(g, [f for f in accepted if f.startswith(g.name + "_")]) for g in EXCLUSIVE_GROUPS]
        self.groups = [(g, members) for g, members in self.groups if len(members) > 1]
        # Required: the form features the model uses, except those a real applicant may lack
        # (absent or null: scored as missing, `MAY_BE_UNKNOWN`).
        self._required = frozenset(n for n in UI_FEATURE_NAMES if n in set(self.features) and n not in MAY_BE_UNKNOWN)
        self._unknown_allowed = tuple(n for n in UI_FEATURE_NAMES if n in MAY_BE_UNKNOWN and n in set(self.features))
        self._recorded = frozenset(self.recorded)
        self._fast_bounds = {n: (b.low, b.high, b.binary) for n, b in self.bounds.items()}  # finite bounds
        self._group_sets = [frozenset(m) for _, m in self.groups]
        # A TypedDict, not a BaseModel: names such as "NAME_EDUCATION_TYPE_Secondary / secondary
        # special" need no aliases. Optional features may be omitted, never null.
        fields: dict[str, Any] = {}
        for name in accepted:
            kind = FlagValue if self.bounds[name].binary else StrictNumber
            if name in MAY_BE_UNKNOWN:
                kind = kind | None  # type: ignore[assignment]
            fields[name] = Required[kind] if name in self._required else NotRequired[kind]
        request = with_config(ConfigDict(extra="forbid"))(TypedDict("PredictRequest", fields, total=False))
        rows = Annotated[list[request], Field(min_length=1, max_length=MAX_BATCH_ROWS)]  # type: ignore[valid-type]
        batch = with_config(ConfigDict(extra="forbid"))(TypedDict("PredictBatchRequest", {"rows": Required[rows]}))
        self.request_adapter: TypeAdapter[dict[str, Any]] = TypeAdapter(request)
        self.batch_adapter: TypeAdapter[dict[str, Any]] = TypeAdapter(batch)

    # --- JSON bodies --------------------------------------------------------------------------

    def parse(self, body: bytes) -> dict[str, float]:
        """One applicant from a JSON body → {feature: float}; raises `InputError`."""
        refuse_duplicate_keys(body, flat=True)
        try:
            data = _loads(body)
        except (ValueError, RecursionError):
            data = None
        if type(data) is dict:
            features = self._fast(data)
            if features is not None:
                return features
        return self._slow(body)

    def _fast(self, data: dict[str, Any]) -> dict[str, float] | None:
        """The features of a valid applicant, or None (then `_slow` says exactly what is wrong)."""
        bounds = self._fast_bounds
        out: dict[str, float] = {}
        for name, value in data.items():
            b = bounds.get(name)
            if b is None:
                return None
            kind = type(value)
            if value is None and name in MAY_BE_UNKNOWN:
                out[name] = UNKNOWN
                continue
            if kind is float or kind is int:
                x = float(value)
            elif kind is bool and b[2]:
                x = 1.0 if value else 0.0
            else:
                return None
            if b[2]:
                if x != 0.0 and x != 1.0:
                    return None
            elif not b[0] <= x <= b[1]:  # NaN and ±inf fail too
                return None
            out[name] = x
        if not self._required <= out.keys():
            return None
        for members in self._group_sets:
            if sum(1 for m in members if out.get(m) == 1.0) > 1:
                return None
        return self.with_unknowns(out)

    def _slow(self, body: bytes) -> dict[str, float]:
        features = _to_features(self._typed(self.request_adapter, body))
        self.check_domain(features)
        return self.with_unknowns(features)

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
        rows = [self.with_unknowns(_to_features(r)) for r in self._typed(self.batch_adapter, body)["rows"]]
        errors = [FieldError(f"rows[{i}].{e.field}", e.message, e.value, e.bound)
                  for i, row in enumerate(rows) for e in self.errors(row)]
        if errors:
            raise InputError(errors)
        return rows

    # --- the rules on numbers -----------------------------------------------------------------

    def errors(self, features: dict[str, float]) -> list[FieldError]:
        """Every rule a dict of {feature: float} breaks (unknown names are not checked here)."""
        out: list[FieldError] = []
        for name, value in features.items():
            b = self.bounds.get(name)
            if b is None or (value != value and name in MAY_BE_UNKNOWN):  # NaN: unknown, allowed there
                continue
            ok = (value == 0.0 or value == 1.0) if b.binary else b.low <= value <= b.high
            if not ok:
                out.append(FieldError(name, range_message(value, b), value, b))
        for group, members in self.groups:
            chosen = [m for m in members if features.get(m) == 1.0]
            if len(chosen) > 1:
                out.append(FieldError(",".join(chosen), f"{group.label} ({group.name}): at most one of "
                                                        f"{', '.join(members)} may be 1"))
        return out

    def check_domain(self, features: dict[str, float]) -> None:
        """Raise `InputError` with every rule `features` breaks."""
        errors = self.errors(features)
        if errors:
            raise InputError(errors)

    def violations(self, frame: pd.DataFrame) -> pd.Series:
        """Vectorised rules over a DataFrame of features (missing values allowed): per row, the
        reasons it breaks ("" when none), e.g. "EXT_SOURCE_1: 1.3 is outside its domain …"."""
        reasons: list[list[str]] = [[] for _ in range(len(frame))]
        for name in frame.columns:
            b = self.bounds.get(name)
            if b is None:
                continue
            column = frame[name]
            values = pd.to_numeric(column, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
            missing = np.isnan(values)
            ok = np.isin(values, (0.0, 1.0)) if b.binary else (values >= b.low) & (values <= b.high)
            for i in np.flatnonzero(~missing & ~ok):  # given but refused (±inf included)
                reasons[i].append(f"{name}: {range_message(values[i], b)}")
            for i in np.flatnonzero(missing & column.notna().to_numpy()):  # text where a number is expected
                reasons[i].append(f"{name}: must be a number, got {column.iat[i]!r}")
        for group, members in self.groups:
            present = [m for m in members if m in frame.columns]
            if len(present) > 1:
                ones = sum((pd.to_numeric(frame[m], errors="coerce") == 1).to_numpy(dtype=int) for m in present)
                for i in np.flatnonzero(ones > 1):
                    reasons[i].append(f"{group.name}: at most one of {', '.join(present)} may be 1")
        return pd.Series(["; ".join(r) for r in reasons], index=frame.index, dtype=object)

    def scalar_checker(self, names: Sequence[tuple[str, str]]) -> Callable[[Sequence[Any]], None]:
        """A check of positional arguments [(argument name, feature)], raising ValueError naming the
        argument: plain Python on a few scalars (about 2 µs for 11), for `predict_credit_score`."""
        specs = [(arg, feature, *self._fast_bounds[feature]) for arg, feature in names]
        arg_of = dict((feature, arg) for arg, feature in names)
        pairs = [(arg_of[a], arg_of[b]) for _, members in self.groups for i, a in enumerate(members)
                 for b in members[i + 1:] if a in arg_of and b in arg_of]
        index = {arg: i for i, (arg, _) in enumerate(names)}
        pair_index = [(index[a], index[b], a, b) for a, b in pairs]

        def check(values: Sequence[Any]) -> None:
            for (arg, feature, low, high, binary), v in zip(specs, values, strict=True):
                kind = type(v)
                if v is None and feature in MAY_BE_UNKNOWN:
                    continue  # unknown: scored as missing
                if kind is bool:
                    if not binary:
                        raise ValueError(f"{arg}: a boolean where a number is expected ({feature})")
                    continue
                if kind is not float and kind is not int:
                    if isinstance(v, str | bytes) or not isinstance(v, float | int | np.number):
                        raise ValueError(f"{arg}: must be a number, got {kind.__name__} ({feature})")
                    v = float(v)
                if binary:
                    if v != 0 and v != 1:
                        raise ValueError(f"{arg}: must be 0 or 1, got {v!r} ({feature})")
                elif not low <= v <= high:
                    raise ValueError(f"{arg}: {range_message(float(v), self.bounds[feature])} ({feature})")
            for i, j, a, b in pair_index:
                if values[i] == 1 and values[j] == 1:
                    raise ValueError(f"{a}, {b}: at most one of the two may be 1")

        return check

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
        # "At most one 1 per group" is stated as an extension and in words: JSON Schema can say it
        # (pairwise `not`), but generators such as Schemathesis's give up on it at this size.
        groups = [members for _, members in self.groups]
        if groups:
            schema["x-exclusive-groups"] = groups
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


def _to_features(given: dict[str, Any]) -> dict[str, float]:
    return {k: UNKNOWN if v is None else float(v) for k, v in given.items()}  # true/false → 1.0/0.0; null: unknown


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
    "missing": "is required (a form feature; only the external scores, the card withdrawals and the bureau "
               "overdue may be null or absent: unknown)",
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
