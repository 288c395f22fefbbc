"""SQS queues with encryption, a dead-letter queue and an alarm on what lands there."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

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
            name=physical_name(name),
            sqs_managed_sse_enabled=True,
            message_retention_seconds=args.retention_seconds,
            opts=child,
        )
        aws.cloudwatch.MetricAlarm(
            f"{name}-not-empty",
            alarm_description=queue.name.apply(lambda n: f"Messages are waiting in dead-letter queue {n}"),
            namespace="AWS/SQS",
            metric_name="ApproximateNumberOfMessagesVisible",
            dimensions={"QueueName": queue.name},
            statistic="Maximum",
            period=60,
            evaluation_periods=1,
            threshold=0,
            comparison_operator="GreaterThanThreshold",
            treat_missing_data="notBreaching",
            alarm_actions=[args.alarm_topic_arn] if args.alarm_topic_arn else [],
            opts=child,
        )
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
            name=physical_name(name),
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
        self.register_outputs({"arn": self.arn, "url": self.url, "deadLetterUrl": self.dead_letter.url})
