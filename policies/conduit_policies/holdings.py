"""Everything a role holds, across the ways a program can give it permissions: inline `RolePolicy`
resources, the role's `inlinePolicies`, customer-managed policies attached by `RolePolicyAttachment`
or `managedPolicyArns` (their documents read from the `aws.iam.Policy` they were built from), and
AWS-managed policies by their published documents (managed_policies.py). Judging statement by
statement misses what only their sum grants; these validators judge the sum."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from pulumi_policy import PolicyResource

from conduit_policies.documents import PolicyStatement, as_list, parse_document, statements_of
from conduit_policies.graph import StackGraph, value
from conduit_policies.managed_policies import AWS_MANAGED_ARN, managed_document
from conduit_policies.unjudged import Unknown

ROLE, ROLE_POLICY = "aws:iam/role:Role", "aws:iam/rolePolicy:RolePolicy"
ATTACHMENT, POLICY = "aws:iam/rolePolicyAttachment:RolePolicyAttachment", "aws:iam/policy:Policy"
EXCLUSIVE = "aws:iam/rolePolicyAttachmentsExclusive:RolePolicyAttachmentsExclusive"


@dataclass(frozen=True)
class Held:
    """One statement a role holds, where it comes from, and its raw form (conditions included)."""

    statement: PolicyStatement
    raw: dict[str, Any]
    source: str  # "inline policy 'x'", "AWS-managed policy ReadOnlyAccess", ...


def _statements(document: Any, source: str) -> Iterator[Held]:
    for raw, statement in zip(statements_of(document), parse_document(document), strict=True):
        yield Held(statement, dict(raw), source)


def _managed(graph: StackGraph, arn: Any, carrier: PolicyResource | None, prop: str) -> Iterator[Held]:
    """A managed policy named by ARN: from the aws.iam.Policy the ARN was built from, else AWS's own."""
    built_from = graph.through(carrier, prop, POLICY) if carrier is not None else []
    for policy in built_from:
        yield from _statements(value(policy, "policy"), f"customer-managed policy '{policy.name}'")
    if built_from or not isinstance(arn, str):
        return  # (a None ARN: one the program's own policy will have, unknown in a preview)
    document = managed_document(arn)
    match = AWS_MANAGED_ARN.fullmatch(arn)
    if document is not None and match:
        yield from _statements(document, f"AWS-managed policy {match['name']}")


def role_holdings(graph: StackGraph, role: PolicyResource) -> list[Held]:
    """Every statement `role` holds; raises Unknown while a document it needs is unknown."""
    held: list[Held] = []
    for n, inline in enumerate(as_list(value(role, "inlinePolicies"))):
        if isinstance(inline, dict) and inline.get("policy"):
            held += _statements(inline["policy"], f"inline policy '{inline.get('name') or n}'")
    for arn in as_list(_arns(graph, role, "managedPolicyArns")):
        held += _managed(graph, arn, role, "managedPolicyArns")
    for policy in graph.referring(role, "role", ROLE_POLICY):
        held += _statements(value(policy, "policy"), f"inline policy '{policy.name}'")
    for attachment in graph.referring(role, "role", ATTACHMENT):
        held += _managed(graph, _arns(graph, attachment, "policyArn"), attachment, "policyArn")
    for exclusive in graph.referring(role, "roleName", EXCLUSIVE):
        for arn in as_list(_arns(graph, exclusive, "policyArns")):
            held += _managed(graph, arn, exclusive, "policyArns")
    return held


def _arns(graph: StackGraph, carrier: PolicyResource, prop: str) -> Any:
    """The policy ARN(s) `carrier` names. Unknown in a preview when built from an `aws.iam.Policy` of
    the program; its document is known all the same, so None stands for the ARN then."""
    try:
        return value(carrier, prop)
    except Unknown:
        if graph.through(carrier, prop, POLICY):
            return None
        raise


def role_sources(graph: StackGraph, role: PolicyResource) -> set[str]:
    """URNs of the policy resources whose statements `role` holds (judged with the role, not alone)."""
    found = {p.urn for p in graph.referring(role, "role", ROLE_POLICY)}
    found |= {p.urn for p in graph.through(role, "managedPolicyArns", POLICY)}
    for attachment in graph.referring(role, "role", ATTACHMENT):
        found |= {p.urn for p in graph.through(attachment, "policyArn", POLICY)}
    for exclusive in graph.referring(role, "roleName", EXCLUSIVE):
        found |= {p.urn for p in graph.through(exclusive, "policyArns", POLICY)}
    return found


def roles_through(graph: StackGraph, resource: PolicyResource, prop: str) -> list[PolicyResource]:
    return graph.through(resource, prop, ROLE)


__all__ = ["Held", "Unknown", "role_holdings", "role_sources", "roles_through"]
