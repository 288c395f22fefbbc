"""`conduit cost`: the usage profile priced with the dated price table, per flow and per day, and
when Kinesis Data Streams would be cheaper than IoT Core for the exchange's events.

Arithmetic only; the usage comes from `conduit local profile`, the prices from `prices.json`.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from conduit.run_record import RunRecord

PRICES = Path(__file__).parent / "prices.json"
PROFILE = Path(__file__).parent / "usage-profile.json"
HOURS_PER_DAY = 24
GB = 1024**3
# The exchange flow whose ingestion Kinesis would replace, and what of it Kinesis replaces.
EXCHANGE_FLOW = "sell event"
IOT_INGESTION = ("iot.messages", "iot.rulesTriggered", "iot.actionsExecuted")


class CostError(ValueError):
    """The profile or the price table cannot answer: a region or a price is missing."""


def load(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text())


def region_prices(prices: dict[str, Any], region: str) -> dict[str, Any]:
    regions = prices["regions"]
    if region not in regions:
        raise CostError(f"the price table ({PRICES.name}) has no prices for {region}; it has {sorted(regions)}: "
                        "add the region's prices, or price with one of those (--price-region)")
    return regions[region]


def usd_per_unit(usage: dict[str, float], table: dict[str, Any]) -> dict[str, float]:
    """Dollars one unit of the flow costs, per priced dimension."""
    missing = sorted(set(usage) - set(table))
    if missing:
        raise CostError(f"no price for {', '.join(missing)} in the price table; add it to {PRICES.name}")
    return {dimension: amount * table[dimension]["usd"] / table[dimension]["per"]
            for dimension, amount in usage.items()}


def kinesis_break_even(iot_usd_per_event: float, kinesis: dict[str, float], event_kb: float = 1.0) -> dict[str, Any]:
    """Events per day above which one Kinesis stream (one consumer) costs less than IoT Core's
    messages, rules and actions for the same events; None when it never does."""
    gb_per_event = event_kb * 1024 / GB
    on_demand_fixed = kinesis["onDemandStreamHour"] * HOURS_PER_DAY
    on_demand_per_event = gb_per_event * (kinesis["onDemandIngestPerGb"] + kinesis["onDemandRetrievalPerGb"])
    payload_units = max(1, math.ceil(event_kb / 25))  # a PUT payload unit is 25 KB
    provisioned_fixed = kinesis["provisionedShardHour"] * HOURS_PER_DAY
    provisioned_per_event = payload_units * kinesis["provisionedPutPayloadUnitsPerMillion"] / 1_000_000

    def even(fixed: float, per_event: float) -> int | None:
        saving = iot_usd_per_event - per_event
        return round(fixed / saving) if saving > 0 else None

    return {"onDemand": even(on_demand_fixed, on_demand_per_event),
            "provisioned": even(provisioned_fixed, provisioned_per_event)}


def estimate(profile: dict[str, Any], prices: dict[str, Any], stack: str, stack_region: str, events_per_day: int,
             price_region: str | None = None, systems: list[str] | None = None) -> dict[str, Any]:
    """Every flow of the profile, or only those of `systems` (the ones the stack deploys), priced."""
    region = price_region or stack_region
    table = region_prices(prices, region)
    flows, used = [], set()
    for name, flow in profile["flows"].items():
        if systems is not None and flow["system"] not in systems:
            continue
        items = usd_per_unit(flow["usage"], table["prices"])
        used |= set(items)
        per_unit = sum(items.values())
        flows.append({"flow": name, "system": flow["system"], "unit": flow["unit"],
                      "usdPerMillion": round(per_unit * 1_000_000, 2), "usdPerDay": round(per_unit * events_per_day, 2),
                      "items": {k: round(v * 1_000_000, 4) for k, v in sorted(items.items(), key=lambda kv: -kv[1])}})
    exchange = profile["flows"].get(EXCHANGE_FLOW)
    break_even = None
    if exchange is not None and any(f["flow"] == EXCHANGE_FLOW for f in flows):
        iot = usd_per_unit({k: v for k, v in exchange["usage"].items() if k in IOT_INGESTION}, table["prices"])
        break_even = kinesis_break_even(sum(iot.values()), table["kinesis"])
    unchecked = sorted(d for d in used if not table["prices"][d].get("checked"))
    if break_even is not None and not table.get("kinesisChecked"):
        unchecked.append("kinesis")
    return {
        "stack": stack, "eventsPerDay": events_per_day, "region": stack_region, "priceRegion": region,
        "prices": {"source": table["source"], "retrieved": table["retrieved"], "unchecked": unchecked},
        "profile": {"measured": profile["measured"], "note": profile["note"]},
        "freeTier": "ignored",
        "flows": flows,
        "kinesisBreakEvenEventsPerDay": break_even,
    }


# What a resource type is billed by, per use, in the table's dimensions; types with no charge of
# their own (the wiring); everything else is not priced here.
BILLED_BY = {
    "aws:lambda/function:Function": ("lambda.requests", "lambda.gbSeconds"),
    "aws:sqs/queue:Queue": ("sqs.requests",),
    "aws:dynamodb/table:Table": ("dynamodb.writeRequestUnits", "dynamodb.readRequestUnits"),
    "aws:s3/bucket:Bucket": ("s3.putRequests", "s3.getRequests"),
    "aws:s3/bucketV2:BucketV2": ("s3.putRequests", "s3.getRequests"),
    "aws:sns/topic:Topic": ("sns.publishes",),
    "aws:apigatewayv2/api:Api": ("apiGateway.httpRequests",),
    "aws:cloudwatch/eventBus:EventBus": ("eventbridge.events",),
    "aws:iot/topicRule:TopicRule": ("iot.rulesTriggered", "iot.actionsExecuted"),
    "aws:kms/key:Key": ("kms.requests",),
}
NO_CHARGE_PREFIXES = ("aws:iam/", "aws:lambda/permission:", "aws:lambda/eventSourceMapping:", "aws:sqs/queuePolicy:",
                      "aws:sns/topicSubscription:", "aws:sns/topicPolicy:", "aws:cloudwatch/eventRule:",
                      "aws:cloudwatch/eventTarget:", "aws:apigatewayv2/route:", "aws:apigatewayv2/integration:",
                      "aws:apigatewayv2/stage:", "aws:s3/bucketPolicy:", "aws:s3/bucketNotification:",
                      "aws:s3/bucketPublicAccessBlock:", "aws:s3/bucketServerSideEncryptionConfiguration:",
                      "aws:iot/policy:", "aws:iot/policyAttachment:", "aws:iot/thing:", "aws:kms/alias:",
                      "aws:iot/thingPrincipalAttachment:", "pulumi:providers:")


def resources_priced(document: RunRecord) -> dict[str, dict[str, Any]]:
    """A program's resources, by type, in three kinds: billed per use by dimensions this table prices
    (with them), no charge of their own, and not priced here."""
    found: dict[str, dict[str, Any]] = {"priced": {}, "free": {}, "unpriced": {}}
    for resource in document.custom:
        type_ = resource.type
        kind = ("priced" if type_ in BILLED_BY else "free" if type_.startswith(NO_CHARGE_PREFIXES) else "unpriced")
        entry = found[kind].setdefault(type_, {"count": 0, "dimensions": list(BILLED_BY.get(type_, ()))})
        entry["count"] += 1
    return found


def render_resources(project: str, stack: str, found: dict[str, dict[str, Any]]) -> str:
    def listed(kind: str, show_dimensions: bool = False) -> list[str]:
        return [f"    {type_} ({entry['count']})" + (f": {', '.join(entry['dimensions'])}" if show_dimensions else "")
                for type_, entry in sorted(found[kind].items())] or ["    (none)"]

    return "\n".join([
        f"Program '{project}' (stack '{stack}') is not Conduit: there is no measured usage profile of its flows, so "
        "nothing is priced per event. What its resources are billed by:",
        "  billed per use by prices this table has:", *listed("priced", True),
        "  no charge of their own:", *listed("free"),
        "  not priced by conduit cost (look them up on their pricing pages):", *listed("unpriced")])


def render(document: dict[str, Any]) -> str:
    lines = [f"Stack '{document['stack']}' ({document['region']}), {document['eventsPerDay']:,} events a day per flow, "
             f"{document['priceRegion']} list prices retrieved {document['prices']['retrieved']}, free tier ignored.",
             f"{'flow':18s}{'per':>9s}{'$ / million':>14s}{'$ / day':>11s}   largest items ($ / million)"]
    for flow in document["flows"]:
        top = ", ".join(f"{k} {v:.2f}" for k, v in list(flow["items"].items())[:3])
        lines.append(f"{flow['flow']:18s}{flow['unit']:>9s}{flow['usdPerMillion']:14.2f}"
                     f"{flow['usdPerDay']:11.2f}   {top}")
    even = document["kinesisBreakEvenEventsPerDay"]
    if even:
        def say(n: int | None) -> str:
            return "never" if n is None else f"{n:,} events/day"

        lines.append(f"Exchange events: Kinesis Data Streams (1 KB events, one consumer) costs less than IoT Core's "
                     f"messages, rules and actions above {say(even['onDemand'])} on demand, "
                     f"{say(even['provisioned'])} with one provisioned shard.")
    unchecked = document["prices"].get("unchecked")
    if unchecked:
        lines.append(f"Not yet checked against AWS's price list ({document['priceRegion']}): {', '.join(unchecked)}; "
                     "`conduit refresh-prices --region " + document["priceRegion"] + "` (online) confirms them.")
    lines.append(f"Usage measured {document['profile']['measured']}: {document['profile']['note']}")
    return "\n".join(lines)
