"""`conduit check`: the policy pack against a stack's program, offline."""

from __future__ import annotations

import argparse
import importlib
from concurrent.futures import ThreadPoolExecutor
from types import ModuleType

from conduit.check_inputs import load_policy_config, require_pack_data
from conduit.commands.stack import stack_policy_config, warn_about_settings
from conduit.project import load_project
from conduit.runner import Mode, run_stack

JUDGE = "conduit.check"  # pulumi-policy, protobuf and every policy module: a third of a second to load


def check(args: argparse.Namespace) -> int:
    require_pack_data()
    warn_about_settings(args)
    config = load_policy_config(stack_policy_config(args))
    # The program runs in a child process; the pack loads on a thread meanwhile, not before it starts.
    with ThreadPoolExecutor(1, thread_name_prefix="load-pack") as loader:
        loading = loader.submit(importlib.import_module, JUDGE)
        document = run_stack(args.project_dir, args.stack, mode=Mode.UNKNOWN if args.preview else Mode.PLAUSIBLE,
                             timeout_seconds=args.timeout)
    pack: ModuleType = loading.result()
    verdict = pack.judge(document, load_project(args.project_dir).name, config)
    unjudged = verdict.unjudged if args.preview else None
    calls = document.direct_calls
    print(pack.as_json(verdict.violations, unjudged, calls, len(document.resources)) if args.json
          else pack.render(verdict.violations, unjudged, args.preview, calls))
    return 1 if any(v.enforcement == "mandatory" for v in verdict.violations) else 0
