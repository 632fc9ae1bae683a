"""Schemathesis hooks for tests/api/test_schemathesis.py (loaded through SCHEMATHESIS_HOOKS).

The one rule the request schema states only as `x-exclusive-groups` (at most one feature of a group
may be 1): generated bodies that break it are dropped, so that `positive_data_acceptance` judges the
API on bodies the documented rules allow.
"""

from __future__ import annotations

from typing import Any

import schemathesis

from scoring.schema import EXCLUSIVE_GROUPS


def _breaks_a_group(applicant: Any) -> bool:
    if not isinstance(applicant, dict):
        return False
    for group in EXCLUSIVE_GROUPS:
        ones = [k for k, v in applicant.items() if k.startswith(group.name + "_") and v == 1 and v is not None]
        if len(ones) > 1:
            return True
    return False


@schemathesis.hook
def filter_body(context: Any, body: Any) -> bool:
    rows = body.get("rows") if isinstance(body, dict) and isinstance(body.get("rows"), list) else [body]
    return not any(_breaks_a_group(row) for row in rows)


@schemathesis.hook
def filter_failure(context: Any, failure: Any, case: Any, response: Any) -> bool:
    """Drop only a "schema-valid body rejected" whose body breaks an exclusive group (the coverage
    phase does not go through `filter_body`) and whose 422 says exactly that."""
    if type(failure).__name__ != "RejectedPositiveData" or response.status_code != 422:
        return True
    body = case.body
    rows = body.get("rows") if isinstance(body, dict) and isinstance(body.get("rows"), list) else [body]
    return not (any(_breaks_a_group(row) for row in rows) and "at most one of" in response.text)
