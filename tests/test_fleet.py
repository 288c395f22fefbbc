"""A fleet grows by four resources per feeder and by nothing else: no policy document, environment
or device policy gets longer with the number of feeders (conduit/fleet.py measures 1,000)."""

from __future__ import annotations

import pytest

from conduit.fleet import fleet_settings, growth
from conduit.project import copy_project
from conduit.runner import run_stack
from tests.conftest import REPO

PER_FEEDER = {"aws:iot/thing:Thing", "aws:iot/policyAttachment:PolicyAttachment",
              "aws:iot/thingPrincipalAttachment:ThingPrincipalAttachment", "pulumi-python:dynamic:Resource"}


@pytest.fixture(scope="module")
def fleets(tmp_path_factory) -> dict[int, dict]:
    project = copy_project(REPO, tmp_path_factory.mktemp("fleet") / "project")
    shapes = {}
    for size in (2, 40):
        (project / f"Pulumi.fleet{size:03d}.yaml").write_text(fleet_settings((project / "Pulumi.dev.yaml").read_text(),
                                                                         size))
        shapes[size] = growth(run_stack(project, f"fleet{size:03d}"))  # stack names of equal length
    return shapes


def test_each_feeder_adds_its_thing_certificate_and_two_attachments_only(fleets):
    small, large = fleets[2], fleets[40]
    assert large["resources"] - small["resources"] == 38 * len(PER_FEEDER)
    grown = {t for t in large["byType"] if large["byType"][t] != small["byType"].get(t, 0)}
    assert grown == PER_FEEDER


def test_no_document_grows_with_the_fleet(fleets):
    for key in ("rolePolicyChars", "environmentBytes", "devicePolicyChars"):
        assert fleets[40][key] == fleets[2][key], key
    assert fleets[40]["rolePolicyChars"] < 10_240 and fleets[40]["devicePolicyChars"] < 2_048


def test_a_stack_file_without_a_feeder_list_is_named():
    with pytest.raises(ValueError, match="feeders list"):
        fleet_settings("config:\n  conduit:systems:\n    - cat-feeder\n", 3)
