"""The real marginals the twin maps some application columns onto: per-column quantiles only (no
applicant's row), kept as data in `marginals.json` beside this module and written by
`python -m scoring.realism --real .../application_train.csv.gz --write`."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

MARGINALS_FILE = Path(__file__).with_name("marginals.json")
ABOUT = ("Real marginals the twin maps some application columns onto (per-column quantiles only). Written by "
         "`python -m scoring.realism --real .../application_train.csv.gz --write`.")


@cache
def real_quantiles() -> dict[str, list[float]]:
    """{column: its real quantiles, ascending}, read once."""
    return json.loads(MARGINALS_FILE.read_text(encoding="utf-8"))["quantiles"]


def write_marginals(quantiles: dict[str, list[float]], path: Path = MARGINALS_FILE) -> None:
    """Write the quantiles (one column a line, floats exactly as Python reads them back)."""
    lines = ",\n".join(f"  {json.dumps(column)}: {json.dumps([float(v) for v in values])}"
                       for column, values in sorted(quantiles.items()))
    path.write_text(f'{{\n "about": {json.dumps(ABOUT)},\n "quantiles": {{\n{lines}\n }}\n}}\n', encoding="utf-8")
    real_quantiles.cache_clear()
