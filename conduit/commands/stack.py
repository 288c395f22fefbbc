"""What the offline commands (preview, check, diagram) do with a stack's settings before they run it."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from conduit.project import load_project, load_stack, short_stack_name
from conduit.provider_config import unknown_provider_keys


def warn_about_settings(args: argparse.Namespace) -> None:
    """Provider settings the provider does not declare (a misspelled aws:regoin), on stderr."""
    project = load_project(args.project_dir)
    for warning in unknown_provider_keys(load_stack(project, args.stack).values, project.name):
        print(f"conduit: warning: {warning}", file=sys.stderr)


def stack_policy_config(args: argparse.Namespace) -> Path | None:
    """--policy-config, else the stack's own policies/config/<stack>.json (said on stderr)."""
    if args.policy_config is not None:
        return args.policy_config
    own = args.project_dir / "policies" / "config" / f"{short_stack_name(args.stack)}.json"
    if own.exists():
        print(f"conduit: policy config {own} (the stack's own; --policy-config overrides it)", file=sys.stderr)
        return own
    return None
