"""`POST /event`: validate, stamp with an id and a time, publish to `event/<type>`, answer 202."""

from __future__ import annotations

import time
import uuid
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.exceptions import BadRequestError
from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.logging import correlation_paths

from handlers.exchange_events.contract import event_topic
from handlers.exchange_events.models import ExchangeEvent
from handlers.shared.aws import setting
from handlers.shared.http import typed_api
from handlers.shared.iot import publish_json
from handlers.shared.numbers import unstorable_numbers
from handlers.shared.observability import entry_point

MAX_BODY = 16_384
app = typed_api(max_chars=MAX_BODY)


def accept(event: ExchangeEvent, allowed_types: set[str]) -> dict[str, Any]:
    """The message to publish: the event as sent (its numbers exact), an id if it had none, the
    server's time, and the price's exact text for consumers that read JSON numbers as floats."""
    unexact = unstorable_numbers(event.model_dump(mode="python"), iot=True)
    if unexact:
        raise BadRequestError("IoT Core and the archive cannot carry every number of this event exactly: "
                              f"{'; '.join(unexact[:5])}")
    if event.type not in allowed_types:
        raise BadRequestError(f"type {event.type!r} is not one of this stack's event types {sorted(allowed_types)}")
    message = event.model_dump(mode="python", exclude_none=True)
    message["id"] = event.id or str(uuid.uuid4())
    message["timestamp"] = str(time.time_ns() // 1_000_000)  # the archive's range key; set here, not by clients
    if event.price is not None:
        message["exactPrice"] = str(event.price)
    return message


@app.post("/event")
def post_event(event: Annotated[ExchangeEvent, Body()]) -> Response[dict[str, Any]]:
    message = accept(event, set(setting("EVENT_TYPES").split(",")))
    topic = event_topic(message["type"])
    publish_json(topic, message)
    return Response(202, "application/json", {"id": message["id"], "topic": topic})


@entry_point(correlation_paths.API_GATEWAY_HTTP)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return app.resolve(event, context)
