"""Where every alarm of a stack goes: one encrypted SNS topic CloudWatch can publish to, with an
e-mail subscriber if set, whose undeliverable notifications wait in a dead-letter queue."""

from __future__ import annotations

import json

import pulumi
import pulumi_aws as aws

from infra.blocks.iam import Statement, from_source, service
from infra.blocks.queue import DeadLetterQueue, DeadLetterQueueArgs, queue_policy
from infra.blocks.topic import Topic, TopicArgs


class AlarmTopic(pulumi.ComponentResource):
    arn: pulumi.Output[str]

    def __init__(self, name: str, email: str | None, opts: pulumi.ResourceOptions | None = None):
        super().__init__("conduit:blocks:AlarmTopic", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        # CloudWatch publishes alarm actions itself: the topic's key must grant it (not the AWS-managed key).
        topic = Topic(name, TopicArgs(service_publishers=["cloudwatch.amazonaws.com"]), opts=child)
        if email:
            undelivered = DeadLetterQueue(f"{name}-email-undelivered", DeadLetterQueueArgs(alarm_topic_arn=topic.arn),
                                          opts=child)
            allowed = queue_policy(f"{name}-email-undelivered-from-sns", undelivered, [Statement(
                ["sqs:SendMessage"], [undelivered.arn], principals=service("sns.amazonaws.com"),
                condition=from_source(topic.arn))], child)
            aws.sns.TopicSubscription(
                f"{name}-email", topic=topic.arn, protocol="email", endpoint=email,
                redrive_policy=undelivered.arn.apply(lambda arn: json.dumps({"deadLetterTargetArn": arn})),
                opts=pulumi.ResourceOptions(parent=self, depends_on=[allowed]))
        self.arn = topic.arn
        self.register_outputs({"arn": self.arn})
