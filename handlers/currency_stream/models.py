"""Rates are decimals from end to end: parsed from JSON as Decimal, stored as DynamoDB numbers,
published as strings. A float never touches them."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, Literal

from aws_lambda_powertools.utilities.parser.models import SqsRecordModel
from pydantic import BaseModel, ConfigDict, Field, Json, StringConstraints, field_serializer

Symbol = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]
Rate = Annotated[Decimal, Field(gt=0, allow_inf_nan=False, max_digits=38)]


class CurrencyRate(BaseModel):
    """The body of `POST /currency`: `{"symbol": "USD", "rate": "100"}` (rate as string or number)."""

    model_config = ConfigDict(extra="forbid")

    symbol: Symbol
    rate: Rate


class RateChange(BaseModel):
    """What the publisher sends to SNS for every stream record."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["INSERT", "MODIFY", "REMOVE"]
    data: dict[str, Any]
    version: int

    @field_serializer("data")
    def _exact(self, data: dict[str, Any]) -> dict[str, Any]:
        return {k: str(v) if isinstance(v, Decimal) else v for k, v in data.items()}


class RateChangeRecord(SqsRecordModel):
    """An SQS record (raw delivery from SNS) whose body is a rate change."""

    body: Json[RateChange]  # type: ignore[assignment]
