"""The `conduit` command line: offline preview and policy checks, packaging, flashing, the local cloud.

Like `pulumi`, it works on the Pulumi project around the current directory (the nearest
Pulumi.yaml upward), or the one `-C/--cwd DIR` names.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import signal
import sys
import threading
from importlib import metadata
from pathlib import Path

from conduit.check import (
    PackDataError,
    PolicyConfigError,
    as_json,
    judge,
    load_policy_config,
    render,
    render_direct_calls,
    require_pack_data,
)
from conduit.cost import model as cost
from conduit.cost import price_list
from conduit.diagram import mermaid
from conduit.flash import FlashError, flash
from conduit.local import emulator as emulators
from conduit.local.commands import add_local_commands
from conduit.local.deployer import LocalCloudError
from conduit.local.deployment import NotDeployedError
from conduit.local.emulator import EmulatorError
from conduit.local.scenario import ScenarioError
from conduit.preview import preview_json, preview_text
from conduit.project import ProjectError, find_project_dir, load_project, load_stack, short_stack_name
from conduit.provider_config import unknown_provider_keys
from conduit.replay import ReplayError, replay
from conduit.runner import DEFAULT_TIMEOUT_SECONDS, Mode, ProgramError, run_stack
from conduit_policies.pack import NAME as PACK_NAME
from conduit_policies.pack import VERSION as PACK_VERSION
from infra import lambda_archives

SYSTEMS_KEY = "conduit:systems"  # a stack of Conduit's own program names the systems it deploys
USER_ERRORS = (cost.CostError, ProjectError, ProgramError, PolicyConfigError, PackDataError, FlashError, ReplayError,
               NotDeployedError, EmulatorError, LocalCloudError, ScenarioError, lambda_archives.PackagingError)


def _warn_about_settings(args: argparse.Namespace) -> None:
    """Provider settings the provider does not declare (a misspelled aws:regoin), on stderr."""
    project = load_project(args.project_dir)
    for warning in unknown_provider_keys(load_stack(project, args.stack).values, project.name):
        print(f"conduit: warning: {warning}", file=sys.stderr)


def _stack_policy_config(args: argparse.Namespace) -> Path | None:
    """--policy-config, else the stack's own policies/config/<stack>.json (said on stderr)."""
    if args.policy_config is not None:
        return args.policy_config
    own = args.project_dir / "policies" / "config" / f"{short_stack_name(args.stack)}.json"
    if own.exists():
        print(f"conduit: policy config {own} (the stack's own; --policy-config overrides it)", file=sys.stderr)
        return own
    return None


def _preview(args: argparse.Namespace) -> int:
    _warn_about_settings(args)
    document = run_stack(args.project_dir, args.stack, timeout_seconds=args.timeout)
    print(preview_json(document) if args.json else preview_text(document))
    if document.direct_calls and not args.json:
        print(render_direct_calls(document.direct_calls))
    return 0


def _check(args: argparse.Namespace) -> int:
    require_pack_data()
    _warn_about_settings(args)
    config = load_policy_config(_stack_policy_config(args))
    document = run_stack(args.project_dir, args.stack, mode=Mode.UNKNOWN if args.preview else Mode.PLAUSIBLE,
                         timeout_seconds=args.timeout)
    verdict = judge(document, load_project(args.project_dir).name, config)
    unjudged = verdict.unjudged if args.preview else None
    calls = document.direct_calls
    print(as_json(verdict.violations, unjudged, calls, len(document.resources)) if args.json
          else render(verdict.violations, unjudged, args.preview, calls))
    return 1 if any(v.enforcement == "mandatory" for v in verdict.violations) else 0


def _diagram(args: argparse.Namespace) -> int:
    print(mermaid(run_stack(args.project_dir, args.stack, timeout_seconds=args.timeout)))
    return 0


def _flash(args: argparse.Namespace) -> int:
    done = flash(args.stack, args.device, args.project_dir, args.out, args.port, args.feed_seconds, args.state_dir)
    what = f"bundle written to {done}" if args.out else f"flashed on {args.port}: {done.summary()}"
    print(f"feeder '{args.device}' of stack '{args.stack}': {what}")
    return 0


def _replay(args: argparse.Namespace) -> int:
    print(replay(args.stack, args.since, args.until, args.project_dir, state_dir=args.state_dir,
                 feed_again=args.feed_again))
    return 0


def _cost(args: argparse.Namespace) -> int:
    if args.events_per_day < 0:
        raise cost.CostError(f"--events-per-day must be 0 or more, not {args.events_per_day}")
    project = load_project(args.project_dir)
    config = load_stack(project, args.stack)
    systems = config.values.get(SYSTEMS_KEY)
    if systems is None:  # not Conduit: no profile of its flows; say what its resources are billed by
        document = run_stack(args.project_dir, args.stack, timeout_seconds=args.timeout)
        found = cost.resources_priced(document)
        print(json.dumps({"stack": args.stack, "resources": found}, indent=2) if args.json
              else cost.render_resources(project.name, args.stack, found))
        return 0
    region = config.values.get("aws:region")
    if not region:
        raise cost.CostError(f"Pulumi.{args.stack}.yaml sets no aws:region, so the stack's prices are unknown")
    document = cost.estimate(cost.load(cost.PROFILE), cost.load(cost.PRICES), args.stack, region,
                             args.events_per_day, args.price_region, systems=json.loads(systems))
    print(json.dumps(document, indent=2) if args.json else cost.render(document))
    return 0


def _refresh_prices(args: argparse.Namespace) -> int:
    table = cost.load(cost.PRICES)
    today = datetime.date.today().isoformat()
    for region in args.region:
        missing = price_list.refresh_region(table, region, today)
        print(f"{region}: prices from AWS's price list" + (f"; not found, left unchecked: {', '.join(missing)}"
                                                          if missing else ""))
    cost.PRICES.write_text(json.dumps(table, indent=2) + "\n")
    print(f"wrote {cost.PRICES}")
    return 0


def _package(args: argparse.Namespace) -> int:
    out = args.out or args.project_dir / "build" / "package"
    for archive in lambda_archives.build_all(out, reuse_layer=False):
        print(f"{archive.path}  {archive.size:>10,d} bytes  sha256 {archive.sha256}")
    return 0


def version() -> str:
    """Conduit's version and what it is made of: the SDK and provider it drives, its policy pack."""
    def of(package: str) -> str:
        try:
            return metadata.version(package)
        except metadata.PackageNotFoundError:
            return "not installed"

    return (f"conduit {of('conduit')} (pulumi {of('pulumi')}, pulumi-aws {of('pulumi-aws')}, "
            f"policy pack {PACK_NAME} {PACK_VERSION}, Python {sys.version.split()[0]})")


def build_parser() -> argparse.ArgumentParser:
    # Options every command shares, defined once and given to each command as a parent.
    project = argparse.ArgumentParser(add_help=False)
    project.add_argument("-C", "--cwd", "--project-dir", dest="cwd", type=Path, metavar="DIR",
                         help="run as if started in DIR: the project is the nearest Pulumi.yaml at or above it")
    stack = argparse.ArgumentParser(add_help=False)
    stack.add_argument("-s", "--stack", required=True, help="the stack: Pulumi.<stack>.yaml holds its settings")
    project.add_argument("-v", "--verbose", action="store_true", help="on an error, print the whole traceback")
    output = argparse.ArgumentParser(add_help=False)
    output.add_argument("--json", action="store_true", help="machine-readable output")
    run = argparse.ArgumentParser(add_help=False)
    run.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT_SECONDS, metavar="SECONDS",
                     help=f"stop a program run after this long (default {DEFAULT_TIMEOUT_SECONDS:.0f})")

    parser = argparse.ArgumentParser(prog="conduit", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=version())
    commands = parser.add_subparsers(dest="command", required=True)

    commands.add_parser("preview", parents=[stack, project, output, run],
                        help="run a stack's program offline and show what it declares").set_defaults(func=_preview)

    check = commands.add_parser("check", parents=[stack, project, output, run],
                                help="evaluate the policy pack against a stack's program, offline")
    check.add_argument("--preview", action="store_true",
                       help="as pulumi preview of a new stack: computed outputs unknown; lists what stays unjudged")
    check.add_argument("--policy-config", "--policy-pack-config", dest="policy_config", type=Path,
                       help="JSON: {policy: level} or {policy: {enforcementLevel, ...}} (default: the stack's own "
                            "policies/config/<stack>.json, when the project has one)")
    check.set_defaults(func=_check)

    commands.add_parser("diagram", parents=[stack, project, run],
                        help="a Mermaid flowchart of what a stack deploys, drawn from its program"
                        ).set_defaults(func=_diagram)

    flash_command = commands.add_parser("flash", parents=[stack, project],
                                        help="write a feeder's certificate, settings and firmware to a board")
    flash_command.add_argument("--device", required=True, help="the feeder's name in conduit:catFeeder.feeders")
    flash_command.add_argument("--port", help="the board's serial port, e.g. /dev/ttyACM0")
    flash_command.add_argument("--out", type=Path, help="write the bundle to this folder instead of a board")
    flash_command.add_argument("--feed-seconds", type=float, default=10.0)
    flash_command.set_defaults(func=_flash)

    replay_command = commands.add_parser("replay", parents=[stack, project],
                                         help="replay the cat feeder's ledger (its archive) onto its bus")
    replay_command.add_argument("--since", required=True, help="ISO 8601 time, e.g. 2026-11-22T10:00:00Z")
    replay_command.add_argument("--until", help="ISO 8601 time (default: now)")
    replay_command.add_argument("--feed-again", action="store_true",
                                help="also feed the replayed clicks again, as new commands (default: views only)")
    replay_command.set_defaults(func=_replay)

    cost_command = commands.add_parser("cost", parents=[stack, project, output],
                                       help="$ per million and per day of each flow, and the Kinesis break-even")
    cost_command.add_argument("--events-per-day", type=int, required=True, metavar="N",
                              help="events a day for each flow (rows for ingest, uploads, clicks...)")
    cost_command.add_argument("--price-region", metavar="REGION",
                              help="price with this region of the table instead of the stack's aws:region")
    cost_command.set_defaults(func=_cost)
    cost_command.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT_SECONDS, metavar="SECONDS",
                              help="for a program that is not Conduit, which is run to list its resources")

    refresh = commands.add_parser("refresh-prices", help="rewrite conduit cost's price table from AWS's public price "
                                                         "list files (needs the internet)")
    refresh.add_argument("--region", action="append", required=True, help="a region to refresh (repeatable)")
    refresh.set_defaults(func=_refresh_prices)

    package = commands.add_parser("package", parents=[project],
                                  help="build every Lambda archive and print size and sha256")
    package.add_argument("--out", type=Path, help="where the archives go (default: <project>/build/package)")
    package.set_defaults(func=_package)

    add_local_commands(commands, stack, project)
    return parser


def _stop_on_signal(signum: int, _frame: object) -> None:
    """A `timeout`, a closed terminal or a CI cancel ends the command the way Ctrl-C does: through its
    `finally` blocks, so an emulator it started (and its Lambda workers) is stopped, not orphaned."""
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, _stop_on_signal)
    try:
        if hasattr(args, "cwd"):
            args.project_dir = find_project_dir(args.cwd or Path.cwd())
            args.state_dir = emulators.state_dir(args.project_dir)
        return args.func(args)
    except USER_ERRORS as exc:
        print(f"conduit {args.command}: {exc}", file=sys.stderr)
        details = getattr(exc, "details", "")
        if details and getattr(args, "verbose", False):
            print(details, file=sys.stderr)
        return 2
    except BrokenPipeError:
        return reader_went_away()
    except KeyboardInterrupt:
        print(f"conduit {args.command}: interrupted", file=sys.stderr)
        return 130


def reader_went_away() -> int:
    """Output piped into `head` (or any reader that stops early): stop quietly, as a shell tool does.

    Python would report the broken pipe again when it flushes stdout at exit; pointing stdout at
    /dev/null first keeps that quiet too. 141 is the shell's status for a process ended by SIGPIPE.
    """
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    return 141


if __name__ == "__main__":
    sys.exit(main())
