"""An offline run of a program reaches no cloud and no network, whatever its environment holds.

`conduit check` and `conduit preview` run someone's program, and a program may call a cloud itself:
at its top (an STS or SSM look-up) or inside an `apply` (pruning old Lambda versions with boto3).
In a CI job with real credentials that would read, or delete, real things. So the child that runs
the program is sealed before the program is imported:

- credentials, profiles, role and web-identity settings and endpoint overrides of every SDK that
  reads them from the environment are removed; shared config files point at nothing; instance
  metadata is disabled;
- every AWS SDK call (botocore, which boto3 uses) is refused before it resolves credentials or opens
  a connection, and recorded with the program's own file and line;
- every network connection the process tries (any SDK, any library), and every DNS lookup of a
  name, is refused the same way; local Unix sockets are allowed;
- starting another program (the `aws` CLI, curl) is refused: it would not be sealed.

A refused call inside an `apply` makes that output unknown, as it is in a real preview before the
resource exists, and the run goes on; a refused call at the program's top ends the run with the
program's line. Either way the summary lists the calls ("calls AWS directly; not judged offline").
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import os
import socket
import sys
import traceback
import types
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# Environment variables through which an SDK finds credentials, a profile or an endpoint.
_SCRUBBED_PREFIXES = ("AWS_", "AZURE_", "ARM_", "GOOGLE_", "GCLOUD_", "CLOUDSDK_", "DIGITALOCEAN_")
_SCRUBBED = {"KUBECONFIG", "HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"}
_KEPT = {"AWS_REGION", "AWS_DEFAULT_REGION"}  # a region is configuration, not a way in
SEALED_ENVIRONMENT = {
    "AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull, "AWS_EC2_METADATA_DISABLED": "true",
    "NO_PROXY": "*",
}


def sealed_environment(env: dict[str, str]) -> dict[str, str]:
    """`env` without any way into a cloud: what the child that runs a program offline starts with."""
    kept = {k: v for k, v in env.items() if k in _KEPT or not (k.startswith(_SCRUBBED_PREFIXES) or k in _SCRUBBED)}
    return {**kept, **SEALED_ENVIRONMENT}


class OfflineRefusal(Exception):
    """A cloud or network call an offline run refused; the program's line is in the record."""


@dataclass(frozen=True)
class DirectCall:
    """One refused call: what it was, where in the program, and whether the run went on past it."""

    call: str
    where: str
    in_apply: bool = False

    def line(self) -> str:
        after = "its output left unknown, the run went on" if self.in_apply else "the run stopped there"
        return f"calls {self.call} itself, not judged offline ({after}): {self.where or 'line unknown'}"


class Seal:
    """The sealed child's record of what it refused."""

    def __init__(self) -> None:
        self.project_dir = ""  # the running program's, set by `begin`
        self.calls: list[DirectCall] = []

    def begin(self, project_dir: Path) -> None:
        """A new program run in this sealed process: its calls alone, attributed to its own lines."""
        self.project_dir, self.calls = str(project_dir.resolve()), []

    def where(self) -> str:
        """The innermost frame of the program (not of a library) on the current stack."""
        frames = [f for f in traceback.extract_stack()
                  if f.filename.startswith(self.project_dir) and "/site-packages/" not in f.filename]
        if not frames:
            return ""
        frame = frames[-1]
        return f"{frame.filename}:{frame.lineno}: {(frame.line or '').strip()}"

    def refuse(self, call: str) -> OfflineRefusal:
        self.calls.append(DirectCall(call, self.where()))
        return OfflineRefusal(f"an offline check reaches no cloud: the program calls {call} itself")

    def went_on(self) -> None:
        """The last refused call was inside an apply whose output is now unknown."""
        if self.calls and not self.calls[-1].in_apply:
            last = self.calls[-1]
            self.calls[-1] = DirectCall(last.call, last.where, in_apply=True)

    def report(self) -> list[dict[str, Any]]:
        return [{"call": c.call, "where": c.where, "inApply": c.in_apply, "line": c.line()} for c in self.calls]

    def install(self) -> None:
        """Scrub this process's environment and refuse its SDK calls and connections."""
        sealed = sealed_environment(dict(os.environ))
        os.environ.clear()
        os.environ.update(sealed)
        self._refuse_connections()
        self._refuse_aws_calls()
        self._refuse_programs()

    def _refuse_connections(self) -> None:
        seal, connect, connect_ex = self, socket.socket.connect, socket.socket.connect_ex

        def guarded(sock: socket.socket, address: Any) -> Any:
            if sock.family == getattr(socket, "AF_UNIX", None):
                return connect(sock, address)
            raise seal.refuse(f"the network ({_address(address)})")

        def guarded_ex(sock: socket.socket, address: Any) -> Any:
            if sock.family == getattr(socket, "AF_UNIX", None):
                return connect_ex(sock, address)
            raise seal.refuse(f"the network ({_address(address)})")

        socket.socket.connect, socket.socket.connect_ex = guarded, guarded_ex
        lookup = socket.getaddrinfo

        def resolving(host: Any, *args: Any, **kwargs: Any) -> Any:
            if host is None or _is_local(host):
                return lookup(host, *args, **kwargs)
            raise seal.refuse(f"the network (a DNS lookup of {host})")  # a query that leaves the machine

        socket.getaddrinfo = resolving

    def _refuse_programs(self) -> None:
        """Another program started from this one would not be sealed (the `aws` CLI, curl)."""
        import subprocess

        seal, start = self, subprocess.Popen.__init__

        def refused(popen: Any, args: Any, *rest: Any, **kwargs: Any) -> None:
            shown = args if isinstance(args, str) else " ".join(map(str, args))
            raise seal.refuse(f"another program ({shown[:80]})")

        subprocess.Popen.__init__ = refused
        os.system = lambda command: refused(None, command)
        del start

    def _refuse_aws_calls(self) -> None:
        """botocore's client, refused now if it is loaded, else the moment it is: most programs never
        import it, and importing it only to refuse it took a tenth of a second of every run."""
        seal = self

        def refused(client: Any, operation: str, params: dict[str, Any]) -> Any:
            raise seal.refuse(f"AWS ({client.meta.service_model.service_name}.{operation})")

        def refuse(module: types.ModuleType) -> None:
            module.BaseClient._make_api_call = refused

        if "botocore.client" in sys.modules:
            refuse(sys.modules["botocore.client"])
        else:
            sys.meta_path.insert(0, OnLoad("botocore.client", refuse))


class OnLoad(importlib.abc.MetaPathFinder):
    """Runs `then` on the module `name` right after its code has run, before anyone can use it. The
    module is found by the finders after this one, as it would have been (a virtualenv's own
    finders too); only its loader's `exec_module` is wrapped, and only for that module."""

    def __init__(self, name: str, then: Callable[[types.ModuleType], None]) -> None:
        self.name, self.then = name, then

    def find_spec(self, fullname: str, path: Sequence[str] | None, target: Any = None) -> Any:
        if fullname != self.name:
            return None
        spec = self._found_by_the_others(fullname, path, target)
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return spec
        loader, name, then = spec.loader, self.name, self.then

        def exec_module(module: types.ModuleType) -> None:
            type(loader).exec_module(loader, module)
            if module.__name__ == name:  # a loader may serve a whole archive of modules
                then(module)

        loader.exec_module = exec_module  # type: ignore[method-assign]
        return spec

    def _found_by_the_others(self, fullname: str, path: Sequence[str] | None, target: Any) -> Any:
        for finder in sys.meta_path:
            if finder is not self and hasattr(finder, "find_spec"):
                spec = finder.find_spec(fullname, path, target)
                if spec is not None:
                    return spec
        return None


def _is_local(host: Any) -> bool:
    if isinstance(host, bytes):
        host = host.decode(errors="replace")
    if host in ("localhost", "") or str(host).endswith(".localhost"):
        return True
    try:
        import ipaddress

        ipaddress.ip_address(str(host).split("%")[0])
        return True  # a literal address needs no lookup; connecting to it is refused all the same
    except ValueError:
        return False


def _address(address: Any) -> str:
    if isinstance(address, tuple) and len(address) >= 2:
        return f"{address[0]}:{address[1]}"
    return str(address)
