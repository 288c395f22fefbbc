"""The pack beside cloudsplaining and parliament on the same programs (python -m conduit.anchors):
every risk an anchor sees, the pack sees; the classes they miss, the pack catches; AWS's own
defaults stay clean."""

from __future__ import annotations

import pytest

from conduit.anchors import ROWS, Row, compare, table


@pytest.fixture(scope="module")
def rows() -> list[Row]:
    return compare(ROWS)


def test_every_risk_an_anchor_sees_the_pack_sees_too(rows):
    assert [r.case for r in rows if r.risky and r.anchors_see_risk and not r.pack] == []
    # Where an anchor flags one of the clean rows (a user's own key, one function, AWS's basic
    # execution role), the table shows it; the pack does not follow them there.
    assert {r.case for r in rows if not r.risky and r.anchors_see_risk} >= {"own-access-key"}


def test_the_pack_catches_every_risky_class_including_what_the_anchors_miss(rows):
    assert [r.case for r in rows if r.risky and not r.pack] == []
    missed_by_anchors = {r.case for r in rows if r.risky and not r.anchors_see_risk}
    # Scoped-looking escalation and resource policies are what the issue found the anchors missing.
    assert {"public-queue-policy", "service-permission-without-source", "wildcard-in-arn"} <= missed_by_anchors


def test_aws_defaults_and_narrow_neighbours_stay_clean_of_the_risk_policies(rows):
    risk = {"iam-no-privilege-escalation", "iam-resource-exposure", "iam-data-exfiltration", "no-public-principal",
            "service-principal-source"}
    assert [(r.case, sorted(risk & set(r.pack))) for r in rows if not r.risky and risk & set(r.pack)] == []


def test_the_table_counts_what_it_shows(rows):
    printed = table(rows)
    assert sum(line.startswith("| ") for line in printed.splitlines()) == len(rows) + 1
    assert "risky rows caught: pack" in printed
