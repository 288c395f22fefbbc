"""Faults the local cloud can inject, so at-least-once delivery is proven, not hoped for:

- duplicate deliveries: every event a service hands a function (a queue's batch, a stream's records,
  S3, SNS, EventBridge and IoT rule deliveries, asynchronous invokes) is delivered `n` times;
- a crash after the first write: the first delivery of each event kills the function's worker right
  after its first successful write call (a put, an update, a send, a publish), before it can answer,
  as a timeout or an out-of-memory kill would; the service then delivers the event again. An event
  is in at most one crashed invocation (a queue regroups messages on redelivery).

API Gateway requests are never repeated: a client's request is not an at-least-once delivery.
Installed by the launcher (conduit/local/launcher.py) inside the emulator; the worker side is
`worker_hooks/sitecustomize.py`, which every function's worker imports when faults are on. Written
against ministack 1.5.33 (through `ministack_seam`: its function execution and worker invoke).
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from conduit.local import ministack_seam

DUPLICATES = "CONDUIT_DUPLICATE_DELIVERIES"
CRASH = "CONDUIT_CRASH_AFTER_WRITE"
CRASH_MARK = "Conduit=crash-after-write"  # rides in the invocation's trace header to the worker
HOOKS = Path(__file__).parent / "worker_hooks"
ASYNC_RETRY_AFTER_SECONDS = 31  # just past the functions' default 30 s timeout (infra/blocks/function.py)


@dataclass(frozen=True)
class Faults:
    """What `conduit local ... --duplicate-deliveries N --crash-after-write` asks of the emulator."""

    duplicates: int = 1
    crash_after_write: bool = False

    def described(self) -> str:
        """`, every delivery twice, crashes after the first write` (nothing when there are no faults)."""
        said = ([f"every delivery {self.duplicates} times"] if self.duplicates > 1 else []) + (
            ["a crash after each event's first write"] if self.crash_after_write else [])
        return "".join(f", {part}" for part in said)

    def environment(self) -> dict[str, str]:
        """The emulator's environment for these faults (nothing when there are none)."""
        if self.duplicates <= 1 and not self.crash_after_write:
            return {}
        env = {DUPLICATES: str(self.duplicates), CRASH: "1" if self.crash_after_write else "0"}
        if self.crash_after_write:
            # AWS retries a failed asynchronous invocation after about a minute, then two: after a
            # crashed invocation's timeout (under a minute), so its in-progress record has expired.
            env |= {"LAMBDA_ASYNC_RETRY_BASE_SECONDS": str(ASYNC_RETRY_AFTER_SECONDS),
                    "LAMBDA_ASYNC_RETRY_MAX_SECONDS": str(2 * ASYNC_RETRY_AFTER_SECONDS)}
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(HOOKS), os.environ.get("PYTHONPATH")]))
        return env


NO_FAULTS = Faults()


def is_api_request(event: Any) -> bool:
    context = event.get("requestContext") if isinstance(event, dict) else None
    return isinstance(context, dict) and ("http" in context or "httpMethod" in event or "apiId" in context)


def delivery_keys(function: str, event: Any) -> set[str]:
    """What identifies each event of a delivery across its redeliveries: message, record and event
    ids (a queue's receipt handles and receive counts change every time), else the content."""
    keys: set[str] = set()
    records = event.get("Records") if isinstance(event, dict) else None
    for record in records if isinstance(records, list) else []:
        own = (record.get("messageId") or record.get("eventID") or (record.get("Sns") or {}).get("MessageId")
               or ((record.get("s3") or {}).get("object") or {}).get("sequencer"))
        keys.add(f"{function}|{own or json.dumps(record, sort_keys=True, default=str)}")
    if not keys:
        own = event.get("id") if isinstance(event, dict) and "detail-type" in event else None
        content = hashlib.sha256(json.dumps(event, sort_keys=True, default=str).encode()).hexdigest()
        keys.add(f"{function}|{own or content}")
    return keys


def install() -> None:
    """Wrap ministack's function execution and its workers' invoke (`ministack_seam`) with the faults
    the environment asks for."""
    duplicates = int(os.environ.get(DUPLICATES, "1") or 1)
    crash = os.environ.get(CRASH) == "1"
    if duplicates <= 1 and not crash:
        return
    seen: set[str] = set()
    crashed: set[str] = set()
    lock = threading.Lock()
    crashing = threading.local()

    def to_crash(function: str, event: Any) -> bool:
        """A delivery holding an event never delivered before, and none already crashed once: a
        queue regroups its messages on redelivery, and a message crashed in every batch it lands in
        would only ever reach its dead-letter queue (a crash does not follow a message around)."""
        keys = delivery_keys(function, event)
        with lock:
            chosen = not keys <= seen and not keys & crashed
            seen.update(keys)
            if chosen:
                crashed.update(keys)
        return chosen

    def run_with_faults(execute: Any) -> Any:
        def executing(func: dict, event: Any) -> dict:
            if is_api_request(event):
                return execute(func, event)
            name = (func.get("config") or func).get("FunctionName", "")
            crashing.now = crash and to_crash(name, event)
            for _ in range(duplicates - 1):
                execute(func, event)
                crashing.now = False
            try:
                return execute(func, event)
            finally:
                crashing.now = False

        return executing

    def mark_crashes(invoke: Any) -> Any:
        def invoking(worker: Any, event: Any, request_id: str, *, trace_id: str | None = None, **rest: Any) -> dict:
            if getattr(crashing, "now", False):
                trace_id = f"{trace_id or 'Root=1-00000000-000000000000000000000000'};{CRASH_MARK}"
            return invoke(worker, event, request_id, trace_id=trace_id, **rest)

        return invoking

    ministack_seam.replace(*ministack_seam.EXECUTE_FUNCTION, run_with_faults)
    ministack_seam.replace(*ministack_seam.WORKER_INVOKE, mark_crashes)
