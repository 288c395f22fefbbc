"""Currency stream: API -> rates table -> stream -> publisher -> SNS -> queue -> view table.

The view is a table, not a function's memory, so it survives cold starts; changes are
versioned so redelivery and reordering cannot corrupt it.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from infra.blocks.defaults import SystemDefaults
from infra.blocks.function import Function, FunctionArgs
from infra.blocks.http_api import HttpApi, HttpApiArgs
from infra.blocks.iam import Statement
from infra.blocks.queue import Queue, QueueArgs
from infra.blocks.queue_to_function import QueueToFunction, QueueToFunctionArgs
from infra.blocks.stream_to_function import StreamToFunction, StreamToFunctionArgs
from infra.blocks.system import SystemComponent
from infra.blocks.table import Table, TableArgs
from infra.blocks.topic import Topic, TopicArgs
from infra.blocks.topic_to_queue import TopicToQueue, TopicToQueueArgs
from infra.stack_settings import CurrencyStreamSettings
from infra.systems import CURRENCY_STREAM


@dataclass(frozen=True)
class CurrencyStreamArgs:
    settings: CurrencyStreamSettings
    defaults: SystemDefaults


class CurrencyStream(SystemComponent):
    """System 5: rate changes fan out through SNS to a durable view."""

    def __init__(self, name: str, args: CurrencyStreamArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(CURRENCY_STREAM, name, args.defaults, opts)
        child, defaults = self.child, self.defaults
        data = defaults.data
        self.rates = Table(f"{name}-rates", TableArgs(hash_key="symbol", stream_view_type="NEW_AND_OLD_IMAGES",
                                                      protection=data), opts=child)
        self.view = Table(f"{name}-view", TableArgs(hash_key="symbol", protection=data), opts=child)
        # Only the publisher function's role publishes: the AWS-managed key serves it.
        self.topic = Topic(f"{name}-changes", TopicArgs(), opts=child)

        publisher = Function(f"{name}-publish", FunctionArgs(
            handler=CURRENCY_STREAM.handler("publish"), defaults=self.functions,
            description="Publishes INSERT/MODIFY/REMOVE of the rates table to SNS",
            invoked_asynchronously=False,
            environment={"TOPIC_ARN": self.topic.arn},
            statements=[Statement(["sns:Publish"], [self.topic.arn])]), opts=child)
        changes = StreamToFunction(f"{name}-publish-changes", self.rates, publisher, StreamToFunctionArgs(
            batch_size=args.settings.batch_size, retries=args.settings.stream_retries,
            alarm_topic_arn=defaults.alarm_topic_arn), opts=child)

        self.updates = Queue(f"{name}-view-updates", QueueArgs(
            max_receive_count=defaults.max_receive_count, visibility_timeout_seconds=180,
            alarm_topic_arn=defaults.alarm_topic_arn), opts=child)
        subscription = TopicToQueue(f"{name}-view-updates", self.updates, TopicToQueueArgs(
            topic_arn=self.topic.arn, alarm_topic_arn=defaults.alarm_topic_arn), opts=child)
        viewer = Function(f"{name}-view", FunctionArgs(
            handler=CURRENCY_STREAM.handler("view"), defaults=self.functions,
            description="Keeps the current rates, applying only newer changes",
            invoked_asynchronously=False,
            environment={"VIEW_TABLE": self.view.name},
            statements=[Statement(["dynamodb:UpdateItem"], [self.view.arn])]), opts=child)
        QueueToFunction(f"{name}-view-changes", self.updates, viewer, QueueToFunctionArgs(batch_size=10), opts=child)

        api = Function(f"{name}-api", FunctionArgs(
            handler=CURRENCY_STREAM.handler("api"), defaults=self.functions,
            description="POST/DELETE /currency on the rates table, GET /currency from the view",
            invoked_asynchronously=False,
            environment={"RATES_TABLE": self.rates.name, "VIEW_TABLE": self.view.name},
            statements=[Statement(["dynamodb:UpdateItem", "dynamodb:DeleteItem"], [self.rates.arn]),
                        Statement(["dynamodb:Scan"], [self.view.arn])]), opts=child)
        self.api = HttpApi(f"{name}-api", HttpApiArgs(
            function_arn=api.arn, function_name=api.name, invoke_arn=api.invoke_arn,
            routes=["POST /currency", "DELETE /currency/{symbol}", "GET /currency"],
            rate_limit=args.settings.api_rate_limit, burst_limit=args.settings.api_burst_limit,
            log_retention_days=defaults.log_retention_days), opts=child)

        self.outputs = {"ratesTable": self.rates.name, "viewTable": self.view.name, "topicArn": self.topic.arn,
                        "viewQueueUrl": self.updates.url, "viewDeadLetterQueueUrl": self.updates.dead_letter.url,
                        "publishFailuresUrl": changes.failures.url,
                        "undeliveredUpdatesUrl": subscription.undelivered.url, "apiUrl": self.api.url}
        self.finish(self.outputs)
