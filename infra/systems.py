"""The systems this program can deploy, each declared once here: its name, its settings and stack
output key, its handler package. Components, settings, archives, scenarios and tools refer to these
constants, never to the strings.

Dependency-free on purpose: the stack settings, the handler archives and the `conduit` tool all
read this list, and none of them may pull the components (and Pulumi resources) in to do so.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class System:
    """One system: its name in `conduit:systems`, its settings key, stack output and handler package."""

    name: str
    key: str
    """camelCase: the `conduit:<key>` settings object and the stack output of its entry points."""
    package: str
    """The `handlers/<package>` that becomes the system's code archive."""

    @property
    def settings_field(self) -> str:
        """The field of the stack settings that holds `conduit:<key>` (`messageIngest` -> `message_ingest`)."""
        return re.sub(r"(?<!^)([A-Z])", r"_\1", self.key).lower()

    @property
    def component_type(self) -> str:
        """The Pulumi type token of the system's component, `conduit:<key>:<Name>`."""
        return f"conduit:{self.key}:{self.key[:1].upper()}{self.key[1:]}"

    def handler(self, module: str) -> str:
        """The Lambda handler of `handlers/<package>/<module>.py`."""
        return f"handlers.{self.package}.{module}.handler"


MESSAGE_INGEST = System("message-ingest", "messageIngest", "message_ingest")
UPLOAD_EXTRACTION = System("upload-extraction", "uploadExtraction", "upload_extraction")
CURRENCY_STREAM = System("currency-stream", "currencyStream", "currency_stream")
EXCHANGE_EVENTS = System("exchange-events", "exchangeEvents", "exchange_events")
CAT_FEEDER = System("cat-feeder", "catFeeder", "cat_feeder")

SYSTEMS: tuple[System, ...] = (MESSAGE_INGEST, UPLOAD_EXTRACTION, CURRENCY_STREAM, EXCHANGE_EVENTS, CAT_FEEDER)

NAMES: tuple[str, ...] = tuple(s.name for s in SYSTEMS)


def by_name(name: str) -> System:
    """The system called `name`; a KeyError names the known ones."""
    for system in SYSTEMS:
        if system.name == name:
            return system
    raise KeyError(f"no system {name!r}; known: {', '.join(NAMES)}")
