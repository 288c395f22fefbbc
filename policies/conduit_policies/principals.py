"""Nobody and everybody: trust and resource policies must not let any principal in unconditionally.

`Principal: "*"` (or `{"AWS": "*"}`) in an Allow with no condition opens a role to be assumed, a
function to be invoked, a bucket, queue, topic or repository to be used by anyone on the internet.
Deny statements (a TLS-only bucket policy) are fine; so is a condition that narrows the caller
(source ARN, source account, organization, VPC endpoint).
"""

from __future__ import annotations

from typing import Any

from pulumi_policy import PolicyConfigSchema, ReportViolation, ResourceValidationArgs, ResourceValidationPolicy

from conduit_policies.documents import Props, as_list, statements_of

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
    "aws:lambda/layerVersionPermission:LayerVersionPermission": "",
}
# A Lambda permission narrows its principal with these instead of a condition.
PERMISSION_NARROWING = ("sourceArn", "sourceAccount", "principalOrgId", "functionUrlAuthType")


def _public(principal: Any, allowed: set[str]) -> bool:
    if principal == "*":
        return "*" not in allowed
    if isinstance(principal, dict):
        return any(p == "*" and "*" not in allowed for p in as_list(principal.get("AWS")))
    return False


def _no_public_principals(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    allowed = set((args.get_config() or {}).get("allowedPrincipals") or [])
    props = Props(args.props)
    if args.resource_type == "aws:lambda/permission:Permission":
        if props.get("principal") == "*" and "*" not in allowed and not any(props.get(k) for k in PERMISSION_NARROWING):
            report_violation(f"lambda permission '{args.name}' lets any principal ({props.get('action')}) invoke the "
                             "function; set source_arn (or source_account / principal_org_id) to the caller")
        return
    key = RESOURCE_POLICIES.get(args.resource_type)
    if not key:
        return
    for statement in statements_of(props.get(key)):
        if statement.get("Effect") == "Allow" and _public(statement.get("Principal"), allowed) \
                and not statement.get("Condition"):
            what = "assume the role" if args.resource_type == "aws:iam/role:Role" else "use it"
            report_violation(f"{args.resource_type} '{args.name}' {key}: an Allow with Principal '*' and no "
                             f"condition lets anyone {what} ({statement.get('Action')}); name the principals, or add "
                             "a condition such as aws:SourceArn, aws:SourceAccount or aws:PrincipalOrgID")


POLICIES = [
    ResourceValidationPolicy(
        name="no-public-principal",
        description="Trust and resource policies allow no unconditional Principal '*'.",
        validate=_no_public_principals,
        config_schema=PolicyConfigSchema(properties={"allowedPrincipals": {
            "type": "array", "items": {"type": "string"}, "default": [],
            "description": "principals accepted anyway; '*' turns the rule off for deliberate public access"}})),
]
