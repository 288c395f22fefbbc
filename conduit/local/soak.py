"""`conduit local soak`: every flow of every system at once, hostile input mixed in, and an account
per flow of where everything sent ended up (sent = stored + quarantined + dead-lettered, or the
flow's equivalent). Exits non-zero on any loss, any 5xx, or a view that diverged."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

from conduit.local import emulator as emulators
from conduit.local.deployment import deploy
from conduit.local.scenario import Account, SoakOptions
from conduit.local.scenarios import SCENARIOS, deployed


def run_soak(stack: str, project_dir: Path, state_dir: Path, options: SoakOptions) -> int:
    """0 when every flow is accounted for; 1 on any loss; 2 when some flow could not be judged."""
    print(f"Conduit soak: stack '{stack}' on the local cloud, scale {options.scale}, every flow at once"
          + options.faults.described())
    progress = options.progress
    by_system: dict[str, list[Account]] = {}
    try:
        deployment = deploy(stack, project_dir, state_dir, progress=progress, injected=options.faults)
        stages = deployed(deployment, project_dir)
        started = time.perf_counter()
        progress.say(f"soaking {len(stages)} systems at once ...")
        with ThreadPoolExecutor(len(stages)) as pool:
            futures = {pool.submit(scenario.soak, stage, options): scenario for scenario, stage in stages}
            for finished, future in enumerate(as_completed(futures), start=1):
                scenario = futures[future]
                try:
                    by_system[scenario.system_name] = future.result()
                except Exception as exc:  # it could not be sent or awaited: not judged, never a loss
                    by_system[scenario.system_name] = [Account.not_judged(scenario.system_name, exc)]
                progress.say(f"[{finished}/{len(stages)}] {scenario.system_name} accounted for after "
                             f"{time.perf_counter() - started:.0f} s")
        elapsed = time.perf_counter() - started
    finally:
        emulators.stop(state_dir)
    accounts = [a for scenario in SCENARIOS for a in by_system.get(scenario.system_name, [])]
    for account in accounts:
        print(f"  {account.line()}")
    lost = [a for a in accounts if a.lost]
    unjudged = [a for a in accounts if a.unjudged]
    total = sum(a.sent or 0 for a in accounts)
    verdict = (f"LOSS in {len(lost)} flow(s)" if lost else
               f"{len(unjudged)} flow(s) not judged (TIMEOUT or UNJUDGED above), nothing lost in the others"
               if unjudged else "nothing lost")
    print(f"{total} requests, rows, files and messages in {elapsed:.1f} s; {verdict}")
    return 1 if lost else 2 if unjudged else 0
