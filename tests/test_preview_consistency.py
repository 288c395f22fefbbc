"""`--preview` never hides a finding: every violation a plain check reports on a program is, in a
preview of the same program, either reported too or listed as unjudged (policy and resource)."""

from __future__ import annotations

import pytest

from conduit.check import judge
from conduit.runner import Mode
from tests.test_policies import ATTACK_PATHS, CASES, case_run


def _one_violating_case_per_policy() -> tuple[str, ...]:
    first: dict[str, str] = {}
    for case, policy, violated in CASES:
        if violated:
            first.setdefault(policy, case)
    return tuple(sorted(set(first.values()) | {case for case, _, _ in ATTACK_PATHS}))


PREVIEWED = _one_violating_case_per_policy()


@pytest.mark.parametrize("case", PREVIEWED)
def test_every_finding_of_a_plain_check_is_reported_or_unjudged_in_a_preview(case):
    plain = judge(case_run(case), "policy-fixtures")  # the run test_policies made of the case
    preview = judge(case_run(case, Mode.UNKNOWN, PREVIEWED), "policy-fixtures")
    accounted = {(v.policy, v.urn) for v in preview.violations} | {(u["policy"], u["urn"]) for u in preview.unjudged}
    hidden = [(v.policy, v.urn.rsplit("::", 1)[-1], v.message) for v in plain.violations
              if (v.policy, v.urn) not in accounted]
    assert not hidden
