"""IAM statements as data, so every permission is named next to the resource it is about."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi


@dataclass(frozen=True)
class Statement:
    """One `Allow` statement: explicit actions on explicit resources."""

    actions: Sequence[str]
    resources: Sequence[pulumi.Input[str]]
    condition: Mapping[str, Any] = field(default_factory=dict)

    def render(self) -> dict[str, Any]:
        statement: dict[str, Any] = {
            "Effect": "Allow",
            "Action": sorted(self.actions),
            "Resource": list(self.resources),
        }
        if self.condition:
            statement["Condition"] = dict(self.condition)
        return statement


def policy_document(statements: Sequence[Statement]) -> pulumi.Output[str]:
    """A JSON policy document; resources may be outputs of other resources."""
    return pulumi.Output.json_dumps({"Version": "2012-10-17", "Statement": [s.render() for s in statements]})


def trust_policy(service: str) -> str:
    """A role trust policy that lets one AWS service assume the role."""
    import json

    return json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}],
    })
