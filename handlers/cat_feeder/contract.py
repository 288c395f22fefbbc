"""What the cat feeder's cloud code and handlers must agree on: the ledger's event source and
detail type, and each feeder's MQTT topics. Dependency-free, imported by both."""

SOURCE = "com.feedmyfurbabies"
DETAIL_TYPE = "AWS IoT 1-Click"


def action_topic(feeder: str) -> str:
    """Where the feeder hears its commands."""
    return f"cat-feeder/{feeder}/action"


def state_topic(feeder: str) -> str:
    """Where the feeder reports what it did."""
    return f"cat-feeder/{feeder}/states"
