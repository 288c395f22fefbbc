"""One program run, typed, as it crosses from the child (`conduit.child`) to the parent
(`conduit.runner`) and on to every reader: the check, the preview, the diagram, the cost, the local
cloud. Both sides of the process boundary write and read it through `to_json`/`from_json` only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class RecordedResource:
    """A resource (or component) the program registered: its inputs, and the outputs the run gave it."""

    urn: str
    type: str
    name: str
    parent: str | None = None
    custom: bool = True
    id: str | None = None
    inputs: dict[str, Any] = field(default_factory=dict)
    outputs: dict[str, Any] = field(default_factory=dict)
    dependencies: list[str] = field(default_factory=list)
    property_dependencies: dict[str, list[str]] = field(default_factory=dict)
    provider: str | None = None
    """The URN of the resource's explicit provider (None: the default one)."""

    def to_json(self) -> dict[str, Any]:
        return {"urn": self.urn, "type": self.type, "name": self.name, "parent": self.parent, "custom": self.custom,
                "id": self.id, "inputs": self.inputs, "outputs": self.outputs, "dependencies": self.dependencies,
                "propertyDependencies": self.property_dependencies, "provider": self.provider}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RecordedResource:
        return cls(urn=data["urn"], type=data["type"], name=data["name"], parent=data.get("parent"),
                   custom=data.get("custom", True), id=data.get("id"), inputs=data.get("inputs") or {},
                   outputs=data.get("outputs") or {}, dependencies=list(data.get("dependencies") or []),
                   property_dependencies=dict(data.get("propertyDependencies") or {}), provider=data.get("provider"))


@dataclass
class RunRecord:
    """Every registration of one run of a stack, its stack outputs, and the program's own cloud calls
    an offline run refused."""

    stack: str
    resources: list[RecordedResource]
    outputs: dict[str, Any] = field(default_factory=dict)
    direct_calls: list[dict[str, Any]] = field(default_factory=list)

    @property
    def custom(self) -> list[RecordedResource]:
        """The resources a provider makes (components left out)."""
        return [r for r in self.resources if r.custom]

    def of_type(self, *types: str) -> list[RecordedResource]:
        return [r for r in self.resources if r.type in types]

    def by_urn(self) -> dict[str, RecordedResource]:
        return {r.urn: r for r in self.resources}

    def to_json(self) -> dict[str, Any]:
        return {"stack": self.stack, "resources": [r.to_json() for r in self.resources], "outputs": self.outputs,
                "directCalls": self.direct_calls}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RunRecord:
        return cls(stack=data["stack"], resources=[RecordedResource.from_json(r) for r in data["resources"]],
                   outputs=data.get("outputs") or {}, direct_calls=list(data.get("directCalls") or []))
