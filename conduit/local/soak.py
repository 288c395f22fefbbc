"""`conduit local soak`: every flow of every system at once, hostile input mixed in, and an account
per flow of where everything sent ended up (sent = stored + quarantined + dead-lettered, or the
flow's equivalent). Exits non-zero on any loss, any 5xx, or a view that diverged."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from conduit.local import emulator as emulators
from conduit.local.deployment import deploy
from conduit.local.scenario import Account, SoakOptions
from conduit.local.scenarios import SCENARIOS


def run_soak(stack: str, project_dir: Path, state_dir: Path, options: SoakOptions) -> int:
    print(f"Conduit soak: stack '{stack}' on the local cloud, scale {options.scale}, every flow at once")
    try:
        deployment = deploy(stack, project_dir, state_dir)
        stages = [(s, s.stage(deployment, project_dir)) for s in SCENARIOS]
        started = time.perf_counter()
        with ThreadPoolExecutor(len(stages)) as pool:
            futures = [(scenario, pool.submit(scenario.soak, stage, options)) for scenario, stage in stages if stage]
            accounts: list[Account] = []
            for scenario, future in futures:
                try:
                    accounts.extend(future.result())
                except Exception as exc:  # a flow that could not even be accounted for is a loss
                    accounts.append(Account(scenario.system_name, 0, {}, [f"{type(exc).__name__}: {exc}"]))
        elapsed = time.perf_counter() - started
    finally:
        emulators.stop(state_dir)
    for account in accounts:
        print(f"  {account.line()}")
    lost = [a for a in accounts if a.lost]
    total = sum(a.sent for a in accounts)
    print(f"{total} requests, rows, files and messages in {elapsed:.1f} s; "
          + ("nothing lost" if not lost else f"LOSS in {len(lost)} flow(s)"))
    return 1 if lost else 0
