"""Rotation without a cable: the provider's half against moto (the data plane recorded, as moto keeps
no retained messages), the certificates function's half against moto's IoT and a recorded data
plane. The whole rotation with the host firmware on the local cloud is in tests/test_local_cloud.py."""

from __future__ import annotations

import base64
import json
from typing import Any

import boto3
import pytest
from pydantic import ValidationError

import infra.device_certificate as module
from handlers.cat_feeder import certificates
from handlers.cat_feeder.contract import CERTIFICATE_FIELDS, MAX_CERTIFICATE_DELIVERY
from infra.device_certificate import DeviceCertificateProvider

THING, POLICY, TOPIC = "conduit-dev-feeder-kitchen", "feeders", "cat-feeder/dev/conduit-dev-feeder-kitchen/certificate"
PROPS = {"thingName": THING, "region": "eu-west-1", "rotation": "1", "policyName": POLICY, "attachThing": True,
         "deliveryTopic": TOPIC}


class DataPlane:
    """What the provider and the function publish, and the one retained message per topic MQTT keeps."""

    def __init__(self):
        self.published: list[dict[str, Any]] = []
        self.retained: dict[str, bytes] = {}
        self.exceptions = type("Exceptions", (), {"ResourceNotFoundException": KeyError})

    def publish(self, topic: str, payload: bytes, qos: int = 0, retain: bool = False) -> None:
        self.published.append({"topic": topic, "payload": payload, "qos": qos, "retain": retain})
        if retain:
            self.retained[topic] = payload
            if not payload:
                del self.retained[topic]

    def get_retained_message(self, topic: str) -> dict[str, Any]:
        return {"topic": topic, "payload": self.retained[topic]}


@pytest.fixture
def iot(moto_aws):
    client = boto3.client("iot", region_name="eu-west-1")
    client.create_thing(thingName=THING)
    client.create_policy(policyName=POLICY, policyDocument='{"Version": "2012-10-17", "Statement": []}')
    return client


@pytest.fixture
def data(monkeypatch) -> DataPlane:
    plane, made = DataPlane(), module.iot_client
    monkeypatch.setattr(module, "iot_client", lambda region, connection, service="iot":
                        plane if service == "iot-data" else made(region, connection))
    from handlers.shared import iot as shared_iot

    monkeypatch.setattr(shared_iot, "data_plane", lambda: plane)
    return plane


def held(iot, certificate_arn: str) -> tuple[str, list[str], list[str]]:
    """A certificate's status, things and policies."""
    certificate_id = certificate_arn.rsplit("/", 1)[1]
    status = iot.describe_certificate(certificateId=certificate_id)["certificateDescription"]["status"]
    things = iot.list_principal_things(principal=certificate_arn)["things"]
    policies = [p["policyName"] for p in iot.list_attached_policies(target=certificate_arn)["policies"]]
    return status, things, policies


def gone(iot, certificate_id: str) -> bool:
    return certificate_id not in {c["certificateId"] for c in iot.list_certificates()["certificates"]}


def test_a_rotation_is_an_update_and_only_a_new_thing_or_region_replaces():
    provider = DeviceCertificateProvider()
    rotated = provider.diff("id", dict(PROPS), {**PROPS, "rotation": "2"})
    assert rotated.changes and not rotated.replaces, "a replacement would delete the certificate the device uses"
    assert provider.diff("id", dict(PROPS), {**PROPS, "thingName": "other"}).replaces == ["thingName"]
    assert not provider.diff("id", dict(PROPS), dict(PROPS)).changes
    pending = {**PROPS, "previousCertificates": [{"certificateId": "a", "certificateArn": "arn"}]}
    assert provider.diff("id", pending, dict(PROPS)).changes, "an old certificate still held shows at every up"


def test_a_certificate_revoked_outside_pulumi_is_replaced_after_a_refresh(iot, data):
    """Revocation disconnects the device (tests/test_stack_isolation.py); `pulumi refresh` reads the
    status, and `pulumi up` then replaces the certificate, the new one first, for a re-flash."""
    provider = DeviceCertificateProvider()
    created = provider.create(dict(PROPS))
    iot.update_certificate(certificateId=created.id, newStatus="REVOKED")
    refreshed = provider.read(created.id, created.outs).outs
    diff = provider.diff(created.id, refreshed, dict(PROPS))
    assert refreshed["status"] == "REVOKED" and diff.replaces == ["status"] and not diff.delete_before_replace
    assert not provider.diff(created.id, created.outs, dict(PROPS)).changes, "an active one is left alone"


def test_create_attaches_the_thing_and_the_fleet_policy_itself(iot, data):
    created = DeviceCertificateProvider().create(dict(PROPS))
    assert held(iot, created.outs["certificateArn"]) == ("ACTIVE", [THING], [POLICY])
    assert created.outs["previousCertificates"] == [] and data.published == []


def test_a_rotation_delivers_a_new_attached_certificate_and_keeps_the_old_one_working(iot, data):
    provider = DeviceCertificateProvider()
    first = provider.create(dict(PROPS))
    rotated = provider.update(first.id, first.outs, {**PROPS, "rotation": "2"}).outs
    old, new = first.outs["certificateArn"], rotated["certificateArn"]
    assert new != old and rotated["privateKey"] != first.outs["privateKey"]
    assert held(iot, old) == ("ACTIVE", [THING], [POLICY]), "the device still connects with the old one"
    assert held(iot, new) == ("ACTIVE", [THING], [POLICY]), "the new one works before the device tries it"
    assert rotated["previousCertificates"] == [{"certificateId": first.id, "certificateArn": old}]
    [message] = data.published
    assert (message["topic"], message["qos"], message["retain"]) == (TOPIC, 1, True), "a device away gets it later"
    sent = json.loads(message["payload"])
    assert tuple(sent) == CERTIFICATE_FIELDS and len(message["payload"]) <= MAX_CERTIFICATE_DELIVERY
    assert sent["certificateId"] == rotated["certificateId"]
    certificate, key = module.der_credentials(rotated["certificatePem"], rotated["privateKey"])
    assert (base64.b64decode(sent["certificate"]), base64.b64decode(sent["privateKey"])) == (certificate, key), (
        "the pair delivered is the one the stack now outputs, as DER")


def test_the_next_up_retires_only_what_the_device_switched_away_from(iot, data):
    provider = DeviceCertificateProvider()
    first = provider.create(dict(PROPS))
    rotated = provider.update(first.id, first.outs, {**PROPS, "rotation": "2"}).outs
    waiting = provider.update(first.id, rotated, {**PROPS, "rotation": "2"}).outs
    assert waiting["previousCertificates"] == rotated["previousCertificates"], "never switched: kept, reachable"
    assert held(iot, first.outs["certificateArn"])[0] == "ACTIVE"
    iot.detach_thing_principal(thingName=THING, principal=first.outs["certificateArn"])  # the function's step
    settled = provider.update(first.id, waiting, {**PROPS, "rotation": "2"}).outs
    assert settled["previousCertificates"] == [] and gone(iot, first.id), "deactivated, detached, deleted"
    assert held(iot, settled["certificateArn"]) == ("ACTIVE", [THING], [POLICY])
    assert not provider.diff(first.id, settled, {**PROPS, "rotation": "2"}).changes, "nothing pending any more"


def test_refresh_drops_and_delete_retires_every_certificate_the_resource_holds(iot, data):
    provider = DeviceCertificateProvider()
    first = provider.create(dict(PROPS))
    rotated = provider.update(first.id, first.outs, {**PROPS, "rotation": "2"}).outs
    assert provider.read(first.id, rotated).outs["certificateId"] == rotated["certificateId"]
    provider.delete(first.id, rotated)
    assert iot.list_certificates()["certificates"] == []
    assert iot.list_thing_principals(thingName=THING)["principals"] == []
    assert provider.read(first.id, rotated).id == "", "gone: refresh drops it"


@pytest.fixture
def stack_env(monkeypatch):
    monkeypatch.setenv("STACK", "dev")
    monkeypatch.setenv("THING_PREFIX", "conduit-dev-feeder-")


def rotation(iot, data) -> tuple[dict[str, Any], dict[str, Any]]:
    provider = DeviceCertificateProvider()
    first = provider.create(dict(PROPS))
    return first.outs, provider.update(first.id, first.outs, {**PROPS, "rotation": "2"}).outs


def test_online_with_the_delivered_certificate_detaches_the_older_ones_and_clears_the_delivery(iot, data, stack_env):
    old, new = rotation(iot, data)
    online = certificates.Connected(thing=THING, certificateId=new["certificateId"])
    assert certificates.settle(iot, online) == [old["certificateArn"]]
    assert iot.list_thing_principals(thingName=THING)["principals"] == [new["certificateArn"]]
    assert TOPIC not in data.retained, "a device reconnecting is not handed the certificate again"
    assert certificates.settle(iot, online) == [], "a repeated event changes nothing"


def test_online_with_the_old_certificate_keeps_it_and_leaves_the_delivery(iot, data, stack_env):
    old, new = rotation(iot, data)
    online = certificates.Connected(thing=THING, certificateId=old["certificateId"])
    assert certificates.settle(iot, online) == []
    assert sorted(iot.list_thing_principals(thingName=THING)["principals"]) == sorted(
        [old["certificateArn"], new["certificateArn"]]), "still reachable on the old one"
    assert TOPIC in data.retained


def test_the_function_takes_only_the_brokers_word_for_a_certificate():
    with pytest.raises(ValidationError):
        certificates.Connected(thing=THING, certificateId="not-a-certificate-id")
    assert certificates.delivered(b"{oops") is None and certificates.delivered(b"") is None


def test_a_crash_after_detaching_and_before_clearing_is_finished_by_the_retry(iot, data, stack_env, monkeypatch):
    """At least once: the invocation dies after its detach; the redelivered event detaches nothing
    more and clears the delivery."""
    _, new = rotation(iot, data)
    online = certificates.Connected(thing=THING, certificateId=new["certificateId"])
    clear = certificates.clear_retained

    def crash(topic: str) -> None:
        raise RuntimeError("killed after the write")

    monkeypatch.setattr(certificates, "clear_retained", crash)
    with pytest.raises(RuntimeError):
        certificates.settle(iot, online)
    monkeypatch.setattr(certificates, "clear_retained", clear)  # the redelivery runs whole
    assert certificates.settle(iot, online) == []
    assert iot.list_thing_principals(thingName=THING)["principals"] == [new["certificateArn"]]
    assert TOPIC not in data.retained
