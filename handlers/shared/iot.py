"""The IoT data plane, reached through the account's ATS endpoint.

The endpoint is looked up once per container and kept only when the lookup succeeds: a failed
lookup is retried on the next call instead of being cached forever (the originals' bug).
"""

from __future__ import annotations

import json
import os
import threading
from typing import Any

import boto3

from handlers.shared.aws import client

_lock = threading.Lock()
_data_plane: Any = None


def data_plane() -> Any:
    """An `iot-data` client for this account's endpoint."""
    global _data_plane
    with _lock:
        if _data_plane is None:
            if os.environ.get("AWS_ENDPOINT_URL") or os.environ.get("AWS_ENDPOINT_URL_IOT_DATA_PLANE"):
                # The SDK's standard endpoint override (emulators, VPC endpoints) wins over a lookup.
                _data_plane = boto3.client("iot-data")
            else:
                address = client("iot").describe_endpoint(endpointType="iot:Data-ATS")["endpointAddress"]
                _data_plane = boto3.client("iot-data", endpoint_url=f"https://{address}")
        return _data_plane


def reset() -> None:
    """Forget the client (tests, and a new account or region)."""
    global _data_plane
    with _lock:
        _data_plane = None


def publish_json(topic: str, message: dict[str, Any], qos: int = 1) -> None:
    data_plane().publish(topic=topic, qos=qos, payload=json.dumps(message, default=str).encode())
