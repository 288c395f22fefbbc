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
    assert message["price"] == 123.45 and message["note"] == "ünïcode ok"
    assert message["timestamp"].isdigit()


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


def test_fraud_checks_are_deterministic_and_explain_themselves(iot_world):
    threshold = Decimal(1000)
    assert fraud.check({"type": "buy", "price": 999.99}, iot_world, threshold, 5, 60, now=0) is None
    alert = fraud.check({"type": "buy", "price": 1000}, iot_world, threshold, 5, 60, now=0)
    assert alert.reasons == ["price 1000 is at or above the threshold of 1000"]
    again = fraud.check({"type": "buy", "price": 1000}, iot_world, threshold, 5, 60, now=0)
    assert again.reasons == alert.reasons, "the original flipped a coin"


def test_velocity_flags_the_buy_over_the_limit_and_resets_with_the_window(iot_world):
    event = {"type": "buy", "price": 1, "account": "acct-7"}
    outcomes = [fraud.check(event, iot_world, Decimal(1000), 3, 60, now=120 + n) for n in range(4)]
    assert [o is None for o in outcomes] == [True, True, True, False]
    assert outcomes[3].reasons == ["account acct-7 made 4 buys within 60s; the limit is 3"]
    assert fraud.check(event, iot_world, Decimal(1000), 3, 60, now=180) is None


def test_the_checker_publishes_alerts_to_alert_fraud(iot_world, monkeypatch):
    for key, value in {"VELOCITY_TABLE": "velocity", "PRICE_THRESHOLD": "100", "VELOCITY_LIMIT": "5",
                       "VELOCITY_WINDOW_SECONDS": "60"}.items():
        monkeypatch.setenv(key, value)
    assert fraud.handler({"type": "buy", "price": 50, "id": "a"}, LAMBDA_CONTEXT) == {"alert": None}
    result = fraud.handler({"type": "buy", "price": 500, "id": "b"}, LAMBDA_CONTEXT)
    [(topic, alert)] = published()
    assert topic == "alert/fraud" and alert["alertId"] == result["alert"]
    assert alert["event"]["id"] == "b" and alert["reasons"]


def rules(stack: str) -> dict[str, dict]:
    return {r["name"]: r["inputs"] for r in of_type(declared(stack), "aws:iot/topicRule:TopicRule")
            if r["name"].startswith("exchange-events-")}


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
def test_alerts_are_archived_under_a_key_no_client_chooses(stack):
    [s3] = rules(stack)["exchange-events-alerts"]["s3"]
    assert s3["key"] == "alerts/${newuuid()}.json"


@pytest.mark.parametrize("stack", STACKS)
def test_roles_publish_only_to_the_configured_topics(stack):
    publishes = {urn.split("::")[-1]: s["Resource"] for urn, s in policy_statements(declared(stack))
                 if "iot:Publish" in s["Action"] and "exchange-events" in urn}
    assert {name: [r.split(":topic/")[1] for r in resources] for name, resources in publishes.items()} == {
        "exchange-events-publish-permissions": ["event/buy", "event/sell"],
        "exchange-events-fraud-permissions": ["alert/fraud"]}
