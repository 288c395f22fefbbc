"""How this stack's AWS provider reaches AWS, read from the stack's `aws:*` settings.

Code that calls AWS itself (the device-certificate provider) must use the same connection as the
AWS provider: the same region, endpoints, profile, assumed role, credentials and CA bundle.
Otherwise a stack with `aws:endpoints` (the `local` stack), `aws:profile` or `aws:assumeRole`
would create certificates in some other account.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pulumi

PROJECT_DIR = Path(__file__).resolve().parents[1]
# Keys of `aws:*` passed through as they are (profile, credentials); structured ones are decoded.
PLAIN_KEYS = ("profile", "accessKey", "secretKey", "token", "sharedCredentialsFiles", "sharedConfigFiles")
SECRET_KEYS = {"secretKey", "token"}


def _decode(value: str | None) -> Any:
    if value is None:
        return None
    try:
        return json.loads(value)
    except json.JSONDecodeError:
        return value


def connection_from_config(values: dict[str, str | None], project_dir: Path = PROJECT_DIR) -> dict[str, Any]:
    """The connection a set of `aws:*` values (without the namespace) describes, as plain JSON data.

    `endpoints` becomes one service -> URL map; a relative `customCaBundle` is taken from the
    project folder, as the stack file is.
    """
    connection: dict[str, Any] = {k: values[k] for k in PLAIN_KEYS if values.get(k)}
    endpoints: dict[str, str] = {}
    for entry in _decode(values.get("endpoints")) or []:
        endpoints.update({service: url for service, url in (entry or {}).items() if url})
    if endpoints:
        connection["endpoints"] = endpoints
    role = _decode(values.get("assumeRole"))
    if isinstance(role, dict) and role.get("roleArn"):
        connection["assumeRole"] = {k: role[k] for k in ("roleArn", "sessionName", "externalId") if role.get(k)}
    if values.get("customCaBundle"):
        connection["customCaBundle"] = str((project_dir / str(values["customCaBundle"])).resolve())
    return connection


def stack_connection() -> pulumi.Output[dict[str, Any]]:
    """This stack's connection, with credentials kept secret."""
    config = pulumi.Config("aws")
    keys = (*PLAIN_KEYS, "endpoints", "assumeRole", "customCaBundle")
    values = {k: config.get(k) for k in keys}
    connection = connection_from_config(values)
    return pulumi.Output.secret(connection) if SECRET_KEYS & connection.keys() else pulumi.Output.from_input(connection)
