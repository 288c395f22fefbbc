"""The states rule's target: a device's report goes onto the ledger as its own detail type, so the
archive keeps what was done beside what was asked, and a replay rebuilds both.

IoT Core has no EventBridge rule action; this function is that bridge. The rule hears only this
stack's topics, and a device may publish only on its own (its policy's variables), so the thing in
the topic names the feeder. A report that does not parse fails the invocation: retried, then kept in
the function's failure queue.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.parser import event_parser

from handlers.cat_feeder.contract import STATE_DETAIL_TYPE
from handlers.cat_feeder.ledger import put_on_ledger
from handlers.cat_feeder.models import DeviceReport, FeederReport
from handlers.cat_feeder.registry import feeder_of
from handlers.shared.aws import client, setting
from handlers.shared.observability import entry_point, logger


@entry_point()
@event_parser(model=DeviceReport)
def handler(device: DeviceReport, context: Any) -> dict[str, Any]:
    feeder = feeder_of(device.thing)
    if feeder is None:
        raise ValueError(f"a report from thing {device.thing!r}, which is no feeder of this stack")
    report = FeederReport(**device.model_dump(exclude={"thing"}), feeder=feeder)
    event_id = put_on_ledger(client("events"), setting("BUS_NAME"), STATE_DETAIL_TYPE,
                             report.model_dump_json(by_alias=True, exclude_none=True, exclude={"thing"}))
    logger.info("state on the ledger", extra={"feeder": feeder, "state": report.state, "eventId": event_id})
    return {"eventId": event_id}
