"""S3 -> Lambda: a bucket's object events invoke functions.

The connection carries what it needs: S3's permission to invoke each function (limited to this
bucket and account), and one notification configuration written only after those permissions
and the bucket's own configuration exist. AWS validates the destinations when the notification is
put; without the permission the put fails, and concurrently with another bucket change S3 answers
`OperationAborted`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from infra.blocks.function import Function
from infra.blocks.private_bucket import PrivateBucket


@dataclass(frozen=True)
class Trigger:
    """Objects matching `prefix`/`suffix` invoke `function` on `events`; `label` names its permission."""

    label: str
    function: Function
    prefix: str | None = None
    suffix: str | None = None
    events: Sequence[str] = ("s3:ObjectCreated:*",)


class BucketToFunctions(pulumi.ComponentResource):
    def __init__(self, name: str, bucket: PrivateBucket, triggers: Sequence[Trigger],
                 opts: pulumi.ResourceOptions | None = None):
        super().__init__("conduit:blocks:BucketToFunctions", name, None, opts)
        account = aws.get_caller_identity_output().account_id
        permissions = [aws.lambda_.Permission(
            f"{t.label}-from-s3", action="lambda:InvokeFunction", function=t.function.name,
            principal="s3.amazonaws.com", source_arn=bucket.arn, source_account=account,
            opts=pulumi.ResourceOptions(parent=self)) for t in triggers]
        aws.s3.BucketNotification(
            name, bucket=bucket.name,
            lambda_functions=[{"lambda_function_arn": t.function.arn, "events": list(t.events),
                               **({"filter_prefix": t.prefix} if t.prefix else {}),
                               **({"filter_suffix": t.suffix} if t.suffix else {})} for t in triggers],
            opts=pulumi.ResourceOptions(parent=self, depends_on=[*permissions, bucket.configured]))
        self.register_outputs({})
