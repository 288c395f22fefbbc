"""An exchange event as clients send it, and a fraud alert as the checker raises it."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

# Lower-case letters, digits, '-' and '_': nothing that is special in an MQTT topic ('/', '+', '#').
EventType = Annotated[str, StringConstraints(pattern=r"^[a-z0-9_-]{1,64}$")]
Identifier = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,64}$")]


class ExchangeEvent(BaseModel):
    """`{"type": "buy", "price": 123.45, ...}`; other fields are carried through as sent."""

    model_config = ConfigDict(extra="allow")

    type: EventType
    id: Identifier | None = None
    price: Annotated[Decimal, Field(ge=0, allow_inf_nan=False)] | None = None
    account: Identifier | None = None


class FraudAlert(BaseModel):
    alertId: str
    event: dict[str, Any]
    reasons: list[str]
    checkedAt: int
