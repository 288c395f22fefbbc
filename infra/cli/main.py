"""The `conduit` command line."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from infra.cli.project import ProjectError

REPO = Path(__file__).resolve().parents[2]


def _preview(args: argparse.Namespace) -> int:
    from infra.cli.preview import preview_json, preview_text
    from infra.cli.runner import run_stack

    document = run_stack(args.project_dir, args.stack)
    print(preview_json(document) if args.json else preview_text(document))
    return 0


def _check(args: argparse.Namespace) -> int:
    from infra.cli.check import as_json, evaluate, load_policy_config, render
    from infra.cli.project import load_project
    from infra.cli.runner import run_stack

    config = load_policy_config(args.policy_config)
    document = run_stack(args.project_dir, args.stack)
    violations = evaluate(document, load_project(args.project_dir).name, config)
    print(as_json(violations) if args.json else render(violations))
    return 1 if any(v.enforcement == "mandatory" for v in violations) else 0


def _flash(args: argparse.Namespace) -> int:
    from infra.cli.flash import flash

    where = flash(args.stack, args.device, args.project_dir, args.out, args.port, args.feed_seconds)
    print(f"feeder '{args.device}' of stack '{args.stack}': bundle {'written to' if args.out else 'copied to'} {where}")
    return 0


def _replay(args: argparse.Namespace) -> int:
    from infra.cli.replay import replay

    print(replay(args.stack, args.since, args.until, args.project_dir))
    return 0


def _package(args: argparse.Namespace) -> int:
    from infra import lambda_archives

    for archive in lambda_archives.build_all(args.out, reuse_layer=False):
        print(f"{archive.path}  {archive.size:>10,d} bytes  sha256 {archive.sha256}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="conduit", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    preview = commands.add_parser("preview", help="run a stack's program offline and show what it declares")
    preview.add_argument("--stack", required=True)
    preview.add_argument("--json", action="store_true", help="machine-readable output")
    preview.add_argument("--project-dir", type=Path, default=REPO)
    preview.set_defaults(func=_preview)

    check = commands.add_parser("check", help="evaluate the policy pack against a stack's program, offline")
    check.add_argument("--stack", required=True)
    check.add_argument("--json", action="store_true", help="machine-readable output")
    check.add_argument("--project-dir", type=Path, default=REPO)
    check.add_argument("--policy-config", type=Path, help="JSON: {policy: level} or {policy: {enforcementLevel, ...}}")
    check.set_defaults(func=_check)

    flash = commands.add_parser("flash", help="write a feeder's certificate, settings and firmware to a board")
    flash.add_argument("--stack", required=True)
    flash.add_argument("--device", required=True, help="the feeder's name in conduit:catFeeder.feeders")
    flash.add_argument("--port", help="the board's serial port, e.g. /dev/ttyACM0")
    flash.add_argument("--out", type=Path, help="write the bundle to this folder instead of a board")
    flash.add_argument("--feed-seconds", type=float, default=10.0)
    flash.add_argument("--project-dir", type=Path, default=REPO)
    flash.set_defaults(func=_flash)

    replay = commands.add_parser("replay", help="replay the cat feeder's ledger (its archive) onto its bus")
    replay.add_argument("--stack", required=True)
    replay.add_argument("--since", required=True, help="ISO 8601 time, e.g. 2026-11-22T10:00:00Z")
    replay.add_argument("--until", help="ISO 8601 time (default: now)")
    replay.add_argument("--project-dir", type=Path, default=REPO)
    replay.set_defaults(func=_replay)

    package = commands.add_parser("package", help="build every Lambda archive and print size and sha256")
    package.add_argument("--out", type=Path, default=REPO / "build" / "package")
    package.set_defaults(func=_package)

    from infra.cli.local.commands import add_local_commands

    add_local_commands(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from infra.cli.check import PolicyConfigError
    from infra.cli.flash import FlashError
    from infra.cli.replay import ReplayError
    from infra.cli.runner import ProgramError

    try:
        return args.func(args)
    except (ProjectError, ProgramError, PolicyConfigError, FlashError, ReplayError) as exc:
        print(f"conduit {args.command}: {exc}", file=sys.stderr)
        details = getattr(exc, "details", "")
        if details:
            print(details, file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
