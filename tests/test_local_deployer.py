"""The local deployer's contract, without an emulator: unsupported types are named, secrets unwrapped."""

from __future__ import annotations

import pytest
from pulumi.runtime.mocks import MockResourceArgs

from conduit.local.deployer import LocalCloud, LocalCloudError, supported_types, unsecret
from conduit.local.emulator import Emulator
from conduit.local.permissions import _explain


def test_an_unsupported_resource_type_stops_the_deployment_naming_it():
    cloud = LocalCloud(Emulator(pid=0, gateway_port=1, mqtt_port=2, state_dir="/nonexistent"))
    args = MockResourceArgs(typ="aws:ec2/instance:Instance", name="web", inputs={}, provider="", resource_id="",
                            custom=True)
    with pytest.raises(LocalCloudError, match=r"aws:ec2/instance:Instance \(web\) is not supported .*aws:sqs/queue"):
        cloud.new_resource(args)


def test_every_resource_type_the_program_declares_is_supported():
    from tests.program import declared

    types = {r.type for stack in ("dev", "prod") for r in declared(stack).resources
             if r.type.startswith("aws:")}
    assert types - set(supported_types()) == set()


def test_secrets_are_unwrapped_for_aws():
    wrapped = {"4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", "value": "s3cr3t"}
    assert unsecret({"a": [wrapped], "b": {"c": wrapped}}) == {"a": ["s3cr3t"], "b": {"c": "s3cr3t"}}


def test_a_function_invoking_itself_is_explained_as_its_continuation():
    """The demo's files fit one invocation on dev, so the ingest's continuation of itself goes unused."""
    arn = "arn:aws:lambda:eu-west-1:000000000000:function:conduit-dev-message-ingest-ingest"
    why = _explain("lambda:InvokeFunction", arn, set(), set(), False, set(), "conduit-dev-message-ingest-ingest")
    assert why and "continuation" in why
    assert _explain("lambda:InvokeFunction", arn, set(), set(), False, set(), "conduit-dev-other") is None


def test_the_rotation_permissions_are_explained_only_for_certificate_topics_and_things():
    """`make demo` rotates no certificate: what the certificates function holds for one is named."""
    topic = "arn:aws:iot:eu-west-1:000000000000:topic/cat-feeder/dev/*/certificate"
    thing = "arn:aws:iot:eu-west-1:000000000000:thing/conduit-dev-feeder-*"
    for action, resource in (("iot:Publish", topic), ("iot:DetachThingPrincipal", thing),
                             ("iot:ListThingPrincipals", thing)):
        assert "rotation" in _explain(action, resource, set(), set(), False, set())
    assert _explain("iot:Publish", "arn:aws:iot:eu-west-1:000000000000:topic/alert/fraud", set(), set(), False,
                    set()) is None
