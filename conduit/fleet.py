"""`python -m conduit.fleet --feeders 1000 [--local]`: how the cat feeder grows with its fleet.

Writes a stack of N feeders (dev's settings, the cat feeder alone) into a copy of the project, then
times `conduit preview` of it (and, with --local, a deployment onto the local cloud) and prints what
grows with the fleet (resources per feeder) and what must not (the largest role policy, function
environment and device policy). The README's fleet figures come from this command.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from conduit.local import emulator as emulators
from conduit.local.deployment import deploy
from conduit.project import copy_project
from conduit.run_record import RunRecord
from conduit.runner import run_stack


def fleet_settings(base: str, feeders: int, stack: str = "dev") -> str:
    """`base` (a stack file's text) with the cat feeder alone and `feeders` feeders."""
    names = "\n".join(f"      - name: feeder-{n:04d}" for n in range(feeders))
    text = re.sub(r"  conduit:systems:\n(    - .*\n)+", "  conduit:systems:\n    - cat-feeder\n", base)
    text = re.sub(r"    feeders:\n(      - .*\n)+", f"    feeders:\n{names}\n", text)
    if text.count("feeder-0000") != 1:
        raise ValueError(f"Pulumi.{stack}.yaml has no conduit:catFeeder.feeders list to grow")
    return text


def growth(document: RunRecord) -> dict[str, Any]:
    """What a deployment of the fleet holds: resources by type, and the largest documents that must
    not grow with it (IAM caps an inline role policy at 10,240 characters, Lambda an environment
    at 4 KB, AWS IoT a policy document at 2,048 characters)."""
    resources = document.resources

    def largest(type_: str, read: Any) -> int:
        return max((len(read(r.inputs)) for r in document.of_type(type_)), default=0)

    return {"resources": len(resources), "byType": Counter(r.type for r in resources),
            "rolePolicyChars": largest("aws:iam/rolePolicy:RolePolicy", lambda i: i["policy"]),
            "environmentBytes": largest("aws:lambda/function:Function",
                                        lambda i: json.dumps((i.get("environment") or {}).get("variables") or {})),
            "devicePolicyChars": largest("aws:iot/policy:Policy", lambda i: i["policy"])}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m conduit.fleet", description=__doc__.splitlines()[0])
    parser.add_argument("--feeders", type=int, default=1000)
    parser.add_argument("--project-dir", type=Path, default=Path.cwd())
    parser.add_argument("--local", action="store_true", help="also deploy the fleet onto the local cloud")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="conduit-fleet-") as scratch:
        project = copy_project(args.project_dir.resolve(), Path(scratch) / "project")
        (project / "Pulumi.fleet.yaml").write_text(fleet_settings((project / "Pulumi.dev.yaml").read_text(),
                                                                  args.feeders))
        started = time.perf_counter()
        shape = growth(run_stack(project, "fleet"))
        preview_seconds = time.perf_counter() - started
        per_feeder = sorted(t for t, n in shape["byType"].items() if n == args.feeders)
        fixed = shape["resources"] - len(per_feeder) * args.feeders
        print(f"{args.feeders} feeders: conduit preview in {preview_seconds:.1f} s, {shape['resources']} resources "
              f"({len(per_feeder)} per feeder, {fixed} for the system whatever its size)")
        print(f"  per feeder: {', '.join(per_feeder)}")
        print(f"  largest role policy {shape['rolePolicyChars']} of 10,240 characters, largest function "
              f"environment {shape['environmentBytes']} of 4,096 bytes, device policy "
              f"{shape['devicePolicyChars']} of 2,048 characters: none grows with the fleet")
        if args.local:
            state = Path(scratch) / "local"
            started = time.perf_counter()
            try:
                deployed = deploy("fleet", project, state, timeout_seconds=None)
            finally:
                emulators.stop(state)
            print(f"  conduit local up: {len(deployed.resources)} resources in {time.perf_counter() - started:.1f} s "
                  f"({args.feeders} certificates made through the dynamic provider)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
