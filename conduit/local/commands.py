"""`conduit local up|start|status|env|down|demo|bench|profile|soak|compare`: the program on the emulator."""

from __future__ import annotations

import argparse
import json
import shlex
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
from conduit.run_record import MASK, RunRecord, Secret, each_leaf

PEM = "-----BEGIN "


def shown(value: Any) -> Any:
    """Outputs as `pulumi stack output` shows them without --show-secrets (each secret by its mark, not
    its name), and a certificate by its size (a page of base64 tells a reader nothing;
    `--show-secrets` or `conduit flash` has it)."""
    return each_leaf(value, _shown_leaf)


def _shown_leaf(value: Any) -> Any:
    if isinstance(value, Secret):
        return MASK
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


def up(args: argparse.Namespace) -> int:
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


def start(args: argparse.Namespace) -> int:
    running = emulators.find(args.state_dir)
    if running is not None and (args.port is None or running.gateway_port == args.port):
        running.reset()
    else:
        running = emulators.start(args.state_dir, args.port)
    print(f"the local cloud is empty and running at {running.endpoint} (TLS certificate: {running.tls_cert})")
    return 0


def status(args: argparse.Namespace) -> int:
    _print_status(require_deployment(args.stack, args.state_dir), args.show_secrets)
    return 0


def env(args: argparse.Namespace) -> int:
    deployment = require_deployment(args.stack, args.state_dir)
    print(json.dumps(environment(deployment, args.show_secrets), indent=2) if args.json else exports(deployment))
    return 0


def down(args: argparse.Namespace) -> int:
    print("stopped the local cloud" if emulators.stop(args.state_dir) else "the local cloud was not running")
    return 0


def demo(args: argparse.Namespace) -> int:
    return run_demo(args.stack, args.project_dir, args.state_dir, _progress(args))


def bench(args: argparse.Namespace) -> int:
    options = BenchOptions(args.events, args.rows, _progress(args), args.big_file)
    return run_bench(args.stack, args.project_dir, args.state_dir, options, args.json)


def profile(args: argparse.Namespace) -> int:
    return run_profile(args.stack, args.project_dir, args.state_dir, args.scale, args.write)


def soak(args: argparse.Namespace) -> int:
    if args.duplicate_deliveries < 1:
        raise SystemExit("conduit local soak: --duplicate-deliveries must be 1 (no duplicates) or more")
    options = SoakOptions(args.scale, patience=args.patience, progress=_progress(args),
                          faults=Faults(args.duplicate_deliveries, args.crash_after_write))
    return run_soak(args.stack, args.project_dir, args.state_dir, options)


def show_logs(args: argparse.Namespace) -> int:
    logs.show(require_deployment(args.stack, args.state_dir), args.function, args.since, args.follow)
    return 0


def compare(args: argparse.Namespace) -> int:
    differences = compare_with_pulumi(RunRecord.from_json(json.loads(args.record.read_text())),
                                      json.loads(args.export.read_text()), json.loads(args.outputs.read_text()))
    for line in differences:
        print(line)
    print(f"{len(differences)} difference(s) between conduit local up and pulumi up")
    return 1 if differences else 0
