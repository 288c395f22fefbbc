"""Good defaults a reviewer would ask about; advisory unless the pack's config says otherwise."""

from __future__ import annotations

from typing import Any

import pulumi
from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    ReportViolation,
    ResourceValidationArgs,
    StackValidationArgs,
)
from pulumi_policy.proxy import UnknownValueError

from conduit_policies.documents import Props, only, statements_of
from conduit_policies.registry import resource_rule, stack_rule
from conduit_policies.unjudged import Unknown, is_set, judged, known_or_none, note

ADVISORY = EnforcementLevel.ADVISORY


@resource_rule("encryption-at-rest", "Queues, topics and tables are encrypted.",
               "turn on the service's server-side encryption (a KMS key where you must audit its use)",
               ADVISORY)
def _encryption(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    p = Props(args.props)
    # A key whose ARN is not known yet (a preview) is set all the same.
    keyed = is_set(lambda: p.get("kmsMasterKeyId"))
    if args.resource_type == "aws:sqs/queue:Queue" and not (p.get("sqsManagedSseEnabled") or keyed):
        report_violation(f"queue '{args.name}' is not encrypted at rest; set sqs_managed_sse_enabled=True")
    elif args.resource_type == "aws:sns/topic:Topic" and not keyed:
        report_violation(f"topic '{args.name}' is not encrypted at rest; set kms_master_key_id: alias/aws/sns serves "
                         "topics only roles of the account publish to, but a topic AWS services publish to "
                         "(CloudWatch alarms, EventBridge, S3) needs a customer managed key whose policy "
                         "allows those services kms:GenerateDataKey* and kms:Decrypt")
    elif args.resource_type == "aws:dynamodb/table:Table" and not p.at("serverSideEncryption", "enabled"):
        report_violation(f"table '{args.name}' uses an AWS-owned key; enable server_side_encryption for a KMS key "
                         "you can audit")


def _configured_buckets(args: StackValidationArgs, type_: str,
                        accepts: Any = None) -> tuple[set[str], set[str], set[str]]:
    """(URNs, names) of buckets a configuration resource of `type_` applies to, by URN through the
    engine's dependencies where known, by name otherwise; and the URNs of buckets whose
    configuration cannot be read yet (a preview)."""
    urns, names, undecided = set(), set(), set()
    for r in args.resources:
        if r.resource_type != type_:
            continue
        targets = {d.urn for d in (r.property_dependencies or {}).get("bucket", [])}
        if accepts is not None:
            try:
                if not accepts(Props(r.props)):
                    continue
            except (Unknown, UnknownValueError):
                undecided |= targets
                continue
        urns |= targets
        names.add(known_or_none(lambda r=r: Props(r.props).get("bucket")))
    return urns, names, undecided


def _unconfigured_buckets(args: StackValidationArgs, type_: str, accepts: Any = None) -> Any:
    urns, names, undecided = _configured_buckets(args, type_, accepts)
    for r in args.resources:
        if r.resource_type not in ("aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2") or r.urn in urns:
            continue
        if r.urn in undecided:
            note(r.urn, ".policy of its bucket policy")
        elif judged(r.urn, lambda r=r: not {Props(r.props).get("bucket"), Props(r.props).get("id")} & names):
            yield r


@stack_rule("s3-encryption-at-rest", "Buckets have server-side encryption.",
            "declare a BucketServerSideEncryptionConfiguration for the bucket", ADVISORY)
def _buckets_encrypted(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    type_ = "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
    for r in _unconfigured_buckets(args, type_):
        report_violation(f"bucket '{r.name}' has no server-side encryption configuration", r.urn)


@resource_rule("log-retention", "Log groups set a retention period.", "set retention_in_days",
               ADVISORY)
@only("aws:cloudwatch/logGroup:LogGroup")
def _log_retention(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    if not Props(args.props).get("retentionInDays"):
        report_violation(f"log group '{args.name}' keeps logs forever (and bills for them); set retention_in_days")


@resource_rule("prod-point-in-time-recovery", "Tables have point-in-time recovery in the stacks named in config.",
               "set point_in_time_recovery.enabled", ADVISORY,
               PolicyConfigSchema(properties={"stacks": {"type": "array", "items": {"type": "string"},
                                                         "default": ["prod"]}}))
@only("aws:dynamodb/table:Table")
def _point_in_time_recovery(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    stacks = (args.get_config() or {}).get("stacks", ["prod"])
    if pulumi.get_stack() in stacks and not (Props(args.props).get("pointInTimeRecovery") or {}).get("enabled"):
        report_violation(f"table '{args.name}' has no point-in-time recovery in stack '{pulumi.get_stack()}'")


def _tls_only(statements: Any) -> bool:
    for s in statements:
        if s.get("Effect") == "Deny" and str((s.get("Condition") or {}).get("Bool", {}).get(
                "aws:SecureTransport", "")).lower() == "false":
            return True
    return False


@stack_rule("s3-tls-only", "Buckets refuse requests not sent over TLS.",
            "add a bucket policy denying requests whose aws:SecureTransport is false",
            ADVISORY)
def _buckets_tls_only(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    def denies_plain_http(props: Props) -> bool:
        return _tls_only(statements_of(props.get("policy")))

    for r in _unconfigured_buckets(args, "aws:s3/bucketPolicy:BucketPolicy", denies_plain_http):
        report_violation(f"bucket '{r.name}' accepts plain HTTP; add a bucket policy denying requests with "
                         "aws:SecureTransport false", r.urn)


POLICIES = [
    _encryption,
    _buckets_encrypted,
    _log_retention,
    _point_in_time_recovery,
    _buckets_tls_only,
]
