"""Turn a ledger click into a feed command on the clicked feeder's own action topic, once.

Published through the IoT data plane: no MQTT connection (and no fixed client id that concurrent
runs would fight over) inside the function. EventBridge delivers at least once, and retries a target
for up to 24 hours; Lambda keeps a failed asynchronous event for up to 6 more: a click's command is
published once within FED_FOR_SECONDS. The command carries its id, so a device that still hears it
twice (MQTT QoS 1 redelivers) feeds once.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.parser import event_parser

from handlers.cat_feeder import registry
from handlers.cat_feeder.contract import action_topic
from handlers.cat_feeder.models import ClickEvent, FeedCommand
from handlers.cat_feeder.registry import thing_of
from handlers.shared.aws import setting
from handlers.shared.idempotency import Once
from handlers.shared.iot import publish_json
from handlers.shared.observability import entry_point, logger

FED_FOR_SECONDS = 2 * 24 * 3600


def command_for(event: ClickEvent) -> tuple[str, FeedCommand]:
    """The topic and command for a click; a click for no feeder of this stack is refused (the
    invocation fails and the event is kept), never published where no device listens."""
    if not registry.exists(event.detail.feeder):
        raise ValueError(f"no feeder {event.detail.feeder!r} in this stack: nothing was fed")
    topic = action_topic(setting("STACK"), thing_of(event.detail.feeder))
    return topic, FeedCommand(event=event.detail.click_type, reportedTime=event.detail.reported_time,
                              id=event.command_id())


def feed(command: dict[str, Any]) -> dict[str, Any]:
    """Publish one command (`{"topic", "command"}`): what runs once per command id."""
    publish_json(command["topic"], command["command"])
    logger.info("feed command", extra=command)
    return command


feed_once = Once(feed, "command", "command.id", FED_FOR_SECONDS)


@entry_point()
@event_parser(model=ClickEvent)
def handler(event: ClickEvent, context: Any) -> dict[str, Any]:
    """A malformed event fails the invocation: retried, then kept in the rule's dead-letter queue."""
    topic, command = command_for(event)
    return feed_once(context, command={"topic": topic, "command": command.model_dump()})
