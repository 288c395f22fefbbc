"""Helpers to run the Pulumi program offline and query what it declared."""

from __future__ import annotations

import functools
import json
from typing import Any

from conduit.run_record import RecordedResource, RunRecord
from conduit.runner import run_stack
from tests.conftest import REPO

STACKS = ("dev", "prod")


@functools.cache
def declared(stack: str) -> RunRecord:
    """One offline run per stack per test session (each run is its own process)."""
    return run_stack(REPO, stack)


def of_type(document: RunRecord, type_: str) -> list[RecordedResource]:
    found = document.of_type(type_)
    assert found, f"no {type_} declared in stack {document.stack}"
    return found


def policy_statements(document: RunRecord) -> list[tuple[str, dict[str, Any]]]:
    """(urn, statement) for every statement of every inline role policy."""
    out = []
    for policy in of_type(document, "aws:iam/rolePolicy:RolePolicy"):
        statements = json.loads(policy.inputs["policy"])["Statement"]
        out.extend((policy.urn, s) for s in statements)
    return out
