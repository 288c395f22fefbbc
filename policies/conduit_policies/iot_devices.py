"""Device fleets judged before deployment as AWS IoT Device Defender audits them after it: one policy
per audit check a program can show, each message naming the check and its reason code
(iot_model.py reads the policies). Checks that need the live account (certificate expiry and
revocation, conflicting client ids, unused services) are not here: the README says which."""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    ReportViolation,
    ResourceValidationArgs,
    StackValidationArgs,
)

from conduit_policies.documents import Props, only
from conduit_policies.graph import StackGraph, value
from conduit_policies.holdings import role_holdings, roles_through
from conduit_policies.iot_model import Finding, iam_findings, overly_permissive, potential_misconfiguration
from conduit_policies.registry import resource_rule, stack_rule
from conduit_policies.unjudged import Unknown, note

IOT_POLICY, TEMPLATE = "aws:iot/policy:Policy", "aws:iot/provisioningTemplate:ProvisioningTemplate"
ROLE_ALIAS = "aws:iot/roleAlias:RoleAlias"
POOL_ROLES = "aws:cognito/identityPoolRoleAttachment:IdentityPoolRoleAttachment"
THING_PRINCIPAL = "aws:iot/thingPrincipalAttachment:ThingPrincipalAttachment"
LOGGING = ("aws:iot/loggingOptions:LoggingOptions",)
DEVICE_RESOURCES = (IOT_POLICY, "aws:iot/thing:Thing", "aws:iot/certificate:Certificate", TEMPLATE)


def _say(where: str, finding: Finding) -> str:
    return f"{where}: {finding.message} [Device Defender {finding.check}, {finding.reason}]"


def _template_policies(body: Any) -> list[tuple[str, Any]]:
    """(logical id, document) of every AWS::IoT::Policy a fleet provisioning template declares."""
    try:
        template = json.loads(body) if isinstance(body, str) else body
    except json.JSONDecodeError:
        return []
    resources = (template or {}).get("Resources") or {} if isinstance(template, dict) else {}
    found = []
    for name, resource in resources.items():
        if isinstance(resource, dict) and resource.get("Type") == "AWS::IoT::Policy":
            document = (resource.get("Properties") or {}).get("PolicyDocument")
            if isinstance(document, str | dict):
                found.append((name, document))
    return found


def _documents(args: ResourceValidationArgs) -> list[tuple[str, Any]]:
    props = Props(args.props)
    if args.resource_type == IOT_POLICY:
        return [(f"IoT policy '{args.name}'", props.get("policy"))]
    return [(f"provisioning template '{args.name}', policy {name}", document)
            for name, document in _template_policies(props.get("templateBody"))]


def _judge_documents(judge: Any) -> Any:
    @only(IOT_POLICY, TEMPLATE)
    def validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
        for where, document in _documents(args):
            for finding in judge(document):
                report_violation(_say(where, finding))

    return validate


def _roles_devices_act_as(graph: StackGraph, cognito: bool) -> list[tuple[Any, Any, str, bool]]:
    """(resource, role, what it is, unauthenticated) for role aliases, or for Cognito pool roles."""
    if not cognito:
        return [(alias, role, f"role alias '{alias.name}'", False) for alias in graph.of_type(ROLE_ALIAS)
                for role in roles_through(graph, alias, "roleArn")]
    found = []
    for attachment in graph.of_type(POOL_ROLES):
        try:
            roles = value(attachment, "roles") or {}
        except Unknown as exc:
            note(exc.urn, exc.path)
            continue
        for role in roles_through(graph, attachment, "roles"):
            try:
                arn = value(role, "arn")
            except Unknown:
                arn = None
            kinds = [k for k, v in roles.items() if v == arn] or ["authenticated"]
            for kind in kinds:
                found.append((attachment, role, f"the {kind} role of identity pool roles '{attachment.name}'",
                              kind == "unauthenticated"))
    return found


def _role_findings(check: str, cognito: bool) -> Any:
    def validate(args: StackValidationArgs, report_violation: ReportViolation) -> None:
        graph = StackGraph(args)
        for resource, role, what, unauthenticated in _roles_devices_act_as(graph, cognito):
            try:
                held = role_holdings(graph, role)
            except Unknown as exc:
                note(exc.urn, exc.path)
                continue
            named = check if not cognito else (
                "UNAUTHENTICATED_COGNITO_ROLE_OVERLY_PERMISSIVE_CHECK" if unauthenticated
                else "AUTHENTICATED_COGNITO_ROLE_OVERLY_PERMISSIVE_CHECK")
            statements = [h.raw for h in held]
            for finding in iam_findings(statements, named, unauthenticated=unauthenticated,
                                        audit_services=not cognito):
                source = held[finding.index].source if finding.index is not None else "its policies"
                report_violation(_say(f"{what}: role '{role.name}' ({source})", finding), resource.urn)

    return validate


@stack_rule("iot-device-certificate-shared",
            "Each device certificate is attached to one thing (Device Defender DEVICE_CERTIFICATE_SHARED_CHECK).",
            "give each thing a certificate of its own")
def _shared_certificates(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    graph = StackGraph(args)
    things_by_certificate: dict[str, set[str]] = defaultdict(set)
    attachments: dict[str, list[Any]] = defaultdict(list)
    for attachment in graph.of_type(THING_PRINCIPAL):
        sources = graph.through(attachment, "principal")
        try:
            key = sources[0].urn if sources else value(attachment, "principal")
            thing = [t.urn for t in graph.through(attachment, "thing")] or [value(attachment, "thing")]
        except Unknown as exc:
            note(exc.urn, exc.path)
            continue
        things_by_certificate[str(key)] |= {str(t) for t in thing}
        attachments[str(key)].append(attachment)
    for key, things in things_by_certificate.items():
        if len(things) > 1:
            for attachment in attachments[key]:
                report_violation(f"thing principal attachment '{attachment.name}': one certificate is attached to "
                                 f"{len(things)} things; a device certificate belongs to one device, or a stolen "
                                 "one speaks for all of them. Give each thing its own certificate [Device Defender "
                                 "DEVICE_CERTIFICATE_SHARED_CHECK, CERTIFICATE_SHARED_BY_MULTIPLE_DEVICES]",
                                 attachment.urn)


@stack_rule("iot-logging-disabled",
            "A program with devices turns AWS IoT logging on (Device Defender LOGGING_DISABLED_CHECK).",
            "declare aws.iot.LoggingOptions (or aws.iot.Logging) with a role that may write the logs",
            EnforcementLevel.ADVISORY)
def _logging(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    graph = StackGraph(args)
    fleet = list(graph.of_type(*DEVICE_RESOURCES))  # by URN, as the registry hands stack policies resources
    if not fleet:
        return
    for options in graph.of_type(*LOGGING):
        try:
            disabled = value(options, "disableAllLogs")
            level = value(options, "defaultLogLevel")
        except Unknown as exc:
            note(exc.urn, exc.path)
            return
        if not disabled and str(level).upper() != "DISABLED":
            return
    report_violation("the program declares devices (things, certificates or IoT policies) but no AWS IoT logging "
                     "(aws.iot.LoggingOptions with a log level other than DISABLED): failed connections and denied "
                     "publishes leave no trace [Device Defender LOGGING_DISABLED_CHECK, LOGGING_DISABLED]",
                     fleet[0].urn)


POLICIES = [
    resource_rule("iot-policy-overly-permissive",
                  "IoT policies (and those in provisioning templates) grant data-plane access only to the "
                  "connecting device's own resources (Device Defender IOT_POLICY_OVERLY_PERMISSIVE_CHECK).",
                  "scope each resource to the device: ${iot:Connection.Thing.ThingName} and "
                  "iot:Connection.Thing.IsAttached")(_judge_documents(overly_permissive)),
    resource_rule("iot-policy-potential-misconfiguration",
                  "IoT policies' Deny statements deny what they seem to: no MQTT wildcards, no denied filter "
                  "re-allowed by a wider one (Device Defender IOT_POLICY_POTENTIAL_MISCONFIGURATION_CHECK).",
                  "name the topics a Deny denies instead of an MQTT wildcard")(
                      _judge_documents(potential_misconfiguration)),
    stack_rule("iot-role-alias-overly-permissive",
               "The role behind an IoT role alias grants devices no administration, no security-audit "
               "services and only their own data (Device Defender IOT_ROLE_ALIAS_OVERLY_PERMISSIVE_CHECK).",
               "give the role only the device's own data, scoped by credentials-iot:ThingName")(
                   _role_findings("IOT_ROLE_ALIAS_OVERLY_PERMISSIVE_CHECK", cognito=False)),
    stack_rule("iot-cognito-role-overly-permissive",
               "Cognito identity pool roles grant devices no IoT administration and only their own data "
               "(Device Defender UNAUTHENTICATED_/AUTHENTICATED_COGNITO_ROLE_OVERLY_PERMISSIVE_CHECK).",
               "give the role only the identity's own thing and shadow")(_role_findings("COGNITO", cognito=True)),
    _shared_certificates,
    _logging,
]

