"""`POST /currency` creates or updates a rate, `DELETE /currency/{symbol}` removes it,
`GET /currency` returns the view the stream consumer keeps."""

from __future__ import annotations

import json
import time
from decimal import Decimal
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.exceptions import BadRequestError, NotFoundError

from handlers.currency_stream.models import CurrencyRate
from handlers.shared.aws import setting, table
from handlers.shared.http import answer_validation_errors, json_body

MAX_BODY = 10_000
app = APIGatewayHttpResolver()
answer_validation_errors(app)


def put_rate(rates: Any, rate: CurrencyRate) -> dict[str, Any]:
    """Write the rate with a version that orders it after every earlier write of the symbol."""
    item = {"symbol": rate.symbol, "rate": rate.rate, "version": time.time_ns()}
    rates.put_item(Item=item)
    return item


@app.post("/currency")
def post_currency() -> Response:
    rate = CurrencyRate.model_validate(json_body(app, MAX_BODY, parse_float=Decimal))
    item = put_rate(table(setting("RATES_TABLE")), rate)
    body = {"symbol": item["symbol"], "rate": str(item["rate"]), "version": item["version"]}
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


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return app.resolve(event, context)
