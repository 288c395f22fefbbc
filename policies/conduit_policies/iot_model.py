"""AWS IoT policies read as AWS evaluates them, and judged as AWS IoT Device Defender's audit checks
judge them, before anything is deployed.

A statement grants actions (or, with NotAction, every other one) on resources (or, with NotResource,
every other one) under conditions. Each IoT data-plane action takes one kind of resource (AWS IoT
Core's policy actions table: Connect a client, Publish/Receive a topic, Subscribe a topic filter,
the shadow and job actions a thing). A grant is *scoped* when it reaches only the connecting
device's own resources:

- a resource with no wildcard names one resource: scoped;
- a wildcard (`*`, `?`, and in a topic filter the MQTT `+` and `#`, which a policy reads literally but
  a subscription to such a filter receives every matching topic) is scoped only when what comes
  before it already names the device: a thing policy variable (`${iot:Connection.Thing.ThingName}`),
  the certificate's own subject or serial, or, in IAM roles, the credentials provider's thing name
  and certificate id or the Cognito identity;
- `${iot:ClientId}` names the device only when client ids are bound to things: in a Connect
  statement by the `iot:Connection.Thing.IsAttached` condition, elsewhere when every Connect the
  policy allows is so bound; otherwise it is as broad as `*` (AWS says so);
- Receive is judged by the Subscribe that lets messages in, as Device Defender judges it.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from conduit_policies.documents import as_list, statements_of
from conduit_policies.iam_actions import matching_actions, spelled

# Data-plane actions and the resource kind each takes (iotjobsdata: the jobs actions' IAM names).
DATA_PLANE = {
    "iot:connect": "client", "iot:publish": "topic", "iot:retainpublish": "topic", "iot:receive": "topic",
    "iot:subscribe": "topicfilter", "iot:getretainedmessage": "topic",
    "iot:getthingshadow": "thing", "iot:updatethingshadow": "thing", "iot:deletethingshadow": "thing",
    "iot:listnamedshadowsforthing": "thing", "iot:describejobexecution": "thing",
    "iot:getpendingjobexecutions": "thing", "iot:startnextpendingjobexecution": "thing",
    "iot:updatejobexecution": "thing", "iotjobsdata:describejobexecution": "thing",
    "iotjobsdata:getpendingjobexecutions": "thing", "iotjobsdata:startnextpendingjobexecution": "thing",
    "iotjobsdata:updatejobexecution": "thing",
}
NOT_JUDGED_ALONE = {"iot:receive"}  # what a device receives is what its subscriptions let in
# Device Defender's classes of control-plane actions (its Cognito and role-alias checks).
THING_ADMIN_READ = {"iot:describething", "iot:listjobexecutionsforthing", "iot:listthinggroupsforthing",
                    "iot:listthingprincipals"}
THING_ADMIN_WRITE = {"iot:addthingtothinggroup", "iot:attachthingprincipal", "iot:creatething", "iot:deletething",
                     "iot:detachthingprincipal", "iot:listthings", "iot:listthingsinthinggroup", "iot:registerthing",
                     "iot:removethingfromthinggroup", "iot:updatething", "iot:updatethinggroupsforthing"}
SECURITY_AUDIT_SERVICES = ("iam", "cloudtrail", "guardduty", "inspector", "inspector2", "trustedadvisor")

DEVICE = "\x00device\x00"
# Variables whose value is the connecting device's own and no other's.
DEVICE_VARIABLES = re.compile(
    r"\$\{(iot:Connection\.Thing\.ThingName|iot:Certificate\.Subject\.CommonName|iot:Certificate\.SerialNumber"
    r"|iot:Certificate\.Subject\.SerialNumber|credentials-iot:ThingName|credentials-iot:AwsCertificateId"
    r"|cognito-identity\.amazonaws\.com:sub)\}", re.I)
CLIENT_ID = re.compile(r"\$\{iot:ClientId\}", re.I)
OTHER_VARIABLE = re.compile(r"\$\{[^}]*\}")
LITERALS = {"$(*)": "\x01", "$(?)": "\x02", "$($)": "$"}


@dataclass(frozen=True)
class Grant:
    statement: dict[str, Any]
    index: int
    label: str
    action: str
    resource: str


@dataclass(frozen=True)
class Finding:
    check: str  # Device Defender's check name
    reason: str  # its reason code
    message: str
    index: int | None = None  # the statement it is about, by position in the document


def _label(statement: dict[str, Any], index: int) -> str:
    return f"statement {statement['Sid']!r}" if statement.get("Sid") else f"statement {index + 1}"


def _covered(patterns: list[str]) -> set[str]:
    found: set[str] = set()
    for pattern in patterns:
        pattern = pattern.lower()
        if pattern == "*":
            found |= set(DATA_PLANE) | set(matching_actions("iot:*"))
        else:
            found |= set(matching_actions(pattern)) | {a for a in DATA_PLANE if fnmatch.fnmatchcase(a, pattern)}
    return found


def allowed_actions(statement: dict[str, Any]) -> set[str]:
    """The IoT actions an Allow statement grants (NotAction: every IoT action but those named)."""
    if "NotAction" in statement:
        return (set(DATA_PLANE) | set(matching_actions("iot:*"))) - _covered([str(a) for a in
                                                                             as_list(statement["NotAction"])])
    return {a for a in _covered([str(a) for a in as_list(statement.get("Action"))])
            if a.startswith(("iot:", "iotjobsdata:"))}


def _resource_part(resource: str) -> str:
    """`client/x` of `arn:aws:iot:region:account:client/x`; `*` stays `*`."""
    if resource.startswith("arn:"):
        parts = resource.split(":", 5)
        return parts[5] if len(parts) == 6 else resource
    return resource


def is_attached(statement: dict[str, Any]) -> bool:
    """The statement requires the connecting client to be a thing its certificate is attached to."""
    for operator, keys in (statement.get("Condition") or {}).items():
        if not str(operator).lower().startswith("bool") or not isinstance(keys, dict):
            continue
        for key, wanted in keys.items():
            if key.lower() == "iot:connection.thing.isattached" and str(as_list(wanted)[0]).lower() == "true":
                return True
    return False


def scoped(resource: str, kind: str, client_bound: bool) -> bool | None:
    """Whether `resource` reaches only the device's own resources of `kind`; None when it names
    another kind of resource (it grants nothing of this kind)."""
    part = _resource_part(resource)
    if part == "*":
        return False
    named_kind, _, body = part.partition("/")
    if not fnmatch.fnmatchcase(kind, named_kind):
        return None
    if named_kind != kind:  # `topic*/...`: the kind itself is a wildcard
        return False
    for literal, mark in LITERALS.items():
        body = body.replace(literal, mark)
    body = DEVICE_VARIABLES.sub(DEVICE, body)
    body = CLIENT_ID.sub(DEVICE if client_bound else "*", body)
    body = OTHER_VARIABLE.sub("*", body)  # a variable that does not name the device may name any
    wildcards = [i for i, c in enumerate(body) if c in "*?"]
    if kind == "topicfilter":
        levels, offset = body.split("/"), 0
        for level in levels:
            if level in ("+", "#"):
                wildcards.append(offset)
            offset += len(level) + 1
    if not wildcards:
        return True
    return DEVICE in body[:min(wildcards)]


def _connects_bound(statements: list[dict[str, Any]]) -> bool:
    """Every Connect the policy allows binds the client id to the device."""
    for statement in statements:
        if statement.get("Effect") != "Allow" or "iot:connect" not in allowed_actions(statement):
            continue
        resources = ["*"] if "NotResource" in statement else [str(r) for r in as_list(statement.get("Resource"))]
        bound = is_attached(statement)
        if not all(scoped(r, "client", bound) in (True, None) for r in resources):
            return False
    return True


def broad_grants(document: Any) -> Iterator[Grant]:
    """Every data-plane grant of an IoT policy (or of a role's IAM statements) that reaches devices
    other than the connecting one."""
    statements = statements_of(document)
    bound_elsewhere = _connects_bound(statements)
    for index, statement in enumerate(statements):
        if statement.get("Effect") != "Allow":
            continue
        label = _label(statement, index)
        broad_resources = "NotResource" in statement
        resources = ["*"] if broad_resources else [str(r) for r in as_list(statement.get("Resource"))]
        for action in sorted(allowed_actions(statement)):
            kind = DATA_PLANE.get(action)
            if kind is None or action in NOT_JUDGED_ALONE:
                continue
            client_bound = is_attached(statement) if action == "iot:connect" else bound_elsewhere
            for resource in resources:
                if scoped(resource, kind, client_bound) is False:
                    yield Grant(statement, index, label, action, "NotResource (everything else)" if broad_resources
                                else resource)


COMPLIANT = {
    "client": "client/${iot:Connection.Thing.ThingName} with the condition "
              '{"Bool": {"iot:Connection.Thing.IsAttached": "true"}}',
    "topic": "topic/<your prefix>/${iot:Connection.Thing.ThingName}/* (or $aws/things/${iot:Connection.Thing."
             "ThingName}/shadow/*)",
    "topicfilter": "topicfilter/<your prefix>/${iot:Connection.Thing.ThingName}/*",
    "thing": "thing/${iot:Connection.Thing.ThingName}",
}


def _grouped(grants: Iterator[Grant]) -> dict[tuple[str, str], list[Grant]]:
    """Grants by (statement, resource): one finding names every action a resource is too broad for."""
    groups: dict[tuple[str, str], list[Grant]] = {}
    for grant in grants:
        groups.setdefault((grant.label, grant.resource), []).append(grant)
    return groups


def overly_permissive(document: Any) -> list[Finding]:
    """IOT_POLICY_OVERLY_PERMISSIVE_CHECK: data-plane access for a broad set of devices."""
    found = []
    for index, statement in enumerate(statements_of(document)):
        if statement.get("Effect") == "Allow" and "NotAction" in statement:
            found.append(Finding("IOT_POLICY_OVERLY_PERMISSIVE_CHECK", "ALLOWS_BROAD_ACCESS_TO_IOT_DATA_PLANE_ACTIONS",
                                 f"{_label(statement, index)} allows with NotAction: every IoT action it does not "
                                 "name, and every one AWS adds later. Name the actions the device uses"))
    for (label, resource), grants in _grouped(broad_grants(document)).items():
        first = grants[0]
        if "NotAction" in first.statement:
            continue  # reported above
        kind = DATA_PLANE[first.action]
        why = ("a client id the device chooses names any device" if CLIENT_ID.search(resource) else
               "an MQTT wildcard in a granted filter subscribes to every matching device's topics"
               if kind == "topicfilter" and re.search(r"(^|/)[+#](/|$)", resource) else
               "it reaches other devices' resources")
        actions = ", ".join(_name(g.action) for g in grants)
        found.append(Finding("IOT_POLICY_OVERLY_PERMISSIVE_CHECK", "ALLOWS_BROAD_ACCESS_TO_IOT_DATA_PLANE_ACTIONS",
                             f"{label} allows {actions} on {resource!r}: {why}. Scope it to the connecting device: "
                             f"{COMPLIANT[kind]}"))
    return found


def potential_misconfiguration(document: Any) -> list[Finding]:
    """IOT_POLICY_POTENTIAL_MISCONFIGURATION_CHECK: Deny statements that do not deny what they seem to."""
    statements = statements_of(document)
    found = []
    allowed_filters = [str(r) for s in statements if s.get("Effect") == "Allow"
                       and "iot:subscribe" in allowed_actions(s) for r in as_list(s.get("Resource"))]
    for index, statement in enumerate(statements):
        if statement.get("Effect") != "Deny":
            continue
        actions = _covered([str(a) for a in as_list(statement.get("Action"))])
        mqtt = actions & {"iot:publish", "iot:subscribe", "iot:receive", "iot:retainpublish"}
        for resource in (str(r) for r in as_list(statement.get("Resource"))):
            part = _resource_part(resource)
            mqtt_wildcard = re.search(r"(^|/)[+#](/|$)", part.partition("/")[2])
            if mqtt and mqtt_wildcard:
                found.append(Finding(
                    "IOT_POLICY_POTENTIAL_MISCONFIGURATION_CHECK", "POLICY_CONTAINS_MQTT_WILDCARDS_IN_DENY_STATEMENT",
                    f"{_label(statement, index)} denies {resource!r}, but a policy reads + and # literally: it "
                    "denies only a filter spelled exactly so. Deny with * (topic/secret/*), or deny iot:Receive"))
            elif "iot:subscribe" in actions and part.startswith("topicfilter/") and "*" not in part:
                denied = part.partition("/")[2]
                wider = [a for a in allowed_filters if _wider_filter_allowed(a, denied)]
                if wider:
                    found.append(Finding(
                        "IOT_POLICY_POTENTIAL_MISCONFIGURATION_CHECK",
                        "TOPIC_FILTERS_INTENDED_TO_BE_DENIED_ALLOWED_USING_WILDCARDS",
                        f"{_label(statement, index)} denies subscribing to {denied!r}, but {wider[0]!r} is allowed: "
                        f"a subscription to a wider filter ({_parent(denied)}/#) still receives it. Deny iot:Receive "
                        f"on topic/{denied} instead"))
    return found


def _parent(topic: str) -> str:
    return topic.rsplit("/", 1)[0] if "/" in topic else "#"


def _wider_filter_allowed(allowed: str, denied: str) -> bool:
    """Whether an allowed topic-filter resource admits a filter with an MQTT wildcard covering `denied`."""
    part = _resource_part(allowed)
    if part == "*":
        return True
    kind, _, body = part.partition("/")
    if not fnmatch.fnmatchcase("topicfilter", kind):
        return False
    candidates = [f"{'/'.join(denied.split('/')[:n])}/#" for n in range(len(denied.split("/")))] + ["#"]
    return any(fnmatch.fnmatchcase(c, body) for c in candidates)


def _name(action: str) -> str:
    return spelled(action)


# --- IAM roles devices act as: role aliases (credentials provider) and Cognito identity pools ------

def iam_findings(statements: list[dict[str, Any]], check: str, *, unauthenticated: bool = False,
                 audit_services: bool = False) -> list[Finding]:
    """Device Defender's checks of a role devices act as (a role alias's, a Cognito pool's), over the
    statements it holds. An unauthenticated Cognito role may not administer IoT at all; the others
    may read their own thing's administrative data."""
    found: list[Finding] = []

    def admin(reason: str) -> str:
        return "ALLOWS_ACCESS_TO_IOT_ADMIN_ACTIONS" if unauthenticated else reason

    for index, statement in enumerate(statements):
        if statement.get("Effect") != "Allow":
            continue
        label = _label(statement, index)
        patterns = ["*"] if "NotAction" in statement else [str(a) for a in as_list(statement.get("Action"))]
        actions = {a for p in patterns for a in matching_actions("iot:*" if p == "*" else p)}
        resources = ["*"] if "NotResource" in statement else [str(r) for r in as_list(statement.get("Resource"))]
        if audit_services:
            audited = sorted({p.split(":")[0].lower() for p in patterns
                              if p == "*" or p.split(":")[0].lower() in SECURITY_AUDIT_SERVICES})
            if audited:
                found.append(Finding(check, "ALLOWS_ACCESS_TO_SECURITY_AUDITING_SERVICES",
                                     f"{label} allows {', '.join(patterns)}: devices' credentials reach "
                                     f"{', '.join(a if a != '*' else 'every service' for a in audited)}; remove them",
                                     index))
            whole = [p for p in patterns if p == "*" or p.endswith(":*")]
            if whole:
                found.append(Finding(check, "ALLOWS_BROAD_ACCESS_TO_USED_SERVICES",
                                     f"{label} allows {', '.join(whole)}: administrative access to whole services; "
                                     "name the actions the devices use", index))
        write = sorted(actions & THING_ADMIN_WRITE)
        if write:
            found.append(Finding(check, admin("ALLOWS_ACCESS_TO_IOT_THING_ADMIN_WRITE_ACTIONS"),
                                 f"{label} allows {', '.join(map(_name, write[:4]))}: devices may manage or modify "
                                 "things; keep thing administration off device credentials", index))
        other = sorted(a for a in actions if a.startswith("iot:") and a not in DATA_PLANE
                       and a not in THING_ADMIN_READ and a not in THING_ADMIN_WRITE)
        if other:
            found.append(Finding(check, admin("ALLOWS_ACCESS_TO_IOT_NON_THING_ADMIN_ACTIONS"),
                                 f"{label} allows {', '.join(map(_name, other[:4]))}"
                                 f"{' and more' if len(other) > 4 else ''}: devices may manage certificates, "
                                 "policies or other account resources; remove them", index))
        read = sorted(actions & THING_ADMIN_READ)
        if read and (unauthenticated or any(scoped(r, "thing", False) is False for r in resources)):
            found.append(Finding(check, admin("ALLOWS_BROAD_ACCESS_TO_IOT_THING_ADMIN_READ_ACTIONS"),
                                 f"{label} allows {', '.join(map(_name, read))} on {', '.join(resources)}: "
                                 + ("guests may not read thing administrative data" if unauthenticated else
                                    "devices may read other things' administrative data; scope it to "
                                    "thing/${credentials-iot:ThingName} (or the Cognito identity)"), index))
    for (label, resource), grants in _grouped(broad_grants({"Statement": statements})).items():
        found.append(Finding(check, "ALLOWS_BROAD_ACCESS_TO_IOT_DATA_PLANE_ACTIONS",
                             f"{label} allows {', '.join(_name(g.action) for g in grants[:5])}"
                             f"{' and more' if len(grants) > 5 else ''} on {resource!r} for a broad set of devices; "
                             "scope it with ${credentials-iot:ThingName} or ${cognito-identity.amazonaws.com:sub}",
                             grants[0].index))
    return found
