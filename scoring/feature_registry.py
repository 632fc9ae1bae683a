"""The feature registry: for every feature `scoring.features` can build, its French label, unit, domain
rule, source table and letter topic, derived from the specs of `scoring.feature_specs` (never from the feature's name).

`python -m scoring.feature_registry` prints the entries of a model's features (exit 1 when one is
incomplete); `--against SNAPSHOT` prints what changed since a snapshot that `--snapshot OUT` wrote.

An aggregate's entry comes from its base column's `Meaning` and the aggregation: a count has no unit
and is at least 0; a mean, min or max keeps the column's unit and bounds; a sum keeps the unit and is
at least 0 when the column is; the mean of a 0/1 column is a share (in %, within [0, 1]) and its sum a
count. The labels for advisers (form, reasons, reports), the formatting of values
(`scoring.explain_format`), the input rules (`serving.validation`) and the customer's letter
(`api.letters`: topics) read this registry.
"""

from __future__ import annotations

import argparse
import dataclasses
import difflib
import json
import math
import sys
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from scoring.cli import add_logging_options, setup_logging
from scoring.config import MODELS_DIR
from scoring.feature_specs import (
    ANY,
    APPLICATION_GROUP_TOPICS,
    APPLICATION_MEANINGS,
    APPLICATION_RATIOS,
    BINARY,
    CHILD_SPECS,
    COLUMN_MEANINGS,
    NON_NEGATIVE,
    SHARE,
    AggregateSpec,
    Meaning,
    Topic,
    Unit,
)
from scoring.features import APPLICATION_PLAN
from scoring.labels import AGGREGATES, APPLICATION_GROUPS, BUILDING, BUILDING_STATS, CHILD_GROUPS, category
from scoring.schema import APPLICATION_TRAIN, CHILD_TABLES, FEATURES_FILE, UI_FEATURES_BY_NAME, DomainRule

TABLE_NAMES = frozenset((APPLICATION_TRAIN, *CHILD_TABLES))


@dataclass(frozen=True)
class FeatureInfo:
    """What one model feature means. `translated` is False when a part of the label is still the raw
    English of the tables (an unknown category); `topic`: what it is about, for the customer's letter."""

    name: str
    label: str
    unit: Unit
    domain: DomainRule
    table: str
    translated: bool = True
    topic: Topic | None = None


def _application_meaning(column: str) -> Meaning | None:
    """The meaning of a numeric application column: written in `APPLICATION_MEANINGS`, or composed from
    the parts of the documents' flags and the building statistics."""
    if column in APPLICATION_MEANINGS:
        return APPLICATION_MEANINGS[column]
    if column.startswith("FLAG_DOCUMENT_"):
        return Meaning(f"Document n° {column.rsplit('_', 1)[1]} fourni", Unit.NUMBER, BINARY, topic=Topic.DOCUMENTS)
    base, _, stat = column.rpartition("_")
    if stat in BUILDING_STATS and base in BUILDING:
        return Meaning(f"Immeuble : {BUILDING[base]} ({BUILDING_STATS[stat]})", Unit.NUMBER, SHARE)
    return None


def _application_entries() -> Iterator[FeatureInfo]:
    for column, _, categories in APPLICATION_PLAN:
        for value in categories:  # one-hot columns
            french, done = category(value)
            yield FeatureInfo(f"{column}_{value}", f"{APPLICATION_GROUPS[column]} : {french}", Unit.NUMBER, BINARY,
                              APPLICATION_TRAIN, done, APPLICATION_GROUP_TOPICS.get(column))
        if categories:
            continue
        meaning = _application_meaning(column)
        if meaning is None:  # no entry: `incomplete_entries` names the feature
            continue
        yield FeatureInfo(column, meaning.label, meaning.unit, meaning.domain, APPLICATION_TRAIN, topic=meaning.topic)
    for name, _, _, meaning in APPLICATION_RATIOS:
        yield FeatureInfo(name, meaning.label, meaning.unit, meaning.domain, APPLICATION_TRAIN, topic=meaning.topic)


def _aggregated(meaning: Meaning, agg: str) -> tuple[str, Unit, DomainRule]:
    """(the aggregation's French word, unit, domain) of `agg` over a column of that meaning."""
    if meaning.domain.binary:  # a 0/1 column: its mean is a share, its sum a count
        return ("part", Unit.PERCENT, SHARE) if agg == "mean" else (AGGREGATES[agg], Unit.NUMBER, NON_NEGATIVE)
    if agg == "sum":  # a sum keeps the sign of non-negative values only (bounds above do not add up)
        return AGGREGATES[agg], meaning.unit, NON_NEGATIVE if meaning.domain.low >= 0 else ANY
    return AGGREGATES[agg], meaning.unit, meaning.domain  # mean, min, max: within the column's bounds


def aggregate_entries(spec: AggregateSpec) -> Iterator[FeatureInfo]:
    """The entries of the columns `spec` builds, in their order; none for a column without a `Meaning`
    (`incomplete_entries` then names its features)."""
    meanings = COLUMN_MEANINGS.get(spec.table, {})
    for column, aggs in spec.aggs.items():
        meaning = meanings.get(column)
        if meaning is None:
            continue
        for agg in aggs:
            word, unit, domain = _aggregated(meaning, agg)
            label = spec.named.get(f"{column}_{agg}") or f"{meaning.source or spec.source} : {meaning.label} ({word})"
            yield FeatureInfo(f"{spec.prefix}_{column}_{agg}", label, unit, domain, meaning.table or spec.table,
                              topic=spec.topics.get(column, spec.topic))
    for column, categories in spec.categories().items():
        for value in categories:
            french, done = category(value)
            name = f"{column}_{value}_mean"
            label = spec.named.get(name) or f"{spec.source} : {CHILD_GROUPS[column]} {french} (part)"
            yield FeatureInfo(f"{spec.prefix}_{name}", label, Unit.PERCENT, SHARE, spec.table, done,
                              spec.topics.get(f"{column}_{value}", spec.topic))
    if spec.count:
        yield FeatureInfo(f"{spec.prefix}_COUNT", f"{spec.source} : nombre", Unit.NUMBER, NON_NEGATIVE, spec.table,
                          topic=spec.topic)


def build_registry(specs: Iterable[AggregateSpec] = CHILD_SPECS) -> dict[str, FeatureInfo]:
    """Every feature `scoring.features.build_features` builds -> its entry, in the column order; the form's
    labels (`scoring.schema.UI_FEATURES`) win over the composed ones."""
    entries = [*_application_entries(), *(e for spec in specs for e in aggregate_entries(spec))]
    registry: dict[str, FeatureInfo] = {}
    for entry in entries:
        ui = UI_FEATURES_BY_NAME.get(entry.name)
        registry[entry.name] = entry if ui is None else dataclasses.replace(entry, label=ui.label, translated=True)
    return registry


REGISTRY: dict[str, FeatureInfo] = build_registry()


def feature_info(name: str) -> FeatureInfo | None:
    """The entry of a feature, or None for a name the feature code does not build."""
    return REGISTRY.get(name)


def feature_label(name: str) -> str:
    """French name of a model feature for advisers (form, reasons, letters); its model name when unknown."""
    info = REGISTRY.get(name)
    return info.label if info is not None else name


def feature_unit(name: str) -> Unit:
    """How a value of the feature reads (`Unit.NUMBER` for an unknown name)."""
    info = REGISTRY.get(name)
    return info.unit if info is not None else Unit.NUMBER


def domain_rule(name: str) -> DomainRule:
    """The domain rule of a model feature (an unknown name: any finite number)."""
    info = REGISTRY.get(name)
    return info.domain if info is not None else ANY


def incomplete_entries(names: Iterable[str], registry: Mapping[str, FeatureInfo] = REGISTRY) -> list[str]:
    """The features among `names` without a complete entry: unknown to the registry, or with an empty or
    untranslated label, a unit that is not a `Unit`, a domain that is not a `DomainRule`, or no table."""
    def complete(info: FeatureInfo | None) -> bool:
        return (info is not None and bool(info.label.strip()) and info.translated and isinstance(info.unit, Unit)
                and isinstance(info.domain, DomainRule) and info.table in TABLE_NAMES)

    return [n for n in names if not complete(registry.get(n))]


def untranslated_features(names: Iterable[str]) -> list[str]:
    """The features among `names` without a complete French label: unknown to the registry, or with an
    untranslated part."""
    return [n for n in names if n not in REGISTRY or not REGISTRY[n].translated]


def _bound(x: float) -> float | str:
    return x if math.isfinite(x) else str(x)  # JSON has no infinity


def snapshot(names: Iterable[str]) -> dict[str, dict[str, object]]:
    """The label, unit and domain of each feature of `names` that has an entry, as JSON-ready values."""
    return {n: {"label": i.label, "unit": i.unit.value, "low": _bound(i.domain.low), "high": _bound(i.domain.high),
                "binary": i.domain.binary, "meaning": i.domain.meaning}
            for n in names if (i := REGISTRY.get(n)) is not None}


def _lines(entries: Mapping[str, Mapping[str, object]]) -> list[str]:
    return [f"{n}: {e['label']} | {e['unit']} | [{e['low']}, {e['high']}]{' 0/1' if e['binary'] else ''}"
            for n, e in entries.items()]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--features", type=Path, default=MODELS_DIR / FEATURES_FILE,
                        help="one feature a line (default: %(default)s)")
    parser.add_argument("--against", type=Path, help="a snapshot (JSON): print the differences only")
    parser.add_argument("--snapshot", type=Path, help="write the entries of the features to this JSON file")
    add_logging_options(parser)
    args = parser.parse_args(argv)
    setup_logging(verbose=args.verbose, quiet=args.quiet)
    names = [n for n in args.features.read_text(encoding="utf-8").splitlines() if n]
    current = snapshot(names)
    if args.snapshot:
        args.snapshot.write_text(json.dumps({"features": current}, ensure_ascii=False, indent=0), encoding="utf-8")
    if args.against:
        before = json.loads(args.against.read_text(encoding="utf-8"))["features"]
        diff = list(difflib.unified_diff(_lines({n: before[n] for n in names if n in before}),
                                         _lines({n: current[n] for n in names if n in current}),
                                         str(args.against), "registry", n=0, lineterm=""))
        print("\n".join(diff) if diff else f"no difference over {len(names)} features")
    elif not args.snapshot:
        print("\n".join(_lines(current)))
    missing = incomplete_entries(names)
    for name in missing:
        print(f"incomplete entry: {name}", file=sys.stderr)
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
