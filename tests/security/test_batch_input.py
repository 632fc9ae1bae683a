"""inference.py on hostile files (issue 19, item 7): bounded line length, truncated archives and bad
bytes named with the right line, no output left looking complete after a failure, short rows refused."""

from __future__ import annotations

import gzip
import subprocess
import sys
from pathlib import Path

import pytest

from scoring.artifacts import load_artifacts
from scoring.config import MODELS_DIR, PROJECT_ROOT

FEATURES = [line for line in (MODELS_DIR / "features.txt").read_text().splitlines() if line]
# A possible applicant: the model's template of training medians (zeros break domain rules, e.g. a
# region rating is 1 to 3, and the batch refuses such rows like every other door)
TEMPLATE = ",".join(str(int(x)) if float(x).is_integer() else repr(float(x))
                    for x in load_artifacts(MODELS_DIR).template_row())


def _row(i: int) -> str:
    return f"{100_000 + i},{TEMPLATE}"


def _features_csv(rows: int = 50) -> bytes:
    header = ",".join(f'"{name}"' if "," in name else name for name in ["SK_ID_CURR", *FEATURES])
    return ("\n".join([header, *(_row(i) for i in range(rows))]) + "\n").encode()


def run(args: list[str], cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(PROJECT_ROOT / "inference.py"), "--quiet", "--model-dir",
                           str(MODELS_DIR), *args], cwd=cwd, capture_output=True, text=True, timeout=timeout)


def _refused(done: subprocess.CompletedProcess, *words: str) -> None:
    assert done.returncode == 2, (done.returncode, done.stderr[-2000:])
    assert "Traceback" not in done.stderr, done.stderr[-3000:]
    for word in words:
        assert word in done.stderr, (word, done.stderr[-2000:])


def test_an_endless_line_is_refused_quickly(tmp_path: Path) -> None:
    done = run(["--input", "/dev/zero", "--output", str(tmp_path / "s.csv")], tmp_path, timeout=60)
    _refused(done, "line 1 is longer than")
    assert not list(tmp_path.iterdir())


def test_a_one_megabyte_header_is_refused_without_a_traceback(tmp_path: Path) -> None:
    (tmp_path / "big.csv").write_text("A" * 1_000_000 + "\n1\n")
    _refused(run(["--input", "big.csv", "--output", "s.csv"], tmp_path), "line 1")


def test_a_long_line_after_the_header_is_named(tmp_path: Path) -> None:
    body = _features_csv(5) + b"9" * (2 << 20) + b"\n"
    (tmp_path / "long.csv").write_bytes(body)
    _refused(run(["--input", "long.csv", "--output", "s.csv"], tmp_path), "line 7 is longer than")
    assert not (tmp_path / "s.csv").exists()


def test_a_truncated_archive_is_named_and_leaves_no_output(tmp_path: Path) -> None:
    whole = gzip.compress(_features_csv(3000))
    (tmp_path / "cut.csv.gz").write_bytes(whole[: len(whole) // 2])
    (tmp_path / "s.csv").write_text("SK_ID_CURR,score\n1,0.5\n")  # an earlier run's output
    _refused(run(["--input", "cut.csv.gz", "--output", "s.csv"], tmp_path), "truncated")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cut.csv.gz"]  # nothing that looks done


@pytest.mark.parametrize("line", [2, 4, 40])
def test_a_bad_byte_is_named_with_its_line(tmp_path: Path, line: int) -> None:
    lines = _features_csv(50).split(b"\n")
    lines[line - 1] = lines[line - 1].replace(b",0,", b",\xff,", 1)
    (tmp_path / "bad.csv").write_bytes(b"\n".join(lines))
    _refused(run(["--input", "bad.csv", "--output", "s.csv"], tmp_path), f"at line {line} (not UTF-8")
    assert not (tmp_path / "s.csv").exists()


def test_a_short_row_is_refused_with_its_line(tmp_path: Path) -> None:
    lines = _features_csv(20).decode().split("\n")
    lines[5] = ",".join(lines[5].split(",")[:10])  # line 6: 10 fields of 390
    (tmp_path / "short.csv").write_text("\n".join(lines))
    done = run(["--input", "short.csv", "--output", "s.csv"], tmp_path)
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr[-2000:]
    errors = (tmp_path / "s.errors.csv").read_text()
    assert "6," in errors and "fields" in errors
    assert len((tmp_path / "s.csv").read_text().splitlines()) == 20  # header + the 19 whole rows
