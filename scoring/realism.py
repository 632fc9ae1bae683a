"""How close the synthetic twin's application table is to a real extract, column by column (PSI).

`column_psi` bins a real column by its deciles (categorical: by category), missing values as one
more bin, and compares the twin with it using `scoring.stability.psi`. `quantile_table` computes the
marginals that `scoring.synthetic` maps some twin columns onto (`scoring/synthetic/marginals.json`, written by
`python -m scoring.realism --real DIR --write`): only per-column quantiles, no applicant's row.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from scoring import synthetic
from scoring.cli import add_logging_options, setup_logging
from scoring.data import read_application_file
from scoring.stability import psi
from scoring.synthetic.marginals import MARGINALS_FILE, real_quantiles, write_marginals

PSI_LIMIT = 0.1
QUANTILE_LEVELS = 200
# Never mapped: their values carry structure (the 365243 sentinel of pensioners, the age that
# bounds every other DAYS_ column) that a rank map would break.
STRUCTURAL = ("DAYS_EMPLOYED", "DAYS_BIRTH")  # the twin's values are mapped onto this many real quantiles (0.5 % each)


def column_psi(real: pd.Series, twin: pd.Series, bins: int = 10) -> float:
    """PSI of a twin column against the real one: real deciles (or categories) plus a missing bin."""
    if real.dtype.kind not in "biuf":
        r, t = real.astype(object).fillna("<NA>"), twin.astype(object).fillna("<NA>")
        cats = sorted(set(r) | set(t), key=str)
        return psi(r.value_counts().reindex(cats, fill_value=0).to_numpy(),
                   t.value_counts().reindex(cats, fill_value=0).to_numpy())
    rv, tv = real.to_numpy(dtype=float), twin.to_numpy(dtype=float)
    present = rv[~np.isnan(rv)]
    edges = np.unique(np.quantile(present, np.linspace(0, 1, bins + 1)[1:-1])) if present.size else np.array([])

    def shares(values: np.ndarray) -> np.ndarray:
        ok = values[~np.isnan(values)]
        counts = np.bincount(np.searchsorted(edges, ok, side="right"), minlength=edges.size + 1)
        return np.append(counts, np.isnan(values).sum())

    return psi(shares(rv), shares(tv))


def psi_by_column(real: pd.DataFrame, twin: pd.DataFrame) -> pd.Series:
    """PSI of every shared column but the keys, largest first."""
    columns = [c for c in real.columns if c in twin.columns and not c.startswith("SK_ID")]
    return pd.Series({c: column_psi(real[c], twin[c]) for c in columns}).sort_values(ascending=False)


def quantile_table(real: pd.DataFrame, columns: list[str]) -> dict[str, list[float]]:
    """Mid-level quantiles of each column's present values (actual values: heaps stay heaps)."""
    levels = (np.arange(QUANTILE_LEVELS) + 0.5) / QUANTILE_LEVELS
    return {c: [float(v) for v in np.quantile(real[c].dropna().to_numpy(dtype=float), levels, method="inverted_cdf")]
            for c in columns}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--real", type=Path, required=True, help="application_train file of a real extract")
    parser.add_argument("--applicants", type=int, default=20_000, help="twin size (default: %(default)s)")
    parser.add_argument("--write", action="store_true",
                        help=f"write the quantiles of the columns over {PSI_LIMIT} (raw twin) to {MARGINALS_FILE.name}")
    add_logging_options(parser)
    args = parser.parse_args(argv)
    setup_logging(verbose=args.verbose, quiet=args.quiet)
    real = read_application_file(args.real)
    twin = synthetic.generate(args.applicants, 42, progress=False).tables.application
    table = psi_by_column(real, twin)
    print(table.head(30).round(4).to_string())
    print(f"{(table >= PSI_LIMIT).sum()} of {table.size} columns at or over {PSI_LIMIT}")
    if args.write:
        building = ("_AVG", "_MODE", "_MEDI")  # heaped on a few values, many missing: all mapped
        numeric = [c for c in table.index
                   if real[c].dtype.kind in "biuf" and (table[c] >= 0.04 or c.endswith(building))]
        columns = sorted((set(numeric) | set(real_quantiles())) - set(STRUCTURAL))
        write_marginals(quantile_table(real, columns))
        print(f"wrote {len(columns)} columns to {MARGINALS_FILE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
