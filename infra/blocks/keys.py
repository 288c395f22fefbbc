"""A customer managed KMS key that named AWS services may use: what an AWS-managed key cannot be.

AWS-managed keys (`alias/aws/sns`, `alias/aws/sqs`) have key policies nobody can change, and
those policies admit only principals of the account calling through the service. A service that
publishes on its own behalf (CloudWatch alarms, EventBridge, S3 notifications) is not such a
principal, so its deliveries to a topic or queue under such a key fail silently. AWS's SNS guide
("Enable compatibility between event sources from AWS services and encrypted topics") asks for a
customer managed key whose policy grants the service `kms:Decrypt` and `kms:GenerateDataKey*`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from infra.blocks.iam import Statement, policy_document, service
from infra.blocks.naming import physical_name


@dataclass(frozen=True)
class ServiceKeyArgs:
    services: Sequence[str]
    """Service principals that encrypt with the key, e.g. `cloudwatch.amazonaws.com`."""
    description: str = ""


class ServiceKey(pulumi.ComponentResource):
    """Rotated yearly; the account administers it (the standard root statement), the services use it."""

    arn: pulumi.Output[str]

    def __init__(self, name: str, args: ServiceKeyArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("conduit:blocks:ServiceKey", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        identity = aws.get_caller_identity_output()
        partition = aws.get_partition_output().partition
        root = pulumi.Output.concat("arn:", partition, ":iam::", identity.account_id, ":root")
        # In a key policy "*" means this key; the root statement lets IAM policies of the account
        # administer it, so the key can never become unmanageable.
        statements = [
            Statement(["kms:*"], ["*"], principals={"AWS": [root]}, sid="AccountAdministersTheKey"),
            # Only on this account's behalf (the confused deputy): CloudWatch sends aws:SourceAccount with
            # its KMS requests. EventBridge does not; a key for it would need another block.
            Statement(["kms:Decrypt", "kms:GenerateDataKey*"], ["*"], principals=service(*args.services),
                      condition={"StringEquals": {"aws:SourceAccount": identity.account_id}},
                      sid="ServicesEncryptWhatTheyDeliver"),
        ]
        key = aws.kms.Key(name, description=args.description, enable_key_rotation=True,
                          deletion_window_in_days=30, policy=policy_document(statements), opts=child)
        aws.kms.Alias(f"{name}-alias", name=f"alias/{physical_name(name, kind='kms-alias')}", target_key_id=key.key_id,
                      opts=child)
        self.arn = key.arn
        self.register_outputs({"arn": self.arn})
