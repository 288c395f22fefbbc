"""Helpers to run the Pulumi program offline and query what it declared."""

from __future__ import annotations

import functools
import json
from typing import Any

from conduit.runner import run_stack
from tests.conftest import REPO

STACKS = ("dev", "prod")


@functools.cache
def declared(stack: str) -> dict[str, Any]:
    """One offline run per stack per test session (each run is its own process)."""
    return run_stack(REPO, stack)


def of_type(document: dict[str, Any], type_: str) -> list[dict[str, Any]]:
    found = [r for r in document["resources"] if r["type"] == type_]
    assert found, f"no {type_} declared in stack {document['stack']}"
    return found


def policy_statements(document: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(urn, statement) for every statement of every inline role policy."""
    out = []
    for policy in of_type(document, "aws:iam/rolePolicy:RolePolicy"):
        statements = json.loads(policy["inputs"]["policy"])["Statement"]
        out.extend((policy["urn"], s) for s in statements)
    return out
