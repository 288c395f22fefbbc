"""An S3 bucket nobody outside the account can reach, encrypted, and refusing plain HTTP.

Bucket names are global across every AWS account: `conduit-<stack>-<name>` would collide with
the same stack deployed in any other account (`BucketAlreadyExists`), so the name carries the
account id and region too. S3 answers `OperationAborted` to concurrent changes of one bucket's
configuration, so its sub-resources are written one after another, and whatever else configures
the bucket (notifications) waits for `configured`.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from infra.blocks.naming import fit


@dataclass(frozen=True)
class PrivateBucketArgs:
    protect_data: bool = True
    """Keep the bucket (and its versions) when the stack is destroyed."""


def bucket_name(name: str, account: str, region: str) -> str:
    """`conduit-<stack>-<name>-<account>-<region>`, fitted to S3's rules (63 characters, lower case)."""
    return fit(f"conduit-{pulumi.get_stack()}-{name}-{account}-{region}", "bucket")


class PrivateBucket(pulumi.ComponentResource):
    """Public access blocked, owner-enforced objects, SSE, TLS-only policy; versioned when protected."""

    name: pulumi.Output[str]
    arn: pulumi.Output[str]
    configured: pulumi.Resource
    """The last of the bucket's configuration: depend on it before changing the bucket further."""

    def __init__(self, name: str, args: PrivateBucketArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("conduit:blocks:PrivateBucket", name, None, opts)
        account = aws.get_caller_identity_output().account_id
        region = aws.get_region_output().region
        bucket = aws.s3.Bucket(
            name, bucket=pulumi.Output.all(account, region).apply(lambda ar: bucket_name(name, ar[0], ar[1])),
            force_destroy=not args.protect_data,
            opts=pulumi.ResourceOptions(parent=self, retain_on_delete=args.protect_data),
        )
        last: pulumi.Resource = bucket

        def after_last() -> pulumi.ResourceOptions:
            return pulumi.ResourceOptions(parent=self, depends_on=[last])

        last = aws.s3.BucketPublicAccessBlock(
            f"{name}-no-public-access", bucket=bucket.id, block_public_acls=True, block_public_policy=True,
            ignore_public_acls=True, restrict_public_buckets=True, opts=after_last(),
        )
        last = aws.s3.BucketOwnershipControls(
            f"{name}-owner-enforced", bucket=bucket.id, rule={"object_ownership": "BucketOwnerEnforced"},
            opts=after_last(),
        )
        last = aws.s3.BucketServerSideEncryptionConfiguration(
            f"{name}-encryption", bucket=bucket.id,
            rules=[{"apply_server_side_encryption_by_default": {"sse_algorithm": "AES256"},
                    "bucket_key_enabled": True}],
            opts=after_last(),
        )
        if args.protect_data:
            last = aws.s3.BucketVersioning(
                f"{name}-versioning", bucket=bucket.id, versioning_configuration={"status": "Enabled"},
                opts=after_last(),
            )
        last = aws.s3.BucketPolicy(
            f"{name}-tls-only", bucket=bucket.id,
            policy=pulumi.Output.json_dumps({
                "Version": "2012-10-17",
                "Statement": [{
                    "Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
                    "Resource": [bucket.arn, bucket.arn.apply(lambda a: f"{a}/*")],
                    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                }],
            }),
            opts=after_last(),
        )
        self.configured = last
        self.name, self.arn = bucket.bucket, bucket.arn
        self.register_outputs({"name": self.name, "arn": self.arn})
