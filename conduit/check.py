"""`conduit check`: evaluate the policy pack against any Pulumi Python program, offline.

The program runs on the mock engine (as `conduit preview` runs it); each resource then goes
through pulumi-policy's own analyzer servicer, `Analyze` per resource and `AnalyzeStack` for
the whole stack: the code path the Pulumi CLI drives with `--policy-pack`, minus the gRPC wire.
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
import re
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from typing import Any
from unittest import mock

from google.protobuf import struct_pb2
from pulumi.runtime import proto
from pulumi_policy import EnforcementLevel

from conduit.check_inputs import PolicyConfigError
from conduit.policy_seam import PolicyAnalyzerServicer
from conduit.preview import render_direct_calls
from conduit.run_record import RunRecord
from conduit_policies import unjudged
from conduit_policies.pack import FIXES, NAME, POLICIES, VERSION

ENFORCEMENT = {"advisory": proto.ADVISORY, "mandatory": proto.MANDATORY, "disabled": proto.DISABLED,
               "remediate": proto.REMEDIATE}


@dataclass(frozen=True)
class Violation:
    policy: str
    enforcement: str
    urn: str
    message: str
    fix: str = ""
    """The policy's one thing to do about a finding (its `Rule.fix`)."""


def _struct(value: dict[str, Any]) -> struct_pb2.Struct:
    struct = struct_pb2.Struct()
    struct.update(json.loads(json.dumps(value, default=str)))
    return struct


def _configure(servicer: Any, config: dict[str, Any]) -> None:
    known = {p.name for p in POLICIES}
    policy_config = {}
    for name, value in config.items():
        if name == "all":
            continue
        if name not in known:
            raise PolicyConfigError(f"policy config names '{name}', which is not in the pack; known: {sorted(known)}")
        settings = {"enforcementLevel": value} if isinstance(value, str) else dict(value)
        level = str(settings.pop("enforcementLevel", "")).lower() or None
        if level is not None and level not in ENFORCEMENT:
            raise PolicyConfigError(f"policy config '{name}': enforcementLevel {level!r} is not one of "
                                    f"{sorted(ENFORCEMENT)}")
        default = next(p for p in POLICIES if p.name == name).enforcement_level
        enforcement = ENFORCEMENT[level] if level else ENFORCEMENT.get(default.value if default else "mandatory")
        policy_config[name] = proto.PolicyConfig(enforcementLevel=enforcement, properties=_struct(settings))
    if policy_config:
        servicer.Configure(proto.ConfigureAnalyzerRequest(policyConfig=policy_config), None)


@dataclass(frozen=True)
class Verdict:
    violations: list[Violation]
    unjudged: list[dict[str, str]]
    """One entry per policy and resource it could not decide: {"policy", "urn", "path"} of the unknown value."""


# pulumi-policy's own note when a validator touched an unknown value: that resource is unjudged.
CANNOT_RUN = re.compile(r"can't run policy '(?P<policy>[^']+)' .* during preview: .* value at (?P<path>\S+) ")


def evaluate(document: RunRecord, project: str, config: dict[str, Any] | None = None) -> list[Violation]:
    """The violations of every policy of the pack against a recorded program run."""
    return judge(document, project, config).violations


def judge(document: RunRecord, project: str, config: dict[str, Any] | None = None) -> Verdict:
    """Run every policy of the pack against a recorded program run."""
    # What the CLI tells a policy pack of its stack, for this judgement only: a caller's later
    # program runs (which inherit this environment) must not think they are previews of it.
    with mock.patch.dict(os.environ, {"PULUMI_PROJECT": project, "PULUMI_STACK": document.stack,
                                      "PULUMI_DRY_RUN": "true"}), _cycle_collection_paused():
        return _judge(document, config or {})


@contextlib.contextmanager
def _cycle_collection_paused() -> Iterator[None]:
    """A judgement builds every resource's properties once per policy, all alive until it ends: the
    cycle collector's passes over them find next to nothing and cost a tenth of a check of dev."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            gc.enable()


def _judge(document: RunRecord, config: dict[str, Any]) -> Verdict:
    servicer = PolicyAnalyzerServicer(NAME, VERSION, POLICIES, EnforcementLevel.MANDATORY)
    _configure(servicer, config)
    levels = {v: k for k, v in ENFORCEMENT.items()}
    violations: list[Violation] = []
    noted: list[dict[str, str]] = []

    def collect(response: Any, urn: str = "") -> None:
        for d in response.diagnostics:
            cannot = CANNOT_RUN.search(d.message)
            if cannot:
                noted.append({"policy": cannot["policy"], "urn": d.urn or urn, "path": cannot["path"]})
                continue
            violations.append(Violation(d.policyName, levels.get(d.enforcementLevel, "advisory"), d.urn or urn,
                                        d.message, FIXES.get(d.policyName, "")))

    with unjudged.collecting() as notes:
        custom, by_urn = document.custom, document.by_urn()
        for r in custom:
            collect(servicer.Analyze(proto.AnalyzeRequest(type=r.type, properties=_struct(r.inputs), urn=r.urn,
                                                          name=r.name), None), r.urn)
        stack = [proto.AnalyzerResource(
            type=r.type, properties=_struct({**r.inputs, **r.outputs}), urn=r.urn, name=r.name,
            parent=r.parent or "", dependencies=r.dependencies,
            propertyDependencies={k: proto.AnalyzerPropertyDependencies(urns=v)
                                  for k, v in r.property_dependencies.items()})
            for r in custom]
        for analyzed, r in zip(stack, custom, strict=True):
            if r.provider in by_urn:
                provider = by_urn[r.provider]
                analyzed.provider.CopyFrom(proto.AnalyzerProviderResource(
                    type=provider.type, properties=_struct(provider.inputs), urn=provider.urn, name=provider.name))
        collect(servicer.AnalyzeStack(proto.AnalyzeStackRequest(resources=stack), None))
    noted += [entry for entry in notes if entry not in noted]
    return Verdict(violations, noted)


def render(violations: list[Violation], unjudged_entries: list[dict[str, str]] | None = None,
           preview: bool = False, direct_calls: list[dict[str, Any]] | None = None) -> str:
    lines = render_violations(violations) + render_direct_calls(direct_calls or [])
    if preview:
        entries = unjudged_entries or []
        pairs = {(e["policy"], e["urn"]) for e in entries}
        resources = {e["urn"] for e in entries}
        lines += (f"\n{len(resources)} resource(s) left unjudged by {len(pairs)} policy check(s) (a policy on a "
                  "resource): a value they need is unknown until the resources exist (run conduit check "
                  "without --preview to judge them)" if entries else
                  "\nevery policy judged every resource, unknown values notwithstanding")
    return lines


def render_violations(violations: list[Violation]) -> str:
    if not violations:
        return "no policy violations"
    grouped: dict[tuple[str, str], list[Violation]] = defaultdict(list)
    for v in violations:
        grouped[(v.policy, v.enforcement)].append(v)
    lines = []
    for (policy, enforcement), items in sorted(grouped.items(), key=lambda kv: (kv[0][1] != "mandatory", kv[0])):
        lines.append(f"{policy} ({enforcement}): {len(items)} violation(s); fix: {items[0].fix}")
        for v in items:
            lines.append(f"  - {v.urn}\n    {v.message}")
    mandatory = sum(1 for v in violations if v.enforcement == "mandatory")
    lines.append(f"\n{len(violations)} violation(s), {mandatory} mandatory")
    return "\n".join(lines)


def as_json(violations: list[Violation], unjudged_entries: list[dict[str, str]] | None = None,
            direct_calls: list[dict[str, Any]] | None = None, resources: int | None = None) -> str:
    document: dict[str, Any] = {"violations": [asdict(v) for v in violations], "directCalls": direct_calls or []}
    if resources is not None:
        document["resources"] = resources  # what the program registered, components included
    if unjudged_entries is not None:
        document["unjudged"] = unjudged_entries
    return json.dumps(document, indent=2)
