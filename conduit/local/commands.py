"""`conduit local up|start|status|env|down|demo|bench|profile|soak|compare`: the program on the emulator."""

from __future__ import annotations

import argparse
import json
import shlex
from pathlib import Path
from typing import Any

from conduit.local import emulator as emulators
from conduit.local import logs
from conduit.local.bench import run_bench
from conduit.local.compare import compare_with_pulumi
from conduit.local.demo import run_demo
from conduit.local.deployment import LocalDeployment, deploy, require_deployment
from conduit.local.faults import Faults
from conduit.local.scenario import BenchOptions, SoakOptions
from conduit.local.soak import run_soak
from conduit.local.usage import run_profile
from conduit.progress import Progress
from conduit.run_record import MASK, RunRecord, Secret

PEM = "-----BEGIN "


def shown(value: Any) -> Any:
    """Outputs as `pulumi stack output` shows them without --show-secrets (each secret by its mark, not
    its name), and a certificate by its size (a page of base64 tells a reader nothing;
    `--show-secrets` or `conduit flash` has it)."""
    if isinstance(value, Secret):
        return MASK
    if isinstance(value, dict):
        return {k: shown(v) for k, v in value.items()}
    if isinstance(value, list):
        return [shown(v) for v in value]
    if isinstance(value, str) and value.startswith(PEM):
        return f"[{value[len(PEM):].split('-', 1)[0].lower()}, {len(value)} characters; --show-secrets prints it]"
    return value


def environment(deployment: LocalDeployment, show_secrets: bool = False) -> dict[str, Any]:
    """Everything a client needs to reach the local deployment: AWS endpoint, credentials, MQTT, outputs."""
    emulator = deployment.emulator
    return {
        "stack": deployment.stack,
        "endpoint": emulator.endpoint,
        "region": emulator.region,
        "credentials": {"accessKeyId": "test", "secretAccessKey": "test"},
        "caBundle": emulator.tls_cert,
        "mqtt": {"host": "127.0.0.1", "port": emulator.mqtt_port, "serverName": "localhost",
                 "caUrl": f"{emulator.endpoint}/_ministack/iot/ca.pem"},
        "outputs": deployment.revealed_outputs if show_secrets else shown(deployment.outputs),
    }


def exports(deployment: LocalDeployment) -> str:
    """Shell exports for the AWS CLI, boto3 or any SDK, as LocalStack's `awslocal` users expect."""
    variables = deployment.emulator.client_environment()
    return "\n".join(f"export {name}={shlex.quote(value)}" for name, value in sorted(variables.items()))


def _progress(args: argparse.Namespace) -> Progress:
    """Progress on stderr at a terminal, unless --quiet."""
    return Progress(enabled=False if args.quiet else None)


def _up(args: argparse.Namespace) -> int:
    deployment = deploy(args.stack, args.project_dir, args.state_dir, port=args.port, progress=_progress(args),
                        beside=args.beside)
    timings = deployment.record["timings"]
    print(f"deployed stack '{args.stack}' onto the local cloud: {len(deployment.resources)} resources in "
          f"{timings['deploySeconds']:.1f}s (emulator ready in {timings['emulatorSeconds']:.1f}s)")
    _print_status(deployment, args.show_secrets)
    return 0


def _print_status(deployment: LocalDeployment, show_secrets: bool = False) -> None:
    emulator = deployment.emulator
    print(f"AWS endpoint      {emulator.endpoint}   (TLS certificate: {emulator.tls_cert})")
    print(f"MQTT endpoint     127.0.0.1:{emulator.mqtt_port} (mutual TLS, server name 'localhost'; "
          f"CA at {emulator.endpoint}/_ministack/iot/ca.pem)")
    print(f"client settings   eval \"$(conduit local env --stack {deployment.stack})\"")
    print("stack outputs:" if show_secrets else "stack outputs (device keys and certificates omitted: "
          "--show-secrets prints them, conduit flash writes them to a device):")
    print(json.dumps(deployment.revealed_outputs if show_secrets else shown(deployment.outputs), indent=2))


def _start(args: argparse.Namespace) -> int:
    running = emulators.find(args.state_dir)
    if running is not None and (args.port is None or running.gateway_port == args.port):
        running.reset()
    else:
        running = emulators.start(args.state_dir, args.port)
    print(f"the local cloud is empty and running at {running.endpoint} (TLS certificate: {running.tls_cert})")
    return 0


def _status(args: argparse.Namespace) -> int:
    _print_status(require_deployment(args.stack, args.state_dir), args.show_secrets)
    return 0


def _env(args: argparse.Namespace) -> int:
    deployment = require_deployment(args.stack, args.state_dir)
    print(json.dumps(environment(deployment, args.show_secrets), indent=2) if args.json else exports(deployment))
    return 0


def _down(args: argparse.Namespace) -> int:
    print("stopped the local cloud" if emulators.stop(args.state_dir) else "the local cloud was not running")
    return 0


def _demo(args: argparse.Namespace) -> int:
    return run_demo(args.stack, args.project_dir, args.state_dir, _progress(args))


def _bench(args: argparse.Namespace) -> int:
    options = BenchOptions(args.events, args.rows, _progress(args), args.big_file)
    return run_bench(args.stack, args.project_dir, args.state_dir, options, args.json)


def _profile(args: argparse.Namespace) -> int:
    return run_profile(args.stack, args.project_dir, args.state_dir, args.scale, args.write)


def _soak(args: argparse.Namespace) -> int:
    if args.duplicate_deliveries < 1:
        raise SystemExit("conduit local soak: --duplicate-deliveries must be 1 (no duplicates) or more")
    options = SoakOptions(args.scale, patience=args.patience, progress=_progress(args),
                          faults=Faults(args.duplicate_deliveries, args.crash_after_write))
    return run_soak(args.stack, args.project_dir, args.state_dir, options)


def _logs(args: argparse.Namespace) -> int:
    logs.show(require_deployment(args.stack, args.state_dir), args.function, args.since, args.follow)
    return 0


def _compare(args: argparse.Namespace) -> int:
    differences = compare_with_pulumi(RunRecord.from_json(json.loads(args.record.read_text())),
                                      json.loads(args.export.read_text()), json.loads(args.outputs.read_text()))
    for line in differences:
        print(line)
    print(f"{len(differences)} difference(s) between conduit local up and pulumi up")
    return 1 if differences else 0


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
    up.set_defaults(func=_up)
    start = sub.add_parser("start", parents=[project_options], help="start (or reset) the emulator, deploy nothing")
    start.add_argument("--port", type=int, help="gateway port (default: free; 4566 for Pulumi.local.yaml)")
    start.set_defaults(func=_start)
    sub.add_parser("status", parents=[*both, secrets], help="print endpoints and outputs of the local deployment"
                   ).set_defaults(func=_status)
    env = sub.add_parser("env", parents=[*both, secrets],
                         help="shell exports (or --json) to reach the local deployment")
    env.add_argument("--json", action="store_true", help="endpoint, region, credentials, CA, MQTT and outputs")
    env.set_defaults(func=_env)
    sub.add_parser("demo", parents=long_running,
                   help="deploy, drive sample traffic through every system, report, stop").set_defaults(func=_demo)
    sub.add_parser("down", parents=[project_options], help="stop everything the local cloud started"
                   ).set_defaults(func=_down)
    bench = sub.add_parser("bench", parents=long_running,
                           help="measure deploy time, flow latency and ingest throughput")
    bench.add_argument("--events", type=int, default=200)
    bench.add_argument("--rows", type=int, default=2000)
    bench.add_argument("--big-file", type=int, default=0, metavar="ROWS",
                       help="also send one CSV of ROWS rows through the ingest function (rows/s, invocations, memory)")
    bench.add_argument("--json", action="store_true", help="one JSON document on stdout, the report on stderr")
    bench.set_defaults(func=_bench)
    profile = sub.add_parser("profile", parents=both,
                             help="measure each flow's priced usage per event (the profile conduit cost prices)")
    profile.add_argument("--scale", type=float, default=1.0, help="multiply each flow's event count")
    profile.add_argument("--write", action="store_true", help="write conduit/cost/usage-profile.json")
    profile.set_defaults(func=_profile)
    soak = sub.add_parser("soak", parents=long_running,
                          help="every flow at once, hostile input mixed in; exit 1 on any loss, 2 if not judged")
    soak.add_argument("--scale", type=int, default=100, help="roughly how many items each flow sends")
    soak.add_argument("--patience", type=float, default=SoakOptions.patience, metavar="SECONDS",
                      help="give up a wait after this long without any activity in the local cloud "
                           f"(default {SoakOptions.patience:.0f}; the wait lasts as long as work goes on)")
    soak.add_argument("--duplicate-deliveries", type=int, default=1, metavar="N",
                      help="deliver every event a service hands a function N times, as AWS may (default 1)")
    soak.add_argument("--crash-after-write", action="store_true",
                      help="kill each event's first invocation right after its first write, before it answers")
    soak.set_defaults(func=_soak)
    follow = sub.add_parser("logs", parents=both, help="the functions' log lines (one function, or all)")
    follow.add_argument("function", nargs="?", help="a function's name, as in the program or on AWS (default: all)")
    follow.add_argument("-f", "--follow", action="store_true", help="keep printing new lines as they come")
    follow.add_argument("--since", type=float, default=3600, metavar="SECONDS",
                        help="start this long ago (default 3600)")
    follow.set_defaults(func=_logs)
    compare = sub.add_parser("compare", help="compare a conduit local up record with a real pulumi up's export")
    compare.add_argument("--record", type=Path, required=True, help="the deployment record conduit local up wrote")
    compare.add_argument("--export", type=Path, required=True, help="pulumi stack export of the same stack")
    compare.add_argument("--outputs", type=Path, required=True, help="pulumi stack output --json --show-secrets")
    compare.set_defaults(func=_compare)
