"""Message ingest: a CSV in S3 -> ingest function -> SQS (with DLQ) -> store function -> DynamoDB,
plus an IAM-authenticated HTTP API for CRUD on the stored messages."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from handlers.message_ingest.contract import CONFLICTS, CSV_SUFFIX, QUARANTINE
from handlers.shared.contract import DELIVERIES_SETTING
from infra.blocks.bucket_to_functions import BucketToFunctions, Trigger
from infra.blocks.defaults import SystemDefaults
from infra.blocks.deliveries import Deliveries
from infra.blocks.function import Function, FunctionArgs
from infra.blocks.http_api import HttpApi, HttpApiArgs
from infra.blocks.iam import Statement
from infra.blocks.private_bucket import PrivateBucket, PrivateBucketArgs
from infra.blocks.queue import FOURTEEN_DAYS, Queue, QueueArgs
from infra.blocks.queue_to_function import QueueToFunction, QueueToFunctionArgs
from infra.blocks.system import SystemComponent
from infra.blocks.table import Table, TableArgs
from infra.stack_settings import MessageIngestSettings
from infra.systems import MESSAGE_INGEST


@dataclass(frozen=True)
class MessageIngestArgs:
    settings: MessageIngestSettings
    defaults: SystemDefaults


class MessageIngest(SystemComponent):
    """System 2: CSV readings become queued messages, then table items an API can read and change."""

    def __init__(self, name: str, args: MessageIngestArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(MESSAGE_INGEST, name, args.defaults, opts)
        child, defaults = self.child, self.defaults

        self.bucket = PrivateBucket(f"{name}-files", PrivateBucketArgs(protect_data=defaults.data.protect_data),
                                    opts=child)
        self.table = Table(f"{name}-messages", TableArgs(hash_key="date", range_key="time", protection=defaults.data),
                           opts=child)
        # Each row's delivery, recorded with the reading in one transaction: a redelivered row is a no-op.
        self.delivered = Deliveries(f"{name}-delivered", defaults.data, opts=child)
        queue_args = QueueArgs(max_receive_count=defaults.max_receive_count,
                               visibility_timeout_seconds=6 * args.settings.store_timeout_seconds,
                               alarm_topic_arn=defaults.alarm_topic_arn)
        self.queue = Queue(f"{name}-readings", queue_args, opts=child)

        ingest = Function(f"{name}-ingest", FunctionArgs(
            handler=MESSAGE_INGEST.handler("ingest"), defaults=self.functions,
            description="Parses CSV files into queued readings; quarantines rejected rows",
            timeout_seconds=300, memory_mb=512, continues_itself=True,
            environment={"QUEUE_URL": self.queue.url, "MAX_CSV_BYTES": str(args.settings.max_csv_bytes),
                         "ROWS_PER_INVOCATION": str(args.settings.rows_per_invocation)},
            statements=[
                Statement(["s3:GetObject"], [self.bucket.arn.apply(lambda a: f"{a}/*")]),
                Statement(["s3:PutObject"], [self.bucket.arn.apply(lambda a: f"{a}/{QUARANTINE}*")]),
                Statement(["sqs:SendMessage"], [self.queue.arn]),
            ],
        ), opts=child)
        BucketToFunctions(f"{name}-csv-arrivals", self.bucket, [Trigger(f"{name}-ingest", ingest, suffix=CSV_SUFFIX)],
                          opts=child)

        store = Function(f"{name}-store", FunctionArgs(
            handler=MESSAGE_INGEST.handler("store"), defaults=self.functions,
            description="Stores queued readings in the table, once each",
            timeout_seconds=args.settings.store_timeout_seconds, invoked_asynchronously=False,
            environment={"TABLE_NAME": self.table.name, DELIVERIES_SETTING: self.delivered.name,
                         # The longest an old delivery can still arrive: on the queue, then in its DLQ
                         # (from which it may be redriven), plus a day.
                         "DELIVERIES_KEPT_SECONDS": str(queue_args.retention_seconds + FOURTEEN_DAYS + 86_400)},
            # Reading and delivery in one transaction (each Put authorized as PutItem); a conflict's
            # stored reading comes back with the cancellation (ALL_OLD), so nothing is read.
            statements=[Statement(["dynamodb:PutItem"], [self.table.arn]),
                        self.delivered.recording(["dynamodb:PutItem"]),
                        # A reading that disagrees with the stored one is quarantined, not dropped.
                        Statement(["s3:PutObject"], [self.bucket.arn.apply(lambda a: f"{a}/{CONFLICTS}*")])],
        ), opts=child)
        QueueToFunction(f"{name}-store-readings", self.queue, store, QueueToFunctionArgs(
            batch_size=args.settings.batch_size,
            max_batching_window_seconds=args.settings.max_batching_window_seconds), opts=child)

        api = Function(f"{name}-api", FunctionArgs(
            handler=MESSAGE_INGEST.handler("api"), defaults=self.functions,
            description="CRUD on stored messages behind an IAM-authenticated HTTP API",
            invoked_asynchronously=False,
            environment={"TABLE_NAME": self.table.name},
            statements=[Statement(
                ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem",
                 "dynamodb:Query", "dynamodb:Scan"],
                [self.table.arn],
            )],
        ), opts=child)
        self.api = HttpApi(f"{name}-api", HttpApiArgs(
            function_arn=api.arn, function_name=api.name, invoke_arn=api.invoke_arn,
            routes=["GET /message", "POST /message", "GET /message/{date}", "PUT /message/{date}",
                    "DELETE /message/{date}"],
            rate_limit=args.settings.api_rate_limit, burst_limit=args.settings.api_burst_limit,
            log_retention_days=defaults.log_retention_days,
        ), opts=child)

        self.outputs = {
            "bucket": self.bucket.name,
            "table": self.table.name,
            "queueUrl": self.queue.url,
            "deadLetterQueueUrl": self.queue.dead_letter.url,
            "apiUrl": self.api.url,
        }
        self.finish(self.outputs)
