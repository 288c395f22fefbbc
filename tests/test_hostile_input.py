"""Hostile and careless input, generated: every API answers a caller's mistake with a 4xx, never a
5xx, and the CSV reader accounts for every row. A few hundred examples each in `make test`;
`make fuzz` runs thousands (HYPOTHESIS_PROFILE=fuzz)."""

from __future__ import annotations

import base64
import codecs
import csv
import io
import json
import os
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from handlers.cat_feeder import click, feeders
from handlers.currency_stream import api as currency
from handlers.exchange_events import publish as exchange
from handlers.message_ingest import api as messages
from handlers.message_ingest.ingest import validate_rows
from handlers.message_ingest.models import CSV_COLUMNS, Reading
from handlers.shared import iot
from handlers.upload_extraction import search
from tests.conftest import LAMBDA_CONTEXT, http_event

settings.register_profile("ci", max_examples=150, deadline=None,
                          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
settings.register_profile("fuzz", max_examples=3000, deadline=None,
                          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


class ControlPlane:
    def describe_endpoint(self, endpointType: str) -> dict[str, str]:
        return {"endpointAddress": "data-ats.iot.eu-west-1.amazonaws.com"}


@pytest.fixture(scope="module")
def world() -> Iterator[None]:
    """Every system's tables, bus and topics in one moto account, for all examples of the module."""
    from moto import mock_aws

    from handlers.shared import aws

    patch = pytest.MonkeyPatch()
    for key, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                       "AWS_DEFAULT_REGION": "eu-west-1", "TABLE_NAME": "messages", "RATES_TABLE": "rates",
                       "VIEW_TABLE": "view", "EVENT_TYPES": "buy,sell", "BUS_NAME": "bus",
                       "FEEDERS": "kitchen,hallway", "DEFAULT_FEEDER": "kitchen",
                       "POWERTOOLS_LOG_LEVEL": "CRITICAL"}.items():
        patch.setenv(key, value)
    patch.delenv("AWS_ENDPOINT_URL", raising=False)
    aws.client.cache_clear()
    aws.table.cache_clear()
    with mock_aws():
        dynamodb = boto3.client("dynamodb")
        dynamodb.create_table(TableName="messages", BillingMode="PAY_PER_REQUEST",
                              KeySchema=[{"AttributeName": "date", "KeyType": "HASH"},
                                         {"AttributeName": "time", "KeyType": "RANGE"}],
                              AttributeDefinitions=[{"AttributeName": "date", "AttributeType": "S"},
                                                    {"AttributeName": "time", "AttributeType": "S"}])
        dynamodb.create_table(TableName="index", BillingMode="PAY_PER_REQUEST",
                              KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"},
                                         {"AttributeName": "sk", "KeyType": "RANGE"}],
                              AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                                                    {"AttributeName": "sk", "AttributeType": "S"}])
        dynamodb.create_table(TableName="feeders", BillingMode="PAY_PER_REQUEST",
                              KeySchema=[{"AttributeName": "feeder", "KeyType": "HASH"}],
                              AttributeDefinitions=[{"AttributeName": "feeder", "AttributeType": "S"}])
        for name in ("rates", "view"):
            dynamodb.create_table(TableName=name, BillingMode="PAY_PER_REQUEST",
                                  KeySchema=[{"AttributeName": "symbol", "KeyType": "HASH"}],
                                  AttributeDefinitions=[{"AttributeName": "symbol", "AttributeType": "S"}])
        boto3.client("events").create_event_bus(Name="bus")
        iot.reset()
        patch.setattr(iot, "client", lambda service: ControlPlane())
        yield
    iot.reset()
    aws.client.cache_clear()
    aws.table.cache_clear()
    patch.undo()


# --- what a careless or hostile client sends -------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40)
    | st.sampled_from(["buy", "sell", "USD", "kitchen", "SINGLE", "1e400", "-0", "1e-200", "NaN"]),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=5),
    max_leaves=20)
FIELDS = ["type", "price", "id", "account", "symbol", "rate", "feeder", "clickType", "timestamp", "location",
          "source", "local_dest", "local_avg", "remote_dest", "remote_avg", "devicePayload", "deviceEvent",
          "buttonClicked", "reportedTime", "Item", "placementInfo", "placementName", "state", "command"]
# Objects with the field names the APIs know, holding anything: where the interesting mistakes are.
near_misses = st.dictionaries(st.sampled_from(FIELDS), json_values, max_size=8)
raw_texts = st.one_of(
    st.text(max_size=200),
    st.integers(min_value=1, max_value=5000).map(lambda n: "[" * n + "]" * n),
    st.integers(min_value=4000, max_value=6000).map(lambda n: '{"price": ' + "9" * n + "}"),
    st.integers(min_value=1, max_value=3).map(lambda n: '{"x": "' + "y" * 70_000 * n + '"}'),
    st.sampled_from(['{"type": "buy", "price": 1e400}', '{"symbol": "USD", "rate": 1e-999}',
                     '{"devicePayload": [], "feeder": "kitchen"}', '{"deviceEvent": {"buttonClicked": 7}}',
                     '{"timestamp": 1e-200, "location": "x"}', '{"price": -0.0, "type": "sell"}', "\ud800"]),
)
bodies = st.one_of(near_misses.map(json.dumps), json_values.map(json.dumps), raw_texts)
query_values = st.one_of(st.text(max_size=60), st.text(max_size=2000).map(lambda t: t * 3),
                         st.sampled_from(["10:55:09.385333@location-03", "²", "-1", "0", "101", "9" * 50]))


def call(handler: Any, method: str, path: str, body: str | None = None,
         query: dict[str, str] | None = None, base64_body: bytes | None = None) -> int:
    event = http_event(method, path, query=query, raw_body=body)
    if base64_body is not None:
        event["body"], event["isBase64Encoded"] = base64.b64encode(base64_body).decode(), True
    response = handler.handler(event, LAMBDA_CONTEXT)
    return response["statusCode"]


def assert_not_a_server_error(status: int, what: str) -> None:
    assert status < 500, f"{what} -> {status}"


# --- every API, every route ------------------------------------------------------------------------

@given(body=bodies)
def test_post_message_never_answers_5xx(world, body):
    assert_not_a_server_error(call(messages, "POST", "/message", body), f"POST /message {body[:80]!r}")


@given(body=bodies, date=st.text(max_size=20), time=query_values)
def test_put_message_never_answers_5xx(world, body, date, time):
    path = "/message/" + "".join(c for c in date if c not in "/?#%") if date else "/message/2019-05-28"
    status = call(messages, "PUT", path, body, {"time": time})
    assert_not_a_server_error(status, f"PUT {path} {time[:40]!r}")


@given(limit=query_values, token=st.one_of(query_values, st.binary(max_size=80).map(
    lambda b: base64.urlsafe_b64encode(b).decode()), json_values.map(
    lambda v: base64.urlsafe_b64encode(json.dumps(v).encode()).decode())), date=st.booleans())
def test_list_messages_never_answers_5xx_whatever_the_page_token(world, limit, token, date):
    path = "/message/2019-05-28" if date else "/message"
    status = call(messages, "GET", path, query={"limit": limit, "next": token})
    assert_not_a_server_error(status, f"GET {path}?limit={limit[:20]!r}&next={token[:40]!r}")


@given(key=st.dictionaries(st.sampled_from(["date", "time", "pk", "symbol"]), json_values, max_size=3))
def test_a_token_for_another_key_shape_is_a_400_not_a_scan(world, key):
    token = base64.urlsafe_b64encode(json.dumps(key).encode()).decode()
    status = call(messages, "GET", "/message", query={"next": token})
    valid = set(key) == {"date", "time"} and all(isinstance(v, str) for v in key.values())
    assert status == 400 or (valid and status == 200), (key, status)


@given(body=bodies)
def test_post_currency_never_answers_5xx(world, body):
    assert_not_a_server_error(call(currency, "POST", "/currency", body), f"POST /currency {body[:80]!r}")


@given(symbol=st.text(max_size=10).filter(lambda s: not set(s) & set("/?#%")))
def test_delete_currency_never_answers_5xx(world, symbol):
    assert_not_a_server_error(call(currency, "DELETE", f"/currency/{symbol or 'X'}"), f"DELETE {symbol!r}")


@given(body=bodies)
def test_post_event_never_answers_5xx(world, body):
    assert_not_a_server_error(call(exchange, "POST", "/event", body), f"POST /event {body[:80]!r}")


@given(body=bodies, raw=st.binary(max_size=64))
def test_post_click_never_answers_5xx(world, body, raw):
    assert_not_a_server_error(call(click, "POST", "/click", body), f"POST /click {body[:80]!r}")
    assert_not_a_server_error(call(click, "POST", "/click", base64_body=raw), f"POST /click bytes {raw!r}")


@given(name=st.text(max_size=300).filter(lambda s: not set(s) & set("/?#%")))
def test_get_feeder_never_answers_5xx(world, name):
    os.environ["FEEDERS_TABLE"] = "feeders"
    assert_not_a_server_error(call(feeders, "GET", f"/feeders/{name or 'x'}"), f"GET /feeders/{name[:40]!r}")


CONTENT_TYPES = st.sampled_from(["text/plain", "application/x-www-form-urlencoded", "multipart/form-data",
                                 "multipart/form-data; boundary=x", "application/json; charset=latin-1",
                                 "application/xml", "", "application/json"])


@given(body=bodies, content_type=CONTENT_TYPES,
       route=st.sampled_from([(messages, "/message"), (currency, "/currency"), (exchange, "/event"),
                              (click, "/click")]))
def test_a_body_of_any_declared_content_type_never_gets_a_5xx(world, body, content_type, route):
    """Powertools parses bodies by their content type (JSON, forms, multipart): each must end in a 4xx."""
    handler, path = route
    event = http_event("POST", path, raw_body=body)
    event["headers"] = {**event.get("headers", {}), "content-type": content_type}
    status = handler.handler(event, LAMBDA_CONTEXT)["statusCode"]
    assert_not_a_server_error(status, f"POST {path} as {content_type!r}: {body[:60]!r}")


@given(q=query_values)
def test_search_never_answers_5xx(world, q):
    os.environ["TABLE_NAME"] = "index"
    try:
        assert_not_a_server_error(call(search, "GET", "/search", query={"q": q}), f"GET /search?q={q[:40]!r}")
    finally:
        os.environ["TABLE_NAME"] = "messages"


# --- the CSV reader: one outcome per row, whatever the bytes --------------------------------------

good_rows = st.builds(
    lambda ts, loc, avg: [f"{ts:.3f}", loc, "wired", "r-1", f"{avg:.2f}", "d-1", "1.5"],
    st.floats(min_value=1, max_value=2e9), st.from_regex(r"[a-z][a-z0-9-]{0,10}", fullmatch=True),
    st.floats(min_value=-1e6, max_value=1e6))
# Rows are lines: a line break inside a field is left to the arbitrary-bytes test.
bad_rows = st.lists(st.text(max_size=12).filter(lambda t: not set(t) & set("\r\n\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029")),
                    min_size=1, max_size=9)
byte_noise = st.binary(min_size=1, max_size=4).filter(lambda b: b"\n" not in b and b"\r" not in b)


@given(rows=st.lists(st.tuples(st.booleans(), good_rows, bad_rows, st.none() | byte_noise), max_size=25))
def test_every_csv_row_is_read_or_rejected_and_good_rows_are_never_lost(rows):
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    expected_good = 0
    lines = [text.getvalue().encode()]
    for good, row, bad, noise in rows:
        line = io.StringIO()
        csv.writer(line, lineterminator="\n").writerow(row if good else bad)
        raw = line.getvalue().encode()
        if noise is not None:
            raw = raw[:-1] + b"," + noise + b"\n"  # an extra field of bytes that may not be UTF-8
        elif good:
            expected_good += 1
        lines.append(raw)
    decoded = codecs.iterdecode(b"".join(lines).splitlines(keepends=True), "utf-8-sig", errors="surrogateescape")
    outcomes = list(validate_rows(decoded))
    readings = [o for _, o in outcomes if isinstance(o, Reading)]
    data_lines = [line for line in b"".join(lines[1:]).splitlines() if line.strip(b" \t\r\n")]
    assert len(outcomes) == len(data_lines), "one outcome per row: stored or rejected with a reason"
    assert len(readings) >= expected_good, "a well-formed row is never lost"
    numbers = [n for n, _ in outcomes]
    assert numbers == sorted(numbers), "rejections name their lines in order"


@given(data=st.binary(max_size=400))
def test_arbitrary_bytes_never_crash_the_csv_reader(data):
    header = ",".join(CSV_COLUMNS).encode() + b"\n"
    decoded = codecs.iterdecode((header + data).splitlines(keepends=True), "utf-8-sig", errors="surrogateescape")
    for _, outcome in validate_rows(decoded):
        assert isinstance(outcome, Reading) or outcome.reason
