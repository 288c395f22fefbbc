"""Where every alarm of a stack goes: one encrypted SNS topic, with an e-mail subscriber if set."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from infra.blocks.naming import physical_name


class AlarmTopic(pulumi.ComponentResource):
    arn: pulumi.Output[str]

    def __init__(self, name: str, email: str | None, opts: pulumi.ResourceOptions | None = None):
        super().__init__("conduit:blocks:AlarmTopic", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        topic = aws.sns.Topic(name, name=physical_name(name), kms_master_key_id="alias/aws/sns", opts=child)
        if email:
            aws.sns.TopicSubscription(f"{name}-email", topic=topic.arn, protocol="email", endpoint=email,
                                      opts=child)
        self.arn = topic.arn
        self.register_outputs({"arn": self.arn})
