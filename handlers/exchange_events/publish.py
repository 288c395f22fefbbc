"""`POST /event`: validate, stamp with an id and a time, publish to `event/<type>`, answer 202."""

from __future__ import annotations

import json
import time
import uuid
from decimal import Decimal
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.exceptions import BadRequestError
from pydantic import ValidationError

from handlers.exchange_events.models import ExchangeEvent
from handlers.shared.aws import setting
from handlers.shared.errors import describe
from handlers.shared.iot import publish_json

MAX_BODY = 16_384
app = APIGatewayHttpResolver()


def accept(body: Any, allowed_types: set[str]) -> dict[str, Any]:
    """The message to publish: the event as sent, an id if it had none, and the server's time."""
    event = ExchangeEvent.model_validate(body)
    if event.type not in allowed_types:
        raise BadRequestError(f"type {event.type!r} is not one of this stack's event types {sorted(allowed_types)}")
    message = event.model_dump(mode="json", exclude_none=True)
    message["id"] = event.id or str(uuid.uuid4())
    message["timestamp"] = str(time.time_ns() // 1_000_000)  # the archive's range key; set here, not by clients
    if event.price is not None:
        message["price"] = float(event.price)  # a JSON number, as the originals' clients send and expect
    return message


@app.post("/event")
def post_event() -> Response:
    raw = app.current_event.decoded_body or ""
    if len(raw) > MAX_BODY:
        raise BadRequestError(f"body is {len(raw)} characters; at most {MAX_BODY} are accepted")
    try:
        body = json.loads(raw, parse_float=Decimal)
    except json.JSONDecodeError as exc:
        raise BadRequestError(f"body is not JSON: {exc.msg} at character {exc.pos}") from None
    message = accept(body, set(setting("EVENT_TYPES").split(",")))
    publish_json(f"event/{message['type']}", message)
    return Response(202, "application/json", json.dumps({"id": message["id"], "topic": f"event/{message['type']}"}))


@app.exception_handler(ValidationError)
def invalid_body(error: ValidationError) -> Response:
    return Response(400, "application/json", json.dumps({"message": f"invalid body: {describe(error)}"}))


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return app.resolve(event, context)
