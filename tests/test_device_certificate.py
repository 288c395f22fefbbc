"""The device-certificate dynamic provider, called directly against moto (Pulumi's mocks never
run a dynamic provider's create)."""

from __future__ import annotations

import boto3
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from infra.device_certificate import DeviceCertificateError, DeviceCertificateProvider

PROPS = {"thingName": "feeder-kitchen", "region": "eu-west-1", "rotation": "1"}


@pytest.fixture
def iot(moto_aws):
    return boto3.client("iot", region_name="eu-west-1")


@pytest.fixture
def provider() -> DeviceCertificateProvider:
    return DeviceCertificateProvider()


def attach(iot, certificate_arn: str) -> None:
    iot.create_thing(thingName="feeder-kitchen")
    iot.attach_thing_principal(thingName="feeder-kitchen", principal=certificate_arn)
    iot.create_policy(policyName="feeder-kitchen", policyDocument='{"Version": "2012-10-17", "Statement": []}')
    iot.attach_policy(policyName="feeder-kitchen", target=certificate_arn)


def test_create_gives_an_active_certificate_and_a_key_that_match(iot, provider):
    created = provider.create(dict(PROPS))
    outs = created.outs
    assert created.id == outs["certificateId"]
    assert iot.describe_certificate(certificateId=created.id)["certificateDescription"]["status"] == "ACTIVE"
    certificate = x509.load_pem_x509_certificate(outs["certificatePem"].encode())
    key = serialization.load_pem_private_key(outs["privateKey"].encode(), None)
    assert certificate.public_key().public_numbers() == key.public_key().public_numbers()
    assert outs["thingName"] == "feeder-kitchen" and outs["certificateArn"].endswith(created.id)


def test_read_reports_the_certificate_status(iot, provider):
    created = provider.create(dict(PROPS))
    iot.update_certificate(certificateId=created.id, newStatus="INACTIVE")
    assert provider.read(created.id, created.outs).outs["status"] == "INACTIVE"


def test_a_rotation_replaces_the_certificate_creating_the_new_one_first(provider):
    diff = provider.diff("id", dict(PROPS), {**PROPS, "rotation": "2"})
    assert diff.changes and diff.replaces == ["rotation"] and diff.delete_before_replace is False
    assert not provider.diff("id", dict(PROPS), dict(PROPS)).changes


def test_delete_deactivates_detaches_and_deletes_in_the_order_aws_requires(iot, provider):
    created = provider.create(dict(PROPS))
    attach(iot, created.outs["certificateArn"])
    with pytest.raises(iot.exceptions.ClientError):
        iot.delete_certificate(certificateId=created.id)  # AWS refuses an active, attached certificate
    provider.delete(created.id, created.outs)
    assert iot.list_certificates()["certificates"] == []
    assert iot.list_thing_principals(thingName="feeder-kitchen")["principals"] == []
    provider.delete(created.id, created.outs)  # deleting what is gone is not an error


def test_errors_name_the_certificate_and_what_to_do(iot, provider):
    with pytest.raises(DeviceCertificateError, match=r"could not read certificate 0123.*pulumi refresh"):
        provider.read("0123" * 16, dict(PROPS))
    created = provider.create(dict(PROPS))

    class Refusing:
        def __getattr__(self, name):
            return getattr(iot, name)

        def delete_certificate(self, **kwargs):
            raise iot.exceptions.DeleteConflictException(
                {"Error": {"Code": "DeleteConflictException", "Message": "attached"}}, "DeleteCertificate")

    import infra.device_certificate as module

    original = module._iot
    module._iot = lambda region: Refusing()
    try:
        with pytest.raises(DeviceCertificateError, match=rf"could not delete certificate {created.id}.*detach"):
            provider.delete(created.id, created.outs)
    finally:
        module._iot = original
