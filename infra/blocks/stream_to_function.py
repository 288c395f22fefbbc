"""DynamoDB stream -> Lambda: a function reads a table's stream, a failing batch cannot block it.

The connection carries the reader's permissions (its own statement on the function's role, in
place before the mapping; `dynamodb:ListStreams` has no resource-level permissions, so it is
granted on `*` as IAM requires), bisection of failing batches, bounded retries and an on-failure
queue for records that still fail, with the function allowed to send there.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from infra.blocks.function import Function
from infra.blocks.iam import Statement, policy_document
from infra.blocks.queue import DeadLetterQueue, DeadLetterQueueArgs
from infra.blocks.table import Table


@dataclass(frozen=True)
class StreamToFunctionArgs:
    batch_size: int = 10
    retries: int = 3
    starting_position: str = "TRIM_HORIZON"
    alarm_topic_arn: pulumi.Input[str] | None = None


class StreamToFunction(pulumi.ComponentResource):
    failures: DeadLetterQueue

    def __init__(self, name: str, table: Table, function: Function, args: StreamToFunctionArgs,
                 opts: pulumi.ResourceOptions | None = None):
        super().__init__("conduit:blocks:StreamToFunction", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.failures = DeadLetterQueue(f"{name}-failures", DeadLetterQueueArgs(alarm_topic_arn=args.alarm_topic_arn),
                                        opts=child)
        read = aws.iam.RolePolicy(f"{name}-read", role=function.role_name, policy=policy_document([
            Statement(["dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator"],
                      [table.stream_arn]),
            Statement(["dynamodb:ListStreams"], ["*"]),
            Statement(["sqs:SendMessage"], [self.failures.arn]),
        ]), opts=child)
        aws.lambda_.EventSourceMapping(
            name, event_source_arn=table.stream_arn, function_name=function.arn,
            starting_position=args.starting_position, batch_size=args.batch_size,
            bisect_batch_on_function_error=True, maximum_retry_attempts=args.retries,
            function_response_types=["ReportBatchItemFailures"],
            destination_config={"on_failure": {"destination_arn": self.failures.arn}},
            opts=pulumi.ResourceOptions(parent=self, depends_on=[read]))
        self.register_outputs({"failuresUrl": self.failures.url})
