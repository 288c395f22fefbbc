"""How the aws provider names a resource whose program sets no name (pulumi-aws v7, `provider/resources.go`).

It auto-names at Check, so a real `pulumi preview` already shows the name and the pack judges it:
the resource's name, a separator and random characters, within a maximum length (the provider
refuses a name whose prefix leaves no room: "name 'x-' plus 7 random chars is longer than maximum
length 64"), sometimes lower-cased or with a suffix or prefix AWS requires. Every type with a
settable `name` gets the provider-wide default (`SetAutonaming(255, "-")`); the rows below are the
provider's own overrides. Conduit's offline engine makes names by these rows; the pack recognises
them by the same rows (`physical-name-limits`).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class AutoName:
    prop: str
    maxlen: int
    """The provider's limit on prefix + random part (0: none); a suffix it adds comes after it."""
    separator: str = "-"
    randlen: int = 7
    lower: bool = False
    fifo_flag: str | None = None
    """The input that, when true, makes the provider append `.fifo`."""
    prefix: str = ""
    """Prepended when absent (KMS aliases: `alias/`)."""
    charset: str = "0123456789abcdef"

    def make(self, logical: str, inputs: Mapping[str, Any], seed: str) -> str:
        base = logical.lower() if self.lower else logical
        digest = hashlib.sha256(seed.encode()).digest()
        random = "".join(self.charset[b % len(self.charset)] for b in digest[:self.randlen])
        name = f"{base}{self.separator}{random}"
        if self.fifo_flag and inputs.get(self.fifo_flag) is True:
            name += ".fifo"
        if self.prefix and not name.startswith(self.prefix):
            name = self.prefix + name
        return name

    def refusal(self, logical: str) -> str | None:
        """The provider's own error when the name leaves no room for the random part."""
        prefix = f"{logical}{self.separator}"
        if self.maxlen and len(prefix) + self.randlen > self.maxlen:
            return (f"name '{prefix}' plus {self.randlen} random chars is longer than maximum length "
                    f"{self.maxlen}")
        return None


DEFAULT = AutoName("name", 255)
LETTERS = "abcdefghijklmnopqrstuvwxyz"
# Glue (and so Athena) names must match ^[a-z]+(_[a-z]+)*$: lower-case letters, `_`, random letters.
GLUE = AutoName("name", 0, separator="_", randlen=8, lower=True, charset=LETTERS)

# The aws provider's overrides, by type token (one row each; the test names the row it pins).
OVERRIDES: dict[str, AutoName | None] = {
    "aws:lambda/function:Function": AutoName("name", 64),
    "aws:iam/role:Role": AutoName("name", 64),
    "aws:sqs/queue:Queue": AutoName("name", 80, fifo_flag="fifoQueue"),
    "aws:sns/topic:Topic": AutoName("name", 80, fifo_flag="fifoTopic"),
    "aws:s3/bucket:Bucket": AutoName("bucket", 63, lower=True),
    "aws:s3/bucketV2:BucketV2": AutoName("bucket", 63, lower=True),
    "aws:cloudwatch/eventRule:EventRule": AutoName("name", 64),
    "aws:cloudwatch/eventTarget:EventTarget": AutoName("targetId", 255),
    "aws:cloudwatch/metricAlarm:MetricAlarm": AutoName("name", 255),
    "aws:iot/topicRule:TopicRule": AutoName("name", 0, separator="_"),
    "aws:kms/alias:Alias": AutoName("name", 238, prefix="alias/"),
    "aws:lambda/permission:Permission": AutoName("statementId", 100),
    "aws:elasticache/cluster:Cluster": AutoName("clusterId", 50, lower=True),
    "aws:elasticache/replicationGroup:ReplicationGroup": AutoName("replicationGroupId", 40, lower=True),
    "aws:elasticsearch/domain:Domain": AutoName("domainName", 28, lower=True),
    "aws:opensearch/domain:Domain": AutoName("domainName", 255),
    "aws:elasticbeanstalk/environment:Environment": AutoName("name", 40),
    "aws:mq/broker:Broker": AutoName("brokerName", 55),
    "aws:ec2/keyPair:KeyPair": AutoName("keyName", 255),
    "aws:efs/fileSystem:FileSystem": AutoName("creationToken", 255),
    "aws:eks/nodeGroup:NodeGroup": AutoName("nodeGroupName", 255),
    "aws:eks/fargateProfile:FargateProfile": AutoName("fargateProfileName", 255),
    "aws:rds/instance:Instance": AutoName("identifier", 255),
    "aws:athena/database:Database": AutoName("name", 255, separator="_"),
    "aws:appsync/function:Function": AutoName("name", 255, separator="_"),
    "aws:appsync/dataSource:DataSource": AutoName("name", 255, separator="_"),
    "aws:codedeploy/deploymentConfig:DeploymentConfig": AutoName("deploymentConfigName", 100, separator="_"),
    "aws:backup/restoreTestingPlan:RestoreTestingPlan": AutoName("name", 255, separator="_"),
    "aws:glue/catalogDatabase:CatalogDatabase": GLUE,
    "aws:glue/catalogTable:CatalogTable": GLUE,
    # A `name` that is the thing itself, never auto-named: a DNS record's domain, a directory's.
    "aws:route53/record:Record": None,
    "aws:directoryservice/directory:Directory": None,
}

# RDS SQL Server identifiers: the provider keeps them to 15 characters with 3 random ones.
SQL_SERVER = AutoName("identifier", 15, randlen=3)


def override(token: str, inputs: Mapping[str, Any]) -> AutoName | None:
    """The provider's own row for a type (None: not auto-named, or the default applies)."""
    if token == "aws:rds/instance:Instance" and "sqlserver" in str(inputs.get("engine", "")).lower():
        return SQL_SERVER
    return OVERRIDES.get(token)


def made_from(rule: AutoName, logical: str, name: str) -> bool:
    """Whether `name` is what the provider makes from the resource's name under `rule`."""
    base = logical.lower() if rule.lower else logical
    pattern = (re.escape(rule.prefix) + "?" if rule.prefix else "") + re.escape(base + rule.separator)
    pattern += f"[{re.escape(rule.charset)}]{{{rule.randlen}}}" + (r"(\.fifo)?" if rule.fifo_flag else "")
    return re.fullmatch(pattern, name) is not None


