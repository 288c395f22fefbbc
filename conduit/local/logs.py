"""`conduit local logs [FUNCTION] [--follow]`: the functions' log lines on the local cloud, as
`sam logs` and `localstack logs` users expect: one function or all, oldest first, then new ones
as they come."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, TextIO

from conduit.local.deployment import LocalDeployment
from conduit.local.scenario import ScenarioError

FUNCTION = "aws:lambda/function:Function"


@dataclass(frozen=True)
class LogLine:
    timestamp_ms: int
    function: str
    message: str

    def render(self, width: int) -> str:
        stamp = time.strftime("%H:%M:%S", time.gmtime(self.timestamp_ms / 1000)) + f".{self.timestamp_ms % 1000:03d}"
        return f"{stamp}  {self.function:{width}s}  {self.message.rstrip()}"


def functions(deployment: LocalDeployment) -> dict[str, str]:
    """Logical name (`message-ingest-store`) -> physical name of every function of the deployment."""
    return {r.name: r.outputs.get("name") or r.name for r in deployment.resources if r.type == FUNCTION}


def choose(deployment: LocalDeployment, wanted: str | None) -> dict[str, str]:
    """The functions to read: all, or the one `wanted` names by its logical or physical name."""
    known = functions(deployment)
    if wanted is None:
        return known
    for logical, physical in known.items():
        if wanted in (logical, physical):
            return {logical: physical}
    raise ScenarioError(f"no function {wanted!r} in stack '{deployment.stack}'; it has {', '.join(sorted(known))}")


def read(logs: Any, chosen: dict[str, str], since_ms: int) -> list[LogLine]:
    """Every line the chosen functions logged at or after `since_ms`, oldest first."""
    lines = []
    for logical, physical in chosen.items():
        for event in _events(logs, f"/aws/lambda/{physical}", since_ms):
            lines.append(LogLine(event["timestamp"], logical, event["message"]))
    return sorted(lines, key=lambda line: line.timestamp_ms)


def _events(logs: Any, group: str, since_ms: int) -> Iterator[dict[str, Any]]:
    token = None
    while True:
        try:
            page = logs.filter_log_events(logGroupName=group, startTime=since_ms,
                                          **({"nextToken": token} if token else {}))
        except logs.exceptions.ResourceNotFoundException:
            return  # a function that has not run yet has no log group
        yield from page.get("events", [])
        token = page.get("nextToken")
        if not token:
            return


def show(deployment: LocalDeployment, wanted: str | None, since_seconds: float, follow: bool,
         out: TextIO = sys.stdout, poll_seconds: float = 1.0) -> None:
    chosen = choose(deployment, wanted)
    logs = deployment.emulator.client("logs")
    width = max(map(len, chosen), default=0)
    since = int((time.time() - since_seconds) * 1000)
    shown: set[tuple[int, str, str]] = set()
    while True:
        for line in read(logs, chosen, since):
            key = (line.timestamp_ms, line.function, line.message)
            if key not in shown:
                shown.add(key)
                print(line.render(width), file=out, flush=True)
                since = max(since, line.timestamp_ms)
        if not follow:
            return
        time.sleep(poll_seconds)
