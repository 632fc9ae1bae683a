"""The feature store's embedded database: SQLite (standard library, several page sizes) against DuckDB, on
the same rows: build time, file size, open time and in-process point look-ups (id -> `Dossier`: the
float32 row, the raw application fields, the facts), p50 / p99.

usage: python benchmarks/bench_store.py [--quick] [--applicants N | --data-dir DIR] [--lookups N] [--variants P:C,...]

Default: the synthetic twin at the Kaggle size (307,511 training applicants + 200 application_test ones),
generated in memory; run it under `flock /tmp/heavy.lock` (~6 GB of RAM). --data-dir reads Kaggle-named
tables instead (e.g. written by `python -m scoring.synthetic --applicants 307511 --out DIR`).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scoring import config  # noqa: E402
from scoring.features import align_features, build_features  # noqa: E402
from scoring.schema import FEATURES_FILE, ID_COLUMN  # noqa: E402
from scoring.store import FeatureStore  # noqa: E402
from scoring.store_build import CODEC, PAGE_SIZE, build_store, kaggle_tables, twin_tables  # noqa: E402

KAGGLE_APPLICANTS = 307_511
# SQLite variants: page size in bytes and codec of the stored values (the product's: PAGE_SIZE, CODEC).
SQLITE_VARIANTS = "4096:zlib,16384:zlib,16384:none"


def _percentiles(seconds: np.ndarray) -> tuple[float, float, float]:
    micro = seconds * 1e6
    return float(np.percentile(micro, 50)), float(np.percentile(micro, 99)), float(micro.mean())


def _time_lookups(lookup, ids: np.ndarray) -> np.ndarray:
    for sk_id in ids[:200]:  # warm-up: the pages of a first pass are then in the OS cache, as in a live app
        lookup(int(sk_id))
    times = np.empty(len(ids))
    for i, sk_id in enumerate(ids):
        started = time.perf_counter()
        found = lookup(int(sk_id))
        times[i] = time.perf_counter() - started
        assert found is not None and found.sk_id_curr == sk_id
    return times


def bench_sqlite(tables, frame, features, path: Path, ids: np.ndarray, page_size: int, codec: str) -> dict:
    started = time.perf_counter()
    build_store(tables, frame, features, "bench", path, progress=False, page_size=page_size, codec=codec)
    build = time.perf_counter() - started
    started = time.perf_counter()
    store = FeatureStore.open(path, features=features, model_version="bench")
    opened = time.perf_counter() - started
    times = _time_lookups(store.lookup, ids)
    what_if = np.empty(min(200, len(ids)))
    for i, sk_id in enumerate(ids[:len(what_if)]):
        dossier = store.lookup(int(sk_id))
        started = time.perf_counter()
        store.what_if(dossier, {"AMT_CREDIT": dossier.raw["AMT_CREDIT"] * 1.1, "AMT_ANNUITY": 20_000.0})
        what_if[i] = time.perf_counter() - started
    store.close()
    return {"build": build, "size": path.stat().st_size, "open": opened, "times": times, "what_if": what_if}


def bench_duckdb(tables, frame, features, path: Path, ids: np.ndarray, reader: FeatureStore) -> dict:
    """The same rows in DuckDB (BIGINT PRIMARY KEY, BLOB, VARCHAR: it compresses them itself), decoded by the
    same `FeatureStore.decode` (of a store without codec)."""
    import duckdb

    started = time.perf_counter()
    app = tables.application
    matrix = align_features(frame, features).reindex(app[ID_COLUMN].to_numpy()).to_numpy(dtype=np.float32)
    raw = app[reader.raw_columns].astype(object).where(app[reader.raw_columns].notna(), None).to_numpy().tolist()
    rows = pd.DataFrame({"sk_id_curr": app[ID_COLUMN].to_numpy(dtype="int64"),
                         "row": [r.tobytes() for r in matrix],
                         "raw": [json.dumps(v, separators=(",", ":")) for v in raw]}).sort_values("sk_id_curr")
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE applicants (sk_id_curr BIGINT PRIMARY KEY, row BLOB NOT NULL, raw VARCHAR NOT NULL)")
    con.register("new_rows", rows)
    con.execute("INSERT INTO applicants SELECT sk_id_curr, row, raw FROM new_rows")
    con.close()
    build = time.perf_counter() - started
    started = time.perf_counter()
    con = duckdb.connect(str(path), read_only=True)
    opened = time.perf_counter() - started

    def lookup(sk_id: int):
        found = con.execute("SELECT row, raw FROM applicants WHERE sk_id_curr = ?", [sk_id]).fetchone()
        return None if found is None else reader.decode(sk_id, *found)

    times = _time_lookups(lookup, ids)
    con.close()
    return {"build": build, "size": path.stat().st_size, "open": opened, "times": times}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="5,000 applicants and 2,000 look-ups")
    parser.add_argument("--applicants", type=int, default=None,
                        help=f"twin training applicants (default {KAGGLE_APPLICANTS}, the Kaggle size)")
    parser.add_argument("--data-dir", type=Path, help="Kaggle-named tables instead of the in-memory twin")
    parser.add_argument("--lookups", type=int, default=None, help="timed look-ups per engine (default 20,000)")
    parser.add_argument("--dir", type=Path, default=None, help="where the store files are written (default: a "
                                                               "temporary folder)")
    parser.add_argument("--engines", default="sqlite,duckdb", help="comma-separated: sqlite, duckdb")
    parser.add_argument("--variants", default=SQLITE_VARIANTS,
                        help="SQLite PAGE:CODEC variants, comma-separated (default %(default)s)")
    args = parser.parse_args(argv)
    applicants = args.applicants or (5_000 if args.quick else KAGGLE_APPLICANTS)
    lookups = args.lookups or (2_000 if args.quick else 20_000)
    engines = {e.strip() for e in args.engines.split(",")}
    features = [line for line in (config.MODELS_DIR / FEATURES_FILE).read_text().splitlines() if line]

    started = time.perf_counter()
    if args.data_dir:
        tables, source = kaggle_tables(args.data_dir, progress=False), f"tables of {args.data_dir}"
    else:
        tables = twin_tables(applicants, config.DEFAULT_SEED, progress=False)
        source = f"twin, seed {config.DEFAULT_SEED}"
    loaded = time.perf_counter() - started
    started = time.perf_counter()
    frame = build_features(tables, progress=False)
    featured = time.perf_counter() - started
    n = len(tables.application)
    ids = np.random.default_rng(0).choice(tables.application[ID_COLUMN].to_numpy(), size=lookups)

    results: dict[str, dict] = {}
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        folder = Path(tmp)
        if "sqlite" in engines:
            for variant in args.variants.split(","):
                page, codec = variant.split(":")
                chosen = " (chosen)" if (int(page), codec) == (PAGE_SIZE, CODEC) else ""
                name = f"SQLite, {int(page) // 1024} KB pages, {codec}{chosen}"
                path = folder / f"store-{page}-{codec}.sqlite"
                results[name] = bench_sqlite(tables, frame, features, path, ids, int(page), codec)
                path.unlink()
        if "duckdb" in engines and importlib.util.find_spec("duckdb") is None:
            print("DuckDB not installed (pip install -r requirements-dev.txt): its row is left out\n")
        elif "duckdb" in engines:
            plain = folder / "plain.sqlite"  # its raw column names and decoding, without codec
            build_store(tables.restrict(ids[:1]), frame, features, "bench", plain, progress=False, codec="none")
            with FeatureStore.open(plain) as reader:
                results["DuckDB"] = bench_duckdb(tables, frame, features, folder / "store.duckdb", ids, reader)

    print(f"{n:,} applicants ({source}), {len(features)} features; tables in {loaded:.1f} s, "
          f"build_features in {featured:.1f} s; {lookups:,} look-ups of random known ids per engine, in process, "
          f"after 200 warm-up look-ups; peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6:.1f} GB\n")
    print("| engine | write (s) | file (MB) | bytes / applicant | open (ms) | look-up p50 (µs) | p99 (µs) "
          "| mean (µs) |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for name, r in results.items():
        p50, p99, mean = _percentiles(r["times"])
        print(f"| {name} | {r['build']:.1f} | {r['size'] / 1e6:.1f} | {r['size'] / n:,.0f} | {r['open'] * 1e3:.1f} | "
              f"{p50:.0f} | {p99:.0f} | {mean:.0f} |")
    what_if = [r["what_if"] for r in results.values() if "what_if" in r]
    if what_if:
        p50, p99, _ = _percentiles(np.concatenate(what_if))
        print(f"\nwhat-if (new amounts: the application features recomputed), SQLite stores: p50 {p50 / 1e3:.1f} ms, "
              f"p99 {p99 / 1e3:.1f} ms")
    print("\nwrite: the store file from the features already computed (add build_features for a full build).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
