"""EventBridge -> Lambda: a rule's target is a function, with retries and a dead-letter queue.

EventBridge invokes the function with its own permission (limited to this rule); an event it
cannot deliver after the retry policy goes to the target's dead-letter queue, which must let
`events.amazonaws.com` send from this rule, or the event is lost. The target is written after
both, so none is dropped while they are being made.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from infra.blocks.function import Function
from infra.blocks.iam import Statement, from_source, service
from infra.blocks.queue import DeadLetterQueue, DeadLetterQueueArgs, queue_policy


@dataclass(frozen=True)
class RuleToFunctionArgs:
    rule: aws.cloudwatch.EventRule
    bus_name: pulumi.Input[str]
    retry_attempts: int = 3
    max_event_age_seconds: int = 3600
    alarm_topic_arn: pulumi.Input[str] | None = None


class RuleToFunction(pulumi.ComponentResource):
    undelivered: DeadLetterQueue

    def __init__(self, name: str, function: Function, args: RuleToFunctionArgs,
                 opts: pulumi.ResourceOptions | None = None):
        super().__init__("conduit:blocks:RuleToFunction", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        rule = args.rule
        self.undelivered = DeadLetterQueue(f"{name}-undelivered",
                                           DeadLetterQueueArgs(alarm_topic_arn=args.alarm_topic_arn), opts=child)
        policy = queue_policy(f"{name}-undelivered-from-rule", self.undelivered, [Statement(
            ["sqs:SendMessage"], [self.undelivered.arn], principals=service("events.amazonaws.com"),
            condition=from_source(rule.arn))], child)
        permission = aws.lambda_.Permission(f"{name}-from-rule", action="lambda:InvokeFunction",
                                            function=function.name, principal="events.amazonaws.com",
                                            source_arn=rule.arn, opts=child)
        aws.cloudwatch.EventTarget(
            name, rule=rule.name, event_bus_name=args.bus_name, arn=function.arn,
            dead_letter_config={"arn": self.undelivered.arn},
            retry_policy={"maximum_retry_attempts": args.retry_attempts,
                          "maximum_event_age_in_seconds": args.max_event_age_seconds},
            opts=pulumi.ResourceOptions(parent=self, depends_on=[policy, permission]))
        self.register_outputs({"undeliveredUrl": self.undelivered.url})
