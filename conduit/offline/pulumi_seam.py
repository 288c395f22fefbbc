"""Every private name of pulumi (pinned exactly in pyproject.toml) the offline engine uses, in one
place: an upgrade that moves one fails `tests/test_pulumi_seam.py` by name, and nothing else here
reaches past pulumi's public API."""

from __future__ import annotations

from typing import Any

import pulumi._utils as pulumi_utils
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import resource as pulumi_resource
from pulumi.runtime import rpc
from pulumi.runtime.proto import source_pb2

# How the wire marks a secret ({SIG_KEY: SECRET_SIG, "value": ...}) and a resource reference
# ({SIG_KEY: RESOURCE_SIG, "urn": ...}); the SDK keeps the markers private.
SIG_KEY: str = rpc._special_sig_key
SECRET_SIG: str = rpc._special_secret_sig
RESOURCE_SIG: str = rpc._special_resource_sig

# The SDK's lazy module class (a generated provider SDK's modules are instances) and the attributes
# it answers without loading (conduit.offline.lazy_modules replaces its attribute lookup).
LAZY_MODULE: type = pulumi_utils._LazyModule
LAZY_INTROSPECTION: Any = pulumi_utils._INTROSPECTION_ATTRS


def ensure_event_loop() -> None:
    """The mock monitor's calls arrive on executor threads; the SDK gives each a loop this way."""
    pulumi_mocks._ensure_event_loop()


def skip_source_positions() -> None:
    """No run here reads where in the program a resource was declared, which the SDK works out per
    registration with `traceback.extract_stack()`, reading every frame's source line: a third of a
    second of dev's 342 resources, seconds of a 1,000-feeder fleet. Registrations go without it."""
    pulumi_resource._get_stack_trace = source_pb2.StackTrace
