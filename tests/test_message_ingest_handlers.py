"""Message ingest handlers against moto: CSV -> queue -> table, quarantine, DLQ, idempotency."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import boto3
import pytest

from handlers.message_ingest import ingest, store
from handlers.message_ingest.contract import CONFLICTS
from handlers.message_ingest.models import QueuedReading, QueuedReadingRecord, Reading
from tests.conftest import EVENTS, LAMBDA_CONTEXT, s3_event, sqs_record

BUCKET = "conduit-test-files"
TABLE = "conduit-test-messages"
MAX_RECEIVES = 3
ORIGINALS_BAD_ROW = "not_a_timestamp!,location-03,wireless,router-1,not_a_number,device-1"


@pytest.fixture
def ingest_world(moto_aws, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    s3, sqs, dynamodb = boto3.client("s3"), boto3.client("sqs"), boto3.client("dynamodb")
    s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    dlq = sqs.create_queue(QueueName="readings-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    queue = sqs.create_queue(QueueName="readings", Attributes={"RedrivePolicy": json.dumps(
        {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": MAX_RECEIVES})})["QueueUrl"]
    dynamodb.create_table(
        TableName=TABLE, BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "date", "KeyType": "HASH"}, {"AttributeName": "time", "KeyType": "RANGE"}],
        AttributeDefinitions=[{"AttributeName": "date", "AttributeType": "S"},
                              {"AttributeName": "time", "AttributeType": "S"}],
    )
    monkeypatch.setenv("QUEUE_URL", queue)
    monkeypatch.setenv("TABLE_NAME", TABLE)
    monkeypatch.setenv("MAX_CSV_BYTES", str(1024 * 1024))
    return {"s3": s3, "sqs": sqs, "queue": queue, "dlq": dlq, "table": boto3.resource("dynamodb").Table(TABLE)}


def drop_file(world: dict[str, Any], key: str, body: bytes) -> dict[str, Any]:
    world["s3"].put_object(Bucket=BUCKET, Key=key, Body=body)
    return ingest.handler(s3_event(BUCKET, key), LAMBDA_CONTEXT)


def sqs_event(messages: list[dict[str, Any]]) -> dict[str, Any]:
    return {"Records": [sqs_record(m["Body"], m["MessageId"], m["ReceiptHandle"]) for m in messages]}


def drain(world: dict[str, Any], rounds: int = 50) -> list[dict[str, Any]]:
    """Do what the event source mapping does: deliver batches of 10, delete what succeeded."""
    sqs, responses = world["sqs"], []
    for _ in range(rounds):
        messages = sqs.receive_message(QueueUrl=world["queue"], MaxNumberOfMessages=10,
                                       VisibilityTimeout=0).get("Messages", [])
        if not messages:
            return responses
        response = store.handler(sqs_event(messages), LAMBDA_CONTEXT)
        responses.append(response)
        failed = {f["itemIdentifier"] for f in response["batchItemFailures"]}
        for m in messages:
            if m["MessageId"] not in failed:
                sqs.delete_message(QueueUrl=world["queue"], ReceiptHandle=m["ReceiptHandle"])
    raise AssertionError("queue did not drain")


def items(world: dict[str, Any]) -> list[dict[str, Any]]:
    return world["table"].scan()["Items"]


def quarantined(world: dict[str, Any], key: str) -> dict[str, Any]:
    body = world["s3"].get_object(Bucket=BUCKET, Key=f"quarantine/{key}.rejected.json")["Body"].read()
    return json.loads(body)


def test_twenty_rows_become_twenty_items(ingest_world):
    result = drop_file(ingest_world, "in/readings_20.csv", (EVENTS / "readings_20.csv").read_bytes())
    assert result["files"] == [{"key": "in/readings_20.csv", "sent": 20, "rejected": 0, "quarantine": None}]
    drain(ingest_world)
    stored = items(ingest_world)
    assert len(stored) == 20
    first = next(i for i in stored if i["time"].startswith("10:55:09.385333"))
    assert first["date"] == "2019-05-28"
    assert str(first["local_avg"]) == "4.39" and str(first["remote_avg"]) == "9.09"


def test_mixed_file_stores_good_rows_and_quarantines_bad_ones_with_reasons(ingest_world):
    result = drop_file(ingest_world, "readings mixed.csv", (EVENTS / "readings_mixed.csv").read_bytes())
    assert result["files"][0]["sent"] == 2 and result["files"][0]["rejected"] == 3
    drain(ingest_world)
    assert sorted(i["location"] for i in items(ingest_world)) == ["location-03", "location-06, annex"]

    report = quarantined(ingest_world, "readings mixed.csv")
    by_line = {r["line"]: r for r in report["rejected"]}
    assert set(by_line) == {4, 6, 7}, report
    original = by_line[4]
    assert ",".join(original["row"][c] or "" for c in list(original["row"])[:6]) == ORIGINALS_BAD_ROW
    assert original["reason"] == ("field(s) missing: remote_avg; local_avg: Input should be a valid decimal; "
                                  "timestamp: Input should be a valid decimal"), original
    assert "local_avg" in by_line[6]["reason"]
    assert "more field" in by_line[7]["reason"]


def test_originals_bad_row_reports_every_fault_when_complete():
    row = dict(zip(("timestamp", "location", "source", "local_dest", "local_avg", "remote_dest", "remote_avg"),
                   [*ORIGINALS_BAD_ROW.split(","), "1.0"], strict=True))
    outcome = dict(ingest.validate_rows([",".join(row), ",".join(row.values())]))[2]
    assert isinstance(outcome, ingest.Rejection)
    assert "timestamp" in outcome.reason and "local_avg" in outcome.reason


def test_file_without_required_columns_is_quarantined_whole(ingest_world):
    result = drop_file(ingest_world, "wrong.csv", b"when,where\n1,2\n")
    assert result["files"][0]["sent"] == 0
    assert "header lacks column(s) timestamp" in quarantined(ingest_world, "wrong.csv")["rejected"][0]["reason"]


def test_file_over_the_size_limit_is_quarantined_unread(ingest_world, monkeypatch):
    monkeypatch.setenv("MAX_CSV_BYTES", "1024")
    drop_file(ingest_world, "big.csv", (EVENTS / "readings_20.csv").read_bytes())
    assert "the limit is 1024" in quarantined(ingest_world, "big.csv")["rejected"][0]["reason"]
    assert ingest_world["sqs"].receive_message(QueueUrl=ingest_world["queue"]).get("Messages") is None


def test_a_byte_that_is_not_utf8_spoils_its_own_row_only(ingest_world):
    lines = (EVENTS / "readings_20.csv").read_bytes().splitlines(keepends=True)
    lines[5] = lines[5].replace(b"location-", b"caf\xe9-")  # data row 5 of 20
    result = drop_file(ingest_world, "latin.csv", b"".join(lines))
    assert result["files"][0]["sent"] == 19, "every row after the bad byte is still read"
    [rejected] = quarantined(ingest_world, "latin.csv")["rejected"]
    assert rejected["line"] == 6 and "not UTF-8 text in column location: byte 0xe9" in rejected["reason"]
    assert "caf\\xe9-" in rejected["row"]["location"]
    drain(ingest_world)
    assert len(items(ingest_world)) == 19


def test_poison_message_reaches_the_dlq_while_its_batch_mates_are_stored(ingest_world):
    sqs = ingest_world["sqs"]
    good = [QueuedReading.model_validate({
        "reading": {"timestamp": f"1559040909.{i}", "location": f"loc-{i}", "source": "s", "local_dest": "a",
                    "local_avg": "1", "remote_dest": "b", "remote_avg": "2"},
        "origin": {"bucket": BUCKET, "key": "k.csv", "line": i + 2}}).model_dump_json() for i in range(4)]
    for body in [*good[:2], '{"reading": "not a reading"}', *good[2:]]:
        sqs.send_message(QueueUrl=ingest_world["queue"], MessageBody=body)

    responses = drain(ingest_world)

    assert len(items(ingest_world)) == 4
    assert [len(r["batchItemFailures"]) for r in responses].count(1) == MAX_RECEIVES
    dead = sqs.receive_message(QueueUrl=ingest_world["dlq"], MaxNumberOfMessages=10)["Messages"]
    assert [m["Body"] for m in dead] == ['{"reading": "not a reading"}']


def _queued(remote_avg: str = "2", line: int = 2) -> QueuedReading:
    return QueuedReading(
        reading=Reading.model_validate({"timestamp": "1559040909.5", "location": "loc", "source": "s",
                                        "local_dest": "a", "local_avg": "1", "remote_dest": "b",
                                        "remote_avg": remote_avg}),
        origin={"bucket": BUCKET, "key": "k.csv", "line": line})


def _record(queued: QueuedReading) -> QueuedReadingRecord:
    return QueuedReadingRecord.model_validate(sqs_record(queued.model_dump_json()))


def test_redelivered_message_does_not_write_twice(ingest_world):
    queued = _queued()
    assert store.store_reading(boto3.client("dynamodb"), ingest_world["table"].name, queued) is None
    store.store_record(_record(queued))  # the same reading again: a redelivery
    assert len(items(ingest_world)) == 1
    conflicts = ingest_world["s3"].list_objects_v2(Bucket=BUCKET, Prefix=CONFLICTS)
    assert conflicts.get("KeyCount", 0) == 0, "a redelivery is not a conflict"


def test_a_different_reading_under_a_taken_key_is_quarantined_with_both_values(ingest_world):
    table = ingest_world["table"]
    store.store_record(_record(_queued("2", line=2)))
    store.store_record(_record(_queued("7.5", line=9)))
    [item] = items(ingest_world)
    assert item["remote_avg"] == 2, "the first reading stays"
    body = ingest_world["s3"].get_object(Bucket=BUCKET, Key="quarantine/conflicts/k.csv/line-9.json")["Body"]
    conflict = json.loads(body.read())
    assert conflict["line"] == 9 and conflict["source"] == f"s3://{BUCKET}/k.csv"
    assert conflict["stored"]["remote_avg"] == "2" and conflict["rejected"]["remote_avg"] == "7.5"
    assert table.get_item(Key=_queued().reading.key())["Item"]["remote_avg"] == 2


def test_readings_in_the_same_second_do_not_collide():
    base = {"source": "s", "local_dest": "a", "local_avg": "1", "remote_dest": "b", "remote_avg": "2"}
    keys = {tuple(Reading.model_validate({**base, "timestamp": ts, "location": loc}).key().values())
            for ts, loc in [("1559040909.1", "x"), ("1559040909.2", "x"), ("1559040909.1", "y")]}
    assert len(keys) == 3


def test_every_record_of_a_notification_is_ingested(ingest_world):
    for key in ("a.csv", "b.csv"):
        ingest_world["s3"].put_object(Bucket=BUCKET, Key=key, Body=(EVENTS / "readings_20.csv").read_bytes())
    event = s3_event(BUCKET, "a.csv")
    event["Records"].append(s3_event(BUCKET, "b.csv")["Records"][0])
    assert [f["key"] for f in ingest.handler(event, LAMBDA_CONTEXT)["files"]] == ["a.csv", "b.csv"]


def test_the_records_of_a_batch_are_stored_at_once_and_each_failure_is_still_its_own(monkeypatch):
    """Ten records meet at a barrier that only opens when all ten are in flight together; the one
    that then fails is the only one reported, so only it is retried."""
    barrier = threading.Barrier(10, timeout=10)

    def handle(record: QueuedReadingRecord) -> None:
        barrier.wait()
        if record.body.origin.line == 7:
            raise RuntimeError("the store refused line 7")

    records = [sqs_record(_queued(line=n).model_dump_json(), message_id=f"m{n}") for n in range(10)]
    response = store.process_partial_response(event={"Records": records}, record_handler=handle,
                                              processor=store.processor, context=LAMBDA_CONTEXT)
    assert response == {"batchItemFailures": [{"itemIdentifier": "m7"}]}


class RecordingQueue:
    """A stand-in SQS client that counts the batches in flight at once and can refuse one."""

    def __init__(self, refuse_line: int | None = None):
        self.lock, self.in_flight, self.most, self.sent = threading.Lock(), 0, 0, []
        self.refuse = f'"line":{refuse_line}}}' if refuse_line else None

    def send_message_batch(self, QueueUrl: str, Entries: list[dict[str, str]]) -> dict[str, Any]:
        with self.lock:
            self.in_flight += 1
            self.most = max(self.most, self.in_flight)
            self.sent.append(Entries)
        time.sleep(0.02)
        with self.lock:
            self.in_flight -= 1
        if self.refuse and any(self.refuse in e["MessageBody"] for e in Entries):
            return {"Failed": [{"Id": e["Id"], "Code": "InternalError", "SenderFault": False} for e in Entries]}
        return {"Successful": [{"Id": e["Id"]} for e in Entries]}


def _csv(rows: int) -> list[str]:
    lines = (EVENTS / "readings_20.csv").read_text().splitlines(keepends=True)
    return [lines[0], *(lines[1 + n % (len(lines) - 1)] for n in range(rows))]


def test_batches_of_a_file_are_sent_several_at_once_but_never_more_than_the_window():
    sqs = RecordingQueue()
    report = ingest.csv_rows_to_queue(_csv(400), BUCKET, "k.csv", sqs, "url")
    assert report.sent == 400 and sum(len(b) for b in sqs.sent) == 400
    assert 1 < sqs.most <= ingest.SEND_CONCURRENCY, sqs.most


def test_a_batch_sqs_keeps_refusing_fails_the_file_and_leaves_nothing_in_flight():
    """The failure stops the reading (Lambda retries the whole file; the store makes resent rows
    no-ops), and every batch already handed to a thread is awaited before the error is raised."""
    sqs = RecordingQueue(refuse_line=35)
    with pytest.raises(ingest.IngestError, match="SQS refused 10 message"):
        ingest.csv_rows_to_queue(_csv(200), BUCKET, "k.csv", sqs, "url")
    assert sqs.in_flight == 0, "nothing is left running behind the failure"
    refused = [b for b in sqs.sent if any('"line":35}' in e["MessageBody"] for e in b)]
    assert len(refused) == ingest.SEND_ATTEMPTS, "the refused batch was tried three times"
