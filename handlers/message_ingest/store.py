"""Store queued readings in DynamoDB, reporting each failed message so only it is retried.

Nothing vanishes: a reading whose key is already stored with the same values is a redelivery
(SQS delivers at least once) and is a no-op; one whose key is stored with *different* values is a
conflict, written with both values to `quarantine/conflicts/` beside its file, so sent = stored +
quarantined + dead-lettered still adds up.

The records of a batch are written at once on a few threads (each write still conditional, each
failure still reported for its own message): a batch costs one round trip, not ten. The threads
share the low-level DynamoDB client, which is thread-safe; boto3's resource objects are not.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

from handlers.message_ingest.contract import CONFLICTS
from handlers.message_ingest.models import QueuedReading, QueuedReadingRecord
from handlers.shared.aws import client, setting
from handlers.shared.observability import entry_point, logger

STORE_CONCURRENCY = 10  # the largest SQS batch: every record of a batch in flight at once


class ConcurrentBatchProcessor(BatchProcessor):
    """Powertools' SQS batch processor, its records handled on a thread pool instead of one by one.

    Relies on `process()` being the loop over `_process_record` (aws-lambda-powertools is pinned);
    the success and failure lists it appends to are thread-safe under the GIL.
    """

    _pool = ThreadPoolExecutor(STORE_CONCURRENCY, thread_name_prefix="store")

    def process(self) -> list[tuple]:
        return list(self._pool.map(self._process_record, self.records))


# An all-failed batch is reported like any other, so only the DLQ decides a message's fate.
processor = ConcurrentBatchProcessor(event_type=EventType.SQS, model=QueuedReadingRecord,
                                     raise_on_entire_batch_failure=False)
_deserialize = TypeDeserializer().deserialize
_serialize = TypeSerializer().serialize


def conflict_key(queued: QueuedReading) -> str:
    return f"{CONFLICTS}{queued.origin.key}/line-{queued.origin.line}.json"


def store_reading(dynamodb: Any, table_name: str, queued: QueuedReading) -> dict[str, Any] | None:
    """Write the reading unless its key is taken; returns what is stored there when it is, else None."""
    try:
        dynamodb.put_item(
            TableName=table_name,
            Item={k: _serialize(v) for k, v in queued.reading.item().items()},
            ConditionExpression="attribute_not_exists(#date)",
            ExpressionAttributeNames={"#date": "date"},
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        )
    except dynamodb.exceptions.ConditionalCheckFailedException as exc:
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
    stored = store_reading(client("dynamodb"), setting("TABLE_NAME"), queued)
    if stored is None:
        logger.debug("stored", extra={"key": queued.reading.key()})
    elif stored == queued.reading.item():
        logger.debug("already stored", extra={"key": queued.reading.key()})
    else:
        logger.warning("conflict quarantined", extra={"at": record_conflict(client("s3"), queued, stored)})


@entry_point()
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return process_partial_response(event=event, record_handler=store_record, processor=processor, context=context)
