"""Run a Pulumi Python program on the SDK's mock engine, the way the language host runs it.

The language host executes the program directory's `__main__.py` as `__main__` from that
directory inside `run_in_stack`; doing the same here means a program that passes offline also
runs under `pulumi up`. The monitor records every registration (components included) with its
parent, which the SDK's own mock monitor does not keep.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import runpy
import sys
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pulumi
import pulumi.dynamic
from google.protobuf import struct_pb2
from pulumi.output import UNKNOWN, Unknown
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import rpc, settings
from pulumi.runtime.config import set_all_config
from pulumi.runtime.proto import resource_pb2
from pulumi.stack_reference import StackReferenceOutputDetails

from conduit.offline import lazy_modules
from conduit.offline.auto_names import with_auto_name
from conduit.offline.context import RunContext
from conduit.offline.plausible import DocumentByName, value_named
from conduit.offline.pulumi_seam import SECRET_SIG, SIG_KEY, ensure_event_loop, skip_source_positions
from conduit.project import Project, StackConfig
from conduit.run_record import RecordedResource, RunRecord


def is_secret(value: Any) -> bool:
    return isinstance(value, dict) and value.get(SIG_KEY) == SECRET_SIG


def _marked(outputs: dict[str, Any], secret: Any) -> dict[str, Any]:
    """`outputs` with those the resource declares secret (`additional_secret_outputs`) marked, as
    the engine marks them in its state; the mock monitor hands them back bare."""
    return {k: {SIG_KEY: SECRET_SIG, "value": v} if k in secret and not is_secret(v) else v
            for k, v in outputs.items()}


def _secrets_in_place(value: Any) -> Any:
    """A value off the wire with each secret where the program put it: the SDK's deserializer lifts a
    secret to the whole map or list that holds one (an export of a feeder's key hid its API URL)."""
    if isinstance(value, struct_pb2.Struct):
        if SIG_KEY not in value:
            return {k: _secrets_in_place(v) for k, v in value.items()}
        if value[SIG_KEY] == SECRET_SIG:
            return {SIG_KEY: SECRET_SIG, "value": _secrets_in_place(value["value"])}
    if isinstance(value, struct_pb2.ListValue):
        return [_secrets_in_place(v) for v in value]
    return rpc.deserialize_property(value)


class RecordingMonitor(pulumi_mocks.MockMonitor):
    """The SDK's mock monitor, keeping parents, inputs and the stack's outputs."""

    def __init__(self, mocks: pulumi_mocks.Mocks, run: RunRecord,
                 progress: Callable[[int, int], None] | None = None):
        super().__init__(mocks)
        self.run = run
        self._stack_urn: str | None = None
        self._progress = progress  # (resources done, resources registered so far)
        self._counts = [0, 0]
        self._counting = threading.Lock()

    def _count(self, done: int, registered: int) -> None:
        if self._progress is not None:
            with self._counting:
                self._counts[0] += done
                self._counts[1] += registered
                self._progress(*self._counts)

    def GetDeploymentInfo(self, request: Any) -> Any:
        """Resource references off, as the SDK allows: a resource passed as an input (or exported)
        travels as its id or URN. With them on, the monitor rebuilds the resource on its own
        thread, whose futures belong to another event loop than the program's ("attached to a
        different loop")."""
        info = super().GetDeploymentInfo(request)
        kept = [f for f in info.supportedFeatures if f != resource_pb2.RESOURCE_MONITOR_FEATURE_RESOURCE_REFERENCES]
        return resource_pb2.DeploymentInfo(supportedFeatures=kept)

    def make_urn(self, parent: str, type_: str, name: str) -> str:
        """As the engine builds URNs: the parent's whole type chain, but never the root stack's type."""
        if parent:
            chain = parent.split("::")[2]
            if chain != "pulumi:pulumi:Stack":
                type_ = f"{chain}${type_}"
        return "urn:pulumi:" + "::".join([pulumi.get_stack(), pulumi.get_project(), type_, name])

    def RegisterResource(self, request: Any) -> Any:
        if request.type == "pulumi:pulumi:Stack":
            response = super().RegisterResource(request)
            self._stack_urn = response.urn
            return response
        self._count(0, 1)
        response = super().RegisterResource(request)
        self._count(1, 0)
        ensure_event_loop()
        registered = self.resources[response.urn]
        inputs = rpc.deserialize_properties(request.object)
        if request.custom:  # as the provider's Check returns them, auto-name included
            inputs = with_auto_name(request.type, request.name, inputs)
        self.run.resources.append(RecordedResource(
            urn=response.urn, type=request.type, name=request.name, parent=request.parent or None,
            custom=bool(request.custom), inputs=inputs,
            outputs=_marked(dict(registered.state), request.additionalSecretOutputs), id=registered.id,
            dependencies=list(request.dependencies),
            property_dependencies={k: list(v.urns) for k, v in request.propertyDependencies.items()},
            provider=request.provider.rsplit("::", 1)[0] if request.provider else None,
        ))
        return response

    def ReadResource(self, request: Any) -> Any:
        """As the engine answers a read: with the id the provider read, which the SDK's mock monitor
        leaves out (so a preview saw `Vpc.get(name, id).id` as unknown)."""
        response = super().ReadResource(request)
        response.id = self.resources[response.urn].id or request.id
        return response

    def Invoke(self, request: Any) -> Any:
        """A resource a provider's component handed back (conduit.offline.cloud.built_by_provider) is
        answered when the program rehydrates it, as the engine answers from its state."""
        if request.tok == "pulumi:pulumi:getResource":
            ensure_event_loop()
            urn = str(rpc.deserialize_properties(request.args).get("urn", ""))
            if urn not in self.resources and urn.count("::") == 3:
                type_, name = urn.split("::")[2].rsplit("$", 1)[-1], urn.split("::")[3]
                resource_id, state = self.mocks.new_resource(
                    pulumi_mocks.MockResourceArgs(type_, name, {}, "", "", custom=True))
                self.resources[urn] = pulumi_mocks.MockMonitor.ResourceRegistration(urn, resource_id or "", state)
        return super().Invoke(request)

    def RegisterResourceOutputs(self, request: Any) -> Any:
        """The stack's outputs. set_mocks registers a root stack of its own, under the same URN, whose
        empty outputs run on the loop beside the program's: landing last, they once erased every
        export (CI). Only the program has outputs to give, so empty outputs never replace them."""
        if request.urn == self._stack_urn:
            ensure_event_loop()
            outputs = _secrets_in_place(request.outputs)
            if outputs or not self.run.outputs:
                self.run.outputs = outputs
        return super().RegisterResourceOutputs(request)


def _output_of(outputs: dict[str, Any] | None, name: str) -> Any:
    return outputs[name] if outputs and name in outputs else value_named(name)


def _entry(value: Any, key: Any) -> Any:
    if isinstance(value, Unknown):
        return UNKNOWN
    if isinstance(value, dict) and isinstance(key, str) and key not in value:
        return value_named(key)
    return value[key]


@contextlib.contextmanager
def answers_by_name(context: RunContext) -> Iterator[None]:
    """What a provider would know and no offline run can, answered by name for this run only:

    - another stack's outputs (`get_output` gave None, `require_output` raised): each output a
      program asks for gets a value shaped by its name;
    - a key of a map the provider fills (`api.uris["GRAPHQL"]`, made empty offline) gets one too,
      where the SDK's `Output[...]` lookup would have raised KeyError;
    - the outputs a dynamic resource declares are noted, for conduit.offline.cloud to make by name;
    - content a data source made up (an SSM parameter's value, an S3 object's body) that the program
      parses as JSON becomes a document answering every key by name, where `json.loads` would raise.
    """
    reference, output, dynamic = pulumi.StackReference, pulumi.Output, pulumi.dynamic.Resource
    saved = [(reference, name, reference.__dict__[name]) for name in ("get_output", "require_output",
                                                                          "get_output_details")]
    saved += [(output, "__getitem__", output.__dict__["__getitem__"]), (dynamic, "__init__", dynamic.__init__)]
    dynamic_init = dynamic.__init__
    saved.append((json, "loads", json.loads))
    parse = json.loads

    def loads(text: Any, *args: Any, **kw: Any) -> Any:
        try:
            return parse(text, *args, **kw)
        except json.JSONDecodeError:
            if (text.decode(errors="replace") if isinstance(text, bytes) else text) in context.made_content:
                return DocumentByName()
            raise

    def declare(self: pulumi.dynamic.Resource, provider: Any, name: str, props: Any, *rest: Any, **kw: Any) -> None:
        declared = [k for k, v in dict(props).items() if v is None]
        dynamic_init(self, provider, name, props, *rest, **kw)
        # Noted before the monitor hears of it: registration waits for the loop, which this call holds.
        context.dynamic_outputs[(self.pulumi_resource_type, name)] = declared

    def get_output(self: pulumi.StackReference, name: pulumi.Input[str]) -> pulumi.Output[Any]:
        return pulumi.Output.all(pulumi.Output.from_input(name), self.outputs).apply(lambda p: _output_of(p[1], p[0]))

    async def get_output_details(self: pulumi.StackReference, name: str) -> StackReferenceOutputDetails:
        return StackReferenceOutputDetails(value=_output_of(await self.outputs.future(), name))

    def getitem(self: pulumi.Output[Any], key: Any) -> pulumi.Output[Any]:
        return self.apply(lambda value: _entry(value, key), True)

    reference.get_output = reference.require_output = get_output  # type: ignore[method-assign]
    reference.get_output_details = get_output_details  # type: ignore[method-assign]
    output.__getitem__ = getitem  # type: ignore[method-assign]
    dynamic.__init__ = declare  # type: ignore[method-assign]
    json.loads = loads
    try:
        yield
    finally:
        for cls, name, method in saved:
            setattr(cls, name, method)


def run_program(project: Project, stack: StackConfig, mocks: pulumi_mocks.Mocks, dry_run: bool = False,
                progress: Callable[[int, int], None] | None = None, context: RunContext | None = None) -> RunRecord:
    """Run the project's program for `stack` against `mocks`; raises what the program raises.
    `progress(done, registered)` hears of every resource as it is registered and as it is done;
    `context` is the run's, shared with a fake cloud (a fresh one when none is given)."""
    run = RunRecord(stack=stack.name, resources=[])
    lazy_modules.install()
    skip_source_positions()
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    set_all_config(dict(stack.values), list(stack.secret_keys))
    pulumi_mocks.set_mocks(mocks, project=project.name, stack=stack.name, preview=dry_run,
                           monitor=RecordingMonitor(mocks, run, progress))
    # set_mocks leaves a finished root stack behind (see RegisterResourceOutputs for its outputs);
    # the language host starts from none.
    settings.ROOT.set(None)
    program_dir = project.main if project.main.is_dir() else project.main.parent
    previous_dir, previous_path = os.getcwd(), list(sys.path)
    os.chdir(program_dir)
    try:
        with answers_by_name(context or RunContext()):
            loop.run_until_complete(pulumi.runtime.stack.run_in_stack(
                lambda: runpy.run_path(str(project.main), run_name="__main__")
            ))
    finally:
        os.chdir(previous_dir)
        sys.path[:] = previous_path
    return run
