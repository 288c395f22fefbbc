"""Shared fixtures: fake AWS credentials, moto, and event factories built from tests/events."""

from __future__ import annotations

import contextlib
import copy
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from unittest import mock

import pytest

# tests/firmware runs under MicroPython (see test_firmware.py), never under CPython's pytest.
collect_ignore = ["firmware"]

EVENTS = Path(__file__).parent / "events"
REPO = Path(__file__).resolve().parents[1]


def load_event(name: str) -> dict[str, Any]:
    return json.loads((EVENTS / name).read_text())


class LambdaContext:
    """What Lambda hands a handler as its context: Powertools' logger reads these."""

    function_name = "conduit-test-function"
    function_version = "$LATEST"
    memory_limit_in_mb = 256
    invoked_function_arn = "arn:aws:lambda:eu-west-1:123456789012:function:conduit-test-function"
    aws_request_id = "test-request"

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 30_000


LAMBDA_CONTEXT = LambdaContext()


@pytest.fixture(autouse=True)
def fake_aws_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test may reach a real account: credentials are fake and the region fixed."""
    for key in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    monkeypatch.setenv("AWS_ACCOUNT_ID_ENDPOINT_MODE", "disabled")
    monkeypatch.setenv("POWERTOOLS_LOG_LEVEL", os.environ.get("POWERTOOLS_LOG_LEVEL", "WARNING"))
    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "true")


@pytest.fixture
def moto_aws():
    """moto's in-process AWS, with the handlers' cached clients created inside it."""
    from moto import mock_aws

    from handlers.shared import aws

    aws.client.cache_clear()
    aws.table.cache_clear()
    with mock_aws():
        yield
    aws.client.cache_clear()
    aws.table.cache_clear()


def s3_event(bucket: str, key: str) -> dict[str, Any]:
    event = load_event("s3_object_created.json")
    record = event["Records"][0]["s3"]
    record["bucket"]["name"], record["bucket"]["arn"] = bucket, f"arn:aws:s3:::{bucket}"
    record["object"]["key"] = key
    return event


def http_event(method: str, path: str, body: Any = None, query: dict[str, str] | None = None,
               raw_body: str | None = None) -> dict[str, Any]:
    event = copy.deepcopy(load_event("http_api_request.json"))
    event["rawPath"] = event["requestContext"]["http"]["path"] = path
    event["requestContext"]["http"]["method"] = method
    if query:
        event["queryStringParameters"] = query
        event["rawQueryString"] = "&".join(f"{k}={v}" for k, v in query.items())
    if raw_body is not None:
        event["body"] = raw_body
    elif body is not None:
        event["body"] = json.dumps(body)
    return event


def sqs_record(body: str, message_id: str = "message-id", receipt_handle: str = "receipt-handle") -> dict[str, Any]:
    """One SQS record as Lambda's event source mapping delivers it."""
    return {**load_event("sqs_record.json"), "messageId": message_id, "receiptHandle": receipt_handle, "body": body}


@pytest.fixture
def deliveries(moto_aws, monkeypatch):
    """A function's deliveries table (infra/blocks/deliveries.py) on moto, and the Powertools
    persistence layer created inside it."""
    import boto3

    from handlers.shared import idempotency
    from handlers.shared.contract import DELIVERIES_SETTING, DELIVERY_KEY

    boto3.client("dynamodb").create_table(
        TableName="deliveries", BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": DELIVERY_KEY, "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": DELIVERY_KEY, "AttributeType": "S"}])
    monkeypatch.setenv(DELIVERIES_SETTING, "deliveries")
    idempotency.persistence.cache_clear()
    yield "deliveries"
    idempotency.persistence.cache_clear()


FLEET_STACK = "test"
FLEET_PREFIX = "conduit-test-feeder-"


@pytest.fixture
def fleet(moto_aws, monkeypatch):
    """A stack's feeders as things in moto's IoT registry (kitchen, hallway), beside another stack's
    kitchen in the same account, which this stack must never count as its own."""
    import boto3

    from handlers.cat_feeder import registry
    from handlers.cat_feeder.contract import FEEDER_ATTRIBUTE, STACK_ATTRIBUTE

    iot = boto3.client("iot")
    other = ("prod", "conduit-prod-feeder-")
    for (stack, prefix), feeder in [((FLEET_STACK, FLEET_PREFIX), "kitchen"), ((FLEET_STACK, FLEET_PREFIX), "hallway"),
                                    (other, "kitchen"), (other, "attic")]:
        iot.create_thing(thingName=prefix + feeder, attributePayload={"attributes": {
            STACK_ATTRIBUTE: stack, FEEDER_ATTRIBUTE: feeder}})
    monkeypatch.setenv("THING_PREFIX", FLEET_PREFIX)
    monkeypatch.setenv("STACK", FLEET_STACK)
    registry._known.cache_clear()
    yield iot
    registry._known.cache_clear()


class Crash(BaseException):
    """The container dying mid-invocation: no handler code catches it."""


@contextlib.contextmanager
def crash_after_writes(writes: int) -> Iterator[list[str]]:
    """Kill the invocation right after its `writes`-th successful write call (a put, an update, a
    send, a publish ...), the writes the local cloud's crash fault counts; yields the calls made."""
    import botocore.client

    from conduit.local.worker_hooks.sitecustomize import WRITES

    made: list[str] = []
    original = botocore.client.BaseClient._make_api_call

    def dying(client: Any, operation: str, params: dict[str, Any]) -> Any:
        result = original(client, operation, params)
        if operation.startswith(WRITES):
            made.append(operation)
            if len(made) == writes:
                raise Crash(f"killed after write {writes} ({operation})")
        return result

    with mock.patch.object(botocore.client.BaseClient, "_make_api_call", dying):
        yield made
