"""`--preview` never hides a finding: every violation a plain check reports on a program is, in a
preview of the same program, either reported too or listed as unjudged (policy and resource)."""

from __future__ import annotations

import pytest

from conduit.check import judge
from conduit.runner import Mode, run_stack
from tests.test_policies import ATTACK_PATHS, CASES, case_run, fixture_project


def _one_violating_case_per_policy() -> list[str]:
    first: dict[str, str] = {}
    for case, policy, violated in CASES:
        if violated:
            first.setdefault(policy, case)
    return sorted(set(first.values()) | {case for case, _, _ in ATTACK_PATHS})


@pytest.mark.parametrize("case", _one_violating_case_per_policy())
def test_every_finding_of_a_plain_check_is_reported_or_unjudged_in_a_preview(tmp_path, case):
    plain = judge(case_run(case), "policy-fixtures")  # the run test_policies made of the case, if it did
    preview = judge(run_stack(fixture_project(tmp_path, case), "t", mode=Mode.UNKNOWN), "policy-fixtures")
    accounted = {(v.policy, v.urn) for v in preview.violations} | {(u["policy"], u["urn"]) for u in preview.unjudged}
    hidden = [(v.policy, v.urn.rsplit("::", 1)[-1], v.message) for v in plain.violations
              if (v.policy, v.urn) not in accounted]
    assert not hidden
