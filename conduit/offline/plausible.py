"""Plausible values for what a provider computes: every output of a resource, every field of an
invoke's result, derived from the provider SDK's own Python types.

Real programs read computed outputs (`execution_arn`, `root_resource_id`, `public_ip`) and data
sources (`get_availability_zones().names[0]`, `get_ami().id`); a mock that answers nothing makes
them crash before any policy runs. The provider package (`pulumi_aws`, `pulumi_random`, ...)
declares each output's Pulumi name and type; a value is made for each from its name and type.
"""

from __future__ import annotations

import enum
import inspect
import typing
from collections.abc import Mapping, Sequence
from typing import Any

from conduit.offline.guesses import KIND_ID_PREFIXES, digest, string_for, zone_ids, zones
from conduit.offline.provider_types import (
    declared,
    holds_resources,
    resource_class,
    resource_in,
    resource_token,
    result_class,
    settable,
    unwrap,
)

MAX_DEPTH = 5
# Outputs a provider fills in around what the program set: made values merged under the inputs.
PROVIDER_FILLED = ("metadata",)


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
    return string_for(name, context)


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
                            "name": f"{name}-{digest(name, 'metadata')[:8]}", **given}
    return made


def resource_id(token: str, name: str) -> str:
    """An id as AWS shapes it for the kind (`sg-...`, `subnet-...`), else one derived from the name."""
    prefix = KIND_ID_PREFIXES.get(token.rsplit(":", 1)[-1].lower())
    return f"{prefix}{digest(name, 'id')}" if prefix else f"{name}-id"


def resource_state(token: str, name: str, resource_id: str) -> dict[str, Any]:
    """The whole state a provider reads back for an existing resource (`Vpc.get(name, id)`):
    every property, inputs included, since the program set none of them."""
    cls = resource_class(token)
    if cls is None:
        return {}
    context = _context(token, resource_id or name)
    return {k: value_for(k, hint, context) for k, hint in declared(cls).items() if not holds_resources(hint)}


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
    return {k: coerced(args[k], hint) if k in args else value_for(k, hint, context)
            for k, hint in declared(cls).items()}
