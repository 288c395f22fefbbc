"""Plausible values for what a provider computes: every output of a resource, every field of an
invoke's result, derived from the provider SDK's own Python types.

Real programs read computed outputs (`execution_arn`, `root_resource_id`, `public_ip`) and data
sources (`get_availability_zones().names[0]`, `get_ami().id`); a mock that answers nothing makes
them crash before any policy runs. The provider package (`pulumi_aws`, `pulumi_random`, ...)
declares each output's Pulumi name and type; a value is made for each from its name and type.
"""

from __future__ import annotations

import base64
import enum
import hashlib
import inspect
import json
import typing
from collections.abc import Mapping, Sequence
from typing import Any

import pulumi

from conduit.provider_types import (
    declared,
    holds_resources,
    resource_class,
    resource_in,
    resource_token,
    result_class,
    settable,
    unwrap,
)

ACCOUNT = "123456789012"
REGION = "eu-west-1"
MAX_DEPTH = 5
# Services whose ARNs name no region (and, for S3, no account either).
GLOBAL_SERVICES = {"iam", "s3", "cloudfront", "route53", "organizations", "waf", "globalaccelerator"}
COMPASS = {"north": "n", "south": "s", "east": "e", "west": "w", "central": "c", "northeast": "ne",
           "southeast": "se", "northwest": "nw", "southwest": "sw"}
# Outputs a provider fills in around what the program set: made values merged under the inputs.
PROVIDER_FILLED = ("metadata",)

# The id of a resource (or data source) of these kinds, as AWS shapes it.
KIND_ID_PREFIXES = {"ami": "ami-", "vpc": "vpc-", "subnet": "subnet-", "securitygroup": "sg-", "instance": "i-",
                    "internetgateway": "igw-", "natgateway": "nat-", "routetable": "rtb-", "eip": "eipalloc-",
                    "networkinterface": "eni-", "launchtemplate": "lt-", "keypair": "key-"}
# Id prefixes AWS uses, by the property name that holds the id.
ID_PREFIXES = {"vpcId": "vpc-", "subnetId": "subnet-", "securityGroupId": "sg-", "imageId": "ami-",
               "instanceId": "i-", "internetGatewayId": "igw-", "natGatewayId": "nat-", "routeTableId": "rtb-",
               "networkInterfaceId": "eni-", "allocationId": "eipalloc-", "volumeId": "vol-",
               "snapshotId": "snap-", "keyPairId": "key-", "launchTemplateId": "lt-", "ownerId": ""}


def region() -> str:
    """The stack's `aws:region`, as the provider would use it (eu-west-1 when none is set)."""
    try:
        return pulumi.Config("aws").get("region") or REGION
    except Exception:  # no program running: the default
        return REGION


def zones(where: str | None = None) -> list[str]:
    return [f"{where or region()}{letter}" for letter in "abc"]


def zone_ids(where: str | None = None) -> list[str]:
    """`euw1-az1`, as AWS names zone ids: area, compass abbreviation, number."""
    area, *middle, number = (where or region()).split("-")
    return [f"{area}{''.join(COMPASS.get(m, m[:1]) for m in middle)}{number}-az{n}" for n in (1, 2, 3)]


def partition(where: str | None = None) -> str:
    where = where or region()
    return "aws-us-gov" if where.startswith("us-gov-") else "aws-cn" if where.startswith("cn-") else "aws"


def arn(service: str, resource: str) -> str:
    """An ARN as AWS shapes it for `service`: global services name no region, S3 no account."""
    if service == "s3":
        return f"arn:{partition()}:s3:::{resource}"
    return f"arn:{partition()}:{service}:{'' if service in GLOBAL_SERVICES else region()}:{ACCOUNT}:{resource}"


def _digest(*parts: str, length: int = 10) -> str:
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:length]


def value_for(name: str, hint: Any, context: Mapping[str, str], depth: int = 0) -> Any:
    """A plausible value of type `hint` for a property called `name`."""
    hint = unwrap(hint)
    origin = typing.get_origin(hint)
    lower = name.lower()
    if inspect.isclass(hint) and issubclass(hint, enum.Enum):
        return next(iter(hint)).value  # a value the SDK's enum accepts
    if typing.get_origin(hint) is typing.Literal:
        return typing.get_args(hint)[0]
    if hint is bool:
        return False
    if hint in (int, float):
        return 1
    if origin in (list, Sequence, typing.Sequence) or hint in (list,):
        (item,) = typing.get_args(hint) or (Any,)
        if lower.endswith(("names", "zones")) and "zone" in lower:
            return zones()
        if lower in ("zoneids",):
            return zone_ids()
        if depth >= MAX_DEPTH:
            return []
        # Programs index what they read (`options[0].resource_record_name`): give a list one item
        # (two for ids and ARNs, which programs spread over zones).
        count = 2 if lower.endswith(("ids", "arns")) or lower in ("names", "ips") else 1
        singular = name[:-1] if name.endswith("s") else name
        return [value_for(singular, item, context, depth + 1) for _ in range(count)]
    if origin in (dict, Mapping, typing.Mapping) or hint is dict:
        return {}
    if inspect.isclass(hint) and hint not in (str, Any) and depth < MAX_DEPTH and declared(hint):
        return {k: value_for(k, v, context, depth + 1) for k, v in declared(hint).items() if not holds_resources(v)}
    return _string_for(name, context)


def _string_for(name: str, context: Mapping[str, str]) -> str:
    label, service = context.get("name", "fake"), context.get("service", "service")
    digest = _digest(label, name)
    lower = name.lower()
    if lower == "executionarn":
        return arn("execute-api", f"{label}-{digest[:6]}")
    if lower == "arn" or lower.endswith("arn"):
        return arn(service, label if service == "s3" else f"{context.get('kind', 'resource')}/{label}")
    if name == "id" and context.get("kind") in KIND_ID_PREFIXES:
        return f"{KIND_ID_PREFIXES[context['kind']]}{digest}"
    # `subnetId`, `privateSubnetId`, `defaultVpcId`: the prefix of the kind the name ends with.
    for key, prefix in ID_PREFIXES.items():
        if lower.endswith(key.lower()):
            return f"{prefix}{digest}" if prefix else ACCOUNT
    if lower in ("accountid", "owner", "ownerid"):
        return ACCOUNT
    if lower in ("region", "awsregion"):
        return region()
    if lower == "partition":
        return partition()
    if lower in ("zoneid", "hostedzoneid"):
        return "Z" + digest.upper()
    if "availabilityzone" in lower:
        return zones()[0]
    if lower == "endpoint" and service in ("rds", "docdb", "neptune", "redshift", "elasticache"):
        return f"{label}.{digest[:12]}.{region()}.{service}.amazonaws.com:5432"  # host:port
    if lower.endswith("url") or lower.endswith("endpoint") or lower == "invokeurl":
        return f"https://{label}-{digest[:6]}.{service}.{region()}.amazonaws.com/"
    if lower.endswith(("dnsname", "domainname", "fqdn", "hostname", "address")) and "ip" not in lower:
        return f"{label}-{digest[:6]}.{service}.{region()}.amazonaws.com"
    if lower.endswith("ip") or lower.endswith("ipaddress"):
        return "10.0.0.10" if "private" in lower else "203.0.113.10"
    if "cidr" in lower:
        return "10.0.0.0/16"
    if lower == "authorizationtoken":
        # ECR's: base64 of `AWS:<password>`, which programs decode and split for a registry login.
        return base64.b64encode(f"AWS:{digest}".encode()).decode()
    if lower == "secretstring":
        # Programs parse it; the shape Secrets Manager documents for database credentials.
        return json.dumps({"engine": "postgres", "host": f"{label}.{region()}.rds.amazonaws.com", "port": 5432,
                           "username": "admin", "password": digest, "dbname": label})
    if lower in ("json", "policy") or lower.endswith("json"):
        return "{}"
    if lower.endswith("version") or lower == "revision":
        return "1"
    if lower.endswith("id") or lower == "id":
        return f"{label}-{digest}"
    if lower.endswith("name") or lower == "name":
        return label
    return f"{label}-{name}"


def _context(token: str, label: str) -> dict[str, str]:
    """What a value is made for: the physical name, the service (`ec2`) and the kind (`subnet`; a data
    source's without its `get`) of a type or function token."""
    service = token.split(":")[1].split("/")[0] if ":" in token else "service"
    return {"name": label, "service": service, "kind": token.rsplit(":", 1)[-1].removeprefix("get").lower()}


def resource_outputs(token: str, name: str, inputs: Mapping[str, Any]) -> dict[str, Any]:
    """A value for every output of resource type `token` that only the provider computes.

    Outputs that are also inputs are left alone: a provider echoes what was set and leaves
    unset settings empty, so inventing them would tell a policy that a DLQ or a key exists.
    """
    cls = resource_class(token)
    if cls is None:
        return {}
    context = _context(token, str(inputs.get("name") or name))
    can_set = settable(cls)
    made = {k: value_for(k, hint, context) for k, hint in declared(cls).items()
            if k not in inputs and k not in can_set and not holds_resources(hint)}
    if token.startswith("kubernetes:") and "metadata" in declared(cls):  # one of PROVIDER_FILLED
        # Kubernetes names an object (and fills in its namespace, uid) whether or not metadata was set.
        given = inputs.get("metadata") if isinstance(inputs.get("metadata"), Mapping) else {}
        made["metadata"] = {**value_for("metadata", declared(cls)["metadata"], context), "namespace": "default",
                            "name": f"{name}-{_digest(name, 'metadata')[:8]}", **given}
    return made


def resource_id(token: str, name: str) -> str:
    """An id as AWS shapes it for the kind (`sg-...`, `subnet-...`), else one derived from the name."""
    prefix = KIND_ID_PREFIXES.get(token.rsplit(":", 1)[-1].lower())
    return f"{prefix}{_digest(name, 'id')}" if prefix else f"{name}-id"


def resource_state(token: str, name: str, resource_id: str) -> dict[str, Any]:
    """The whole state a provider reads back for an existing resource (`Vpc.get(name, id)`):
    every property, inputs included, since the program set none of them."""
    cls = resource_class(token)
    if cls is None:
        return {}
    context = _context(token, resource_id or name)
    return {k: value_for(k, hint, context) for k, hint in declared(cls).items() if not holds_resources(hint)}


# Outputs a program's own dynamic resources declare (props given as None), by (type, name): only
# the program knows them, and only its provider's `create`, which never runs offline, makes them.
DYNAMIC_OUTPUTS: dict[tuple[str, str], list[str]] = {}


def value_named(name: str) -> Any:
    """A plausible value known only by its name (a referenced stack's output, a key of a map the
    provider fills): a list for plural names (`subnetIds`, `privateSubnets`), else a string."""
    plural = name.lower().endswith(("ids", "arns", "names", "subnets", "zones", "urls", "endpoints", "addresses"))
    return value_for(name, list[str] if plural else str, {"name": name, "service": "stack", "kind": "output"})


def resources_in_outputs(token: str) -> list[tuple[str, str, bool]]:
    """(output, type token, is it a list) of each output of a provider's component that hands back
    resources it built (awsx's `loadBalancer`, `privateSubnets`)."""
    cls = resource_class(token)
    found = []
    for name, hint in (declared(cls) if cls else {}).items():
        inner, many = resource_in(hint)
        child = resource_token(inner) if inner is not None else None
        if child:
            found.append((name, child, many))
    return found


def coerced(value: Any, hint: Any) -> Any:
    """An argument as the provider hands it back in a result of declared type `hint`: Terraform
    reads `"true"` as a bool and `"5"` as a number (a result class refuses the string)."""
    wanted = unwrap(hint)
    if isinstance(value, str):
        if wanted is bool and value.lower() in ("true", "false"):
            return value.lower() == "true"
        if wanted in (int, float):
            try:
                return wanted(value)
            except ValueError:
                return value
    return value


# Fields of a data source's result that hold content a program may parse (an SSM parameter's value,
# an S3 object's body): their made-up strings are remembered, so that a program's `json.loads` of one
# gets a document answering every key by name (conduit.engine) instead of a JSONDecodeError.
CONTENT_FIELDS = {"value", "body", "insecurevalue", "content", "plaintext", "secretbinary"}
MADE_CONTENT: set[str] = set()


class DocumentByName(dict):
    """A parsed document whose keys only the cloud knows: each key read answers by its name."""

    def __missing__(self, key: Any) -> Any:
        return value_named(str(key))


def invoke_result(token: str, args: Mapping[str, Any]) -> dict[str, Any]:
    """A value for every field of an invoke's result, arguments echoed (as the provider coerces
    them) where they share a name."""
    cls = result_class(token)
    if cls is None:
        return {}
    label = str(args.get("name") or token.rsplit(":", 1)[-1])
    context = _context(token, label)
    result = {k: coerced(args[k], hint) if k in args else value_for(k, hint, context)
              for k, hint in declared(cls).items()}
    MADE_CONTENT.update(v for k, v in result.items() if k.lower() in CONTENT_FIELDS and isinstance(v, str))
    return result
