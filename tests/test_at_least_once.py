"""AWS delivers at least once: the whole soak again with every delivery made twice and each event's
first invocation killed right after its first write (conduit/local/faults.py). Every flow must still
account for everything it sent, and nothing may be done twice."""

from __future__ import annotations

import dataclasses

import pytest

from conduit.local.faults import ASYNC_RETRY_AFTER_SECONDS, Faults, delivery_keys
from conduit.local.scenario import SoakOptions
from conduit.local.soak import run_soak
from infra.blocks.function import FunctionArgs
from tests.conftest import REPO

pytestmark = pytest.mark.local_cloud


def test_every_flow_accounts_for_everything_under_duplicates_and_crashes(tmp_path, capsys):
    options = SoakOptions(scale=10, faults=Faults(duplicates=2, crash_after_write=True))
    assert run_soak("local", REPO, tmp_path / "state", options) == 0, capsys.readouterr().out
    out = capsys.readouterr().out
    assert "every delivery 2 times, a crash after each event's first write" in out
    assert "LOSS" not in out and "nothing lost" in out


def test_a_crashed_invocation_is_retried_only_after_its_in_progress_record_expired():
    """AWS retries a failed asynchronous invocation after about a minute; the functions time out
    sooner. The local cloud's retry under crash faults must also come after the timeout, or an
    idempotency record left in progress would turn the retry away and the event would be lost."""
    timeout = next(f.default for f in dataclasses.fields(FunctionArgs) if f.name == "timeout_seconds")
    assert timeout < ASYNC_RETRY_AFTER_SECONDS
    assert Faults(crash_after_write=True).environment()["LAMBDA_ASYNC_RETRY_BASE_SECONDS"] == str(
        ASYNC_RETRY_AFTER_SECONDS)


@pytest.mark.parametrize(("event", "same_as"), [
    ({"Records": [{"messageId": "m1", "receiptHandle": "a", "body": "x"}]},
     {"Records": [{"messageId": "m1", "receiptHandle": "b", "body": "x"}]}),  # a queue's redelivery
    ({"id": "e1", "detail-type": "t", "detail": {}}, {"id": "e1", "detail-type": "t", "detail": {}}),
])
def test_a_redelivery_is_recognised_by_the_events_own_identity(event, same_as):
    assert delivery_keys("f", event) == delivery_keys("f", same_as)
    assert delivery_keys("f", event) != delivery_keys("g", same_as), "per function"
