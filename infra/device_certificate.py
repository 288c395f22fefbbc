"""Device certificates for IoT things, by a Pulumi dynamic provider, rotated without a cable.

`CreateKeysAndCertificate` is the only call that returns a private key, so the certificate is
made here rather than with `aws.iot.Certificate` from a CSR the device would have to produce (the
firmware cannot make keys). The key becomes a Pulumi secret. The provider reaches AWS the way the
stack's AWS provider does (`connection`: region, endpoints, profile, assumed role, CA bundle;
infra/aws_connection.py). Boto3 clients are made inside each method: the provider is pickled into
the state, and a client does not pickle.

Rotation (a new `rotation` value) is an update, never a replacement, in three steps:
1. `pulumi up`: a new certificate, attached to the thing and the fleet policy, is published to the
   device's certificate topic as a retained QoS 1 message (a device that is away gets it when it
   subscribes again). The old one stays active and attached: the device keeps working on it.
2. The device connects with the new one and says so; the certificates rule hands the broker's word
   for which certificate connected (`principal()`) to handlers/cat_feeder/certificates.py, which
   detaches the older ones from the thing (so they can no longer connect as it) and clears the
   delivery.
3. The next `pulumi up` deactivates and deletes what was detached. Until the device has switched,
   every `pulumi up` shows this certificate as changing ("rotation pending") and keeps the old one.
"""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import boto3
import pulumi
from botocore.config import Config
from botocore.exceptions import ClientError
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from pulumi.dynamic import CreateResult, DiffResult, ReadResult, Resource, ResourceProvider, UpdateResult

from handlers.cat_feeder.contract import CERTIFICATE_FIELDS

# A fleet's certificates are made in parallel against AWS IoT's per-second API quotas (a few to tens of
# calls per second, per account): botocore's adaptive mode paces the client and retries a throttled
# call with exponential backoff and full jitter, so a thousand feeders do not fail on ThrottlingException.
THROTTLE_PACED = Config(retries={"mode": "adaptive", "max_attempts": 12})

# Detaching a thing principal is asynchronous: deleting too soon is refused. Retry this long.
DELETE_RETRY_SECONDS = (0.5, 1, 2, 4, 8, 16)
RETRIED_ON_DELETE = {"DeleteConflictException", "CertificateStateException"}


class DeviceCertificateError(Exception):
    """AWS refused a certificate operation; the message says which certificate and what to do."""


def _code(error: Exception) -> str:
    return getattr(error, "response", {}).get("Error", {}).get("Code", type(error).__name__)


def der_credentials(certificate_pem: str, private_key_pem: str) -> tuple[bytes, bytes]:
    """A certificate and its key as DER, what MicroPython's TLS loads (the key in the traditional
    form CreateKeysAndCertificate returns it in)."""
    certificate = x509.load_pem_x509_certificate(certificate_pem.encode())
    key = serialization.load_pem_private_key(private_key_pem.encode(), password=None)
    return (certificate.public_bytes(serialization.Encoding.DER),
            key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.TraditionalOpenSSL,
                              serialization.NoEncryption()))


def delivery(certificate_id: str, certificate_pem: str, private_key_pem: str) -> bytes:
    """The certificate topic's message for a new certificate (handlers/cat_feeder/contract.py)."""
    certificate, key = der_credentials(certificate_pem, private_key_pem)
    values = (certificate_id, base64.b64encode(certificate).decode(), base64.b64encode(key).decode())
    return json.dumps(dict(zip(CERTIFICATE_FIELDS, values, strict=True))).encode()


def iot_client(region: str, connection: dict[str, Any] | None, service: str = "iot") -> Any:
    """An IoT client (or, with `service="iot-data"`, the data plane's) connected as the stack's AWS
    provider is. An emulator named in `endpoints` serves both planes at its one address."""
    connection = connection or {}
    endpoints = connection.get("endpoints") or {}
    verify = connection.get("customCaBundle")
    session = boto3.Session(profile_name=connection.get("profile"), region_name=region,
                            aws_access_key_id=connection.get("accessKey"),
                            aws_secret_access_key=connection.get("secretKey"),
                            aws_session_token=connection.get("token"))
    role = connection.get("assumeRole")
    if role:
        sts = session.client("sts", endpoint_url=endpoints.get("sts"), verify=verify)
        request = {"RoleArn": role["roleArn"], "RoleSessionName": role.get("sessionName") or "conduit-device-cert"}
        if role.get("externalId"):
            request["ExternalId"] = role["externalId"]
        credentials = sts.assume_role(**request)["Credentials"]
        session = boto3.Session(region_name=region, aws_access_key_id=credentials["AccessKeyId"],
                                aws_secret_access_key=credentials["SecretAccessKey"],
                                aws_session_token=credentials["SessionToken"])
    iot = session.client("iot", endpoint_url=endpoints.get("iot"), verify=verify, config=THROTTLE_PACED)
    if service == "iot":
        return iot
    data = endpoints.get("iot") or "https://" + iot.describe_endpoint(endpointType="iot:Data-ATS")["endpointAddress"]
    return session.client("iot-data", endpoint_url=data, verify=verify, config=THROTTLE_PACED)


def _iot(props: dict[str, Any]) -> Any:
    return iot_client(props["region"], props.get("connection"))


CERTIFICATE_OUTPUTS = ("certificateId", "certificateArn", "certificatePem", "privateKey", "status")


def _explain(action: str, certificate_id: str, error: Exception) -> DeviceCertificateError:
    code = _code(error)
    advice = {
        "ResourceNotFoundException": "it no longer exists in AWS; run `pulumi refresh` to drop it from the state",
        "CertificateStateException": "deactivate it and detach its things and policies first",
        "DeleteConflictException": "detach every policy and thing from it first",
        "UnauthorizedException": "the deploying identity needs iot:* permissions on certificates",
        "ThrottlingException": "AWS is throttling IoT calls; run the update again",
    }.get(code, "check the certificate in the AWS IoT console")
    return DeviceCertificateError(f"could not {action} certificate {certificate_id or '(new)'}: {code}: {error}; "
                                  f"{advice}")


class DeviceCertificateProvider(ResourceProvider):
    """create: keys and an active certificate, attached to the thing and the fleet policy. update: a
    rotation (module docstring), and the retirement of what an earlier one left behind. read: its
    status, or gone. delete: deactivate, detach, delete, as AWS requires, for every certificate the
    resource holds."""

    def create(self, props: dict[str, Any]) -> CreateResult:
        made = _make(_iot(props), props)
        return CreateResult(id_=made["certificateId"], outs={**props, **made, "previousCertificates": []})

    def update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        iot = _iot(news)
        kept = [p for p in olds.get("previousCertificates") or [] if not _retire_if_switched(iot, p, news)]
        outs = {**news, **{k: olds.get(k) for k in CERTIFICATE_OUTPUTS}}
        if olds.get("rotation") != news.get("rotation"):
            kept.append({"certificateId": olds.get("certificateId") or id_, "certificateArn": olds["certificateArn"]})
            outs |= _make(iot, news)
            _deliver(news, outs)
        return UpdateResult(outs={**outs, "previousCertificates": kept})

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        iot = _iot(props)
        current = props.get("certificateId") or id_
        try:
            description = iot.describe_certificate(certificateId=current)["certificateDescription"]
        except ClientError as error:
            if _code(error) == "ResourceNotFoundException":
                return ReadResult(id_="", outs={})  # gone: an empty id tells `pulumi refresh` to drop it
            raise _explain("read", current, error) from error
        kept = [p for p in props.get("previousCertificates") or [] if _exists(iot, p["certificateId"])]
        return ReadResult(id_=id_, outs={**props, "status": description["status"], "previousCertificates": kept,
                                         "certificatePem": description["certificatePem"]})

    def diff(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        """A rotation, or an old certificate still held, is an update; a new thing or region replaces,
        and so does a certificate `pulumi refresh` found deactivated or revoked outside Pulumi (the
        device cannot connect with it to hear a rotation: it needs the new one flashed)."""
        replaces = [k for k in ("region", "thingName") if olds.get(k) != news.get(k)]
        if olds.get("status") not in (None, "ACTIVE"):
            replaces.append("status")
        changed = [k for k in ("rotation", "policyName", "deliveryTopic") if olds.get(k) != news.get(k)]
        pending = bool(olds.get("previousCertificates"))  # rotation pending until the device has switched
        return DiffResult(changes=bool(replaces or changed or pending), replaces=replaces,
                          delete_before_replace=False)

    def delete(self, id_: str, props: dict[str, Any], sleep: Any = time.sleep) -> None:
        iot = _iot(props)
        held = [*(props.get("previousCertificates") or []),
                {"certificateId": props.get("certificateId") or id_, "certificateArn": props.get("certificateArn")}]
        for certificate in held:
            _retire(iot, certificate["certificateId"], certificate.get("certificateArn"), sleep)


def _make(iot: Any, props: dict[str, Any]) -> dict[str, Any]:
    """A new active certificate and key, attached to the thing and the fleet policy when named."""
    try:
        created = iot.create_keys_and_certificate(setAsActive=True)
    except Exception as error:
        raise _explain("create", "", error) from error
    arn = created["certificateArn"]
    try:
        if props.get("policyName"):
            iot.attach_policy(policyName=props["policyName"], target=arn)
        if props.get("attachThing"):
            iot.attach_thing_principal(thingName=props["thingName"], principal=arn)
    except Exception as error:
        raise _explain("attach", created["certificateId"], error) from error
    return {"certificateId": created["certificateId"], "certificateArn": arn,
            "certificatePem": created["certificatePem"], "privateKey": created["keyPair"]["PrivateKey"],
            "status": "ACTIVE"}


def _deliver(props: dict[str, Any], made: dict[str, Any]) -> None:
    """The new certificate to the device, over its own authenticated connection: retained, so a
    device that is away gets it when it subscribes again; QoS 1, so it is redelivered until acked."""
    if not props.get("deliveryTopic"):
        return
    try:
        iot_client(props["region"], props.get("connection"), "iot-data").publish(
            topic=props["deliveryTopic"], qos=1, retain=True,
            payload=delivery(made["certificateId"], made["certificatePem"], made["privateKey"]))
    except Exception as error:
        raise _explain("deliver", made["certificateId"], error) from error


def _exists(iot: Any, certificate_id: str) -> bool:
    try:
        iot.describe_certificate(certificateId=certificate_id)
        return True
    except ClientError as error:
        if _code(error) == "ResourceNotFoundException":
            return False
        raise _explain("read", certificate_id, error) from error


def _retire_if_switched(iot: Any, certificate: dict[str, Any], props: dict[str, Any]) -> bool:
    """Retire an old certificate once the thing no longer holds it (the device switched); True when
    it is gone, False while the device may still be using it."""
    try:
        things = iot.list_principal_things(principal=certificate["certificateArn"]).get("things", [])
    except ClientError as error:
        if _code(error) == "ResourceNotFoundException":
            return True
        raise _explain("read", certificate["certificateId"], error) from error
    if props["thingName"] in things:
        return False
    _retire(iot, certificate["certificateId"], certificate["certificateArn"])
    return True


def _retire(iot: Any, certificate_id: str, arn: str | None, sleep: Any = time.sleep) -> None:
    """Deactivate, detach, delete: the order AWS requires."""
    try:
        iot.update_certificate(certificateId=certificate_id, newStatus="INACTIVE")
        for thing in iot.list_principal_things(principal=arn).get("things", []):
            iot.detach_thing_principal(thingName=thing, principal=arn)
        for policy in iot.list_attached_policies(target=arn).get("policies", []):
            iot.detach_policy(policyName=policy["policyName"], target=arn)
        for pause in (*DELETE_RETRY_SECONDS, None):
            try:
                iot.delete_certificate(certificateId=certificate_id, forceDelete=False)
                return
            except ClientError as error:
                if _code(error) not in RETRIED_ON_DELETE or pause is None:
                    raise
                sleep(pause)
    except Exception as error:
        if _code(error) == "ResourceNotFoundException":
            return  # already gone: deleting is done
        raise _explain("delete", certificate_id, error) from error


class DeviceCertificate(Resource):
    """An active X.509 certificate and its private key (a secret) for one thing. With `attach` it is
    attached to the thing (and to `policy_name`) by the provider itself, so a rotation's new
    certificate works before it is delivered to `delivery_topic`."""

    certificate_id: pulumi.Output[str]
    certificate_arn: pulumi.Output[str]
    certificate_pem: pulumi.Output[str]
    private_key: pulumi.Output[str]

    def __init__(self, name: str, thing_name: pulumi.Input[str], region: pulumi.Input[str],
                 connection: pulumi.Input[dict[str, Any]] | None = None, rotation: str = "1",
                 policy_name: pulumi.Input[str] | None = None, delivery_topic: pulumi.Input[str] | None = None,
                 attach: bool = False, opts: pulumi.ResourceOptions | None = None):
        secret = pulumi.ResourceOptions(additional_secret_outputs=["privateKey"])
        super().__init__(
            DeviceCertificateProvider(), name,
            {"thingName": thing_name, "region": region, "rotation": rotation, "connection": connection or {},
             "policyName": policy_name, "deliveryTopic": delivery_topic, "attachThing": attach,
             "certificateId": None, "certificateArn": None, "certificatePem": None, "privateKey": None,
             "status": None, "previousCertificates": None},
            pulumi.ResourceOptions.merge(secret, opts),
        )
        # The engine sets outputs under the props' own names; give them Python's.
        self.certificate_id = self.certificateId  # type: ignore[attr-defined]
        self.certificate_arn = self.certificateArn  # type: ignore[attr-defined]
        self.certificate_pem = self.certificatePem  # type: ignore[attr-defined]
        self.private_key = self.privateKey  # type: ignore[attr-defined]
