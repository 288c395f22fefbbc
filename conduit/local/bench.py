"""`conduit local bench`: figures for the local cloud, printed (never asserted by tests).

- time to start the emulator and deploy the stack;
- end-to-end latency per flow of every system the stack deploys, p50/p95 over `events` events,
  each read at the flow's destination (a table, a topic), never through another function;
- CSV ingest: the queueing stage and end to end in rows per second, invocations, SQS requests,
  write units and Lambda GB-s per 1,000 rows, for this stack and for seed 001's design deployed
  beside it on the same emulator (`conduit.local.ingest_bench`).

`--json` prints one JSON document on stdout (the human report goes to stderr).
"""

from __future__ import annotations

import contextlib
import json
import sys
import time
from pathlib import Path
from typing import Any

from conduit.local import emulator as emulators
from conduit.local.deployment import deploy
from conduit.local.scenario import BenchOptions
from conduit.local.scenarios import deployed


def run_bench(stack: str, project_dir: Path, state_dir: Path, options: BenchOptions, as_json: bool = False) -> int:
    report: dict[str, Any] = {"stack": stack, "eventsPerFlow": options.events, "rows": options.rows}
    with contextlib.redirect_stdout(sys.stderr) if as_json else contextlib.nullcontext():
        _bench(stack, project_dir, state_dir, options, report)
    if as_json:
        print(json.dumps(report, indent=2))
    return 0


def _bench(stack: str, project_dir: Path, state_dir: Path, options: BenchOptions, report: dict[str, Any]) -> None:
    print(f"Conduit local cloud benchmark: stack '{stack}', {options.events} events per flow, "
          f"{options.rows} CSV rows")
    try:
        emulators.stop(state_dir)
        started = time.perf_counter()
        deployment = deploy(stack, project_dir, state_dir, progress=options.progress)
        total = time.perf_counter() - started
        timings = deployment.record["timings"]
        report["deploy"] = {"resources": len(deployment.resources), "seconds": round(total, 2)}
        print(f"  deploy {len(deployment.resources)} resources (emulator start {timings['emulatorSeconds']:.1f} s, "
              f"program {timings['deploySeconds']:.1f} s)   total {total:.1f} s")
        print(f"End-to-end latency per flow, {options.events} events each, one at a time (warm after the first):")
        stages = deployed(deployment, project_dir)
        for n, (scenario, stage) in enumerate(stages, start=1):
            with options.progress.step(scenario.system_name, n, len(stages)):
                figures = scenario.bench(stage, options)
            report.setdefault("flows", {}).update(figures.pop("flows", {}))
            report.update(figures)
    finally:
        emulators.stop(state_dir)
