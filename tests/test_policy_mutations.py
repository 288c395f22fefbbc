"""Policies in process on one mutation at a time: a fixture program's real run (the shapes the provider
SDK records, not shapes written here) judged clean, then each row changes one setting of one resource
and exactly its policy fires, on that resource, with the policy's fix. A new case is a row."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

import pytest

from conduit.check import evaluate
from conduit.run_record import RunRecord
from conduit_policies.pack import FIXES
from tests.test_policies import case_run

DROP = object()  # a setting the mutation takes away


@dataclass(frozen=True)
class Mutation:
    case: str  # the fixture program whose run is the happy path
    resource: str  # the resource's name in that program
    changes: dict[str, Any]  # setting -> new value (DROP: removed; a function: of the old value)
    policy: str  # the one policy of the family that must fire, on that resource

    @property
    def id(self) -> str:
        return f"{self.policy}:{self.resource}:{','.join(self.changes)}"


# The policies a queue consumer's program answers to; the happy path passes every one of them.
QUEUE_CONSUMER = ("sqs-dead-letter-queue", "sqs-lambda-receive-count", "sqs-visibility-covers-function-timeout",
                  "encryption-at-rest", "lambda-deprecated-runtime")

MUTATIONS = [
    Mutation("queue-six-times-function", "work", {"redrivePolicy": DROP}, "sqs-dead-letter-queue"),
    Mutation("queue-six-times-function", "work", {"visibilityTimeoutSeconds": 30},
             "sqs-visibility-covers-function-timeout"),
    Mutation("queue-six-times-function", "work", {"sqsManagedSseEnabled": DROP}, "encryption-at-rest"),
    Mutation("queue-six-times-function", "consumer", {"runtime": "python3.7"}, "lambda-deprecated-runtime"),
    Mutation("queue-six-times-function", "work",
             {"redrivePolicy": lambda text: text.replace('"maxReceiveCount": 5', '"maxReceiveCount": 2')},
             "sqs-lambda-receive-count"),
]


def _mutated(record: RunRecord, name: str, changes: dict[str, Any]) -> tuple[RunRecord, str]:
    """`record` with `changes` made to the resource `name` (in its inputs, and in its outputs where the
    run echoed the setting there too, as a stack policy reads both); the resource's URN."""
    record = copy.deepcopy(record)
    [resource] = [r for r in record.custom if r.name == name]
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
    return record, resource.urn


def _family(record: RunRecord) -> set[tuple[str, str]]:
    return {(v.policy, v.urn) for v in evaluate(record, "policy-fixtures") if v.policy in QUEUE_CONSUMER}


def test_the_happy_path_passes_the_whole_family():
    assert _family(case_run("queue-six-times-function")) == set()


@pytest.mark.parametrize("mutation", MUTATIONS, ids=[m.id for m in MUTATIONS])
def test_one_change_fires_exactly_its_policy_on_that_resource_with_its_fix(mutation):
    record, urn = _mutated(case_run(mutation.case), mutation.resource, mutation.changes)
    violations = [v for v in evaluate(record, "policy-fixtures") if v.policy in QUEUE_CONSUMER]
    assert {(v.policy, v.urn) for v in violations} == {(mutation.policy, urn)}, violations
    assert all(v.fix == FIXES[mutation.policy] for v in violations)


def test_the_rows_cover_every_policy_of_the_family():
    assert {m.policy for m in MUTATIONS} == set(QUEUE_CONSUMER)
