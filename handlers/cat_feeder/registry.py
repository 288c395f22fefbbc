"""The stack's feeders, as the IoT registry knows them: one thing per feeder, named `<prefix><feeder>`
and carrying the stack and the feeder as attributes. No list grows in an environment variable or a
policy with the fleet; a lookup is cached per container once it succeeds."""

from __future__ import annotations

import functools

from handlers.cat_feeder.contract import FEEDER_ATTRIBUTE, STACK_ATTRIBUTE
from handlers.shared.aws import client, every_page, setting


def thing_of(feeder: str) -> str:
    return setting("THING_PREFIX") + feeder


def feeder_of(thing: str) -> str | None:
    """The feeder a thing of this stack serves; None for a thing of another prefix."""
    prefix = setting("THING_PREFIX")
    return thing[len(prefix):] if thing.startswith(prefix) and len(thing) > len(prefix) else None


@functools.lru_cache(maxsize=4096)
def _known(feeder: str) -> bool:
    iot = client("iot")
    try:
        thing = iot.describe_thing(thingName=thing_of(feeder))
    except iot.exceptions.ResourceNotFoundException:
        return False
    return (thing.get("attributes") or {}).get(STACK_ATTRIBUTE) == setting("STACK")


def exists(feeder: str) -> bool:
    """Whether `feeder` is one of this stack's feeders; a miss is asked again next time (it may be new)."""
    known = _known(feeder)
    if not known:
        _known.cache_clear()
    return known


def feeders() -> list[str]:
    """Every feeder of this stack, in name order."""
    pages = every_page(client("iot").list_things, attributeName=STACK_ATTRIBUTE, attributeValue=setting("STACK"),
                       maxResults=250)
    names = {(t.get("attributes") or {}).get(FEEDER_ATTRIBUTE) for page in pages for t in page.get("things", [])}
    return sorted(n for n in names if n)
