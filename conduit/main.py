"""The `conduit` command line: offline preview and policy checks, packaging, flashing, the local cloud.

Like `pulumi`, it works on the Pulumi project around the current directory (the nearest
Pulumi.yaml upward), or the one `-C/--cwd DIR` names.
"""

from __future__ import annotations

import argparse
import importlib
import os
import signal
import sys
import threading
from importlib import metadata
from pathlib import Path

from conduit.commands import Handler
from conduit.local.options import add_local_commands, state_dir
from conduit.project import find_project_dir
from conduit.runner import DEFAULT_TIMEOUT_SECONDS

# The errors a user can act on, printed as one line (exit 2): by module and name, so that a command
# loads only its own modules; an error whose module was never imported cannot have been raised.
USER_ERRORS = ("conduit.cost.model:CostError", "conduit.project:ProjectError", "conduit.runner:ProgramError",
               "conduit.check_inputs:PolicyConfigError", "conduit.check_inputs:PackDataError",
               "conduit.flash:FlashError", "conduit.replay:ReplayError", "conduit.local.deployment:NotDeployedError",
               "conduit.local.emulator:EmulatorError", "conduit.local.deployer:LocalCloudError",
               "conduit.local.scenario:ScenarioError", "infra.lambda_archives:PackagingError")
PACK = "conduit_policies.pack"


def user_errors() -> tuple[type[BaseException], ...]:
    """The classes of USER_ERRORS this process has loaded."""
    found = []
    for entry in USER_ERRORS:
        module, name = entry.split(":")
        if module in sys.modules:
            found.append(getattr(sys.modules[module], name))
    return tuple(found)


def version() -> str:
    """Conduit's version and what it is made of: the SDK and provider it drives, its policy pack."""
    def of(package: str) -> str:
        try:
            return metadata.version(package)
        except metadata.PackageNotFoundError:
            return "not installed"

    pack = importlib.import_module(PACK)
    return (f"conduit {of('conduit')} (pulumi {of('pulumi')}, pulumi-aws {of('pulumi-aws')}, "
            f"policy pack {pack.NAME} {pack.VERSION}, Python {sys.version.split()[0]})")


class VersionAction(argparse.Action):
    """`--version`, worked out only when asked for (it loads the policy pack for its name and version)."""

    def __init__(self, option_strings: list[str], dest: str = argparse.SUPPRESS, **kwargs: object):
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, help="show the version and exit")

    def __call__(self, parser: argparse.ArgumentParser, *args: object) -> None:
        print(version())  # on stdout, as argparse's own version action prints it
        parser.exit()


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
    parser.add_argument("--version", action=VersionAction)
    commands = parser.add_subparsers(dest="command", required=True)

    commands.add_parser("preview", parents=[stack, project, output, run],
                        help="run a stack's program offline and show what it declares"
                        ).set_defaults(func=Handler("conduit.commands.offline", "preview"))

    check = commands.add_parser("check", parents=[stack, project, output, run],
                                help="evaluate the policy pack against a stack's program, offline")
    check.add_argument("--preview", action="store_true",
                       help="as pulumi preview of a new stack: computed outputs unknown; lists what stays unjudged")
    check.add_argument("--policy-config", "--policy-pack-config", dest="policy_config", type=Path,
                       help="JSON: {policy: level} or {policy: {enforcementLevel, ...}} (default: the stack's own "
                            "policies/config/<stack>.json, when the project has one)")
    check.set_defaults(func=Handler("conduit.commands.check", "check"))

    commands.add_parser("diagram", parents=[stack, project, run],
                        help="a Mermaid flowchart of what a stack deploys, drawn from its program"
                        ).set_defaults(func=Handler("conduit.commands.offline", "diagram"))

    flash_command = commands.add_parser("flash", parents=[stack, project],
                                        help="write a feeder's certificate, settings and firmware to a board")
    flash_command.add_argument("--device", required=True, help="the feeder's name in conduit:catFeeder.feeders")
    flash_command.add_argument("--port", help="the board's serial port, e.g. /dev/ttyACM0")
    flash_command.add_argument("--out", type=Path, help="write the bundle to this folder instead of a board")
    flash_command.add_argument("--feed-seconds", type=float, default=10.0)
    flash_command.set_defaults(func=Handler("conduit.commands.device", "flash_board"))

    replay_command = commands.add_parser("replay", parents=[stack, project],
                                         help="replay the cat feeder's ledger (its archive) onto its bus")
    replay_command.add_argument("--since", required=True, help="ISO 8601 time, e.g. 2026-11-22T10:00:00Z")
    replay_command.add_argument("--until", help="ISO 8601 time (default: now)")
    replay_command.add_argument("--feed-again", action="store_true",
                                help="also feed the replayed clicks again, as new commands (default: views only)")
    replay_command.set_defaults(func=Handler("conduit.commands.device", "replay_ledger"))

    cost_command = commands.add_parser("cost", parents=[stack, project, output],
                                       help="$ per million and per day of each flow, and the Kinesis break-even")
    cost_command.add_argument("--events-per-day", type=int, required=True, metavar="N",
                              help="events a day for each flow (rows for ingest, uploads, clicks...)")
    cost_command.add_argument("--price-region", metavar="REGION",
                              help="price with this region of the table instead of the stack's aws:region")
    cost_command.set_defaults(func=Handler("conduit.commands.cost", "estimate"))
    cost_command.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT_SECONDS, metavar="SECONDS",
                              help="for a program that is not Conduit, which is run to list its resources")

    refresh = commands.add_parser("refresh-prices", help="rewrite conduit cost's price table from AWS's public price "
                                                         "list files (needs the internet)")
    refresh.add_argument("--region", action="append", required=True, help="a region to refresh (repeatable)")
    refresh.set_defaults(func=Handler("conduit.commands.cost", "refresh_prices"))

    package = commands.add_parser("package", parents=[project],
                                  help="build every Lambda archive and print size and sha256")
    package.add_argument("--out", type=Path, help="where the archives go (default: <project>/build/package)")
    package.set_defaults(func=Handler("conduit.commands.package", "package"))

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
            args.state_dir = state_dir(args.project_dir)
        return args.func(args)
    except BrokenPipeError:
        return reader_went_away()
    except KeyboardInterrupt:
        print(f"conduit {args.command}: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        if not isinstance(exc, user_errors()):
            raise
        print(f"conduit {args.command}: {exc}", file=sys.stderr)
        details = getattr(exc, "details", "")
        if details and getattr(args, "verbose", False):
            print(details, file=sys.stderr)
        return 2


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
