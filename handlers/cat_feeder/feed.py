"""Turn a ledger event into a feed command on the clicked feeder's own action topic.

Published through the IoT data plane: no MQTT connection (and no fixed client id that
concurrent runs would fight over) inside the function.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.parser import event_parser

from handlers.cat_feeder.contract import action_topic
from handlers.cat_feeder.models import ClickDetail, ClickEvent, FeedCommand
from handlers.shared.aws import setting
from handlers.shared.iot import publish_json
from handlers.shared.observability import entry_point, logger


def command_for(click: ClickDetail, feeders: list[str]) -> tuple[str, FeedCommand]:
    if click.feeder not in feeders:
        raise ValueError(f"feeder {click.feeder!r} is not one of {feeders}; nothing was fed")
    return action_topic(click.feeder), FeedCommand(event=click.click_type, reportedTime=click.reported_time)


@entry_point()
@event_parser(model=ClickEvent)
def handler(event: ClickEvent, context: Any) -> dict[str, Any]:
    """A malformed event fails the invocation: retried, then kept in the rule's dead-letter queue."""
    topic, command = command_for(event.detail, setting("FEEDERS").split(","))
    publish_json(topic, command.model_dump())
    logger.info("feed command", extra={"topic": topic, "event": command.event})
    return {"topic": topic, "command": command.model_dump()}
