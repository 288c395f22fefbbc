"""The record of a stack deployed onto the local cloud: where it lives, how to make and load it.

A record is the program run's resources and outputs (secrets marked but kept: flashing needs the
device keys, hence mode 0600) plus the emulator that holds them. It is valid only while that emulator
runs: a record left by an emulator since stopped names resources that no longer exist.
"""

from __future__ import annotations

import functools
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from conduit.local import emulator as emulators
from conduit.local.emulator import Emulator
from conduit.local.faults import NO_FAULTS, Faults
from conduit.local.options import STATE_DIR_VARIABLE
from conduit.local.options import state_dir as state_dir_of
from conduit.progress import QUIET, Progress
from conduit.run_record import RecordedResource, RunRecord, reveal
from conduit.runner import DEFAULT_TIMEOUT_SECONDS, Mode, run_stack


class NotDeployedError(RuntimeError):
    """The stack has no live deployment on the local cloud; the message says how to make one."""


@dataclass(frozen=True)
class LocalDeployment:
    """One stack on the running local cloud: `record` is the file's JSON as stored, `run` its program
    run, typed."""

    emulator: Emulator
    record: dict[str, Any]

    @functools.cached_property
    def run(self) -> RunRecord:
        return RunRecord.from_json(self.record)

    @property
    def stack(self) -> str:
        return self.run.stack

    @property
    def outputs(self) -> dict[str, Any]:
        """The stack's outputs, each secret still a `Secret` (`revealed_outputs` to act with them)."""
        return self.run.outputs

    @property
    def revealed_outputs(self) -> dict[str, Any]:
        """The stack's outputs with their secrets revealed, for who acts with them: flashing a device, a
        scenario playing one, `--show-secrets`."""
        return reveal(self.run.outputs)

    @property
    def resources(self) -> list[RecordedResource]:
        return self.run.custom


def record_file(state_dir: Path, stack: str) -> Path:
    return state_dir / f"deployment-{stack}.json"


def deploy(stack: str, project_dir: Path, state_dir: Path | None = None, port: int | None = None,
           progress: Progress = QUIET, injected: Faults = NO_FAULTS, beside: bool = False,
           timeout_seconds: float | None = DEFAULT_TIMEOUT_SECONDS) -> LocalDeployment:
    """Start (or reset) the emulator and deploy `stack` of the project onto it; with `beside`, a
    running emulator keeps the stacks already on it (one account and region, as two stacks share
    one on AWS). An emulator this call started is stopped again when the deployment fails."""
    state_dir = state_dir or state_dir_of(project_dir)
    started = time.perf_counter()
    emulator = emulators.find(state_dir)
    if emulator is None or (port and emulator.gateway_port != port) or injected != emulator.faults():
        progress.say("starting the local cloud (ministack) ...")
        emulator, ours = emulators.start(state_dir, port, injected), True
    else:
        if not beside:
            emulator.reset()
        ours = False
    emulator_ready = time.perf_counter()
    # The program's child process reaches the emulator with these (dynamic providers use boto3).
    env = {STATE_DIR_VARIABLE: str(state_dir), **emulator.client_environment()}
    try:
        document = run_stack(project_dir, stack, mode=Mode.LOCAL, env=env, timeout_seconds=timeout_seconds,
                             progress=lambda done, registered: progress.count(
                                 f"deploying stack '{stack}': resources created", done, registered))
    except BaseException:
        progress.end_count()
        if ours:
            emulators.stop(state_dir)
        raise
    progress.end_count()
    finished = time.perf_counter()
    record = {**document.to_json(), "emulator": emulator.__dict__,
              "timings": {"emulatorSeconds": emulator_ready - started, "deploySeconds": finished - emulator_ready}}
    path = record_file(state_dir, stack)
    path.touch(mode=0o600)
    path.chmod(0o600)  # it holds the emulator's device keys, which flashing needs
    path.write_text(json.dumps(record, indent=2))
    return LocalDeployment(emulator, record)


def running_deployment(stack: str, state_dir: Path) -> LocalDeployment | None:
    """The stack's deployment on the running emulator; None unless that emulator made the record."""
    running = emulators.find(state_dir)
    path = record_file(state_dir, stack)
    if running is None or not path.exists():
        return None
    record = json.loads(path.read_text())
    if record["emulator"]["pid"] != running.pid:
        return None
    return LocalDeployment(running, record)


def require_deployment(stack: str, state_dir: Path) -> LocalDeployment:
    """Like `running_deployment`, but a missing deployment is an error that says what to run."""
    deployed = running_deployment(stack, state_dir)
    if deployed is None:
        raise NotDeployedError(f"stack '{stack}' is not deployed on a running local cloud (state in {state_dir}); "
                               f"run: conduit local up --stack {stack}")
    return deployed
