"""Per feeder, what the ledger says: the last state the device reported and when, the last command,
and whether the device confirmed that command.

Events reach the projection in any order and possibly twice (EventBridge retries, replays). Every
write is conditional on being newer than what is stored, so an old or repeated event changes
nothing, and each part (state, command, confirmation) advances on its own clock: a `fed` report
that overtakes its click still confirms it.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.parser import event_parser

from handlers.cat_feeder.models import ClickDetail, ClickEvent, FeederReport, LedgerEvent, StateEvent
from handlers.shared.aws import setting, table
from handlers.shared.observability import entry_point, logger


def _advance(feeders: Any, feeder: str, clock: str, at: int, values: dict[str, Any]) -> bool:
    """Set `values` and `clock` = `at` only if `at` is newer than the stored `clock`."""
    names = {f"#{k}": k for k in (clock, *values)}
    sets = ", ".join(f"#{k} = :{k}" for k in (clock, *values))
    try:
        feeders.update_item(
            Key={"feeder": feeder}, UpdateExpression=f"SET {sets}",
            ConditionExpression=f"attribute_not_exists(#{clock}) OR #{clock} < :{clock}",
            ExpressionAttributeNames=names,
            ExpressionAttributeValues={f":{clock}": at, **{f":{k}": v for k, v in values.items()}})
        return True
    except feeders.meta.client.exceptions.ConditionalCheckFailedException:
        return False


def record_command(feeders: Any, click: ClickDetail) -> list[str]:
    advanced = _advance(feeders, click.feeder, "commandAt", click.reported_time, {"lastCommand": click.click_type})
    return ["command"] if advanced else []


def record_report(feeders: Any, report: FeederReport) -> list[str]:
    applied = []
    state = report.model_dump(mode="json", by_alias=True, exclude_none=True, exclude={"feeder", "reported_at"})
    if _advance(feeders, report.feeder, "reportedAt", report.reported_at, {"lastState": state}):
        applied.append("state")
    if report.state == "fed" and report.command is not None and _advance(
            feeders, report.feeder, "confirmedCommandAt", report.command, {}):
        applied.append("confirmation")
    return applied


def apply(feeders: Any, event: ClickEvent | StateEvent) -> list[str]:
    """What the event advanced: any of "command", "state", "confirmation"; [] when it was stale."""
    if isinstance(event, ClickEvent):
        return record_command(feeders, event.detail)
    return record_report(feeders, event.detail)


@entry_point()
@event_parser(model=LedgerEvent)  # type: ignore[arg-type]
def handler(event: Any, context: Any) -> dict[str, Any]:
    applied = apply(table(setting("FEEDERS_TABLE")), event)
    logger.info("projected" if applied else "stale or repeated: nothing changed",
                extra={"feeder": event.detail.feeder, "detailType": event.detail_type, "applied": applied})
    return {"applied": applied}
