"""Write the seven tables as a partitioned Parquet dataset, co-partitioned by applicant.

Layout (what `cluster` reads):

    OUT/_partitioning.json            {"key": "SK_ID_CURR", "parts": N, "rule": "SK_ID_CURR % parts",
                                       "tables": {table: rows}, "source": {...}}
    OUT/part-00000/application_train.parquet, bureau.parquet, ...   (Kaggle names)
    OUT/part-00001/...

Every row of an applicant — and the bureau_balance rows of their bureau credits — lands in part
``SK_ID_CURR % N``, so the features of a part need nothing but that part: each part folder is
itself a data folder (`scoring.data.load_tables`, `python train.py --data-dir OUT/part-00003`).
A table present in the source has a file in every part (possibly with no rows); an absent one
has none, so "absent" (features NaN) and "no rows for these applicants" (counts 0) stay distinct.

Conversion reads one table at a time in this process (peak memory: the largest table); the
synthetic twin is generated in memory first (the full size needs about 6 GB here).

CLI: ``python -m scoring.partition --out DIR [--data-dir DIR | --applicants N --seed S] [--parts N]``.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from scoring import config, synthetic
from scoring.cli import add_logging_options, setup_logging
from scoring.data import DataError, Tables, find_table, read_table
from scoring.schema import (
    APPLICATION_TEST,
    APPLICATION_TRAIN,
    BUREAU,
    BUREAU_BALANCE,
    CHILD_TABLES,
    ID_COLUMN,
)
from scoring.tables import BUREAU_ID

log = logging.getLogger(__name__)

PARTITIONING_FILE = "_partitioning.json"
DEFAULT_PARTS = 16
# Extra column of the twin's application parts: the known default probability (for oracle_auc).
TRUE_PROBABILITY_COLUMN = "_TRUE_PROBABILITY"


def part_name(part: int) -> str:
    return f"part-{part:05d}"


def part_of(ids: np.ndarray, parts: int) -> np.ndarray:
    """The part of each applicant id: the rule every reader and writer of the layout shares."""
    return np.asarray(ids, dtype="int64") % parts


class _Writer:
    """Splits tables by part and writes them under `out`; remembers each bureau credit's part."""

    def __init__(self, out: Path, parts: int) -> None:
        self.out, self.parts = out, parts
        self.rows: dict[str, int] = {}
        self.bureau_parts: pd.Series | None = None  # SK_ID_BUREAU -> part
        for part in range(parts):
            (out / part_name(part)).mkdir(parents=True, exist_ok=True)

    def write(self, name: str, frame: pd.DataFrame) -> None:
        if name == BUREAU_BALANCE:
            if self.bureau_parts is None:
                raise DataError(f"{BUREAU_BALANCE} needs the {BUREAU} table (it links a credit to its applicant)")
            where = self.bureau_parts.reindex(frame[BUREAU_ID].to_numpy()).to_numpy()
            frame = frame.loc[~np.isnan(where)]  # credits unknown to bureau belong to no applicant
            where = where[~np.isnan(where)].astype("int64")
        else:
            where = part_of(frame[ID_COLUMN].to_numpy(), self.parts)
        if name == BUREAU:
            self.bureau_parts = pd.Series(where, index=frame[BUREAU_ID].to_numpy())
        order = np.argsort(where, kind="stable")
        bounds = np.searchsorted(where[order], np.arange(self.parts + 1))
        for part in range(self.parts):
            rows = frame.iloc[order[bounds[part]:bounds[part + 1]]]
            rows.to_parquet(self.out / part_name(part) / f"{name}.parquet", index=False)
        self.rows[name] = len(frame)

    def finish(self, source: dict) -> dict:
        doc = {"key": ID_COLUMN, "parts": self.parts, "rule": f"{ID_COLUMN} % parts", "tables": self.rows,
               "source": source}
        (self.out / PARTITIONING_FILE).write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
        return doc


def write_tables(tables: Tables, out: str | Path, parts: int = DEFAULT_PARTS, *, source: dict,
                 application: str = APPLICATION_TRAIN, test_application: pd.DataFrame | None = None,
                 progress: bool = False) -> dict:
    """Write in-memory tables as the layout; returns the `_partitioning.json` document."""
    from tqdm.auto import tqdm

    writer = _Writer(Path(out), parts)
    present = [(name if name != APPLICATION_TRAIN else application, frame)
               for name, frame in tables.items() if frame is not None]
    if test_application is not None:
        present.append((APPLICATION_TEST, test_application))
    for name, frame in tqdm(present, desc="partitioning", unit="table", file=sys.stderr, disable=not progress):
        writer.write(name, frame)
    return writer.finish(source)


def convert_dir(data_dir: str | Path, out: str | Path, parts: int = DEFAULT_PARTS, *,
                progress: bool = False) -> dict:
    """Convert the Kaggle files of `data_dir` (CSV, .csv.gz or Parquet), one table at a time."""
    from tqdm.auto import tqdm

    data_dir = Path(data_dir)
    names = [n for n in (APPLICATION_TRAIN, APPLICATION_TEST, *CHILD_TABLES) if find_table(data_dir, n)]
    if not names or names[0] not in (APPLICATION_TRAIN, APPLICATION_TEST):
        raise DataError(f"{data_dir}: no application_train or application_test file to partition")
    writer = _Writer(Path(out), parts)
    for name in tqdm(names, desc="partitioning", unit="table", file=sys.stderr, disable=not progress):
        writer.write(name, read_table(find_table(data_dir, name), name))
    return writer.finish({"kind": "kaggle", "data_dir": str(data_dir)})


def write_twin(out: str | Path, parts: int = DEFAULT_PARTS, *, applicants: int, seed: int,
               test_applicants: int = 0, progress: bool = False) -> dict:
    """Generate the synthetic twin and write it as the layout (with its true default probability)."""

    twin = synthetic.generate(applicants, seed, progress=progress, test_applicants=test_applicants)
    app = twin.tables.application
    app[TRUE_PROBABILITY_COLUMN] = twin.true_probability.to_numpy()
    source = {"kind": "synthetic", "applicants": applicants, "seed": seed}
    return write_tables(twin.tables, out, parts, source=source, test_application=twin.test_application,
                        progress=progress)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scoring.partition", description=__doc__.split("\n\n")[0],
                                     epilog="Without --data-dir, the synthetic twin is generated and written.")
    parser.add_argument("--out", type=Path, required=True, help="folder of the partitioned dataset")
    parser.add_argument("--data-dir", type=Path, default=None, help="folder of the Kaggle files to convert")
    parser.add_argument("--parts", type=int, default=DEFAULT_PARTS,
                        help="number of parts; a worker holds one part at a time (default %(default)s)")
    parser.add_argument("--applicants", type=int, default=config.DEFAULT_SYNTHETIC_APPLICANTS,
                        help="twin size without --data-dir (default %(default)s; Kaggle size 307511)")
    parser.add_argument("--test-applicants", type=int, default=0,
                        help="twin applicants of application_test, without TARGET (default %(default)s)")
    parser.add_argument("--seed", type=int, default=config.DEFAULT_SEED, help="twin seed (default %(default)s)")
    add_logging_options(parser, quiet_help="warnings and errors only, no progress bars")
    args = parser.parse_args(argv)
    setup_logging(verbose=args.verbose, quiet=args.quiet)
    if args.parts < 1:
        parser.error("--parts must be at least 1")
    if args.applicants < 1 or args.test_applicants < 0:
        parser.error("--applicants must be at least 1 and --test-applicants 0 or more")
    started = time.perf_counter()
    try:
        if args.data_dir is not None:
            doc = convert_dir(args.data_dir, args.out, args.parts, progress=not args.quiet)
        else:
            doc = write_twin(args.out, args.parts, applicants=args.applicants, seed=args.seed,
                             test_applicants=args.test_applicants, progress=not args.quiet)
    except (DataError, OSError) as exc:
        log.error("python -m scoring.partition: error: %s", exc)
        return 2
    rows = ", ".join(f"{name} {n:,}" for name, n in doc["tables"].items())
    print(f"{args.out}: {doc['parts']} parts by {ID_COLUMN} % {doc['parts']} ({rows}) "
          f"in {time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
