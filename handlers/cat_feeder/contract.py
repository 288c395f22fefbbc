"""What the cat feeder's cloud code, handlers and firmware must agree on: the ledger's event source
and detail types, each feeder's MQTT topics, and how a stack's feeders are found in the IoT registry.
Dependency-free, imported by all of them.

Topics carry the stack and the feeder's thing name (`cat-feeder/<stack>/<thing>/...`): two stacks in
one account never hear each other, and one device policy with policy variables serves the fleet.
"""

SOURCE = "com.feedmyfurbabies"
CLICK_DETAIL_TYPE = "AWS IoT 1-Click"  # what was asked: the originals' detail type, kept for their tools
STATE_DETAIL_TYPE = "Feeder State Reported"  # what the device says it did
FEED_AGAIN = "feed-again-"
"""A ledger replay whose name starts so re-issues its clicks as new feed commands; any other replay
only rebuilds the views (`conduit replay --feed-again`)."""
OFFLINE = "offline"
"""The state a device's last will reports when the broker loses it unannounced."""

# Thing attributes the feeders' things carry: the registry is where a stack's feeders are listed.
STACK_ATTRIBUTE = "stack"
FEEDER_ATTRIBUTE = "feeder"
THING_LEVEL = 3  # cat-feeder/<stack>/<thing>/states: the thing is the third level
REPORT_FIELDS = ("state", "event", "bowls", "queued", "command", "id", "repeat", "error", "uptime_s")
"""What a device's report may say. The states rule selects these by name and adds the thing (from the
topic) and the broker's time itself: a device cannot name another thing or set the time by writing
`thing` or `reportedAt` into its payload."""
THING = "${iot:Connection.Thing.ThingName}"
"""The policy variable that scopes a device policy to the connecting thing."""


def topic_root(stack: str) -> str:
    return f"cat-feeder/{stack}"


def action_topic(stack: str, thing: str) -> str:
    """Where the feeder hears its commands."""
    return f"{topic_root(stack)}/{thing}/action"


def state_topic(stack: str, thing: str) -> str:
    """Where the feeder reports what it did."""
    return f"{topic_root(stack)}/{thing}/states"


def certificate_topic(stack: str, thing: str) -> str:
    """Where the feeder hears its next certificate (a retained delivery, see CertificateDelivery)."""
    return f"{topic_root(stack)}/{thing}/certificate"


CERTIFICATE_FIELDS = ("certificateId", "certificate", "privateKey")
"""A certificate delivery's JSON: the new certificate's AWS IoT id, and the certificate and its
private key as base64 DER, what MicroPython's TLS loads. The firmware reads the same names
(firmware/credentials.py)."""
MAX_CERTIFICATE_DELIVERY = 8192
"""Bytes a delivery may take: an RSA-2048 pair is about 3 KB of it; the firmware reads no more."""


def states(stack: str) -> str:
    """Every feeder's reports in one stack (the filter of its states rule)."""
    return state_topic(stack, "+")
