"""What exchange events' cloud code and handlers must agree on: the IoT topics, and the attribute
whose time expires a velocity counter. Dependency-free, imported by both."""

EVENTS = "event/+"
ALERT_TOPIC = "alert/fraud"
EXPIRES_AT = "expiresAt"
"""The velocity table's TTL attribute: epoch seconds after which DynamoDB deletes the counter."""


def event_topic(event_type: str) -> str:
    return f"event/{event_type}"
