"""Policies in process on one mutation at a time: a fixture program's real run (the shapes the provider
SDK records, not shapes written here) judged clean, then each row changes one setting of one resource
and exactly its policy fires, on that resource, with the policy's fix. A new case is a row."""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from conduit.check import Violation, evaluate
from conduit.run_record import RecordedResource, RunRecord
from conduit_policies.pack import FIXES
from tests.test_policies import case_run

DROP = object()  # a setting the mutation takes away


@dataclass(frozen=True)
class Family:
    """A fixture program whose real run passes every one of `policies`: the happy path of a family."""

    case: str
    policies: tuple[str, ...]


QUEUE_CONSUMER = Family("queue-six-times-function", (
    "sqs-dead-letter-queue", "sqs-lambda-receive-count", "sqs-visibility-covers-function-timeout",
    "encryption-at-rest", "lambda-deprecated-runtime"))
FUNCTION = Family("function-complete", (
    "lambda-default-memory", "lambda-default-timeout", "lambda-tracing", "lambda-log-retention",
    "lambda-deprecated-runtime"))
HTTP_STAGE = Family("http-stage-complete", (
    "apigateway-access-logging", "apigateway-structured-logging", "apigateway-throttling", "log-retention"))
EVENT_TARGET = Family("event-target-safe", ("eventbridge-target-dead-letter", "eventbridge-target-retry-policy"))
ROLE_POLICY = Family("explicit-action", (
    "iam-no-wildcard-actions", "iam-no-not-action-allow", "iam-known-actions", "iam-no-wildcard-resource"))
DEVICE_POLICY = Family("device-thing-scoped", ("iot-policy-overly-permissive", "iot-policy-potential-misconfiguration"))
ASYNC_FUNCTION = Family("async-with-destination", (
    "lambda-async-failure-destination", "service-principal-source", "no-public-principal"))
STREAM = Family("stream-bounded", ("stream-mapping-failure-handling",))
TOPIC_RULE = Family("rule-with-error-action", ("iot-rule-error-action", "role-trusts-its-service"))
SCHEDULE = Family("target-role-trusts-events", ("role-trusts-its-service",))
SUBSCRIPTION = Family("subscription-safe", ("sns-subscription-redrive",))
ALARM_KEY = Family("alarm-to-granted-key", ("service-delivery-key",))
NAMES = Family("names-accepted", ("physical-name-limits",))
MANAGED_POLICY = Family("basic-execution-attachment", ("iam-no-admin-managed-policies", "iam-broad-managed-policies"))
ROLE_ALIAS = Family("role-alias-scoped", ("iot-role-alias-overly-permissive",))
GUEST_POOL = Family("cognito-guest-own-shadow", ("iot-cognito-role-overly-permissive",))
IOT_LOGGING = Family("device-logged", ("iot-logging-disabled",))
GRAPHQL = Family("appsync-traced", ("appsync-tracing",))
LOG_WRITER = Family("console-basic-execution", ("iam-logs-every-log-group",))
SERVICE_ROLE = Family("lambda-role", ("iam-logs-every-log-group-managed", "iam-no-admin-managed-policies"))
NARROW_MANAGED = Family("xray-daemon", ("iam-managed-policy-every-resource",))
UNIQUE_NAMES = Family("names-distinct", ("physical-names-unique",))
FAMILIES = (QUEUE_CONSUMER, FUNCTION, HTTP_STAGE, EVENT_TARGET, ROLE_POLICY, DEVICE_POLICY, ASYNC_FUNCTION, STREAM,
            TOPIC_RULE, SCHEDULE, SUBSCRIPTION, ALARM_KEY, NAMES, MANAGED_POLICY, ROLE_ALIAS, GUEST_POOL, IOT_LOGGING,
            GRAPHQL, LOG_WRITER, SERVICE_ROLE, NARROW_MANAGED, UNIQUE_NAMES)


def text(old: str, new: str) -> Callable[[str], str]:
    """A change inside a setting written as JSON text (a policy document, a redrive policy)."""
    return lambda value: value.replace(old, new)


STAGE = "aws:apigatewayv2/stage:Stage::http"  # the API and its stage share the name "http"
RULE = "aws:iot/topicRule:TopicRule::archive"  # and the rule and its table "archive"
CREDENTIALS = "aws:iam/rolePolicy:RolePolicy::device-credentials"
GUEST = "aws:iam/rolePolicy:RolePolicy::guest"
MANAGED = "arn:aws:iam::aws:policy/"
LOG_GROUP = "log-group:/aws/lambda/worker:*"
DEVICE = "arn:aws:iot:eu-west-1:123456789012"
SUBSCRIBE = '{"Effect": "Allow", "Action": "iot:Subscribe", "Resource": "'
DENY_SECRETS = f'{{"Effect": "Deny", "Action": "iot:Subscribe", "Resource": "{DEVICE}:topicfilter/secrets/#"}}, '


@dataclass(frozen=True)
class Mutation:
    family: Family
    resource: str  # the resource's name in the family's program (`type::name` where two share it)
    changes: dict[str, Any]  # setting -> new value (DROP: removed; a function: of the old value)
    policy: str  # the one policy of the family that must fire, on that resource
    on: str | None = None  # the resource the finding is reported on, when not the changed one

    @property
    def id(self) -> str:
        return f"{self.policy}:{self.resource}:{','.join(self.changes)}"


MUTATIONS = [
    Mutation(QUEUE_CONSUMER, "work", {"redrivePolicy": DROP}, "sqs-dead-letter-queue"),
    Mutation(QUEUE_CONSUMER, "work", {"visibilityTimeoutSeconds": 30}, "sqs-visibility-covers-function-timeout"),
    Mutation(QUEUE_CONSUMER, "work", {"sqsManagedSseEnabled": DROP}, "encryption-at-rest"),
    Mutation(QUEUE_CONSUMER, "consumer", {"runtime": "python3.7"}, "lambda-deprecated-runtime"),
    Mutation(QUEUE_CONSUMER, "work", {"redrivePolicy": text('"maxReceiveCount": 5', '"maxReceiveCount": 2')},
             "sqs-lambda-receive-count"),
    Mutation(FUNCTION, "complete", {"memorySize": DROP}, "lambda-default-memory"),
    Mutation(FUNCTION, "complete", {"timeout": DROP}, "lambda-default-timeout"),
    Mutation(FUNCTION, "complete", {"tracingConfig": {"mode": "PassThrough"}}, "lambda-tracing"),
    Mutation(FUNCTION, "complete", {"runtime": "python3.8"}, "lambda-deprecated-runtime"),
    Mutation(FUNCTION, "complete-logs", {"name": "/aws/lambda/another"}, "lambda-log-retention", on="complete"),
    Mutation(HTTP_STAGE, STAGE, {"accessLogSettings": DROP}, "apigateway-access-logging"),
    Mutation(HTTP_STAGE, STAGE, {"accessLogSettings": lambda settings: {**settings, "format": "$context.requestId"}},
             "apigateway-structured-logging"),
    Mutation(HTTP_STAGE, STAGE, {"defaultRouteSettings": DROP}, "apigateway-throttling"),
    Mutation(HTTP_STAGE, "http-access", {"retentionInDays": 0}, "log-retention"),
    Mutation(EVENT_TARGET, "target", {"deadLetterConfig": DROP}, "eventbridge-target-dead-letter"),
    Mutation(EVENT_TARGET, "target", {"retryPolicy": DROP}, "eventbridge-target-retry-policy"),
    Mutation(ROLE_POLICY, "policy", {"policy": text('"s3:GetObject"', '"s3:Get*"')}, "iam-no-wildcard-actions"),
    Mutation(ROLE_POLICY, "policy", {"policy": text('"Action"', '"NotAction"')}, "iam-no-not-action-allow"),
    Mutation(ROLE_POLICY, "policy", {"policy": text('"s3:GetObject"', '"s3:GetObjekt"')}, "iam-known-actions"),
    Mutation(ROLE_POLICY, "policy", {"policy": text('"arn:aws:s3:::bucket/*"', '"*"')}, "iam-no-wildcard-resource"),
    Mutation(DEVICE_POLICY, "device", {"policy": text("client/${iot:Connection.Thing.ThingName}", "client/*")},
             "iot-policy-overly-permissive"),
    Mutation(DEVICE_POLICY, "device", {"policy": text(SUBSCRIBE, DENY_SECRETS + SUBSCRIBE)},
             "iot-policy-potential-misconfiguration"),
    Mutation(ASYNC_FUNCTION, "async", {"destinationConfig": DROP}, "lambda-async-failure-destination", on="fn"),
    Mutation(ASYNC_FUNCTION, "from-s3", {"sourceArn": DROP}, "service-principal-source"),
    Mutation(ASYNC_FUNCTION, "from-s3", {"principal": "*", "sourceArn": DROP}, "no-public-principal"),
    Mutation(STREAM, "stream", {"maximumRetryAttempts": DROP}, "stream-mapping-failure-handling"),
    Mutation(STREAM, "stream", {"destinationConfig": DROP}, "stream-mapping-failure-handling"),
    Mutation(TOPIC_RULE, RULE, {"errorAction": DROP}, "iot-rule-error-action"),
    Mutation(TOPIC_RULE, "rule-role", {"assumeRolePolicy": text("iot.amazonaws.com", "lambda.amazonaws.com")},
             "role-trusts-its-service", on=RULE),
    Mutation(SCHEDULE, "starter", {"assumeRolePolicy": text("events.amazonaws.com", "lambda.amazonaws.com")},
             "role-trusts-its-service", on="start"),
    Mutation(SUBSCRIPTION, "subscription", {"redrivePolicy": DROP}, "sns-subscription-redrive"),
    Mutation(ALARM_KEY, "key", {"policy": text("cloudwatch.amazonaws.com", "events.amazonaws.com")},
             "service-delivery-key"),
    Mutation(NAMES, "bucket", {"bucket": "Conduit_Dev_Files"}, "physical-name-limits"),
    Mutation(NAMES, "fifo", {"name": "orders"}, "physical-name-limits"),
    Mutation(NAMES, "rule", {"name": "conduit-dev-archive"}, "physical-name-limits"),
    Mutation(NAMES, "logs", {"name": "/aws/lambda/conduit dev fn"}, "physical-name-limits"),
    Mutation(NAMES, "role", {"name": "conduit-dev-" + "r" * 53}, "physical-name-limits"),
    Mutation(MANAGED_POLICY, "basic", {"policyArn": MANAGED + "AdministratorAccess"}, "iam-no-admin-managed-policies"),
    Mutation(MANAGED_POLICY, "basic", {"policyArn": MANAGED + "AWSLambdaExecute"}, "iam-broad-managed-policies"),
    Mutation(ROLE_ALIAS, CREDENTIALS, {"policy": text('"iot:UpdateThingShadow"', '"iot:*"')},
             "iot-role-alias-overly-permissive", on="devices"),
    Mutation(GUEST_POOL, GUEST, {"policy": text("${cognito-identity.amazonaws.com:sub}", "*")},
             "iot-cognito-role-overly-permissive", on="roles"),
    Mutation(IOT_LOGGING, "logs", {"defaultLogLevel": "DISABLED"}, "iot-logging-disabled", on="device"),
    Mutation(GRAPHQL, "graph", {"xrayEnabled": False}, "appsync-tracing"),
    Mutation(LOG_WRITER, "worker-policy", {"policy": text(LOG_GROUP, "log-group:*")}, "iam-logs-every-log-group"),
    Mutation(SERVICE_ROLE, "attached", {"policyArn": MANAGED + "service-role/AWSLambdaBasicExecutionRole"},
             "iam-logs-every-log-group-managed"),
    Mutation(SERVICE_ROLE, "attached", {"policyArn": MANAGED + "PowerUserAccess"}, "iam-no-admin-managed-policies"),
    Mutation(NARROW_MANAGED, "attached", {"policyArn": MANAGED + "service-role/AWSLambdaRole"},
             "iam-managed-policy-every-resource"),
    Mutation(UNIQUE_NAMES, "reader", {"name": "Conduit-Dev-Worker"}, "physical-names-unique", on="worker"),
    Mutation(UNIQUE_NAMES, "nightly-too", {"eventBusName": "orders"}, "physical-names-unique"),
]


def _mutated(record: RunRecord, name: str, changes: dict[str, Any]) -> RunRecord:
    """`record` with `changes` made to the resource `name` (in its inputs, and in its outputs where the
    run echoed the setting there too, as a stack policy reads both)."""
    record = copy.deepcopy(record)
    resource = _named(record, name)
    for key, value in changes.items():
        for props in (resource.inputs, resource.outputs):
            if value is DROP:
                props.pop(key, None)
            elif callable(value) and key in props:
                changed = value(props[key])
                assert changed != props[key], f"{key} of {name} is not what the mutation expects: {props[key]}"
                props[key] = changed
            elif props is resource.inputs or key in props:
                props[key] = value
    return record


def _named(record: RunRecord, name: str) -> RecordedResource:
    [resource] = [r for r in record.custom if name in (r.name, f"{r.type}::{r.name}")]
    return resource


def _findings(family: Family, record: RunRecord) -> list[Violation]:
    return [v for v in evaluate(record, "policy-fixtures") if v.policy in family.policies]


@pytest.mark.parametrize("family", FAMILIES, ids=[f.case for f in FAMILIES])
def test_the_happy_path_passes_the_whole_family(family):
    assert _findings(family, case_run(family.case)) == []


@pytest.mark.parametrize("mutation", MUTATIONS, ids=[m.id for m in MUTATIONS])
def test_one_change_fires_exactly_its_policy_on_that_resource_with_its_fix(mutation):
    record = _mutated(case_run(mutation.family.case), mutation.resource, mutation.changes)
    violations = _findings(mutation.family, record)
    urn = _named(record, mutation.on or mutation.resource).urn
    assert {(v.policy, v.urn) for v in violations} == {(mutation.policy, urn)}, violations
    assert all(v.fix == FIXES[mutation.policy] for v in violations)


@pytest.mark.parametrize("family", FAMILIES, ids=[f.case for f in FAMILIES])
def test_the_rows_cover_every_policy_of_each_family(family):
    assert {m.policy for m in MUTATIONS if m.family == family} == set(family.policies)


# Policies no single setting of one resource turns on; their fixture programs judge them end to end.
WITHOUT_ROWS = {
    "iam-no-privilege-escalation": "an attack path is a sum of grants, often across principals and policies",
    "iam-resource-exposure": "an attack path is a sum of grants",
    "iam-data-exfiltration": "an attack path is a sum of grants",
    "delivery-after-permission": "an order between resources (depends_on), not a setting",
    "iot-device-certificate-shared": "two attachments of one certificate: a link between resources",
    "lambda-permission-multiple-principals": "a second permission: a resource added, not a setting changed",
    "s3-encryption-at-rest": "a bucket's encryption is a resource of its own, missing",
    "s3-tls-only": "a bucket's policy is a resource of its own, missing",
    "reviewed-exposure": "a public bucket's review is an access block or a tag beside it",
    "prod-point-in-time-recovery": "judged by the stack's name against the pack's config",
    "apigateway-stepfunctions-tracing": "no fixture program passes it with a REST stage or a state machine yet",
}


def test_every_policy_in_a_family_is_in_the_pack():
    assert {policy for family in FAMILIES for policy in family.policies} <= set(FIXES)


def test_every_policy_has_a_row_or_says_why_not():
    with_rows = {m.policy for m in MUTATIONS}
    assert not with_rows & set(WITHOUT_ROWS)
    assert with_rows | set(WITHOUT_ROWS) == set(FIXES)
