"""A fake cloud for offline previews: every resource is 'created' with plausible outputs.

Outputs are shaped like AWS's (ARNs, queue URLs, endpoints) so that programs which build
policies and wiring from them produce the same documents they would against AWS.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

import pulumi
from pulumi.runtime.mocks import MockCallArgs, MockResourceArgs, Mocks

from conduit.offline.auto_names import with_auto_name
from conduit.offline.context import RunContext
from conduit.offline.guesses import ACCOUNT, zone_ids, zones
from conduit.offline.guesses import region as stack_region
from conduit.offline.plausible import (
    PROVIDER_FILLED,
    invoke_result,
    resource_id,
    resource_outputs,
    resource_state,
    resources_in_outputs,
    value_named,
)
from conduit.offline.pulumi_seam import RESOURCE_SIG, SIG_KEY
from conduit.offline.shapes import Place, dns_suffix, shaped

STACK_REFERENCE = "pulumi:pulumi:StackReference"


def fake_outputs(args: MockResourceArgs, context: RunContext, region: str | None = None,
                 account: str = ACCOUNT) -> tuple[str, dict[str, Any]]:
    """An id and output state for a resource: its inputs, and what AWS makes from its type and name
    (conduit.offline.shapes) and, for a program's own dynamic resource, the outputs it declares."""
    inputs = dict(args.inputs)
    physical = inputs.get("name") or inputs.get("bucket") or inputs.get("layerName") or f"{args.name}-fake"
    made_id, made = shaped(args.typ, args.name, physical, inputs, Place(region or stack_region(), account))
    state: dict[str, Any] = {**inputs, "name": physical, **made}
    if args.typ.startswith("pulumi-python:dynamic"):
        # What the program's own provider would make: the outputs its resource declares, by name.
        state.update({k: value_named(k) for k in context.dynamic_outputs.get((args.typ, args.name), [])
                      if k not in inputs})
    return made_id or resource_id(args.typ, args.name), state


def fake_call(args: MockCallArgs, region: str | None = None, account: str = ACCOUNT) -> dict[str, Any]:
    """Answers to the data-source calls programs commonly make."""
    region = region or stack_region()
    place = Place(region, account)
    match args.token:
        case "aws:index/getCallerIdentity:getCallerIdentity":
            return {"accountId": account, "arn": place.arn("iam", "root", regional=False), "userId": account,
                    "id": account}
        case "aws:index/getRegion:getRegion" | "aws:index/getRegion:getRegion2":
            return {"name": region, "region": region, "id": region}
        case "aws:index/getPartition:getPartition":
            return {"partition": place.partition, "dnsSuffix": dns_suffix(place.partition), "id": place.partition}
        case "aws:iot/getEndpoint:getEndpoint":
            return {"endpointAddress": f"offline-ats.iot.{region}.amazonaws.com", "id": "endpoint"}
        case "aws:iam/getPolicyDocument:getPolicyDocument":
            return {"json": json.dumps(policy_document_from_args(args.args)), "id": "policy"}
        case "aws:index/getAvailabilityZones:getAvailabilityZones":
            return {"names": zones(region), "zoneIds": zone_ids(region), "id": region}
        case "aws:ec2/getAmi:getAmi" | "aws:ec2/getAmiIds:getAmiIds":
            image = "ami-" + hashlib.sha256(json.dumps(args.args, sort_keys=True).encode()).hexdigest()[:17]
            return {"id": image, "imageId": image, "ids": [image], "name": "fake-image", "architecture": "x86_64"}
        case "aws:route53/getZone:getZone":
            name = str(args.args.get("name") or "example.com").rstrip(".")
            zone = "Z" + hashlib.sha256(name.encode()).hexdigest()[:13].upper()
            return {"id": zone, "zoneId": zone, "name": f"{name}.", "nameServers": [f"ns-1.{name}"]}
        case "aws:ec2/getVpc:getVpc":
            return {"id": "vpc-0fake", "cidrBlock": "10.0.0.0/16", "default": bool(args.args.get("default"))}
        case "aws:ec2/getSubnets:getSubnets" | "aws:ec2/getSubnetIds:getSubnetIds":
            return {"ids": ["subnet-0fakea", "subnet-0fakeb"], "id": region}
    return {}


def policy_document_from_args(args: dict[str, Any]) -> dict[str, Any]:
    """Render `aws.iam.get_policy_document` arguments as the JSON document AWS's provider would."""
    statements = []
    for s in args.get("statements") or []:
        rendered: dict[str, Any] = {"Effect": s.get("effect", "Allow")}
        for src, dst in (("sid", "Sid"), ("actions", "Action"), ("notActions", "NotAction"),
                         ("resources", "Resource"), ("notResources", "NotResource")):
            if s.get(src):
                rendered[dst] = s[src]
        if s.get("principals"):
            rendered["Principal"] = {p["type"]: p["identifiers"] for p in s["principals"]}
        for condition in s.get("conditions") or []:
            rendered.setdefault("Condition", {}).setdefault(condition["test"], {})[condition["variable"]] = (
                condition["values"]
            )
        statements.append(rendered)
    return {"Version": args.get("version", "2012-10-17"), "Statement": statements}


def _reference(component: str, child: str, child_name: str) -> dict[str, Any]:
    urn = "urn:pulumi:" + "::".join([pulumi.get_stack(), pulumi.get_project(), f"{component}${child}", child_name])
    return {SIG_KEY: RESOURCE_SIG, "urn": urn, "type": child, "name": child_name,
            "id": resource_id(child, child_name)}


def built_by_provider(component: str, name: str) -> dict[str, Any]:
    """References to the resources a provider's component hands back (awsx's `load_balancer`), so a
    program can read `lb.load_balancer.dns_name`; the monitor answers each when it is rehydrated."""
    made: dict[str, Any] = {}
    for output, child, many in resources_in_outputs(component):
        base = f"{name}-{output}"
        made[output] = ([_reference(component, child, f"{base}-{n}") for n in (1, 2)] if many
                        else _reference(component, child, base))
    return made


def awsx_vpc_subnets(name: str, inputs: dict[str, Any]) -> dict[str, Any]:
    """awsx's Vpc makes one subnet per availability zone for each subnet spec, in the specs' order
    (3 zones unless told; a public and a private spec unless given): programs index into the lists
    by that layout (`isolated_subnet_ids[3]` is the second spec's first subnet)."""
    zones = len(inputs.get("availabilityZoneNames") or []) or int(inputs.get("numberOfAvailabilityZones") or 3)
    specs = [s for s in inputs.get("subnetSpecs") or [{"type": "Public"}, {"type": "Private"}] if isinstance(s, dict)]
    made: dict[str, Any] = {"subnets": []}
    for kind in ("public", "private", "isolated"):
        names = [f"{name}-{spec.get('name') or kind}-{zone + 1}" for spec in specs
                 if str(spec.get("type", "")).lower() == kind for zone in range(zones)]
        made[f"{kind}SubnetIds"] = [resource_id("aws:ec2/subnet:Subnet", n) for n in names]
        made[f"{kind}Subnets"] = [_reference("awsx:ec2:Vpc", "aws:ec2/subnet:Subnet", n) for n in names]
        made["subnets"] += made[f"{kind}Subnets"]
    return made


# A provider component whose outputs have a shape its inputs decide: one row each.
COMPONENT_SHAPES: dict[str, Callable[[str, dict[str, Any]], dict[str, Any]]] = {"awsx:ec2:Vpc": awsx_vpc_subnets}


class OfflineEngineError(RuntimeError):
    """The offline engine could not answer for a resource or data source; the message names it."""


class FakeCloud(Mocks):
    """What a provider would answer: outputs of AWS's shape, every other output plausible.

    With `preview`, it answers as `pulumi preview` of a new stack does: only the inputs are known,
    every output the provider computes is unknown.
    """

    def __init__(self, context: RunContext | None = None, preview: bool = False):
        self.context = context or RunContext()
        self.preview = preview

    def new_resource(self, args: MockResourceArgs) -> tuple[str | None, dict[str, Any]]:
        if args.typ == STACK_REFERENCE:
            # Read in preview too; its outputs are made by name as the program asks (conduit.offline.engine).
            return args.resource_id or args.name, {"name": args.inputs.get("name") or args.name, "outputs": {},
                                                   "secretOutputNames": []}
        if args.custom is None:
            # A read (`Vpc.get(name, id)`), done in a preview too: the provider answers with the whole state.
            read = MockResourceArgs(args.typ, args.name, {"name": args.resource_id, **dict(args.inputs)},
                                    args.provider, args.resource_id, custom=True)
            return args.resource_id, {**resource_state(args.typ, args.name, args.resource_id or ""),
                                      **fake_outputs(read, self.context)[1]}
        if not args.custom:
            # A provider's component (awsx.ec2.Vpc) is built by the provider: its outputs are made up
            # like any resource's, and the resources it hands back are references in either mode.
            # The program's own components (unknown to any provider) get none.
            made = {} if self.preview else resource_outputs(args.typ, args.name, args.inputs)
            made = {**made, **built_by_provider(args.typ, args.name)}
            if args.typ in COMPONENT_SHAPES:
                shaped = COMPONENT_SHAPES[args.typ](args.name, dict(args.inputs))
                made.update(shaped if not self.preview else {k: v for k, v in shaped.items() if not k.endswith("Ids")})
            return "", made
        # The provider's Check names what the program left unnamed, in a preview too.
        args = MockResourceArgs(args.typ, args.name, with_auto_name(args.typ, args.name, args.inputs),
                                args.provider, args.resource_id, custom=True)
        if self.preview:
            return None, dict(args.inputs)
        try:
            made_id, state = fake_outputs(args, self.context)
            made = resource_outputs(args.typ, args.name, args.inputs)
            # What the provider fills in around what was set (Kubernetes' metadata) keeps its merge.
            return made_id, {**made, **state, **{k: made[k] for k in PROVIDER_FILLED if k in made}}
        except Exception as exc:
            raise OfflineEngineError(f"could not make the outputs of {args.typ} '{args.name}': {exc}") from exc

    def call(self, args: MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]]]:
        try:
            result = {**invoke_result(args.token, args.args), **fake_call(args)}
            self.context.remember_content(result)
            return result, []
        except Exception as exc:
            raise OfflineEngineError(f"could not answer the data source {args.token}: {exc}") from exc
