"""Start, find and stop the embedded AWS emulator (ministack) on free loopback ports.

It runs with IAM enforcement (`AUTH=true`), HTTPS on the gateway (so TLS-only bucket policies
hold, as on AWS) and the MQTT mutual-TLS listener on. Its state lives in `.conduit/local/`.
"""

from __future__ import annotations

import contextlib
import datetime
import functools
import ipaddress
import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.request
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import boto3
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from conduit.local.faults import NO_FAULTS, Faults


@functools.cache
def _client(emulator: Emulator, service: str) -> Any:
    # boto3 clients are thread-safe; an emulator started anew is another key (its pid differs).
    return emulator.session().client(service, endpoint_url=emulator.endpoint, verify=emulator.tls_cert)


REGION = "eu-west-1"
READY_TIMEOUT_SECONDS = 60


class EmulatorError(RuntimeError):
    """The emulator could not be started, reached or stopped."""


@dataclass(frozen=True)
class Emulator:
    pid: int
    gateway_port: int
    mqtt_port: int
    state_dir: str
    region: str = REGION
    duplicates: int = 1
    crash_after_write: bool = False

    def faults(self) -> Faults:
        """The faults this emulator injects (none, unless started with some)."""
        return Faults(self.duplicates, self.crash_after_write)

    @property
    def endpoint(self) -> str:
        return f"https://127.0.0.1:{self.gateway_port}"

    @property
    def tls_cert(self) -> str:
        return str(Path(self.state_dir) / "gateway.crt")

    @property
    def audit_log(self) -> str:
        return str(Path(self.state_dir) / "audit.jsonl")

    def activity(self) -> int:
        """A number that grows whenever any role calls any service (the audit's size): the local cloud
        is still at work while it changes."""
        try:
            return os.path.getsize(self.audit_log)
        except OSError:
            return 0

    @property
    def log_file(self) -> str:
        return str(Path(self.state_dir) / "emulator.log")

    def client_environment(self) -> dict[str, str]:
        """What an AWS SDK needs to talk to the emulator as the account's root."""
        return {
            "AWS_ENDPOINT_URL": self.endpoint, "AWS_CA_BUNDLE": self.tls_cert, "AWS_DEFAULT_REGION": self.region,
            "AWS_REGION": self.region, "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
        }

    def connection(self) -> dict[str, Any]:
        """The emulator as an AWS connection of infra/aws_connection.py (what `aws:*` settings describe)."""
        services = ("iot", "sts", "s3", "sqs", "sns", "dynamodb", "lambda", "iam", "events")
        return {"endpoints": dict.fromkeys(services, self.endpoint), "customCaBundle": self.tls_cert,
                "accessKey": "test", "secretKey": "test"}

    def session(self) -> boto3.Session:
        return boto3.Session(aws_access_key_id="test", aws_secret_access_key="test", region_name=self.region)

    def client(self, service: str) -> Any:
        """A client of this emulator process, made once per service: making one (a session, a TLS
        context, a connection) costs far more than a call, and scenarios poll in tight loops."""
        return _client(self, service)

    def ready(self) -> bool:
        context = ssl.create_default_context(cafile=self.tls_cert)
        try:
            with urllib.request.urlopen(f"{self.endpoint}/_ministack/ready", timeout=2, context=context) as r:
                return r.status == 200
        except OSError:
            return False

    def reset(self) -> None:
        context = ssl.create_default_context(cafile=self.tls_cert)
        request = urllib.request.Request(f"{self.endpoint}/_ministack/reset", method="POST")
        with urllib.request.urlopen(request, timeout=30, context=context):
            pass
        Path(self.audit_log).write_text("")

    def mqtt_ca(self) -> bytes:
        """The CA that signs device certificates and the MQTT listener's certificate."""
        context = ssl.create_default_context(cafile=self.tls_cert)
        with urllib.request.urlopen(f"{self.endpoint}/_ministack/iot/ca.pem", timeout=5, context=context) as r:
            return r.read()


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _write_gateway_certificate(state_dir: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and localhost, trusted by Conduit's clients only."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "conduit local cloud")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.SubjectAlternativeName([
            x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = state_dir / "gateway.crt", state_dir / "gateway.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    key_path.chmod(0o600)
    return cert_path, key_path


def _state_file(state_dir: Path) -> Path:
    return state_dir / "emulator.json"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def find(directory: Path) -> Emulator | None:
    """The emulator this state directory started, if it is still running and answering."""
    path = _state_file(directory)
    if not path.exists():
        return None
    emulator = Emulator(**json.loads(path.read_text()))
    if _alive(emulator.pid) and emulator.ready():
        return emulator
    return None


def start(directory: Path, gateway_port: int | None = None, injected: Faults = NO_FAULTS) -> Emulator:
    """Start a fresh emulator (stopping one this directory started before) on free ports, with the
    faults asked for (duplicate deliveries, crashes after a write)."""
    stop(directory)
    directory.mkdir(parents=True, exist_ok=True)
    cert, key = _write_gateway_certificate(directory)
    gateway_port, mqtt_port = gateway_port or _free_port(), _free_port()
    audit = directory / "audit.jsonl"
    audit.write_text("")
    env = {
        **os.environ,
        "GATEWAY_PORT": str(gateway_port), "BIND_HOST": "127.0.0.1", "AUTH": "true",
        "USE_SSL": "1", "MINISTACK_SSL_CERT": str(cert), "MINISTACK_SSL_KEY": str(key),
        "IOT_MTLS_PORT": str(mqtt_port), "MINISTACK_REGION": REGION, "LAMBDA_EXECUTOR": "local",
        "LAMBDA_ASYNC_RETRY_BASE_SECONDS": "0.2", "CONDUIT_AUDIT_LOG": str(audit), "CONDUIT_REGION": REGION,
        "LOG_LEVEL": "WARNING",
        # The account root's credentials, whose secret the gateway verifies signatures with.
        "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
        **injected.environment(),
    }
    for variable in ("AWS_ENDPOINT_URL", "AWS_PROFILE", "AWS_CA_BUNDLE", "AWS_SESSION_TOKEN"):
        env.pop(variable, None)
    log = open(directory / "emulator.log", "wb")  # noqa: SIM115 - handed to the child
    process = subprocess.Popen([sys.executable, "-m", "conduit.local.launcher"], env=env, stdout=log,
                               stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
                               cwd=directory)
    emulator = Emulator(process.pid, gateway_port, mqtt_port, str(directory), REGION, injected.duplicates,
                        injected.crash_after_write)
    deadline = time.monotonic() + READY_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise EmulatorError(f"the emulator exited with {process.returncode}; see {emulator.log_file}")
        if emulator.ready():
            _state_file(directory).write_text(json.dumps(asdict(emulator)))
            return emulator
        time.sleep(0.1)
    _kill(process.pid)
    raise EmulatorError(f"the emulator did not answer within {READY_TIMEOUT_SECONDS}s; see {emulator.log_file}")


def _kill(pid: int) -> None:
    """Stop the emulator and every Lambda worker it started (they share its process group)."""
    for sig, wait in ((signal.SIGTERM, 5.0), (signal.SIGKILL, 2.0)):
        try:
            os.killpg(pid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            try:
                os.killpg(pid, 0)
            except ProcessLookupError:
                return
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, os.WNOHANG)
            time.sleep(0.05)


def stop(directory: Path) -> bool:
    """Stop what this state directory started; True when something was running."""
    path = _state_file(directory)
    if not path.exists():
        return False
    emulator = Emulator(**json.loads(path.read_text()))
    was_running = _alive(emulator.pid)
    _kill(emulator.pid)
    path.unlink(missing_ok=True)
    return was_running
