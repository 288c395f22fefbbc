"""What the cat feeder's cloud code, handlers and firmware must agree on: the ledger's event source
and detail types, and each feeder's MQTT topics. Dependency-free, imported by all of them."""

SOURCE = "com.feedmyfurbabies"
CLICK_DETAIL_TYPE = "AWS IoT 1-Click"  # what was asked: the originals' detail type, kept for their tools
STATE_DETAIL_TYPE = "Feeder State Reported"  # what the device says it did


def action_topic(feeder: str) -> str:
    """Where the feeder hears its commands."""
    return f"cat-feeder/{feeder}/action"


def state_topic(feeder: str) -> str:
    """Where the feeder reports what it did."""
    return f"cat-feeder/{feeder}/states"


STATES = state_topic("+")  # every feeder's reports; the feeder is the topic's second level
FEEDER_LEVEL = 2
