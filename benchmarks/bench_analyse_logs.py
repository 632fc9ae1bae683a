"""Time and peak memory of `analyse_logs.py` on a large prediction log (1,000,000 lines; --quick: 100,000).

usage: python benchmarks/bench_analyse_logs.py [--quick] [--lines N] [--repeats R]

The log is simulated traffic (`monitoring.simulate`, with slow calls, CPU spikes and bad requests)
plus a corrupt line every 100,000, written to a temporary folder with a stand-in model folder
(`monitoring.demo`). Every variant runs in a fresh process; peak memory is that process's maximum
resident set size (`wait4`). Compared in the same run:

- analyse_logs.py            the CLI as cron would run it (console report + --json)
- analyse_logs.py --html     plus the HTML page with its plots
- reader, pyarrow blocks     read_log alone (the default fast path)
- reader, line by line       read_log with the pyarrow path disabled (the fallback's cost)
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scoring.config import DEFAULT_LOG_PATH  # noqa: E402
from scoring.schema import REFERENCE_FILE  # noqa: E402

BASE_LINES = 100_000
READER = "import sys; from monitoring.reader import read_log; d = read_log(sys.argv[1]); print(d.n, d.corrupt_lines)"
SLOW_READER = ("import sys; import monitoring.parse_arrow as a, monitoring.reader as r; a.USE_PYARROW = False; "
               "d = r.read_log(sys.argv[1]); print(d.n, d.corrupt_lines)")


def make_log(folder: Path, lines: int) -> tuple[Path, Path]:
    """A stand-in model folder and a log of `lines` lines (a simulated block repeated, times shifted).

    Runs in its own process (`--make-log`): this parent stays small, because a child's peak memory
    (`ru_maxrss`) starts from its parent's at fork.
    """
    from monitoring.demo import THRESHOLD, write_model_dir
    from monitoring.traffic import Incidents, generate, write_log

    model_dir = write_model_dir(folder / "model")
    base = folder / "base.log"
    start = datetime(2026, 11, 1, tzinfo=UTC)
    span = timedelta(hours=12)
    reference = json.loads((model_dir / REFERENCE_FILE).read_text())
    incidents = Incidents(slow_calls=20, cpu_spikes=2, error_rate=0.01)
    write_log(base, generate(reference, min(lines, BASE_LINES), seed=1, threshold=THRESHOLD, incidents=incidents,
                             start=start, span=span).records, append=False)
    block = base.read_text(encoding="utf-8").splitlines()
    log = folder / DEFAULT_LOG_PATH.name
    written = 0
    with open(log, "w", encoding="utf-8") as out:
        copy = 0
        while written < lines:
            shift = copy * span
            for line in block[: lines - written]:
                stamp = datetime.fromisoformat(line[14:46]) + shift  # {"timestamp":"<32 characters>"
                out.write(f'{{"timestamp":"{stamp.isoformat(timespec="microseconds")}"{line[47:]}\n')
            written += min(len(block), lines - written)
            out.write('{"timestamp": "2026-11-01T00:00:00+00:00", "input": {"EXT_SO\n')  # a truncated write
            written += 1
            copy += 1
    return model_dir, log


def measure(args: list[str]) -> tuple[float, float, float]:
    """(wall seconds, CPU seconds, peak RSS in MB) of `python *args` in a fresh process.

    CPU time (user + system) is reported beside wall time because this machine's two cores are
    shared: wall time grows with other people's load, CPU time much less.
    """
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, *args], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode not in (0, 1):
        raise RuntimeError(f"{args[0]} failed ({proc.returncode}): {proc.stderr.read().decode()[-2000:]}")
    proc.stderr.close()
    return seconds, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100,000 lines instead of 1,000,000")
    parser.add_argument("--lines", type=int, help="number of log lines (overrides --quick)")
    parser.add_argument("--repeats", type=int, default=3, help="runs per variant (median reported)")
    parser.add_argument("--make-log", type=Path, metavar="DIR", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    lines = args.lines or (100_000 if args.quick else 1_000_000)
    if args.make_log:
        make_log(args.make_log, lines)
        return 0
    with tempfile.TemporaryDirectory(prefix="bench_analyse_logs_") as tmp:
        folder = Path(tmp)
        t0 = time.perf_counter()
        print(f"writing a log of {lines:,} lines ...", file=sys.stderr, flush=True)
        subprocess.run([sys.executable, __file__, "--make-log", str(folder), "--lines", str(lines)], check=True)
        model_dir, log = folder / "model", folder / DEFAULT_LOG_PATH.name
        size_mb = log.stat().st_size / 1e6
        print(f"  {size_mb:.0f} MB in {time.perf_counter() - t0:.0f} s", file=sys.stderr, flush=True)
        cli = ["analyse_logs.py", "--log", str(log), "--model-dir", str(model_dir), "--json", str(folder / "r.json")]
        variants = [
            ("analyse_logs.py --json", cli, args.repeats),
            ("analyse_logs.py --json --html", [*cli, "--html", str(folder / "r.html")], 1),
            ("reader, pyarrow blocks", ["-c", READER, str(log)], args.repeats),
            ("reader, line by line", ["-c", SLOW_READER, str(log)], 1),
        ]
        rows = []
        for name, command, repeats in variants:
            runs = []
            for i in range(repeats):
                print(f"  {name} run {i + 1}/{repeats} ...", file=sys.stderr, flush=True)
                runs.append(measure(command))
            rows.append((name, repeats, statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs),
                         max(r[2] for r in runs)))
    base = rows[0][3]
    print(f"\nanalyse_logs on {lines:,} log lines ({size_mb:.0f} MB), python {sys.version.split()[0]}, "
          f"{os.cpu_count()} CPUs; goal: under 10 s and 2 GB\n")
    print("| variant | runs | median wall time (s) | median CPU time (s) | peak memory (MB) | CPU time vs first |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, repeats, wall, cpu, peak in rows:
        print(f"| {name} | {repeats} | {wall:.2f} | {cpu:.2f} | {peak:.0f} | {cpu / base:.2f}x |")
    print(f"\nsystem load average while measuring: {os.getloadavg()[0]:.1f} (2 cores shared with other work)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
