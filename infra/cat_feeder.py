"""Cat feeder: POST /click -> EventBridge ledger (bus + archive) -> rule -> feeder function ->
IoT data plane -> cat-feeder/<stack>/<thing>/action -> the feeder's ESP32-C3; and back:
cat-feeder/<stack>/<thing>/states -> topic rule -> report function -> the ledger (its own detail
type) -> projection -> GET /feeders. The archive keeps what was asked and what was done.

Each feeder is a thing (with the stack and feeder as attributes: the registry is the fleet's list)
and its own certificate (a dynamic provider makes it). One IoT policy serves the stack's fleet: with
policy variables it lets a device connect only as the thing its certificate is attached to and use
only that thing's own topics, under this stack's root, so two stacks in one account never hear each
other and a stolen certificate reaches one feeder. Nothing grows per feeder in any policy document
or environment variable: a fleet of a thousand is four resources per feeder.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from handlers.cat_feeder.contract import (
    CLICK_DETAIL_TYPE,
    FEED_AGAIN,
    FEEDER_ATTRIBUTE,
    REPORT_FIELDS,
    SOURCE,
    STACK_ATTRIBUTE,
    STATE_DETAIL_TYPE,
    THING,
    THING_LEVEL,
    action_topic,
    certificate_topic,
    state_topic,
    states,
    topic_root,
)
from handlers.shared.contract import DELIVERIES_SETTING
from infra.aws_connection import stack_connection
from infra.blocks.defaults import SystemDefaults
from infra.blocks.deliveries import Deliveries
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

MAX_THING_NAME = 128  # AWS IoT's limit for a thing name (and so for the device's client id)


class FeederNameError(pulumi.RunError):
    """A feeder's thing name would not fit AWS IoT's limit."""


@dataclass(frozen=True)
class CatFeederArgs:
    settings: CatFeederSettings
    defaults: SystemDefaults


class CatFeeder(SystemComponent):
    """System 4: an event-sourced feeder, replayable from its ledger."""

    def __init__(self, name: str, args: CatFeederArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(CAT_FEEDER, name, args.defaults, opts)
        child, defaults, settings = self.child, self.defaults, args.settings
        stack = pulumi.get_stack()
        self.thing_prefix = physical_name("feeder", kind="iot-thing") + "-"
        too_long = [f.name for f in settings.feeders if len(self.thing_prefix + f.name) > MAX_THING_NAME]
        if too_long:
            raise FeederNameError(f"feeder(s) {too_long}: '{self.thing_prefix}<feeder>' must fit AWS IoT's "
                                  f"{MAX_THING_NAME} characters for a thing name; shorten the stack or feeder names")
        partition = aws.get_partition_output().partition
        region = aws.get_region_output().region
        account = aws.get_caller_identity_output().account_id

        def iot_arn(resource: str) -> pulumi.Output[str]:
            return pulumi.Output.concat("arn:", partition, ":iot:", region, ":", account, ":", resource)

        # The registry is the fleet's list: things of this stack, found by name or by attribute.
        registry = {"THING_PREFIX": self.thing_prefix, "STACK": stack}
        things = iot_arn(f"thing/{self.thing_prefix}*")
        find_feeder = Statement(["iot:DescribeThing"], [things])
        list_feeders = Statement(["iot:ListThings"], ["*"])  # ListThings has no resource-level permissions

        bus = aws.cloudwatch.EventBus(f"{name}-ledger", name=physical_name("feedmyfurbabies", kind="event-bus"),
                                      opts=child)
        archive = aws.cloudwatch.EventArchive(
            f"{name}-ledger-archive", name=physical_name("feedmyfurbabies", kind="event-archive"),
            event_source_arn=bus.arn,
            retention_days=settings.archive_retention_days,
            event_pattern=json.dumps({"source": [SOURCE]}), opts=child)

        clicks = Function(f"{name}-click", FunctionArgs(
            handler=CAT_FEEDER.handler("click"), defaults=self.functions,
            description="POST /click: puts clicks on the ledger",
            invoked_asynchronously=False,
            environment={"BUS_NAME": bus.name, "DEFAULT_FEEDER": settings.fallback_feeder, **registry},
            statements=[Statement(["events:PutEvents"], [bus.arn]), find_feeder]), opts=child)

        # What the feeder has published, by command id: a redelivered click feeds once.
        self.fed = Deliveries(f"{name}-fed", defaults.data, opts=child)
        feeder = Function(f"{name}-feed", FunctionArgs(
            handler=CAT_FEEDER.handler("feed"), defaults=self.functions,
            description="Publishes the feed command to the clicked feeder's action topic, once per command",
            environment={DELIVERIES_SETTING: self.fed.name, **registry},
            statements=[Statement(["iot:DescribeEndpoint"], ["*"]),  # no resource-level permissions exist
                        Statement(["iot:Publish"], [iot_arn(f"topic/{topic_root(stack)}/*")]),
                        find_feeder, self.fed.recording()]), opts=child)
        # Live clicks feed; a replay of the ledger rebuilds views only, unless it is named to feed again.
        live = physical_name(f"{name}-clicks", kind="event-rule")
        rule = aws.cloudwatch.EventRule(f"{name}-clicks", name=live, event_bus_name=bus.name, event_pattern=json.dumps(
            {"source": [SOURCE], "detail-type": [CLICK_DETAIL_TYPE], "replay-name": [{"exists": False}]}), opts=child)
        delivery = RuleToFunction(f"{name}-feed", feeder, RuleToFunctionArgs(
            rule=rule, bus_name=bus.name, alarm_topic_arn=defaults.alarm_topic_arn), opts=child)
        again = aws.cloudwatch.EventRule(
            f"{name}-feed-again", name=physical_name(f"{name}-feed-again", kind="event-rule"), event_bus_name=bus.name,
            event_pattern=json.dumps({"source": [SOURCE], "detail-type": [CLICK_DETAIL_TYPE],
                                      "replay-name": [{"prefix": FEED_AGAIN}]}), opts=child)
        RuleToFunction(f"{name}-feed-again", feeder, RuleToFunctionArgs(
            rule=again, bus_name=bus.name, alarm_topic_arn=defaults.alarm_topic_arn), opts=child)

        # The device's voice: this stack's reports onto the ledger, and a projection of the ledger per feeder.
        self.rule_errors = DeadLetterQueue(f"{name}-rule-errors",
                                           DeadLetterQueueArgs(alarm_topic_arn=defaults.alarm_topic_arn), opts=child)
        reporter = Function(f"{name}-report", FunctionArgs(
            handler=CAT_FEEDER.handler("report"), defaults=self.functions,
            description="Puts each feeder's state report on the ledger as its own detail type",
            environment={"BUS_NAME": bus.name, **registry},
            statements=[Statement(["events:PutEvents"], [bus.arn])]), opts=child)
        TopicRule(f"{name}-states", TopicRuleArgs(
            sql=f"SELECT {', '.join(REPORT_FIELDS)}, topic({THING_LEVEL}) AS thing, timestamp() AS reportedAt, "
                f"principal() AS certificateId FROM '{states(stack)}'",
            errors=self.rule_errors, statements=[], actions=lambda role: {}, functions=[reporter],
            description="This stack's feeders' state reports, stamped with the thing and the broker's time"),
            opts=child)
        # Rotation without a cable: a feeder online with its delivered certificate retires the older ones.
        certificate_topics = iot_arn(f"topic/{certificate_topic(stack, '*')}")
        retirer = Function(f"{name}-certificates", FunctionArgs(
            handler=CAT_FEEDER.handler("certificates"), defaults=self.functions,
            description="Detaches a feeder's older certificates once it is online with the one delivered to it",
            environment=registry,
            statements=[Statement(["iot:DescribeEndpoint"], ["*"]),  # no resource-level permissions exist
                        Statement(["iot:ListThingPrincipals", "iot:DetachThingPrincipal"], [things]),
                        Statement(["iot:GetRetainedMessage", "iot:Publish", "iot:RetainPublish"],
                                  [certificate_topics])]), opts=child)
        TopicRule(f"{name}-online", TopicRuleArgs(
            sql=f"SELECT topic({THING_LEVEL}) AS thing, principal() AS certificateId FROM '{states(stack)}' "
                f"WHERE state = 'online'",
            errors=self.rule_errors, statements=[], actions=lambda role: {}, functions=[retirer],
            description="This stack's feeders coming online, with the certificate each connected with"),
            opts=child)
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
            invoked_asynchronously=False, environment={"FEEDERS_TABLE": projection.name, **registry},
            statements=[Statement(["dynamodb:GetItem", "dynamodb:Scan"], [projection.arn]), find_feeder,
                        list_feeders]), opts=child)
        self.api = HttpApi(f"{name}-api", HttpApiArgs(
            function_arn=clicks.arn, function_name=clicks.name, invoke_arn=clicks.invoke_arn,
            routes=["POST /click"], rate_limit=settings.api_rate_limit,
            burst_limit=settings.api_burst_limit, log_retention_days=defaults.log_retention_days,
            more=[ApiRoutes(reader.name, reader.invoke_arn, ["GET /feeders", "GET /feeders/{feeder}"], "feeders")]),
            opts=child)

        # One policy for the fleet, in the thing-scoped form AWS IoT recommends.
        fleet = aws.iot.Policy(f"{name}-devices", name=physical_name("feeders", kind="iot-policy"),
                               policy=pulumi.Output.json_dumps({"Version": "2012-10-17", "Statement": [
                                   {"Effect": "Allow", "Action": "iot:Connect", "Resource": iot_arn(f"client/{THING}"),
                                    "Condition": {"Bool": {"iot:Connection.Thing.IsAttached": "true"}}},
                                   {"Effect": "Allow", "Action": "iot:Subscribe",
                                    "Resource": [iot_arn(f"topicfilter/{action_topic(stack, THING)}"),
                                                 iot_arn(f"topicfilter/{certificate_topic(stack, THING)}")]},
                                   {"Effect": "Allow", "Action": "iot:Receive",
                                    "Resource": [iot_arn(f"topic/{action_topic(stack, THING)}"),
                                                 iot_arn(f"topic/{certificate_topic(stack, THING)}")]},
                                   {"Effect": "Allow", "Action": "iot:Publish",
                                    "Resource": iot_arn(f"topic/{state_topic(stack, THING)}")},
                               ]}), opts=child)
        devices = {f.name: self._device(name, stack, f.name, f.rotation, fleet, region) for f in settings.feeders}
        endpoint = aws.iot.get_endpoint_output(endpoint_type="iot:Data-ATS").endpoint_address
        self.finish({"busName": bus.name, "busArn": bus.arn, "archiveArn": archive.arn,
                     "apiUrl": self.api.url, "undeliveredClicksUrl": delivery.undelivered.url,
                     "feedersTable": projection.name, "unprojectedUrl": projected.undelivered.url,
                     "ruleErrorsUrl": self.rule_errors.url, "devicePolicy": fleet.name,
                     "mqttEndpoint": endpoint, "devices": devices})

    def _device(self, name: str, stack: str, feeder: str, rotation: str, fleet: aws.iot.Policy,
                region: pulumi.Output[str]) -> dict[str, pulumi.Output]:
        child = self.child
        thing = aws.iot.Thing(f"{name}-{feeder}", name=self.thing_prefix + feeder,
                              attributes={STACK_ATTRIBUTE: stack, FEEDER_ATTRIBUTE: feeder}, opts=child)
        certificate = DeviceCertificate(
            f"{name}-{feeder}-certificate", thing_name=thing.name, region=region, connection=stack_connection(),
            rotation=rotation, policy_name=fleet.name, attach=True,
            delivery_topic=thing.name.apply(lambda t: certificate_topic(stack, t)), opts=child)
        # The provider attaches each certificate it makes and retires each one it detaches; these two
        # show the current attachments to previews and the policy pack. Retained on delete: when a
        # rotation replaces them, the old certificate must stay attached until its device has switched.
        attached = pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(retain_on_delete=True))
        aws.iot.PolicyAttachment(f"{name}-{feeder}-policy", policy=fleet.name, target=certificate.certificate_arn,
                                 opts=attached)
        aws.iot.ThingPrincipalAttachment(f"{name}-{feeder}-certificate", thing=thing.name,
                                         principal=certificate.certificate_arn, opts=attached)
        return {"thingName": thing.name, "certificateId": certificate.certificate_id,
                "certificateArn": certificate.certificate_arn, "certificatePem": certificate.certificate_pem,
                "privateKey": pulumi.Output.secret(certificate.private_key),
                "actionTopic": thing.name.apply(lambda t: action_topic(stack, t)),
                "certificateTopic": thing.name.apply(lambda t: certificate_topic(stack, t)),
                "stateTopic": thing.name.apply(lambda t: state_topic(stack, t))}
