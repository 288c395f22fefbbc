"""HTTP API over stored messages: list, read, create, replace and delete readings."""

from __future__ import annotations

import base64
import json
import re
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.exceptions import BadRequestError, NotFoundError
from aws_lambda_powertools.event_handler.openapi.params import Body, Path, Query
from aws_lambda_powertools.logging import correlation_paths
from pydantic import AfterValidator, BeforeValidator

from handlers.message_ingest.models import Change, PostedReading, time_key_problem
from handlers.shared.aws import setting, table
from handlers.shared.http import exact, typed_api
from handlers.shared.observability import entry_point

MAX_PAGE = 100
# 204s carry an explicit empty body: some gateways (the local emulator among them) fail on a null one.
NO_CONTENT = Response(204, body="")
DATE = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)
LIMIT = re.compile(r"[0-9]{1,3}", re.ASCII)


app = typed_api()


def _day(date: str) -> str:
    if not DATE.fullmatch(date):
        raise ValueError(f"date {date[:40]!r} is not YYYY-MM-DD")
    return date


Day = Annotated[str, Path(description="YYYY-MM-DD, UTC"), AfterValidator(_day)]
TimeKey = Annotated[str | None, Query(description="HH:MM:SS.ffffff@location, as the API returned it")]


def _limit(text: object) -> object:
    if not (isinstance(text, str) and LIMIT.fullmatch(text) and 1 <= int(text) <= MAX_PAGE):
        raise ValueError(f"limit must be a whole number from 1 to {MAX_PAGE}, not {str(text)[:20]!r}")
    return text


Limit = Annotated[int, BeforeValidator(_limit), Query(description=f"items per page, 1 to {MAX_PAGE}")]
NextToken = Annotated[str | None, Query(alias="next", description="the `next` of the previous page")]


def _key(date: str, time: str | None) -> dict[str, str]:
    if not time:
        raise BadRequestError("query parameter 'time' is required, e.g. ?time=10:55:09.385333@location-03")
    problem = time_key_problem(time)
    if problem:
        raise BadRequestError(problem)
    return {"date": date, "time": time}


def _messages() -> Any:
    return table(setting("TABLE_NAME"))


def _start_key(token: str, date: str | None) -> dict[str, str]:
    """The key a `next` token names, validated as fully as the keys this API writes: a token of
    another shape, or of another day than the one asked for, is the caller's mistake, never a scan
    from an arbitrary key."""
    refused = BadRequestError("next is not a token this API returned for this listing")
    try:
        key = json.loads(base64.urlsafe_b64decode(token.encode("ascii")))
    except (ValueError, UnicodeError):
        raise refused from None
    if not (isinstance(key, dict) and set(key) == {"date", "time"}
            and all(isinstance(v, str) for v in key.values())):
        raise refused
    if not DATE.fullmatch(key["date"]) or time_key_problem(key["time"]) or (date is not None and key["date"] != date):
        raise refused
    return key


def _page_args(limit: int, token: str | None, date: str | None = None) -> dict[str, Any]:
    args: dict[str, Any] = {"Limit": limit}
    if token:
        args["ExclusiveStartKey"] = _start_key(token, date)
    return args


def _page(result: dict[str, Any]) -> dict[str, Any]:
    page: dict[str, Any] = {"items": result.get("Items", [])}
    if "LastEvaluatedKey" in result:
        page["next"] = base64.urlsafe_b64encode(json.dumps(result["LastEvaluatedKey"]).encode()).decode()
    return page


@app.get("/message")
def list_messages(limit: Limit = MAX_PAGE, next_token: NextToken = None) -> Response[str]:
    return exact(_page(_messages().scan(**_page_args(limit, next_token))))


@app.get("/message/<date>")
def get_messages(date: Day, time: TimeKey = None, limit: Limit = MAX_PAGE,
                 next_token: NextToken = None) -> Response[str]:
    if time is None:
        return exact(_page(_messages().query(
            KeyConditionExpression="#date = :date", ExpressionAttributeNames={"#date": "date"},
            ExpressionAttributeValues={":date": date}, **_page_args(limit, next_token, date),
        )))
    key = _key(date, time)
    item = _messages().get_item(Key=key).get("Item")
    if item is None:
        raise NotFoundError(f"no message at {key['date']} {key['time']}")
    return exact(item)


@app.post("/message")
def create_message(reading: Annotated[PostedReading, Body()]) -> Response[dict[str, Any]]:
    messages = _messages()
    try:
        messages.put_item(Item=reading.item(), ConditionExpression="attribute_not_exists(#date)",
                          ExpressionAttributeNames={"#date": "date"})
    except messages.meta.client.exceptions.ConditionalCheckFailedException:
        return Response(409, "application/json", {"message": "a message with this key exists; use PUT",
                                                  **reading.key()})
    return Response(201, "application/json", reading.key())


@app.put("/message/<date>")
def replace_message(date: Day, change: Annotated[Change, Body()], time: TimeKey = None) -> Response[str]:
    key = _key(date, time)
    values = change.model_dump()
    messages = _messages()
    try:
        messages.update_item(
            Key=key,
            UpdateExpression="SET " + ", ".join(f"#{k} = :{k}" for k in values),
            ConditionExpression="attribute_exists(#date)",
            ExpressionAttributeNames={"#date": "date", **{f"#{k}": k for k in values}},
            ExpressionAttributeValues={f":{k}": v for k, v in values.items()},
        )
    except messages.meta.client.exceptions.ConditionalCheckFailedException:
        raise NotFoundError(f"no message at {key['date']} {key['time']}") from None
    return NO_CONTENT


@app.delete("/message/<date>")
def delete_message(date: Day, time: TimeKey = None) -> Response[str]:
    key = _key(date, time)
    if "Attributes" not in _messages().delete_item(Key=key, ReturnValues="ALL_OLD"):
        raise NotFoundError(f"no message at {key['date']} {key['time']}")
    return NO_CONTENT


@entry_point(correlation_paths.API_GATEWAY_HTTP)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return app.resolve(event, context)
