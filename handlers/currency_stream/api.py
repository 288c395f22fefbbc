"""`POST /currency` creates or updates a rate, `DELETE /currency/{symbol}` removes it,
`GET /currency` returns the view the stream consumer keeps."""

from __future__ import annotations

import time
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.event_handler.openapi.params import Body, Path
from aws_lambda_powertools.logging import correlation_paths
from pydantic import AfterValidator

from handlers.currency_stream.models import CurrencyRate
from handlers.shared.aws import every_item, setting, table
from handlers.shared.http import typed_api
from handlers.shared.observability import entry_point

MAX_BODY = 10_000
app = typed_api(max_chars=MAX_BODY)


def _three_letters(symbol: str) -> str:
    if not (len(symbol) == 3 and symbol.isascii() and symbol.isupper()):
        raise ValueError(f"{symbol[:20]!r} is not three upper-case letters")
    return symbol


Symbol = Annotated[str, Path(description="three upper-case letters"), AfterValidator(_three_letters)]


def put_rate(rates: Any, rate: CurrencyRate) -> dict[str, Any]:
    """Write the rate with a version one above the symbol's last, in one atomic update.

    Concurrent writes of a symbol are thus totally ordered in the table itself: the last write to
    land holds the highest version, so the view (which applies only newer versions) ends equal to
    the table whatever order the stream's changes reach it in. A symbol created anew (after a
    delete) starts from the clock, above the tombstone its removal left in the view.
    """
    updated = rates.update_item(
        Key={"symbol": rate.symbol},
        UpdateExpression="SET rate = :rate, version = if_not_exists(version, :created) + :one",
        ExpressionAttributeValues={":rate": rate.rate, ":created": time.time_ns(), ":one": 1},
        ReturnValues="ALL_NEW",
    )
    return updated["Attributes"]


@app.post("/currency")
def post_currency(rate: Annotated[CurrencyRate, Body()]) -> Response[dict[str, Any]]:
    item = put_rate(table(setting("RATES_TABLE")), rate)
    body = {"symbol": item["symbol"], "rate": str(item["rate"]), "version": int(item["version"])}
    return Response(200, "application/json", body)


@app.delete("/currency/<symbol>")
def delete_currency(symbol: Symbol) -> Response[str]:
    old = table(setting("RATES_TABLE")).delete_item(Key={"symbol": symbol}, ReturnValues="ALL_OLD")
    if "Attributes" not in old:
        raise NotFoundError(f"no rate for {symbol}")
    return Response(204, body="")


@app.get("/currency")
def get_view() -> dict[str, Any]:
    items = list(every_item(table(setting("VIEW_TABLE")).scan))
    return {"rates": {i["symbol"]: str(i["rate"]) for i in sorted(items, key=lambda i: i["symbol"])
                      if not i.get("deleted")}}


@entry_point(correlation_paths.API_GATEWAY_HTTP)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return app.resolve(event, context)
