"""Turn pydantic's errors into one line a caller can act on."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError


def describe(error: ValidationError) -> str:
    """`field: message; other: message`, the way an API client or a quarantine reader wants it."""
    return describe_errors(error.errors())


def describe_errors(errors: list[Any]) -> str:
    parts = []
    for item in errors:
        where = ".".join(str(p) for p in item["loc"]) or "body"
        message = str(item["msg"]).removeprefix("Value error, ")  # our own validators' words, as written
        parts.append(f"{where}: {message}")
    return "; ".join(parts)
