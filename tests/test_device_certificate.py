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


def test_a_new_thing_replaces_the_certificate_creating_the_new_one_first(provider):
    diff = provider.diff("id", dict(PROPS), {**PROPS, "thingName": "feeder-hallway"})
    assert diff.changes and diff.replaces == ["thingName"] and diff.delete_before_replace is False
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


def test_read_of_a_certificate_gone_from_aws_returns_an_empty_id_so_refresh_drops_it(iot, provider):
    created = provider.create(dict(PROPS))
    provider.delete(created.id, created.outs)
    gone = provider.read(created.id, created.outs)
    assert gone.id == "" and gone.outs == {}


class Refusing:
    """The IoT client, but DeleteCertificate is refused `times` times (None: always) as AWS does while a
    thing principal's detachment is still propagating."""

    def __init__(self, iot, times: int | None):
        self.iot, self.times = iot, times

    def __getattr__(self, name):
        return getattr(self.iot, name)

    def delete_certificate(self, **kwargs):
        if self.times is None or self.times > 0:
            self.times = None if self.times is None else self.times - 1
            raise self.iot.exceptions.DeleteConflictException(
                {"Error": {"Code": "DeleteConflictException", "Message": "attached"}}, "DeleteCertificate")
        return self.iot.delete_certificate(**kwargs)


def test_delete_waits_with_backoff_while_aws_still_sees_the_detached_thing(iot, provider, monkeypatch):
    import infra.device_certificate as module

    created = provider.create(dict(PROPS))
    attach(iot, created.outs["certificateArn"])
    monkeypatch.setattr(module, "_iot", lambda props: Refusing(iot, times=3))
    pauses = []
    provider.delete(created.id, created.outs, sleep=pauses.append)
    assert pauses == [0.5, 1, 2], "bounded exponential backoff between refused attempts"
    assert iot.list_certificates()["certificates"] == []


def test_errors_name_the_certificate_and_what_to_do(iot, provider, monkeypatch):
    import infra.device_certificate as module

    created = provider.create(dict(PROPS))
    monkeypatch.setattr(module, "_iot", lambda props: Refusing(iot, times=None))
    pauses = []
    with pytest.raises(DeviceCertificateError, match=rf"could not delete certificate {created.id}.*detach"):
        provider.delete(created.id, created.outs, sleep=pauses.append)
    assert pauses == list(module.DELETE_RETRY_SECONDS), "gives up after the last pause"
    throttled = type("Throttled", (), {"describe_certificate": staticmethod(_throttle)})()
    monkeypatch.setattr(module, "_iot", lambda props: throttled)
    with pytest.raises(DeviceCertificateError, match=r"could not read certificate .*ThrottlingException.*again"):
        provider.read(created.id, created.outs)


def _throttle(**kwargs):
    from botocore.exceptions import ClientError

    raise ClientError({"Error": {"Code": "ThrottlingException", "Message": "slow down"}}, "DescribeCertificate")


def test_the_certificate_is_made_where_the_stack_connection_points_an_assumed_role_included(iot, provider):
    """aws:assumeRole of the stack: the certificate lands in the role's account, not the caller's."""
    from moto.iot.models import iot_backends

    role = "arn:aws:iam::111122223333:role/deployer"
    created = provider.create({**PROPS, "connection": {"assumeRole": {"roleArn": role, "sessionName": "deploy"}}})
    assert created.outs["certificateArn"].startswith("arn:aws:iot:eu-west-1:111122223333:cert/")
    assert created.id in iot_backends["111122223333"]["eu-west-1"].certificates
    assert iot.list_certificates()["certificates"] == [], "nothing in the caller's own account"


def test_the_stack_connection_is_read_from_the_aws_settings(tmp_path):
    from infra.aws_connection import connection_from_config

    values = {"region": "eu-west-1", "profile": "ops", "customCaBundle": "certs/ca.pem",
              "endpoints": '[{"iot": "https://127.0.0.1:4566", "sts": "https://127.0.0.1:4566"}]',
              "assumeRole": '{"roleArn": "arn:aws:iam::111122223333:role/deployer", "externalId": "x"}'}
    assert connection_from_config(values, tmp_path) == {
        "profile": "ops", "endpoints": {"iot": "https://127.0.0.1:4566", "sts": "https://127.0.0.1:4566"},
        "assumeRole": {"roleArn": "arn:aws:iam::111122223333:role/deployer", "externalId": "x"},
        "customCaBundle": str(tmp_path / "certs" / "ca.pem")}
    assert connection_from_config({"region": "eu-west-1"}, tmp_path) == {}


def test_a_throttled_create_is_paced_and_retried_until_aws_accepts_it(moto_aws, provider, monkeypatch):
    """AWS IoT answers ThrottlingException when a fleet's certificates come faster than its quota."""
    from botocore.awsrequest import AWSResponse

    from infra import device_certificate

    refused = []

    def throttle(request, **_):
        if "keys-and-certificate" in request.url and len(refused) < 4:
            refused.append(request.url)
            return AWSResponse(request.url, 400, {"x-amzn-ErrorType": "ThrottlingException"},
                               _RawBody(b'{"message": "Rate exceeded"}'))
        return None

    made = device_certificate.iot_client

    def hooked(region, connection):
        client = made(region, connection)
        client.meta.events.register_first("before-send.iot", throttle)
        return client

    monkeypatch.setattr(device_certificate, "iot_client", hooked)
    monkeypatch.setattr("time.sleep", lambda seconds: None)  # the backoff itself is botocore's
    created = provider.create(dict(PROPS))
    assert len(refused) == 4 and created.outs["status"] == "ACTIVE"


class _RawBody:
    def __init__(self, data: bytes):
        self.data = data

    def stream(self, **_):
        yield self.data
