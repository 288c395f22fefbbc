"""The IoT data plane, reached through the account's ATS endpoint.

The endpoint is looked up once per container and kept only when the lookup succeeds: a failed
lookup is retried on the next call instead of being cached forever (the originals' bug).
"""

from __future__ import annotations

import functools
import os
from typing import Any

import boto3

from handlers.shared.aws import client
from handlers.shared.numbers import exact_dumps


@functools.cache
def data_plane() -> Any:
    """An `iot-data` client for this account's endpoint. Cached only once made: a failed lookup
    raises, and functools.cache keeps no exception, so the next call tries again."""
    if os.environ.get("AWS_ENDPOINT_URL") or os.environ.get("AWS_ENDPOINT_URL_IOT_DATA_PLANE"):
        # The SDK's standard endpoint override (emulators, VPC endpoints) wins over a lookup.
        return boto3.client("iot-data")
    address = client("iot").describe_endpoint(endpointType="iot:Data-ATS")["endpointAddress"]
    return boto3.client("iot-data", endpoint_url=f"https://{address}")


def reset() -> None:
    """Forget the client (tests, and a new account or region)."""
    data_plane.cache_clear()


def publish_json(topic: str, message: dict[str, Any], qos: int = 1) -> None:
    """Publish `message` as JSON, its Decimals as exact numbers."""
    data_plane().publish(topic=topic, qos=qos, payload=exact_dumps(message).encode())


def retained(topic: str) -> bytes | None:
    """The message retained on `topic`; None when there is none."""
    data = data_plane()
    try:
        return data.get_retained_message(topic=topic)["payload"] or None
    except data.exceptions.ResourceNotFoundException:
        return None


def clear_retained(topic: str) -> None:
    """Forget `topic`'s retained message: MQTT's way is an empty retained publish."""
    data_plane().publish(topic=topic, qos=1, retain=True, payload=b"")
