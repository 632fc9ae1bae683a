"""train.py refuses a short row instead of training on it (issue 19, item 7)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from scoring.config import PROJECT_ROOT
from scoring.data import DataError, read_application_file


@pytest.fixture(scope="module")
def tables(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("twin")
    subprocess.run([sys.executable, "-m", "scoring.synthetic", "--out", str(out), "--applicants", "300", "--seed", "3"],
                   cwd=PROJECT_ROOT, check=True, capture_output=True, timeout=300)
    return out


def _shorten(path: Path, line: int, keep: int) -> None:
    lines = path.read_text(encoding="utf-8").split("\n")
    lines[line - 1] = ",".join(lines[line - 1].split(",")[:keep])
    path.write_text("\n".join(lines), encoding="utf-8")


def test_a_short_application_row_is_refused_with_its_line(tables: Path, tmp_path: Path) -> None:
    app = next(tables.glob("application_train.csv*"))
    copy = tmp_path / "application_train.csv"
    copy.write_bytes(app.read_bytes())
    assert len(read_application_file(copy, require_target=True)) == 300
    _shorten(copy, 5, 10)
    with pytest.raises(DataError, match=r"line 5 has 10 fields"):
        read_application_file(copy, require_target=True)


def test_train_py_stops_on_a_short_row_without_a_traceback(tables: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    for f in tables.iterdir():
        (data / f.name).write_bytes(f.read_bytes())
    _shorten(data / "application_train.csv", 7, 10)
    done = subprocess.run([sys.executable, "train.py", "--data-dir", str(data), "--model-dir", str(tmp_path / "m")],
                          cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode != 0 and "line 7 has 10 fields" in done.stderr + done.stdout, done.stderr[-2000:]
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "m" / "manifest.json").exists()
