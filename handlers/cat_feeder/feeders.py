"""`GET /feeders` and `GET /feeders/{feeder}`: the projection, read for the feeders' owner; the
feeders themselves are the stack's things in the IoT registry."""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.event_handler.openapi.params import Path
from aws_lambda_powertools.logging import correlation_paths

from handlers.cat_feeder import registry
from handlers.shared.aws import every_item, setting, table
from handlers.shared.http import exact, typed_api
from handlers.shared.observability import entry_point

app = typed_api()


def view(feeder: str, item: dict[str, Any] | None) -> dict[str, Any]:
    """One feeder as the owner reads it; a feeder never heard from has nulls."""
    item = item or {}
    command_at, confirmed_at = item.get("commandAt"), item.get("confirmedCommandAt")
    return {"feeder": feeder, "state": (item.get("lastState") or {}).get("state"),
            "report": item.get("lastState"), "reportedAt": item.get("reportedAt"),
            "lastCommand": item.get("lastCommand"), "commandAt": command_at,
            "confirmed": command_at is not None and confirmed_at is not None and confirmed_at >= command_at}


@app.get("/feeders")
def list_feeders() -> Response[str]:
    """Every configured feeder; the projection holds one small item per feeder, so a scan is the read."""
    items = {item["feeder"]: item for item in every_item(table(setting("FEEDERS_TABLE")).scan)}
    return exact({"feeders": [view(feeder, items.get(feeder)) for feeder in registry.feeders()]})


@app.get("/feeders/<feeder>")
def get_feeder(feeder: Annotated[str, Path(description="a feeder of conduit:catFeeder.feeders")]) -> Response[str]:
    if not registry.exists(feeder):
        raise NotFoundError(f"no feeder {feeder[:40]!r}; this stack has {registry.feeders()}")
    return exact(view(feeder, table(setting("FEEDERS_TABLE")).get_item(Key={"feeder": feeder}).get("Item")))


@entry_point(correlation_paths.API_GATEWAY_HTTP)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return app.resolve(event, context)
