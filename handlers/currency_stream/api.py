"""`POST /currency` creates or updates a rate, `DELETE /currency/{symbol}` removes it,
`GET /currency` returns the view the stream consumer keeps."""

from __future__ import annotations

import json
import time
from decimal import Decimal
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.exceptions import BadRequestError, NotFoundError
from aws_lambda_powertools.logging import correlation_paths

from handlers.currency_stream.models import CurrencyRate
from handlers.shared.aws import setting, table
from handlers.shared.http import answer_validation_errors, json_body
from handlers.shared.observability import entry_point

MAX_BODY = 10_000
app = APIGatewayHttpResolver()
answer_validation_errors(app)


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
def post_currency() -> Response:
    rate = CurrencyRate.model_validate(json_body(app, MAX_BODY, parse_float=Decimal))
    item = put_rate(table(setting("RATES_TABLE")), rate)
    body = {"symbol": item["symbol"], "rate": str(item["rate"]), "version": int(item["version"])}
    return Response(200, "application/json", json.dumps(body))


@app.delete("/currency/<symbol>")
def delete_currency(symbol: str) -> Response:
    if not (len(symbol) == 3 and symbol.isascii() and symbol.isupper()):
        raise BadRequestError(f"symbol {symbol!r} is not three upper-case letters")
    old = table(setting("RATES_TABLE")).delete_item(Key={"symbol": symbol}, ReturnValues="ALL_OLD")
    if "Attributes" not in old:
        raise NotFoundError(f"no rate for {symbol}")
    return Response(204, body="")


@app.get("/currency")
def get_view() -> dict[str, Any]:
    view, items, args = table(setting("VIEW_TABLE")), [], {}
    while True:
        page = view.scan(**args)
        items.extend(page["Items"])
        if "LastEvaluatedKey" not in page:
            break
        args["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    return {"rates": {i["symbol"]: str(i["rate"]) for i in sorted(items, key=lambda i: i["symbol"])
                      if not i.get("deleted")}}


@entry_point(correlation_paths.API_GATEWAY_HTTP)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return app.resolve(event, context)
