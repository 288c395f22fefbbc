"""Exchange events: validation at the edge, publication through the IoT data plane, deterministic
fraud checks, and the rules as declared. Each of the originals' bugs has a test here."""

from __future__ import annotations

import json
from decimal import Decimal

import boto3
import pytest
from moto.iotdata.models import iotdata_backends

from handlers.exchange_events import fraud, publish
from handlers.shared import iot
from tests.conftest import LAMBDA_CONTEXT, http_event
from tests.program import STACKS, declared, of_type, policy_statements

ACCOUNT, REGION = "123456789012", "eu-west-1"
# moto answers the data plane at this host only (its describe_endpoint invents a random one).
ENDPOINT = {"endpointAddress": f"data-ats.iot.{REGION}.amazonaws.com"}


class ControlPlane:
    """Stands in for the `iot` client's endpoint lookup; fails the first `failures` calls."""

    def __init__(self, failures: int = 0):
        self.calls, self.failures = 0, failures

    def describe_endpoint(self, endpointType: str) -> dict:
        self.calls += 1
        assert endpointType == "iot:Data-ATS"
        if self.calls <= self.failures:
            raise ConnectionError("endpoint lookup failed")
        return ENDPOINT


@pytest.fixture
def iot_world(moto_aws, monkeypatch):
    iot.reset()
    monkeypatch.setattr(iot, "client", lambda service: ControlPlane())
    monkeypatch.setenv("EVENT_TYPES", "buy,sell")
    boto3.client("dynamodb").create_table(
        TableName="velocity", BillingMode="PAY_PER_REQUEST", KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}])
    yield boto3.resource("dynamodb").Table("velocity")
    iot.reset()


def published() -> list[tuple[str, dict]]:
    return [(topic, json.loads(payload)) for topic, payload in
            iotdata_backends[ACCOUNT][REGION].published_payloads]


def post(body=None, raw_body: str | None = None):
    response = publish.handler(http_event("POST", "/event", body, raw_body=raw_body), LAMBDA_CONTEXT)
    return response["statusCode"], json.loads(response["body"])


def test_an_event_is_published_whole_to_its_type_with_a_server_id_and_time(iot_world):
    status, body = post({"type": "buy", "price": 123.45, "note": "ünïcode ok"})
    assert status == 202 and body["topic"] == "event/buy"
    [(topic, message)] = published()
    assert topic == "event/buy"
    assert message["id"] == body["id"] and len(message["id"]) == 36
    assert message["price"] == 123.45 and message["exactPrice"] == "123.45" and message["note"] == "ünïcode ok"
    assert message["timestamp"].isdigit()


@pytest.mark.parametrize("number", ["999.99999999999999999", "0.1000000000000000000000000000000001", "1E-130",
                                    "9.999999999999999999999999999999999E+125", "123456789012345678901234567890123",
                                    "-0.0", "5e-7"])
def test_numbers_reach_the_topic_with_their_own_digits(iot_world, number):
    status, _ = post(raw_body=f'{{"type": "sell", "price": 1, "detail": {{"n": [{number}]}}}}')
    assert status == 202
    assert len(published()) == 1
    raw = iotdata_backends[ACCOUNT][REGION].published_payloads[0][1].decode()
    assert f'"n": [{Decimal(number)}]' in raw, raw  # the number's own digits, never a float's
    assert json.loads(raw, parse_float=Decimal)["detail"]["n"][0] == Decimal(number)


@pytest.mark.parametrize(("number", "reason"), [("0." + "1" * 35, "at most 34"), ("1" * 35, "35 digits"),
                                                 ("1E+126", "between 1E-130"), ("1E-131", "between 1E-130"),
                                                 ("1" * 5000, "not JSON this API can read")])
def test_a_number_no_service_can_carry_exactly_is_a_400_naming_where_it_is(iot_world, number, reason):
    status, response = post(raw_body=f'{{"type": "sell", "detail": {{"n": [{number}]}}}}')
    assert status == 400 and reason in response["message"], response
    assert "detail.n[0]" in response["message"] or "not JSON" in response["message"]
    assert published() == []


def test_a_client_id_is_kept_but_the_time_is_the_servers(iot_world):
    post({"type": "sell", "id": "client-1", "timestamp": "0"})
    [(_, message)] = published()
    assert message["id"] == "client-1" and message["timestamp"] != "0"


@pytest.mark.parametrize(("body", "message"), [
    ({"type": "buy/../alert"}, "type"),  # the original let '/' escape the event/+ rule
    ({"type": "buy+"}, "type"),
    ({"type": "#"}, "type"),
    ({"type": "BUY"}, "type"),
    ({"type": "bü"}, "type"),
    ({"type": "x" * 65}, "type"),
    ({"type": "transfer"}, "not one of this stack's event types"),
    ({"price": 1}, "type"),
    ({"type": "buy", "price": -1}, "price"),
    ({"type": "buy", "price": "abc"}, "price"),
    ({"type": "buy", "price": "NaN"}, "price"),
    ({"type": "buy", "id": "a/b"}, "id"),
    (["buy"], "invalid body"),
    ({"type": "buy", "price": 1e200}, "price"),
    ({"type": "buy", "price": "1" * 35}, "at most 34"),
    ({"type": "buy", "quantity": 10 ** 40}, "quantity: is a whole number of 41 digits"),
])
def test_bad_events_get_a_400_and_nothing_is_published(iot_world, body, message):
    status, response = post(body)
    assert status == 400 and message in response["message"], response
    assert published() == []


@pytest.mark.parametrize(("raw", "message"), [("{", "not JSON"), ("{}" + " " * 20_000, "at most 16384")])
def test_malformed_or_huge_bodies_get_a_400(iot_world, raw, message):
    status, response = post(raw_body=raw)
    assert status == 400 and message in response["message"]


def test_a_failed_endpoint_lookup_is_retried_not_cached(iot_world, monkeypatch):
    control_plane = ControlPlane(failures=1)
    monkeypatch.setattr(iot, "client", lambda service: control_plane)
    with pytest.raises(ConnectionError):
        iot.publish_json("event/buy", {"n": 1})
    iot.publish_json("event/buy", {"n": 2})
    iot.publish_json("event/buy", {"n": 3})
    assert control_plane.calls == 2, "a failure is retried once, a success is kept"
    assert [m["n"] for _, m in published()] == [2, 3]


def buy(price: str | None = None, account: str | None = None, event_id: str = "e-1") -> fraud.PublishedEvent:
    return fraud.PublishedEvent(id=event_id, type="buy", timestamp="1", account=account,
                                exactPrice=Decimal(price) if price is not None else None)


def test_fraud_checks_are_deterministic_and_explain_themselves(iot_world):
    threshold = Decimal(1000)
    assert fraud.check(buy("999.99"), iot_world, threshold, 5, 60, now=0) is None
    alert = fraud.check(buy("1000"), iot_world, threshold, 5, 60, now=0)
    assert alert.reasons == ["price 1000 is at or above the threshold of 1000"]
    again = fraud.check(buy("1000"), iot_world, threshold, 5, 60, now=0)
    assert again.reasons == alert.reasons, "the original flipped a coin"
    assert again.alertId == alert.alertId == fraud.alert_id("e-1"), "the same event raises the same alert"


def test_a_price_just_under_the_threshold_is_judged_exactly_not_as_a_float(iot_world):
    assert float(Decimal("999.99999999999999999")) == 1000.0
    assert fraud.check(buy("999.99999999999999999"), iot_world, Decimal(1000), 5, 60, now=0) is None


def test_velocity_counts_distinct_buys_and_resets_with_the_window(iot_world):
    outcomes = [fraud.check(buy("1", "acct-7", f"e-{n}"), iot_world, Decimal(1000), 3, 60, now=120 + n)
                for n in range(4)]
    assert [o is None for o in outcomes] == [True, True, True, False]
    assert outcomes[3].reasons == ["account acct-7 made 4 buys within 60s; the limit is 3"]
    assert fraud.check(buy("1", "acct-7", "e-9"), iot_world, Decimal(1000), 3, 60, now=180) is None


def test_a_redelivered_buy_is_counted_once(iot_world):
    for _ in range(5):
        assert fraud.check(buy("1", "acct-8", "same"), iot_world, Decimal(1000), 3, 60, now=0) is None


@pytest.fixture
def checker(iot_world, deliveries, monkeypatch):
    for key, value in {"VELOCITY_TABLE": "velocity", "PRICE_THRESHOLD": "100", "VELOCITY_LIMIT": "5",
                       "VELOCITY_WINDOW_SECONDS": "60"}.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setattr(fraud, "judge_once", fraud.Once(fraud.judge, "event", "id", fraud.JUDGED_FOR_SECONDS))


def delivered(price: str, event_id: str) -> dict:
    """A buy as Lambda's runtime hands it over: its price a binary float, its exact text beside it."""
    return json.loads(json.dumps({"type": "buy", "id": event_id, "timestamp": "1", "price": float(price),
                                  "exactPrice": price}))


def test_the_checker_publishes_alerts_to_alert_fraud_with_the_exact_price(checker):
    assert fraud.handler(delivered("50", "a"), LAMBDA_CONTEXT) == {"alert": None}
    result = fraud.handler(delivered("500.000000000000000001", "b"), LAMBDA_CONTEXT)
    [(topic, alert)] = published()
    assert topic == "alert/fraud" and alert["alertId"] == result["alert"] == fraud.alert_id("b")
    assert alert["event"]["id"] == "b" and alert["reasons"]
    raw = iotdata_backends[ACCOUNT][REGION].published_payloads[0][1]
    assert b'"price": 500.000000000000000001' in raw, raw


def test_a_buy_delivered_twice_raises_one_alert(checker):
    first = fraud.handler(delivered("500", "twice"), LAMBDA_CONTEXT)
    second = fraud.handler(delivered("500", "twice"), LAMBDA_CONTEXT)
    assert first == second and len(published()) == 1


def rules(stack: str) -> dict[str, dict]:
    return {r.name: r.inputs for r in of_type(declared(stack), "aws:iot/topicRule:TopicRule")
            if r.name.startswith("exchange-events-")}


@pytest.mark.parametrize("stack", STACKS)
def test_every_rule_has_an_error_action_and_the_expected_sql(stack):
    declared_rules = rules(stack)
    assert {n: r["sql"] for n, r in declared_rules.items()} == {
        "exchange-events-archive": "SELECT * FROM 'event/+'",
        "exchange-events-buys": "SELECT * FROM 'event/buy'",
        "exchange-events-alerts": "SELECT * FROM 'alert/fraud'"}
    for name, rule in declared_rules.items():
        assert rule["errorAction"]["sqs"]["queueUrl"], name
        assert rule["sqlVersion"] == "2016-03-23"


@pytest.mark.parametrize("stack", STACKS)
def test_alerts_are_archived_under_their_own_id_which_no_client_chooses(stack):
    """Only the checker's role may publish to alert/fraud, and it derives the id from the event's: a
    repeated alert overwrites its object instead of adding one."""
    [s3] = rules(stack)["exchange-events-alerts"]["s3"]
    assert s3["key"] == "alerts/${alertId}.json"


@pytest.mark.parametrize("stack", STACKS)
def test_roles_publish_only_to_the_configured_topics(stack):
    publishes = {urn.split("::")[-1]: s["Resource"] for urn, s in policy_statements(declared(stack))
                 if "iot:Publish" in s["Action"] and "exchange-events" in urn}
    assert {name: [r.split(":topic/")[1] for r in resources] for name, resources in publishes.items()} == {
        "exchange-events-publish-permissions": ["event/buy", "event/sell"],
        "exchange-events-fraud-permissions": ["alert/fraud"]}
