"""`POST /click`: validate a click and put it on the ledger bus as a `com.feedmyfurbabies` event."""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.exceptions import BadRequestError
from pydantic import ValidationError

from handlers.cat_feeder.models import DETAIL_TYPE, SOURCE, Click
from handlers.shared.aws import client, setting
from handlers.shared.errors import describe

app = APIGatewayHttpResolver()


class LedgerError(RuntimeError):
    """EventBridge did not take the click."""


def record_click(events: Any, bus: str, click: Click) -> str:
    detail = {"click-type": click.click_type, "feeder": click.feeder, "reportedTime": click.reported_time}
    response = events.put_events(Entries=[{"Source": SOURCE, "DetailType": DETAIL_TYPE, "EventBusName": bus,
                                           "Detail": json.dumps(detail)}])
    entry = response["Entries"][0]
    if response.get("FailedEntryCount") or "EventId" not in entry:
        raise LedgerError(f"the bus refused the click: {entry.get('ErrorCode')}: {entry.get('ErrorMessage')}")
    return entry["EventId"]


@app.post("/click")
def post_click() -> Response:
    raw = app.current_event.decoded_body or ""
    try:
        body = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise BadRequestError(f"body is not JSON: {exc.msg} at character {exc.pos}") from None
    click = Click.model_validate(body)
    feeders = setting("FEEDERS").split(",")
    if click.feeder not in feeders:
        raise BadRequestError(f"feeder {click.feeder!r} is not one of {feeders}")
    event_id = record_click(client("events"), setting("BUS_NAME"), click)
    return Response(202, "application/json", json.dumps({"eventId": event_id, "feeder": click.feeder,
                                                         "clickType": click.click_type}))


@app.exception_handler(ValidationError)
def invalid_body(error: ValidationError) -> Response:
    return Response(400, "application/json", json.dumps({"message": f"invalid body: {describe(error)}"}))


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return app.resolve(event, context)
