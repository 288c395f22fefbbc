"""The messages HTTP API: CRUD, and a 4xx with a message for every caller mistake."""

from __future__ import annotations

import json

import boto3
import pytest

from handlers.message_ingest import api
from tests.conftest import LAMBDA_CONTEXT, http_event

TABLE = "conduit-test-messages"
READING = {"timestamp": 1559040909.3853335, "location": "location-03", "source": "wireless",
           "local_dest": "router-1", "local_avg": 4.39, "remote_dest": "device-1", "remote_avg": 9.09}
KEY = {"date": "2019-05-28", "time": "10:55:09.385333@location-03"}


@pytest.fixture
def messages_table(moto_aws, monkeypatch):
    boto3.client("dynamodb").create_table(
        TableName=TABLE, BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "date", "KeyType": "HASH"}, {"AttributeName": "time", "KeyType": "RANGE"}],
        AttributeDefinitions=[{"AttributeName": "date", "AttributeType": "S"},
                              {"AttributeName": "time", "AttributeType": "S"}],
    )
    monkeypatch.setenv("TABLE_NAME", TABLE)
    return boto3.resource("dynamodb").Table(TABLE)


def call(method, path, body=None, query=None, raw_body=None):
    response = api.handler(http_event(method, path, body, query, raw_body), LAMBDA_CONTEXT)
    payload = json.loads(response["body"]) if response.get("body") else None
    return response["statusCode"], payload


def test_create_read_update_delete(messages_table):
    status, created = call("POST", "/message", READING)
    assert (status, created) == (201, KEY)

    status, item = call("GET", "/message/2019-05-28", query={"time": KEY["time"]})
    assert status == 200 and item["local_avg"] == 4.39 and item["location"] == "location-03"

    change = {k: READING[k] for k in ("source", "local_dest", "remote_dest")} | {"local_avg": 1, "remote_avg": 2}
    assert call("PUT", "/message/2019-05-28", change, {"time": KEY["time"]})[0] == 204
    assert messages_table.get_item(Key=KEY)["Item"]["remote_avg"] == 2

    status, page = call("GET", "/message")
    assert status == 200 and [i["time"] for i in page["items"]] == [KEY["time"]]
    status, page = call("GET", "/message/2019-05-28")
    assert status == 200 and len(page["items"]) == 1

    assert call("DELETE", "/message/2019-05-28", query={"time": KEY["time"]})[0] == 204
    assert "Item" not in messages_table.get_item(Key=KEY)


def test_listing_pages_with_a_token(messages_table):
    for i in range(5):
        assert call("POST", "/message", {**READING, "timestamp": 1559040909 + i})[0] == 201
    status, first = call("GET", "/message", query={"limit": "3"})
    assert status == 200 and len(first["items"]) == 3 and "next" in first
    status, second = call("GET", "/message", query={"limit": "3", "next": first["next"]})
    assert len(second["items"]) == 2 and "next" not in second


def test_creating_twice_conflicts(messages_table):
    call("POST", "/message", READING)
    status, body = call("POST", "/message", READING)
    assert status == 409 and "PUT" in body["message"]


@pytest.mark.parametrize(("method", "path", "query"), [
    ("GET", "/message/2019-05-28", {"time": "00:00:00.000000@nowhere"}),
    ("DELETE", "/message/2019-05-28", {"time": "00:00:00.000000@nowhere"}),
])
def test_missing_items_are_404(messages_table, method, path, query):
    status, body = call(method, path, query=query)
    assert status == 404 and "no message" in body["message"]


def test_put_of_a_missing_item_is_404(messages_table):
    change = {k: READING[k] for k in ("source", "local_dest", "local_avg", "remote_dest", "remote_avg")}
    assert call("PUT", "/message/2019-05-28", change, {"time": "00:00:00.000000@nowhere"})[0] == 404


@pytest.mark.parametrize(("kwargs", "expected"), [
    ({"raw_body": "{not json"}, "body is not JSON"),
    ({"raw_body": "[1, 2]"}, "invalid body"),
    ({"body": {**READING, "local_avg": "abc"}}, "local_avg"),
    ({"body": {**READING, "timestamp": "NaN"}}, "timestamp"),
    ({"body": {k: v for k, v in READING.items() if k != "location"}}, "location"),
    ({"body": {**READING, "extra": 1}}, "extra"),
    ({"body": {**READING, "location": "a@b"}}, "location"),
    ({"body": {**READING, "location": "x" * 5000}}, "location"),
    ({"body": {**READING, "source": "émetteur-ü"}}, None),
])
def test_bad_bodies_get_a_400_and_store_nothing(messages_table, kwargs, expected):
    status, body = call("POST", "/message", **kwargs)
    if expected is None:  # unicode is fine where the model allows it
        assert status == 201
        return
    assert status == 400, body
    assert expected in body["message"], body
    assert messages_table.scan()["Items"] == []


@pytest.mark.parametrize(("method", "path", "query", "expected"), [
    ("GET", "/message/28-05-2019", {"time": "x"}, "YYYY-MM-DD"),
    ("DELETE", "/message/2019-05-28", None, "'time' is required"),
    ("GET", "/message", {"limit": "0"}, "limit"),
    ("GET", "/message", {"next": "garbage!"}, "token"),
])
def test_bad_addresses_get_a_400(messages_table, method, path, query, expected):
    status, body = call(method, path, query=query)
    assert status == 400 and expected in body["message"], body


def test_unknown_route_is_404(messages_table):
    assert call("GET", "/nothing")[0] == 404


def test_the_original_projects_item_body_is_stored_like_any_reading(messages_table):
    """Seed 001's clients POST {"Item": {...}} with a date and a time instead of a timestamp."""
    item = {"date": "2019-05-28", "time": "10:55:09", "location": "location-03", "source": "wireless",
            "local_dest": "router-1", "local_avg": 4.39, "remote_dest": "device-1", "remote_avg": 9.09}
    status, body = call("POST", "/message", {"Item": item})
    assert status == 201 and body == {"date": "2019-05-28", "time": "10:55:09.000000@location-03"}
    status, stored = call("GET", "/message/2019-05-28", query={"time": body["time"]})
    assert status == 200 and stored["remote_avg"] == 9.09
    status, body = call("POST", "/message", {"Item": {"location": "x"}})
    assert status == 400 and "date (YYYY-MM-DD) and a time" in body["message"]


def test_the_original_projects_raw_update_expression_gets_a_400_saying_what_to_send(messages_table):
    status, body = call("PUT", "/message/2019-05-28", {"UpdateExpression": "SET remote_avg = :r",
                                                       "ExpressionAttributeValues": {":r": 1}},
                        query={"time": "10:55:09.000000@location-03"})
    assert status == 400 and "send the new values as JSON fields" in body["message"]
