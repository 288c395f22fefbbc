"""Resources of a stack related by URN, through what the engine records: `dependencies` and
`property_dependencies`. Unlike comparing ARN strings, this holds when values are unknown."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pulumi_policy import PolicyResource, StackValidationArgs
from pulumi_policy.proxy import UnknownValueError

from conduit_policies.documents import plain
from conduit_policies.unjudged import Unknown


class StackGraph:
    def __init__(self, args: StackValidationArgs):
        self.resources: list[PolicyResource] = list(args.resources)
        self._closure: dict[str, set[str]] = {}

    def of_type(self, *types: str) -> Iterator[PolicyResource]:
        return (r for r in self.resources if r.resource_type in types)

    @staticmethod
    def through(resource: PolicyResource, prop: str, *types: str) -> list[PolicyResource]:
        """Resources of `types` the value of `prop` was built from."""
        found = (resource.property_dependencies or {}).get(prop) or []
        return [r for r in found if not types or r.resource_type in types]

    def referring(self, target: PolicyResource, prop: str, *types: str) -> Iterator[PolicyResource]:
        """Resources of `types` whose `prop` was built from `target`."""
        for r in self.of_type(*types):
            if any(d.urn == target.urn for d in self.through(r, prop)):
                yield r

    def ordered_after(self, resource: PolicyResource, earlier: PolicyResource) -> bool:
        """Whether the engine makes `resource` only after `earlier` (any chain of dependencies)."""
        if resource.urn not in self._closure:
            seen: set[str] = set()
            stack = list(resource.dependencies or [])
            while stack:
                d = stack.pop()
                if d.urn not in seen:
                    seen.add(d.urn)
                    stack.extend(d.dependencies or [])
            self._closure[resource.urn] = seen
        return earlier.urn in self._closure[resource.urn]


def value(resource: PolicyResource, key: str, *path: str) -> Any:
    """`resource.props[key]` (or the setting at `key.path...`, read key by key so that an unknown
    beside it does not stop the read) as plain data; raises Unknown while what it reads is unknown."""
    try:
        found = resource.props.get(key)
        for step in path:
            found = found.get(step) if hasattr(found, "get") else None
        return plain(found)
    except UnknownValueError as exc:
        raise Unknown(resource.urn, "." + ".".join([key, *path, *(str(p) for p in exc.props[1:])])) from exc
