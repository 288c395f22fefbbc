"""`conduit check`: the policy pack against a stack's program, offline."""

from __future__ import annotations

import argparse

from conduit.check import as_json, judge, load_policy_config, render, require_pack_data
from conduit.commands.stack import stack_policy_config, warn_about_settings
from conduit.project import load_project
from conduit.runner import Mode, run_stack


def check(args: argparse.Namespace) -> int:
    require_pack_data()
    warn_about_settings(args)
    config = load_policy_config(stack_policy_config(args))
    document = run_stack(args.project_dir, args.stack, mode=Mode.UNKNOWN if args.preview else Mode.PLAUSIBLE,
                         timeout_seconds=args.timeout)
    verdict = judge(document, load_project(args.project_dir).name, config)
    unjudged = verdict.unjudged if args.preview else None
    calls = document.direct_calls
    print(as_json(verdict.violations, unjudged, calls, len(document.resources)) if args.json
          else render(verdict.violations, unjudged, args.preview, calls))
    return 1 if any(v.enforcement == "mandatory" for v in verdict.violations) else 0
