"""`conduit local bench`: figures for the local cloud, printed (never asserted by tests).

- time to start the emulator and deploy the stack;
- end-to-end latency per flow of every system the stack deploys, p50/p95 over `events` events;
- CSV ingest rows per second, and AWS API calls made by the roles per 1,000 rows.
"""

from __future__ import annotations

import time
from pathlib import Path

from conduit.local import emulator as emulators
from conduit.local.deployment import deploy
from conduit.local.scenario import BenchOptions
from conduit.local.scenarios import SCENARIOS


def run_bench(stack: str, project_dir: Path, state_dir: Path, options: BenchOptions) -> int:
    print(f"Conduit local cloud benchmark: stack '{stack}', {options.events} events per flow, "
          f"{options.rows} CSV rows")
    try:
        emulators.stop(state_dir)
        started = time.perf_counter()
        deployment = deploy(stack, project_dir, state_dir)
        total = time.perf_counter() - started
        timings = deployment.record["timings"]
        print(f"  deploy {len(deployment.resources)} resources (emulator start {timings['emulatorSeconds']:.1f} s, "
              f"program {timings['deploySeconds']:.1f} s)   total {total:.1f} s")
        print(f"End-to-end latency per flow, {options.events} events each, one at a time (warm after the first):")
        for scenario in SCENARIOS:
            stage = scenario.stage(deployment, project_dir)
            if stage is not None:
                scenario.bench(stage, options)
    finally:
        emulators.stop(state_dir)
    return 0
