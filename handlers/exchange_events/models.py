"""An exchange event as clients send it and as the buys rule delivers it, and a fraud alert."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from handlers.shared.numbers import IotDecimal

# Lower-case letters, digits, '-' and '_': nothing that is special in an MQTT topic ('/', '+', '#').
EventType = Annotated[str, StringConstraints(pattern=r"^[a-z0-9_-]{1,64}$")]
Identifier = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,64}$")]


class ExchangeEvent(BaseModel):
    """`{"type": "buy", "price": 123.45, ...}`; other fields are carried through as sent.

    The price travels as a JSON number through IoT Core's rules engine (34 digits) into DynamoDB
    (38 digits): it must fit the narrower of the two to arrive exactly."""

    model_config = ConfigDict(extra="allow")

    type: EventType
    id: Identifier | None = None
    price: Annotated[IotDecimal, Field(ge=0)] | None = None
    account: Identifier | None = None


class PublishedEvent(BaseModel):
    """An event as the publisher put it on `event/<type>` and the buys rule hands it to the fraud checker.

    Lambda's runtime parses the event with binary floats, so the checker reads the price from
    `exactPrice`, the publisher's text of the same number, never from `price`."""

    model_config = ConfigDict(extra="allow")

    id: Identifier
    type: EventType
    timestamp: str
    account: Identifier | None = None
    exact_price: Decimal | None = Field(None, alias="exactPrice")

    def as_published(self) -> dict[str, Any]:
        """The event with its price exact again (a Decimal from its text), for the alert."""
        event = self.model_dump(mode="python", by_alias=True, exclude_none=True)
        if self.exact_price is not None:
            event["price"] = self.exact_price
        return event


class FraudAlert(BaseModel):
    alertId: str
    event: dict[str, Any]
    reasons: list[str]
    checkedAt: int
