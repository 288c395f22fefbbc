"""A plausible string for a property known only by its name, one ordered row per kind of name.

A provider SDK types most outputs as plain `str`; what AWS puts there follows from the name
(`executionArn`, `subnetId`, `dnsName`, `secretString`). The first row whose test matches makes the
value; each row carries an example that `tests/test_offline_guesses.py` checks is made by that row
and no earlier one, so a new kind of name is a new row and its example.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import pulumi

from conduit.offline.shapes import Place, dns_suffix, partition_of

ACCOUNT = "123456789012"
REGION = "eu-west-1"
# Services whose ARNs name no region (and, for S3, no account either).
GLOBAL_SERVICES = {"iam", "s3", "cloudfront", "route53", "organizations", "waf", "globalaccelerator"}
COMPASS = {"north": "n", "south": "s", "east": "e", "west": "w", "central": "c", "northeast": "ne",
           "southeast": "se", "northwest": "nw", "southwest": "sw"}
# The id of a resource (or data source) of these kinds, as AWS shapes it.
KIND_ID_PREFIXES = {"ami": "ami-", "vpc": "vpc-", "subnet": "subnet-", "securitygroup": "sg-", "instance": "i-",
                    "internetgateway": "igw-", "natgateway": "nat-", "routetable": "rtb-", "eip": "eipalloc-",
                    "networkinterface": "eni-", "launchtemplate": "lt-", "keypair": "key-"}
# Id prefixes AWS uses, by the property name that holds the id.
ID_PREFIXES = {"vpcId": "vpc-", "subnetId": "subnet-", "securityGroupId": "sg-", "imageId": "ami-",
               "instanceId": "i-", "internetGatewayId": "igw-", "natGatewayId": "nat-", "routeTableId": "rtb-",
               "networkInterfaceId": "eni-", "allocationId": "eipalloc-", "volumeId": "vol-",
               "snapshotId": "snap-", "keyPairId": "key-", "launchTemplateId": "lt-", "ownerId": ""}
DATABASE_SERVICES = ("rds", "docdb", "neptune", "redshift", "elasticache")


def region() -> str:
    """The stack's `aws:region`, as the provider would use it (eu-west-1 when none is set)."""
    try:
        return pulumi.Config("aws").get("region") or REGION
    except Exception:  # no program running: the default
        return REGION


def hosts() -> str:
    """The domain AWS's endpoints and host names end in, in the stack's region's partition (China's
    is amazonaws.com.cn)."""
    return dns_suffix(partition_of(region()))


def zones(where: str | None = None) -> list[str]:
    return [f"{where or region()}{letter}" for letter in "abc"]


def zone_ids(where: str | None = None) -> list[str]:
    """`euw1-az1`, as AWS names zone ids: area, compass abbreviation, number."""
    area, *middle, number = (where or region()).split("-")
    return [f"{area}{''.join(COMPASS.get(m, m[:1]) for m in middle)}{number}-az{n}" for n in (1, 2, 3)]


def arn(service: str, resource: str) -> str:
    """An ARN as AWS shapes it for `service`: global services name no region, S3 no account."""
    return Place(region(), ACCOUNT).arn(service, resource, regional=service not in GLOBAL_SERVICES,
                                         in_account=service != "s3")


def digest(*parts: str, length: int = 10) -> str:
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:length]


@dataclass(frozen=True)
class Named:
    """What a string is made for: the property's name, the resource's physical name (`label`), its
    service (`ec2`) and kind (`subnet`)."""

    name: str
    label: str
    service: str
    kind: str

    @property
    def lower(self) -> str:
        return self.name.lower()

    @property
    def digest(self) -> str:
        return digest(self.label, self.name)


def _id_prefix(named: Named) -> str | None:
    """The prefix of the kind an id property's name ends with (`subnetId`, `defaultVpcId`)."""
    return next((prefix for key, prefix in ID_PREFIXES.items() if named.lower.endswith(key.lower())), None)


@dataclass(frozen=True)
class Guess:
    """One row: when it applies, what it makes, and an example (name, service, kind) with the shape
    (a regular expression) of what it must make for it."""

    applies: Callable[[Named], bool]
    make: Callable[[Named], str]
    example: tuple[str, str, str]
    shape: str


GUESSES: list[Guess] = [
    Guess(lambda n: n.lower == "executionarn", lambda n: arn("execute-api", f"{n.label}-{n.digest[:6]}"),
          ("executionArn", "apigateway", "restapi"), r"arn:aws:execute-api:eu-west-1:\d{12}:api-\w{6}"),
    Guess(lambda n: n.lower.endswith("arn"),
          lambda n: arn(n.service, n.label if n.service == "s3" else f"{n.kind}/{n.label}"),
          ("roleArn", "iam", "role"), r"arn:aws:iam::\d{12}:role/api"),
    Guess(lambda n: n.name == "id" and n.kind in KIND_ID_PREFIXES,
          lambda n: f"{KIND_ID_PREFIXES[n.kind]}{n.digest}", ("id", "ec2", "subnet"), r"subnet-[0-9a-f]{10}"),
    Guess(lambda n: _id_prefix(n) is not None,
          lambda n: f"{prefix}{n.digest}" if (prefix := _id_prefix(n)) else ACCOUNT,
          ("defaultVpcId", "ec2", "vpc"), r"vpc-[0-9a-f]{10}"),
    Guess(lambda n: n.lower in ("accountid", "owner", "ownerid"), lambda n: ACCOUNT,
          ("accountId", "sts", "calleridentity"), r"\d{12}"),
    Guess(lambda n: n.lower in ("region", "awsregion"), lambda n: region(), ("region", "s3", "bucket"), r"eu-west-1"),
    Guess(lambda n: n.lower == "partition", lambda n: partition_of(region()), ("partition", "iam", "role"), r"aws"),
    Guess(lambda n: n.lower in ("zoneid", "hostedzoneid"), lambda n: "Z" + n.digest.upper(),
          ("hostedZoneId", "lb", "loadbalancer"), r"Z[0-9A-F]{10}"),
    Guess(lambda n: "availabilityzone" in n.lower, lambda n: zones()[0], ("availabilityZone", "ec2", "subnet"),
          r"eu-west-1a"),
    Guess(lambda n: n.lower == "endpoint" and n.service in DATABASE_SERVICES,
          lambda n: f"{n.label}.{n.digest[:12]}.{region()}.{n.service}.{hosts()}:5432",
          ("endpoint", "rds", "instance"), r"api\.[0-9a-f]{10}\.eu-west-1\.rds\.amazonaws\.com:5432"),
    Guess(lambda n: n.lower.endswith(("url", "endpoint")),
          lambda n: f"https://{n.label}-{n.digest[:6]}.{n.service}.{region()}.{hosts()}/",
          ("invokeUrl", "apigateway", "stage"), r"https://api-\w{6}\.apigateway\.eu-west-1\.amazonaws\.com/"),
    Guess(lambda n: n.lower.endswith(("dnsname", "domainname", "fqdn", "hostname", "address")) and "ip" not in n.lower,
          lambda n: f"{n.label}-{n.digest[:6]}.{n.service}.{region()}.{hosts()}",
          ("dnsName", "lb", "loadbalancer"), r"api-\w{6}\.lb\.eu-west-1\.amazonaws\.com"),
    Guess(lambda n: n.lower.endswith(("ip", "ipaddress")),
          lambda n: "10.0.0.10" if "private" in n.lower else "203.0.113.10",
          ("privateIp", "ec2", "instance"), r"10\.0\.0\.10"),
    Guess(lambda n: "cidr" in n.lower, lambda n: "10.0.0.0/16", ("cidrBlock", "ec2", "vpc"), r"10\.0\.0\.0/16"),
    # ECR's token: base64 of `AWS:<password>`, which programs decode and split for a registry login.
    Guess(lambda n: n.lower == "authorizationtoken", lambda n: base64.b64encode(f"AWS:{n.digest}".encode()).decode(),
          ("authorizationToken", "ecr", "authorizationtoken"), r"QVdTO[A-Za-z0-9+/=]+"),
    # Programs parse it: the shape Secrets Manager documents for database credentials.
    Guess(lambda n: n.lower == "secretstring",
          lambda n: json.dumps({"engine": "postgres", "host": f"{n.label}.{region()}.rds.{hosts()}",
                                "port": 5432, "username": "admin", "password": n.digest, "dbname": n.label}),
          ("secretString", "secretsmanager", "secretversion"), r'\{"engine": "postgres", .*"dbname": "api"\}'),
    Guess(lambda n: n.lower in ("json", "policy") or n.lower.endswith("json"), lambda n: "{}",
          ("policyJson", "iam", "policydocument"), r"\{\}"),
    Guess(lambda n: n.lower.endswith("version") or n.lower == "revision", lambda n: "1",
          ("latestVersion", "ec2", "launchtemplate"), r"1"),
    Guess(lambda n: n.lower.endswith("id"), lambda n: f"{n.label}-{n.digest}", ("clientId", "cognito", "userpool"),
          r"api-[0-9a-f]{10}"),
    Guess(lambda n: n.lower.endswith("name"), lambda n: n.label, ("functionName", "lambda", "function"), r"api"),
]


def first_guess(named: Named) -> int | None:
    """The index of the row that makes the string for `named` (None: no row)."""
    return next((index for index, guess in enumerate(GUESSES) if guess.applies(named)), None)


def string_for(name: str, context: Mapping[str, str]) -> str:
    """The first row's string for a property `name` of the resource `context` describes (`name`,
    `service`, `kind`); with no row for it, the label and the name."""
    named = Named(name, context.get("name", "fake"), context.get("service", "service"), context.get("kind", "resource"))
    index = first_guess(named)
    return f"{named.label}-{name}" if index is None else GUESSES[index].make(named)
