"""Device certificates for IoT things, by a Pulumi dynamic provider.

`CreateKeysAndCertificate` is the only call that returns a private key, so the certificate is
made here rather than with `aws.iot.Certificate` from a CSR the device would have to produce.
The key becomes a Pulumi secret. The provider reaches AWS the way the stack's AWS provider does
(`connection`: region, endpoints, profile, assumed role, CA bundle; infra/aws_connection.py).
Boto3 clients are made inside each method: the provider is pickled into the state, and a client
does not pickle.
"""

from __future__ import annotations

import time
from typing import Any

import boto3
import pulumi
from botocore.config import Config
from botocore.exceptions import ClientError
from pulumi.dynamic import CreateResult, DiffResult, ReadResult, Resource, ResourceProvider

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


def iot_client(region: str, connection: dict[str, Any] | None) -> Any:
    """An IoT client connected as the stack's AWS provider is."""
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
    return session.client("iot", endpoint_url=endpoints.get("iot"), verify=verify, config=THROTTLE_PACED)


def _iot(props: dict[str, Any]) -> Any:
    return iot_client(props["region"], props.get("connection"))


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
    """create: keys and an active certificate. read: its status, or gone. delete: deactivate, detach,
    delete, as AWS requires. A change of `rotation` replaces the certificate, new one first."""

    def create(self, props: dict[str, Any]) -> CreateResult:
        try:
            created = _iot(props).create_keys_and_certificate(setAsActive=True)
        except Exception as error:
            raise _explain("create", "", error) from error
        outs = {**props, "certificateId": created["certificateId"], "certificateArn": created["certificateArn"],
                "certificatePem": created["certificatePem"], "privateKey": created["keyPair"]["PrivateKey"],
                "status": "ACTIVE"}
        return CreateResult(id_=created["certificateId"], outs=outs)

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        try:
            description = _iot(props).describe_certificate(certificateId=id_)["certificateDescription"]
        except ClientError as error:
            if _code(error) == "ResourceNotFoundException":
                return ReadResult(id_="", outs={})  # gone: an empty id tells `pulumi refresh` to drop it
            raise _explain("read", id_, error) from error
        return ReadResult(id_=id_, outs={**props, "status": description["status"],
                                         "certificatePem": description["certificatePem"]})

    def diff(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        replaces = [k for k in ("rotation", "region", "thingName") if olds.get(k) != news.get(k)]
        return DiffResult(changes=bool(replaces), replaces=replaces, delete_before_replace=False)

    def delete(self, id_: str, props: dict[str, Any], sleep: Any = time.sleep) -> None:
        iot = _iot(props)
        arn = props.get("certificateArn")
        try:
            iot.update_certificate(certificateId=id_, newStatus="INACTIVE")
            for thing in iot.list_principal_things(principal=arn).get("things", []):
                iot.detach_thing_principal(thingName=thing, principal=arn)
            for policy in iot.list_attached_policies(target=arn).get("policies", []):
                iot.detach_policy(policyName=policy["policyName"], target=arn)
            for pause in (*DELETE_RETRY_SECONDS, None):
                try:
                    iot.delete_certificate(certificateId=id_, forceDelete=False)
                    return
                except ClientError as error:
                    if _code(error) not in RETRIED_ON_DELETE or pause is None:
                        raise
                    sleep(pause)
        except Exception as error:
            if _code(error) == "ResourceNotFoundException":
                return  # already gone: deleting is done
            raise _explain("delete", id_, error) from error


class DeviceCertificate(Resource):
    """An active X.509 certificate and its private key (a secret) for one thing."""

    certificate_id: pulumi.Output[str]
    certificate_arn: pulumi.Output[str]
    certificate_pem: pulumi.Output[str]
    private_key: pulumi.Output[str]

    def __init__(self, name: str, thing_name: pulumi.Input[str], region: pulumi.Input[str],
                 connection: pulumi.Input[dict[str, Any]] | None = None, rotation: str = "1",
                 opts: pulumi.ResourceOptions | None = None):
        secret = pulumi.ResourceOptions(additional_secret_outputs=["privateKey"])
        super().__init__(
            DeviceCertificateProvider(), name,
            {"thingName": thing_name, "region": region, "rotation": rotation, "connection": connection or {},
             "certificateId": None, "certificateArn": None, "certificatePem": None, "privateKey": None,
             "status": None},
            pulumi.ResourceOptions.merge(secret, opts),
        )
        # The engine sets outputs under the props' own names; give them Python's.
        self.certificate_id = self.certificateId  # type: ignore[attr-defined]
        self.certificate_arn = self.certificateArn  # type: ignore[attr-defined]
        self.certificate_pem = self.certificatePem  # type: ignore[attr-defined]
        self.private_key = self.privateKey  # type: ignore[attr-defined]
