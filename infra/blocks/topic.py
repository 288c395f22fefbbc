"""An encrypted SNS topic whose key every publisher can use.

Roles of the account (functions, IoT rule roles) publish through SNS and may use the AWS-managed
key; AWS services that publish on their own behalf (`service_publishers`) cannot, so the topic
then gets a customer managed key that grants them (infra/blocks/keys.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from infra.blocks.keys import ServiceKey, ServiceKeyArgs
from infra.blocks.naming import physical_name

AWS_MANAGED_SNS_KEY = "alias/aws/sns"


@dataclass(frozen=True)
class TopicArgs:
    service_publishers: Sequence[str] = ()
    """Service principals that publish to the topic themselves, e.g. `cloudwatch.amazonaws.com`."""


class Topic(pulumi.ComponentResource):
    arn: pulumi.Output[str]

    def __init__(self, name: str, args: TopicArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("conduit:blocks:Topic", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        key: pulumi.Input[str] = AWS_MANAGED_SNS_KEY
        if args.service_publishers:
            key = ServiceKey(f"{name}-key", ServiceKeyArgs(
                services=args.service_publishers, description=f"Encrypts SNS topic {name}"), opts=child).arn
        topic = aws.sns.Topic(name, name=physical_name(name, kind="topic"), kms_master_key_id=key, opts=child)
        self.arn = topic.arn
        self.register_outputs({"arn": self.arn})
