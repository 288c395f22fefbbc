"""IAM statements as data, so every permission is named next to the resource it is about.

The same `Statement` renders identity policies (role permissions) and resource policies (queue,
topic and key policies, which also name who is allowed: `principals`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi


@dataclass(frozen=True)
class Statement:
    """One `Allow` statement: explicit actions on explicit resources, for explicit principals where it is
    a resource policy (`{"Service": ["events.amazonaws.com"]}`)."""

    actions: Sequence[str]
    resources: Sequence[pulumi.Input[str]]
    condition: Mapping[str, Any] = field(default_factory=dict)
    principals: Mapping[str, Sequence[pulumi.Input[str]]] = field(default_factory=dict)
    sid: str | None = None

    def render(self) -> dict[str, Any]:
        statement: dict[str, Any] = {"Sid": self.sid} if self.sid else {}
        statement["Effect"] = "Allow"
        if self.principals:
            statement["Principal"] = {kind: list(who) for kind, who in self.principals.items()}
        statement["Action"] = sorted(self.actions)
        statement["Resource"] = list(self.resources)
        if self.condition:
            statement["Condition"] = dict(self.condition)
        return statement


def policy_document(statements: Sequence[Statement]) -> pulumi.Output[str]:
    """A JSON policy document; resources and principals may be outputs of other resources."""
    return pulumi.Output.json_dumps({"Version": "2012-10-17", "Statement": [s.render() for s in statements]})


def service(*names: str) -> dict[str, list[str]]:
    """The principal of AWS services, e.g. `service("events.amazonaws.com")`."""
    return {"Service": list(names)}


def from_source(arn: pulumi.Input[str]) -> dict[str, Any]:
    """A condition limiting a service principal to one source resource (no confused deputy)."""
    return {"ArnEquals": {"aws:SourceArn": arn}}


def trust_policy(service_name: str) -> str:
    """A role trust policy that lets one AWS service assume the role."""
    return json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": service_name}, "Action": "sts:AssumeRole"}],
    })
