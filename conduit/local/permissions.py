"""Least privilege shown by execution: what each role may do that a run never did.

Each `Allow` of each role policy is expanded into (action, resource) pairs and matched against
the emulator's audit of the calls made with that role. What was never used is reported, with
an explanation where the emulator, not the function, does that work.
"""

from __future__ import annotations

import fnmatch
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from conduit.local.audit import audit_entries, role_name
from conduit.run_record import RunRecord


@dataclass(frozen=True)
class UnusedPermission:
    role: str
    action: str
    resource: str
    explanation: str | None

    def line(self) -> str:
        why = self.explanation or "UNEXPLAINED: remove it, or exercise it in a flow"
        return f"{self.role}: {self.action} on {self.resource}  ({why})"


def _explain(action: str, resource: str, failure_queues: set[str | None], polled_queues: set[str],
             rule_role: bool, deliveries: set[str], role: str = "") -> str | None:
    if rule_role:
        return "IoT rule actions run inside the emulator, not as the rule's role (which must still trust iot)"
    if action == "iot:DescribeEndpoint":
        return "the local cloud sets the SDK's AWS_ENDPOINT_URL, so handlers skip the endpoint lookup"
    if action in {"logs:CreateLogStream", "logs:PutLogEvents"}:
        return "the emulator writes function logs itself; on AWS the Lambda service uses the role"
    if action == "sqs:SendMessage" and resource in failure_queues:
        return "used only when an invocation or a batch fails every retry (Lambda sends, not the code)"
    if action.startswith("sqs:") and resource in polled_queues:
        return "the event source mapping polls the queue; the emulator polls with its own identity"
    if action.startswith("dynamodb:") and any(fnmatch.fnmatchcase(s, resource) for s in polled_queues):
        return "the event source mapping reads the stream; the emulator reads it with its own identity"
    if action == "dynamodb:DeleteItem" and resource in deliveries:
        return ("used only when an effect fails: Powertools deletes its in-progress record so that the retry "
                "may run the effect")
    if action in {"iot:ListThingPrincipals", "iot:DetachThingPrincipal"} or (
            action == "iot:Publish" and resource.endswith("/certificate")):
        return ("used only while a certificate rotation is in flight: a feeder online with the certificate "
                "delivered to it has its older ones detached and the delivery cleared")
    if action == "iot:RetainPublish":
        return ("the emulator checks iot:Publish alone for a retained publish; AWS IoT also requires "
                "iot:RetainPublish (its retained message policy examples)")
    if action.startswith("xray:"):
        return "tracing: the emulator has no X-Ray"
    if action == "lambda:InvokeFunction" and role and resource.endswith(f":function:{role}"):
        return ("used only when one invocation cannot finish the work (a CSV longer than rowsPerInvocation): "
                "the function hands the rest to a continuation of itself")
    return None


def _role_statements(record: RunRecord) -> list[tuple[str, dict[str, Any]]]:
    out = []
    for resource in record.of_type("aws:iam/rolePolicy:RolePolicy"):
        for statement in json.loads(resource.inputs["policy"])["Statement"]:
            if statement.get("Effect") == "Allow":
                out.append((resource.inputs["role"], statement))
    return out


def _as_list(value: Any) -> list[str]:
    return value if isinstance(value, list) else [value]


def unused_permissions(record: RunRecord, audit_path: Path) -> list[UnusedPermission]:
    """Every (role, action, resource) a role policy allows that no audited call used."""
    used: dict[str, list[tuple[str, str]]] = {}
    for call in audit_entries(audit_path):
        if call["allowed"]:
            used.setdefault(role_name(call["principal"]), []).append((call["action"], call["resource"]))
    mappings = record.of_type("aws:lambda/eventSourceMapping:EventSourceMapping")
    failure_queues = {r.inputs["destinationConfig"]["onFailure"]["destination"]
                      for r in record.of_type("aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig")}
    failure_queues |= {((r.inputs.get("destinationConfig") or {}).get("onFailure") or {}).get("destinationArn")
                       for r in mappings}
    polled_queues = {r.inputs["eventSourceArn"] for r in mappings}
    rule_roles = {r.outputs.get("name") for r in record.of_type("aws:iam/role:Role")
                  if "iot.amazonaws.com" in str(r.inputs.get("assumeRolePolicy"))}
    deliveries = {r.outputs.get("arn") for r in record.of_type("aws:dynamodb/table:Table")
                  if "conduit:blocks:Deliveries" in r.urn}
    unused = []
    for role, statement in _role_statements(record):
        for action in _as_list(statement["Action"]):
            for resource in _as_list(statement["Resource"]):
                exercised = any(fnmatch.fnmatchcase(a, action) and fnmatch.fnmatchcase(r, resource)
                                for a, r in used.get(role, []))
                if not exercised:
                    why = _explain(action, resource, failure_queues, polled_queues, role in rule_roles,
                                   deliveries, role)
                    unused.append(UnusedPermission(role, action, resource, why))
    return unused


def report(unused: list[UnusedPermission], verbose: bool = False) -> str:
    """Unexplained entries one by one; explained ones counted by reason (all of them with `verbose`)."""
    if not unused:
        return "every permission of every role was used"
    unexplained = [u for u in unused if u.explanation is None]
    lines = [f"{len(unused)} permission(s) never used by the run, {len(unexplained)} unexplained"]
    lines += [f"  - {u.line()}" for u in sorted(unexplained, key=lambda u: (u.role, u.action))]
    reasons: dict[str, list[UnusedPermission]] = {}
    for u in unused:
        if u.explanation:
            reasons.setdefault(u.explanation, []).append(u)
    for why, entries in sorted(reasons.items()):
        lines.append(f"  {len(entries):3d} explained: {why}")
        if verbose:
            lines += [f"        {u.role}: {u.action} on {u.resource}" for u in entries]
    return "\n".join(lines)
