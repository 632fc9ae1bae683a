"""The published request schema says what the validator enforces, exclusive groups included (issue 19,
Schemathesis ST202): a body the schema allows is accepted, a body breaking a group is refused by both."""

from __future__ import annotations

from typing import Any

import jsonschema
import orjson
import pytest
from fastapi.testclient import TestClient

from scoring import schema
from serving.validation import InputError
from tests.helpers import VALID


def _validator_for(doc: dict[str, Any], name: str) -> jsonschema.protocols.Validator:
    resolver_doc = {"components": doc["components"], "$ref": f"#/components/schemas/{name}"}
    return jsonschema.Draft202012Validator(resolver_doc)


@pytest.fixture()
def spec(client: TestClient) -> dict[str, Any]:
    return client.get("/openapi.json").json()


def test_exclusive_groups_are_json_schema_not_only_an_extension(spec: dict[str, Any]) -> None:
    request = spec["components"]["schemas"]["PredictRequest"]
    assert request["allOf"][0] == {"$ref": "#/components/schemas/PredictRequestFields"}
    one_ofs = [clause["oneOf"] for clause in request["allOf"][1:]]
    assert len(one_ofs) == len(request["x-exclusive-groups"]) >= 2
    for members, branches in zip(request["x-exclusive-groups"], one_ofs, strict=True):
        assert len(branches) == len(members) + 1  # one branch a member, and "none of them"


@pytest.mark.parametrize("change, accepted", [
    ({}, True),
    ({schema.GENDER_F: 0, schema.GENDER_M: 0}, True),
    ({schema.GENDER_F: True, schema.GENDER_M: False}, True),
    ({schema.GENDER_F: 1, schema.GENDER_M: 1}, False),
    ({schema.GENDER_F: 1.0, schema.GENDER_M: True}, False),
    ({schema.EDUCATION_HIGHER: 1, schema.EDUCATION_SECONDARY: 1}, False),
    ({schema.EDUCATION_HIGHER: 0, schema.EDUCATION_SECONDARY: 0, "NAME_EDUCATION_TYPE_Academic degree": 1}, True),
    ({schema.EDUCATION_HIGHER: 0, schema.EDUCATION_SECONDARY: 1, "NAME_EDUCATION_TYPE_Lower secondary": 1}, False),
])
def test_the_schema_and_the_validator_agree_on_the_groups(spec, service, change, accepted) -> None:
    body = VALID | change
    if any(k not in service.validator.bounds for k in change):
        pytest.skip("the fixture model has no such feature")
    schema_ok = _validator_for(spec, "PredictRequest").is_valid(body)
    try:
        service.validator.parse(orjson.dumps(body))  # the one rule engine: types, domain and groups
        validator_ok = True
    except InputError:
        validator_ok = False
    assert schema_ok == validator_ok == accepted


def test_the_dossier_schema_states_the_groups_of_its_overrides(spec: dict[str, Any]) -> None:
    check = _validator_for(spec, "DossierRequest")
    assert check.is_valid({schema.ID_COLUMN: 100002, schema.GENDER_F: 1})
    assert not check.is_valid({schema.ID_COLUMN: 100002, schema.GENDER_F: 1, schema.GENDER_M: 1})
