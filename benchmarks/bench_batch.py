"""Batch scoring (`inference.py`) end to end against bare readers of the same file; peak memory.

usage: python benchmarks/bench_batch.py [--quick] [--rows N] [--raw] [--raw-applicants N] [--keep DIR]

The features file is the twin's: 20,000 synthetic applicants featurised (`build_features`), written
by pandas as a user's features CSV would be (about 2.2 KB a row), and repeated with fresh
SK_ID_CURR up to --rows rows (1,000,000; --quick 100,000); the same rows as Parquet in 100,000-row
groups. Every measure runs in its own process (`python inference.py ...` itself for the end-to-end
ones); "peak RSS" is that process's maximum resident set (wait4). The bare readers only parse
(numbers as float64) and drop each batch; the ratio is the end-to-end rate over the fastest bare
reader's on the same file. With --raw, the raw-tables path too: the twin's seven tables at the
full Kaggle size (307,511 applicants; child tables as Parquet, applicants as CSV) scored by
`inference.py --input application_train.csv --data-dir DIR`; generating them needs about 8 GB:
run under `flock /tmp/heavy.lock`.
"""

from __future__ import annotations

import argparse
import atexit
import os
import runpy
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

FULL_SIZE = 307_511
BASE_APPLICANTS = 20_000
ROW_GROUP = 100_000


def make_features_csv(path: Path, rows: int, seed: int = 3) -> None:
    from scoring import config, features, synthetic
    from scoring.schema import ID_COLUMN
    from serving.predictor import Predictor

    twin = synthetic.generate(BASE_APPLICANTS, seed=seed, progress=False)
    frame = features.align_features(features.build_features(twin.tables, progress=False),
                                    Predictor.from_dir(config.model_dir()).features)
    header, _, body = frame.reset_index(drop=True).to_csv(index=False).partition("\n")
    lines = body.splitlines()
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(f"{ID_COLUMN},{header}\n")
        for start in range(0, rows, len(lines)):
            count = min(len(lines), rows - start)
            fh.write("".join(f"{100_000 + start + i},{line}\n" for i, line in enumerate(lines[:count])))


def csv_to_parquet(csv_path: Path, parquet_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    reader = pacsv.open_csv(csv_path, read_options=pacsv.ReadOptions(block_size=64 << 20))
    with pq.ParquetWriter(parquet_path, reader.schema) as writer:
        pending = []
        for batch in reader:
            pending.append(batch)
            if sum(b.num_rows for b in pending) >= ROW_GROUP:
                table = pa.Table.from_batches(pending)
                writer.write_table(table.slice(0, ROW_GROUP), row_group_size=ROW_GROUP)
                pending = table.slice(ROW_GROUP).to_batches()
        if pending:
            writer.write_table(pa.Table.from_batches(pending), row_group_size=ROW_GROUP)


def make_raw_tables(out: Path, applicants: int) -> None:
    from scoring import synthetic

    twin = synthetic.generate(applicants, seed=11, progress=True)
    for name, frame in twin.tables.items():
        if name.startswith("application"):
            frame.to_csv(out / f"{name}.csv", index=False)
        else:
            frame.to_parquet(out / f"{name}.parquet", index=False)


# --- bare readers (run in a child process: `bench_batch.py --reader NAME FILE`) -------------------


def _float_types(path: Path) -> dict:
    import pyarrow as pa

    from serving.batch_read import read_header

    return {c: pa.float64() for c in read_header(path)}


def read_bare(name: str, path: Path) -> int:
    """Parse the whole file and drop it, batch by batch; the rows read."""
    if name == "pyarrow open_csv":
        import pyarrow.csv as pacsv

        reader = pacsv.open_csv(path, convert_options=pacsv.ConvertOptions(column_types=_float_types(path)))
        return sum(batch.num_rows for batch in reader)
    if name == "pyarrow blocks (batch reader alone)":
        from serving.batch_read import read_chunks, read_header

        names = read_header(path)
        return sum(c.table.num_rows for c in read_chunks(path, names, names, _float_types(path), 20_000))
    if name == "pandas read_csv (C)":
        import pandas as pd

        return sum(len(c) for c in pd.read_csv(path, dtype="float64", chunksize=20_000))
    if name == "polars scan_csv":
        import polars as pl

        schema = {c: pl.Float64 for c in _float_types(path)}
        return sum(len(df) for df in pl.scan_csv(path, schema_overrides=schema).collect_batches(chunk_size=20_000))
    if name == "pyarrow iter_batches":
        import pyarrow.parquet as pq

        return sum(b.num_rows for b in pq.ParquetFile(path).iter_batches(batch_size=20_000))
    raise ValueError(name)


def csv_readers() -> list[str]:
    names = ["pyarrow open_csv", "pyarrow blocks (batch reader alone)", "pandas read_csv (C)"]
    try:
        import polars  # noqa: F401
    except ImportError:
        return names
    return [*names, "polars scan_csv"]


PEAK_FILE_ENV = "BENCH_BATCH_PEAK_FILE"


def _record_peak() -> None:
    """Write this process's peak resident set (VmHWM, MB) where the parent asked."""
    target = os.environ.get(PEAK_FILE_ENV)
    if target:
        status = Path("/proc/self/status").read_text()
        kb = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM:"))
        Path(target).write_text(str(kb / 1024))


def measure_child(args: list[str]) -> tuple[float, float, str]:
    """(seconds, peak RSS in MB, stdout) of `python bench_batch.py ARGS` in a child process.

    The child reports its own VmHWM: the parent's rusage would carry the parent's peak over
    fork + exec.
    """
    with tempfile.NamedTemporaryFile(suffix=".peak") as peak:
        start = time.perf_counter()
        proc = subprocess.run([sys.executable, __file__, *args], cwd=ROOT, capture_output=True, text=True,
                              env={**os.environ, PEAK_FILE_ENV: peak.name})
        elapsed = time.perf_counter() - start
        if proc.returncode not in (0, 1):
            raise SystemExit(f"failed ({proc.returncode}): {' '.join(args)}\n{proc.stderr[-2000:]}")
        return elapsed, float(Path(peak.name).read_text() or "nan"), proc.stdout


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100,000 rows instead of 1,000,000; no raw path")
    parser.add_argument("--rows", type=int, help="rows of the features file")
    parser.add_argument("--raw", action="store_true", help="also the raw-tables path at --raw-applicants")
    parser.add_argument("--raw-applicants", type=int, default=FULL_SIZE, help="default: the Kaggle size")
    parser.add_argument("--keep", type=Path, help="write the files here (and reuse them) instead of a temp dir")
    parser.add_argument("--reader", nargs=2, metavar=("NAME", "FILE"), help=argparse.SUPPRESS)
    parser.add_argument("--make-raw", nargs=2, metavar=("DIR", "N"), help=argparse.SUPPRESS)
    parser.add_argument("--run", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    atexit.register(_record_peak)
    if args.run:
        sys.argv = args.run
        runpy.run_path(str(ROOT / args.run[0]), run_name="__main__")
        return 0
    if args.reader:
        rows = read_bare(args.reader[0], Path(args.reader[1]))
        print(rows)
        return 0
    if args.make_raw:
        make_raw_tables(Path(args.make_raw[0]), int(args.make_raw[1]))
        return 0
    rows = args.rows or (100_000 if args.quick else 1_000_000)
    with tempfile.TemporaryDirectory(prefix="bench_batch_") as tmp:
        work = args.keep or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        run(work, rows, raw=args.raw and not args.quick, raw_applicants=args.raw_applicants)
    return 0


def _row(what: str, rows: int, seconds: float, rss: float, reference: float | None) -> str:
    rate = rows / seconds
    ratio = f"{rate / reference:.2f}" if reference else ""
    return f"| {what} | {rows:,} | {seconds:.1f} | {rate:,.0f} | {rss:,.0f} | {ratio} |"


def run(work: Path, rows: int, *, raw: bool, raw_applicants: int) -> None:
    csv_path, parquet_path = work / f"features_{rows}.csv", work / f"features_{rows}.parquet"
    if not csv_path.exists():
        print(f"writing {csv_path} ...", file=sys.stderr)
        make_features_csv(csv_path, rows)
    if not parquet_path.exists():
        csv_to_parquet(csv_path, parquet_path)
    size_mb = csv_path.stat().st_size / 1e6
    print(f"\nFeatures file: {rows:,} rows x 390 columns, CSV {size_mb:,.0f} MB, Parquet "
          f"{parquet_path.stat().st_size / 1e6:,.0f} MB ({ROW_GROUP:,}-row groups); {os.cpu_count()} CPUs, "
          f"load average {os.getloadavg()[0]:.1f} at start\n")
    print("| path | rows | seconds | rows/s | peak RSS (MB) | end-to-end / fastest bare reader |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for fmt, path, readers in (("CSV", csv_path, csv_readers()), ("Parquet", parquet_path, ["pyarrow iter_batches"])):
        bare = []
        for name in readers:
            seconds, rss, _ = measure_child(["--reader", name, str(path)])
            bare.append((rows / seconds, name, seconds, rss))
        best = max(bare)[0]
        out = work / f"scores_{fmt.lower()}.csv"
        seconds, rss, _ = measure_child(["--run", "inference.py", "--input", str(path), "--output", str(out),
                                         "--quiet"])
        print(_row(f"**inference.py, features {fmt}**", rows, seconds, rss, best))
        for _rate, name, secs, rss_bare in sorted(bare, reverse=True):
            print(_row(f"bare parse: {name}", rows, secs, rss_bare, None))
    print(f"\nload average at the end: {os.getloadavg()[0]:.1f} (2 cores shared: rates fall with it; "
          "compare rows in the same run)")
    if raw:
        raw_dir = work / f"raw_{raw_applicants}"
        raw_dir.mkdir(exist_ok=True)
        if not (raw_dir / "application_train.csv").exists():
            seconds, rss, _ = measure_child(["--make-raw", str(raw_dir), str(raw_applicants)])
            print(f"\ntwin of {raw_applicants:,} applicants generated in {seconds:.0f} s (peak RSS {rss:,.0f} MB)")
        seconds, rss, out = measure_child(["--run", "inference.py", "--input", str(raw_dir / "application_train.csv"),
                                           "--data-dir", str(raw_dir), "--output", str(work / "scores_raw.csv"),
                                           "--quiet"])
        print("\n| raw-tables path | applicants | seconds | applicants/s | peak RSS (MB) |")
        print("| --- | ---: | ---: | ---: | ---: |")
        print(f"| inference.py, application + 6 child tables | {raw_applicants:,} | {seconds:.0f} | "
              f"{raw_applicants / seconds:,.0f} | {rss:,.0f} |")
        print(f"\n{out.strip()}")


if __name__ == "__main__":
    sys.exit(main())
