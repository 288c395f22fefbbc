"""AWS clients, created once per container and reused across invocations."""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Iterator
from typing import Any

import boto3


@functools.cache
def client(service: str) -> Any:
    return boto3.client(service)


@functools.cache
def table(name: str) -> Any:
    return boto3.resource("dynamodb").Table(name)


def setting(name: str) -> str:
    """A required environment variable, with an error that says which one is missing."""
    try:
        return os.environ[name]
    except KeyError:
        raise RuntimeError(f"environment variable {name} is not set; the function's component must set it") from None


def every_item(read: Callable[..., dict[str, Any]], **args: Any) -> Iterator[dict[str, Any]]:
    """Every item a paged DynamoDB read (a table's `scan` or `query`) returns, page after page."""
    while True:
        page = read(**args)
        yield from page.get("Items", [])
        if "LastEvaluatedKey" not in page:
            return
        args["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def every_page(read: Callable[..., dict[str, Any]], **args: Any) -> Iterator[dict[str, Any]]:
    """Every page of a read paged by `nextToken` (the IoT and Lambda control planes)."""
    while True:
        page = read(**args)
        yield page
        if not page.get("nextToken"):
            return
        args["nextToken"] = page["nextToken"]
