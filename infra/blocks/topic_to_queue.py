"""SNS -> SQS: a queue subscribed to a topic, with everything SNS needs to deliver.

SNS delivers to a queue only if the queue's policy lets `sns.amazonaws.com` send from that topic;
the subscription is made after the policy, so no message published in between is dropped. What SNS
cannot deliver (the queue gone, its key refused) goes to the subscription's own dead-letter queue,
which in turn lets SNS send to it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from infra.blocks.iam import Statement, from_source, service
from infra.blocks.queue import DeadLetterQueue, DeadLetterQueueArgs, Queue, queue_policy


@dataclass(frozen=True)
class TopicToQueueArgs:
    topic_arn: pulumi.Input[str]
    raw_message_delivery: bool = True
    alarm_topic_arn: pulumi.Input[str] | None = None


class TopicToQueue(pulumi.ComponentResource):
    undelivered: DeadLetterQueue

    def __init__(self, name: str, queue: Queue, args: TopicToQueueArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("conduit:blocks:TopicToQueue", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.undelivered = DeadLetterQueue(f"{name}-undelivered",
                                           DeadLetterQueueArgs(alarm_topic_arn=args.alarm_topic_arn), opts=child)
        policies = [
            queue_policy(f"{label}-from-sns", target, [Statement(
                ["sqs:SendMessage"], [target.arn], principals=service("sns.amazonaws.com"),
                condition=from_source(args.topic_arn))], child)
            for label, target in ((name, queue), (f"{name}-undelivered", self.undelivered))]
        aws.sns.TopicSubscription(
            name, topic=args.topic_arn, protocol="sqs", endpoint=queue.arn,
            raw_message_delivery=args.raw_message_delivery,
            redrive_policy=self.undelivered.arn.apply(lambda arn: json.dumps({"deadLetterTargetArn": arn})),
            opts=pulumi.ResourceOptions(parent=self, depends_on=policies))
        self.register_outputs({"undeliveredUrl": self.undelivered.url})
