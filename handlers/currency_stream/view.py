"""Keep the current rates in a table: idempotent under redelivery, deaf to out-of-date changes.

Every change carries a version; the view applies it only when it is newer than what it holds.
A removal leaves a tombstone with its version, so a late older change cannot resurrect it.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response

from handlers.currency_stream.models import RateChange, RateChangeRecord
from handlers.shared.aws import setting, table
from handlers.shared.observability import entry_point

processor = BatchProcessor(event_type=EventType.SQS, model=RateChangeRecord, raise_on_entire_batch_failure=False)


def apply_change(view: Any, change: RateChange) -> bool:
    """True when the view changed; False when it already held this version or a newer one."""
    deleted = change.type == "REMOVE"
    try:
        view.update_item(
            Key={"symbol": change.data["symbol"]},
            UpdateExpression="SET rate = :rate, version = :version, deleted = :deleted",
            ConditionExpression="attribute_not_exists(symbol) OR version < :version",
            ExpressionAttributeValues={":rate": Decimal(str(change.data["rate"])), ":version": change.version,
                                       ":deleted": deleted},
        )
    except view.meta.client.exceptions.ConditionalCheckFailedException:
        return False
    return True


def apply_record(record: RateChangeRecord) -> None:
    apply_change(table(setting("VIEW_TABLE")), record.body)


@entry_point()
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return process_partial_response(event=event, record_handler=apply_record, processor=processor, context=context)
