"""HTTP API over stored messages: list, read, create, replace and delete readings."""

from __future__ import annotations

import base64
import json
import re
from decimal import Decimal
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.exceptions import BadRequestError, NotFoundError
from aws_lambda_powertools.logging import correlation_paths

from handlers.message_ingest.models import Measurements, Reading, from_original_item, time_key_problem
from handlers.shared.aws import setting, table
from handlers.shared.http import answer_validation_errors, json_body
from handlers.shared.observability import entry_point

MAX_PAGE = 100
# 204s carry an explicit empty body: some gateways (the local emulator among them) fail on a null one.
NO_CONTENT = Response(204, body="")
DATE = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)
LIMIT = re.compile(r"[0-9]{1,3}")


def _number(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def _dumps(obj: Any) -> str:
    return json.dumps(obj, default=_number, separators=(",", ":"))


app = APIGatewayHttpResolver(serializer=_dumps)
answer_validation_errors(app, _dumps)


def _date(date: str) -> str:
    if not DATE.fullmatch(date):
        raise BadRequestError(f"date {date[:40]!r} is not YYYY-MM-DD")
    return date


def _key(date: str) -> dict[str, str]:
    date = _date(date)
    time = app.current_event.get_query_string_value("time")
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


def _page_args(date: str | None = None) -> dict[str, Any]:
    raw_limit = app.current_event.get_query_string_value("limit", str(MAX_PAGE))
    if not LIMIT.fullmatch(raw_limit) or not 1 <= int(raw_limit) <= MAX_PAGE:
        raise BadRequestError(f"limit must be a whole number from 1 to {MAX_PAGE}, not {raw_limit[:20]!r}")
    args: dict[str, Any] = {"Limit": int(raw_limit)}
    token = app.current_event.get_query_string_value("next")
    if token:
        args["ExclusiveStartKey"] = _start_key(token, date)
    return args


def _page(result: dict[str, Any]) -> dict[str, Any]:
    page: dict[str, Any] = {"items": result.get("Items", [])}
    if "LastEvaluatedKey" in result:
        page["next"] = base64.urlsafe_b64encode(json.dumps(result["LastEvaluatedKey"]).encode()).decode()
    return page


@app.get("/message")
def list_messages() -> dict[str, Any]:
    return _page(_messages().scan(**_page_args()))


@app.get("/message/<date>")
def get_messages(date: str) -> dict[str, Any]:
    if app.current_event.get_query_string_value("time") is None:
        return _page(_messages().query(
            KeyConditionExpression="#date = :date", ExpressionAttributeNames={"#date": "date"},
            ExpressionAttributeValues={":date": _date(date)}, **_page_args(date),
        ))
    key = _key(date)
    item = _messages().get_item(Key=key).get("Item")
    if item is None:
        raise NotFoundError(f"no message at {key['date']} {key['time']}")
    return item


@app.post("/message")
def create_message() -> Response:
    body = json_body(app)
    if isinstance(body, dict) and set(body) == {"Item"}:  # the original project's clients send this
        try:
            body = from_original_item(body["Item"])
        except ValueError as exc:
            raise BadRequestError(str(exc)) from None
    reading = Reading.model_validate(body)
    messages = _messages()
    try:
        messages.put_item(Item=reading.item(), ConditionExpression="attribute_not_exists(#date)",
                          ExpressionAttributeNames={"#date": "date"})
    except messages.meta.client.exceptions.ConditionalCheckFailedException:
        return Response(409, "application/json", _dumps({"message": "a message with this key exists; use PUT",
                                                         **reading.key()}))
    return Response(201, "application/json", _dumps(reading.key()))


@app.put("/message/<date>")
def replace_message(date: str) -> Response:
    key = _key(date)
    body = json_body(app)
    if isinstance(body, dict) and ({"UpdateExpression", "ExpressionAttributeValues"} & set(body)):
        raise BadRequestError("raw DynamoDB expressions are not accepted: send the new values as JSON fields, "
                              '{"source", "local_dest", "local_avg", "remote_dest", "remote_avg"}')
    change = Measurements.model_validate(body)
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
def delete_message(date: str) -> Response:
    key = _key(date)
    if "Attributes" not in _messages().delete_item(Key=key, ReturnValues="ALL_OLD"):
        raise NotFoundError(f"no message at {key['date']} {key['time']}")
    return NO_CONTENT


@entry_point(correlation_paths.API_GATEWAY_HTTP)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return app.resolve(event, context)
