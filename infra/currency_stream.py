"""Currency stream: API -> rates table -> stream -> publisher -> SNS -> queue -> view table.

The view is a table, not a function's memory, so it survives cold starts; changes are
versioned so redelivery and reordering cannot corrupt it.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from infra.blocks.defaults import SystemDefaults
from infra.blocks.function import Function, FunctionArgs
from infra.blocks.http_api import HttpApi, HttpApiArgs
from infra.blocks.iam import Statement
from infra.blocks.naming import physical_name
from infra.blocks.queue import DeadLetterQueue, DeadLetterQueueArgs, Queue, QueueArgs
from infra.blocks.table import Table, TableArgs
from infra.stack_settings import CurrencyStreamSettings


@dataclass(frozen=True)
class CurrencyStreamArgs:
    settings: CurrencyStreamSettings
    defaults: SystemDefaults


class CurrencyStream(pulumi.ComponentResource):
    """System 5: rate changes fan out through SNS to a durable view."""

    def __init__(self, name: str, args: CurrencyStreamArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("conduit:currencyStream:CurrencyStream", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        defaults = args.defaults
        common, data = defaults.function("currency_stream"), defaults.table()
        self.rates = Table(f"{name}-rates", TableArgs(hash_key="symbol", stream_view_type="NEW_AND_OLD_IMAGES",
                                                      **data), opts=child)
        self.view = Table(f"{name}-view", TableArgs(hash_key="symbol", **data), opts=child)
        self.topic = aws.sns.Topic(f"{name}-changes", name=physical_name(f"{name}-changes"),
                                   kms_master_key_id="alias/aws/sns", opts=child)

        publish_failures = DeadLetterQueue(f"{name}-publish-failures",
                                           DeadLetterQueueArgs(alarm_topic_arn=defaults.alarm_topic_arn), opts=child)
        publisher = Function(f"{name}-publish", FunctionArgs(
            handler="handlers.currency_stream.publish.handler",
            description="Publishes INSERT/MODIFY/REMOVE of the rates table to SNS",
            invoked_asynchronously=False,
            environment={"TOPIC_ARN": self.topic.arn},
            statements=[
                Statement(["dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator"],
                          [self.rates.stream_arn]),
                Statement(["dynamodb:ListStreams"], [self.rates.arn.apply(lambda a: f"{a}/stream/*")]),
                Statement(["sns:Publish"], [self.topic.arn]),
                Statement(["sqs:SendMessage"], [publish_failures.arn]),
            ],
            **common), opts=child)
        aws.lambda_.EventSourceMapping(
            f"{name}-publish-changes", event_source_arn=self.rates.stream_arn, function_name=publisher.arn,
            starting_position="TRIM_HORIZON", batch_size=args.settings.batch_size,
            bisect_batch_on_function_error=True, maximum_retry_attempts=args.settings.stream_retries,
            function_response_types=["ReportBatchItemFailures"],
            destination_config={"on_failure": {"destination_arn": publish_failures.arn}}, opts=child)

        self.updates = Queue(f"{name}-view-updates", QueueArgs(
            max_receive_count=defaults.max_receive_count, visibility_timeout_seconds=180,
            alarm_topic_arn=defaults.alarm_topic_arn), opts=child)
        aws.sqs.QueuePolicy(f"{name}-view-updates-from-sns", queue_url=self.updates.url,
                            policy=pulumi.Output.json_dumps({"Version": "2012-10-17", "Statement": [{
                                "Effect": "Allow", "Principal": {"Service": "sns.amazonaws.com"},
                                "Action": "sqs:SendMessage", "Resource": self.updates.arn,
                                "Condition": {"ArnEquals": {"aws:SourceArn": self.topic.arn}}}]}),
                            opts=child)
        aws.sns.TopicSubscription(f"{name}-view-updates", topic=self.topic.arn, protocol="sqs",
                                  endpoint=self.updates.arn, raw_message_delivery=True, opts=child)
        viewer = Function(f"{name}-view", FunctionArgs(
            handler="handlers.currency_stream.view.handler",
            description="Keeps the current rates, applying only newer changes",
            invoked_asynchronously=False,
            environment={"VIEW_TABLE": self.view.name},
            statements=[
                self.updates.consumer(),
                Statement(["dynamodb:UpdateItem"], [self.view.arn]),
            ],
            **common), opts=child)
        aws.lambda_.EventSourceMapping(
            f"{name}-view-changes", event_source_arn=self.updates.arn, function_name=viewer.arn, batch_size=10,
            function_response_types=["ReportBatchItemFailures"], opts=child)

        api = Function(f"{name}-api", FunctionArgs(
            handler="handlers.currency_stream.api.handler",
            description="POST/DELETE /currency on the rates table, GET /currency from the view",
            invoked_asynchronously=False,
            environment={"RATES_TABLE": self.rates.name, "VIEW_TABLE": self.view.name},
            statements=[Statement(["dynamodb:PutItem", "dynamodb:DeleteItem"], [self.rates.arn]),
                        Statement(["dynamodb:Scan"], [self.view.arn])],
            **common), opts=child)
        self.api = HttpApi(f"{name}-api", HttpApiArgs(
            function_arn=api.arn, function_name=api.name, invoke_arn=api.invoke_arn,
            routes=["POST /currency", "DELETE /currency/{symbol}", "GET /currency"],
            rate_limit=args.settings.api_rate_limit, burst_limit=args.settings.api_burst_limit,
            log_retention_days=defaults.log_retention_days), opts=child)

        self.outputs = {"ratesTable": self.rates.name, "viewTable": self.view.name, "topicArn": self.topic.arn,
                        "viewQueueUrl": self.updates.url, "viewDeadLetterQueueUrl": self.updates.dead_letter.url,
                        "publishFailuresUrl": publish_failures.url, "apiUrl": self.api.url}
        self.register_outputs(self.outputs)
