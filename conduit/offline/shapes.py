"""Ids, ARNs and outputs as AWS shapes them, one row per resource type.

Programs build policies and wiring from what the provider hands back (a queue's URL, a function's
invoke ARN, a table's stream ARN), so a value of the wrong shape makes a different document than
AWS would. Each row is a set of formats filled in from where the stack is (partition, region,
account) and what the resource is (its physical name and inputs); the fake cloud answers with them,
and the local deployer names what the emulator does not hand back the same way.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


def partition_of(region: str) -> str:
    return "aws-us-gov" if region.startswith("us-gov-") else "aws-cn" if region.startswith("cn-") else "aws"


def dns_suffix(partition: str) -> str:
    return "amazonaws.com.cn" if partition == "aws-cn" else "amazonaws.com"


@dataclass(frozen=True)
class Place:
    """Where a stack's resources are: their region and account (the partition follows the region)."""

    region: str
    account: str

    @property
    def partition(self) -> str:
        return partition_of(self.region)

    def arn(self, service: str, resource: str, regional: bool = True, in_account: bool = True) -> str:
        region, account = self.region if regional else "", self.account if in_account else ""
        return f"arn:{self.partition}:{service}:{region}:{account}:{resource}"


@dataclass(frozen=True)
class Shape:
    """How AWS shapes one type's ARN, id and other outputs. Formats name `{partition}`, `{region}`,
    `{account}`, `{dns}` (the partition's DNS suffix), `{name}` (the physical name), `{digest}` (of the
    resource's name), `{key}` (a UUID from it), an input (`{apiId}`) and, after the ARN, `{arn}`."""

    arn: str
    id: str = "{name}"
    outputs: Mapping[str, str] = field(default_factory=dict)
    when_set: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    """Outputs made only when the named input is set (a table's stream ARN, when streams are on)."""


def _in(service: str, resource: str) -> str:
    """The format of a regional ARN of `service` in the stack's account."""
    return f"arn:{{partition}}:{service}:{{region}}:{{account}}:{resource}"


SHAPES: dict[str, Shape] = {
    "aws:sqs/queue:Queue": Shape(_in("sqs", "{name}"), id="{url}",
                                 outputs={"url": "https://sqs.{region}.{dns}/{account}/{name}"}),
    "aws:s3/bucket:Bucket": Shape("arn:{partition}:s3:::{name}", outputs={"bucket": "{name}"}),
    "aws:s3/bucketV2:BucketV2": Shape("arn:{partition}:s3:::{name}", outputs={"bucket": "{name}"}),
    "aws:iam/role:Role": Shape("arn:{partition}:iam::{account}:role/{name}"),
    "aws:lambda/function:Function": Shape(
        _in("lambda", "function:{name}"),
        outputs={"invokeArn": "arn:{partition}:apigateway:{region}:lambda:path/2015-03-31/functions/{arn}"
                              "/invocations"}),
    "aws:lambda/layerVersion:LayerVersion": Shape(_in("lambda", "layer:{name}:1"),
                                                  id="{arn}", outputs={"version": "1"}),
    "aws:dynamodb/table:Table": Shape(
        _in("dynamodb", "table/{name}"),
        when_set={"streamEnabled": {"streamArn": "{arn}/stream/1970-01-01T00:00:00.000"}}),
    "aws:cloudwatch/logGroup:LogGroup": Shape(_in("logs", "log-group:{name}")),
    "aws:cloudwatch/metricAlarm:MetricAlarm": Shape(_in("cloudwatch", "alarm:{name}")),
    "aws:sns/topic:Topic": Shape(_in("sns", "{name}"), id="{arn}"),
    "aws:kms/key:Key": Shape(_in("kms", "key/{key}"), id="{key}", outputs={"keyId": "{key}"}),
    "aws:cloudwatch/eventBus:EventBus": Shape(_in("events", "event-bus/{name}")),
    "aws:cloudwatch/eventArchive:EventArchive": Shape(_in("events", "archive/{name}")),
    "aws:cloudwatch/eventRule:EventRule": Shape(_in("events", "rule/{eventBusName}/{name}")),
    "aws:iot/topicRule:TopicRule": Shape(_in("iot", "rule/{name}")),
    "aws:apigatewayv2/api:Api": Shape(
        _in("apigatewayv2", "{name}"), id="{digest}",
        outputs={"apiEndpoint": "https://{digest}.execute-api.{region}.{dns}",
                 "executionArn": _in("execute-api", "{digest}")}),
    "aws:apigatewayv2/stage:Stage": Shape(_in("apigatewayv2", "{name}"),
                                          id="{resource}-id",
                                          outputs={"invokeUrl": "https://{apiId}.execute-api.{region}.{dns}/"}),
}

# Inputs a format may name, with the value AWS assumes when the program leaves them out.
INPUT_DEFAULTS = {"eventBusName": "default", "apiId": ""}


def _service(token: str) -> str:
    package, module = token.split(":")[0], token.split(":")[1].split("/")[0]
    return module.replace("_", "") if package == "aws" else package


def shaped(token: str, resource: str, physical: str, inputs: Mapping[str, Any],
           place: Place) -> tuple[str | None, dict[str, Any]]:
    """The id (None: the type has no row) and the outputs of `token`'s row for a resource named
    `resource` whose physical name is `physical`; a type without a row gets an ARN of its service."""
    digest = hashlib.sha256(resource.encode()).hexdigest()
    values: dict[str, Any] = {**INPUT_DEFAULTS, **{k: v for k, v in inputs.items() if isinstance(v, str)},
                              "partition": place.partition, "region": place.region, "account": place.account,
                              "dns": dns_suffix(place.partition), "name": physical, "resource": resource,
                              "digest": digest[:10], "key": str(uuid.UUID(digest[:32])), "service": _service(token)}
    shape = SHAPES.get(token)
    if shape is None:
        return None, {"arn": place.arn(values["service"], physical)}
    values["arn"] = shape.arn.format(**values)
    made = {"arn": values["arn"], **{k: f.format(**values) for k, f in shape.outputs.items()}}
    for key, outputs in shape.when_set.items():
        if inputs.get(key):
            made.update({k: f.format(**values) for k, f in outputs.items()})
    return shape.id.format(**{**values, **made}), made


def arn_of(token: str, physical: str, place: Place) -> str:
    """The ARN AWS gives a resource of `token` named `physical` (the local deployer's, where the
    emulator hands none back)."""
    return shaped(token, physical, physical, {}, place)[1]["arn"]
