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
FAMILIES = (QUEUE_CONSUMER, FUNCTION, HTTP_STAGE, EVENT_TARGET, ROLE_POLICY, DEVICE_POLICY)


def text(old: str, new: str) -> Callable[[str], str]:
    """A change inside a setting written as JSON text (a policy document, a redrive policy)."""
    return lambda value: value.replace(old, new)


STAGE = "aws:apigatewayv2/stage:Stage::http"  # the API and its stage share the name "http"
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


def test_every_policy_in_a_family_is_in_the_pack():
    assert {policy for family in FAMILIES for policy in family.policies} <= set(FIXES)
