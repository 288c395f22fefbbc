"""`conduit preview`: what a stack declares, as a tree or as JSON, in a stable order for diffs."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from typing import Any

from conduit.run_record import RecordedResource, RunRecord


def preview_json(record: RunRecord) -> str:
    resources = [{"urn": r.urn, "type": r.type, "name": r.name, "parent": r.parent, "inputs": r.inputs}
                 for r in sorted(record.resources, key=lambda r: r.urn)]
    return json.dumps({"stack": record.stack, "resources": resources, "outputs": record.outputs},
                      indent=2, sort_keys=True)


def preview_text(record: RunRecord) -> str:
    children: dict[str | None, list[RecordedResource]] = defaultdict(list)
    urns = {r.urn for r in record.resources}
    for r in record.resources:
        children[r.parent if r.parent in urns else None].append(r)
    lines = [f"stack {record.stack}"]

    def walk(parent: str | None, depth: int) -> None:
        for r in sorted(children.get(parent, []), key=lambda r: (r.type, r.name)):
            lines.append(f"{'  ' * depth}{r.type}  {r.name}")
            walk(r.urn, depth + 1)

    walk(None, 1)
    counts = Counter(r.type for r in record.resources)
    lines.append("")
    lines.append(f"{len(record.resources)} resources by type:")
    lines.extend(f"  {count:4d}  {type_}" for type_, count in sorted(counts.items()))
    if record.outputs:
        lines.append("")
        lines.append("outputs: " + ", ".join(sorted(record.outputs)))
    return "\n".join(lines)


def render_direct_calls(calls: list[dict[str, Any]]) -> str:
    """The program's own cloud calls the offline run refused (conduit/offline/hermetic.py)."""
    if not calls:
        return ""
    return (f"\n{len(calls)} call(s) of the program's own to a cloud, refused (an offline check reaches none):\n"
            + "\n".join(f"  - {c['line']}" for c in calls))
