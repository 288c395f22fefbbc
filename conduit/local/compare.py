"""Hold the local deployer's hand-written AWS mapping against the real provider's.

Where the Pulumi CLI exists, a workflow deploys the `local` stack twice onto the emulator: once
with `conduit local up`, once with a real `pulumi up`. This compares the two: the same resources
(by URN and type), every input the program set reaching the real provider, and stack outputs of
the same shape. Values that AWS generates (ids, random API ids) are not compared.
"""

from __future__ import annotations

from typing import Any

from conduit.run_record import RunRecord, reveal

ENGINE_TYPES = ("pulumi:pulumi:Stack", "pulumi:providers:")


def _custom(resources: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {r["urn"]: r for r in resources
            if r.get("custom", True) and not r["type"].startswith(ENGINE_TYPES)}


def _shape(value: Any, path: str = "") -> set[str]:
    """Every key path of a JSON value; lists by position."""
    if isinstance(value, dict):
        return {path} | {p for k, v in value.items() for p in _shape(v, f"{path}.{k}" if path else k)}
    if isinstance(value, list):
        return {path} | {p for n, v in enumerate(value) for p in _shape(v, f"{path}[{n}]")}
    return {path}


def compare_with_pulumi(record: RunRecord, export: dict[str, Any], outputs: dict[str, Any]) -> list[str]:
    """Differences between a `conduit local up` record and `pulumi stack export` plus stack outputs
    (Pulumi's own documents, read as the JSON they are)."""
    ours = {r.urn: r for r in record.custom if not r.type.startswith(ENGINE_TYPES)}
    theirs = _custom((export.get("deployment") or {}).get("resources") or [])
    differences = [f"only conduit local up made {urn}" for urn in sorted(ours.keys() - theirs.keys())]
    differences += [f"only pulumi up made {urn}" for urn in sorted(theirs.keys() - ours.keys())]
    for urn in sorted(ours.keys() & theirs.keys()):
        mine, real = ours[urn], theirs[urn]
        if mine.type != real["type"]:
            differences.append(f"{urn}: type {mine.type} here, {real['type']} under pulumi up")
        missing = sorted(k for k in mine.inputs if k not in (real.get("inputs") or {}) and not k.startswith("__"))
        if missing:
            differences.append(f"{urn}: inputs {missing} did not reach the real provider")
    # Both sides revealed: the workflow reads the real outputs with --show-secrets.
    ours_shape, theirs_shape = _shape(reveal(record.outputs)), _shape(outputs)
    differences += [f"stack output {p} only from conduit local up" for p in sorted(ours_shape - theirs_shape)]
    differences += [f"stack output {p} only from pulumi up" for p in sorted(theirs_shape - ours_shape)]
    return differences
