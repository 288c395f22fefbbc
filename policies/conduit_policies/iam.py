"""Least-privilege IAM: explicit actions on explicit resources, judged by AWS's own catalogue."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from pulumi_policy import ReportViolation, ResourceValidationArgs, ResourceValidationPolicy

from conduit_policies.documents import PolicyStatement, Props, as_list, identity_documents, parse_document
from conduit_policies.iam_actions import known_service, matching_actions, requires_wildcard_resource

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


def _statement_policy(name: str, description: str,
                      check: Callable[[PolicyStatement], Iterator[str]]) -> ResourceValidationPolicy:
    def validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
        for where, statement in _allow_statements(args):
            for problem in check(statement):
                report_violation(f"{args.resource_type} '{args.name}' {where}, {statement.label()}: {problem}")

    return ResourceValidationPolicy(name=name, description=description, validate=validate)


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
    if "*" not in statement.resources:
        return
    scoped = sorted({a for a in statement.actions if known_service(a)
                     for m in matching_actions(a) if not requires_wildcard_resource(m)})
    if scoped:
        yield (f"Resource '*' for {', '.join(scoped[:5])}{', ...' if len(scoped) > 5 else ''}, which support "
               "resource-level permissions; name the ARNs (of the table, queue, bucket objects...) instead")


def _unknown_actions(statement: PolicyStatement) -> Iterator[str]:
    for action in statement.actions:
        if action == "*" or action.endswith(":*"):
            continue
        if not known_service(action):
            yield f"{action!r} names no AWS service in IAM's catalogue; check the service prefix"
        elif not matching_actions(action):
            yield f"{action!r} is not an action of {action.split(':')[0]} in IAM's catalogue; check the spelling"


def _admin_policy(arn: str) -> bool:
    return arn.startswith("arn:aws:iam::aws:policy/") and (
        arn.endswith("/AdministratorAccess") or arn.endswith("FullAccess") or arn.endswith("/PowerUserAccess"))


def _validate_managed_policies(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    props = Props(args.props)
    arns: list[Any] = []
    if args.resource_type in ATTACHMENT_TYPES:
        arns = [props.get("policyArn")]
    elif args.resource_type == "aws:iam/role:Role":
        arns = as_list(props.get("managedPolicyArns"))
    for arn in arns:
        if isinstance(arn, str) and _admin_policy(arn):
            report_violation(f"{args.resource_type} '{args.name}' attaches the AWS-managed policy {arn}, which "
                             "grants far more than any one function needs; write a policy of the actions it uses")


POLICIES = [
    _statement_policy("iam-no-wildcard-actions",
                      "IAM statements name actions: no '*', no 'service:*', no wildcard matching several actions.",
                      _wildcard_actions),
    _statement_policy("iam-no-not-action-allow", "No Allow statement uses NotAction or NotResource.",
                      _not_action_or_resource),
    _statement_policy("iam-no-wildcard-resource",
                      "Resource '*' only for actions that have no resource-level permissions.",
                      _wildcard_resources),
    _statement_policy("iam-known-actions", "Every action exists in AWS's IAM catalogue.", _unknown_actions),
    ResourceValidationPolicy(name="iam-no-admin-managed-policies",
                             description="No AWS-managed administrator, power-user or *FullAccess policy.",
                             validate=_validate_managed_policies),
]
