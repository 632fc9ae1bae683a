"""The master-scale grade wherever the score is: API answer, batch API, batch file, letter, log, model info.

A user's sequence: evaluate, evaluate again with a worse external score, read the letter of the
evaluation, score a file of the same applicants; the grade follows the score and the stored scale.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from scoring import schema
from scoring.artifacts import ArtifactError
from scoring.master_scale import grade_of
from serving.batch import score_file
from serving.predictor import Predictor
from tests.helpers import VALID


def test_answer_letter_and_log_carry_the_grade_of_the_score(client: TestClient, service, predictor: Predictor) -> None:
    edges = predictor.grade_edges
    assert edges and len(edges) >= 6
    good = client.post("/api/predict", json=VALID).json()
    worse = client.post("/api/predict", json=VALID | {schema.EXT_SOURCE_1: 0.01, schema.EXT_SOURCE_2: 0.01,
                                                      schema.EXT_SOURCE_3: 0.01}).json()
    for answer in (good, worse):
        assert answer["grade"] == grade_of(edges, answer["score"])
    assert worse["grade"] >= good["grade"]  # letters run from A (best): a riskier score never gets a better one
    letter = client.get(f"/api/letters/{worse['request_id']}")
    assert letter.status_code == 200
    assert f"Classe de risque attribuée à votre demande : <strong>{worse['grade']}</strong>" in letter.text
    service.logger.flush()
    logged = [json.loads(line) for line in service.logger.path.read_text().splitlines()]
    assert [r["prediction"]["grade"] for r in logged] == [good["grade"], worse["grade"]]
    assert all({"score", "label", "decision"} <= set(r["prediction"]) for r in logged)  # older keys kept


def test_batch_api_and_model_info_show_the_scale(client: TestClient, predictor: Predictor) -> None:
    rows = [VALID, VALID | {schema.EXT_SOURCE_3: 0.05}]
    answer = client.post("/api/predict/batch", json={"rows": rows}).json()
    assert [p["grade"] for p in answer["predictions"]] == [grade_of(predictor.grade_edges, p["score"])
                                                           for p in answer["predictions"]]
    scale = client.get("/model/info").json()["master_scale"]
    assert [g["grade"] for g in scale] == list("ABCDEFGHIJ"[: len(predictor.grade_edges) + 1])
    assert scale[0]["low"] == 0.0 and scale[-1]["high"] == 1.0


def test_batch_file_has_a_grade_column_equal_to_single_calls(predictor: Predictor, tmp_path: Path) -> None:
    from tests.fixture_model import make_frame

    frame, _ = make_frame(300, seed=9)
    frame.insert(0, schema.ID_COLUMN, range(100001, 100301))
    source = tmp_path / "features.csv"
    frame.to_csv(source, index=False)
    report = score_file(source, tmp_path / "scores.csv", predictor=predictor, progress=False)
    out = pd.read_csv(tmp_path / "scores.csv")
    assert report.scored == 300 and list(out.columns)[-2:] == ["grade", "out_of_range"]
    single = [predictor.predict(row.to_dict(), explain=False).grade
              for _, row in frame.drop(columns=[schema.ID_COLUMN]).head(20).iterrows()]
    assert out["grade"].head(20).tolist() == single


def test_a_tampered_scale_is_refused(model_dir: Path, tmp_path: Path) -> None:
    import shutil

    copy = tmp_path / "model"
    shutil.copytree(model_dir, copy)
    doc = json.loads((copy / schema.THRESHOLD_FILE).read_text())
    doc["master_scale"]["edges"][0] = 0.5
    (copy / schema.THRESHOLD_FILE).write_text(json.dumps(doc))
    with pytest.raises(ArtifactError, match="checksum"):
        Predictor.from_dir(copy)
