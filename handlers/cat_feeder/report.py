"""The states rule's target: a device's report goes onto the ledger as its own detail type, so the
archive keeps what was done beside what was asked, and a replay rebuilds both.

IoT Core has no EventBridge rule action; this function is that bridge. A report that does not
parse fails the invocation: retried, then kept in the function's failure queue.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.parser import event_parser

from handlers.cat_feeder.contract import STATE_DETAIL_TYPE
from handlers.cat_feeder.ledger import put_on_ledger
from handlers.cat_feeder.models import FeederReport
from handlers.shared.aws import client, setting
from handlers.shared.observability import entry_point, logger


@entry_point()
@event_parser(model=FeederReport)
def handler(report: FeederReport, context: Any) -> dict[str, Any]:
    feeders = setting("FEEDERS").split(",")
    if report.feeder not in feeders:
        raise ValueError(f"a report from feeder {report.feeder!r}, which is not one of {feeders}")
    event_id = put_on_ledger(client("events"), setting("BUS_NAME"), STATE_DETAIL_TYPE,
                             report.model_dump_json(by_alias=True, exclude_none=True))
    logger.info("state on the ledger", extra={"feeder": report.feeder, "state": report.state, "eventId": event_id})
    return {"eventId": event_id}
