"""The one rule engine for inputs: compiled once per model, run by every door.

What a feature accepts, in this order:
1. a number: an int or a float; a boolean only for a flag (true/false → 1/0); None only for a
   feature a real applicant may lack (`scoring.schema.MAY_BE_UNKNOWN`: unknown, scored as missing);
   nothing else is coerced (no number sent as text);
2. finite (no NaN, no infinity);
3. inside its domain rule (`scoring.feature_registry.domain_rule`: what the value can physically be — an
   external score is in [0, 1], an overdue amount is never negative, an age is 18 to 120 years, a flag is
   exactly 0 or 1), clipped to float32 (the model reads float32).
Plus: at most one option of each exclusive one-hot group (gender, education) is 1, and the required
form features are given. Only these refuse a value: they say it is impossible.

A value inside its domain but outside the range seen in training widened by `RANGE_MARGIN` of its span
on each side is plausible (real data meets aggregates past what training saw): it is scored and FLAGGED,
never refused — `Rules.out_of_range` (a row) and `Rules.out_of_range_columns` (a batch, vectorised) name
those features; every door says so (`out_of_range` in the answer, the log record and the batch output,
a French line on the form).

The doors — the JSON API (`serving.validation`), the form (`api.form_parts`), the dossier what-if
(`serving.whatif`), the batch (`Validator.violations`) and `predict_credit_score` (`api.seed`) — run
`Rules.check` (a mapping of values, plain Python: the measured hot path) or `Rules.check_frame` (a
DataFrame, vectorised) and word the `Violation`s each its own way (English here and in the API,
French on the form, line numbers in the batch).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from scoring.feature_registry import domain_rule
from scoring.schema import EXCLUSIVE_GROUPS, MAY_BE_UNKNOWN, UI_FEATURE_NAMES, DomainRule, ExclusiveGroup

RANGE_MARGIN = 0.10  # widen the training range by 10 % of its span on each side
FLOAT32_MAX = float(np.finfo(np.float32).max)  # the model reads float32: a larger number would become infinite
UNKNOWN = math.nan  # a feature of MAY_BE_UNKNOWN left empty, absent or null: scored as missing

# What a violation is (`Violation.kind`).
NOT_A_FEATURE = "not_a_feature"  # the model has no such feature
WRONG_TYPE = "type"  # not a number: text, a list, a boolean outside a flag
MISSING = "missing"  # a required feature absent, or null where unknown is not allowed
NOT_FINITE = "not_finite"  # NaN or an infinity
NOT_A_FLAG = "flag"  # a flag other than 0 or 1
OUT_OF_DOMAIN = "domain"  # outside what the value can mean
OUT_OF_RANGE = "range"  # inside its domain, outside the widened training range: a flag, never a refusal
GROUP = "group"  # more than one option of an exclusive group is 1
LOST = "lost"  # a derived feature that became unknown (a what-if)


@dataclass(frozen=True)
class Bound:
    """What one feature accepts: [low, high] (its domain, clipped to float32), or 0/1 for a flag; and
    [seen_low, seen_high], the training range widened by `RANGE_MARGIN` (inside [low, high]; infinite
    when training never saw the feature): a value accepted outside it is flagged, not refused."""

    low: float
    high: float
    binary: bool
    rule: DomainRule = field(default_factory=DomainRule)
    seen_low: float = -math.inf
    seen_high: float = math.inf


@dataclass(frozen=True)
class Violation:
    """One rule broken: the feature (the options joined by "," for a group), what kind of rule, the
    value given and the feature's bound (None for a group, an unknown feature or a missing one)."""

    feature: str
    kind: str
    value: Any = None
    bound: Bound | None = None
    group: ExclusiveGroup | None = None
    members: tuple[str, ...] = ()  # a group's options (of the model)

    def message(self) -> str:
        """Why, in English (the API, the batch, `predict_credit_score`); the form says it in French."""
        if self.kind == NOT_A_FEATURE:
            return "is not a feature of the model (see GET /model/info for the feature list)"
        if self.kind == MISSING:
            return ("is required (a form feature; only the external scores, the card withdrawals and the bureau "
                    "overdue may be null or absent: unknown)")
        if self.kind == WRONG_TYPE:
            allowed = "0 or 1 (or false/true)" if self.bound and self.bound.binary else "a number"
            return f"must be {allowed}, got {_kind(self.value)}"
        if self.kind == GROUP:
            g = self.group
            return f"{g.label} ({g.name}): at most one of {', '.join(self.members)} may be 1" if g else \
                f"at most one of {', '.join(self.members)} may be 1"
        if self.kind == LOST:
            return "cannot be computed from the new values (it was known before)"
        return range_message(float(self.value), self.bound) if self.bound else f"{self.value!r} is refused"


def _fmt(x: float) -> str:
    return f"{x:.6g}"


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, str | bytes):
        return "a string"
    if isinstance(value, bool):
        return "a boolean"
    return type(value).__name__


def range_message(value: float, b: Bound) -> str:
    """Why a number is refused, in English (the API); `api.form_numbers.fr_refusal` says it in French."""
    if not math.isfinite(value):
        return "must be a finite number (NaN and infinity are refused)"
    if b.binary:
        return f"must be 0 or 1 (or false/true), got {_fmt(value)}"
    if not b.rule.low <= value <= b.rule.high:
        return (f"{_fmt(value)} is outside its domain [{_fmt(b.rule.low)}, {_fmt(b.rule.high)}] "
                f"({b.rule.meaning})")
    return (f"{_fmt(value)} is too large for the model (it reads float32: "
            f"[{_fmt(max(b.rule.low, -FLOAT32_MAX))}, {_fmt(min(b.rule.high, FLOAT32_MAX))}])")


def accepted_bounds(features: Sequence[str], ranges: Mapping[str, Any]) -> dict[str, Bound]:
    """Each feature's bound: its domain rule clipped to float32, and the widened training range (`ranges`:
    {feature: {"min", "max"}} of `reference.json`) inside it when training saw the feature."""
    out: dict[str, Bound] = {}
    for name in features:
        rule = domain_rule(name)
        r = ranges.get(name) or {}
        if rule.binary:
            out[name] = Bound(0.0, 1.0, True, rule, 0.0, 1.0)
            continue
        low, high = max(rule.low, -FLOAT32_MAX), min(rule.high, FLOAT32_MAX)
        seen_low, seen_high = -math.inf, math.inf
        lo, hi = r.get("min"), r.get("max")
        if lo is not None and hi is not None:  # else never seen in training (all missing): nothing to flag
            span = (hi - lo) or abs(hi) or 1.0
            seen_low, seen_high = max(low, lo - RANGE_MARGIN * span), min(high, hi + RANGE_MARGIN * span)
        out[name] = Bound(low, high, False, rule, seen_low, seen_high)
    return out


class Rules(Mapping[str, Bound]):
    """The compiled rules of one model: a mapping feature → `Bound`, the exclusive groups, the
    required features and those that may be unknown. Built once per model (`Rules.compile`)."""

    def __init__(self, bounds: Mapping[str, Bound], groups: Sequence[tuple[ExclusiveGroup, list[str]]] = (), *,
                 required: frozenset[str] = frozenset(), may_lack: frozenset[str] | None = None):
        self._bounds = dict(bounds)
        self.groups = [(g, list(m)) for g, m in groups]
        self.required = frozenset(required)
        self.may_lack = frozenset(MAY_BE_UNKNOWN if may_lack is None else may_lack) & self._bounds.keys()
        group_of = {m: i for i, (_, members) in enumerate(self.groups) for m in members}
        # (low, high, binary, may be unknown, index of its exclusive group or -1) per feature: what the loop reads
        self._table = {n: (b.low, b.high, b.binary, n in self.may_lack, group_of.get(n, -1))
                       for n, b in self._bounds.items()}
        # (seen low, seen high) of the features whose accepted values may lie outside what training saw
        self._seen = {n: (b.seen_low, b.seen_high) for n, b in self._bounds.items()
                      if not b.binary and (b.seen_low > b.low or b.seen_high < b.high)}

    @classmethod
    def compile(cls, features: Sequence[str], ranges: Mapping[str, Any],
                recorded: Sequence[str] = ()) -> Rules:
        """The rules of a model reading `features`, trained on `ranges`; `recorded`: form features
        accepted and checked but not scored (gender when the model leaves it out)."""
        accepted = list(features) + [n for n in recorded if n not in set(features)]
        groups = [(g, [f for f in accepted if f.startswith(g.name + "_")]) for g in EXCLUSIVE_GROUPS]
        used = set(features)
        required = frozenset(n for n in UI_FEATURE_NAMES if n in used and n not in MAY_BE_UNKNOWN)
        return cls(accepted_bounds(accepted, ranges), [(g, m) for g, m in groups if len(m) > 1], required=required)

    # --- the mapping of bounds ----------------------------------------------------------------

    def __getitem__(self, name: str) -> Bound:
        return self._bounds[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._bounds)

    def __len__(self) -> int:
        return len(self._bounds)

    # --- values -------------------------------------------------------------------------------

    def check(self, data: Mapping[str, Any], *, partial: bool = False) -> tuple[dict[str, float], list[Violation]]:
        """({feature: float} of the accepted values, the rules broken) for a mapping of values as sent.

        Booleans of flags become 1.0/0.0 and None of a feature that may be unknown `UNKNOWN` (NaN).
        `partial`: no required feature (a what-if's overrides, one value). The loop is plain Python on
        a table of floats: a valid applicant of 11 features takes a few µs (the API's hot path)."""
        get = self._table.get
        out: dict[str, float] = {}
        broken: list[Violation] = []
        seen = twice = 0  # bit i: an option of exclusive group i is 1 (twice: more than one)
        for name, value in data.items():
            spec = get(name)
            if spec is None:
                broken.append(Violation(name, NOT_A_FEATURE, value))
                continue
            low, high, binary, may_lack, group = spec
            kind = type(value)
            if kind is float:
                x = value
            elif kind is int:
                x = float(value)
            elif kind is bool and binary:
                x = 1.0 if value else 0.0
            elif value is None and may_lack:
                out[name] = UNKNOWN
                continue
            else:
                x = self._odd(name, value)
                if type(x) is Violation:
                    broken.append(x)
                    continue
            if (x == 0.0 or x == 1.0) if binary else low <= x <= high:  # NaN and ±inf fail too
                out[name] = x
                if group >= 0 and x == 1.0:
                    twice |= seen & (1 << group)
                    seen |= 1 << group
            else:
                broken.append(self.refusal(name, x))
        if twice:
            broken.extend(self._group_violation(i, out) for i in range(len(self.groups)) if twice >> i & 1)
        if not partial and not self.required <= out.keys():
            broken.extend(Violation(n, MISSING) for n in sorted(self.required - data.keys()))
        return out, broken

    def positional(self, features: Sequence[str],
                   refuse: Callable[[list[Violation]], Any]) -> Callable[[Sequence[Any]], None]:
        """A check of values given in the order of `features`, compiled for a fixed signature
        (`predict_credit_score`, about 1 µs for 11): the same table read without building a mapping,
        the exclusive groups as pairs of positions. Any value that is not a plain number, a flag's
        boolean or an allowed None, and any refusal, goes through `check`, whose violations are
        handed to `refuse` (which raises, in the door's words)."""
        specs = [self._table[n][:4] for n in features]
        position = {n: i for i, n in enumerate(features)}
        pairs = [(position[a], position[b]) for _, members in self.groups for k, a in enumerate(members)
                 for b in members[k + 1:] if a in position and b in position]
        full = self.check

        def check(values: Sequence[Any]) -> None:
            for (low, high, binary, may_lack), x in zip(specs, values, strict=True):
                kind = type(x)
                if kind is float or kind is int:
                    if not ((x == 0.0 or x == 1.0) if binary else low <= x <= high):
                        break
                elif not (binary if kind is bool else x is None and may_lack):
                    break
            else:
                for i, j in pairs:
                    if values[i] == 1 and values[j] == 1:
                        break
                else:
                    return
            broken = full(dict(zip(features, values, strict=True)), partial=True)[1]
            if broken:  # else only an unusual type that `check` accepts (a numpy number)
                refuse(broken)

        return check

    def check_value(self, name: str, value: Any) -> float | Violation:
        """One value of `name` as sent → the float accepted, or the rule it breaks."""
        out, broken = self.check({name: value}, partial=True)
        return broken[0] if broken else out[name]

    def _odd(self, name: str, value: Any) -> float | Violation:
        """A value that is not a plain int or float: a numpy number is one, the rest is refused."""
        b = self._bounds[name]
        if value is None:
            return Violation(name, MISSING, value, b)
        if isinstance(value, np.number) and not isinstance(value, np.bool_):
            return float(value)
        return Violation(name, WRONG_TYPE, value, b)

    def refusal(self, name: str, x: float) -> Violation:
        """The rule a number refused for `name` breaks (the first of: finite, flag, domain — float32's
        range included)."""
        b = self._bounds[name]
        if not math.isfinite(x):
            kind = NOT_FINITE
        elif b.binary:
            kind = NOT_A_FLAG
        else:
            kind = OUT_OF_DOMAIN
        return Violation(name, kind, x, b)

    # --- flags: accepted, outside what training saw ---------------------------------------------

    def out_of_range(self, names: Sequence[str], values: Sequence[float]) -> tuple[str, ...]:
        """The features among `names` whose value (accepted, in `values`) lies outside the widened training
        range, in the order given (missing values, NaN or None, are not flagged): what every door reports."""
        seen = self._seen
        if not seen:
            return ()
        out = []
        for name, x in zip(names, values, strict=True):
            s = seen.get(name)
            if s is not None and x is not None and x == x and not s[0] <= x <= s[1]:  # missing: not flagged
                out.append(name)
        return tuple(out)

    def out_of_range_columns(self, name: str, values: np.ndarray) -> np.ndarray | None:
        """Vectorised `out_of_range` for one column: which of `values` are outside the widened training
        range of `name` (None when nothing can be: a flag, or a feature training never saw)."""
        s = self._seen.get(name)
        if s is None:
            return None
        with np.errstate(invalid="ignore"):
            return (values < s[0]) | (values > s[1])

    def out_of_range_frame(self, frame: pd.DataFrame) -> list[tuple[str, ...]]:
        """Per row of a numeric frame, the features outside the widened training range (column order)."""
        flagged: list[list[str]] = [[] for _ in range(len(frame))]
        for name, values in _numeric_columns(frame, self._seen):
            for i in np.flatnonzero(self.out_of_range_columns(name, values)):
                flagged[i].append(name)
        return [tuple(f) for f in flagged]

    def _group_violation(self, i: int, features: Mapping[str, float]) -> Violation:
        group, members = self.groups[i]
        chosen = [m for m in members if features.get(m) == 1.0]
        return Violation(",".join(chosen), GROUP, group=group, members=tuple(members))

    # --- frames (the batch) -------------------------------------------------------------------

    def refused(self, name: str, values: np.ndarray) -> np.ndarray:
        """Vectorised: which of `values` (a column of `name`; NaN is missing, allowed) break a rule."""
        b = self._bounds[name]
        with np.errstate(invalid="ignore"):
            ok = (values == 0.0) | (values == 1.0) if b.binary else (values >= b.low) & (values <= b.high)
        return ~ok & ~np.isnan(values)

    def check_frame(self, frame: pd.DataFrame) -> list[list[Violation]]:
        """The rules each row of `frame` breaks, vectorised column by column. A missing cell (NaN,
        None, empty) is missing for every feature, as in a file; text where a number is expected is
        refused; unknown columns are not checked."""
        broken: list[list[Violation]] = [[] for _ in range(len(frame))]
        floats = _all_floats(frame)
        for name, values in _numeric_columns(frame, self._bounds):
            b = self._bounds[name]
            for i in np.flatnonzero(self.refused(name, values)):  # given but refused (±inf included)
                broken[i].append(self.refusal(name, float(values[i])))
            if floats:  # a float column holds no text
                continue
            column = frame[name]
            for i in np.flatnonzero(np.isnan(values) & column.notna().to_numpy()):  # text where a number is expected
                broken[i].append(Violation(name, WRONG_TYPE, column.iat[i], b))
        options = {m for _, members in self.groups for m in members}
        ones = {m: values == 1 for m, values in _numeric_columns(frame, options)}
        for group, rows in self.group_rows(ones):
            for i in rows:
                chosen = [m for m, one in ones.items() if m in group[1] and one[i]]
                broken[i].append(Violation(",".join(chosen), GROUP, group=group[0], members=tuple(group[1])))
        return broken

    def group_rows(self, ones: Mapping[str, np.ndarray]) -> list[tuple[tuple[ExclusiveGroup, list[str]], np.ndarray]]:
        """Vectorised: for each exclusive group, the rows with more than one option at 1 (`ones`: per
        feature, a boolean column "is 1"; groups with fewer than two columns given are skipped)."""
        out = []
        for group, members in self.groups:
            present = [ones[m] for m in members if m in ones]
            if len(present) > 1:
                rows = np.flatnonzero(sum(p.astype(int) for p in present) > 1)
                if rows.size:
                    out.append(((group, [m for m in members if m in ones]), rows))
        return out

    # --- derived values (a what-if) -------------------------------------------------------------

    def check_derived(self, features: Sequence[str], stored: np.ndarray, changed: np.ndarray,
                      given: Mapping[str, float]) -> list[Violation]:
        """The features a what-if recomputed from the values `given` (payment rate, credit/income, ...):
        finite, inside their domain (float32 range included), and known when they were known before.
        Not the training range: a negotiated amount legitimately moves a ratio past what training held
        (the given values had every rule). `stored` and `changed`: the rows before and after, in
        `features` order."""
        moved = np.flatnonzero(~((stored == changed) | (np.isnan(stored) & np.isnan(changed))))
        out = []
        for i in moved:
            name, x = features[i], float(changed[i])
            b = self._bounds.get(name)
            if name in given or b is None:
                continue
            if math.isnan(x):
                out.append(Violation(name, LOST, x, b))
            elif not (math.isfinite(x) and max(b.rule.low, -FLOAT32_MAX) <= x <= min(b.rule.high, FLOAT32_MAX)):
                out.append(Violation(name, OUT_OF_DOMAIN if math.isfinite(x) else NOT_FINITE, x, b))
        return out


def _all_floats(frame: pd.DataFrame) -> bool:
    return all(isinstance(d, np.dtype) and d.kind == "f" for d in frame.dtypes)


def _numeric_columns(frame: pd.DataFrame, wanted: Mapping | set) -> Iterator[tuple[str, np.ndarray]]:
    """(name, float64 values: text and missing NaN) of the columns of `frame` in `wanted`, in frame order. A
    frame of floats (the batch's built features) is converted once as a block, not column by column."""
    names = [name for name in frame.columns if name in wanted]
    if _all_floats(frame):
        block = frame[names].to_numpy(dtype=float)
        yield from ((name, block[:, j]) for j, name in enumerate(names))
        return
    for name in names:
        yield name, pd.to_numeric(frame[name], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
