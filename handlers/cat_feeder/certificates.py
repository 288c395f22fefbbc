"""The certificates rule's target: a rotated certificate is retired once its device has switched.

A rotation (infra/device_certificate.py) leaves the new certificate retained on the feeder's
certificate topic and the old one attached and active. When a feeder comes online, the rule hands
over the thing (the topic's level, which the device policy pins to the connecting thing) and the
certificate it connected with as the broker saw it (`principal()`): nothing a device writes in its
payload. Once that is the delivered certificate, every other certificate is detached from the thing,
so none of them can connect as the feeder any more (the fleet policy requires the attachment), and
the delivery is cleared. The next `pulumi up` deactivates and deletes what was detached.

A feeder that comes online with an older certificate keeps it: it stays reachable, and the warning
says its rotation is pending. Repeats are harmless: a cleared delivery leaves nothing to do.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from aws_lambda_powertools.utilities.parser import event_parser
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from handlers.cat_feeder.contract import certificate_topic
from handlers.cat_feeder.registry import feeder_of
from handlers.shared.aws import client, setting
from handlers.shared.iot import clear_retained, retained
from handlers.shared.observability import entry_point, logger

CertificateId = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]


class Connected(BaseModel):
    """A feeder online, as the certificates rule delivers it."""

    model_config = ConfigDict(populate_by_name=True)

    thing: Annotated[str, StringConstraints(min_length=1, max_length=128)]
    certificate_id: CertificateId = Field(alias="certificateId")


def delivered(payload: bytes | None) -> str | None:
    """The certificate id a retained delivery carries (None: no rotation in flight)."""
    if not payload:
        return None
    try:
        return str(json.loads(payload)["certificateId"])
    except (ValueError, KeyError, TypeError):
        logger.warning("an unreadable message is retained on a certificate topic; left as it is")
        return None


def settle(iot: Any, connected: Connected) -> list[str]:
    """Detach from the thing every certificate but the delivered one, if that is the one that
    connected; the ARNs detached."""
    topic = certificate_topic(setting("STACK"), connected.thing)
    pending = delivered(retained(topic))
    if pending is None:
        return []
    if pending != connected.certificate_id:
        logger.warning("rotation pending: the feeder connected with an older certificate and keeps it",
                       extra={"thing": connected.thing, "connectedWith": connected.certificate_id,
                              "delivered": pending})
        return []
    principals = iot.list_thing_principals(thingName=connected.thing).get("principals", [])
    older = [arn for arn in principals if arn.rsplit("/", 1)[-1] != connected.certificate_id]
    for arn in older:
        iot.detach_thing_principal(thingName=connected.thing, principal=arn)
    clear_retained(topic)
    return older


@entry_point()
@event_parser(model=Connected)
def handler(connected: Connected, context: Any) -> dict[str, Any]:
    if feeder_of(connected.thing) is None:
        raise ValueError(f"thing {connected.thing!r} is no feeder of this stack")
    detached = settle(client("iot"), connected)
    if detached:
        logger.info("rotation done: older certificates detached from the thing",
                    extra={"thing": connected.thing, "inUse": connected.certificate_id, "detached": detached})
    return {"detached": detached}
