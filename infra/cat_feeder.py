"""Cat feeder: POST /click -> EventBridge ledger (bus + archive) -> rule -> feeder function ->
IoT data plane -> cat-feeder/<feeder>/action -> the feeder's ESP32-C3; and back:
cat-feeder/<feeder>/states -> topic rule -> report function -> the ledger (its own detail type) ->
projection -> GET /feeders. The archive keeps what was asked and what was done.

Each feeder is a thing with its own certificate (a dynamic provider makes it) and a policy
that lets it connect as itself, hear only its own action topic and report only on its own
state topic, so a click for one feeder can never feed another.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from handlers.cat_feeder.contract import (
    CLICK_DETAIL_TYPE,
    FEEDER_LEVEL,
    SOURCE,
    STATE_DETAIL_TYPE,
    STATES,
    action_topic,
    state_topic,
)
from infra.aws_connection import stack_connection
from infra.blocks.defaults import SystemDefaults
from infra.blocks.function import Function, FunctionArgs
from infra.blocks.http_api import ApiRoutes, HttpApi, HttpApiArgs
from infra.blocks.iam import Statement
from infra.blocks.naming import physical_name
from infra.blocks.queue import DeadLetterQueue, DeadLetterQueueArgs
from infra.blocks.rule_to_function import RuleToFunction, RuleToFunctionArgs
from infra.blocks.system import SystemComponent
from infra.blocks.table import Table, TableArgs
from infra.blocks.topic_rule import TopicRule, TopicRuleArgs
from infra.device_certificate import DeviceCertificate
from infra.stack_settings import CatFeederSettings
from infra.systems import CAT_FEEDER


@dataclass(frozen=True)
class CatFeederArgs:
    settings: CatFeederSettings
    defaults: SystemDefaults


class CatFeeder(SystemComponent):
    """System 4: an event-sourced feeder, replayable from its ledger."""

    def __init__(self, name: str, args: CatFeederArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(CAT_FEEDER, name, args.defaults, opts)
        child, defaults = self.child, self.defaults
        feeders = [f.name for f in args.settings.feeders]
        feeder_names = ",".join(feeders)  # the FEEDERS setting every function of the system checks against
        region = aws.get_region_output().region
        account = aws.get_caller_identity_output().account_id

        def iot_arn(resource: str) -> pulumi.Output[str]:
            return pulumi.Output.concat("arn:aws:iot:", region, ":", account, ":", resource)

        bus = aws.cloudwatch.EventBus(f"{name}-ledger", name=physical_name("feedmyfurbabies", kind="event-bus"),
                                      opts=child)
        archive = aws.cloudwatch.EventArchive(
            f"{name}-ledger-archive", name=physical_name("feedmyfurbabies", kind="event-archive"),
            event_source_arn=bus.arn,
            retention_days=args.settings.archive_retention_days,
            event_pattern=json.dumps({"source": [SOURCE]}), opts=child)

        clicks = Function(f"{name}-click", FunctionArgs(
            handler=CAT_FEEDER.handler("click"), defaults=self.functions,
            description="POST /click: puts clicks on the ledger",
            invoked_asynchronously=False, environment={"BUS_NAME": bus.name, "FEEDERS": feeder_names,
                                                          "DEFAULT_FEEDER": args.settings.fallback_feeder},
            statements=[Statement(["events:PutEvents"], [bus.arn])]), opts=child)
        feeder = Function(f"{name}-feed", FunctionArgs(
            handler=CAT_FEEDER.handler("feed"), defaults=self.functions,
            description="Publishes the feed command to the clicked feeder's action topic",
            environment={"FEEDERS": feeder_names},
            statements=[Statement(["iot:DescribeEndpoint"], ["*"]),  # no resource-level permissions exist
                        Statement(["iot:Publish"], [iot_arn(f"topic/{action_topic(f)}") for f in feeders])]),
            opts=child)
        rule = aws.cloudwatch.EventRule(f"{name}-clicks", name=physical_name(f"{name}-clicks", kind="event-rule"),
                                        event_bus_name=bus.name, event_pattern=json.dumps(
                                            {"source": [SOURCE], "detail-type": [CLICK_DETAIL_TYPE]}), opts=child)
        delivery = RuleToFunction(f"{name}-feed", feeder, RuleToFunctionArgs(
            rule=rule, bus_name=bus.name, alarm_topic_arn=defaults.alarm_topic_arn), opts=child)

        # The device's voice: its reports onto the ledger, and a projection of the ledger per feeder.
        self.rule_errors = DeadLetterQueue(f"{name}-rule-errors",
                                           DeadLetterQueueArgs(alarm_topic_arn=defaults.alarm_topic_arn), opts=child)
        reporter = Function(f"{name}-report", FunctionArgs(
            handler=CAT_FEEDER.handler("report"), defaults=self.functions,
            description="Puts each feeder's state report on the ledger as its own detail type",
            environment={"BUS_NAME": bus.name, "FEEDERS": feeder_names},
            statements=[Statement(["events:PutEvents"], [bus.arn])]), opts=child)
        TopicRule(f"{name}-states", TopicRuleArgs(
            sql=f"SELECT *, topic({FEEDER_LEVEL}) AS feeder, timestamp() AS reportedAt FROM '{STATES}'",
            errors=self.rule_errors, statements=[], actions=lambda role: {}, functions=[reporter],
            description="Every feeder's state reports, stamped with the feeder and the broker's time"), opts=child)
        projection = Table(f"{name}-feeders", TableArgs(hash_key="feeder", protection=defaults.data), opts=child)
        projector = Function(f"{name}-project", FunctionArgs(
            handler=CAT_FEEDER.handler("projection"), defaults=self.functions,
            description="Keeps per feeder the last state, the last command and whether it was confirmed",
            environment={"FEEDERS_TABLE": projection.name},
            statements=[Statement(["dynamodb:UpdateItem"], [projection.arn])]), opts=child)
        ledger_rule = aws.cloudwatch.EventRule(
            f"{name}-ledger-view", name=physical_name(f"{name}-ledger-view", kind="event-rule"),
            event_bus_name=bus.name, event_pattern=json.dumps(
                {"source": [SOURCE], "detail-type": [CLICK_DETAIL_TYPE, STATE_DETAIL_TYPE]}), opts=child)
        projected = RuleToFunction(f"{name}-project", projector, RuleToFunctionArgs(
            rule=ledger_rule, bus_name=bus.name, alarm_topic_arn=defaults.alarm_topic_arn), opts=child)
        reader = Function(f"{name}-feeders", FunctionArgs(
            handler=CAT_FEEDER.handler("feeders"), defaults=self.functions,
            description="GET /feeders: the projection, read",
            invoked_asynchronously=False, environment={"FEEDERS_TABLE": projection.name, "FEEDERS": feeder_names},
            statements=[Statement(["dynamodb:GetItem", "dynamodb:Scan"], [projection.arn])]), opts=child)
        self.api = HttpApi(f"{name}-api", HttpApiArgs(
            function_arn=clicks.arn, function_name=clicks.name, invoke_arn=clicks.invoke_arn,
            routes=["POST /click"], rate_limit=args.settings.api_rate_limit,
            burst_limit=args.settings.api_burst_limit, log_retention_days=defaults.log_retention_days,
            more=[ApiRoutes(reader.name, reader.invoke_arn, ["GET /feeders", "GET /feeders/{feeder}"], "feeders")]),
            opts=child)

        devices = {}
        for feeder_settings in args.settings.feeders:
            devices[feeder_settings.name] = self._device(name, feeder_settings.name, feeder_settings.rotation,
                                                         iot_arn, region)
        endpoint = aws.iot.get_endpoint_output(endpoint_type="iot:Data-ATS").endpoint_address
        self.outputs = {"busName": bus.name, "busArn": bus.arn, "archiveArn": archive.arn,
                        "apiUrl": self.api.url, "undeliveredClicksUrl": delivery.undelivered.url,
                        "feedersTable": projection.name, "unprojectedUrl": projected.undelivered.url,
                        "ruleErrorsUrl": self.rule_errors.url,
                        "mqttEndpoint": endpoint, "devices": devices}
        self.finish(self.outputs)

    def _device(self, name: str, feeder: str, rotation: str, iot_arn: Callable[[str], pulumi.Output[str]],
                region: pulumi.Output[str]) -> dict[str, pulumi.Output]:
        child = pulumi.ResourceOptions(parent=self)
        thing = aws.iot.Thing(f"{name}-{feeder}", name=physical_name(f"feeder-{feeder}", kind="iot-thing"), opts=child)
        certificate = DeviceCertificate(f"{name}-{feeder}-certificate", thing_name=thing.name, region=region,
                                        connection=stack_connection(), rotation=rotation, opts=child)
        policy = aws.iot.Policy(f"{name}-{feeder}", name=physical_name(f"feeder-{feeder}", kind="iot-policy"),
                                policy=pulumi.Output.json_dumps({"Version": "2012-10-17", "Statement": [
                                    {"Effect": "Allow", "Action": "iot:Connect",
                                     "Resource": thing.name.apply(lambda n: iot_arn(f"client/{n}"))},
                                    {"Effect": "Allow", "Action": "iot:Subscribe",
                                     "Resource": iot_arn(f"topicfilter/{action_topic(feeder)}")},
                                    {"Effect": "Allow", "Action": "iot:Receive",
                                     "Resource": iot_arn(f"topic/{action_topic(feeder)}")},
                                    {"Effect": "Allow", "Action": "iot:Publish",
                                     "Resource": iot_arn(f"topic/{state_topic(feeder)}")},
                                ]}), opts=child)
        aws.iot.PolicyAttachment(f"{name}-{feeder}-policy", policy=policy.name,
                                 target=certificate.certificate_arn, opts=child)
        aws.iot.ThingPrincipalAttachment(f"{name}-{feeder}-certificate", thing=thing.name,
                                         principal=certificate.certificate_arn, opts=child)
        return {"thingName": thing.name, "certificateId": certificate.certificate_id,
                "certificateArn": certificate.certificate_arn, "certificatePem": certificate.certificate_pem,
                "privateKey": pulumi.Output.secret(certificate.private_key),
                "actionTopic": action_topic(feeder), "stateTopic": state_topic(feeder)}
