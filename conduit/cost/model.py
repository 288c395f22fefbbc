"""`conduit cost`: the usage profile priced with the dated price table, per flow and per day, and
when Kinesis Data Streams would be cheaper than IoT Core for the exchange's events.

Arithmetic only; the usage comes from `conduit local profile`, the prices from `prices.json`.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

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
             price_region: str | None = None) -> dict[str, Any]:
    region = price_region or stack_region
    table = region_prices(prices, region)
    flows = []
    for name, flow in profile["flows"].items():
        items = usd_per_unit(flow["usage"], table["prices"])
        per_unit = sum(items.values())
        flows.append({"flow": name, "system": flow["system"], "unit": flow["unit"],
                      "usdPerMillion": round(per_unit * 1_000_000, 2), "usdPerDay": round(per_unit * events_per_day, 2),
                      "items": {k: round(v * 1_000_000, 4) for k, v in sorted(items.items(), key=lambda kv: -kv[1])}})
    exchange = profile["flows"].get(EXCHANGE_FLOW)
    break_even = None
    if exchange is not None:
        iot = usd_per_unit({k: v for k, v in exchange["usage"].items() if k in IOT_INGESTION}, table["prices"])
        break_even = kinesis_break_even(sum(iot.values()), table["kinesis"])
    return {
        "stack": stack, "eventsPerDay": events_per_day, "region": stack_region, "priceRegion": region,
        "prices": {"source": table["source"], "retrieved": table["retrieved"]},
        "profile": {"measured": profile["measured"], "note": profile["note"]},
        "freeTier": "ignored",
        "flows": flows,
        "kinesisBreakEvenEventsPerDay": break_even,
    }


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
    lines.append(f"Usage measured {document['profile']['measured']}: {document['profile']['note']}")
    return "\n".join(lines)
