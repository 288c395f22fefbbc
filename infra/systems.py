"""The systems this program can deploy: written once here; settings, archives and tools derive from it.

Dependency-free on purpose: the stack settings, the handler archives and the `conduit` tool all
read this list, and none of them may pull the components (and Pulumi resources) in to do so.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class System:
    """One system: its name in `conduit:systems`, its settings key, stack output and handler package."""

    name: str
    key: str
    """camelCase: the `conduit:<key>` settings object and the stack output of its entry points."""
    handlers: str
    """The `handlers/<package>` that becomes the system's code archive."""


SYSTEMS: tuple[System, ...] = (
    System("message-ingest", "messageIngest", "message_ingest"),
    System("upload-extraction", "uploadExtraction", "upload_extraction"),
    System("currency-stream", "currencyStream", "currency_stream"),
    System("exchange-events", "exchangeEvents", "exchange_events"),
    System("cat-feeder", "catFeeder", "cat_feeder"),
)

NAMES: tuple[str, ...] = tuple(s.name for s in SYSTEMS)


def by_name(name: str) -> System:
    """The system called `name`; a KeyError names the known ones."""
    for system in SYSTEMS:
        if system.name == name:
            return system
    raise KeyError(f"no system {name!r}; known: {', '.join(NAMES)}")
