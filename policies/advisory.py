"""Good defaults a reviewer would ask about; advisory unless the pack's config says otherwise."""

from __future__ import annotations

from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

from policies.documents import only, plain


def _encryption(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    p = plain(args.props)
    if args.resource_type == "aws:sqs/queue:Queue" and not (p.get("sqsManagedSseEnabled") or p.get("kmsMasterKeyId")):
        report_violation(f"queue '{args.name}' is not encrypted at rest; set sqs_managed_sse_enabled=True")
    elif args.resource_type == "aws:sns/topic:Topic" and not p.get("kmsMasterKeyId"):
        report_violation(f"topic '{args.name}' is not encrypted at rest; set kms_master_key_id: alias/aws/sns serves "
                         "topics only roles of the account publish to, but a topic AWS services publish to "
                         "(CloudWatch alarms, EventBridge, S3) needs a customer managed key whose policy "
                         "allows those services kms:GenerateDataKey* and kms:Decrypt")
    elif args.resource_type == "aws:dynamodb/table:Table" and not (p.get("serverSideEncryption") or {}).get("enabled"):
        report_violation(f"table '{args.name}' uses an AWS-owned key; enable server_side_encryption for a KMS key "
                         "you can audit")


def _buckets_encrypted(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    encrypted = {plain(r.props).get("bucket") for r in args.resources if r.resource_type ==
                 "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"}
    for r in args.resources:
        if r.resource_type == "aws:s3/bucket:Bucket":
            names = {plain(r.props).get("bucket"), plain(r.props).get("id")}
            if not names & encrypted:
                report_violation(f"bucket '{r.name}' has no server-side encryption configuration", r.urn)


@only("aws:cloudwatch/logGroup:LogGroup")
def _log_retention(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    if not plain(args.props).get("retentionInDays"):
        report_violation(f"log group '{args.name}' keeps logs forever (and bills for them); set retention_in_days")


@only("aws:dynamodb/table:Table")
def _point_in_time_recovery(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    stacks = (args.get_config() or {}).get("stacks", ["prod"])
    import pulumi

    if pulumi.get_stack() in stacks and not (plain(args.props).get("pointInTimeRecovery") or {}).get("enabled"):
        report_violation(f"table '{args.name}' has no point-in-time recovery in stack '{pulumi.get_stack()}'")


def _tls_only(statements: Any) -> bool:
    for s in statements:
        if s.get("Effect") == "Deny" and str((s.get("Condition") or {}).get("Bool", {}).get(
                "aws:SecureTransport", "")).lower() == "false":
            return True
    return False


def _buckets_tls_only(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    import json

    protected = set()
    for r in args.resources:
        if r.resource_type == "aws:s3/bucketPolicy:BucketPolicy":
            props = plain(r.props)
            document = props.get("policy")
            document = json.loads(document) if isinstance(document, str) else document or {}
            statements = document.get("Statement") or []
            if _tls_only(statements if isinstance(statements, list) else [statements]):
                protected.add(props.get("bucket"))
    for r in args.resources:
        if r.resource_type == "aws:s3/bucket:Bucket":
            props = plain(r.props)
            if not {props.get("bucket"), props.get("id")} & protected:
                report_violation(f"bucket '{r.name}' accepts plain HTTP; add a bucket policy denying requests with "
                                 "aws:SecureTransport false", r.urn)


ADVISORY = EnforcementLevel.ADVISORY
POLICIES = [
    ResourceValidationPolicy(name="encryption-at-rest", description="Queues, topics and tables are encrypted.",
                             validate=_encryption, enforcement_level=ADVISORY),
    StackValidationPolicy(name="s3-encryption-at-rest", description="Buckets have server-side encryption.",
                          validate=_buckets_encrypted, enforcement_level=ADVISORY),
    ResourceValidationPolicy(name="log-retention", description="Log groups set a retention period.",
                             validate=_log_retention, enforcement_level=ADVISORY),
    ResourceValidationPolicy(name="prod-point-in-time-recovery",
                             description="Tables have point-in-time recovery in the stacks named in config.",
                             validate=_point_in_time_recovery, enforcement_level=ADVISORY,
                             config_schema=PolicyConfigSchema(properties={"stacks": {
                                 "type": "array", "items": {"type": "string"}, "default": ["prod"]}})),
    StackValidationPolicy(name="s3-tls-only", description="Buckets refuse requests not sent over TLS.",
                          validate=_buckets_tls_only, enforcement_level=ADVISORY),
]
