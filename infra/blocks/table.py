"""A DynamoDB table with encryption, on-demand capacity and per-stack recovery and protection."""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from infra.blocks.defaults import DataProtection
from infra.blocks.naming import physical_name


@dataclass(frozen=True)
class TableArgs:
    hash_key: str
    range_key: str | None = None
    protection: DataProtection = field(default_factory=DataProtection)
    stream_view_type: str | None = None
    ttl_attribute: str | None = None
    """An attribute holding an expiry time (epoch seconds): DynamoDB deletes items past it."""


class Table(pulumi.ComponentResource):
    """String keys only; the caller names them, the block chooses everything else."""

    name: pulumi.Output[str]
    arn: pulumi.Output[str]
    stream_arn: pulumi.Output[str]

    def __init__(self, name: str, args: TableArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("conduit:blocks:Table", name, None, opts)
        keys = [args.hash_key] + ([args.range_key] if args.range_key else [])
        table = aws.dynamodb.Table(
            name,
            name=physical_name(name, kind="table"),
            billing_mode="PAY_PER_REQUEST",
            hash_key=args.hash_key,
            range_key=args.range_key,
            attributes=[{"name": k, "type": "S"} for k in keys],
            server_side_encryption={"enabled": True},
            point_in_time_recovery={"enabled": args.protection.point_in_time_recovery},
            deletion_protection_enabled=args.protection.protect_data,
            stream_enabled=args.stream_view_type is not None,
            stream_view_type=args.stream_view_type,
            ttl={"attribute_name": args.ttl_attribute, "enabled": True} if args.ttl_attribute else None,
            opts=pulumi.ResourceOptions(parent=self, retain_on_delete=args.protection.protect_data),
        )
        self.name, self.arn, self.stream_arn = table.name, table.arn, table.stream_arn
        self.register_outputs({"name": self.name, "arn": self.arn})
