"""What a system's scenario is: the one place that knows how to drive that system on the local cloud.

The demo, the bench and the end-to-end tests loop over the registered scenarios
(`conduit.local.scenarios.SCENARIOS`) instead of knowing the systems themselves.
"""

from __future__ import annotations

import statistics
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from conduit.local.deployment import LocalDeployment
from conduit.local.emulator import Emulator
from conduit.local.faults import NO_FAULTS, Faults
from conduit.local.options import SOAK_PATIENCE_SECONDS
from conduit.local.traffic import FlowTimeout, wait_until
from conduit.progress import QUIET, Progress
from infra.systems import System


@dataclass(frozen=True)
class Stage:
    """One system of a local deployment: the emulator, that system's stack outputs, where it came from."""

    deployment: LocalDeployment
    outputs: dict[str, Any]
    project_dir: Path

    @property
    def emulator(self) -> Emulator:
        return self.deployment.emulator

    @property
    def stack(self) -> str:
        return self.deployment.stack


@dataclass(frozen=True)
class BenchOptions:
    events: int = 200
    rows: int = 2000
    progress: Progress = QUIET
    big_file: int = 0
    """Rows of one very large CSV sent through the ingest function (0: none)."""


@dataclass(frozen=True)
class Latency:
    """One flow's end-to-end latency over `samples`, measured at its destination, not through an API."""

    flow: str
    samples: tuple[float, ...]

    @property
    def p50_ms(self) -> float:
        return statistics.median(self.samples) * 1000

    @property
    def p95_ms(self) -> float:
        ordered = sorted(self.samples)
        return ordered[max(0, round(0.95 * len(ordered)) - 1)] * 1000

    def line(self) -> str:
        return f"  {self.flow:42s} p50 {self.p50_ms:7.0f} ms   p95 {self.p95_ms:7.0f} ms   (n={len(self.samples)})"

    def figures(self) -> dict[str, Any]:
        return {"p50Ms": round(self.p50_ms, 1), "p95Ms": round(self.p95_ms, 1), "events": len(self.samples)}


def measure(flow: str, events: int, run: Callable[[int], Any], progress: Progress = QUIET) -> Latency:
    """Time `events` runs of `run(n)`, one at a time, and print the flow's line."""
    latency = Latency(flow, tuple(latencies(events, run, progress, flow)))
    print(latency.line())
    return latency


@dataclass(frozen=True)
class SoakOptions:
    """How much each flow sends at once (about a tenth of it poison, duplicates or conflicts), and how
    long a wait lasts: until `patience` seconds pass with no activity at all in the local cloud (a
    busy machine is slow, not lossy), and never longer than `limit`."""

    scale: int = 100
    patience: float = SOAK_PATIENCE_SECONDS
    limit: float = 1800.0
    progress: Progress = QUIET
    faults: Faults = NO_FAULTS

    def wait(self, stage: Stage, condition: Callable[[], Any], what: str, interval: float = 0.05) -> Any:
        """`condition()`'s first true value; None once the local cloud has gone idle without it (the flow's
        account then shows what is missing); FlowTimeout when the limit comes while it is still at work."""
        try:
            return wait_until(condition, self.patience, what, interval, busy=stage.emulator.activity,
                              limit=self.limit)
        except FlowTimeout as timeout:
            if timeout.idle:
                return None
            raise


@dataclass
class Account:
    """What one flow sent and where every piece of it ended up: nothing may be unaccounted for.

    A flow that could not be judged says so with its cause instead (`unjudged`): TIMEOUT when the
    local cloud was still at work when the wait's limit came, UNJUDGED when its input could not even
    be sent. LOSS is kept for what was sent and is not accounted for."""

    flow: str
    sent: int | None
    outcomes: dict[str, int]
    problems: list[str] = field(default_factory=list)
    unjudged: tuple[str, str] | None = None  # (TIMEOUT or UNJUDGED, the cause)
    notes: list[str] = field(default_factory=list)  # what is worth knowing and is no loss

    @classmethod
    def not_judged(cls, flow: str, error: BaseException) -> Account:
        verdict = "TIMEOUT" if isinstance(error, FlowTimeout | TimeoutError) else "UNJUDGED"
        return cls(flow, None, {}, unjudged=(verdict, f"{type(error).__name__}: {error}"))

    @property
    def accounted(self) -> int:
        return sum(self.outcomes.values())

    @property
    def lost(self) -> bool:
        return self.unjudged is None and (self.accounted != self.sent or bool(self.problems))

    @property
    def verdict(self) -> str:
        return self.unjudged[0] if self.unjudged else "LOSS" if self.lost else "ok"

    def line(self) -> str:
        if self.unjudged:
            return f"{self.flow:38s} not judged  [{self.unjudged[0]}]\n      {self.unjudged[1]}"
        parts = " + ".join(f"{n} {what}" for what, n in self.outcomes.items())
        return f"{self.flow:38s} sent {self.sent:5d} = {parts}  [{self.verdict}]" + "".join(
            f"\n      {p}" for p in [*self.problems, *self.notes])


@dataclass
class ClientUsage:
    """What the client side of a flow spends: priced dimensions (an API request, an S3 PUT, a device's
    MQTT messages), and the topics devices publish on (their rules are counted from the wiring)."""

    counts: Counter[str] = field(default_factory=Counter)
    device_topics: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class UsageFlow:
    """One priced flow: `run(stage, units)` sends that many units (events, rows, clicks), waits until
    each has reached its destination, and returns what the client spent."""

    name: str
    unit: str
    units: int
    run: Callable[[Stage, int], ClientUsage]


class Scenario:
    """Drives one system: `demo` shows it working and says whether it did; `bench` prints figures."""

    system: ClassVar[System]

    @property
    def system_name(self) -> str:
        return self.system.name

    def stage(self, deployment: LocalDeployment, project_dir: Path) -> Stage | None:
        """This system's stage in a deployment, or None when the stack does not deploy it."""
        outputs = deployment.revealed_outputs.get(self.system.key)  # a scenario plays the device too
        return None if outputs is None else Stage(deployment, outputs, project_dir)

    def demo(self, stage: Stage) -> bool:
        raise NotImplementedError

    def bench(self, stage: Stage, options: BenchOptions) -> dict[str, Any]:
        """Print the system's figures and return them (`{"flows": {name: Latency.figures()}, ...}`)."""
        raise NotImplementedError

    def soak(self, stage: Stage, options: SoakOptions) -> list[Account]:
        """Drive the system hard, hostile input mixed in, then account for everything sent."""
        raise NotImplementedError

    def usage_flows(self) -> list[UsageFlow]:
        """The system's priced flows, for the usage profile `conduit cost` prices."""
        raise NotImplementedError


def say(step: str, seconds: float | None = None) -> None:
    """One line of a demo's report, with how long the step took."""
    print(f"  {step}" + (f"  [{seconds * 1000:.0f} ms]" if seconds is not None else ""))


def latencies(events: int, flow: Callable[[int], Any], progress: Progress = QUIET, what: str = "events") -> list[float]:
    """Seconds each of `events` runs of `flow(n)` took, one at a time."""
    samples = []
    for n in range(events):
        started = time.perf_counter()
        flow(n)
        samples.append(time.perf_counter() - started)
        progress.count(what, n + 1, events)
    progress.end_count()
    return samples


class ScenarioError(RuntimeError):
    """A system did not answer as the scenario expects; the message says which call and what came back."""


def expect(condition: bool, what: str, got: Any) -> None:
    """A run-time check that survives `python -O`, unlike `assert`."""
    if not condition:
        raise ScenarioError(f"{what}; got {got!r}")
