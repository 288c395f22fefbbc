"""`conduit preview`: what a stack declares, as a tree or as JSON, in a stable order for diffs."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from typing import Any


def preview_json(document: dict[str, Any]) -> str:
    ordered = sorted(document["resources"], key=lambda r: r["urn"])
    resources = [{k: r[k] for k in ("urn", "type", "name", "parent", "inputs")} for r in ordered]
    return json.dumps({"stack": document["stack"], "resources": resources, "outputs": document["outputs"]},
                      indent=2, sort_keys=True)


def preview_text(document: dict[str, Any]) -> str:
    children: dict[str | None, list[dict[str, Any]]] = defaultdict(list)
    urns = {r["urn"] for r in document["resources"]}
    for r in document["resources"]:
        children[r["parent"] if r["parent"] in urns else None].append(r)
    lines = [f"stack {document['stack']}"]

    def walk(parent: str | None, depth: int) -> None:
        for r in sorted(children.get(parent, []), key=lambda r: (r["type"], r["name"])):
            lines.append(f"{'  ' * depth}{r['type']}  {r['name']}")
            walk(r["urn"], depth + 1)

    walk(None, 1)
    counts = Counter(r["type"] for r in document["resources"])
    lines.append("")
    lines.append(f"{len(document['resources'])} resources by type:")
    lines.extend(f"  {count:4d}  {type_}" for type_, count in sorted(counts.items()))
    if document["outputs"]:
        lines.append("")
        lines.append("outputs: " + ", ".join(sorted(document["outputs"])))
    return "\n".join(lines)
