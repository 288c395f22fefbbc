"""Exchange events: POST /event -> IoT topic event/<type> -> topic rules.

`event/+` is archived in DynamoDB; `event/buy` goes to the fraud checker, which publishes
`alert/fraud`; alerts are archived in S3 under a key the rule chooses and sent to SNS. Every
rule has an error action; every role names exactly the topics, tables and buckets it uses.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from handlers.exchange_events.contract import ALERT_TOPIC, EVENTS, EXPIRES_AT, event_topic
from handlers.shared.contract import DELIVERIES_SETTING
from infra.blocks.defaults import SystemDefaults
from infra.blocks.deliveries import Deliveries
from infra.blocks.function import Function, FunctionArgs
from infra.blocks.http_api import HttpApi, HttpApiArgs
from infra.blocks.iam import Statement
from infra.blocks.private_bucket import PrivateBucket, PrivateBucketArgs
from infra.blocks.queue import DeadLetterQueue, DeadLetterQueueArgs
from infra.blocks.system import SystemComponent
from infra.blocks.table import Table, TableArgs
from infra.blocks.topic import Topic, TopicArgs
from infra.blocks.topic_rule import TopicRule, TopicRuleArgs
from infra.stack_settings import ExchangeEventsSettings
from infra.systems import EXCHANGE_EVENTS


@dataclass(frozen=True)
class ExchangeEventsArgs:
    settings: ExchangeEventsSettings
    defaults: SystemDefaults


class ExchangeEvents(SystemComponent):
    """System 1: events through IoT Core, archived, checked for fraud, alerts archived and sent."""

    def __init__(self, name: str, args: ExchangeEventsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(EXCHANGE_EVENTS, name, args.defaults, opts)
        child, defaults = self.child, self.defaults
        data = defaults.data
        region = aws.get_region_output().region
        account = aws.get_caller_identity_output().account_id

        def topic_arn(topic: str) -> pulumi.Output[str]:
            return pulumi.Output.concat("arn:aws:iot:", region, ":", account, ":topic/", topic)

        self.events = Table(f"{name}-archive", TableArgs(hash_key="id", range_key="timestamp", protection=data),
                            opts=child)
        # Counters of a closed window expire (the fraud checker stamps `expiresAt`).
        self.velocity = Table(f"{name}-velocity", TableArgs(hash_key="pk", ttl_attribute=EXPIRES_AT, protection=data),
                              opts=child)
        self.alerts_bucket = PrivateBucket(f"{name}-alerts", PrivateBucketArgs(protect_data=defaults.data.protect_data),
                                           opts=child)
        # Only the alert rule's role publishes: the AWS-managed key serves it.
        self.alerts_topic = Topic(f"{name}-alerts", TopicArgs(), opts=child)
        # What the fraud checker has judged, so a redelivered buy is judged (and alerted on) once.
        self.judged = Deliveries(f"{name}-judged", data, opts=child)
        self.rule_errors = DeadLetterQueue(f"{name}-rule-errors",
                                           DeadLetterQueueArgs(alarm_topic_arn=defaults.alarm_topic_arn), opts=child)
        # DescribeEndpoint has no resource-level permissions: "*" is the only resource IAM accepts.
        find_endpoint = Statement(["iot:DescribeEndpoint"], ["*"])

        publisher = Function(f"{name}-publish", FunctionArgs(
            handler=EXCHANGE_EVENTS.handler("publish"), defaults=self.functions,
            description="POST /event: validates and publishes to event/<type>",
            invoked_asynchronously=False,
            environment={"EVENT_TYPES": ",".join(args.settings.event_types)},
            statements=[find_endpoint,
                        Statement(["iot:Publish"], [topic_arn(event_topic(t)) for t in args.settings.event_types])]),
            opts=child)
        self.api = HttpApi(f"{name}-api", HttpApiArgs(
            function_arn=publisher.arn, function_name=publisher.name, invoke_arn=publisher.invoke_arn,
            routes=["POST /event"], rate_limit=args.settings.api_rate_limit,
            burst_limit=args.settings.api_burst_limit, log_retention_days=defaults.log_retention_days), opts=child)

        TopicRule(f"{name}-archive", TopicRuleArgs(
            sql=f"SELECT * FROM '{EVENTS}'", errors=self.rule_errors,
            description="Archives every exchange event (id, timestamp) in DynamoDB",
            statements=[Statement(["dynamodb:PutItem"], [self.events.arn])],
            actions=lambda role: {"dynamodbv2s": [{"put_item": {"table_name": self.events.name}, "role_arn": role}]},
        ), opts=child)

        checker = Function(f"{name}-fraud", FunctionArgs(
            handler=EXCHANGE_EVENTS.handler("fraud"), defaults=self.functions,
            description="Checks buys against the price threshold and the velocity limit; publishes alerts",
            environment={"VELOCITY_TABLE": self.velocity.name, DELIVERIES_SETTING: self.judged.name,
                         "PRICE_THRESHOLD": str(args.settings.price_threshold),
                         "VELOCITY_LIMIT": str(args.settings.velocity_limit),
                         "VELOCITY_WINDOW_SECONDS": str(args.settings.velocity_window_seconds)},
            statements=[find_endpoint, Statement(["iot:Publish"], [topic_arn(ALERT_TOPIC)]),
                        Statement(["dynamodb:UpdateItem"], [self.velocity.arn]), self.judged.recording()]), opts=child)
        TopicRule(f"{name}-buys", TopicRuleArgs(
            sql=f"SELECT * FROM '{event_topic('buy')}'", errors=self.rule_errors, statements=[],
            description="Sends every buy to the fraud checker", actions=lambda role: {}, functions=[checker],
        ), opts=child)

        TopicRule(f"{name}-alerts", TopicRuleArgs(
            sql=f"SELECT * FROM '{ALERT_TOPIC}'", errors=self.rule_errors,
            description="Archives fraud alerts in S3 under their own id, and notifies SNS",
            statements=[Statement(["s3:PutObject"], [self.alerts_bucket.arn.apply(lambda a: f"{a}/alerts/*")]),
                        Statement(["sns:Publish"], [self.alerts_topic.arn])],
            actions=lambda role: {
                # The alert's own id, derived from its event's: a redelivered alert overwrites, never adds.
                "s3": [{"bucket_name": self.alerts_bucket.name, "key": "alerts/${alertId}.json", "role_arn": role}],
                "sns": [{"target_arn": self.alerts_topic.arn, "message_format": "RAW", "role_arn": role}],
            },
        ), opts=child)

        self.outputs = {"apiUrl": self.api.url, "archiveTable": self.events.name,
                        "alertsTopicArn": self.alerts_topic.arn, "alertsBucket": self.alerts_bucket.name,
                        "ruleErrorsUrl": self.rule_errors.url}
        self.finish(self.outputs)
