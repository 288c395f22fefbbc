"""Who may use a resource: nobody unconditionally, and AWS services only on the program's behalf.

- `Principal: "*"` (or `{"AWS": "*"}`) in an Allow opens a role to be assumed, a function to be
  invoked, a bucket, queue, topic, key or repository to be used by anyone on the internet, unless a
  condition really narrows the caller: a source ARN, account or organization, a principal's account,
  ARN or organization, a VPC or VPC endpoint. A condition that narrows nothing (a value of `*`, an
  `...IfExists` operator, a TLS requirement) is no narrowing.
- An AWS service principal without `aws:SourceArn`/`aws:SourceAccount` (or a Lambda permission
  without `source_arn`/`source_account`) lets that service act for any account that asks it: the
  confused deputy. Role trust policies are exempt: services assume roles only for their own account.
- A deliberate exposure is recordable: a `conduit:reviewed-exposure` tag on the resource saying why,
  an entry of this policy's `reviewedExposures` config (`{"urn": ..., "reason": ...}`), or, for a
  bucket, its own public access block explicitly turned off for public policies (the review a public
  website bucket needs). Reviewed exposures are reported by the advisory `reviewed-exposure`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    PolicyResource,
    ReportViolation,
    StackValidationArgs,
)

from conduit_policies.documents import as_list, statements_of
from conduit_policies.graph import StackGraph, value
from conduit_policies.registry import stack_rule
from conduit_policies.unjudged import Unknown, note

# Resource type -> the property holding its resource (or trust) policy document.
RESOURCE_POLICIES = {
    "aws:iam/role:Role": "assumeRolePolicy",
    "aws:s3/bucketPolicy:BucketPolicy": "policy",
    "aws:sqs/queuePolicy:QueuePolicy": "policy",
    "aws:sqs/queue:Queue": "policy",
    "aws:sns/topicPolicy:TopicPolicy": "policy",
    "aws:sns/topic:Topic": "policy",
    "aws:ecr/repositoryPolicy:RepositoryPolicy": "policy",
    "aws:kms/key:Key": "policy",
    "aws:secretsmanager/secretPolicy:SecretPolicy": "policy",
}
PERMISSION = "aws:lambda/permission:Permission"
# A Lambda permission narrows its principal with these instead of a condition.
PERMISSION_NARROWING = ("sourceArn", "sourceAccount", "principalOrgId", "functionUrlAuthType")
SOURCE_NARROWING = ("sourceArn", "sourceAccount")
# Condition keys that narrow who is calling (for a public principal) or on whose behalf (for a service).
NARROWING_KEYS = {"aws:sourcearn", "aws:sourceaccount", "aws:sourceorgid", "aws:sourceorgpaths", "aws:sourceowner",
                  "aws:principalorgid", "aws:principalaccount", "aws:principalarn", "aws:principalorgpaths",
                  "aws:sourcevpc", "aws:sourcevpce", "aws:userid", "aws:username"}
ON_BEHALF_KEYS = {"aws:sourcearn", "aws:sourceaccount", "aws:sourceorgid", "aws:sourceorgpaths", "aws:sourceowner"}
# Services whose requests to KMS carry no aws:SourceArn/aws:SourceAccount (AWS documents so for
# EventBridge's deliveries to encrypted targets): a condition on them would drop every delivery.
NO_SOURCE_CONTEXT_IN_KMS = {"events.amazonaws.com"}
REVIEW_TAG = "conduit:reviewed-exposure"
BUCKET_OWNED = {"aws:s3/bucketPolicy:BucketPolicy": "bucket"}
PUBLIC_ACCESS_BLOCK = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
REVIEWS = PolicyConfigSchema(properties={
    "allowedPrincipals": {"type": "array", "items": {"type": "string"}, "default": [],
                          "description": "principals accepted anyway"},
    "reviewedExposures": {"type": "array", "default": [], "items": {
        "type": "object", "properties": {"urn": {"type": "string"}, "reason": {"type": "string"}},
        "required": ["urn", "reason"]}, "description": "resources exposed on purpose, each with why"}})


def narrows(condition: Any, keys: set[str]) -> bool:
    """Whether a Condition block really narrows by one of `keys`: a value other than `*`, under an
    operator that applies when the key is absent too (no `...IfExists`)."""
    if not isinstance(condition, dict):
        return False
    for operator, entries in condition.items():
        if "ifexists" in str(operator).lower() or not isinstance(entries, dict) \
                or str(operator).lower().startswith("null"):
            continue
        for key, values in entries.items():
            if key.lower() in keys and any(str(v) not in ("*", "") for v in as_list(values)):
                return True
    return False


@dataclass(frozen=True)
class Exposure:
    resource: PolicyResource
    message: str


def _public(principal: Any, allowed: set[str]) -> bool:
    if principal == "*":
        return "*" not in allowed
    if isinstance(principal, dict):
        return any(p == "*" and "*" not in allowed for p in as_list(principal.get("AWS")))
    return False


def _services(principal: Any) -> list[str]:
    return [str(s) for s in as_list(principal.get("Service"))] if isinstance(principal, dict) else []


Unknowns = Callable[[Unknown], None]
"""Told of each resource whose setting is unknown: it is listed unjudged, and the others are judged."""


def _read(resource: PolicyResource, keys: Iterable[str], unknown: Unknowns) -> list[Any] | None:
    try:
        return [value(resource, key) for key in keys]
    except Unknown as exc:
        unknown(exc)
        return None


def _documents(graph: StackGraph, unknown: Unknowns, roles: bool = True
               ) -> Iterator[tuple[str, PolicyResource, str, dict[str, Any]]]:
    """(type, resource, property, statement) of every resource policy (and trust policy, with `roles`)."""
    for type_, key in RESOURCE_POLICIES.items():
        if type_ == "aws:iam/role:Role" and not roles:
            continue
        for resource in graph.of_type(type_):
            read = _read(resource, [key], unknown)
            for statement in statements_of(read[0]) if read else []:
                yield type_, resource, key, statement


def _exposures(graph: StackGraph, allowed: set[str], unknown: Unknowns) -> Iterator[Exposure]:
    for permission in graph.of_type(PERMISSION):
        read = _read(permission, ["principal", "action", *PERMISSION_NARROWING], unknown)
        if read and read[0] == "*" and "*" not in allowed and not any(read[2:]):
            yield Exposure(permission, f"lambda permission '{permission.name}' lets any principal ({read[1]}) "
                                       "invoke the function; set source_arn (or source_account / "
                                       "principal_org_id) to the caller")
    for type_, resource, key, statement in _documents(graph, unknown):
        if statement.get("Effect") == "Allow" and _public(statement.get("Principal"), allowed) \
                and not narrows(statement.get("Condition"), NARROWING_KEYS):
            what = "assume the role" if type_ == "aws:iam/role:Role" else "use it"
            yield Exposure(resource, f"{type_} '{resource.name}' {key}: an Allow with Principal '*' and no "
                                     f"narrowing condition lets anyone {what} ({statement.get('Action')}); "
                                     "name the principals, or add a condition such as aws:SourceArn, "
                                     "aws:SourceAccount or aws:PrincipalOrgID")


def _confused_deputies(graph: StackGraph, unknown: Unknowns) -> Iterator[Exposure]:
    for permission in graph.of_type(PERMISSION):
        read = _read(permission, ["principal", *SOURCE_NARROWING], unknown)
        principal = str(read[0] or "") if read else ""
        if principal.endswith(".amazonaws.com") and not any(read[1:]):
            yield Exposure(permission, f"lambda permission '{permission.name}' lets {principal} invoke the function "
                                       "for any account that asks it (the confused deputy): set source_arn to the "
                                       "resource that invokes it, or source_account")
    # A service assumes a role only for its own account: trust policies are not judged here.
    for type_, resource, key, statement in _documents(graph, unknown, roles=False):
        services = _services(statement.get("Principal"))
        if type_ == "aws:kms/key:Key":
            services = [s for s in services if s not in NO_SOURCE_CONTEXT_IN_KMS]
        if statement.get("Effect") == "Allow" and services and not narrows(statement.get("Condition"), ON_BEHALF_KEYS):
            yield Exposure(resource, f"{type_} '{resource.name}' {key}: {', '.join(services)} may "
                                     f"{statement.get('Action')} for any account that asks it (the confused "
                                     "deputy); add a condition on aws:SourceArn or aws:SourceAccount")


def _reviewed(graph: StackGraph, resource: PolicyResource, config: dict[str, Any]) -> str | None:
    """Why an exposure of `resource` is deliberate, or None."""
    for entry in config.get("reviewedExposures") or []:
        if isinstance(entry, dict) and entry.get("urn") == resource.urn and entry.get("reason"):
            return str(entry["reason"])
    subjects = [resource, *graph.through(resource, BUCKET_OWNED.get(resource.resource_type, ""))]
    for subject in subjects:
        tags = value(subject, "tags") or {}
        if isinstance(tags, dict) and tags.get(REVIEW_TAG):
            return str(tags[REVIEW_TAG])
    for bucket in subjects[1:]:
        for block in graph.referring(bucket, "bucket", PUBLIC_ACCESS_BLOCK):
            if value(block, "blockPublicPolicy") is False and value(block, "restrictPublicBuckets") is False:
                return f"its public access block '{block.name}' is turned off for public policies on purpose"
    return None


def _noting(exc: Unknown) -> None:
    note(exc.urn, exc.path)


def _judge(find: Callable[[StackGraph, dict[str, Any], Unknowns], Iterator[Exposure]]) -> Any:
    def validate(args: StackValidationArgs, report_violation: ReportViolation) -> None:
        graph = StackGraph(args)
        config = args.get_config() or {}
        for exposure in find(graph, config, _noting):
            try:
                reason = _reviewed(graph, exposure.resource, config)
            except Unknown as exc:
                note(exc.urn, exc.path)
                continue
            if reason is None:
                report_violation(exposure.message, exposure.resource.urn)

    return validate


@stack_rule("reviewed-exposure",
            "Exposures accepted after review (a conduit:reviewed-exposure tag, a reviewedExposures entry, "
            "or a bucket's public access block turned off), each reported with its reason.",
            "read the reason again; remove the review when the exposure is no longer wanted",
            EnforcementLevel.ADVISORY, REVIEWS)
def _reviewed_exposures(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    graph = StackGraph(args)
    config = args.get_config() or {}
    for exposure in [*_exposures(graph, set(), _noting), *_confused_deputies(graph, _noting)]:
        try:
            reason = _reviewed(graph, exposure.resource, config)
        except Unknown as exc:
            _noting(exc)
            continue
        if reason is not None:
            report_violation(f"accepted after review ({reason}): {exposure.message}", exposure.resource.urn)


POLICIES = [
    stack_rule("no-public-principal",
               "Trust and resource policies allow no Principal '*' without a condition that narrows it.",
               "name the principal, or add a condition (aws:SourceArn, aws:PrincipalOrgID, ...) that narrows it",
               config_schema=REVIEWS)(_judge(lambda graph, config, unknown: _exposures(
                   graph, set(config.get("allowedPrincipals") or []), unknown))),
    stack_rule("service-principal-source",
               "A service principal acts only on this program's behalf: aws:SourceArn or aws:SourceAccount "
               "(source_arn / source_account for a Lambda permission).",
               "set source_arn (or source_account), or an aws:SourceArn condition",
               config_schema=REVIEWS)(_judge(lambda graph, _config, unknown: _confused_deputies(graph, unknown))),
    _reviewed_exposures,
]
