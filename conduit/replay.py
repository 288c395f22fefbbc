"""`conduit replay`: replay the cat feeder's ledger, its EventBridge archive, onto its bus.

Event sourcing's payoff: the clicks and the devices' state reports of a time range are delivered
again to the projection, which rebuilds `GET /feeders` (its writes are conditional, so replaying
what it already holds changes nothing). A replay feeds no cat: the feed rule hears live clicks only.
With `--feed-again`, the replay is named so the feed-again rule hears it, and its clicks go out as
new commands with new ids (the devices would refuse the old ones as served).
"""

from __future__ import annotations

import datetime
import json
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import boto3

from conduit.local.deployment import running_deployment
from conduit.local.options import state_dir as state_dir_of
from handlers.cat_feeder.contract import FEED_AGAIN
from infra.systems import CAT_FEEDER


class ReplayError(RuntimeError):
    """The replay could not be started or did not finish."""


def _time(text: str, what: str) -> datetime.datetime:
    try:
        moment = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ReplayError(f"{what} {text!r} is not an ISO 8601 time such as 2026-11-22T10:00:00Z") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=datetime.UTC)


def _ledger(stack: str, project_dir: Path, state_dir: Path | None) -> tuple[Any, dict[str, Any]]:
    """An EventBridge client and the catFeeder outputs: the local cloud's, else the stack's."""
    deployed = running_deployment(stack, state_dir or state_dir_of(project_dir))
    if deployed is not None:
        return deployed.emulator.client("events"), deployed.outputs.get(CAT_FEEDER.key) or {}
    if shutil.which("pulumi") is None:
        raise ReplayError(f"stack '{stack}' is not on the local cloud and the Pulumi CLI is not installed")
    result = subprocess.run(["pulumi", "stack", "output", CAT_FEEDER.key, "--json", "--stack", stack], cwd=project_dir,
                            capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise ReplayError(f"pulumi stack output failed for '{stack}': {result.stderr.strip()}")
    return boto3.client("events"), json.loads(result.stdout)


def replay(stack: str, since: str, until: str | None, project_dir: Path, timeout_seconds: float = 300,
           state_dir: Path | None = None, feed_again: bool = False) -> str:
    start = _time(since, "--since")
    end = _time(until, "--until") if until else datetime.datetime.now(datetime.UTC)
    if end <= start:
        raise ReplayError(f"--until ({end.isoformat()}) must be after --since ({start.isoformat()})")
    events, outputs = _ledger(stack, project_dir, state_dir)
    if not outputs.get("archiveArn"):
        raise ReplayError(f"stack '{stack}' has no cat feeder ledger (catFeeder.archiveArn output)")
    name = f"{FEED_AGAIN if feed_again else ''}conduit-{stack}-{int(time.time())}"[:64]
    events.start_replay(ReplayName=name, EventSourceArn=outputs["archiveArn"], EventStartTime=start,
                        EventEndTime=end, Destination={"Arn": outputs["busArn"]})
    deadline = time.monotonic() + timeout_seconds
    while time.monotonic() < deadline:
        state = events.describe_replay(ReplayName=name)
        if state["State"] == "COMPLETED":
            fed = "; its clicks fed again as new commands" if feed_again else "; views rebuilt, no cat fed"
            return f"replayed the ledger of '{stack}' from {start.isoformat()} to {end.isoformat()} ({name}){fed}"
        if state["State"] in {"FAILED", "CANCELLED"}:
            raise ReplayError(f"replay {name} {state['State'].lower()}: {state.get('StateReason', 'no reason')}")
        time.sleep(0.5)
    raise ReplayError(f"replay {name} did not finish within {timeout_seconds}s; see describe-replay")
