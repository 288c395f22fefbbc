"""Cat feeder: clicks validated and put on the ledger, feed commands to the right device only,
and the declared bus, archive, rule, things and device policies."""

from __future__ import annotations

import json

import boto3
import pytest
from moto.iotdata.models import iotdata_backends

from handlers.cat_feeder import click, feed
from handlers.cat_feeder.contract import CLICK_DETAIL_TYPE, SOURCE, STATE_DETAIL_TYPE
from handlers.cat_feeder.models import Click, ClickEvent, DeviceReport
from handlers.shared import idempotency, iot
from tests.conftest import FLEET_PREFIX, FLEET_STACK, LAMBDA_CONTEXT, http_event, load_event
from tests.program import STACKS, declared, of_type

ORIGINAL = {"devicePayload": {"clickType": "SINGLE"}, "deviceEvent": {"buttonClicked": {"reportedTime": 1111111}}}
PREFIX = FLEET_PREFIX


@pytest.fixture
def ledger(fleet, monkeypatch):
    events, sqs = boto3.client("events"), boto3.client("sqs")
    events.create_event_bus(Name="feedmyfurbabies")
    queue = sqs.create_queue(QueueName="ledger-observer")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(Name="all", EventBusName="feedmyfurbabies",
                    EventPattern=json.dumps({"source": ["com.feedmyfurbabies"]}))
    events.put_targets(Rule="all", EventBusName="feedmyfurbabies", Targets=[{"Id": "observer", "Arn": arn}])
    monkeypatch.setenv("BUS_NAME", "feedmyfurbabies")
    monkeypatch.setenv("DEFAULT_FEEDER", "kitchen")
    return sqs, queue


def post(body=None, raw_body=None):
    response = click.handler(http_event("POST", "/click", body, raw_body=raw_body), LAMBDA_CONTEXT)
    return response["statusCode"], json.loads(response["body"])


def on_ledger(sqs, queue) -> list[dict]:
    return [json.loads(m["Body"]) for m in sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10)
            .get("Messages", [])]


def test_the_original_button_event_is_accepted_and_recorded_on_the_ledger(ledger):
    status, body = post({**ORIGINAL, "feeder": "kitchen"})
    assert status == 202 and body["clickType"] == "SINGLE"
    [event] = on_ledger(*ledger)
    assert (event["source"], event["detail-type"]) == ("com.feedmyfurbabies", "AWS IoT 1-Click")
    assert event["detail"] == {"click-type": "SINGLE", "feeder": "kitchen", "reportedTime": 1111111}


def test_the_event_aws_iot_1click_sends_feeds_its_placement_at_the_time_the_button_reported():
    """The documented 1-Click button event, as a project's onClickCallback receives it: ISO time,
    device and placement beside the click; the placement names the feeder."""
    event = load_event("iot_1click_button.json")
    parsed = Click.model_validate(event)
    assert (parsed.click_type, parsed.placement, parsed.device) == ("DOUBLE", "hallway", "G030PM0000000001")
    assert parsed.reported_time == 1796022902481, "2026-11-30T07:15:02.481Z in epoch milliseconds"
    assert parsed.feeder_for(lambda name: name == "hallway", "kitchen") == "hallway"


def test_the_1click_event_through_the_api_reaches_the_ledger(ledger):
    status, body = post(load_event("iot_1click_button.json"))
    assert (status, body["feeder"], body["clickType"]) == (202, "hallway", "DOUBLE")
    [event] = on_ledger(*ledger)
    assert event["detail"] == {"click-type": "DOUBLE", "feeder": "hallway", "reportedTime": 1796022902481}


@pytest.mark.parametrize("reported", ["yesterday", "2026-13-40T00:00:00Z", -5, 2**60, True])
def test_a_button_event_with_an_impossible_time_is_a_400(ledger, reported):
    event = load_event("iot_1click_button.json")
    event["deviceEvent"]["buttonClicked"]["reportedTime"] = reported
    status, body = post(event)
    assert status == 400 and "reportedTime" in body["message"], body
    assert on_ledger(*ledger) == []


def test_the_originals_button_event_without_a_feeder_feeds_its_placement_or_the_default(ledger):
    """Seed 003's clients send the 1-Click event as it was: no feeder in it."""
    assert post(dict(ORIGINAL))[1]["feeder"] == "kitchen", "the stack's default feeder"
    placed = {**ORIGINAL, "placementInfo": {"placementName": "hallway", "attributes": {}}}
    assert post(placed)[1]["feeder"] == "hallway", "a placement named after a known feeder"
    unknown = {**ORIGINAL, "placementInfo": {"placementName": "garage"}}
    assert post(unknown)[1]["feeder"] == "kitchen"
    other_stacks = {**ORIGINAL, "placementInfo": {"placementName": "attic"}}
    assert post(other_stacks)[1]["feeder"] == "kitchen", "attic is a feeder of prod, not of this stack"
    odd = {**ORIGINAL, "placementInfo": "hallway"}  # not the 1-Click shape: ignored, as the originals did
    assert post(odd)[1]["feeder"] == "kitchen"
    details = sorted(event["detail"]["feeder"] for event in on_ledger(*ledger))
    assert details == ["hallway", "kitchen", "kitchen", "kitchen", "kitchen"]


@pytest.mark.parametrize(("body", "message"), [
    ({"feeder": "kitchen", "clickType": "TRIPLE"}, "clickType"),
    ({"feeder": "kitchen"}, "clickType"),
    ({"clickType": "SINGLE"}, "feeder"),
    ({"feeder": "garage", "clickType": "SINGLE"}, "not one of"),
    ({"feeder": "attic", "clickType": "SINGLE"}, "not one of"),  # another stack's feeder, same account
    ({"feeder": "Kitchen!", "clickType": "SINGLE"}, "feeder"),
    ({"feeder": "kitchen", "clickType": "LONG", "extra": 1}, "extra"),
])
def test_bad_clicks_get_a_400_and_nothing_reaches_the_ledger(ledger, body, message):
    status, response = post(body)
    assert status == 400 and message in response["message"], response
    assert on_ledger(*ledger) == []


def test_malformed_json_gets_a_400(ledger):
    assert post(raw_body="{click")[0] == 400


def ledger_event(detail: dict, event_id: str = "1", replay: str | None = None) -> dict:
    event = {"version": "0", "id": event_id, "detail-type": "AWS IoT 1-Click", "source": "com.feedmyfurbabies",
             "account": "123456789012", "time": "2026-11-22T10:00:00Z", "region": "eu-west-1", "resources": [],
             "detail": detail}
    return event | ({"replay-name": replay} if replay else {})


@pytest.mark.parametrize(("click_type", "feeder"), [("SINGLE", "kitchen"), ("DOUBLE", "hallway"), ("LONG", "kitchen")])
def test_a_ledger_event_becomes_a_command_on_that_feeders_own_topic_in_this_stack(fleet, click_type, feeder):
    event = ClickEvent.model_validate(ledger_event({"click-type": click_type, "feeder": feeder, "reportedTime": 7},
                                                   event_id="e-1"))
    topic, command = feed.command_for(event)
    assert topic == f"cat-feeder/{FLEET_STACK}/{PREFIX}{feeder}/action"
    assert command.model_dump() == {"event": click_type, "reportedTime": 7, "id": "e-1"}


def test_a_replay_feeds_again_only_under_a_new_command_id():
    detail = {"click-type": "SINGLE", "feeder": "kitchen", "reportedTime": 7}
    live = ClickEvent.model_validate(ledger_event(detail, "e-1")).command_id()
    again = ClickEvent.model_validate(ledger_event(detail, "e-1", replay="feed-again-2026-12-01")).command_id()
    assert live == "e-1" and again != live
    assert ClickEvent.model_validate(ledger_event(detail, "e-1", replay="feed-again-2026-12-01")).command_id() == again


@pytest.fixture
def data_plane(fleet, deliveries, monkeypatch):
    iot.reset()
    monkeypatch.setenv("AWS_ENDPOINT_URL_IOT_DATA_PLANE", "https://data-ats.iot.eu-west-1.amazonaws.com")
    monkeypatch.setattr(feed, "feed_once", feed.Once(feed.feed, "command", "command.id", feed.FED_FOR_SECONDS))
    yield iotdata_backends["123456789012"]["eu-west-1"].published_payloads
    iot.reset()


def test_the_feeder_publishes_through_the_data_plane_not_an_mqtt_connection(data_plane):
    feed.handler(ledger_event({"click-type": "LONG", "feeder": "hallway", "reportedTime": 9}, "e-9"), LAMBDA_CONTEXT)
    [(topic, payload)] = data_plane
    assert topic == f"cat-feeder/{FLEET_STACK}/{PREFIX}hallway/action"
    assert json.loads(payload) == {"event": "LONG", "reportedTime": 9, "id": "e-9"}


def test_a_ledger_event_delivered_again_feeds_once(data_plane):
    """EventBridge delivers at least once: the same event id is the same command, published once."""
    event = ledger_event({"click-type": "SINGLE", "feeder": "kitchen", "reportedTime": 9}, "e-twice")
    results = [feed.handler(event, LAMBDA_CONTEXT) for _ in range(3)]
    assert len(data_plane) == 1 and results[0] == results[1] == results[2]
    feed.handler(ledger_event({"click-type": "SINGLE", "feeder": "kitchen", "reportedTime": 9}, "e-other"),
                 LAMBDA_CONTEXT)
    assert len(data_plane) == 2, "another click, even one alike, is another command"


def test_a_crash_after_publishing_is_not_a_second_feed_on_retry(data_plane, monkeypatch):
    """The publish happened, then the container died before the record completed: the retry finds the
    record in progress and fails (Lambda retries later) rather than publishing again within the timeout.
    A retry after the timeout publishes the same command id, which the device serves once
    (tests/firmware: a served id is acknowledged as a repeat, no motor turns)."""
    from aws_lambda_powertools.utilities.idempotency.exceptions import IdempotencyAlreadyInProgressError

    event = ledger_event({"click-type": "SINGLE", "feeder": "kitchen", "reportedTime": 9}, "e-crash")
    def crash(*args, **kwargs):
        raise SystemExit("container lost after the publish")

    with monkeypatch.context() as broken, pytest.raises(SystemExit):
        broken.setattr(idempotency.persistence(), "save_success", crash)
        feed.handler(event, LAMBDA_CONTEXT)
    with pytest.raises(IdempotencyAlreadyInProgressError):
        feed.handler(event, LAMBDA_CONTEXT)
    assert len(data_plane) == 1


def test_a_ledger_event_for_a_feeder_the_stack_does_not_have_is_refused_before_any_publish(data_plane):
    with pytest.raises(ValueError, match="no feeder"):
        feed.handler(ledger_event({"click-type": "SINGLE", "feeder": "attic"}, "e-attic"), LAMBDA_CONTEXT)
    assert data_plane == []


def test_a_plain_click_gets_the_time_it_was_received():
    assert Click.model_validate({"feeder": "kitchen", "clickType": "DOUBLE"}).reported_time > 1_700_000_000_000


@pytest.mark.parametrize("stack", STACKS)
def test_one_fleet_policy_scopes_every_device_to_its_own_thing_and_this_stacks_topics(stack):
    """AWS IoT's thing policy variables: the client id must be the thing the certificate is attached
    to, and every topic carries the stack and that thing."""
    document = declared(stack)
    [policy] = [json.loads(p.inputs["policy"]) for p in of_type(document, "aws:iot/policy:Policy")]
    def scoped(resource: str | list[str]) -> tuple[str, ...]:
        return tuple(r.split(":", 5)[5] for r in ([resource] if isinstance(resource, str) else resource))

    granted = {s["Action"]: (scoped(s["Resource"]), s.get("Condition")) for s in policy["Statement"]}
    thing = "${iot:Connection.Thing.ThingName}"
    assert granted == {
        "iot:Connect": ((f"client/{thing}",), {"Bool": {"iot:Connection.Thing.IsAttached": "true"}}),
        "iot:Subscribe": ((f"topicfilter/cat-feeder/{stack}/{thing}/action",
                           f"topicfilter/cat-feeder/{stack}/{thing}/certificate"), None),
        "iot:Receive": ((f"topic/cat-feeder/{stack}/{thing}/action", f"topic/cat-feeder/{stack}/{thing}/certificate"),
                        None),
        "iot:Publish": ((f"topic/cat-feeder/{stack}/{thing}/states",), None)}
    assert all(s["Effect"] == "Allow" for s in policy["Statement"])


@pytest.mark.parametrize(("stack", "retention"), [("dev", 30), ("prod", 365)])
def test_the_ledger_archive_keeps_every_click_for_the_stacks_retention(stack, retention):
    document = declared(stack)
    [archive] = of_type(document, "aws:cloudwatch/eventArchive:EventArchive")
    [bus] = of_type(document, "aws:cloudwatch/eventBus:EventBus")
    assert archive.inputs["eventSourceArn"].endswith(f"event-bus/{bus.inputs['name']}")
    assert archive.inputs["retentionDays"] == retention
    assert json.loads(archive.inputs["eventPattern"]) == {"source": ["com.feedmyfurbabies"]}
    targets = of_type(document, "aws:cloudwatch/eventTarget:EventTarget")
    assert len(targets) == 3, "the feed, the feed on a replay named to feed again, and the projection"
    for target in targets:
        assert target.inputs["deadLetterConfig"]["arn"]
        assert target.inputs["retryPolicy"]["maximumRetryAttempts"] == 3


@pytest.mark.parametrize("stack", STACKS)
def test_clicks_feed_only_on_clicks_and_the_projection_hears_commands_and_outcomes(stack):
    rules = {r.name: json.loads(r.inputs["eventPattern"])
             for r in of_type(declared(stack), "aws:cloudwatch/eventRule:EventRule")}
    assert rules["cat-feeder-clicks"] == {"source": [SOURCE], "detail-type": [CLICK_DETAIL_TYPE],
                                          "replay-name": [{"exists": False}]}, \
        "a state report on the ledger, or a replayed click, must never feed the cat"
    assert rules["cat-feeder-feed-again"] == {"source": [SOURCE], "detail-type": [CLICK_DETAIL_TYPE],
                                              "replay-name": [{"prefix": "feed-again-"}]}
    assert rules["cat-feeder-ledger-view"] == {"source": [SOURCE], "detail-type": [CLICK_DETAIL_TYPE,
                                                                                  STATE_DETAIL_TYPE]}


@pytest.mark.parametrize("stack", STACKS)
def test_every_state_report_reaches_the_ledger_through_a_rule_with_an_error_action(stack):
    document = declared(stack)
    [rule] = [r for r in of_type(document, "aws:iot/topicRule:TopicRule") if r.name == "cat-feeder-states"]
    sql = rule.inputs["sql"]
    assert sql.endswith(f", topic(3) AS thing, timestamp() AS reportedAt, principal() AS certificateId "
                        f"FROM 'cat-feeder/{stack}/+/states'"), \
        "this stack's feeders only, the thing named by the topic, the time and the certificate by the broker"
    selected = sql.removeprefix("SELECT ").split(", topic(3)")[0].split(", ")
    assert "*" not in sql and set(selected) == set(DeviceReport.model_fields) - {
        "thing", "reported_at", "certificate_id"}, \
        "the device's own fields by name, so a payload's `thing`, `reportedAt` or `certificateId` is never read"
    assert rule.inputs["errorAction"]["sqs"]["queueUrl"]
    invokes = [p for p in of_type(document, "aws:lambda/permission:Permission")
               if p.inputs["principal"] == "iot.amazonaws.com" and "cat-feeder" in p.name]
    assert len(invokes) == 2, "the states rule's and the certificates rule's"
    assert all(i.inputs["sourceArn"] and i.inputs["sourceAccount"] for i in invokes)


@pytest.mark.parametrize("stack", STACKS)
def test_the_certificates_rule_takes_the_thing_and_certificate_from_the_broker_only(stack):
    document = declared(stack)
    [rule] = [r for r in of_type(document, "aws:iot/topicRule:TopicRule") if r.name == "cat-feeder-online"]
    assert rule.inputs["sql"] == (f"SELECT topic(3) AS thing, principal() AS certificateId "
                                     f"FROM 'cat-feeder/{stack}/+/states' WHERE state = 'online'")
    assert rule.inputs["errorAction"]["sqs"]["queueUrl"]


@pytest.mark.parametrize("stack", STACKS)
def test_the_feeders_routes_are_signed_and_served_by_a_reader_that_cannot_write(stack):
    document = declared(stack)
    routes = {r.inputs["routeKey"]: r.inputs["authorizationType"]
              for r in of_type(document, "aws:apigatewayv2/route:Route") if "cat-feeder" in r.name}
    assert routes == {"POST /click": "AWS_IAM", "GET /feeders": "AWS_IAM", "GET /feeders/{feeder}": "AWS_IAM"}
    reader = [json.loads(p.inputs["policy"]) for p in of_type(document, "aws:iam/rolePolicy:RolePolicy")
              if "cat-feeder-feeders" in p.name]
    actions = {a for policy in reader for s in policy["Statement"] for a in s["Action"]}
    assert {"dynamodb:GetItem", "dynamodb:Scan"} <= actions
    assert not {"dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"} & actions


@pytest.mark.parametrize("stack", STACKS)
def test_every_feeder_has_a_thing_a_certificate_and_both_attachments(stack):
    document = declared(stack)
    certificates = [r for r in document.resources if r.type.startswith("pulumi-python:dynamic")]
    assert sorted(c.inputs["thingName"] for c in certificates) == [f"conduit-{stack}-feeder-hallway",
                                                                       f"conduit-{stack}-feeder-kitchen"]
    things = {t.inputs["name"]: t.inputs["attributes"] for t in of_type(document, "aws:iot/thing:Thing")}
    assert things == {f"conduit-{stack}-feeder-{f}": {"stack": stack, "feeder": f} for f in ("kitchen", "hallway")}
    assert len(of_type(document, "aws:iot/policyAttachment:PolicyAttachment")) == 2
    assert len(of_type(document, "aws:iot/thingPrincipalAttachment:ThingPrincipalAttachment")) == 2
    shown = declared(stack).outputs["catFeeder"]
    assert {d["privateKey"] for d in shown["devices"].values()} == {"[secret]"}, "device keys never print in previews"
    assert shown["apiUrl"].startswith("https://"), "the secret is the key alone, not all the feeder's outputs"


@pytest.mark.parametrize("content_type", ["application/x-www-form-urlencoded", "text/plain", "multipart/form-data"])
def test_a_json_click_is_read_as_json_whatever_content_type_the_client_declares(ledger, content_type):
    """`curl -d` declares a form; the originals' clients declared nothing: the body is JSON all the same."""
    event = http_event("POST", "/click", {"feeder": "kitchen", "clickType": "SINGLE"})
    event["headers"] = {**event.get("headers", {}), "content-type": content_type}
    assert click.handler(event, LAMBDA_CONTEXT)["statusCode"] == 202
