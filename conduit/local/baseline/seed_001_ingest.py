"""Seed 001's message ingest as it was designed, the bench's baseline: one `SendMessage` per CSV row,
one `PutItem` per queued message, batches of 10 from the queue. Deployed by `conduit local bench`
onto the emulator beside the stack's own ingest; never part of the Pulumi program.

Self-contained (boto3 and the standard library only): it is zipped alone.
"""

import csv
import io
import json
import os
import time
from urllib.parse import unquote_plus

import boto3

_s3 = boto3.client("s3")
_sqs = boto3.client("sqs")
_table = boto3.resource("dynamodb").Table(os.environ["TABLE_NAME"])


def ingest(event, context):
    for record in event["Records"]:
        bucket, key = record["s3"]["bucket"]["name"], unquote_plus(record["s3"]["object"]["key"])
        text = _s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode("utf-8")
        for row in csv.DictReader(io.StringIO(text)):
            _sqs.send_message(QueueUrl=os.environ["QUEUE_URL"], MessageBody=json.dumps(row))


def store(event, context):
    for record in event["Records"]:
        row = json.loads(record["body"])
        seconds = float(row["timestamp"])
        moment = time.gmtime(seconds)
        micros = round((seconds % 1) * 1_000_000)
        _table.put_item(Item={"date": time.strftime("%Y-%m-%d", moment),
                              "time": f"{time.strftime('%H:%M:%S', moment)}.{micros:06d}@{row['location']}", **row})
