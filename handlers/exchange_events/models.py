"""An exchange event as clients send it, and a fraud alert as the checker raises it."""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from handlers.shared.numbers import StorableDecimal

# Lower-case letters, digits, '-' and '_': nothing that is special in an MQTT topic ('/', '+', '#').
EventType = Annotated[str, StringConstraints(pattern=r"^[a-z0-9_-]{1,64}$")]
Identifier = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,64}$")]


def _finite_as_float(price: Decimal) -> Decimal:
    if not math.isfinite(float(price)):
        raise ValueError("is too large to publish as a JSON number")
    return price


class ExchangeEvent(BaseModel):
    """`{"type": "buy", "price": 123.45, ...}`; other fields are carried through as sent."""

    model_config = ConfigDict(extra="allow")

    type: EventType
    id: Identifier | None = None
    # Published as a JSON number and archived by DynamoDB: it must survive both (1e400 would not).
    price: Annotated[StorableDecimal, Field(ge=0, allow_inf_nan=False), AfterValidator(_finite_as_float)] | None = None
    account: Identifier | None = None


class FraudAlert(BaseModel):
    alertId: str
    event: dict[str, Any]
    reasons: list[str]
    checkedAt: int
