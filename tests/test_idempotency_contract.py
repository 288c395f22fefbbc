"""What Powertools' idempotency utility asks of DynamoDB, held to what a Deliveries table grants
(infra/blocks/deliveries.py RECORDING): a Powertools upgrade that starts reading, or writes another
way, fails here before a deployed function is refused by its own role."""

from __future__ import annotations

from collections import Counter
from unittest import mock

import botocore.client
import pytest

from handlers.shared.idempotency import Once
from infra.blocks.deliveries import RECORDING
from tests.conftest import LAMBDA_CONTEXT

GRANTED = {action.split(":", 1)[1] for action in RECORDING}


@pytest.fixture
def calls(deliveries):
    """Every DynamoDB operation made while the test runs, by name."""
    made: Counter[str] = Counter()
    original = botocore.client.BaseClient._make_api_call

    def recording(client, operation, params):
        if client.meta.service_model.service_name == "dynamodb":
            made[operation] += 1
        return original(client, operation, params)

    with mock.patch.object(botocore.client.BaseClient, "_make_api_call", recording):
        yield made


def test_a_first_delivery_puts_then_completes_its_record(calls):
    once = Once(lambda event: {"done": event["id"]}, "event", "id", 60)
    assert once(LAMBDA_CONTEXT, event={"id": "a"}) == {"done": "a"}
    assert calls == Counter({"PutItem": 1, "UpdateItem": 1})


def test_a_repeat_is_answered_from_the_refused_put_without_reading(calls):
    effects = []
    once = Once(lambda event: effects.append(event["id"]) or {"done": event["id"]}, "event", "id", 60)
    once(LAMBDA_CONTEXT, event={"id": "a"})
    calls.clear()
    assert once(LAMBDA_CONTEXT, event={"id": "a"}) == {"done": "a"}
    assert effects == ["a"] and calls == Counter({"PutItem": 1}), "the record came back with the refusal (ALL_OLD)"


def test_a_failed_effect_deletes_its_record_so_the_retry_runs(calls):
    attempts = []

    def flaky(event):
        attempts.append(event["id"])
        if len(attempts) == 1:
            raise RuntimeError("the effect failed")
        return {"done": event["id"]}

    once = Once(flaky, "event", "id", 60)
    with pytest.raises(RuntimeError):
        once(LAMBDA_CONTEXT, event={"id": "a"})
    assert calls["DeleteItem"] == 1
    assert once(LAMBDA_CONTEXT, event={"id": "a"}) == {"done": "a"} and attempts == ["a", "a"]


def test_every_operation_it_made_is_one_a_deliveries_table_grants(calls):
    once = Once(lambda event: None, "event", "id", 60)
    for key in ("a", "a", "b"):
        once(LAMBDA_CONTEXT, event={"id": key})
    assert set(calls) <= GRANTED and "GetItem" not in GRANTED
