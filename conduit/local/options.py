"""`conduit local ...`'s options, and where a project's local cloud keeps its state: light enough for
`conduit.main` to build every parser without importing the local cloud (boto3, the emulator), which
`conduit.local.commands` does when one of its commands runs."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from conduit.commands import Handler

COMMANDS = "conduit.local.commands"
STATE_DIR_VARIABLE = "CONDUIT_LOCAL_DIR"
SOAK_PATIENCE_SECONDS = 120.0  # a soak's wait gives up after this long without any activity


def state_dir(project_dir: Path) -> Path:
    """Where a project's local cloud keeps its state: $CONDUIT_LOCAL_DIR, else `<project>/.conduit/local`."""
    override = os.environ.get(STATE_DIR_VARIABLE)
    return Path(override) if override else project_dir / ".conduit" / "local"


def add_local_commands(commands: argparse._SubParsersAction, stack_options: argparse.ArgumentParser,
                       project_options: argparse.ArgumentParser) -> None:
    local = commands.add_parser("local", help="the local cloud: deploy a stack onto the embedded AWS emulator")
    sub = local.add_subparsers(dest="local_command", required=True)
    both = [stack_options, project_options]
    quiet = argparse.ArgumentParser(add_help=False)
    quiet.add_argument("-q", "--quiet", action="store_true",
                       help="no progress lines (they are shown only at a terminal anyway, on stderr)")
    long_running = [*both, quiet]
    secrets = argparse.ArgumentParser(add_help=False)
    secrets.add_argument("--show-secrets", action="store_true",
                         help="print device keys and certificates among the outputs (masked by default)")
    up = sub.add_parser("up", parents=[*long_running, secrets], help="start the emulator and deploy a stack onto it")
    up.add_argument("--port", type=int, help="gateway port (default: free; 4566 for Pulumi.local.yaml)")
    up.add_argument("--beside", action="store_true",
                    help="keep the stacks already deployed on the running local cloud (one account, several stacks)")
    up.set_defaults(func=Handler(COMMANDS, "up"))
    start = sub.add_parser("start", parents=[project_options], help="start (or reset) the emulator, deploy nothing")
    start.add_argument("--port", type=int, help="gateway port (default: free; 4566 for Pulumi.local.yaml)")
    start.set_defaults(func=Handler(COMMANDS, "start"))
    sub.add_parser("status", parents=[*both, secrets], help="print endpoints and outputs of the local deployment"
                   ).set_defaults(func=Handler(COMMANDS, "status"))
    env = sub.add_parser("env", parents=[*both, secrets],
                         help="shell exports (or --json) to reach the local deployment")
    env.add_argument("--json", action="store_true", help="endpoint, region, credentials, CA, MQTT and outputs")
    env.set_defaults(func=Handler(COMMANDS, "env"))
    sub.add_parser("demo", parents=long_running, help="deploy, drive sample traffic through every system, report, stop"
                   ).set_defaults(func=Handler(COMMANDS, "demo"))
    sub.add_parser("down", parents=[project_options], help="stop everything the local cloud started"
                   ).set_defaults(func=Handler(COMMANDS, "down"))
    bench = sub.add_parser("bench", parents=long_running,
                           help="measure deploy time, flow latency and ingest throughput")
    bench.add_argument("--events", type=int, default=200)
    bench.add_argument("--rows", type=int, default=2000)
    bench.add_argument("--big-file", type=int, default=0, metavar="ROWS",
                       help="also send one CSV of ROWS rows through the ingest function (rows/s, invocations, memory)")
    bench.add_argument("--json", action="store_true", help="one JSON document on stdout, the report on stderr")
    bench.set_defaults(func=Handler(COMMANDS, "bench"))
    profile = sub.add_parser("profile", parents=both,
                             help="measure each flow's priced usage per event (the profile conduit cost prices)")
    profile.add_argument("--scale", type=float, default=1.0, help="multiply each flow's event count")
    profile.add_argument("--write", action="store_true", help="write conduit/cost/usage-profile.json")
    profile.set_defaults(func=Handler(COMMANDS, "profile"))
    soak = sub.add_parser("soak", parents=long_running,
                          help="every flow at once, hostile input mixed in; exit 1 on any loss, 2 if not judged")
    soak.add_argument("--scale", type=int, default=100, help="roughly how many items each flow sends")
    soak.add_argument("--patience", type=float, default=SOAK_PATIENCE_SECONDS, metavar="SECONDS",
                      help="give up a wait after this long without any activity in the local cloud "
                           f"(default {SOAK_PATIENCE_SECONDS:.0f}; the wait lasts as long as work goes on)")
    soak.add_argument("--duplicate-deliveries", type=int, default=1, metavar="N",
                      help="deliver every event a service hands a function N times, as AWS may (default 1)")
    soak.add_argument("--crash-after-write", action="store_true",
                      help="kill each event's first invocation right after its first write, before it answers")
    soak.set_defaults(func=Handler(COMMANDS, "soak"))
    follow = sub.add_parser("logs", parents=both, help="the functions' log lines (one function, or all)")
    follow.add_argument("function", nargs="?", help="a function's name, as in the program or on AWS (default: all)")
    follow.add_argument("-f", "--follow", action="store_true", help="keep printing new lines as they come")
    follow.add_argument("--since", type=float, default=3600, metavar="SECONDS",
                        help="start this long ago (default 3600)")
    follow.set_defaults(func=Handler(COMMANDS, "show_logs"))
    compare = sub.add_parser("compare", help="compare a conduit local up record with a real pulumi up's export")
    compare.add_argument("--record", type=Path, required=True, help="the deployment record conduit local up wrote")
    compare.add_argument("--export", type=Path, required=True, help="pulumi stack export of the same stack")
    compare.add_argument("--outputs", type=Path, required=True, help="pulumi stack output --json --show-secrets")
    compare.set_defaults(func=Handler(COMMANDS, "compare"))
