"""Cat feeder: clicks validated and put on the ledger, feed commands to the right device only,
and the declared bus, archive, rule, things and device policies."""

from __future__ import annotations

import json

import boto3
import pytest
from moto.iotdata.models import iotdata_backends

from handlers.cat_feeder import click, feed
from handlers.cat_feeder.contract import CLICK_DETAIL_TYPE, SOURCE, STATE_DETAIL_TYPE
from handlers.cat_feeder.models import Click, ClickEvent
from handlers.shared import iot
from tests.conftest import LAMBDA_CONTEXT, http_event
from tests.program import STACKS, declared, of_type

ORIGINAL = {"devicePayload": {"clickType": "SINGLE"}, "deviceEvent": {"buttonClicked": {"reportedTime": 1111111}}}


@pytest.fixture
def ledger(moto_aws, monkeypatch):
    events, sqs = boto3.client("events"), boto3.client("sqs")
    events.create_event_bus(Name="feedmyfurbabies")
    queue = sqs.create_queue(QueueName="ledger-observer")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(Name="all", EventBusName="feedmyfurbabies",
                    EventPattern=json.dumps({"source": ["com.feedmyfurbabies"]}))
    events.put_targets(Rule="all", EventBusName="feedmyfurbabies", Targets=[{"Id": "observer", "Arn": arn}])
    monkeypatch.setenv("BUS_NAME", "feedmyfurbabies")
    monkeypatch.setenv("FEEDERS", "kitchen,hallway")
    monkeypatch.setenv("DEFAULT_FEEDER", "kitchen")
    return sqs, queue


def post(body=None, raw_body=None):
    response = click.handler(http_event("POST", "/click", body, raw_body=raw_body), LAMBDA_CONTEXT)
    return response["statusCode"], json.loads(response["body"])


def test_the_original_button_event_is_accepted_and_recorded_on_the_ledger(ledger):
    sqs, queue = ledger
    status, body = post({**ORIGINAL, "feeder": "kitchen"})
    assert status == 202 and body["clickType"] == "SINGLE"
    [message] = sqs.receive_message(QueueUrl=queue)["Messages"]
    event = json.loads(message["Body"])
    assert (event["source"], event["detail-type"]) == ("com.feedmyfurbabies", "AWS IoT 1-Click")
    assert event["detail"] == {"click-type": "SINGLE", "feeder": "kitchen", "reportedTime": 1111111}


def test_the_originals_button_event_without_a_feeder_feeds_its_placement_or_the_default(ledger):
    """Seed 003's clients send the 1-Click event as it was: no feeder in it."""
    sqs, queue = ledger
    assert post(dict(ORIGINAL))[1]["feeder"] == "kitchen", "the stack's default feeder"
    placed = {**ORIGINAL, "placementInfo": {"placementName": "hallway", "attributes": {}}}
    assert post(placed)[1]["feeder"] == "hallway", "a placement named after a known feeder"
    unknown = {**ORIGINAL, "placementInfo": {"placementName": "garage"}}
    assert post(unknown)[1]["feeder"] == "kitchen"
    odd = {**ORIGINAL, "placementInfo": "hallway"}  # not the 1-Click shape: ignored, as before
    assert post(odd)[1]["feeder"] == "kitchen"
    details = [json.loads(m["Body"])["detail"]["feeder"]
               for m in sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10)["Messages"]]
    assert sorted(details) == ["hallway", "kitchen", "kitchen", "kitchen"]


@pytest.mark.parametrize(("body", "message"), [
    ({"feeder": "kitchen", "clickType": "TRIPLE"}, "clickType"),
    ({"feeder": "kitchen"}, "clickType"),
    ({"clickType": "SINGLE"}, "feeder"),
    ({"feeder": "garage", "clickType": "SINGLE"}, "not one of"),
    ({"feeder": "Kitchen!", "clickType": "SINGLE"}, "feeder"),
    ({"feeder": "kitchen", "clickType": "LONG", "extra": 1}, "extra"),
])
def test_bad_clicks_get_a_400_and_nothing_reaches_the_ledger(ledger, body, message):
    sqs, queue = ledger
    status, response = post(body)
    assert status == 400 and message in response["message"], response
    assert "Messages" not in sqs.receive_message(QueueUrl=queue)


def test_malformed_json_gets_a_400(ledger):
    assert post(raw_body="{click")[0] == 400


def ledger_event(detail: dict) -> dict:
    return {"version": "0", "id": "1", "detail-type": "AWS IoT 1-Click", "source": "com.feedmyfurbabies",
            "account": "123456789012", "time": "2026-11-22T10:00:00Z", "region": "eu-west-1", "resources": [],
            "detail": detail}


@pytest.mark.parametrize(("click_type", "feeder"), [("SINGLE", "kitchen"), ("DOUBLE", "hallway"), ("LONG", "kitchen")])
def test_a_ledger_event_becomes_a_command_on_that_feeders_topic_only(click_type, feeder):
    click = ClickEvent.model_validate(ledger_event({"click-type": click_type, "feeder": feeder,
                                                    "reportedTime": 7})).detail
    topic, command = feed.command_for(click, ["kitchen", "hallway"])
    assert topic == f"cat-feeder/{feeder}/action"
    assert command.model_dump() == {"event": click_type, "reportedTime": 7}


def test_a_ledger_event_for_an_unknown_feeder_feeds_nobody():
    with pytest.raises(ValueError, match="nothing was fed"):
        click = ClickEvent.model_validate(ledger_event({"click-type": "SINGLE", "feeder": "garage"})).detail
        feed.command_for(click, ["kitchen"])


def test_the_feeder_publishes_through_the_data_plane_not_an_mqtt_connection(moto_aws, monkeypatch):
    iot.reset()
    monkeypatch.setenv("AWS_ENDPOINT_URL_IOT_DATA_PLANE", "https://data-ats.iot.eu-west-1.amazonaws.com")
    monkeypatch.setenv("FEEDERS", "kitchen,hallway")
    try:
        feed.handler(ledger_event({"click-type": "LONG", "feeder": "hallway", "reportedTime": 9}), LAMBDA_CONTEXT)
    finally:
        iot.reset()
    [(topic, payload)] = iotdata_backends["123456789012"]["eu-west-1"].published_payloads
    assert topic == "cat-feeder/hallway/action"
    assert json.loads(payload) == {"event": "LONG", "reportedTime": 9}


def test_a_plain_click_gets_the_time_it_was_received():
    assert Click.model_validate({"feeder": "kitchen", "clickType": "DOUBLE"}).reported_time > 1_700_000_000_000


@pytest.mark.parametrize("stack", STACKS)
def test_each_device_may_use_only_its_own_client_id_and_topics(stack):
    document = declared(stack)
    policies = {p["name"]: json.loads(p["inputs"]["policy"]) for p in of_type(document, "aws:iot/policy:Policy")}
    assert set(policies) == {"cat-feeder-kitchen", "cat-feeder-hallway"}
    for feeder in ("kitchen", "hallway"):
        granted = {s["Action"]: s["Resource"].split(":", 5)[5] for s in policies[f"cat-feeder-{feeder}"]["Statement"]}
        assert granted == {"iot:Connect": f"client/conduit-{stack}-feeder-{feeder}",
                           "iot:Subscribe": f"topicfilter/cat-feeder/{feeder}/action",
                           "iot:Receive": f"topic/cat-feeder/{feeder}/action",
                           "iot:Publish": f"topic/cat-feeder/{feeder}/states"}


@pytest.mark.parametrize(("stack", "retention"), [("dev", 30), ("prod", 365)])
def test_the_ledger_archive_keeps_every_click_for_the_stacks_retention(stack, retention):
    document = declared(stack)
    [archive] = of_type(document, "aws:cloudwatch/eventArchive:EventArchive")
    [bus] = of_type(document, "aws:cloudwatch/eventBus:EventBus")
    assert archive["inputs"]["eventSourceArn"].endswith(f"event-bus/{bus['inputs']['name']}")
    assert archive["inputs"]["retentionDays"] == retention
    assert json.loads(archive["inputs"]["eventPattern"]) == {"source": ["com.feedmyfurbabies"]}
    targets = of_type(document, "aws:cloudwatch/eventTarget:EventTarget")
    assert len(targets) == 2, "the feed and the projection"
    for target in targets:
        assert target["inputs"]["deadLetterConfig"]["arn"]
        assert target["inputs"]["retryPolicy"]["maximumRetryAttempts"] == 3


@pytest.mark.parametrize("stack", STACKS)
def test_clicks_feed_only_on_clicks_and_the_projection_hears_commands_and_outcomes(stack):
    rules = {r["name"]: json.loads(r["inputs"]["eventPattern"])
             for r in of_type(declared(stack), "aws:cloudwatch/eventRule:EventRule")}
    assert rules["cat-feeder-clicks"] == {"source": [SOURCE], "detail-type": [CLICK_DETAIL_TYPE]}, \
        "a state report on the ledger must never feed the cat"
    assert rules["cat-feeder-ledger-view"] == {"source": [SOURCE], "detail-type": [CLICK_DETAIL_TYPE,
                                                                                  STATE_DETAIL_TYPE]}


@pytest.mark.parametrize("stack", STACKS)
def test_every_state_report_reaches_the_ledger_through_a_rule_with_an_error_action(stack):
    document = declared(stack)
    [rule] = [r for r in of_type(document, "aws:iot/topicRule:TopicRule") if r["name"] == "cat-feeder-states"]
    assert rule["inputs"]["sql"] == ("SELECT *, topic(2) AS feeder, timestamp() AS reportedAt "
                                     "FROM 'cat-feeder/+/states'")
    assert rule["inputs"]["errorAction"]["sqs"]["queueUrl"]
    [invoke] = [p for p in of_type(document, "aws:lambda/permission:Permission")
                if p["inputs"]["principal"] == "iot.amazonaws.com" and "cat-feeder" in p["name"]]
    assert invoke["inputs"]["sourceArn"] and invoke["inputs"]["sourceAccount"]


@pytest.mark.parametrize("stack", STACKS)
def test_the_feeders_routes_are_signed_and_served_by_a_reader_that_cannot_write(stack):
    document = declared(stack)
    routes = {r["inputs"]["routeKey"]: r["inputs"]["authorizationType"]
              for r in of_type(document, "aws:apigatewayv2/route:Route") if "cat-feeder" in r["name"]}
    assert routes == {"POST /click": "AWS_IAM", "GET /feeders": "AWS_IAM", "GET /feeders/{feeder}": "AWS_IAM"}
    reader = [json.loads(p["inputs"]["policy"]) for p in of_type(document, "aws:iam/rolePolicy:RolePolicy")
              if "cat-feeder-feeders" in p["name"]]
    actions = {a for policy in reader for s in policy["Statement"] for a in s["Action"]}
    assert {"dynamodb:GetItem", "dynamodb:Scan"} <= actions
    assert not {"dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"} & actions


@pytest.mark.parametrize("stack", STACKS)
def test_every_feeder_has_a_thing_a_certificate_and_both_attachments(stack):
    document = declared(stack)
    certificates = [r for r in document["resources"] if r["type"].startswith("pulumi-python:dynamic")]
    assert sorted(c["inputs"]["thingName"] for c in certificates) == [f"conduit-{stack}-feeder-hallway",
                                                                       f"conduit-{stack}-feeder-kitchen"]
    assert len(of_type(document, "aws:iot/thing:Thing")) == 2
    assert len(of_type(document, "aws:iot/policyAttachment:PolicyAttachment")) == 2
    assert len(of_type(document, "aws:iot/thingPrincipalAttachment:ThingPrincipalAttachment")) == 2
    assert declared(stack)["outputs"]["catFeeder"] == "[secret]", "the device keys must not print in previews"


@pytest.mark.parametrize("content_type", ["application/x-www-form-urlencoded", "text/plain", "multipart/form-data"])
def test_a_json_click_is_read_as_json_whatever_content_type_the_client_declares(ledger, content_type):
    """`curl -d` declares a form; the originals' clients declared nothing: the body is JSON all the same."""
    event = http_event("POST", "/click", {"feeder": "kitchen", "clickType": "SINGLE"})
    event["headers"] = {**event.get("headers", {}), "content-type": content_type}
    assert click.handler(event, LAMBDA_CONTEXT)["statusCode"] == 202
