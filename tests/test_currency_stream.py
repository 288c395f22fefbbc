"""Currency stream: exact decimal rates, validation of both fields, stream -> SNS changes, and a
durable view that ignores redelivered and out-of-date changes."""

from __future__ import annotations

import importlib
import json
from decimal import Decimal

import boto3
import pytest
from boto3.dynamodb.types import TypeSerializer

from handlers.currency_stream import api, publish, view
from handlers.currency_stream.models import RateChange
from tests.conftest import LAMBDA_CONTEXT, http_event, sqs_record

RATES, VIEW = "conduit-test-rates", "conduit-test-view"


def _table(name: str) -> None:
    boto3.client("dynamodb").create_table(
        TableName=name, BillingMode="PAY_PER_REQUEST", KeySchema=[{"AttributeName": "symbol", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "symbol", "AttributeType": "S"}])


@pytest.fixture
def tables(moto_aws, monkeypatch):
    _table(RATES)
    _table(VIEW)
    monkeypatch.setenv("RATES_TABLE", RATES)
    monkeypatch.setenv("VIEW_TABLE", VIEW)
    return boto3.resource("dynamodb").Table(RATES), boto3.resource("dynamodb").Table(VIEW)


def call(method: str, path: str, body=None, raw_body: str | None = None):
    response = api.handler(http_event(method, path, body, raw_body=raw_body), LAMBDA_CONTEXT)
    return response["statusCode"], json.loads(response["body"]) if response.get("body") else None


@pytest.mark.parametrize(("raw", "stored"), [('{"symbol": "USD", "rate": "100.10"}', "100.10"),
                                             ('{"symbol": "EUR", "rate": 1.1}', "1.1"),
                                             ('{"symbol": "GBP", "rate": 0.30000000000000004}', "0.30000000000000004"),
                                             ('{"symbol": "JPY", "rate": 0.0000001}', "1E-7")])
def test_rates_are_stored_exactly(tables, raw, stored):
    """Numerically exact: no float on the way (DynamoDB itself may drop trailing zeros, as AWS does)."""
    status, body = call("POST", "/currency", raw_body=raw)
    assert status == 200, body
    item = tables[0].get_item(Key={"symbol": body["symbol"]})["Item"]
    assert isinstance(item["rate"], Decimal) and item["rate"] == Decimal(stored)


@pytest.mark.parametrize(("body", "message"), [
    ({"symbol": "USD"}, "rate"),  # the original only checked 'symbol'
    ({"rate": "1"}, "symbol"),
    ({"symbol": "usd", "rate": "1"}, "symbol"),
    ({"symbol": "USDT", "rate": "1"}, "symbol"),
    ({"symbol": "ÜSD", "rate": "1"}, "symbol"),
    ({"symbol": "USD", "rate": "-1"}, "rate"),
    ({"symbol": "USD", "rate": "0"}, "rate"),
    ({"symbol": "USD", "rate": "abc"}, "rate"),
    ({"symbol": "USD", "rate": "NaN"}, "rate"),
    ({"symbol": "USD", "rate": "Infinity"}, "rate"),
    ({"symbol": "USD", "rate": True}, "rate"),
    ({"symbol": "USD", "rate": "1", "extra": 1}, "extra"),
    (["USD", "1"], "invalid body"),
])
def test_bad_bodies_get_a_400_and_store_nothing(tables, body, message):
    status, response = call("POST", "/currency", body)
    assert status == 400 and message in response["message"], response
    assert tables[0].scan()["Items"] == []


@pytest.mark.parametrize(("raw", "message"), [("{", "not JSON"), ("x" * 20_000, "at most 10000")])
def test_malformed_or_huge_bodies_get_a_400(tables, raw, message):
    status, response = call("POST", "/currency", raw_body=raw)
    assert status == 400 and message in response["message"]


def test_delete_is_404_when_absent_and_204_when_present(tables):
    assert call("DELETE", "/currency/USD")[0] == 404
    assert call("DELETE", "/currency/usd")[0] == 400
    call("POST", "/currency", {"symbol": "USD", "rate": "1"})
    assert call("DELETE", "/currency/USD")[0] == 204


def stream_record(event: str, new: dict | None = None, old: dict | None = None) -> dict:
    serialize = TypeSerializer().serialize
    image = {}
    if new is not None:
        image["NewImage"] = {k: serialize(v) for k, v in new.items()}
    if old is not None:
        image["OldImage"] = {k: serialize(v) for k, v in old.items()}
    return {"eventID": "1", "eventName": event, "eventSource": "aws:dynamodb", "awsRegion": "eu-west-1",
            "eventSourceARN": "arn:aws:dynamodb:eu-west-1:123456789012:table/rates/stream/x",
            "dynamodb": {"Keys": {"symbol": {"S": "USD"}}, "SequenceNumber": "1", "SizeBytes": 10,
                         "StreamViewType": "NEW_AND_OLD_IMAGES", **image}}


def test_stream_records_are_published_with_their_exact_type_and_attributes(moto_aws, monkeypatch):
    sns, sqs = boto3.client("sns"), boto3.client("sqs")
    topic = sns.create_topic(Name="changes")["TopicArn"]
    queue = sqs.create_queue(QueueName="observer")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn, Attributes={"RawMessageDelivery": "true"})
    monkeypatch.setenv("TOPIC_ARN", topic)
    v1 = {"symbol": "USD", "rate": Decimal("100.10"), "version": 5}
    v2 = {"symbol": "USD", "rate": Decimal("99.5"), "version": 7}
    event = {"Records": [stream_record("INSERT", new=v1), stream_record("MODIFY", new=v2, old=v1),
                         stream_record("REMOVE", old=v2)]}
    assert publish.handler(event, LAMBDA_CONTEXT) == {"batchItemFailures": []}
    messages = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10, MessageAttributeNames=["All"])["Messages"]
    changes = [json.loads(m["Body"]) for m in messages]
    assert [(c["type"], c["data"]["rate"], c["version"]) for c in changes] == [
        ("INSERT", "100.10", 5), ("MODIFY", "99.5", 7), ("REMOVE", "99.5", 8)]
    assert [m["MessageAttributes"]["type"]["StringValue"] for m in messages] == ["INSERT", "MODIFY", "REMOVE"]


def change(kind: str, rate: str, version: int) -> RateChange:
    return RateChange(type=kind, data={"symbol": "USD", "rate": rate}, version=version)


def view_rates() -> dict:
    return call("GET", "/currency")[1]["rates"]


def test_view_applies_newer_changes_only_and_survives_a_cold_start(tables):
    table = tables[1]
    assert view.apply_change(table, change("INSERT", "1.0", 1))
    assert view.apply_change(table, change("MODIFY", "2.0", 2))
    assert not view.apply_change(table, change("MODIFY", "2.0", 2)), "redelivery must not apply twice"
    assert not view.apply_change(table, change("INSERT", "1.0", 1)), "an older change must be ignored"
    assert view_rates() == {"USD": "2.0"}

    importlib.reload(view)  # a cold start: nothing of the view lives in the function's memory
    assert view_rates() == {"USD": "2.0"}

    assert view.apply_change(table, change("REMOVE", "2.0", 3))
    assert not view.apply_change(table, change("MODIFY", "2.5", 2)), "a late change must not resurrect"
    assert view_rates() == {}
    assert view.apply_change(table, change("INSERT", "3.0", 10))
    assert view_rates() == {"USD": "3.0"}


def test_view_consumer_reports_a_malformed_message_alone(tables):
    good = change("INSERT", "1.5", 1).model_dump_json()
    records = [sqs_record(body, str(n)) for n, body in enumerate([good, "{not json"])]
    assert view.handler({"Records": records}, LAMBDA_CONTEXT) == {"batchItemFailures": [{"itemIdentifier": "1"}]}
    assert view_rates() == {"USD": "1.5"}


def test_concurrent_writes_are_ordered_by_the_table_and_the_view_converges_in_any_order(tables):
    """The version is incremented by DynamoDB itself (one atomic update: moto is not thread-safe, so
    the writes here land one by one; `conduit local soak` sends them concurrently to the emulator):
    the last write holds the highest version, so the view ends equal to the table however the
    stream's changes are delivered (here: shuffled)."""
    import random

    from handlers.currency_stream.models import CurrencyRate

    rates_table, view_table = tables
    writes = [CurrencyRate(symbol="EUR", rate=Decimal(f"0.{n:02d}1")) for n in range(1, 31)]
    items = [api.put_rate(rates_table, rate) for rate in writes]
    versions = sorted(int(i["version"]) for i in items)
    assert len(set(versions)) == len(writes), "every write got its own version"
    assert versions == list(range(versions[0], versions[0] + len(writes))), "one above the last, atomically"
    final = rates_table.get_item(Key={"symbol": "EUR"})["Item"]
    assert int(final["version"]) == versions[-1]
    changes = [RateChange(type="MODIFY", data={"symbol": "EUR", "rate": i["rate"]}, version=int(i["version"]))
               for i in items]
    random.Random(7).shuffle(changes)
    for c in changes:
        view.apply_change(view_table, c)
    assert view_rates() == {"EUR": str(final["rate"])}
