"""The launcher's audit of every role's calls (`Emulator.audit_log`), read one way by everything
that reads it: the unused-permission report, the bench and the usage profile."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

# An item written or read inside TransactWriteItems/TransactGetItems costs two request units (the
# audit marks such calls `within` the transaction).
TRANSACTION_UNITS = 2


def audit_length(path: str | Path) -> int:
    """Lines in the audit so far: where a later `audit_entries` should start."""
    with open(path) as log:
        return sum(1 for _ in log)


def audit_entries(path: str | Path, start_line: int = 0) -> list[dict[str, Any]]:
    """`{"principal", "action", "resource", "allowed"}` of every call from line `start_line` on."""
    with open(path) as log:
        lines = log.read().splitlines()[start_line:]
    return [json.loads(line) for line in lines if line.strip()]


def role_name(principal: str) -> str:
    """The role an assumed-role ARN (`arn:aws:sts::<account>:assumed-role/<role>/<session>`) acts as."""
    return principal.split(":assumed-role/", 1)[-1].split("/", 1)[0]


def function_name(arn: str) -> str:
    """A Lambda function's name from its ARN, qualified or not."""
    return arn.split(":function:", 1)[1].split(":", 1)[0]
