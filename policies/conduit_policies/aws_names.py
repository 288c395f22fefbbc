"""AWS's rules for physical names, per resource type, as AWS documents them.

One source for both sides: the pack judges names against these rules, and Conduit's program
fits its own names to them (infra/blocks/naming.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class NameRule:
    what: str
    max_length: int
    allowed: str
    """A regular-expression character class body of the characters the type accepts."""
    min_length: int = 1
    lower: bool = False
    fifo_suffix: bool = False
    """`.fifo` may end the name (FIFO queues and topics), counted in the length."""

    def problems(self, name: str) -> list[str]:
        """What is wrong with `name` for this type; [] when AWS accepts it."""
        found = []
        if not self.min_length <= len(name) <= self.max_length:
            found.append(f"is {len(name)} characters long; {self.what} names are {self.min_length} to "
                         f"{self.max_length}")
        body = name.removesuffix(".fifo") if self.fifo_suffix else name
        bad = sorted(set(re.sub(f"[{self.allowed}]", "", body)))
        if bad:
            found.append(f"contains {''.join(bad)!r}; {self.what} names allow only [{self.allowed}]")
        return found


RULES: dict[str, NameRule] = {
    "lambda": NameRule("Lambda function", 64, "A-Za-z0-9_-"),
    "layer": NameRule("Lambda layer", 64, "A-Za-z0-9_-"),
    "role": NameRule("IAM role", 64, r"\w+=,.@-"),
    "queue": NameRule("SQS queue", 80, "A-Za-z0-9_-", fifo_suffix=True),
    "topic": NameRule("SNS topic", 256, "A-Za-z0-9_-", fifo_suffix=True),
    "table": NameRule("DynamoDB table", 255, "A-Za-z0-9_.-", min_length=3),
    "bucket": NameRule("S3 bucket", 63, "a-z0-9.-", min_length=3, lower=True),
    "iot-rule": NameRule("IoT topic rule", 128, "A-Za-z0-9_"),
    "iot-thing": NameRule("IoT thing", 128, "A-Za-z0-9:_-"),
    "iot-policy": NameRule("IoT policy", 128, r"\w+=,.@-"),
    "event-bus": NameRule("EventBridge event bus", 256, "A-Za-z0-9._/-"),
    "event-rule": NameRule("EventBridge rule", 64, "A-Za-z0-9._-"),
    "event-archive": NameRule("EventBridge archive", 48, "A-Za-z0-9._-"),
    "log-group": NameRule("CloudWatch log group", 512, "A-Za-z0-9._/#-"),
    "api": NameRule("API Gateway API", 128, "A-Za-z0-9._ -"),
    "kms-alias": NameRule("KMS alias", 256, "A-Za-z0-9/_-"),
}


def bucket_problems(name: str) -> list[str]:
    """S3's further rules for general purpose bucket names."""
    found = RULES["bucket"].problems(name)
    if name and not (name[0].isalnum() and name[-1].isalnum()):
        found.append("must begin and end with a letter or digit")
    if ".." in name:
        found.append("must not contain two adjacent periods")
    if re.fullmatch(r"\d+\.\d+\.\d+\.\d+", name):
        found.append("must not be formatted as an IP address")
    if name.startswith(("xn--", "sthree-")) or name.endswith(("-s3alias", "--ol-s3", ".mrap", "--x-s3")):
        found.append("must not use a prefix or suffix S3 reserves (xn--, sthree-, -s3alias, --ol-s3, ...)")
    return found


# (resource type, property holding the physical name) -> the rule it must follow.
NAMED_TYPES: dict[tuple[str, str], str] = {
    ("aws:lambda/function:Function", "name"): "lambda",
    ("aws:lambda/layerVersion:LayerVersion", "layerName"): "layer",
    ("aws:iam/role:Role", "name"): "role",
    ("aws:sqs/queue:Queue", "name"): "queue",
    ("aws:sns/topic:Topic", "name"): "topic",
    ("aws:dynamodb/table:Table", "name"): "table",
    ("aws:s3/bucket:Bucket", "bucket"): "bucket",
    ("aws:s3/bucketV2:BucketV2", "bucket"): "bucket",
    ("aws:iot/topicRule:TopicRule", "name"): "iot-rule",
    ("aws:iot/thing:Thing", "name"): "iot-thing",
    ("aws:iot/policy:Policy", "name"): "iot-policy",
    ("aws:cloudwatch/eventBus:EventBus", "name"): "event-bus",
    ("aws:cloudwatch/eventRule:EventRule", "name"): "event-rule",
    ("aws:cloudwatch/eventArchive:EventArchive", "name"): "event-archive",
    ("aws:cloudwatch/logGroup:LogGroup", "name"): "log-group",
}
# Name prefixes: the provider appends a random suffix, so the prefix must leave it room.
PREFIX_LIMITS: dict[tuple[str, str], int] = {
    ("aws:iam/role:Role", "namePrefix"): 38,
    ("aws:s3/bucket:Bucket", "bucketPrefix"): 37,
    ("aws:s3/bucketV2:BucketV2", "bucketPrefix"): 37,
    ("aws:lambda/function:Function", "namePrefix"): 38,
}
