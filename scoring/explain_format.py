"""French text of feature values and contributions, for advisers: a decimal comma, thousands
separated by a narrow no-break space (U+202F, as `Intl.NumberFormat("fr-FR")` and CLDR write them;
never broken across lines), money in euros (`1 691 €`), days as years, months or days, shares as
percentages, never scientific notation.

Formatting is plain string work (about a microsecond a value), so the form can show every reason
without slowing the call; the JSON API keeps numbers and leaves text to its callers.
"""

from __future__ import annotations

import math

from scoring.feature_registry import feature_unit
from scoring.feature_specs import Unit
from scoring.schema import UNKNOWN_FR

NNBSP = "\u202f"  # narrow no-break space: thousands separator and before units (€, %, ans)
MINUS = "\u2212"
DAYS_PER_YEAR = 365.25
DAYS_PER_MONTH = DAYS_PER_YEAR / 12
# Kaggle's DAYS_EMPLOYED = 365243 (and its kin in previous applications) means "not applicable".
NOT_APPLICABLE_DAYS = 300_000


def fr_number(x: float, decimals: int | None = None, *, keep_zeros: bool = False) -> str:
    """`x` in French: `1 691`, `12,5`, `0,045`; `decimals` fixed, else by size (3 significant digits
    below 100, whole numbers above); trailing zeros dropped unless `keep_zeros`; never scientific notation."""
    if not math.isfinite(x):
        return UNKNOWN_FR if math.isnan(x) else ("+∞" if x > 0 else f"{MINUS}∞")
    if decimals is None:
        size = abs(x)
        decimals = 0 if size >= 100 or size == 0 else min(6, 2 - math.floor(math.log10(size)))
    text = f"{abs(x):,.{decimals}f}"
    if "." in text and not keep_zeros:
        text = text.rstrip("0").rstrip(".")
    if text.strip("0,.") == "":  # rounds to zero: no sign
        return text.replace(",", NNBSP).replace(".", ",")
    text = text.replace(",", NNBSP).replace(".", ",")
    return (MINUS if x < 0 else "") + text


def fr_money(x: float) -> str:
    """`1 691 €`: whole euros."""
    return f"{fr_number(round(x), 0)}{NNBSP}€"


def fr_percent(share: float) -> str:
    """A share (0.153) as `15,3 %` (one decimal at most)."""
    pct = 100 * share
    return f"{fr_number(pct, 0 if abs(pct) >= 100 else 1)}{NNBSP}%"


def _plural(n: float, one: str, many: str) -> str:
    return one if abs(n) < 2 else many  # French: 0,5 an, 1 an, 2 ans


def fr_days(days: float, *, whole_years: bool = False) -> str:
    """A span of days: `43 ans`, `3,5 ans`, `8 mois`, `12 jours`; `whole_years` floors the years (an age)."""
    span = abs(days)
    if span >= DAYS_PER_YEAR:
        years = span / DAYS_PER_YEAR
        years = math.floor(years) if whole_years else round(years, 1 if years < 10 else 0)
        return f"{fr_number(years)}{NNBSP}{_plural(years, 'an', 'ans')}"
    if span >= DAYS_PER_MONTH:
        months = round(span / DAYS_PER_MONTH)
        return f"{months}{NNBSP}mois"
    count = round(span, 1)
    return f"{fr_number(count)}{NNBSP}{_plural(count, 'jour', 'jours')}"


def fr_months(months: float) -> str:
    """A span of months: `24 mois`, `2,5 ans` from 24 months up."""
    span = abs(months)
    if span >= 24:
        return fr_days(span * DAYS_PER_MONTH)
    return f"{fr_number(round(span, 1))}{NNBSP}mois"


def fr_points(points: float) -> str:
    """Percentage points with their sign, one decimal (two below 0,1): `+2,9 points`, `−0,4 point`."""
    size = abs(points)
    decimals = 1 if size >= 0.095 else 2
    shown = round(size, decimals)
    if shown == 0:
        return f"0,0{NNBSP}point"
    sign = "+" if points > 0 else MINUS
    return f"{sign}{fr_number(shown, decimals, keep_zeros=True)}{NNBSP}{_plural(shown, 'point', 'points')}"


def format_value(name: str, value: float | None, *, binary: bool = False) -> str:
    """The value of feature `name` as an adviser reads it, by its unit in the feature registry
    (`DAYS_BIRTH` -14 100 → `38 ans`)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return UNKNOWN_FR
    if binary:
        return "oui" if value == 1 else "non"
    unit = feature_unit(name)
    if unit is Unit.PERCENT:
        return fr_percent(value)
    if unit is Unit.DAY_COUNT:
        count = round(value, 1)
        return f"{fr_number(count)}{NNBSP}{_plural(count, 'jour', 'jours')}"
    if unit in (Unit.DAYS, Unit.AGE):
        if abs(value) >= NOT_APPLICABLE_DAYS:
            return "sans objet"
        span = fr_days(value, whole_years=unit is Unit.AGE)
        return f"dans {span}" if value > 0 else span  # positive: after the application (a due date)
    if unit is Unit.MONTHS:
        return fr_months(value)
    if unit is Unit.MONTH_COUNT:
        return f"{fr_number(round(value, 1))}{NNBSP}mois"
    if unit is Unit.YEARS:
        years = round(value, 1)
        return f"{fr_number(years)}{NNBSP}{_plural(years, 'an', 'ans')}"
    if unit is Unit.MONEY:
        return fr_money(value)
    return fr_number(value)
