"""Check a `buy` event against the stack's rules and raise an alert on `alert/fraud` with reasons.

Deterministic and explainable: a price at or above a threshold, and more buys by one account
in a time window than a limit. The velocity counter lives in a table (with a TTL), not in memory.
"""

from __future__ import annotations

import time
import uuid
from decimal import Decimal, InvalidOperation
from typing import Any

from handlers.exchange_events.contract import ALERT_TOPIC, EXPIRES_AT
from handlers.exchange_events.models import FraudAlert
from handlers.shared.aws import setting, table
from handlers.shared.iot import publish_json
from handlers.shared.observability import entry_point, logger


def price_reason(event: dict[str, Any], threshold: Decimal) -> str | None:
    try:
        price = Decimal(str(event.get("price")))
    except (InvalidOperation, ValueError):
        return None
    if price.is_finite() and price >= threshold:
        return f"price {price} is at or above the threshold of {threshold}"
    return None


def velocity_reason(counters: Any, event: dict[str, Any], limit: int, window_seconds: int, now: float) -> str | None:
    """Count the account's buys in the current window; a reason once the count exceeds the limit."""
    account = event.get("account")
    if not account:
        return None
    window = int(now // window_seconds) * window_seconds
    updated = counters.update_item(
        Key={"pk": f"{account}#{window}"}, UpdateExpression="ADD buys :one SET #expires = :expires",
        ExpressionAttributeNames={"#expires": EXPIRES_AT},
        ExpressionAttributeValues={":one": 1, ":expires": window + 2 * window_seconds}, ReturnValues="UPDATED_NEW")
    buys = int(updated["Attributes"]["buys"])
    if buys > limit:
        return f"account {account} made {buys} buys within {window_seconds}s; the limit is {limit}"
    return None


def check(event: dict[str, Any], counters: Any, threshold: Decimal, limit: int, window: int,
          now: float | None = None) -> FraudAlert | None:
    now = time.time() if now is None else now
    reasons = [r for r in (price_reason(event, threshold), velocity_reason(counters, event, limit, window, now)) if r]
    if not reasons:
        return None
    return FraudAlert(alertId=str(uuid.uuid4()), event=event, reasons=reasons, checkedAt=int(now * 1000))


@entry_point()
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    alert = check(event, table(setting("VELOCITY_TABLE")), Decimal(setting("PRICE_THRESHOLD")),
                  int(setting("VELOCITY_LIMIT")), int(setting("VELOCITY_WINDOW_SECONDS")))
    if alert is None:
        return {"alert": None}
    publish_json(ALERT_TOPIC, alert.model_dump())
    logger.info("fraud alert", extra={"alertId": alert.alertId, "reasons": alert.reasons})
    return {"alert": alert.alertId}
