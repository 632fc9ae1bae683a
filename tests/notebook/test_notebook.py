"""The exploration notebook runs top to bottom on a small synthetic twin."""

from __future__ import annotations

import shutil

import pytest

from tests.helpers import PROJECT_ROOT

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")


@pytest.mark.slow
def test_exploration_notebook_executes(tmp_path, monkeypatch):
    source = PROJECT_ROOT / "notebook" / "exploration.ipynb"
    work = tmp_path / "notebook"
    work.mkdir()
    shutil.copy(source, work / source.name)
    monkeypatch.setenv("NOTEBOOK_APPLICANTS", "1500")
    monkeypatch.setenv("PYTHONPATH", str(PROJECT_ROOT))
    nb = nbformat.read(work / source.name, as_version=4)
    resources = {"metadata": {"path": str(work)}}
    client = nbclient.NotebookClient(nb, timeout=300, kernel_name="python3", resources=resources)
    client.execute()
    outputs = [o for cell in nb.cells if cell.cell_type == "code" for o in cell.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    text = "".join(str(o.get("text", "")) + str(o.get("data", {}).get("text/plain", "")) for o in outputs)
    assert "default rate" in text
    assert "oracle AUC" in text
    assert "holdout AUC" in text and "four-fifths rule" in text  # the evaluation and fairness sections ran
    assert sum("image/png" in o.get("data", {}) for o in outputs) >= 6  # the charts
