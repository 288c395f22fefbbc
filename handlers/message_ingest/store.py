"""Store queued readings in DynamoDB, reporting each failed message so only it is retried."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from botocore.exceptions import ClientError

from handlers.message_ingest.models import QueuedReading
from handlers.shared.aws import setting, table

logger = Logger()
# An all-failed batch is reported like any other, so only the DLQ decides a message's fate.
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


def store_reading(messages: Any, queued: QueuedReading) -> bool:
    """Write the reading unless it is already stored; True when this call wrote it.

    The condition makes redelivery harmless: SQS delivers at least once, and a file retried
    after a partial failure sends its rows again.
    """
    try:
        messages.put_item(
            Item=queued.reading.item(),
            ConditionExpression="attribute_not_exists(#date)",
            ExpressionAttributeNames={"#date": "date"},
        )
    except ClientError as exc:
        if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
            return False
        raise
    return True


def store_record(record: SQSRecord) -> None:
    """Raises on a malformed body so the message is retried and, in the end, dead-lettered."""
    queued = QueuedReading.model_validate_json(record.body)
    wrote = store_reading(table(setting("TABLE_NAME")), queued)
    logger.debug("stored" if wrote else "already stored", extra={"key": queued.reading.key()})


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return process_partial_response(event=event, record_handler=store_record, processor=processor, context=context)
