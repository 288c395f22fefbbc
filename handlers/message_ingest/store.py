"""Store queued readings in DynamoDB, reporting each failed message so only it is retried.

Nothing vanishes: a reading whose key is already stored with the same values is a redelivery
(SQS delivers at least once) and is a no-op; one whose key is stored with *different* values is a
conflict, written with both values to `quarantine/conflicts/` beside its file, so sent = stored +
quarantined + dead-lettered still adds up.
"""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from boto3.dynamodb.types import TypeDeserializer

from handlers.message_ingest.contract import CONFLICTS
from handlers.message_ingest.models import QueuedReading, QueuedReadingRecord
from handlers.shared.aws import client, setting, table
from handlers.shared.observability import entry_point, logger

# An all-failed batch is reported like any other, so only the DLQ decides a message's fate.
processor = BatchProcessor(event_type=EventType.SQS, model=QueuedReadingRecord, raise_on_entire_batch_failure=False)
_deserialize = TypeDeserializer().deserialize


def conflict_key(queued: QueuedReading) -> str:
    return f"{CONFLICTS}{queued.origin.key}/line-{queued.origin.line}.json"


def store_reading(messages: Any, queued: QueuedReading) -> dict[str, Any] | None:
    """Write the reading unless its key is taken; returns what is stored there when it is, else None."""
    try:
        messages.put_item(
            Item=queued.reading.item(),
            ConditionExpression="attribute_not_exists(#date)",
            ExpressionAttributeNames={"#date": "date"},
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        )
    except messages.meta.client.exceptions.ConditionalCheckFailedException as exc:
        stored = exc.response.get("Item") or {}
        return {k: _deserialize(v) for k, v in stored.items()}
    return None


def record_conflict(s3: Any, queued: QueuedReading, stored: dict[str, Any]) -> str:
    """Quarantine a reading that disagrees with the one already stored under its key, with both."""
    key = conflict_key(queued)
    document = {"source": f"s3://{queued.origin.bucket}/{queued.origin.key}", "line": queued.origin.line,
                "reason": "a different reading is already stored under this date and time",
                "key": queued.reading.key(), "stored": stored, "rejected": queued.reading.item()}
    s3.put_object(Bucket=queued.origin.bucket, Key=key, ContentType="application/json",
                  Body=json.dumps(document, indent=2, default=str).encode())
    return key


def store_record(record: QueuedReadingRecord) -> None:
    """A malformed body never gets here: the processor reports it, so it is retried and dead-lettered."""
    queued = record.body
    stored = store_reading(table(setting("TABLE_NAME")), queued)
    if stored is None:
        logger.debug("stored", extra={"key": queued.reading.key()})
    elif stored == queued.reading.item():
        logger.debug("already stored", extra={"key": queued.reading.key()})
    else:
        logger.warning("conflict quarantined", extra={"at": record_conflict(client("s3"), queued, stored)})


@entry_point()
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return process_partial_response(event=event, record_handler=store_record, processor=processor, context=context)
