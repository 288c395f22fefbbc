"""One program run, typed, as it crosses from the child (`conduit.child`) to the parent
(`conduit.runner`) and on to every reader: the check, the preview, the diagram, the cost, the local
cloud. Both sides of the process boundary write and read it through `to_json`/`from_json` only.

A secret (only a local deployment's record holds any: an offline run masks them in the child, as a
preview shows them) stays a `Secret` from the child to the one reader that reveals it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

# Pulumi's own mark of a secret in a state file (`pulumi stack export --show-secrets`): the value sits
# JSON-encoded under "plaintext". A record written with it reads as Pulumi's state reads.
SECRET_SIG_KEY = "4dabf18193072939515e22adb298388d"
SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"
MASK = "[secret]"


@dataclass(frozen=True)
class Secret:
    """A value the program marked secret (`Output.secret`, `additional_secret_outputs`). It keeps its
    mark from the child to the reader; only `reveal` takes it off, where the value is needed (flashing
    a device, `--show-secrets`); shown, it is "[secret]", as Pulumi shows it."""

    value: Any

    def __repr__(self) -> str:  # a secret is never printed by accident, not even in a traceback
        return f"Secret({MASK})"


def each_leaf(value: Any, leaf: Callable[[Any], Any]) -> Any:
    """`value` with `leaf` applied to everything in it that is not a dict or a list (a `Secret` is a
    leaf): the one walk that reveals, writes and shows secrets."""
    if isinstance(value, dict):
        return {k: each_leaf(v, leaf) for k, v in value.items()}
    if isinstance(value, list):
        return [each_leaf(v, leaf) for v in value]
    return leaf(value)


def reveal(value: Any) -> Any:
    """`value` with every secret in it revealed."""
    return each_leaf(value, lambda leaf: reveal(leaf.value) if isinstance(leaf, Secret) else leaf)


def _encoded(value: Any) -> Any:
    return each_leaf(value, lambda leaf: {SECRET_SIG_KEY: SECRET_SIG, "plaintext": json.dumps(_encoded(leaf.value))}
                     if isinstance(leaf, Secret) else leaf)


def _decoded(value: Any) -> Any:
    if isinstance(value, dict):
        if value.get(SECRET_SIG_KEY) == SECRET_SIG and "plaintext" in value:
            return Secret(_decoded(json.loads(value["plaintext"])))
        return {k: _decoded(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_decoded(v) for v in value]
    return value


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
                "id": self.id, "inputs": _encoded(self.inputs), "outputs": _encoded(self.outputs),
                "dependencies": self.dependencies,
                "propertyDependencies": self.property_dependencies, "provider": self.provider}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RecordedResource:
        return cls(urn=data["urn"], type=data["type"], name=data["name"], parent=data.get("parent"),
                   custom=data.get("custom", True), id=data.get("id"), inputs=_decoded(data.get("inputs") or {}),
                   outputs=_decoded(data.get("outputs") or {}), dependencies=list(data.get("dependencies") or []),
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
        return {"stack": self.stack, "resources": [r.to_json() for r in self.resources],
                "outputs": _encoded(self.outputs), "directCalls": self.direct_calls}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RunRecord:
        return cls(stack=data["stack"], resources=[RecordedResource.from_json(r) for r in data["resources"]],
                   outputs=_decoded(data.get("outputs") or {}), direct_calls=list(data.get("directCalls") or []))
