"""Store queued readings in DynamoDB, reporting each failed message so only it is retried.

Every row is stored once, however often it is delivered. The reading and a record of its delivery
(its identity: file, upload, line) are written in one transaction, so a crash can leave neither or
both, never one. A row whose delivery is recorded is done: a later delivery of it changes nothing,
even after `DELETE /message` removed the reading (the record, not a tombstone in the table, is what
remembers: readings stay the API's alone). The record lives as long as an old delivery can still
arrive: the queue's retention, then the dead-letter queue's, from which it may be redriven.

A reading whose key holds another row's reading is a duplicate when the values agree (a no-op), and
a conflict when they differ, written with both values to `quarantine/conflicts/` beside its file, so
sent = stored + quarantined + dead-lettered still adds up.

The records of a batch are written concurrently (Powertools' AsyncBatchProcessor, each record on a
thread of its own), each still reported for its own message.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from aws_lambda_powertools.utilities.batch import AsyncBatchProcessor, EventType, async_process_partial_response
from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

from handlers.message_ingest.contract import CONFLICTS
from handlers.message_ingest.models import QueuedReading, QueuedReadingRecord
from handlers.shared.aws import client, setting
from handlers.shared.contract import DELIVERIES_SETTING, DELIVERY_EXPIRY, DELIVERY_KEY
from handlers.shared.observability import entry_point, logger

# An all-failed batch is reported like any other, so only the DLQ decides a message's fate.
processor = AsyncBatchProcessor(event_type=EventType.SQS, model=QueuedReadingRecord,
                                raise_on_entire_batch_failure=False)
# Every record of the largest SQS batch in flight at once (asyncio's default pool has as few as 5
# threads); the low-level client the threads share is thread-safe, boto3's resources are not.
_writers = ThreadPoolExecutor(10, thread_name_prefix="store")
_deserialize = TypeDeserializer().deserialize
_serialize = TypeSerializer().serialize

STORED, REPEATED = "stored", "repeated"


def conflict_key(queued: QueuedReading) -> str:
    return f"{CONFLICTS}{queued.origin.key}/line-{queued.origin.line}.json"


def _delivery(deliveries: str, identity: str, kept_seconds: int) -> dict[str, Any]:
    return {"TableName": deliveries, "ConditionExpression": "attribute_not_exists(#id)",
            "ExpressionAttributeNames": {"#id": DELIVERY_KEY},
            "Item": {DELIVERY_KEY: {"S": identity}, DELIVERY_EXPIRY: {"N": str(int(time.time()) + kept_seconds)}}}


def store_reading(dynamodb: Any, table_name: str, deliveries: str, queued: QueuedReading,
                  kept_seconds: int) -> str | dict[str, Any]:
    """STORED; REPEATED when this row's delivery was already done; else what the key holds (another
    row's reading, the same or not), and the row is not done until `mark_done` says so."""
    item = {k: _serialize(v) for k, v in queued.reading.item().items()}
    delivery = _delivery(deliveries, queued.origin.identity(), kept_seconds)
    try:
        dynamodb.transact_write_items(TransactItems=[
            {"Put": delivery},
            {"Put": {"TableName": table_name, "Item": item, "ConditionExpression": "attribute_not_exists(#date)",
                     "ExpressionAttributeNames": {"#date": "date"}, "ReturnValuesOnConditionCheckFailure": "ALL_OLD"}},
        ])
        return STORED
    except dynamodb.exceptions.TransactionCanceledException as exc:
        done, taken = (r.get("Code") == "ConditionalCheckFailed" for r in exc.response["CancellationReasons"])
        if done:
            return REPEATED
        if not taken:
            raise
        # The reading put asked for ALL_OLD: DynamoDB returns the stored item with the cancellation.
        found = exc.response["CancellationReasons"][1].get("Item") or {}
    return {k: _deserialize(v) for k, v in found.items()}


def mark_done(dynamodb: Any, deliveries: str, queued: QueuedReading, kept_seconds: int) -> None:
    """Record a row's delivery once its fate is written down (a duplicate, or a conflict filed): a
    crash before this leaves the row to be decided again, never decided and forgotten."""
    with contextlib.suppress(dynamodb.exceptions.ConditionalCheckFailedException):
        dynamodb.put_item(**_delivery(deliveries, queued.origin.identity(), kept_seconds))


def record_conflict(s3: Any, queued: QueuedReading, stored: dict[str, Any]) -> str:
    """Quarantine a reading that disagrees with the one already stored under its key, with both."""
    key = conflict_key(queued)
    document = {"source": f"s3://{queued.origin.bucket}/{queued.origin.key}", "line": queued.origin.line,
                "reason": "a different reading is already stored under this date and time",
                "key": queued.reading.key(), "stored": stored, "rejected": queued.reading.item()}
    s3.put_object(Bucket=queued.origin.bucket, Key=key, ContentType="application/json",
                  Body=json.dumps(document, indent=2, default=str).encode())
    return key


def store(record: QueuedReadingRecord) -> str:
    """A malformed body never gets here: the processor reports it, so it is retried and dead-lettered."""
    queued, dynamodb = record.body, client("dynamodb")
    deliveries, kept_seconds = setting(DELIVERIES_SETTING), int(setting("DELIVERIES_KEPT_SECONDS"))
    outcome = store_reading(dynamodb, setting("TABLE_NAME"), deliveries, queued, kept_seconds)
    if outcome in (STORED, REPEATED):
        logger.debug(outcome, extra={"row": queued.origin.identity()})
        return str(outcome)
    if outcome == queued.reading.item():
        logger.debug("the same reading is stored from another row", extra={"row": queued.origin.identity()})
        verdict = "duplicate"
    else:
        logger.warning("conflict quarantined", extra={"at": record_conflict(client("s3"), queued, outcome)})
        verdict = "conflict"
    mark_done(dynamodb, deliveries, queued, kept_seconds)
    return verdict


async def store_record(record: QueuedReadingRecord) -> str:
    return await asyncio.get_running_loop().run_in_executor(_writers, store, record)


@entry_point()
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return async_process_partial_response(event=event, record_handler=store_record, processor=processor,
                                          context=context)
