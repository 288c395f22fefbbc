"""The pack's registry: one name per policy, and a value a validator cannot judge is noted under the
policy that was running, only where a judgement collects notes (conduit check), never piled up."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from pulumi_policy import StackValidationArgs, StackValidationPolicy

from conduit_policies import unjudged
from conduit_policies.pack import POLICIES
from conduit_policies.registry import register


def _noting(urn: str):
    return lambda args, report: unjudged.note(urn, ".policy")


def test_a_name_registered_twice_is_refused():
    twice = [StackValidationPolicy(name="same", description="a", validate=_noting("a")),
             StackValidationPolicy(name="same", description="b", validate=_noting("b"))]
    with pytest.raises(ValueError, match="'same' is registered twice"):
        register(twice)


def test_a_note_names_the_policy_whose_validator_was_running():
    first, second = register([StackValidationPolicy(name="first", description="d", validate=_noting("urn:a")),
                              StackValidationPolicy(name="second", description="d", validate=_noting("urn:b"))])
    with unjudged.collecting() as notes:
        first.validate(None, None)
        second.validate(None, None)
        first.validate(None, None)
    assert notes == [{"policy": "first", "urn": "urn:a", "path": ".policy"},
                     {"policy": "second", "urn": "urn:b", "path": ".policy"}]


def test_notes_are_kept_only_while_collected():
    [policy] = register([StackValidationPolicy(name="p", description="d", validate=_noting("urn:a"))])
    policy.validate(None, None)  # as under the Pulumi CLI: nobody collects
    with unjudged.collecting() as notes:
        pass
    assert notes == []


def test_the_pack_registers_every_policy_once():
    names = [p.name for p in POLICIES]
    assert len(names) == len(set(names)) and len(names) >= 40


def test_a_stack_policy_sees_the_resources_by_urn_whatever_order_they_were_registered_in():
    seen = []
    [policy] = register([StackValidationPolicy(
        name="p", description="d", validate=lambda args, report: seen.append([r.urn for r in args.resources]))])
    resources = [SimpleNamespace(urn=urn) for urn in ("urn:c", "urn:a", "urn:b")]
    policy.validate(StackValidationArgs(resources, None), None)
    assert seen == [["urn:a", "urn:b", "urn:c"]]
