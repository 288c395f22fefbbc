"""Refresh the price table from AWS's public price list files (`conduit refresh-prices`, online).

AWS publishes one offer file per service and region, no credentials needed:
`https://pricing.us-east-1.amazonaws.com/offers/v1.0/aws/<service>/current/<region>/index.json`.
Each product has a `usagetype` (`EU-Lambda-GB-Second-ARM`: the region's prefix, then the metered
thing) and on-demand terms with price dimensions (`beginRange`, `pricePerUnit.USD`). A dimension of
the table is one usage type's first tier, scaled to the table's unit.
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

OFFER_URL = "https://pricing.us-east-1.amazonaws.com/offers/v1.0/aws/{service}/current/{region}/index.json"


@dataclass(frozen=True)
class Dimension:
    """Where one priced dimension lives in the price list: service code, usage type (without the
    region's prefix) and how many units the table's price is for."""

    service: str
    usage_types: tuple[str, ...]
    per: int


# One row per dimension the usage profile meters. IoT Core's usage types are the least certain:
# a refresh that finds none of them says so and leaves that price unchecked.
DIMENSIONS = {
    "apiGateway.httpRequests": Dimension("AmazonApiGateway", ("ApiGatewayHttpRequest",), 1_000_000),
    "lambda.requests": Dimension("AWSLambda", ("Request-ARM",), 1_000_000),
    "lambda.gbSeconds": Dimension("AWSLambda", ("Lambda-GB-Second-ARM",), 1),
    "sqs.requests": Dimension("AWSQueueService", ("Requests-Tier1",), 1_000_000),
    "dynamodb.writeRequestUnits": Dimension("AmazonDynamoDB", ("WriteRequestUnits",), 1_000_000),
    "dynamodb.readRequestUnits": Dimension("AmazonDynamoDB", ("ReadRequestUnits",), 1_000_000),
    "s3.putRequests": Dimension("AmazonS3", ("Requests-Tier1",), 1_000),
    "s3.getRequests": Dimension("AmazonS3", ("Requests-Tier2",), 1_000),
    "sns.publishes": Dimension("AmazonSNS", ("Requests-Tier1",), 1_000_000),
    "eventbridge.events": Dimension("AWSEvents", ("Event-64K-Chunks",), 1_000_000),
    "iot.messages": Dimension("AWSIoT", ("IoT-Messaging-Standard", "Messaging"), 1_000_000),
    "iot.rulesTriggered": Dimension("AWSIoT", ("IoT-RulesEngine-RulesTriggered", "RulesTriggered"), 1_000_000),
    "iot.actionsExecuted": Dimension("AWSIoT", ("IoT-RulesEngine-ActionsExecuted", "ActionsExecuted"), 1_000_000),
    "kms.requests": Dimension("awskms", ("KMS-Requests",), 10_000),
}

Fetch = Callable[[str], dict[str, Any]]


def fetch_offer(url: str) -> dict[str, Any]:
    with urllib.request.urlopen(url, timeout=120) as response:  # a fixed https URL of AWS's
        return json.loads(response.read())


def _matches(usage_type: str, wanted: str) -> bool:
    """`EU-Requests-Tier1` is `Requests-Tier1` in eu-west-1; us-east-1's usage types have no prefix."""
    return usage_type == wanted or usage_type.endswith(f"-{wanted}")


def first_tier(offer: dict[str, Any], usage_types: tuple[str, ...]) -> Decimal | None:
    """The on-demand price per unit of the first tier of the first usage type the offer has."""
    for wanted in usage_types:
        for sku, product in offer.get("products", {}).items():
            if not _matches(str(product.get("attributes", {}).get("usagetype", "")), wanted):
                continue
            for term in offer.get("terms", {}).get("OnDemand", {}).get(sku, {}).values():
                for dimension in term.get("priceDimensions", {}).values():
                    if str(dimension.get("beginRange", "0")) == "0":
                        return Decimal(dimension["pricePerUnit"]["USD"])
    return None


def refresh_region(table: dict[str, Any], region: str, today: str, fetch: Fetch = fetch_offer) -> list[str]:
    """Rewrite `table`'s block for `region` from the price list; returns the dimensions not found
    (their prices stay, marked unchecked)."""
    block = table["regions"].setdefault(region, {"prices": {}})
    offers: dict[str, dict[str, Any]] = {}
    missing = []
    for name, dimension in DIMENSIONS.items():
        if dimension.service not in offers:
            offers[dimension.service] = fetch(OFFER_URL.format(service=dimension.service, region=region))
        price = first_tier(offers[dimension.service], dimension.usage_types)
        entry = block["prices"].setdefault(name, {"per": dimension.per, "what": name})
        if price is None:
            missing.append(name)
            entry["checked"] = None
            continue
        entry.update(usd=float(price * dimension.per), per=dimension.per, checked=today)
        entry.pop("note", None)
    block.update(source=f"AWS price list files ({OFFER_URL.format(service='<service>', region=region)})",
                 retrieved=today)
    return missing
