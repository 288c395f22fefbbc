"""`conduit local up|status|down|demo|bench`: the same program, deployed onto the emulator."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

from infra.cli.local import emulator as emulator_module
from infra.cli.local.emulator import Emulator

REPO = Path(__file__).resolve().parents[3]


def deployment_file(stack: str, state_dir: Path | None = None) -> Path:
    return (state_dir or emulator_module.state_dir()) / f"deployment-{stack}.json"


def deploy(stack: str, project_dir: Path = REPO, state_dir: Path | None = None,
           port: int | None = None) -> dict[str, Any]:
    """Start (or reset) the emulator and deploy `stack` onto it; returns the deployment record."""
    state_dir = state_dir or emulator_module.state_dir()
    from infra.cli.runner import run_stack

    started = time.perf_counter()
    emulator = emulator_module.find(state_dir)
    if emulator is None or (port and emulator.gateway_port != port):
        emulator = emulator_module.start(state_dir, port)
    else:
        emulator.reset()
    emulator_ready = time.perf_counter()
    env = {"CONDUIT_LOCAL_DIR": str(state_dir), **emulator.client_environment()}  # for dynamic providers
    document = run_stack(project_dir, stack, mode="local", env=env)
    finished = time.perf_counter()
    record = {**document, "emulator": emulator.__dict__,
              "timings": {"emulatorSeconds": emulator_ready - started, "deploySeconds": finished - emulator_ready}}
    path = deployment_file(stack, state_dir)
    path.touch(mode=0o600)
    path.chmod(0o600)  # it holds the emulator's device keys, which flashing needs
    path.write_text(json.dumps(record, indent=2))
    return record


def running_deployment(stack: str) -> tuple[Emulator, dict[str, Any]] | None:
    """The running emulator and its record of `stack`; None unless that emulator made the record
    (a record left by an emulator since stopped names resources that no longer exist)."""
    running = emulator_module.find()
    path = deployment_file(stack)
    if running is None or not path.exists():
        return None
    record = json.loads(path.read_text())
    if record["emulator"]["pid"] != running.pid:
        return None
    return running, record


def load_deployment(stack: str, state_dir: Path | None = None) -> dict[str, Any]:
    path = deployment_file(stack, state_dir)
    if not path.exists():
        raise SystemExit(f"stack '{stack}' is not deployed locally; run: conduit local up --stack {stack}")
    return json.loads(path.read_text())


def _up(args: argparse.Namespace) -> int:
    record = deploy(args.stack, args.project_dir, port=args.port)
    custom = [r for r in record["resources"] if r["custom"]]
    print(f"deployed stack '{args.stack}' onto the local cloud: {len(custom)} resources in "
          f"{record['timings']['deploySeconds']:.1f}s (emulator ready in {record['timings']['emulatorSeconds']:.1f}s)")
    _print_status(record)
    return 0


def _print_status(record: dict[str, Any]) -> None:
    emulator = Emulator(**record["emulator"])
    print(f"AWS endpoint      {emulator.endpoint}   (TLS certificate: {emulator.tls_cert})")
    print(f"MQTT endpoint     127.0.0.1:{emulator.mqtt_port} (mutual TLS, server name 'localhost'; "
          f"CA at {emulator.endpoint}/_ministack/iot/ca.pem)")
    print(f"credentials       AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_DEFAULT_REGION={emulator.region}")
    print("stack outputs (device keys omitted; see conduit flash):")
    print(json.dumps(_without_keys(record["outputs"]), indent=2))


def _without_keys(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: "[secret]" if k == "privateKey" else _without_keys(v) for k, v in value.items()}
    return value


def _status(args: argparse.Namespace) -> int:
    if emulator_module.find() is None:
        print("the local cloud is not running")
        return 1
    _print_status(load_deployment(args.stack))
    return 0


def _down(args: argparse.Namespace) -> int:
    print("stopped the local cloud" if emulator_module.stop() else "the local cloud was not running")
    return 0


def _demo(args: argparse.Namespace) -> int:
    from infra.cli.local.demo import run_demo

    return run_demo(args.stack, args.project_dir)


def _bench(args: argparse.Namespace) -> int:
    from infra.cli.local.bench import run_bench

    return run_bench(args.stack, args.project_dir, events=args.events, rows=args.rows)


def add_local_commands(commands: argparse._SubParsersAction) -> None:
    local = commands.add_parser("local", help="the local cloud: deploy a stack onto the embedded AWS emulator")
    sub = local.add_subparsers(dest="local_command", required=True)
    for name, func, text in (("up", _up, "start the emulator and deploy a stack onto it"),
                             ("status", _status, "print endpoints and outputs of the local deployment"),
                             ("demo", _demo, "deploy, drive sample traffic through every system, report, stop")):
        command = sub.add_parser(name, help=text)
        command.add_argument("--stack", default="dev")
        command.add_argument("--project-dir", type=Path, default=REPO)
        command.set_defaults(func=func)
        if name == "up":
            command.add_argument("--port", type=int, help="gateway port (default: free; 4566 for Pulumi.local.yaml)")
    down = sub.add_parser("down", help="stop everything the local cloud started")
    down.set_defaults(func=_down)
    bench = sub.add_parser("bench", help="measure deploy time, flow latency and ingest throughput")
    bench.add_argument("--stack", default="dev")
    bench.add_argument("--project-dir", type=Path, default=REPO)
    bench.add_argument("--events", type=int, default=200)
    bench.add_argument("--rows", type=int, default=2000)
    bench.set_defaults(func=_bench)
