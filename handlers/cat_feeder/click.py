"""`POST /click`: validate a click and put it on the ledger bus as a `com.feedmyfurbabies` event."""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.exceptions import BadRequestError
from aws_lambda_powertools.logging import correlation_paths

from handlers.cat_feeder.contract import CLICK_DETAIL_TYPE
from handlers.cat_feeder.ledger import put_on_ledger
from handlers.cat_feeder.models import Click, ClickDetail
from handlers.shared.aws import client, setting
from handlers.shared.http import answer_validation_errors, json_body
from handlers.shared.observability import entry_point

app = APIGatewayHttpResolver()
answer_validation_errors(app)


def record_click(events: Any, bus: str, click: Click) -> str:
    return put_on_ledger(events, bus, CLICK_DETAIL_TYPE, ClickDetail.of(click).model_dump_json(by_alias=True))


def with_feeder(body: Any, feeders: list[str], default: str) -> Any:
    """The original 1-Click event names no feeder: its placement's name does when it is a known feeder,
    else the stack's default feeder (`conduit:catFeeder.defaultFeeder`)."""
    if not isinstance(body, dict) or "feeder" in body or not ({"devicePayload", "deviceEvent"} & set(body)):
        return body
    placement = body.get("placementInfo")
    named = placement.get("placementName") if isinstance(placement, dict) else None
    return {**body, "feeder": named if named in feeders else default}


@app.post("/click")
def post_click() -> Response:
    feeders = setting("FEEDERS").split(",")
    click = Click.model_validate(with_feeder(json_body(app), feeders, setting("DEFAULT_FEEDER")))
    if click.feeder not in feeders:
        raise BadRequestError(f"feeder {click.feeder!r} is not one of {feeders}")
    event_id = record_click(client("events"), setting("BUS_NAME"), click)
    return Response(202, "application/json", json.dumps({"eventId": event_id, "feeder": click.feeder,
                                                         "clickType": click.click_type}))


@entry_point(correlation_paths.API_GATEWAY_HTTP)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return app.resolve(event, context)
