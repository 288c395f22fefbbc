"""Publish every change of the rates table (from its stream) to SNS, with attributes for filtering."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord

from handlers.currency_stream.models import RateChange
from handlers.shared.aws import client, setting
from handlers.shared.observability import entry_point

processor = BatchProcessor(event_type=EventType.DynamoDBStreams, raise_on_entire_batch_failure=False)


def change_of(record: DynamoDBRecord) -> RateChange:
    """INSERT and MODIFY carry the new image; REMOVE the old one, one version later."""
    event = record.event_name.name
    if event == "REMOVE":
        data = dict(record.dynamodb.old_image)
        return RateChange(type="REMOVE", data=data, version=int(data["version"]) + 1)
    data = dict(record.dynamodb.new_image)
    return RateChange(type=event, data=data, version=int(data["version"]))


def publish_change(sns: Any, topic_arn: str, change: RateChange) -> None:
    sns.publish(TopicArn=topic_arn, Message=change.model_dump_json(), MessageAttributes={
        "type": {"DataType": "String", "StringValue": change.type},
        "symbol": {"DataType": "String", "StringValue": str(change.data["symbol"])},
    })


def publish_record(record: DynamoDBRecord) -> None:
    publish_change(client("sns"), setting("TOPIC_ARN"), change_of(record))


@entry_point()
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return process_partial_response(event=event, record_handler=publish_record, processor=processor, context=context)
