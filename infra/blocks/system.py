"""The opening every system's component shares: its type token and name from its System, a
parent for its children, and its functions' defaults."""

from __future__ import annotations

import pulumi

from infra.blocks.defaults import FunctionDefaults, SystemDefaults
from infra.systems import System


class SystemComponent(pulumi.ComponentResource):
    """`conduit:<key>:<Name>`, named after the system; `child` parents what it declares."""

    def __init__(self, system: System, name: str, defaults: SystemDefaults,
                 opts: pulumi.ResourceOptions | None = None):
        super().__init__(system.component_type, name, None, opts)
        self.system = system
        self.defaults = defaults
        self.child = pulumi.ResourceOptions(parent=self)
        self.functions: FunctionDefaults = defaults.functions(system)
        self.outputs: dict[str, pulumi.Input[object]] = {}

    def finish(self, outputs: dict[str, pulumi.Input[object]]) -> None:
        """The system's entry points: its stack output `<key>` and its registered outputs."""
        self.outputs = outputs
        self.register_outputs(outputs)
