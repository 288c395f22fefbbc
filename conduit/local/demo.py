"""`make demo`: deploy a stack onto the local cloud, drive every system it deploys, show what happened where."""

from __future__ import annotations

import time
from pathlib import Path

from conduit.local import emulator as emulators
from conduit.local.deployment import deploy
from conduit.local.permissions import report, unused_permissions
from conduit.local.scenarios import deployed
from conduit.progress import QUIET, Progress


def run_demo(stack: str, project_dir: Path, state_dir: Path, progress: Progress = QUIET) -> int:
    print(f"Conduit demo: stack '{stack}' on the local cloud (ministack, IAM enforced)")
    ok = False
    try:
        started = time.perf_counter()
        deployment = deploy(stack, project_dir, state_dir, progress=progress)
        print(f"  deployed {len(deployment.resources)} resources in {time.perf_counter() - started:.1f}s at "
              f"{deployment.emulator.endpoint}")
        ok = True
        stages = deployed(deployment, project_dir)
        for n, (scenario, stage) in enumerate(stages, start=1):
            with progress.step(scenario.system_name, n, len(stages)):
                ok = scenario.demo(stage) and ok
        print("\nPermissions granted but never used by this run:")
        unused = unused_permissions(deployment.run, Path(deployment.emulator.audit_log))
        print("  " + report(unused).replace("\n", "\n  "))
    finally:
        stopped = emulators.stop(state_dir)
        print(f"\nlocal cloud {'stopped' if stopped else 'was not running'}; nothing left running")
    return 0 if ok else 1
