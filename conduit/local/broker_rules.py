"""What AWS IoT Core's message broker enforces and ministack's does not, added to its sessions.

Each rule is measured against ministack 1.5.33 (through `ministack_seam`: its session's packet dispatch) and taken
from AWS IoT Core's documented broker limits and MQTT behaviour:
- a PUBLISH payload of at most 128 KB, a topic of at most 7 slashes (beyond Basic Ingest's
  `$aws/rules/<rule>/`) and a client id of at most 128 bytes; the connection is closed;
- keep-alive: a client silent for 1.5 times its keep-alive is disconnected
  (`MQTT_KEEP_ALIVE_TIMEOUT`, its last will published); AWS treats a keep-alive under 30 s as
  30 s and 0 or over 1200 s as 1200 s;
- one subscription per filter per session: a SUBSCRIBE to a filter the session already holds
  replaces it (MQTT 3.1.1 section 3.8.4), so a client resubscribing after resuming its persistent
  session hears each message once, not twice;
- a certificate taken out of ACTIVE (deactivated or revoked) disconnects the devices connected
  with it ("within a few minutes" on AWS, UpdateCertificate; here within a second or two);
- a persistent session resumes its subscriptions without replaying retained messages: MQTT sends
  those on a SUBSCRIBE, and nothing may come before the CONNACK (ministack replayed them first, and
  a client waiting for its CONNACK got a PUBLISH).
"""

from __future__ import annotations

import asyncio
import contextvars
import os
import sys
import time
from dataclasses import dataclass
from typing import Any

from conduit.local import ministack_seam

MAX_PAYLOAD_BYTES = 128 * 1024
MAX_TOPIC_SLASHES = 7
MAX_CLIENT_ID_BYTES = 128
PACKET_TOO_LARGE, TOPIC_NAME_INVALID, CLIENT_IDENTIFIER_NOT_VALID = 0x95, 0x90, 0x85
MAX_KEEP_ALIVE_SECONDS = 1200
# AWS's floor is 30 s. Tests of the broker itself may lower it (CONDUIT_IOT_MIN_KEEP_ALIVE) to see
# a silent client dropped in seconds; nothing else should.
MIN_KEEP_ALIVE_VARIABLE = "CONDUIT_IOT_MIN_KEEP_ALIVE"
AWS_MIN_KEEP_ALIVE_SECONDS = 30
KEEP_ALIVE_TIMEOUT = "MQTT_KEEP_ALIVE_TIMEOUT"
CERTIFICATE_CHECK_SECONDS = 1.0
# The TLS connection a session is served on. Closing it politely waits up to 30 s for the silent
# peer's close_notify; a broker dropping a dead client aborts it instead.
connection: contextvars.ContextVar[asyncio.StreamWriter | None] = contextvars.ContextVar("connection", default=None)
# Set while a CONNECT is handled: subscriptions made then are a resumed session's, not SUBSCRIBEs.
connecting: contextvars.ContextVar[bool] = contextvars.ContextVar("connecting", default=False)


@dataclass(frozen=True)
class Connect:
    """What the broker reads from a CONNECT packet (3.1.1 or 5)."""

    keep_alive: int
    client_id: str


def effective_keep_alive(requested: int, floor: int = AWS_MIN_KEEP_ALIVE_SECONDS) -> int:
    """The keep-alive AWS IoT Core applies to a requested one (seconds)."""
    if requested == 0 or requested > MAX_KEEP_ALIVE_SECONDS:
        return MAX_KEEP_ALIVE_SECONDS
    return max(requested, floor)


def slashes(topic: str) -> int:
    """Slashes counted against the limit: Basic Ingest's `$aws/rules/<rule>/` prefix is free."""
    parts = topic.split("/")
    if topic.lower().startswith("$aws/rules/") and len(parts) > 3:
        return topic.count("/") - 3
    return topic.count("/")


def read_connect(mqtt: dict[str, int], body: bytes) -> Connect | None:
    try:
        _, offset = ministack_seam.read_string(body, 0)  # protocol name
        level = body[offset]
        keep_alive = int.from_bytes(body[offset + 2:offset + 4], "big")
        offset += 4  # level, flags, keep-alive
        if level == mqtt["MQTT_5"]:
            offset = ministack_seam.skip_properties(body, offset)
        client_id, _ = ministack_seam.read_string(body, offset)
        return Connect(keep_alive, client_id)
    except (ValueError, IndexError):
        return None


def subscribed_filters(mqtt: dict[str, int], session: Any, body: bytes) -> list[str]:
    """The topic filters a SUBSCRIBE packet names."""
    offset, filters = 2, []
    try:
        if session.protocol_version == mqtt["MQTT_5"]:
            offset = ministack_seam.skip_properties(body, offset)
        while offset < len(body):
            topic_filter, offset = ministack_seam.read_string(body, offset)
            filters.append(topic_filter)
            offset += 1  # subscription options
    except (ValueError, IndexError):
        pass
    return filters


def refusal(mqtt: dict[str, int], session: Any, pkt_type: int, flags: int, body: bytes) -> tuple[int, str] | None:
    """The MQTT 5 reason code and the why of a packet AWS IoT Core would refuse, or None."""
    if pkt_type == mqtt["PUBLISH"]:
        topic, offset = ministack_seam.read_string(body, 0)
        offset += 2 if (flags >> 1) & 0x03 else 0
        if session.protocol_version == mqtt["MQTT_5"]:
            offset = ministack_seam.skip_properties(body, offset)
        if len(body) - offset > MAX_PAYLOAD_BYTES:
            return PACKET_TOO_LARGE, f"a {len(body) - offset}-byte payload on {topic!r} (the limit is 128 KB)"
        if slashes(topic) > MAX_TOPIC_SLASHES:
            return TOPIC_NAME_INVALID, f"topic {topic[:80]!r} has more than {MAX_TOPIC_SLASHES} slashes"
    elif pkt_type == mqtt["CONNECT"]:
        connect = read_connect(mqtt, body)
        if connect is not None and len(connect.client_id.encode()) > MAX_CLIENT_ID_BYTES:
            return CLIENT_IDENTIFIER_NOT_VALID, f"a client id of {len(connect.client_id.encode())} bytes (at most 128)"
    return None


async def refuse(mqtt: dict[str, int], session: Any, pkt_type: int, body: bytes, code: int, why: str) -> bool:
    """Close the connection, with the MQTT 5 reason code first where the protocol has one."""
    print(f"IoT broker (conduit): refused {why}", file=sys.stderr)
    if session.protocol_version == mqtt["MQTT_5"] or (pkt_type == mqtt["CONNECT"] and body[6:7] == b"\x05"):
        if pkt_type == mqtt["CONNECT"]:
            await session.send_bytes(ministack_seam.connack(code, mqtt["MQTT_5"]))
        else:
            await session.send_bytes(ministack_seam.disconnect_packet(code))
    elif pkt_type == mqtt["CONNECT"]:
        await session.send_bytes(ministack_seam.connack(0x02))  # 3.1.1: identifier rejected
    return False


async def replace_held_subscriptions(session: Any, filters: list[str]) -> None:
    """Drop the session's subscriptions to filters it is subscribing to again."""
    for sid, held in list(ministack_seam.held_subscriptions(session).items()):
        if held in filters:
            await ministack_seam.unsubscribe(sid)
            ministack_seam.forget_subscription(session, sid)


async def disconnect(session: Any, reason: str, why: str) -> None:
    print(f"IoT broker (conduit): {ministack_seam.client_id(session)!r} {why}: disconnected", file=sys.stderr)
    ministack_seam.mark_disconnected(session, reason)
    writer = getattr(session, "conduit_connection", None)
    if writer is not None:
        writer.transport.abort()
    else:
        await ministack_seam.close_websocket(session)


async def watch(session: Any, keep_alive: int) -> None:
    """Close the session once it has been silent for 1.5 keep-alives (a lost link), or once its
    certificate is no longer ACTIVE."""
    limit = 1.5 * keep_alive
    while not ministack_seam.session_ended(session):
        silent = time.monotonic() - session.conduit_heard_at
        if silent >= limit:
            await disconnect(session, KEEP_ALIVE_TIMEOUT,
                             f"silent for {silent:.1f} s, past 1.5 x its {keep_alive} s keep-alive")
            return
        status = ministack_seam.certificate_status(session.certificate_id)
        if status not in (None, "ACTIVE"):
            await disconnect(session, "AUTH_ERROR", f"connected with a certificate now {status}")
            return
        await asyncio.sleep(min(limit - silent, CERTIFICATE_CHECK_SECONDS))


def install() -> None:
    """Wrap every session's packet dispatch with the rules above."""
    mqtt = ministack_seam.mqtt_constants()
    floor = int(os.environ.get(MIN_KEEP_ALIVE_VARIABLE, AWS_MIN_KEEP_ALIVE_SECONDS))

    def on_connect_without_retained(subscribe: Any) -> Any:
        async def subscribed(*args: Any, **kwargs: Any) -> str:
            if connecting.get():
                kwargs["retain_handling"] = mqtt["RETAIN_HANDLING_SEND_NEVER"]
            return await subscribe(*args, **kwargs)

        return subscribed

    def strictly(dispatch: Any) -> Any:
        async def strict(session: Any, pkt_type: int, flags: int, body: bytes) -> bool:
            session.conduit_heard_at = time.monotonic()
            refused = refusal(mqtt, session, pkt_type, flags, body)
            if refused is not None:
                return await refuse(mqtt, session, pkt_type, body, *refused)
            if pkt_type == mqtt["SUBSCRIBE"]:
                await replace_held_subscriptions(session, subscribed_filters(mqtt, session, body))
            token = connecting.set(pkt_type == mqtt["CONNECT"])
            try:
                carry_on = await dispatch(session, pkt_type, flags, body)
            finally:
                connecting.reset(token)
            if pkt_type == mqtt["CONNECT"] and carry_on and getattr(session, "conduit_watchdog", None) is None:
                connect = read_connect(mqtt, body)
                keep_alive = effective_keep_alive(connect.keep_alive if connect else 0, floor)
                session.conduit_heard_at = time.monotonic()  # AWS starts the timer at CONNACK
                session.conduit_connection = connection.get()
                session.conduit_watchdog = asyncio.ensure_future(watch(session, keep_alive))
            return carry_on

        return strict

    def remembering_the_connection(serve: Any) -> Any:
        async def served(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            connection.set(writer)
            await serve(reader, writer)

        return served

    ministack_seam.replace(*ministack_seam.MQTT_PACKET, strictly)
    ministack_seam.replace(*ministack_seam.MQTT_CONNECTION, remembering_the_connection)
    ministack_seam.replace(*ministack_seam.MQTT_SUBSCRIBE, on_connect_without_retained)
