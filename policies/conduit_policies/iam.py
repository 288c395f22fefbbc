"""Least-privilege IAM: explicit actions on explicit resources, judged by AWS's own catalogue."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    ReportViolation,
    ResourceValidationArgs,
)

from conduit_policies.documents import (
    PolicyStatement,
    Props,
    as_list,
    every_resource_of_type,
    identity_documents,
    parse_document,
)
from conduit_policies.iam_actions import known_service, matching_actions, requires_wildcard_resource
from conduit_policies.managed_policies import managed_document
from conduit_policies.registry import Rule, resource_rule

EXCLUSIVE_ATTACHMENT_TYPES = {
    "aws:iam/rolePolicyAttachmentsExclusive:RolePolicyAttachmentsExclusive",
    "aws:iam/userPolicyAttachmentsExclusive:UserPolicyAttachmentsExclusive",
    "aws:iam/groupPolicyAttachmentsExclusive:GroupPolicyAttachmentsExclusive",
}
ATTACHMENT_TYPES = {
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment", "aws:iam/userPolicyAttachment:UserPolicyAttachment",
    "aws:iam/groupPolicyAttachment:GroupPolicyAttachment", "aws:iam/policyAttachment:PolicyAttachment",
}


def _allow_statements(args: ResourceValidationArgs) -> Iterator[tuple[str, PolicyStatement]]:
    props = Props(args.props)
    for where, document in identity_documents(args.resource_type, props):
        for statement in parse_document(document):
            if statement.effect == "Allow":
                yield where, statement


def _statement_policy(name: str, description: str, fix: str, check: Callable[[PolicyStatement], Iterator[str]],
                      enforcement_level: EnforcementLevel = EnforcementLevel.MANDATORY) -> Rule:
    def validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
        for where, statement in _allow_statements(args):
            for problem in check(statement):
                report_violation(f"{args.resource_type} '{args.name}' {where}, {statement.label()}: {problem}")

    return resource_rule(name, description, fix, enforcement_level)(validate)


def _wildcard_actions(statement: PolicyStatement) -> Iterator[str]:
    for action in statement.actions:
        if action == "*" or action.endswith(":*"):
            yield (f"grants every action of {'every service' if action == '*' else action.split(':')[0]} "
                   f"({action!r}); list the actions the code calls, e.g. 's3:GetObject'")
        elif any(c in action for c in "*?"):
            matches = matching_actions(action)
            if len(matches) > 1:
                yield (f"the wildcard {action!r} grants {len(matches)} actions "
                       f"({', '.join(sorted(matches)[:4])}, ...); name the ones the code needs")


def _not_action_or_resource(statement: PolicyStatement) -> Iterator[str]:
    if statement.not_actions:
        yield (f"Allow with NotAction {statement.not_actions} grants everything else, including actions "
               "added to AWS later; list the allowed actions in Action instead")
    if statement.not_resources:
        yield (f"Allow with NotResource {statement.not_resources} grants every other resource; list the "
               "resources in Resource instead")


def _wildcard_resources(statement: PolicyStatement) -> Iterator[str]:
    broad = [r for r in statement.resources if every_resource(r)]
    if not broad:
        return
    scoped = sorted({m for a in statement.actions if known_service(a) and not _mostly_unscoped(a)
                     for m in matching_actions(a) if not requires_wildcard_resource(m) and m not in LAMBDA_LOG_WRITES})
    if scoped:
        yield (f"Resource {broad[0]!r} (every resource) for {', '.join(scoped[:5])}{', ...' if len(scoped) > 5 else ''}"
               ", which support resource-level permissions; name the ARNs (of the table, queue, bucket objects...) "
               "instead")


def _mostly_unscoped(action: str) -> bool:
    """A wildcard such as `ec2:Describe*` whose actions mostly have no resource-level permissions:
    `*` is then the only resource there is, and the action wildcard is the one finding to report."""
    if not any(c in action for c in "*?"):
        return False
    matches = matching_actions(action)
    return bool(matches) and sum(map(requires_wildcard_resource, matches)) * 2 > len(matches)


def every_resource(resource: str) -> bool:
    """`*`, or an ARN that matches every resource of its type (`arn:aws:logs:*:*:*`, `...:function:*`)."""
    return every_resource_of_type(resource)


# Lambda's logging writes: AWS's own AWSLambdaBasicExecutionRole grants them on every log group,
# and its console scopes CreateLogGroup to the account. Inline or managed, the same advisory.
LAMBDA_LOG_WRITES = ("logs:createloggroup", "logs:createlogstream", "logs:putlogevents")


def _logs_everywhere(statement: PolicyStatement) -> Iterator[str]:
    broad = [r for r in statement.resources if every_resource(r)]
    # Creating a group is how Lambda's first start makes its own; writing into every group is the reach.
    granted = sorted({m for a in statement.actions for m in matching_actions(a)} & set(LAMBDA_LOG_WRITES[1:]))
    if broad and granted:
        yield (f"{', '.join(granted)} on {broad[0]!r}: a function may write into every log group of the account "
               "(AWS's AWSLambdaBasicExecutionRole does the same); scope it to its own /aws/lambda/<name> group")


def _unknown_actions(statement: PolicyStatement) -> Iterator[str]:
    for action in statement.actions:
        if action == "*" or action.endswith(":*"):
            continue
        if not known_service(action):
            yield f"{action!r} names no AWS service in IAM's catalogue; check the service prefix"
        elif not matching_actions(action):
            yield f"{action!r} is not an action of {action.split(':')[0]} in IAM's catalogue; check the spelling"


ADMIN_POLICY = re.compile(r"arn:aws(-[a-z]+)*:iam::aws:policy/(.+/)?"
                          r"(AdministratorAccess(-[A-Za-z0-9]+)*|PowerUserAccess|[A-Za-z0-9]*FullAccess[A-Za-z0-9_-]*)")


def _admin_policy(arn: str) -> bool:
    """An AWS-managed policy granting administrator, power-user or full access, in any partition."""
    return bool(ADMIN_POLICY.fullmatch(arn))


ALLOWED_MANAGED_POLICIES = PolicyConfigSchema(properties={"allowedManagedPolicies": {
    "type": "array", "items": {"type": "string"}, "default": [],
    "description": "managed-policy ARNs this organization accepts anyway"}})


def _attached_arns(args: ResourceValidationArgs) -> list[str]:
    """The managed-policy ARNs a resource attaches, by attachment, exclusive set or role property."""
    props = Props(args.props)
    arns: list[Any] = []
    if args.resource_type in ATTACHMENT_TYPES:
        arns = [props.get("policyArn")]
    elif args.resource_type in EXCLUSIVE_ATTACHMENT_TYPES:
        arns = as_list(props.get("policyArns"))
    elif args.resource_type in ("aws:iam/role:Role", "aws:iam/user:User", "aws:iam/group:Group"):
        arns = as_list(props.get("managedPolicyArns"))
    allowed = set((args.get_config() or {}).get("allowedManagedPolicies") or [])
    return [arn for arn in arns if isinstance(arn, str) and arn not in allowed]


@resource_rule("iam-no-admin-managed-policies", "No AWS-managed administrator, power-user or *FullAccess policy.",
               "write a policy of the actions the principal needs (or accept the ARN in allowedManagedPolicies)",
               config_schema=ALLOWED_MANAGED_POLICIES)
def _validate_managed_policies(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    for arn in _attached_arns(args):
        if _admin_policy(arn):
            report_violation(f"{args.resource_type} '{args.name}' attaches the AWS-managed policy {arn}, which "
                             "grants far more than any one function needs; write a policy of the actions it uses")


def _managed_contents_policy(name: str, description: str, fix: str, enforcement_level: EnforcementLevel,
                             *checks: Callable[[PolicyStatement], Iterator[str]]) -> Rule:
    """Judge an attached AWS-managed policy by its published document, as if it were written inline."""

    def validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
        for arn in _attached_arns(args):
            document = managed_document(arn)
            if document is None or _admin_policy(arn):
                continue
            for statement in parse_document(document):
                for problem in (p for check in checks for p in check(statement)):
                    report_violation(f"{args.resource_type} '{args.name}' attaches the AWS-managed policy {arn}; "
                                     f"its published document {problem} (or accept the ARN in this "
                                     "policy's allowedManagedPolicies)")

    return resource_rule(name, description, fix, enforcement_level, ALLOWED_MANAGED_POLICIES)(validate)


POLICIES = [
    _statement_policy("iam-no-wildcard-actions",
                      "IAM statements name actions: no '*', no 'service:*', no wildcard matching several actions.",
                      "list the actions the code calls", _wildcard_actions),
    _statement_policy("iam-no-not-action-allow", "No Allow statement uses NotAction or NotResource.",
                      "list the actions and resources allowed", _not_action_or_resource),
    _statement_policy("iam-no-wildcard-resource",
                      "Resource '*' only for actions that have no resource-level permissions.",
                      "name the resources (their ARNs)", _wildcard_resources),
    _statement_policy("iam-known-actions", "Every action exists in AWS's IAM catalogue.",
                      "check the action's spelling against AWS's service authorization reference", _unknown_actions),
    _validate_managed_policies,
    _managed_contents_policy("iam-broad-managed-policies",
                             "No AWS-managed policy whose document grants wildcard actions or uses NotAction.",
                             "write a policy of the actions the principal needs",
                             EnforcementLevel.MANDATORY, _wildcard_actions, _not_action_or_resource),
    _statement_policy("iam-logs-every-log-group",
                      "Lambda's logging writes name the function's own log group (inline and AWS-managed alike).",
                      "name the function's own log group", _logs_everywhere, EnforcementLevel.ADVISORY),
    _managed_contents_policy("iam-logs-every-log-group-managed",
                             "An AWS-managed policy lets a function write into every log group.",
                             "write a policy naming the function's own log group",
                             EnforcementLevel.ADVISORY, _logs_everywhere),
    _managed_contents_policy("iam-managed-policy-every-resource",
                             "An AWS-managed policy grants resource-scoped actions on every resource.",
                             "write a policy naming the resources", EnforcementLevel.ADVISORY, _wildcard_resources),
]
