"""`POST /click`: validate a click and put it on the ledger bus as a `com.feedmyfurbabies` event."""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.exceptions import BadRequestError
from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.logging import correlation_paths

from handlers.cat_feeder import registry
from handlers.cat_feeder.contract import CLICK_DETAIL_TYPE
from handlers.cat_feeder.ledger import put_on_ledger
from handlers.cat_feeder.models import Click, ClickDetail
from handlers.shared.aws import client, setting
from handlers.shared.http import typed_api
from handlers.shared.observability import entry_point

app = typed_api()


def record_click(events: Any, bus: str, detail: ClickDetail) -> str:
    return put_on_ledger(events, bus, CLICK_DETAIL_TYPE, detail.model_dump_json(by_alias=True))


@app.post("/click")
def post_click(click: Annotated[Click, Body()]) -> Response[dict[str, Any]]:
    feeder = click.feeder_for(registry.exists, setting("DEFAULT_FEEDER"))
    if not registry.exists(feeder):
        raise BadRequestError(f"feeder {feeder!r} is not one of this stack's feeders")
    event_id = record_click(client("events"), setting("BUS_NAME"), ClickDetail.of(click, feeder))
    return Response(202, "application/json", {"eventId": event_id, "feeder": feeder, "clickType": click.click_type})


@entry_point(correlation_paths.API_GATEWAY_HTTP)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return app.resolve(event, context)
