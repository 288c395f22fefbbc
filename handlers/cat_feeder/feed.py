"""Turn a ledger event into a feed command on the clicked feeder's own action topic.

Published through the IoT data plane: no MQTT connection (and no fixed client id that
concurrent runs would fight over) inside the function.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.parser.models import EventBridgeModel

from handlers.cat_feeder.contract import action_topic
from handlers.cat_feeder.models import Click, FeedCommand
from handlers.shared.aws import setting
from handlers.shared.iot import publish_json
from handlers.shared.observability import entry_point, logger


def command_for(event: dict[str, Any], feeders: list[str]) -> tuple[str, FeedCommand]:
    detail = EventBridgeModel.model_validate(event).detail
    fields = {"feeder": detail.get("feeder"), "clickType": detail.get("click-type")}
    if detail.get("reportedTime") is not None:
        fields["reportedTime"] = detail["reportedTime"]
    click = Click.model_validate(fields)
    if click.feeder not in feeders:
        raise ValueError(f"feeder {click.feeder!r} is not one of {feeders}; nothing was fed")
    return action_topic(click.feeder), FeedCommand(event=click.click_type, reportedTime=click.reported_time)


@entry_point()
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    topic, command = command_for(event, setting("FEEDERS").split(","))
    publish_json(topic, command.model_dump())
    logger.info("feed command", extra={"topic": topic, "event": command.event})
    return {"topic": topic, "command": command.model_dump()}
