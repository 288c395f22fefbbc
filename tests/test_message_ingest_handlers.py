"""Message ingest handlers against moto: CSV -> queue -> table, quarantine, DLQ, idempotency."""

from __future__ import annotations

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
import pytest

from handlers.message_ingest import ingest, store
from handlers.message_ingest.contract import CONFLICTS
from handlers.message_ingest.models import QueuedReading, QueuedReadingRecord, Reading
from tests.conftest import EVENTS, LAMBDA_CONTEXT, Crash, crash_after_writes, s3_event, sqs_record

BUCKET = "conduit-test-files"
TABLE = "conduit-test-messages"
DELIVERED = "conduit-test-delivered"
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
        TableName=DELIVERED, BillingMode="PAY_PER_REQUEST", KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}])
    dynamodb.create_table(
        TableName=TABLE, BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "date", "KeyType": "HASH"}, {"AttributeName": "time", "KeyType": "RANGE"}],
        AttributeDefinitions=[{"AttributeName": "date", "AttributeType": "S"},
                              {"AttributeName": "time", "AttributeType": "S"}],
    )
    monkeypatch.setenv("QUEUE_URL", queue)
    monkeypatch.setenv("TABLE_NAME", TABLE)
    monkeypatch.setenv("MAX_CSV_BYTES", str(1024 * 1024))
    monkeypatch.setenv("ROWS_PER_INVOCATION", "50000")
    monkeypatch.setenv("DELIVERIES_TABLE", DELIVERED)
    monkeypatch.setenv("DELIVERIES_KEPT_SECONDS", str(21 * 86400))
    # moto's TransactWriteItems copies the table without a lock: one writer at a time against it
    # (the barrier test below and the local cloud show the writes of a batch run at once).
    monkeypatch.setattr(store, "_writers", ThreadPoolExecutor(1))
    continuations: list[dict[str, Any]] = []
    monkeypatch.setattr(ingest, "client", lambda service: Invocations(continuations) if service == "lambda"
                        else boto3.client(service))
    return {"s3": s3, "sqs": sqs, "queue": queue, "dlq": dlq, "table": boto3.resource("dynamodb").Table(TABLE),
            "continuations": continuations}


class Invocations:
    """Lambda as the ingest function reaches it: it only ever invokes itself, asynchronously."""

    def __init__(self, invoked: list[dict[str, Any]]):
        self.invoked = invoked

    def invoke(self, FunctionName: str, InvocationType: str, Payload: bytes) -> dict[str, Any]:
        assert FunctionName == LAMBDA_CONTEXT.function_name and InvocationType == "Event"
        self.invoked.append(json.loads(Payload))
        return {"StatusCode": 202}


def notification(world: dict[str, Any], key: str, sequencer: str = "0A1B2C3D4E5F678901") -> dict[str, Any]:
    """S3's event for the object as it now is: its ETag, and the upload's sequencer."""
    event = s3_event(BUCKET, key)
    obj = event["Records"][0]["s3"]["object"]
    obj["eTag"] = world["s3"].head_object(Bucket=BUCKET, Key=key)["ETag"].strip('"')
    obj["sequencer"] = sequencer
    return event


def drop_file(world: dict[str, Any], key: str, body: bytes, sequencer: str = "0A1B2C3D4E5F678901") -> dict[str, Any]:
    world["s3"].put_object(Bucket=BUCKET, Key=key, Body=body)
    return ingest.handler(notification(world, key, sequencer), LAMBDA_CONTEXT)


def summary(key: str, sent: int, rejected: int = 0, quarantine: str | None = None, from_line: int = 1,
            continues: int | None = None) -> dict[str, Any]:
    return {"key": key, "fromLine": from_line, "sent": sent, "rejected": rejected, "quarantine": quarantine,
            "continuesAtLine": continues}


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
    assert result["files"] == [summary("in/readings_20.csv", 20)]
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


def _queued(remote_avg: str = "2", line: int = 2, version: str = "v1") -> QueuedReading:
    return QueuedReading(
        reading=Reading.model_validate({"timestamp": "1559040909.5", "location": "loc", "source": "s",
                                        "local_dest": "a", "local_avg": "1", "remote_dest": "b",
                                        "remote_avg": remote_avg}),
        origin={"bucket": BUCKET, "key": "k.csv", "line": line, "version": version})


def _record(queued: QueuedReading) -> QueuedReadingRecord:
    return QueuedReadingRecord.model_validate(sqs_record(queued.model_dump_json()))


def test_redelivered_message_does_not_write_twice(ingest_world):
    queued = _queued()
    assert store.store(_record(queued)) == "stored"
    assert store.store(_record(queued)) == "repeated"  # the same row again: a redelivery
    assert len(items(ingest_world)) == 1
    conflicts = ingest_world["s3"].list_objects_v2(Bucket=BUCKET, Prefix=CONFLICTS)
    assert conflicts.get("KeyCount", 0) == 0, "a redelivery is not a conflict"


def test_a_reading_deleted_through_the_api_stays_deleted_when_an_old_delivery_arrives(ingest_world):
    queued = _queued()
    store.store(_record(queued))
    ingest_world["table"].delete_item(Key=queued.reading.key())  # what DELETE /message does
    assert store.store(_record(queued)) == "repeated"
    assert items(ingest_world) == [], "the old delivery did not bring the reading back"
    assert store.store(_record(_queued(version="v2"))) == "stored", "a new upload of the file is a new row"


def test_a_crash_after_the_write_leaves_a_redelivery_with_nothing_to_do(ingest_world, monkeypatch):
    """The function dies after its transaction and before SQS hears of it: the message comes back."""
    queued, dynamodb = _queued(), boto3.client("dynamodb")
    real = dynamodb.transact_write_items

    def write_then_die(**request: Any) -> Any:
        real(**request)
        raise TimeoutError("Task timed out after its write")

    monkeypatch.setattr(dynamodb, "transact_write_items", write_then_die)
    with pytest.raises(TimeoutError):
        store.store_reading(dynamodb, TABLE, DELIVERED, queued, 60)
    assert store.store(_record(queued)) == "repeated" and len(items(ingest_world)) == 1


def test_a_different_reading_under_a_taken_key_is_quarantined_with_both_values(ingest_world):
    table = ingest_world["table"]
    store.store(_record(_queued("2", line=2)))
    assert store.store(_record(_queued("7.5", line=9))) == "conflict"
    assert store.store(_record(_queued("7.5", line=9))) == "repeated", "a redelivered conflict is filed once"
    [item] = items(ingest_world)
    assert item["remote_avg"] == 2, "the first reading stays"
    body = ingest_world["s3"].get_object(Bucket=BUCKET, Key="quarantine/conflicts/k.csv/line-9.json")["Body"]
    conflict = json.loads(body.read())
    assert conflict["line"] == 9 and conflict["source"] == f"s3://{BUCKET}/k.csv"
    assert conflict["stored"]["remote_avg"] == "2" and conflict["rejected"]["remote_avg"] == "7.5"
    assert table.get_item(Key=_queued().reading.key())["Item"]["remote_avg"] == 2


@pytest.mark.parametrize(("remote_avg", "verdict"), [("7.5", "conflict"), ("2", "duplicate")])
def test_a_crash_after_any_write_of_a_row_leaves_its_redelivery_to_finish_it(ingest_world, remote_avg, verdict):
    """Killed after its first write, then its second, ...: each time the redelivery must still end
    with the row's fate written down (a conflict filed, a duplicate noted), and nothing written twice."""
    store.store(_record(_queued("2", line=2)))
    writes, line = 0, 100
    while True:
        writes, line = writes + 1, line + 1
        row = _record(_queued(remote_avg, line=line))
        with crash_after_writes(writes) as made:
            try:
                first = store.store(row)
            except Crash:
                first = None
        assert store.store(row) in ({verdict, "repeated"} if first is None else {"repeated"}), made
        if verdict == "conflict":
            assert _object(ingest_world, f"quarantine/conflicts/k.csv/line-{line}.json"), f"crash after {made}"
        if first is not None:
            break
    assert writes > 1, "at least one crash was injected"
    [item] = items(ingest_world)
    assert item["remote_avg"] == 2


def _object(world: dict, key: str) -> bytes | None:
    try:
        return world["s3"].get_object(Bucket=BUCKET, Key=key)["Body"].read()
    except world["s3"].exceptions.NoSuchKey:
        return None


def test_the_same_reading_from_another_row_is_a_duplicate_not_a_conflict(ingest_world):
    store.store(_record(_queued(line=2)))
    assert store.store(_record(_queued(line=27))) == "duplicate"
    assert len(items(ingest_world)) == 1


def test_a_duplicated_s3_notification_stores_every_row_once(ingest_world):
    body = (EVENTS / "readings_20.csv").read_bytes()
    drop_file(ingest_world, "twice.csv", body)
    ingest.handler(notification(ingest_world, "twice.csv"), LAMBDA_CONTEXT)  # S3 delivers the event again
    outcomes = [r for response in drain(ingest_world) for r in response["batchItemFailures"]]
    assert outcomes == [] and len(items(ingest_world)) == 20


def test_readings_in_the_same_second_do_not_collide():
    base = {"source": "s", "local_dest": "a", "local_avg": "1", "remote_dest": "b", "remote_avg": "2"}
    keys = {tuple(Reading.model_validate({**base, "timestamp": ts, "location": loc}).key().values())
            for ts, loc in [("1559040909.1", "x"), ("1559040909.2", "x"), ("1559040909.1", "y")]}
    assert len(keys) == 3


def test_every_record_of_a_notification_is_ingested(ingest_world):
    for key in ("a.csv", "b.csv"):
        ingest_world["s3"].put_object(Bucket=BUCKET, Key=key, Body=(EVENTS / "readings_20.csv").read_bytes())
    event = notification(ingest_world, "a.csv")
    event["Records"].append(notification(ingest_world, "b.csv")["Records"][0])
    assert [f["key"] for f in ingest.handler(event, LAMBDA_CONTEXT)["files"]] == ["a.csv", "b.csv"]


def test_the_records_of_a_batch_are_stored_at_once_and_each_failure_is_still_its_own(monkeypatch):
    """Ten records meet at a barrier that only opens when all ten are in flight together; the one
    that then fails is the only one reported, so only it is retried."""
    barrier = threading.Barrier(10, timeout=10)

    def handle(record: QueuedReadingRecord) -> str:
        barrier.wait()
        if record.body.origin.line == 7:
            raise RuntimeError("the store refused line 7")
        return "stored"

    monkeypatch.setattr(store, "store", handle)
    records = [sqs_record(_queued(line=n).model_dump_json(), message_id=f"m{n}") for n in range(10)]
    response = store.handler({"Records": records}, LAMBDA_CONTEXT)
    assert response == {"batchItemFailures": [{"itemIdentifier": "m7"}]}


class RecordingQueue:
    """A stand-in SQS client that counts the batches in flight at once and can refuse one."""

    def __init__(self, refuse_line: int | None = None):
        self.lock, self.in_flight, self.most, self.sent = threading.Lock(), 0, 0, []
        self.refuse = f'"line":{refuse_line},' if refuse_line else None

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


def _csv(rows: int) -> list[bytes]:
    lines = (EVENTS / "readings_20.csv").read_bytes().splitlines(keepends=True)
    return [lines[0], *(lines[1 + n % (len(lines) - 1)] for n in range(rows))]


def _start(key: str = "k.csv") -> ingest.Position:
    return ingest.Position(bucket=BUCKET, key=key, version="v1", etag="")


def test_batches_of_a_file_are_sent_several_at_once_but_never_more_than_the_window():
    sqs = RecordingQueue()
    report = ingest.read_chunk(_csv(400), _start(), sqs, "url", out_of_time=lambda: False)
    assert report.sent == 400 and sum(len(b) for b in sqs.sent) == 400 and report.next is None
    assert 1 < sqs.most <= ingest.SEND_CONCURRENCY, sqs.most


def test_a_batch_sqs_keeps_refusing_fails_the_chunk_and_leaves_nothing_in_flight():
    """The failure stops the reading (Lambda retries the chunk; the store makes resent rows no-ops),
    and every batch already handed to a thread is awaited before the error is raised."""
    sqs = RecordingQueue(refuse_line=35)
    with pytest.raises(ingest.IngestError, match="SQS refused 10 message"):
        ingest.read_chunk(_csv(200), _start(), sqs, "url", out_of_time=lambda: False)
    assert sqs.in_flight == 0, "nothing is left running behind the failure"
    refused = [b for b in sqs.sent if any('"line":35,' in e["MessageBody"] for e in b)]
    assert len(refused) == ingest.SEND_ATTEMPTS, "the refused batch was tried three times"


RFC_4180 = (b'\xef\xbb\xbftimestamp,location,source,local_dest,local_avg,remote_dest,remote_avg\r\n'
            b'1559040909.1,"site, north",wired,r-1,1.5,d-1,2.5\r\n'
            b'1559040909.2,"the ""annex""",wired,r-1,1.5,d-1,2.5\r\n'
            b'1559040909.3,"two\r\nlines",wired,r-1,1.5,d-1,2.5\r\n'
            b'1559040909.4,"a\nb, with ""all"" of it",wired,"r\n1",1.5,d-1,2.5\r\n'
            b'\r\n'
            b'1559040909.5,plain,wired,r-1,1.5,d-1,2.5')


def test_quoted_commas_quotes_and_line_breaks_are_stored_as_written(ingest_world):
    result = drop_file(ingest_world, "rfc.csv", RFC_4180)
    assert result["files"] == [summary("rfc.csv", 5)]
    drain(ingest_world)
    assert sorted(i["location"] for i in items(ingest_world)) == [
        "a\nb, with \"all\" of it", "plain", "site, north", 'the "annex"', "two\r\nlines"]
    assert {i["local_dest"] for i in items(ingest_world)} == {"r-1", "r\n1"}


def test_an_unterminated_quote_spoils_its_own_row_and_says_so():
    rows = _csv(6)
    rows[3] = rows[3].replace(b",location", b',"location')  # a quote that is never closed
    outcomes = dict(ingest.validate_rows(r.decode() for r in rows))
    rejected = {n: o for n, o in outcomes.items() if isinstance(o, ingest.Rejection)}
    assert list(rejected) == [4] and len(outcomes) == 6, "only the line with the quote is lost"
    assert "never closed" in rejected[4].reason and "read on their own" in rejected[4].reason


def test_a_file_is_read_in_chunks_each_handing_the_rest_to_a_continuation(ingest_world, monkeypatch):
    monkeypatch.setenv("ROWS_PER_INVOCATION", "7")
    body = b"".join(_csv(20)).replace(b"not_a_number", b"x")
    lines = body.splitlines(keepends=True)
    lines[12] = b"bad,row\n"  # a rejection in the second chunk
    result = drop_file(ingest_world, "chunks.csv", b"".join(lines))
    first = result["files"][0]
    assert first["sent"] == 7 and first["continuesAtLine"] == 9
    sent, reports = first["sent"], []
    while ingest_world["continuations"]:
        event = ingest_world["continuations"].pop(0)
        [report] = ingest.handler(event, LAMBDA_CONTEXT)["files"]
        sent += report["sent"]
        reports.append(report)
    assert sent == 19 and [r["fromLine"] for r in reports] == [9, 16]
    assert reports[0]["quarantine"] == "quarantine/chunks.csv.rejected.9.json"
    drain(ingest_world)
    assert len(items(ingest_world)) == 19


def test_a_file_ending_exactly_at_a_chunks_end_leaves_its_continuation_nothing_to_do(ingest_world, monkeypatch):
    """S3 answers 416 for a range starting at the file's size: the continuation is done, not failed."""
    monkeypatch.setenv("ROWS_PER_INVOCATION", "7")
    result = drop_file(ingest_world, "exact.csv", b"".join(_csv(14)).replace(b"not_a_number", b"1"))
    assert result["files"][0]["continuesAtLine"] == 9
    summaries = []
    while ingest_world["continuations"]:
        summaries += ingest.handler(ingest_world["continuations"].pop(0), LAMBDA_CONTEXT)["files"]
    assert [(s["fromLine"], s["sent"]) for s in summaries] == [(9, 7), (16, 0)]
    drain(ingest_world)
    assert len(items(ingest_world)) == 14


def test_a_chunk_short_of_time_stops_at_a_record_boundary_and_the_rest_continues(ingest_world):
    body = RFC_4180
    ingest_world["s3"].put_object(Bucket=BUCKET, Key="late.csv", Body=body)
    etag = ingest_world["s3"].head_object(Bucket=BUCKET, Key="late.csv")["ETag"].strip('"')
    start = ingest.Position(bucket=BUCKET, key="late.csv", version="v1", etag=etag)
    calls = iter([False, False, True])
    sqs = RecordingQueue()
    report = ingest.ingest(ingest_world["s3"], sqs, "url", start, 10**6, lambda: next(calls, True))
    assert report.sent == 3 and report.next.line == 6 and report.next.offset == body.index(b"1559040909.4")
    rest = ingest.ingest(ingest_world["s3"], sqs, "url", report.next, 10**6, lambda: False)
    assert rest.sent == 2 and rest.next is None


def test_an_object_overwritten_since_its_event_is_left_to_its_own_event(ingest_world):
    ingest_world["s3"].put_object(Bucket=BUCKET, Key="moved.csv", Body=b"".join(_csv(3)))
    event = notification(ingest_world, "moved.csv")
    ingest_world["s3"].put_object(Bucket=BUCKET, Key="moved.csv", Body=b"".join(_csv(5)))
    assert ingest.handler(event, LAMBDA_CONTEXT) == {"files": []}


def test_the_scale_bench_reads_a_file_chunk_by_chunk_with_every_row_accounted_for():
    """conduit.local.ingest_scale's ranged-read stub serves the function as S3 does: each chunk starts
    where the last ended, and a bad row every 500 lines (four, after the header) is quarantined, never sent."""
    from conduit.local.ingest_scale import run

    figures = run(2000, 700, 500)
    assert (figures["invocations"], figures["quarantined"], figures["sendCalls"]) == (3, 4, 200)
