"""The device's voice on moto: a state report onto the ledger as its own detail type, the projection
that survives out-of-order and repeated events, and GET /feeders."""

from __future__ import annotations

import itertools
import json

import boto3
import pytest

from handlers.cat_feeder import feeders, projection, report
from handlers.cat_feeder.contract import CLICK_DETAIL_TYPE, SOURCE, STATE_DETAIL_TYPE
from tests.conftest import FLEET_PREFIX, LAMBDA_CONTEXT, http_event

BUS = "feedmyfurbabies"


def ledger_event(detail_type: str, detail: dict) -> dict:
    return {"version": "0", "id": "1", "detail-type": detail_type, "source": SOURCE, "account": "123456789012",
            "time": "2026-11-23T10:00:00Z", "region": "eu-west-1", "resources": [], "detail": detail}


def click(at: int, click_type: str = "SINGLE", feeder: str = "kitchen") -> dict:
    return ledger_event(CLICK_DETAIL_TYPE, {"click-type": click_type, "feeder": feeder, "reportedTime": at})


def state(at: int, name: str, command: int | None = None, feeder: str = "kitchen") -> dict:
    detail = {"feeder": feeder, "state": name, "reportedAt": at, "uptime_s": 3}
    if command is not None:
        detail |= {"command": command, "event": "SINGLE", "bowls": ["left"], "queued": 0}
    return ledger_event(STATE_DETAIL_TYPE, detail)


@pytest.fixture
def feeders_table(fleet, monkeypatch):
    boto3.client("dynamodb").create_table(
        TableName="feeders", BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "feeder", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "feeder", "AttributeType": "S"}])
    monkeypatch.setenv("FEEDERS_TABLE", "feeders")


def project(*events: dict) -> list[list[str]]:
    return [projection.handler(event, LAMBDA_CONTEXT)["applied"] for event in events]


def get(path: str) -> tuple[int, dict]:
    response = feeders.handler(http_event("GET", path), LAMBDA_CONTEXT)
    return response["statusCode"], json.loads(response["body"])


def test_a_click_served_and_reported_shows_as_confirmed(feeders_table):
    assert project(click(100), state(150, "feeding", command=100), state(160, "fed", command=100)) == [
        ["command"], ["state"], ["state", "confirmation"]]
    status, kitchen = get("/feeders/kitchen")
    assert status == 200
    assert kitchen == {"feeder": "kitchen", "state": "fed", "reportedAt": 160, "lastCommand": "SINGLE",
                       "commandAt": 100, "confirmed": True,
                       "report": {"state": "fed", "event": "SINGLE", "bowls": ["left"], "queued": 0, "command": 100,
                                  "uptime_s": 3}}


def test_every_order_of_the_same_events_ends_in_the_same_view(feeders_table):
    """EventBridge does not order deliveries: the view depends on the events, not their order."""
    events = [click(100), state(150, "feeding", command=100), state(160, "fed", command=100), click(200, "LONG"),
              state(210, "online")]
    views = set()
    for order in itertools.islice(itertools.permutations(events), 0, None, 7):
        boto3.client("dynamodb").delete_item(TableName="feeders", Key={"feeder": {"S": "kitchen"}})
        project(*order)
        views.add(json.dumps(get("/feeders/kitchen")[1], sort_keys=True))
    [view] = views
    assert json.loads(view) | {"report": None} == {
        "feeder": "kitchen", "state": "online", "reportedAt": 210, "lastCommand": "LONG", "commandAt": 200,
        "confirmed": False, "report": None}, "the LONG click at 200 is not confirmed yet"


def test_an_old_or_repeated_event_changes_nothing(feeders_table):
    project(click(200, "LONG"), state(300, "fed", command=200))
    before = get("/feeders/kitchen")[1]
    assert project(click(200, "LONG"), click(100, "DOUBLE"), state(300, "fed", command=200),
                   state(250, "feeding", command=200)) == [[], [], [], []]
    assert get("/feeders/kitchen")[1] == before


def test_a_report_that_overtakes_its_click_still_confirms_it(feeders_table):
    project(state(160, "fed", command=100), click(100))
    assert get("/feeders/kitchen")[1]["confirmed"] is True


def test_every_feeder_is_listed_and_one_never_heard_from_has_nulls(feeders_table):
    project(click(100, feeder="hallway"))
    status, body = get("/feeders")
    assert status == 200
    assert [(f["feeder"], f["state"], f["lastCommand"], f["confirmed"]) for f in body["feeders"]] == [
        ("hallway", None, "SINGLE", False), ("kitchen", None, None, False)], "this stack's things, by name"


@pytest.mark.parametrize("path", ["/feeders/garage", "/feeders/KITCHEN", "/feeders/attic", "/feeders/" + "x" * 300])
def test_an_unknown_feeder_is_a_404_that_names_the_known_ones(feeders_table, path):
    status, body = get(path)
    assert status == 404
    assert "['hallway', 'kitchen']" in body["message"] and len(body["message"]) < 200


@pytest.fixture
def bus(fleet, monkeypatch):
    events, sqs = boto3.client("events"), boto3.client("sqs")
    events.create_event_bus(Name=BUS)
    queue = sqs.create_queue(QueueName="ledger-observer")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(Name="all", EventBusName=BUS, EventPattern=json.dumps({"source": [SOURCE]}))
    events.put_targets(Rule="all", EventBusName=BUS, Targets=[{"Id": "observer", "Arn": arn}])
    monkeypatch.setenv("BUS_NAME", BUS)
    return sqs, queue


def test_a_report_goes_onto_the_ledger_as_its_own_detail_type(bus):
    sqs, queue = bus
    device = {"state": "fed", "event": "DOUBLE", "bowls": ["right"], "queued": 0, "command": 1111111,
              "id": "e-1", "uptime_s": 42}
    rule_payload = {**device, "thing": FLEET_PREFIX + "kitchen", "reportedAt": 1790000000000}
    assert report.handler(rule_payload, LAMBDA_CONTEXT)["eventId"]
    [message] = sqs.receive_message(QueueUrl=queue)["Messages"]
    event = json.loads(message["Body"])
    assert (event["source"], event["detail-type"]) == (SOURCE, STATE_DETAIL_TYPE)
    assert event["detail"] == {**device, "feeder": "kitchen", "reportedAt": 1790000000000}


def test_a_last_will_reports_the_feeder_offline(bus):
    """The broker publishes the will the device registered (`{"state": "offline"}`) when it loses the
    device without a DISCONNECT: the ledger and the view learn the feeder is gone."""
    sqs, queue = bus
    report.handler({"state": "offline", "thing": FLEET_PREFIX + "hallway", "reportedAt": 5}, LAMBDA_CONTEXT)
    [message] = sqs.receive_message(QueueUrl=queue)["Messages"]
    assert json.loads(message["Body"])["detail"] == {"state": "offline", "feeder": "hallway", "reportedAt": 5}


@pytest.mark.parametrize("payload", [
    {"state": "fed", "thing": "garage", "reportedAt": 1},  # not a thing of this stack's prefix
    {"state": "fed", "thing": FLEET_PREFIX, "reportedAt": 1},  # the prefix alone names no feeder
    {"state": "fed", "thing": "conduit-prod-feeder-kitchen", "reportedAt": 1},  # another stack's
    {"state": "exploded", "thing": FLEET_PREFIX + "kitchen", "reportedAt": 1},
    {"state": "fed", "thing": FLEET_PREFIX + "kitchen"},  # the rule always stamps reportedAt
    {"state": "fed", "thing": FLEET_PREFIX + "kitchen", "reportedAt": 1, "command": -5},
    {"state": "fed", "feeder": "kitchen", "reportedAt": 1},  # the device cannot name its feeder: the topic does
])
def test_a_report_that_does_not_parse_fails_the_invocation_and_puts_nothing(bus, payload):
    sqs, queue = bus
    with pytest.raises(ValueError):
        report.handler(payload, LAMBDA_CONTEXT)
    assert "Messages" not in sqs.receive_message(QueueUrl=queue)
