"""An S3 bucket nobody outside the account can reach, encrypted, and refusing plain HTTP."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from infra.blocks.naming import physical_name


@dataclass(frozen=True)
class PrivateBucketArgs:
    protect_data: bool = True
    """Keep the bucket (and its versions) when the stack is destroyed."""


class PrivateBucket(pulumi.ComponentResource):
    """Public access blocked, owner-enforced objects, SSE, TLS-only policy; versioned when protected."""

    name: pulumi.Output[str]
    arn: pulumi.Output[str]

    def __init__(self, name: str, args: PrivateBucketArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("conduit:blocks:PrivateBucket", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        bucket = aws.s3.Bucket(
            name, bucket=physical_name(name), force_destroy=not args.protect_data,
            opts=pulumi.ResourceOptions(parent=self, retain_on_delete=args.protect_data),
        )
        aws.s3.BucketPublicAccessBlock(
            f"{name}-no-public-access", bucket=bucket.id, block_public_acls=True, block_public_policy=True,
            ignore_public_acls=True, restrict_public_buckets=True, opts=child,
        )
        aws.s3.BucketOwnershipControls(
            f"{name}-owner-enforced", bucket=bucket.id, rule={"object_ownership": "BucketOwnerEnforced"},
            opts=child,
        )
        aws.s3.BucketServerSideEncryptionConfiguration(
            f"{name}-encryption", bucket=bucket.id,
            rules=[{"apply_server_side_encryption_by_default": {"sse_algorithm": "AES256"},
                    "bucket_key_enabled": True}],
            opts=child,
        )
        if args.protect_data:
            aws.s3.BucketVersioning(
                f"{name}-versioning", bucket=bucket.id, versioning_configuration={"status": "Enabled"},
                opts=child,
            )
        aws.s3.BucketPolicy(
            f"{name}-tls-only", bucket=bucket.id,
            policy=pulumi.Output.json_dumps({
                "Version": "2012-10-17",
                "Statement": [{
                    "Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
                    "Resource": [bucket.arn, bucket.arn.apply(lambda a: f"{a}/*")],
                    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                }],
            }),
            opts=child,
        )
        self.name, self.arn = bucket.bucket, bucket.arn
        self.register_outputs({"name": self.name, "arn": self.arn})
