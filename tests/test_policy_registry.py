"""The pack's registry: one name per policy, and a value a validator cannot judge is noted under the
policy that was running, only where a judgement collects notes (conduit check), never piled up."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from pulumi_policy import StackValidationArgs

from conduit_policies import unjudged
from conduit_policies.pack import POLICIES, RULES
from conduit_policies.registry import Rule, register, stack_rule


def _noting(urn: str):
    return lambda args, report: unjudged.note(urn, ".policy")


def _rule(name: str, validate) -> Rule:
    return stack_rule(name, "d", "do the thing")(validate)


def test_a_name_registered_twice_is_refused():
    with pytest.raises(ValueError, match="'same' is registered twice"):
        register([_rule("same", _noting("a")), _rule("same", _noting("b"))])


def test_a_rule_without_a_fix_is_refused():
    with pytest.raises(ValueError, match="'mute' has no fix"):
        register([stack_rule("mute", "d", " ")(_noting("a"))])


def test_a_validator_is_registered_by_decorating_it():
    @stack_rule("decorated", "What it holds.", "what to do")
    def validate(args, report_violation):
        report_violation("found")

    [rule] = register([validate])
    policy = rule.policy()
    assert (rule.name, rule.fix, policy.name, policy.description) == ("decorated", "what to do", "decorated",
                                                                      "What it holds.")
    found = []
    policy.validate(StackValidationArgs([], None), lambda message, urn=None: found.append(message))
    assert found == ["found"]


def test_a_note_names_the_policy_whose_validator_was_running():
    rules = register([_rule("first", _noting("urn:a")), _rule("second", _noting("urn:b"))])
    first, second = (r.policy() for r in rules)
    with unjudged.collecting() as notes:
        first.validate(None, None)
        second.validate(None, None)
        first.validate(None, None)
    assert notes == [{"policy": "first", "urn": "urn:a", "path": ".policy"},
                     {"policy": "second", "urn": "urn:b", "path": ".policy"}]


def test_notes_are_kept_only_while_collected():
    policy = _rule("p", _noting("urn:a")).policy()
    policy.validate(None, None)  # as under the Pulumi CLI: nobody collects
    with unjudged.collecting() as notes:
        pass
    assert notes == []


def test_the_pack_registers_every_policy_once_with_a_fix():
    names = [p.name for p in POLICIES]
    assert len(names) == len(set(names)) and len(names) >= 40 and names == [r.name for r in RULES]
    assert all(len(r.fix.split()) >= 2 for r in RULES), [r.name for r in RULES if len(r.fix.split()) < 2]


def test_a_stack_policy_sees_the_resources_by_urn_whatever_order_they_were_registered_in():
    seen = []
    policy = _rule("p", lambda args, report: seen.append([r.urn for r in args.resources])).policy()
    resources = [SimpleNamespace(urn=urn) for urn in ("urn:c", "urn:a", "urn:b")]
    policy.validate(StackValidationArgs(resources, None), None)
    assert seen == [["urn:a", "urn:b", "urn:c"]]
