"""`conduit preview` and `conduit diagram`: a stack's program run offline, shown."""

from __future__ import annotations

import argparse

from conduit.commands.stack import warn_about_settings
from conduit.diagram import mermaid
from conduit.preview import preview_json, preview_text, render_direct_calls
from conduit.runner import run_stack


def preview(args: argparse.Namespace) -> int:
    warn_about_settings(args)
    document = run_stack(args.project_dir, args.stack, timeout_seconds=args.timeout)
    print(preview_json(document) if args.json else preview_text(document))
    if document.direct_calls and not args.json:
        print(render_direct_calls(document.direct_calls))
    return 0


def diagram(args: argparse.Namespace) -> int:
    print(mermaid(run_stack(args.project_dir, args.stack, timeout_seconds=args.timeout)))
    return 0
