"""Check a `buy` event against the stack's rules and raise an alert on `alert/fraud` with reasons.

Deterministic and explainable: a price at or above a threshold, and more buys by one account in a
time window than a limit. Each buy is judged once, however often IoT Core and Lambda deliver it:
the velocity counter is the set of the window's event ids (adding an id twice counts it once), the
alert's id is derived from the event's, and the whole judgement runs once per event id.
"""

from __future__ import annotations

import time
import uuid
from decimal import Decimal
from typing import Any

from aws_lambda_powertools.utilities.parser import event_parser

from handlers.exchange_events.contract import ALERT_TOPIC, EXPIRES_AT
from handlers.exchange_events.models import FraudAlert, PublishedEvent
from handlers.shared.aws import setting, table
from handlers.shared.idempotency import Once
from handlers.shared.iot import publish_json
from handlers.shared.observability import entry_point, logger

# The buys rule invokes the checker asynchronously: Lambda retries a failed event for up to 6 hours
# (its maximum event age), and IoT Core redelivers a QoS 1 message within minutes. A day covers both.
JUDGED_FOR_SECONDS = 24 * 3600
ALERTS = uuid.UUID("6f1c1d0e-3a4b-5c6d-8e9f-a0b1c2d3e4f5")  # the namespace alert ids are derived in


def alert_id(event_id: str) -> str:
    """The same event always raises the same alert: a redelivery overwrites, never adds."""
    return str(uuid.uuid5(ALERTS, event_id))


def price_reason(event: PublishedEvent, threshold: Decimal) -> str | None:
    price = event.exact_price
    if price is not None and price.is_finite() and price >= threshold:
        return f"price {price} is at or above the threshold of {threshold}"
    return None


def velocity_reason(counters: Any, event: PublishedEvent, limit: int, window_seconds: int,
                    now: float) -> str | None:
    """Count the account's distinct buys in the current window; a reason once they exceed the limit."""
    if not event.account:
        return None
    window = int(now // window_seconds) * window_seconds
    updated = counters.update_item(
        Key={"pk": f"{event.account}#{window}"}, UpdateExpression="ADD buys :id SET #expires = :expires",
        ExpressionAttributeNames={"#expires": EXPIRES_AT},
        ExpressionAttributeValues={":id": {event.id}, ":expires": window + 2 * window_seconds},
        ReturnValues="ALL_NEW")
    buys = len(updated["Attributes"]["buys"])
    if buys > limit:
        return f"account {event.account} made {buys} buys within {window_seconds}s; the limit is {limit}"
    return None


def check(event: PublishedEvent, counters: Any, threshold: Decimal, limit: int, window: int,
          now: float | None = None) -> FraudAlert | None:
    now = time.time() if now is None else now
    reasons = [r for r in (price_reason(event, threshold), velocity_reason(counters, event, limit, window, now)) if r]
    if not reasons:
        return None
    return FraudAlert(alertId=alert_id(event.id), event=event.as_published(), reasons=reasons,
                      checkedAt=int(now * 1000))


def judge(event: dict[str, Any]) -> dict[str, Any]:
    """Check one buy and publish its alert, if any: what runs once per event id."""
    buy = PublishedEvent.model_validate(event)
    alert = check(buy, table(setting("VELOCITY_TABLE")), Decimal(setting("PRICE_THRESHOLD")),
                  int(setting("VELOCITY_LIMIT")), int(setting("VELOCITY_WINDOW_SECONDS")))
    if alert is None:
        return {"alert": None}
    publish_json(ALERT_TOPIC, alert.model_dump())
    logger.info("fraud alert", extra={"alertId": alert.alertId, "reasons": alert.reasons})
    return {"alert": alert.alertId}


judge_once = Once(judge, "event", "id", JUDGED_FOR_SECONDS)


@entry_point()
@event_parser(model=PublishedEvent)
def handler(event: PublishedEvent, context: Any) -> dict[str, Any]:
    """A malformed event fails the invocation: retried, then kept in the function's failure queue."""
    return judge_once(context, event=event.model_dump(mode="json", by_alias=True))
