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
from decimal import Decimal
from typing import Any

import boto3
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from handlers.cat_feeder import click, feeders
from handlers.cat_feeder.contract import FEEDER_ATTRIBUTE, STACK_ATTRIBUTE
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
                       "THING_PREFIX": "conduit-test-feeder-", "STACK": "test", "DEFAULT_FEEDER": "kitchen",
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
        for feeder in ("kitchen", "hallway"):
            boto3.client("iot").create_thing(thingName=f"conduit-test-feeder-{feeder}", attributePayload={
                "attributes": {STACK_ATTRIBUTE: "test", FEEDER_ATTRIBUTE: feeder}})
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


# Fields of any text a CSV writer can quote: commas, quotes, line breaks (RFC 4180), any script.
quoted_text = st.text(alphabet=st.one_of(st.characters(blacklist_categories=("Cs", "Cc", "Zl", "Zp"),
                                                      blacklist_characters="@"), st.sampled_from(',"\r\n ')),
                      min_size=1, max_size=20).filter(lambda t: t.strip())


def physical_lines(raw: bytes) -> list[bytes]:
    """The file's lines as S3's stream yields them: split at line feeds only, each kept."""
    return [part + b"\n" for part in raw.split(b"\n")[:-1]] + ([raw.rsplit(b"\n", 1)[-1]] if not raw.endswith(
        b"\n") else [])


@given(rows=st.lists(st.tuples(st.integers(min_value=1, max_value=2_000_000_000), quoted_text, quoted_text),
                     min_size=1, max_size=15), crlf=st.booleans(), bom=st.booleans())
def test_any_rfc_4180_file_is_read_back_as_written(rows, crlf, bom):
    text = io.StringIO()
    # Python's writer quotes a field holding a line terminator's characters: with "\n" alone as the
    # terminator it would leave a "\r" unquoted (not RFC 4180), so those files quote every field.
    writer = csv.writer(text, lineterminator="\r\n" if crlf else "\n",
                        quoting=csv.QUOTE_MINIMAL if crlf else csv.QUOTE_ALL)
    writer.writerow(CSV_COLUMNS)
    for seconds, location, source in rows:
        writer.writerow([f"{seconds}.5", location, source, "r-1", "1.5", "d-1", "2.5"])
    raw = (b"\xef\xbb\xbf" if bom else b"") + text.getvalue().encode()
    lines = codecs.iterdecode(physical_lines(raw), "utf-8-sig", errors="surrogateescape")
    outcomes = [o for _, o in validate_rows(lines)]
    expected = [(location.strip(), source.strip()) for _, location, source in rows]
    valid = [e for e in expected if e[0] and e[1]]
    read = [(o.location, o.source) for o in outcomes if isinstance(o, Reading)]
    assert read == valid, "every row as written, quoted commas, quotes and line breaks included"
    assert len(outcomes) == len(rows)


@given(rows=st.lists(good_rows, min_size=2, max_size=12), stray=st.data())
def test_a_stray_quote_spoils_only_its_own_row(rows, stray):
    text = io.StringIO()
    csv.writer(text, lineterminator="\n").writerows([CSV_COLUMNS, *rows])
    lines = text.getvalue().splitlines(keepends=True)
    spoiled = stray.draw(st.integers(min_value=1, max_value=len(lines) - 1))
    at = stray.draw(st.integers(min_value=0, max_value=len(lines[spoiled]) - 1))
    lines[spoiled] = lines[spoiled][:at] + '"' + lines[spoiled][at:]
    outcomes = dict(validate_rows(lines))
    good = [n for n, o in outcomes.items() if isinstance(o, Reading)]
    assert set(range(2, len(lines) + 1)) - {spoiled + 1} <= set(good), "no row but the spoiled one is lost"


# --- numbers: exact through every system, or refused ------------------------------------------------

number_texts = st.one_of(
    st.decimals(allow_nan=False, allow_infinity=False).map(str),
    st.integers(min_value=-10**60, max_value=10**60).map(str),
    st.builds(lambda digits, exponent: f"{digits}e{exponent}", st.integers(min_value=1, max_value=10**40),
              st.integers(min_value=-400, max_value=400)),
    st.builds(lambda whole, fraction: f"{whole}.{fraction}", st.integers(min_value=0, max_value=10**20),
              st.text(alphabet="0123456789", min_size=1, max_size=45)),
)


def answered(handler: Any, method: str, path: str, body: str) -> tuple[int, Any]:
    response = handler.handler(http_event(method, path, raw_body=body), LAMBDA_CONTEXT)
    return response["statusCode"], json.loads(response["body"] or "null", parse_float=Decimal)


@given(number=number_texts)
def test_a_price_reaches_the_topic_exactly_or_is_refused(world, number):
    from moto.iotdata.models import iotdata_backends

    published = iotdata_backends["123456789012"]["eu-west-1"].published_payloads
    before = len(published)
    status, body = answered(exchange, "POST", "/event", f'{{"type": "sell", "price": {number}}}')
    assert status in (202, 400), (number, status, body)
    if status == 202:
        message = json.loads(published[before][1], parse_float=Decimal)
        assert message["price"] == Decimal(number) and Decimal(message["exactPrice"]) == Decimal(number)
    else:
        assert "price" in body["message"]


@given(number=number_texts)
def test_an_average_round_trips_through_the_message_api_exactly_or_is_refused(world, number):
    location = f"exact-{abs(hash(number)) % 10**9}"
    reading = (f'{{"timestamp": 1262304000.25, "location": "{location}", "source": "s", "local_dest": "a", '
               f'"local_avg": {number}, "remote_dest": "b", "remote_avg": 1}}')
    status, body = answered(messages, "POST", "/message", reading)
    assert status in (201, 400, 409), (number, status, body)
    if status == 201:
        _, stored = answered(messages, "GET", "/message/2010-01-01", "")
        [item] = [i for i in stored["items"] if i["time"] == body["time"]]
        assert item["local_avg"] == Decimal(number)


@given(number=number_texts)
def test_a_rate_round_trips_through_the_currency_api_exactly_or_is_refused(world, number):
    status, body = answered(currency, "POST", "/currency", f'{{"symbol": "XTS", "rate": {number}}}')
    assert status in (200, 400), (number, status, body)
    if status == 200:
        assert Decimal(body["rate"]) == Decimal(number)
