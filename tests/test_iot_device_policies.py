"""The IoT policy model against AWS's own examples and Device Defender's audit checks: thing-scoped
policies pass, every grant that reaches a second device is caught (iot_model.py)."""

from __future__ import annotations

import string

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conduit_policies.iot_model import iam_findings, overly_permissive, potential_misconfiguration

ARN = "arn:aws:iot:eu-west-1:123456789012:"
THING = "${iot:Connection.Thing.ThingName}"
ATTACHED = {"Bool": {"iot:Connection.Thing.IsAttached": "true"}}
SHADOW = ["iot:GetThingShadow", "iot:UpdateThingShadow", "iot:DeleteThingShadow"]
JOBS = ["iot:DescribeJobExecution", "iot:GetPendingJobExecutions", "iot:StartNextPendingJobExecution",
        "iot:UpdateJobExecution"]


def policy(*statements: dict) -> dict:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def allow(actions, resources, **extra) -> dict:
    return {"Effect": "Allow", "Action": actions, "Resource": resources, **extra}


# Device Defender's compliant example for the overly-permissive check: the connecting thing's own
# shadow and jobs, and Receive on every thing's topics (Subscribe decides what arrives).
DEVICE_DEFENDER_COMPLIANT = policy(
    allow("iot:Connect", f"{ARN}client/{THING}", Condition=ATTACHED),
    allow("iot:Publish", [f"{ARN}topic/$aws/things/{THING}/shadow/*", f"{ARN}topic/$aws/things/{THING}/jobs/*"]),
    allow("iot:Subscribe", [f"{ARN}topicfilter/$aws/things/{THING}/shadow/*",
                            f"{ARN}topicfilter/$aws/things/{THING}/jobs/*"]),
    allow("iot:Receive", f"{ARN}topic/$aws/things/*"),
    allow(SHADOW + JOBS, f"{ARN}thing/{THING}"))
# AWS IoT Core's publish/subscribe policy examples: thing-named topics with a trailing wildcard.
PUBSUB_EXAMPLE = policy(
    allow("iot:Connect", f"{ARN}client/{THING}", Condition=ATTACHED),
    allow("iot:Publish", f"{ARN}topic/{THING}/*"),
    allow("iot:Subscribe", f"{ARN}topicfilter/{THING}/*"),
    allow("iot:Receive", f"{ARN}topic/{THING}/*"))
# Client ids bound to things, then used in topics.
CLIENT_ID_BOUND = policy(
    allow("iot:Connect", f"{ARN}client/${{iot:ClientId}}", Condition=ATTACHED),
    allow("iot:Publish", f"{ARN}topic/devices/${{iot:ClientId}}/telemetry"))
# A literal, named device: one resource, no wildcard.
NAMED = policy(allow("iot:Connect", f"{ARN}client/feeder-1"), allow("iot:Publish", f"{ARN}topic/feeders/feeder-1"))


@pytest.mark.parametrize("document", [DEVICE_DEFENDER_COMPLIANT, PUBSUB_EXAMPLE, CLIENT_ID_BOUND, NAMED],
                         ids=["device-defender-compliant", "pubsub-example", "client-id-bound", "named"])
def test_awss_own_thing_scoped_forms_pass(document):
    assert overly_permissive(document) == []
    assert potential_misconfiguration(document) == []


@pytest.mark.parametrize(("document", "said"), [
    (policy(allow("iot:Connect", f"{ARN}client/${{iot:ClientId}}")), "a client id the device chooses"),
    (policy(allow("iot:Connect", f"{ARN}client/*")), "client/*"),
    (policy(allow(SHADOW, f"{ARN}thing/*")), "iot:DeleteThingShadow, iot:GetThingShadow, iot:UpdateThingShadow"),
    (policy(allow(JOBS, f"{ARN}thing/*")), "iot:DescribeJobExecution"),
    (policy({"Effect": "Allow", "NotAction": "iot:Connect", "Resource": "*"}), "NotAction"),
    (policy(allow("iot:Subscribe", f"{ARN}topicfilter/feeders/+/action")), "MQTT wildcard"),
    (policy(allow("iot:Subscribe", f"{ARN}topicfilter/#")), "MQTT wildcard"),
    (policy(allow("iot:Publish", f"{ARN}topic/*")), "topic/*"),
    (policy(allow("iot:Publish", f"{ARN}topic/*/{THING}")), "it reaches other devices"),
    (policy(allow("iot:*", "*")), "iot:Connect"),
    (policy(allow("*", f"{ARN}*")), "iot:Publish"),
    (policy({"Effect": "Allow", "Action": "iot:Publish", "NotResource": f"{ARN}topic/{THING}"}), "NotResource"),
    (policy(allow("iot:Connect", f"{ARN}client/${{iot:ClientId}}"),
            allow("iot:Publish", f"{ARN}topic/devices/${{iot:ClientId}}/*")), "devices/${iot:ClientId}/*"),
    (policy(allow("iot:Publish", f"{ARN}topic/fleet/${{iot:Connection.Thing.ThingTypeName}}/*")), "ThingTypeName"),
])
def test_every_broad_device_grant_is_caught_and_named(document, said):
    findings = overly_permissive(document)
    assert findings, document
    assert all(f.check == "IOT_POLICY_OVERLY_PERMISSIVE_CHECK" and f.reason ==
               "ALLOWS_BROAD_ACCESS_TO_IOT_DATA_PLANE_ACTIONS" for f in findings)
    assert any(said in f.message for f in findings), [f.message for f in findings]
    assert any("${iot:Connection.Thing.ThingName}" in f.message or "NotAction" in f.message for f in findings)


@pytest.mark.parametrize(("document", "reason"), [
    (policy(allow("iot:Subscribe", f"{ARN}topicfilter/*"),
            {"Effect": "Deny", "Action": "iot:Subscribe", "Resource": f"{ARN}topicfilter/secrets/#"}),
     "POLICY_CONTAINS_MQTT_WILDCARDS_IN_DENY_STATEMENT"),
    (policy(allow("iot:Subscribe", f"{ARN}topicfilter/*"),
            {"Effect": "Deny", "Action": "iot:Subscribe", "Resource": f"{ARN}topicfilter/secrets/admin"}),
     "TOPIC_FILTERS_INTENDED_TO_BE_DENIED_ALLOWED_USING_WILDCARDS"),
])
def test_a_deny_that_does_not_deny_what_it_seems_is_caught(document, reason):
    assert [f.reason for f in potential_misconfiguration(document)] == [reason]


def test_a_deny_of_receive_is_what_device_defender_recommends():
    document = policy(allow("iot:Subscribe", f"{ARN}topicfilter/*"),
                      {"Effect": "Deny", "Action": "iot:Receive", "Resource": f"{ARN}topic/secrets/admin"})
    assert potential_misconfiguration(document) == []


@given(suffix=st.text(string.ascii_letters + "/*?+#-_", max_size=20),
       kind_action=st.sampled_from([("topic", "iot:Publish"), ("topicfilter", "iot:Subscribe"),
                                    ("thing", "iot:UpdateThingShadow"), ("client", "iot:Connect")]),
       prefix=st.sampled_from(["", "$aws/things/", "cat-feeder/dev/", "a/b/"]))
def test_a_grant_under_the_connecting_things_own_name_is_never_flagged(suffix, kind_action, prefix):
    kind, action = kind_action
    condition = {"Condition": ATTACHED} if kind == "client" else {}
    resource = f"{ARN}{kind}/{prefix}{THING}{suffix}"
    assert overly_permissive(policy(allow(action, resource, **condition))) == []


@given(before=st.text(string.ascii_letters + "/-_", max_size=10),
       wildcard=st.sampled_from(["*", "?", "+", "#"]),
       kind_action=st.sampled_from([("topic", "iot:Publish"), ("topicfilter", "iot:Subscribe"),
                                    ("thing", "iot:GetThingShadow"), ("client", "iot:Connect")]))
def test_a_wildcard_ahead_of_any_device_name_always_reaches_a_second_device(before, wildcard, kind_action):
    kind, action = kind_action
    if wildcard in "+#" and kind != "topicfilter":
        wildcard = "*"  # + and # are wildcards only where a subscription reads them
    level = f"{before}/{wildcard}" if wildcard in "+#" else f"{before}{wildcard}"
    resource = f"{ARN}{kind}/{level}/{THING}"
    assert overly_permissive(policy(allow(action, resource, Condition=ATTACHED))), resource


ROLE_ALIAS = "IOT_ROLE_ALIAS_OVERLY_PERMISSIVE_CHECK"


@pytest.mark.parametrize(("statements", "reasons"), [
    ([allow(["dynamodb:*"], "*")], {"ALLOWS_BROAD_ACCESS_TO_USED_SERVICES"}),
    ([allow(["iam:ListRoles", "cloudtrail:LookupEvents"], "*")], {"ALLOWS_ACCESS_TO_SECURITY_AUDITING_SERVICES"}),
    ([allow(["iot:CreateThing"], "*")], {"ALLOWS_ACCESS_TO_IOT_THING_ADMIN_WRITE_ACTIONS"}),
    ([allow(["iot:CreatePolicy"], "*")], {"ALLOWS_ACCESS_TO_IOT_NON_THING_ADMIN_ACTIONS"}),
    ([allow(["iot:DescribeThing"], f"{ARN}thing/*")], {"ALLOWS_BROAD_ACCESS_TO_IOT_THING_ADMIN_READ_ACTIONS"}),
    ([allow(["iot:UpdateThingShadow"], f"{ARN}thing/*")], {"ALLOWS_BROAD_ACCESS_TO_IOT_DATA_PLANE_ACTIONS"}),
    ([allow(["iot:DescribeThing", "iot:UpdateThingShadow"], f"{ARN}thing/${{credentials-iot:ThingName}}"),
      allow(["s3:PutObject"], "arn:aws:s3:::uploads/${credentials-iot:ThingName}/*")], set()),
])
def test_a_role_alias_is_judged_as_device_defender_judges_it(statements, reasons):
    assert {f.reason for f in iam_findings(statements, ROLE_ALIAS, audit_services=True)} == reasons


def test_an_unauthenticated_cognito_role_may_not_even_read_thing_data():
    own = [allow(["iot:DescribeThing"], f"{ARN}thing/${{cognito-identity.amazonaws.com:sub}}")]
    assert [f.reason for f in iam_findings(own, "UNAUTHENTICATED_COGNITO_ROLE_OVERLY_PERMISSIVE_CHECK",
                                           unauthenticated=True)] == ["ALLOWS_ACCESS_TO_IOT_ADMIN_ACTIONS"]
    assert iam_findings(own, "AUTHENTICATED_COGNITO_ROLE_OVERLY_PERMISSIVE_CHECK") == []
    broad = [allow(["iot:GetThingShadow"], f"{ARN}thing/*")]
    assert [f.reason for f in iam_findings(broad, "UNAUTHENTICATED_COGNITO_ROLE_OVERLY_PERMISSIVE_CHECK",
                                           unauthenticated=True)] == ["ALLOWS_BROAD_ACCESS_TO_IOT_DATA_PLANE_ACTIONS"]
