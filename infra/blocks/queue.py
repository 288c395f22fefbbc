"""SQS queues with encryption, a dead-letter queue and an alarm on what lands there."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from infra.blocks.alarms import alarm_on_any
from infra.blocks.iam import Statement, policy_document
from infra.blocks.naming import physical_name

FOURTEEN_DAYS = 14 * 24 * 3600


@dataclass(frozen=True)
class DeadLetterQueueArgs:
    """Where failed messages wait for a human, and who hears about them."""

    alarm_topic_arn: pulumi.Input[str] | None = None
    retention_seconds: int = FOURTEEN_DAYS


class DeadLetterQueue(pulumi.ComponentResource):
    """A terminal queue: encrypted, kept as long as SQS allows, alarmed as soon as it is not empty."""

    arn: pulumi.Output[str]
    url: pulumi.Output[str]
    name: pulumi.Output[str]

    def __init__(self, name: str, args: DeadLetterQueueArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("conduit:blocks:DeadLetterQueue", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        queue = aws.sqs.Queue(
            name,
            name=physical_name(name, kind="queue"),
            sqs_managed_sse_enabled=True,
            message_retention_seconds=args.retention_seconds,
            opts=child,
        )
        alarm_on_any(f"{name}-not-empty", queue.name.apply(lambda n: f"Messages are waiting in dead-letter queue {n}"),
                     "AWS/SQS", "ApproximateNumberOfMessagesVisible", {"QueueName": queue.name}, "Maximum", 60,
                     args.alarm_topic_arn, child)
        self.arn, self.url, self.name = queue.arn, queue.url, queue.name
        self.register_outputs({"arn": self.arn, "url": self.url})


@dataclass(frozen=True)
class QueueArgs:
    """A work queue; `visibility_timeout_seconds` must exceed the consumer's timeout."""

    max_receive_count: int
    visibility_timeout_seconds: int = 180
    retention_seconds: int = 4 * 24 * 3600
    alarm_topic_arn: pulumi.Input[str] | None = None


class Queue(pulumi.ComponentResource):
    """A work queue whose poison messages move to its own dead-letter queue after a few receives."""

    arn: pulumi.Output[str]
    url: pulumi.Output[str]
    dead_letter: DeadLetterQueue

    def __init__(self, name: str, args: QueueArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("conduit:blocks:Queue", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.dead_letter = DeadLetterQueue(
            f"{name}-dlq", DeadLetterQueueArgs(alarm_topic_arn=args.alarm_topic_arn), opts=child
        )
        queue = aws.sqs.Queue(
            name,
            name=physical_name(name, kind="queue"),
            sqs_managed_sse_enabled=True,
            visibility_timeout_seconds=args.visibility_timeout_seconds,
            message_retention_seconds=args.retention_seconds,
            redrive_policy=self.dead_letter.arn.apply(
                lambda arn: json.dumps({"deadLetterTargetArn": arn, "maxReceiveCount": args.max_receive_count})
            ),
            opts=child,
        )
        aws.sqs.RedriveAllowPolicy(
            f"{name}-dlq-source",
            queue_url=self.dead_letter.url,
            redrive_allow_policy=queue.arn.apply(
                lambda arn: json.dumps({"redrivePermission": "byQueue", "sourceQueueArns": [arn]})
            ),
            opts=child,
        )
        self.arn, self.url = queue.arn, queue.url
        self.visibility_timeout_seconds = args.visibility_timeout_seconds
        self.register_outputs({"arn": self.arn, "url": self.url, "deadLetterUrl": self.dead_letter.url})

    def consumer(self) -> Statement:
        """What a function consuming this queue through an event source mapping needs."""
        return Statement(["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"], [self.arn])


def queue_policy(name: str, queue: DeadLetterQueue | Queue, statements: list[Statement],
                 opts: pulumi.ResourceOptions) -> aws.sqs.QueuePolicy:
    """A queue's resource policy, built as data from statements that name their principals."""
    return aws.sqs.QueuePolicy(name, queue_url=queue.url, policy=policy_document(statements), opts=opts)
