"""The offline engine's and the check's seam to pulumi's and pulumi-policy's internals: every private
name they use, with the parameters they are used with. An upgrade that moves one fails here, by
name (tests/test_layout.py keeps private use inside these modules)."""

from __future__ import annotations

import importlib
import inspect
from importlib.metadata import version

import pytest

from tests.conftest import REPO

# (module, name, parameters it is called with; None: a constant or a class read)
USED = [
    ("pulumi.runtime.mocks", "_ensure_event_loop", []),
    ("pulumi.runtime.rpc", "_special_sig_key", None),
    ("pulumi.runtime.rpc", "_special_secret_sig", None),
    ("pulumi.runtime.rpc", "_special_resource_sig", None),
    ("pulumi._utils", "_LazyModule", None),
    ("pulumi._utils", "_INTROSPECTION_ATTRS", None),
    ("pulumi.runtime.resource", "_get_stack_trace", []),
    ("pulumi_policy.policy", "_PolicyAnalyzerServicer", ["name", "version", "policies", "enforcement_level"]),
]
USERS = {"conduit/offline/pulumi_seam.py", "conduit/policy_seam.py"}


@pytest.mark.parametrize(("module", "name", "parameters"), USED, ids=[f"{m}.{n}" for m, n, _ in USED])
def test_each_private_the_engine_uses_is_there(module, name, parameters):
    found = getattr(importlib.import_module(module), name, None)
    assert found is not None, f"pulumi moved {module}.{name}: revisit {sorted(USERS)}"
    if parameters is not None:
        assert list(inspect.signature(found).parameters)[:len(parameters)] == parameters


def test_the_lazy_module_still_loads_by_its_loader_state():
    """conduit/offline/lazy_modules.py runs the loader the way pulumi's class does: from loader_state."""
    import pulumi._utils as utils

    source = inspect.getsource(utils._LazyModule.__getattribute__)
    assert 'loader_state["__dict__"]' in source and "exec_module(self)" in source


def test_pulumi_and_pulumi_policy_are_the_pinned_versions():
    pins = {line.split("==")[0].strip(' "'): line.split("==")[1].strip('",\n ')
            for line in (REPO / "pyproject.toml").read_text().splitlines()
            if line.strip().startswith(('"pulumi==', '"pulumi-policy=='))}
    assert version("pulumi") == pins["pulumi"] and version("pulumi-policy") == pins["pulumi-policy"]


def test_a_registration_asks_the_module_for_its_stack_trace_so_skipping_it_takes():
    """skip_source_positions replaces the module's function: the SDK must look it up at each call."""
    import pulumi.runtime.resource as resource

    source = inspect.getsource(resource)
    assert source.count("stack_trace = _get_stack_trace()") >= 2
    assert "return None if len(stack.frames) < 1 else stack.frames[0].pc" in source
