"""One rule engine, five doors: property-based (hypothesis).

Values are drawn inside, at and just outside every bound of the form features (and far outside, at
the domain's edges, NaN, ±inf, None, booleans, lists, text), one or two features of a valid applicant
at a time. Every door must give the same verdict and name the same offending features — and, for a
value accepted past the range seen in training, the same flagged features (`out_of_range`) — : the JSON API
(`Validator.parse`), the dossier what-if (`WhatIfRules.parse`), the batch (`Validator.violations` on a
one-row frame, and `serving.batch.score_file` on a one-row features file), `predict_credit_score`,
and the form (`to_features`; its radios cannot express a one-hot value, so the options of an exclusive
group are left to the other doors). The verdict expected is also computed here, from the bounds, with
the rules of docs/rules.md written out independently of `serving.rules`: impossible values refused,
values inside their domain but past the widened training range accepted and flagged.

Doors read text differently, by design: the form reads French decimals, a CSV cell is read as a number,
the API and `predict_credit_score` refuse any string. For text the property is then that each door
gives the verdict of the number it read. In a file an empty cell is missing for every feature (the
model scores NaN); None is compared for the batch only on the features that may be unknown.
"""

from __future__ import annotations

import inspect
import json
import math
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import api.seed
from api.form_numbers import NotANumber, parse_fr_number
from api.form_parts import FormRefusal, form_inputs, to_features
from api.scoring_service import ScoringService
from scoring.schema import EXCLUSIVE_GROUPS, ID_COLUMN, MAY_BE_UNKNOWN, UI_FEATURE_NAMES, ExclusiveGroup
from serving.batch import errors_path_for, score_file
from serving.rules import Rules
from serving.validation import InputError
from serving.whatif import WhatIfRules
from tests.helpers import VALID

IN_GROUPS = {f for g in EXCLUSIVE_GROUPS for f in g.options.values() if f}
ARGS = list(inspect.signature(api.seed.predict_credit_score).parameters)
FEATURE_OF_ARG = dict(zip(ARGS, UI_FEATURE_NAMES, strict=True))
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def _around(x: float) -> list[float]:
    """`x` and the floats just beside it (finite ones only)."""
    if not math.isfinite(x):
        return []
    return [x, float(np.nextafter(x, -math.inf)), float(np.nextafter(x, math.inf))]


def values_for(rules: Rules, name: str) -> st.SearchStrategy[Any]:
    b = rules[name]
    edges = [*_around(b.low), *_around(b.high), *_around(b.rule.low), *_around(b.rule.high), *_around(b.seen_low),
             *_around(b.seen_high), 0.0, 1.0, -1.0, 0.5]
    numbers = st.one_of(
        st.sampled_from(edges),
        st.floats(b.low, b.high) if not b.binary else st.sampled_from([0, 1, 0.0, 1.0]),  # inside
        st.floats(b.seen_high, min(b.high, 1e12)) if math.isfinite(b.seen_high) else st.nothing(),  # only unseen
        st.floats(allow_nan=False, allow_infinity=False),  # anywhere, mostly far outside
        st.sampled_from([math.nan, math.inf, -math.inf, 2, -3]),
    )
    return st.one_of(numbers, st.booleans(), st.none(), st.sampled_from([[0.5], {"x": 1}]))


def texts_for(rules: Rules, name: str) -> st.SearchStrategy[str]:
    b = rules[name]
    inside = st.floats(b.low, b.high) if not b.binary else st.sampled_from([0.0, 1.0])
    number = st.one_of(inside, st.sampled_from([*_around(b.high), *_around(b.low), -1.0, 1e9]))
    written = number.map(lambda x: np.format_float_positional(x, trim="-"))
    return st.one_of(written, written.map(lambda t: t.replace(".", ",")), st.sampled_from(["abc", "1,2,3", "", "0x1"]))


# --- the verdict, written out from DESIGN.md ------------------------------------------------------

def expected_refused(rules: Rules, row: dict[str, Any]) -> set[str]:
    """The features a door must name: each value that is not a number in its bound (a flag: exactly
    0/1, booleans allowed; None only where a real applicant may lack it), and both options of a group
    set to 1."""
    bad = set()
    for name, v in row.items():
        b = rules[name]
        if v is None:
            ok = name in MAY_BE_UNKNOWN
        elif isinstance(v, bool):
            ok = b.binary
        elif isinstance(v, int | float):
            ok = v in (0, 1) if b.binary else b.low <= v <= b.high
        else:
            ok = False
        if not ok:
            bad.add(name)
    for g in EXCLUSIVE_GROUPS:
        chosen = [f for f in g.options.values() if f and f in row and f not in bad and row[f] == 1]
        if len(chosen) > 1:
            bad |= set(chosen)
    return bad


def expected_flagged(rules: Rules, row: dict[str, Any]) -> set[str]:
    """The features a door must flag (accept, score, and name in `out_of_range`): a number that is not
    refused and lies outside the range seen in training widened by 10 % (never a flag, never missing)."""
    refused = expected_refused(rules, row)
    return {name for name, v in row.items()
            if name not in refused and type(v) in (int, float) and not rules[name].binary and v == v
            and not rules[name].seen_low <= v <= rules[name].seen_high}


def as_file(change: dict[str, Any]) -> dict[str, Any] | None:
    """`change` as a file holds it (NaN is an empty cell: None), or None when a file cannot say it the
    same way: a boolean or a list is text there, and an empty cell is missing for every feature."""
    if not all(v is None or type(v) in (int, float) for v in change.values()):
        return None
    cells = {n: None if v is None or v != v else v for n, v in change.items()}
    return cells if all(v is not None or n in MAY_BE_UNKNOWN for n, v in cells.items()) else None


def named(field: str) -> set[str]:
    return set(field.split(","))


# --- the doors, in process --------------------------------------------------------------------------

def api_door(service: ScoringService, row: dict[str, Any]) -> set[str]:
    try:
        service.validator.parse(json.dumps(row).encode())
    except InputError as exc:
        return set().union(*(named(e.field) for e in exc.errors))
    return set()


def api_flags(service: ScoringService, row: dict[str, Any]) -> set[str]:
    """What the API answers in `out_of_range` for an accepted body (the service's scoring, as the route)."""
    features = service.validator.parse(json.dumps(row).encode())
    return set(service.score(features, request_id="flags", started=0.0, explain=False).out_of_range)


def form_flags(service: ScoringService, row: dict[str, Any]) -> set[str]:
    features = to_features(form_values(row), service.validator.rules)
    return set(service.score(features, request_id="flags", started=0.0, explain=False, source="form").out_of_range)


def seed_flags(row: dict[str, Any]) -> set[str]:
    """The features `predict_credit_score`'s `OutOfRangeWarning` names."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        api.seed.predict_credit_score(*(row[n] for n in UI_FEATURE_NAMES))
    named_ = [str(w.message).rsplit(": ", 1)[1] for w in caught if issubclass(w.category, api.seed.OutOfRangeWarning)]
    return set(", ".join(named_).split(", ")) - {""}


def frame_flags(service: ScoringService, row: dict[str, Any]) -> set[str]:
    return set(service.validator.rules.out_of_range_frame(pd.DataFrame([row]))[0])


def what_if_door(service: ScoringService, row: dict[str, Any]) -> set[str]:
    try:
        WhatIfRules(service.validator).parse({ID_COLUMN: 100002, **row})
    except InputError as exc:
        return set().union(*(named(e.field) for e in exc.errors))
    return set()


def frame_door(service: ScoringService, row: dict[str, Any]) -> set[str]:
    frame = pd.DataFrame([{k: (v if not isinstance(v, list | dict) else str(v)) for k, v in row.items()}],
                         dtype=object)
    reason = service.validator.violations(frame).iloc[0]
    return set().union(*(named(part.split(":")[0]) for part in reason.split("; ") if part))


def seed_door(row: dict[str, Any]) -> set[str]:
    try:
        api.seed.predict_credit_score(*(row[n] for n in UI_FEATURE_NAMES))
    except ValueError as exc:
        return {FEATURE_OF_ARG[a.strip()] for a in str(exc).split(":")[0].split(",")}
    return set()


def form_values(row: dict[str, Any]) -> list[Any]:
    """The form's values for `row` (groups: the radio's choice of the row's one-hot options)."""
    out = []
    for item in form_inputs():
        if isinstance(item, ExclusiveGroup):
            chosen = [o for o, f in item.options.items() if f and row[f] == 1]
            out.append(chosen[0] if chosen else next(o for o, f in item.options.items() if f is None)
                       if None in item.options.values() else None)
        else:
            out.append(row[item.name])
    return out


def form_door(service: ScoringService, row: dict[str, Any]) -> set[str]:
    try:
        to_features(form_values(row), service.validator.rules)
    except FormRefusal as exc:
        return set(exc.fields)
    return set()


@pytest.fixture()
def seeded(service: ScoringService, monkeypatch: pytest.MonkeyPatch) -> ScoringService:
    monkeypatch.setattr(api.seed, "loaded_service", lambda: service)
    return service


def _changes(rules: Rules, texts: bool = False) -> st.SearchStrategy[dict[str, Any]]:
    def one(name: str) -> st.SearchStrategy[tuple[str, Any]]:
        return (texts_for if texts else values_for)(rules, name).map(lambda v: (name, v))

    names = st.lists(st.sampled_from(UI_FEATURE_NAMES), min_size=1, max_size=2, unique=True)
    return names.flatmap(lambda ns: st.tuples(*(one(n) for n in ns))).map(dict)


# --- the properties -----------------------------------------------------------------------------------

def test_every_door_accepts_and_refuses_alike(seeded: ScoringService) -> None:
    rules = seeded.validator.rules

    @SETTINGS
    @given(_changes(rules))
    def check(change: dict[str, Any]) -> None:
        row = VALID | change
        expected = expected_refused(rules, row)
        assert api_door(seeded, row) == expected, ("api", change)
        assert what_if_door(seeded, row) == expected, ("what-if", change)
        seed = seed_door(row)
        assert (seed <= expected and bool(seed) == bool(expected)), ("predict_credit_score", change, seed)
        in_file = as_file(change)
        if in_file is not None:
            assert frame_door(seeded, row) == expected_refused(rules, VALID | in_file), ("batch frame", change)
        form = not IN_GROUPS & change.keys()
        if form:
            assert form_door(seeded, row) == expected, ("form", change)
        if expected:
            return
        flagged = expected_flagged(rules, row)  # accepted: every door flags the same features
        assert api_flags(seeded, row) == flagged, ("api flags", change)
        assert seed_flags(row) == flagged, ("predict_credit_score flags", change)
        if in_file is not None:
            assert frame_flags(seeded, VALID | in_file) == expected_flagged(rules, VALID | in_file), ("frame", change)
        if form:
            assert form_flags(seeded, row) == flagged, ("form flags", change)

    check()


def test_text_gets_the_verdict_of_the_number_each_door_reads(seeded: ScoringService) -> None:
    """The form reads French decimals, a CSV cell reads a number; the API and predict_credit_score
    refuse every string."""
    rules = seeded.validator.rules

    def read_fr(text: str) -> Any:
        try:
            return parse_fr_number(text)
        except NotANumber:
            return text

    def read_frame(text: str) -> Any:  # a frame's text cell read as a number by pandas ("" stays text)
        try:
            return float(text)
        except ValueError:
            return text

    @SETTINGS
    @given(_changes(rules, texts=True))
    def check(change: dict[str, Any]) -> None:
        row = VALID | change
        assert api_door(seeded, row) == set(change) and what_if_door(seeded, row) == set(change)
        assert seed_door(row) and seed_door(row) <= set(change)
        if not IN_GROUPS & change.keys() and not any(rules[n].binary for n in change):  # number boxes
            assert form_door(seeded, row) == expected_refused(rules, VALID | {n: read_fr(t) for n, t in change.items()})
        as_numbers = VALID | {n: read_frame(t) for n, t in change.items()}
        frame = frame_door(seeded, row)
        assert frame == expected_refused(rules, as_numbers), change

    check()


def test_a_features_file_is_checked_by_the_same_rules(seeded: ScoringService, tmp_path: Path) -> None:
    """`inference.py`'s path: a one-row features file (the template's values plus the drawn ones);
    a refused row is listed in the errors file naming the column, never scored."""
    predictor = seeded.predictor
    rules = seeded.validator.rules
    template = dict(zip(predictor.features, predictor.template[0].astype(float), strict=True))
    counter = iter(range(10**6))

    @settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(_changes(rules))
    def check(change: dict[str, Any]) -> None:
        in_file = as_file(change)
        if in_file is None:
            return  # text is the other test's
        row = {k: v for k, v in (VALID | in_file).items() if k in template}
        expected = expected_refused(rules, row)
        i = next(counter)
        source, out = tmp_path / f"in{i}.csv", tmp_path / f"out{i}.csv"
        pd.DataFrame([{ID_COLUMN: 1} | template | row]).to_csv(source, index=False)
        report = score_file(source, out, predictor=predictor, progress=False)
        if not expected:
            assert report.scored == 1 and not report.errors, (change, report.errors)
            flags = pd.read_csv(out, encoding="utf-8-sig", keep_default_na=False)["out_of_range"].iloc[0]
            full = {k: v for k, v in (template | row).items() if v is not None}
            assert set(filter(None, flags.split(";"))) == expected_flagged(rules, full), change
            return
        assert report.scored == 0, change
        (error,) = report.errors
        assert error.line == 2 and any(f"column {n}" in error.reason or n in error.reason for n in expected), \
            (change, error.reason)
        assert errors_path_for(out).exists()

    check()


def test_over_http_the_api_names_the_same_fields(service: ScoringService, client) -> None:
    """`POST /api/predict` through the app's middleware and route: 200 when the rules accept, else a 422
    whose errors name exactly the offending features."""
    rules = service.validator.rules

    @settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(_changes(rules))
    def check(change: dict[str, Any]) -> None:
        row = VALID | change
        expected = expected_refused(rules, row)
        resp = client.post("/api/predict", content=json.dumps(row).encode(),
                           headers={"content-type": "application/json"})
        if not expected:
            assert resp.status_code == 200, (change, resp.text)
            assert set(resp.json()["out_of_range"]) == expected_flagged(rules, row), (change, resp.text)
            return
        assert resp.status_code == 422, (change, resp.text)
        assert set().union(*(named(e["field"]) for e in resp.json()["errors"])) == expected, (change, resp.text)

    check()
